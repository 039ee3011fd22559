//! Script in CSS: IE's `expression(…)` and `behavior:url(…)`, Firefox's
//! `-moz-binding`, and script URLs in `url(…)`, including the comment and
//! escape obfuscations (`ex/**/pression(`, `\65xpression(`, `url(\006a…)`).

use super::markup::contains_ci;
use crate::Sensitivity;

/// Whether `s` holds a CSS construct that runs script.
pub(super) fn dangerous(s: &str, level: Sensitivity) -> bool {
    let b = s.as_bytes();
    let worth = b.contains(&b'\\')
        || contains_ci(b, b"/*")
        || contains_ci(b, b"sion")
        || contains_ci(b, b"binding")
        || contains_ci(b, b"behavio");
    if !worth {
        return false;
    }
    let c = compact(b);
    let c = c.as_slice();
    // `width: expression(…)`: after a property colon (or an attribute `=`),
    // so that prose "a regular expression(s)" is not flagged.
    let expression = find_all(c, b"expression(")
        .any(|p| p > 0 && matches!(c[p - 1], b':' | b'=' | b'"' | b'\''));
    // `url(\006a\0061…)`: a script URL spelled with CSS escapes.
    let script_url = find_all(c, b"url(").any(|p| {
        let arg = &c[p + 4..];
        let arg = arg
            .strip_prefix(b"'")
            .or_else(|| arg.strip_prefix(b"\""))
            .unwrap_or(arg);
        arg.starts_with(b"javascript:") || arg.starts_with(b"vbscript:")
    });
    expression
        || script_url
        || contains_ci(c, b"-moz-binding:")
        || (level >= Sensitivity::Medium && contains_ci(c, b"behavior:url("))
}

/// `b` lowercased, with CSS comments, blanks and control characters left out
/// and CSS escapes (`\65 ` → `e`, `\x` → `x`) resolved; never longer than `b`.
fn compact(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                i += 1;
            }
            i += 2;
            continue;
        }
        if c == b'\\' {
            let digits = b[i + 1..]
                .iter()
                .take(6)
                .take_while(|d| d.is_ascii_hexdigit())
                .count();
            if digits > 0 {
                let hex = &b[i + 1..i + 1 + digits];
                let v = hex
                    .iter()
                    .fold(0u32, |v, d| v << 4 | (*d as char).to_digit(16).unwrap_or(0));
                i += 1 + digits;
                if b.get(i) == Some(&b' ') {
                    i += 1;
                }
                if let Some(ch) = char::from_u32(v).filter(char::is_ascii) {
                    out.push((ch as u8).to_ascii_lowercase());
                }
                continue;
            }
            i += 1;
            continue;
        }
        if c > b' ' && c != 0x7f {
            out.push(c.to_ascii_lowercase());
        }
        i += 1;
    }
    out
}

/// Start offsets of `needle` in `hay`.
fn find_all<'a>(hay: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    hay.windows(needle.len())
        .enumerate()
        .filter(move |(_, w)| *w == needle)
        .map(|(i, _)| i)
}
