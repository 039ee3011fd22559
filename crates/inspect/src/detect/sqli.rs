//! SQL injection: a tokenizer and fingerprints of the token sequence.
//!
//! An injection is SQL that closes the value's context and goes on as code.
//! The decoded value is tokenized the ways the application could have
//! embedded it: as code (a number or a name), and inside a string closed by
//! `'` or `"`. Each reading becomes a short fingerprint (one letter per token
//! while the tokens still read as SQL, see [`shape`]) that is matched against
//! attack shapes: a condition joined with `OR` after the closing quote, a
//! `UNION SELECT`, a stacked statement, a call to `sleep` … Words alone never
//! decide: "7 AND A HALF" or "WHERE IS GEORGE" stop reading as SQL after a
//! token or two.

mod lex;
mod shape;
mod words;

use std::cell::RefCell;

use lex::{Kind, Start, Token};

use crate::{Sensitivity, Views};

/// Builds the detector's automata.
pub(super) fn warm() {
    shape::warm();
    words::warm();
}

thread_local! {
    /// Scratch space for the tokens and the fingerprint, reused by every value
    /// a thread inspects (no allocation per value).
    static SCRATCH: RefCell<(Vec<Token>, String)> =
        RefCell::new((Vec::with_capacity(lex::MAX_TOKENS), String::with_capacity(32)));
}

/// Whether `v` carries a SQL injection.
pub(super) fn detect(v: &Views<'_>, level: Sensitivity) -> bool {
    let s: &str = &v.decoded;
    SCRATCH.with(|scratch| {
        let Ok(mut scratch) = scratch.try_borrow_mut() else {
            // Not reentrant in practice; stay correct if it ever is.
            return detect_with(s, level, &mut Vec::new(), &mut String::new());
        };
        let (tokens, fp) = &mut *scratch;
        detect_with(s, level, tokens, fp)
    })
}

fn detect_with(s: &str, level: Sensitivity, tokens: &mut Vec<Token>, fp: &mut String) -> bool {
    if reads_as_attack(s, Start::Code, tokens, fp, level) {
        return true;
    }
    // One pass for both quotes (most values have neither).
    let (mut single, mut double) = (false, false);
    for &b in s.as_bytes() {
        single |= b == b'\'';
        double |= b == b'"';
    }
    (single && reads_as_attack(s, Start::Inside(b'\''), tokens, fp, level))
        || (double && reads_as_attack(s, Start::Inside(b'"'), tokens, fp, level))
}

/// Whether `s` read from `start` has an attack shape.
fn reads_as_attack(
    s: &str,
    start: Start,
    tokens: &mut Vec<Token>,
    fp: &mut String,
    level: Sensitivity,
) -> bool {
    tokens.clear();
    lex::tokens(s, start, tokens);
    let quoted = start != Start::Code;
    // A value that never closes the quote stays a string: nothing to read.
    if quoted && tokens.first().is_none_or(|t| t.kind == Kind::OpenStr) {
        return false;
    }
    let quote = match start {
        Start::Code => None,
        Start::Inside(q) => Some(q),
    };
    shape::fingerprint(s, tokens, quote, fp);
    // Every shape needs one of these letters; most values have none.
    shape::has_trigger(fp) && shape::matches(fp, level)
}

/// The fingerprints of a value, for tests and study.
#[cfg(test)]
pub(crate) fn fingerprints(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut tokens = Vec::new();
    for start in [Start::Code, Start::Inside(b'\''), Start::Inside(b'"')] {
        tokens.clear();
        lex::tokens(s, start, &mut tokens);
        let mut fp = String::new();
        let quote = match start {
            Start::Code => None,
            Start::Inside(q) => Some(q),
        };
        shape::fingerprint(s, &tokens, quote, &mut fp);
        out.push(fp);
    }
    out
}

#[cfg(test)]
mod tests;
