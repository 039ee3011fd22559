//! Server-side request forgery: URLs (and `//host` network-path references)
//! whose host is, syntactically, loopback, private, link-local, unspecified or
//! a cloud metadata endpoint, in any spelling a resolver accepts (`127.1`,
//! `2130706433`, `0x7f000001`, `0177.0.0.1`, `[::ffff:7f00:1]`,
//! `localhost.`, `evil@127.0.0.1`), and URLs with schemes that make a server
//! speak raw protocols (`gopher://`, `dict://`, `tftp://`, `file://`).
//!
//! Nothing is resolved: a public name that resolves to a private address is
//! the egress layer's business. A bare host or address without a scheme is
//! common benign data (`10.0.0.1` in an inventory API), so it is flagged only
//! at `High`.

use crate::{Sensitivity, Views};

mod host;

use host::Verdict;

/// Builds the detector's automata (none: hand-written scanner).
pub(super) fn warm() {}

/// The longest authority looked at (a DNS name is at most 253 bytes).
const MAX_AUTHORITY: usize = 512;

/// Whether `v` carries a URL to an internal address.
pub(super) fn detect(v: &Views<'_>, level: Sensitivity) -> bool {
    let s: &str = &v.decoded;
    let b = s.as_bytes();
    let mut i = 0;
    while i + 1 < b.len() {
        let is_ref = match b[i] {
            // `scheme://`, also `scheme:\\` and `scheme:/\` (browsers fold `\` to `/`).
            b':' => matches!(b[i + 1], b'/' | b'\\') && i > 0,
            // `//host` at the start of a token.
            b'/' => b[i + 1] == b'/' && (i == 0 || token_edge(b[i - 1])),
            _ => false,
        };
        if is_ref {
            let scheme = if b[i] == b':' {
                scheme_before(b, i)
            } else {
                Some("")
            };
            if let Some(scheme) = scheme {
                if dangerous_scheme(scheme) {
                    return true;
                }
                let start = b[i..]
                    .iter()
                    .take(4)
                    .position(|c| !matches!(c, b':' | b'/' | b'\\'));
                let start = i + start.unwrap_or(1);
                if url_is_internal(s, start, level) {
                    return true;
                }
            }
        }
        i += 1;
    }
    level == Sensitivity::High && bare_hosts(s)
}

/// Whether a byte may precede a network-path reference (`//host`).
fn token_edge(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'"' | b'\'' | b'=' | b'(' | b'<' | b'>' | b',' | b'\n' | b'['
    )
}

/// The lowercase scheme that ends at the `:` at `colon`, if letters (then
/// letters, digits, `+ . -`) precede it up to a token edge.
fn scheme_before(b: &[u8], colon: usize) -> Option<&'static str> {
    let mut j = colon;
    while j > 0 && (b[j - 1].is_ascii_alphanumeric() || matches!(b[j - 1], b'+' | b'.' | b'-')) {
        j -= 1;
        if colon - j > 16 {
            return None;
        }
    }
    let word = &b[j..colon];
    if word.is_empty() || !word[0].is_ascii_alphabetic() {
        return None;
    }
    const KNOWN: [&str; 12] = [
        "http", "https", "ftp", "ws", "wss", "gopher", "dict", "tftp", "file", "ldap", "sftp",
        "netdoc",
    ];
    // A scheme ends a longer word (`xhttp:`) only when the word is a scheme.
    KNOWN
        .iter()
        .find(|k| word.eq_ignore_ascii_case(k.as_bytes()))
        .copied()
        .or(Some("other"))
}

/// Schemes that let a fetcher speak raw protocols or read files.
fn dangerous_scheme(scheme: &str) -> bool {
    matches!(scheme, "gopher" | "dict" | "tftp" | "file" | "netdoc")
}

/// Whether the URL authority starting at `start` names an internal host.
fn url_is_internal(s: &str, start: usize, level: Sensitivity) -> bool {
    let rest = &s[start..];
    // WHATWG ends the authority at `/ ? # \`; some parsers take the text after
    // the last `@` before the path: check both readings.
    let strict = |c: u8| {
        matches!(
            c,
            b'/' | b'?' | b'#' | b'\\' | b' ' | b'"' | b'\'' | b'<' | b'>' | b'\n' | b'\t'
        )
    };
    let wide = |c: u8| matches!(c, b'/' | b' ' | b'\n' | b'\t');
    [strict_end(rest, strict), strict_end(rest, wide)]
        .into_iter()
        .flatten()
        .filter_map(|end| rest[..end].rsplit('@').next())
        .any(|a| host::judge(host::strip_port(a)).fires(level))
}

/// The index of the first delimiter byte in `rest` (or its length), when
/// that is within [`MAX_AUTHORITY`] bytes; the look is bounded so that many
/// URL starts in one value stay linear.
fn strict_end(rest: &str, delim: impl Fn(u8) -> bool) -> Option<usize> {
    let b = rest.as_bytes();
    let window = &b[..b.len().min(MAX_AUTHORITY + 1)];
    match window.iter().position(|&c| delim(c)) {
        Some(end) => Some(end),
        None if b.len() <= MAX_AUTHORITY => Some(b.len()),
        None => None,
    }
}

/// At `High`: any blank-separated token that is itself an internal host.
fn bare_hosts(s: &str) -> bool {
    s.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '"' | '\'' | '=' | '&'))
        .filter(|t| !t.is_empty() && t.len() <= MAX_AUTHORITY)
        .any(|t| {
            let t = t.rsplit('@').next().unwrap_or(t);
            let h = host::strip_port(t);
            // Bare tokens: only dotted or bracketed addresses and names, not
            // lone numbers (`2130706433` is too often just a number).
            (h.contains('.') || h.contains(':') || h.eq_ignore_ascii_case("localhost"))
                && host::judge(h) != Verdict::External
        })
}

#[cfg(test)]
mod tests;
