//! The response redactor on arbitrary text: never panics, deterministic, and
//! what it reports is consistent with what it changed (a masked card keeps
//! only its last four digits, so masking cards always removes digits).
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use portcullis_fuzz::text;
use portcullis_inspect::redact::{Kind, Redactor};

static ALL: LazyLock<Redactor> = LazyLock::new(|| {
    Redactor::new(&Kind::ALL, &[("ticket".into(), "TCK-[0-9]{6}".into())]).expect("valid patterns")
});
static CARDS: LazyLock<Redactor> =
    LazyLock::new(|| Redactor::new(&[Kind::Card], &[]).expect("no patterns"));

fn digits(s: &str) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

fuzz_target!(|data: &[u8]| {
    let s = text(data);
    let known: Vec<&str> = Kind::ALL
        .iter()
        .map(|k| k.as_str())
        .chain(["ticket"])
        .collect();
    let first = ALL.mask(&s);
    if let Some((out, names)) = &first {
        assert_ne!(out, &*s, "reported a match but changed nothing");
        assert!(!names.is_empty(), "changed the text without naming why");
        for (i, n) in names.iter().enumerate() {
            assert!(known.contains(n), "unknown name {n}");
            assert!(!names[..i].contains(n), "duplicate name {n}");
        }
    }
    assert_eq!(first, ALL.mask(&s), "not deterministic");
    if let Some((out, names)) = CARDS.mask(&s) {
        assert_eq!(names, ["card"]);
        assert!(digits(&out) < digits(&s), "card masking kept every digit");
    }
});
