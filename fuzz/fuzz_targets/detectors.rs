//! Every detector together on arbitrary text in each place, plus `key` and
//! `xml`: never panics, deterministic, and the combined answer agrees with the
//! detectors run alone (it names a detector that fires alone, and is `None`
//! only when none does).
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use portcullis_fuzz::{PLACES, only, text};
use portcullis_inspect::{Detector, Inspector, Sensitivity, Settings};

static ALL: LazyLock<Inspector> = LazyLock::new(|| Inspector::new(Settings::default()));
static ALONE: LazyLock<Vec<Inspector>> = LazyLock::new(|| {
    Detector::ALL
        .iter()
        .map(|&d| only(d, Sensitivity::Medium))
        .collect()
});

fuzz_target!(|data: &[u8]| {
    let raw = text(data);
    for place in PLACES {
        let all = ALL.value(&raw, place);
        assert_eq!(
            all,
            ALL.value(&raw, place),
            "not deterministic at {place:?}"
        );
        let alone: Vec<Detector> = ALONE.iter().filter_map(|i| i.value(&raw, place)).collect();
        match all {
            Some(d) => assert!(
                alone.contains(&d),
                "all said {d} at {place:?}, alone: {alone:?}"
            ),
            None => assert!(
                alone.is_empty(),
                "all said none at {place:?}, alone: {alone:?}"
            ),
        }
    }
    let key = ALL.key(&raw);
    assert_eq!(key, ALL.key(&raw), "key not deterministic");
    let xml = ALL.xml(data);
    assert_eq!(xml, ALL.xml(data), "xml not deterministic");
});
