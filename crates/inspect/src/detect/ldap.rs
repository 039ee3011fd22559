//! LDAP filter injection: a value that closes the application's filter and
//! opens its own (`*)(uid=*`, `)(|(`, `admin*)((|userPassword=*)`), a
//! match-everything presence filter (`(mail=*)`, `objectClass=*`), or a run
//! of filter metacharacters probing for errors (`*()|&`).
//!
//! XPath injection, the same attack on an XML directory, is judged here too:
//! a quote closing the application's string, then `or`/`and` with an XPath
//! node function (`' or name()='admin`, `' and count(/*)=1`).
//!
//! A lone `*` or `(` is not flagged: search boxes take wildcards, and prose
//! takes parentheses.

use std::sync::LazyLock;

use regex::{RegexSet, RegexSetBuilder};

use crate::{Sensitivity, Views};

/// Structural breaks out of a filter (every level).
const BREAKS: &[&str] = &[
    // `)(|`, `)(&`, `)(!`: close, then open an operator.
    r"\)\s*\(\s*[|&!]",
    // `(|(`, `(&(`, `(!(`: an operator with a nested filter.
    r"\(\s*[|&!]\s*\(",
    // `*)(`: a wildcard closing the filter, then a new one.
    r"\*\s*\)\s*\(",
    // `)(uid=`: close, then open an attribute assertion.
    r"\)\s*\(\s*[A-Za-z][A-Za-z0-9_.;-]*\s*[~<>]?=",
    // XPath: `' or name()=`, `" and count(/…)`: a closed string, a boolean
    // operator and a node function of XPath.
    r#"(?i)['"]\s*(?:or|and)\s+(?:not\s*\(\s*)?(?:name|local-name|count|string-length|substring|contains|starts-with|text|position|last|string|normalize-space)\s*\("#,
];

/// Weaker signals (`Medium` and above).
const MEDIUM: &[&str] = &[
    // `(mail=*)`: a presence filter that matches every entry.
    r"\(\s*[A-Za-z][A-Za-z0-9_.;-]*\s*=\s*\*\s*\)",
    // `objectClass=*`.
    r"(?i-u)\bobjectclass\s*=\s*\*",
    // `*))`: a wildcard closing two filters (`*))%00` truncation).
    r"\*\s*\)\s*\)",
];

static LOW: LazyLock<RegexSet> = LazyLock::new(|| set(BREAKS));
static ALL: LazyLock<RegexSet> =
    LazyLock::new(|| set(&BREAKS.iter().chain(MEDIUM).copied().collect::<Vec<_>>()));

fn set(patterns: &[&str]) -> RegexSet {
    // The patterns are constants, checked by the tests. Without Unicode
    // classes they stay DFAs.
    RegexSetBuilder::new(patterns)
        .unicode(false)
        .build()
        .expect("valid LDAP patterns")
}

/// Builds the detector's automata.
pub(super) fn warm() {
    LazyLock::force(&LOW);
    LazyLock::force(&ALL);
}

/// Whether `v` carries an LDAP filter injection.
pub(super) fn detect(v: &Views<'_>, level: Sensitivity) -> bool {
    let s: &str = &v.decoded;
    let b = s.as_bytes();
    // Every pattern needs a parenthesis and a wildcard, operator or `=`.
    let (mut paren, mut meta) = (false, false);
    for &c in b {
        match c {
            b'(' | b')' => paren = true,
            b'*' | b'|' | b'&' | b'!' | b'=' | b'\'' | b'"' => meta = true,
            _ => {}
        }
    }
    if !(paren && meta) {
        return false;
    }
    if level >= Sensitivity::Medium && metachar_run(b) {
        return true;
    }
    if level >= Sensitivity::Medium {
        ALL.is_match(s)
    } else {
        LOW.is_match(s)
    }
}

/// A run of four or more filter metacharacters holding a wildcard, a
/// parenthesis and an operator (`*()|&`, `*)(&`): an error probe.
fn metachar_run(b: &[u8]) -> bool {
    let mut len = 0;
    let (mut star, mut paren, mut op) = (false, false, false);
    for &c in b.iter().chain(std::iter::once(&b' ')) {
        match c {
            b'*' => star = true,
            b'(' | b')' => paren = true,
            b'|' | b'&' | b'!' => op = true,
            _ => {
                if len >= 4 && star && paren && op {
                    return true;
                }
                len = 0;
                (star, paren, op) = (false, false, false);
                continue;
            }
        }
        len += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::detect;
    use crate::{Place, Sensitivity, Views};

    fn ldap(raw: &str, level: Sensitivity) -> bool {
        detect(&Views::new(raw, Place::Query), level)
    }

    #[test]
    fn filter_breaks() {
        for attack in [
            "*)(&",
            "*))%00",
            "*()|%26'",
            "*(|(mail=*))",
            "*(|(objectclass=*))",
            "*)(uid=*))(|(uid=*",
            "admin*)((|userPassword=*)",
            ")(cn=))\\x00",
            "%2A%28%7C%28mail%3D%2A%29%29",
            "x)(|(objectClass=*)",
            "x' or name()='username' or 'x'='y",
            "' and count(/*)=1 and '1'='1",
            "\" or string-length(name(/*[1]))>0 or \"",
        ] {
            assert!(ldap(attack, Sensitivity::Medium), "missed {attack:?}");
        }
    }

    #[test]
    fn low_keeps_the_breaks() {
        assert!(ldap("*)(uid=*))(|(uid=*", Sensitivity::Low));
        assert!(ldap("admin)(|(password=x)", Sensitivity::Low));
        assert!(!ldap("(mail=*)", Sensitivity::Low));
    }

    #[test]
    fn wildcards_and_prose_pass() {
        for benign in [
            "*",
            "admin*",
            "smith*",
            "(see below)",
            "Hello :) (and bye)",
            "f(x) = (a*b) + (c)",
            "(objectClass=person)",
            "rock & roll (live)",
            "a || b (or both)",
            "price (€) * qty",
            "Tom's name (and title)",
            "O'Reilly or count (the ones left)",
        ] {
            assert!(!ldap(benign, Sensitivity::Medium), "flagged {benign:?}");
        }
    }
}
