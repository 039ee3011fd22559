//! Cross-site scripting: markup that runs script (dangerous elements, event
//! handler attributes, script URLs, CSS expressions) and breaks out of a
//! JavaScript string or attribute into a call.
//!
//! This is a context tokenizer, not a keyword grep: `a < b`, `x<y`, `<3` or
//! `<b>bold</b>` are markup-free or harmless, while `<x onclick=…>`, a quote
//! break into `" onfocus=…`, or `javascript:` in any URL are not. Every check
//! is a single linear pass (the tag scanner, the scheme scanner) or a `regex`
//! automaton, and each runs only when the value holds its trigger character.

mod css;
mod markup;
mod script;
#[cfg(test)]
mod tests;

use crate::{Sensitivity, Views};

/// Builds the detector's automata.
pub(super) fn warm() {
    script::warm();
}

/// Whether `v` carries an XSS attack.
pub(super) fn detect(v: &Views<'_>, level: Sensitivity) -> bool {
    let s: &str = &v.decoded;
    let t = Triggers::of(s.as_bytes());
    if !t.any() {
        return false;
    }
    (t.lt && markup::tags(s, level))
        || (t.colon && script::scheme(s, level))
        || (t.eq && script::handler_outside_tag(s, level))
        || ((t.paren || t.backtick || t.bracket) && script::js(s, level))
        || ((t.paren || t.backslash) && css::dangerous(s, level))
        || (t.plus && level >= Sensitivity::Medium && s.contains("+ADw-"))
        || (t.non_ascii && level >= Sensitivity::Medium && script::fraction_tag(s))
}

/// Which trigger characters a value holds (one pass over the bytes).
#[derive(Debug, Default, Clone, Copy)]
struct Triggers {
    lt: bool,
    colon: bool,
    eq: bool,
    paren: bool,
    backtick: bool,
    bracket: bool,
    plus: bool,
    backslash: bool,
    non_ascii: bool,
}

impl Triggers {
    fn of(b: &[u8]) -> Triggers {
        let mut t = Triggers::default();
        for &c in b {
            match c {
                b'<' => t.lt = true,
                b':' => t.colon = true,
                b'=' => t.eq = true,
                b'(' => t.paren = true,
                b'`' => t.backtick = true,
                b'[' => t.bracket = true,
                b'+' => t.plus = true,
                b'\\' => t.backslash = true,
                0x80.. => t.non_ascii = true,
                _ => {}
            }
        }
        t
    }

    fn any(self) -> bool {
        self.lt
            || self.colon
            || self.eq
            || self.paren
            || self.backtick
            || self.bracket
            || self.plus
            || self.backslash
            || self.non_ascii
    }
}

/// ASCII whitespace and control characters: browsers skip or strip them
/// inside tags and URL schemes (`java\tscript:`), so the scanners do too.
fn is_blank(c: u8) -> bool {
    c <= b' ' || c == 0x7f
}
