//! The path normalizer on attacker bytes: never panics; what it accepts is canonical
//! (a fixed point, rooted, without dot segments or `//`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_gateway::config::NormalizeOptions;
use portcullis_gateway::normalize;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else { return };
    for opts in [
        NormalizeOptions::default(),
        NormalizeOptions { merge_slashes: false, reject_encoded_slash: false, reject_backslash: false },
    ] {
        if let Ok(once) = normalize::path(raw, &opts) {
            assert!(once.starts_with('/'));
            assert!(once.split('/').all(|s| s != "." && s != ".."), "{raw:?} -> {once:?}");
            if opts.merge_slashes {
                assert!(!once.contains("//"), "{raw:?} -> {once:?}");
            }
            let twice = normalize::path(&once, &opts).expect("canonical paths are accepted");
            assert_eq!(once, twice, "not idempotent for {raw:?}");
        }
    }
});
