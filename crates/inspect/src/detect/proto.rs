//! Prototype pollution: `__proto__`, and `constructor` + `prototype`, as
//! JSON keys or as paths in values and query names (`__proto__[admin]=1`,
//! `constructor.prototype.isAdmin`, `constructor[prototype][x]`).
//!
//! A key is judged alone (the JSON walker hands over one key at a time):
//! `__proto__` is always flagged, since no API field is named so and every
//! JavaScript merge treats it specially. `constructor` and `prototype` alone
//! are not: both are ordinary words (a product can be a "prototype"); the
//! pollution needs them nested, which [`nested_key`] judges when the parent
//! key is known, and which a key spelled as a path (`constructor.prototype`)
//! shows by itself.

use std::sync::LazyLock;

use regex::Regex;

use crate::{Sensitivity, Views};

/// Paths through `__proto__` or `constructor` → `prototype`.
static PATH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)__proto__\s*(?:$|[\[\].="':])|[\[.]\s*["']?__proto__|\bconstructor\s*["']?\s*\]?\s*(?:\.|\[)\s*["']?\s*prototype\b"#,
    )
    .expect("static pattern compiles")
});

/// Builds the detector's automata.
pub(super) fn warm() {
    LazyLock::force(&PATH);
}

/// Whether a JSON key pollutes a prototype.
pub(super) fn key(key: &str) -> bool {
    key.eq_ignore_ascii_case("__proto__") || (key.contains("proto") && PATH.is_match(key))
}

/// Whether `key`, nested directly under `parent`, pollutes a prototype
/// (`{"constructor": {"prototype": …}}`).
pub(super) fn nested_key(parent: &str, key: &str) -> bool {
    self::key(key) || (parent == "constructor" && key == "prototype")
}

/// Whether a value (e.g. a query name or a dotted path) carries a polluting path.
pub(super) fn detect(v: &Views<'_>, level: Sensitivity) -> bool {
    let d: &str = &v.decoded;
    if !d.contains("proto") && !d.contains("PROTO") {
        return false;
    }
    // Each level flags a superset of the one below: Low keeps only the
    // `__proto__` paths, Medium and High add `constructor.prototype`.
    PATH.is_match(d) && (level > Sensitivity::Low || d.contains("__proto__"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Place;

    fn hit(raw: &str, place: Place) -> bool {
        detect(&Views::new(raw, place), Sensitivity::Medium)
    }

    #[test]
    fn keys() {
        assert!(key("__proto__"));
        assert!(key("__proto__.isAdmin"));
        assert!(key("constructor.prototype"));
        assert!(key("a[constructor][prototype]"));
        assert!(!key("constructor"));
        assert!(!key("prototype"));
        assert!(!key("protocol"));
        assert!(nested_key("constructor", "prototype"));
        assert!(!nested_key("product", "prototype"));
    }

    #[test]
    fn paths_in_values_and_query_names() {
        for a in [
            "__proto__[admin]=1",
            "__proto__.isAdmin",
            "a.__proto__.b",
            "x[__proto__][y]",
            "constructor.prototype.polluted",
            "constructor[prototype][x]=1",
            "[\"constructor\"][\"prototype\"]",
            "{\"__proto__\": {\"admin\": true}}",
        ] {
            assert!(hit(a, Place::Json), "{a}");
        }
        assert!(hit("__proto__%5Badmin%5D", Place::Query));
    }

    /// Found by the `detect_proto` fuzz target: Low flagged `__proto__?`,
    /// Medium did not. A higher level never flags less.
    #[test]
    fn levels_are_monotonic() {
        for s in [
            "__proto__?",
            "__proto__Adm:n]=true",
            "__proto__[x]",
            "constructor.prototype.x",
        ] {
            let v = Views::new(s, Place::Path);
            let low = detect(&v, Sensitivity::Low);
            let medium = detect(&v, Sensitivity::Medium);
            let high = detect(&v, Sensitivity::High);
            assert!(!low || medium, "{s}: low without medium");
            assert!(!medium || high, "{s}: medium without high");
        }
    }

    #[test]
    fn ordinary_words_stay_clean() {
        for b in [
            "the prototype is ready",
            "protocol=https",
            "constructor of the building",
            "a prototype constructor kit",
            "proto3 schema",
        ] {
            assert!(!hit(b, Place::Json), "{b}");
        }
    }
}
