//! CR/LF injection (HTTP response splitting, header injection): a line break
//! followed by something a server would read as a new header line or a new
//! response.
//!
//! Where the value lives decides what a line break may legitimately precede.
//! A path segment, query value, header, cookie or JSON key never holds a
//! multi-line text, so a break followed by any `name:` header line counts. A
//! JSON string, form field or XML text often is multi-line prose ("Location:
//! Room 4"), so there only the headers that hijack a response count
//! (`Set-Cookie:`, `Content-Type:` …), and a status line (`HTTP/1.1 200`).

use crate::normalize::percent_decode;
use crate::{Place, Sensitivity, Views};

/// Headers whose injection takes over a response, flagged after a line
/// break even in free text.
const HIJACKING: &[&[u8]] = &[
    b"set-cookie",
    b"content-type",
    b"content-length",
    b"transfer-encoding",
    b"content-security-policy",
    b"content-disposition",
    b"access-control-allow-origin",
    b"access-control-allow-credentials",
    b"x-xss-protection",
    b"x-forwarded-for",
    b"x-forwarded-host",
    b"refresh",
];

/// The subset kept at `Low`.
const HIJACKING_LOW: &[&[u8]] = &[b"set-cookie", b"content-length", b"transfer-encoding"];

/// Mail headers whose injection adds recipients (flagged in free text at `High`).
const MAIL: &[&[u8]] = &[b"bcc", b"cc", b"to"];

/// Header names longer than this are not read as header names.
const MAX_NAME: usize = 64;

/// Whether `v` carries a CR/LF injection.
pub(super) fn detect(v: &Views<'_>, level: Sensitivity) -> bool {
    let deeper = decode_further(&v.decoded);
    let b = deeper.as_deref().unwrap_or(&v.decoded).as_bytes();
    if !b.iter().any(|&c| c == b'\r' || c == b'\n') {
        return false;
    }
    let strict = matches!(
        v.place,
        Place::Path | Place::Query | Place::Header | Place::Cookie | Place::JsonKey
    );
    if strict && level >= Sensitivity::High && v.place != Place::Query {
        return true;
    }
    let mut i = 0;
    while let Some(off) = b[i..].iter().position(|&c| c == b'\r' || c == b'\n') {
        let p = i + off;
        let mut j = p;
        let mut lines = 0;
        while j < b.len() && matches!(b[j], b'\r' | b'\n') {
            // `\r\n`, `\n` and a lone `\r` each end one line.
            if b[j] == b'\n' || b.get(j + 1) != Some(&b'\n') {
                lines += 1;
            }
            j += 1;
        }
        // An empty line ends the headers: markup after it is an injected body.
        if strict
            && lines >= 2
            && b.get(j) == Some(&b'<')
            && b.get(j + 1).is_some_and(u8::is_ascii_alphabetic)
        {
            return true;
        }
        if next_line_injects(&b[j..], strict, level) {
            return true;
        }
        i = j;
        if i >= b.len() {
            break;
        }
    }
    false
}

/// A value still holding an encoded line break after the normalizer's
/// rounds (`%25250a` is encoded four times in a query) is decoded up to two
/// more rounds: an upstream that decodes once more would see the break.
fn decode_further(decoded: &str) -> Option<String> {
    let b = decoded.as_bytes();
    let encoded_break = b.windows(3).any(|w| {
        w[0] == b'%'
            && (w[1..].eq_ignore_ascii_case(b"0a")
                || w[1..].eq_ignore_ascii_case(b"0d")
                || w[1..] == *b"25")
    });
    if !encoded_break {
        return None;
    }
    let once = percent_decode(decoded, false)?;
    Some(percent_decode(&once, false).unwrap_or(once))
}

/// Whether the text after a line break starts a header line or a response.
fn next_line_injects(line: &[u8], strict: bool, level: Sensitivity) -> bool {
    // Folded continuation blanks, and `%0a0a` residue (`/%%0a0aSet-Cookie:`
    // decodes to a break followed by `0a`), are skipped.
    let mut line = trim_blanks(line);
    for residue in [b"0a".as_slice(), b"0d", b"0A", b"0D"] {
        if let Some(rest) = line.strip_prefix(residue) {
            line = rest;
            break;
        }
    }
    if starts_with_ci(line, b"http/1.") || starts_with_ci(line, b"http/2 ") {
        return true;
    }
    let name_len = line
        .iter()
        .take(MAX_NAME + 1)
        .take_while(|&&c| is_tchar(c))
        .count();
    if name_len == 0 || name_len > MAX_NAME {
        return false;
    }
    let after = trim_blanks(&line[name_len..]);
    if after.first() != Some(&b':') {
        return false;
    }
    let name = &line[..name_len];
    if strict {
        return true;
    }
    let list = if level >= Sensitivity::Medium {
        HIJACKING
    } else {
        HIJACKING_LOW
    };
    if list.iter().any(|h| name.eq_ignore_ascii_case(h)) {
        return true;
    }
    if level >= Sensitivity::Medium && name.eq_ignore_ascii_case(b"location") {
        // "Location: Room 4" is prose; "Location: https://evil" a redirect.
        let value = trim_blanks(&after[1..]);
        return starts_with_ci(value, b"http:")
            || starts_with_ci(value, b"https:")
            || value.starts_with(b"//")
            || starts_with_ci(value, b"javascript:");
    }
    level >= Sensitivity::High && MAIL.iter().any(|h| name.eq_ignore_ascii_case(h))
}

/// RFC 9110 token characters (header names).
fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

fn trim_blanks(b: &[u8]) -> &[u8] {
    let s = b
        .iter()
        .position(|&c| c != b' ' && c != b'\t')
        .unwrap_or(b.len());
    &b[s..]
}

fn starts_with_ci(t: &[u8], prefix: &[u8]) -> bool {
    t.len() >= prefix.len() && t[..prefix.len()].eq_ignore_ascii_case(prefix)
}

#[cfg(test)]
mod tests {
    use super::detect;
    use crate::{Place, Sensitivity, Views};

    fn crlf(raw: &str, place: Place) -> bool {
        detect(&Views::new(raw, place), Sensitivity::Medium)
    }

    #[test]
    fn header_injection_in_urls() {
        for attack in [
            "/%0d%0aSet-Cookie:crlf=injection",
            "/%0aSet-Cookie:crlf=injection",
            "/%%0a0aSet-Cookie:crlf=injection",
            "/%25250aSet-Cookie:crlf=injection",
            "/%u000aSet-Cookie:crlf=injection",
            "%2F%2525250aSet-Cookie:crlf=injection",
            "x%0d%0aX-Injected:%20yes",
            "x%0d%0a%0d%0a<html>",
            "x%0d%0aHTTP/1.1%20200%20OK",
        ] {
            assert!(crlf(attack, Place::Query), "missed {attack:?} in a query");
            assert!(crlf(attack, Place::Path), "missed {attack:?} in a path");
        }
    }

    #[test]
    fn free_text_allows_prose_lines() {
        for benign in [
            "Hi team,\nLocation: Room 4\nTime: 10:00\nThanks!",
            "Subject: hi\nSee you soon",
            "line one\r\nline two\r\n\r\nline four",
            "Note:\n- item: one\n- item: two",
            "Total\n\n(0)",
        ] {
            assert!(!crlf(benign, Place::Json), "flagged {benign:?}");
            assert!(!crlf(benign, Place::Form), "flagged {benign:?}");
        }
        for attack in [
            "x\r\nSet-Cookie: session=evil",
            "x\nContent-Length: 0\n\nHTTP/1.1 200 OK",
            "x\r\nLocation: https://evil.example/",
            "/%0aSet-Cookie:crlf=injection",
        ] {
            assert!(crlf(attack, Place::Json), "missed {attack:?}");
        }
    }

    #[test]
    fn values_without_line_breaks_pass() {
        assert!(!crlf("Set-Cookie: a=b", Place::Query));
        assert!(!crlf("a%0d", Place::Query));
        assert!(!crlf("plain", Place::Header));
        // Analytics report multi-line button texts in query strings.
        assert!(!crlf("%D7%94%0A%0A(0)", Place::Query));
    }

    #[test]
    fn high_flags_any_break_in_a_path_or_header() {
        let v = Views::new("a%0ab", Place::Path);
        assert!(detect(&v, Sensitivity::High));
        assert!(!detect(&v, Sensitivity::Medium));
    }
}
