//! The normalizer (`Views::new`) on arbitrary text in every place: never panics,
//! is deterministic, and its output is bounded by its input.
//!
//! `normalize.rs` documents that no decoding round makes a value longer (the
//! work is bounded by `MAX_ROUNDS × len`); only the final NFKC step may grow
//! it, by at most the largest compatibility decomposition per UTF-8 byte
//! (U+FDFA: 3 bytes to 33). Folding lowercases, which may grow a character
//! too (U+0130 `İ`, 2 bytes, lowercases to 3). Both factors are computed from
//! the Unicode tables here rather than hard-coded.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use portcullis_fuzz::{PLACES, text};
use portcullis_inspect::normalize::{self, Views};
use unicode_normalization::UnicodeNormalization;

/// Largest `nfkd(c).len() / c.len_utf8()` over all characters, rounded up.
static NFKC_GROWTH: LazyLock<usize> = LazyLock::new(|| {
    chars()
        .map(|c| {
            c.to_string()
                .nfkd()
                .map(char::len_utf8)
                .sum::<usize>()
                .div_ceil(c.len_utf8())
        })
        .max()
        .unwrap_or(1)
});

/// Largest `to_lowercase(c).len() / c.len_utf8()` over all characters, rounded up.
static LOWER_GROWTH: LazyLock<usize> = LazyLock::new(|| {
    chars()
        .map(|c| {
            c.to_lowercase()
                .map(char::len_utf8)
                .sum::<usize>()
                .div_ceil(c.len_utf8())
        })
        .max()
        .unwrap_or(1)
});

fn chars() -> impl Iterator<Item = char> {
    (0..=u32::from(char::MAX)).filter_map(char::from_u32)
}

fuzz_target!(|data: &[u8]| {
    let raw = text(data);
    // Each round alone never grows what it decodes.
    for plus in [false, true] {
        if let Some(out) = normalize::percent_decode(&raw, plus) {
            assert!(
                out.len() <= raw.len(),
                "percent_decode grew {raw:?} to {out:?}"
            );
        }
    }
    if let Some(out) = normalize::html_entities(&raw) {
        assert!(
            out.len() <= raw.len(),
            "html_entities grew {raw:?} to {out:?}"
        );
    }
    if let Some(out) = normalize::escapes(&raw) {
        assert!(out.len() <= raw.len(), "escapes grew {raw:?} to {out:?}");
    }
    for place in PLACES {
        let v = Views::new(&raw, place);
        assert_eq!(v.raw, &*raw);
        assert_eq!(v.place, place);
        assert!(
            !v.decoded.contains('\0'),
            "NUL left in decoded form of {raw:?} at {place:?}"
        );
        assert!(
            v.decoded.len() <= raw.len() * *NFKC_GROWTH,
            "decoded {} bytes from {} at {place:?}: {raw:?}",
            v.decoded.len(),
            raw.len()
        );
        assert_eq!(
            v.folded,
            normalize::fold(&v.decoded),
            "folded is fold(decoded)"
        );
        assert!(
            v.folded.len() <= v.decoded.len() * *LOWER_GROWTH,
            "folded {} bytes from {} decoded at {place:?}: {raw:?}",
            v.folded.len(),
            v.decoded.len()
        );
        assert!(!v.folded.contains("  "), "whitespace runs are collapsed");
        let again = Views::new(&raw, place);
        assert_eq!(
            (&v.decoded, &v.folded),
            (&again.decoded, &again.folded),
            "not deterministic"
        );
    }
});
