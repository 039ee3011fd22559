//! Bounded decoding: the forms of one value that detectors look at.
//!
//! A value is decoded in rounds (percent-encoding, HTML entities, `\u`/`\x`
//! escapes) until nothing changes or [`MAX_ROUNDS`] is reached; then Unicode
//! compatibility-normalized (NFKC: full-width `＜` becomes `<`) and NUL bytes
//! removed. No round ever makes the value longer, so the work is bounded by
//! `MAX_ROUNDS × len`.

use std::borrow::Cow;

use crate::Place;

/// At most this many decoding rounds (double and triple encoding are common).
pub const MAX_ROUNDS: usize = 3;

/// The forms of one value.
#[derive(Debug, Clone)]
pub struct Views<'a> {
    /// The value as received.
    pub raw: &'a str,
    /// Fully decoded (all rounds, NFKC, NULs removed).
    pub decoded: Cow<'a, str>,
    /// `decoded`, lowercased, with SQL/C comments (`/* … */`) replaced by a
    /// space and runs of whitespace collapsed to one space.
    pub folded: String,
    /// Where the value was found.
    pub place: Place,
}

impl<'a> Views<'a> {
    /// Decodes `raw` as found at `place`.
    pub fn new(raw: &'a str, place: Place) -> Views<'a> {
        let plus_is_space = matches!(place, Place::Query | Place::Form);
        let percent_first = matches!(place, Place::Path | Place::Query | Place::Form);
        let mut cur: Cow<'a, str> = Cow::Borrowed(raw);
        for round in 0..MAX_ROUNDS {
            let mut changed = false;
            if percent_first || round > 0 || cur.contains('%') {
                if let Some(next) = percent_decode(&cur, plus_is_space && round == 0) {
                    cur = Cow::Owned(next);
                    changed = true;
                }
            }
            if let Some(next) = html_entities(&cur) {
                cur = Cow::Owned(next);
                changed = true;
            }
            if let Some(next) = escapes(&cur) {
                cur = Cow::Owned(next);
                changed = true;
            }
            if !changed {
                break;
            }
        }
        if !cur.is_ascii() {
            use unicode_normalization::UnicodeNormalization;
            let n: String = cur.nfkc().collect();
            if n != *cur {
                cur = Cow::Owned(n);
            }
        }
        if cur.contains('\0') {
            cur = Cow::Owned(cur.replace('\0', ""));
        }
        let folded = fold(&cur);
        Views {
            raw,
            decoded: cur,
            folded,
            place,
        }
    }
}

/// Whether a value holds only characters no detector cares about (letters,
/// digits, space, `-`, `_`, `.`, `,`, `@` with no `%`, `&`, `<` …): such a
/// value is accepted without decoding.
pub fn is_plain(raw: &str) -> bool {
    raw.len() < 64
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b' ' | b'-' | b'_' | b','))
        && !looks_like_keyword_soup(raw)
}

/// Short plain values can still be SQL (`1 or 1`, `admin or 1`): plain only
/// when there are no two spaces-separated words.
fn looks_like_keyword_soup(raw: &str) -> bool {
    raw.contains(' ')
}

/// One round of percent-decoding (and `+` → space when asked); `None` when
/// nothing was decoded. Invalid escapes stay as they are; invalid UTF-8 is
/// replaced by U+FFFD.
pub fn percent_decode(s: &str, plus_is_space: bool) -> Option<String> {
    let b = s.as_bytes();
    if !b.iter().any(|&c| c == b'%' || (plus_is_space && c == b'+')) {
        return None;
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let mut changed = false;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 3;
                        changed = true;
                    }
                    _ => {
                        // %uXXXX (IIS)
                        if (b[i + 1] == b'u' || b[i + 1] == b'U') && i + 5 < b.len() {
                            if let Some(c) = hex4(&b[i + 2..i + 6]) {
                                let mut buf = [0u8; 4];
                                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                                i += 6;
                                changed = true;
                                continue;
                            }
                        }
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
                changed = true;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    changed.then(|| String::from_utf8_lossy(&out).into_owned())
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn hex4(b: &[u8]) -> Option<char> {
    let mut v = 0u32;
    for &c in b {
        v = v << 4 | u32::from(hex(c)?);
    }
    char::from_u32(v)
}

/// HTML character references: `&lt;`, `&#60;`, `&#x3c;` (with or without the
/// `;`). `None` when there are none.
pub fn html_entities(s: &str) -> Option<String> {
    if !s.contains('&') {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut changed = false;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 1..];
        if let Some((c, used)) = entity(tail) {
            out.push(c);
            rest = &tail[used..];
            changed = true;
        } else {
            out.push('&');
            rest = tail;
        }
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// The character an entity (after its `&`) stands for, and the bytes it used.
fn entity(t: &str) -> Option<(char, usize)> {
    let b = t.as_bytes();
    if b.first() == Some(&b'#') {
        let (radix, start) = match b.get(1) {
            Some(b'x' | b'X') => (16, 2),
            _ => (10, 1),
        };
        let digits = b[start..]
            .iter()
            .take(8)
            .take_while(|c| c.is_ascii_hexdigit() && (radix == 16 || c.is_ascii_digit()))
            .count();
        if digits == 0 {
            return None;
        }
        let v = u32::from_str_radix(&t[start..start + digits], radix).ok()?;
        let mut used = start + digits;
        if b.get(used) == Some(&b';') {
            used += 1;
        }
        return Some((char::from_u32(v).unwrap_or('\u{FFFD}'), used));
    }
    const NAMED: [(&str, char); 12] = [
        ("lt", '<'),
        ("gt", '>'),
        ("quot", '"'),
        ("apos", '\''),
        ("amp", '&'),
        ("sol", '/'),
        ("bsol", '\\'),
        ("lpar", '('),
        ("rpar", ')'),
        ("colon", ':'),
        ("tab", '\t'),
        ("newline", '\n'),
    ];
    for (name, c) in NAMED {
        if t.len() >= name.len() && t[..name.len()].eq_ignore_ascii_case(name) {
            let mut used = name.len();
            if b.get(used) == Some(&b';') {
                used += 1;
            } else if name.len() < 3 && b.get(used).is_some_and(u8::is_ascii_alphanumeric) {
                continue;
            }
            return Some((c, used));
        }
    }
    None
}

/// `\uXXXX`, `\xXX` and `\u{…}` escapes (JavaScript, JSON, C). `None` when
/// there are none.
pub fn escapes(s: &str) -> Option<String> {
    if !s.contains('\\') {
        return None;
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut changed = false;
    let mut last = 0;
    while i + 1 < b.len() {
        if b[i] == b'\\' {
            let decoded = match b[i + 1] {
                b'u' if i + 5 < b.len() => hex4(&b[i + 2..i + 6]).map(|c| (c, 6)),
                b'x' if i + 3 < b.len() => match (hex(b[i + 2]), hex(b[i + 3])) {
                    (Some(h), Some(l)) => Some((char::from(h << 4 | l), 4)),
                    _ => None,
                },
                _ => None,
            };
            if let Some((c, used)) = decoded {
                out.push_str(&s[last..i]);
                out.push(c);
                i += used;
                last = i;
                changed = true;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&s[last..]);
    changed.then_some(out)
}

/// Lowercase, `/* … */` comments replaced by one space, whitespace runs
/// collapsed to one space.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    let mut space = false;
    while let Some(c) = chars.next() {
        if c == '/' && chars.peek() == Some(&'*') {
            chars.next();
            let mut prev = '\0';
            for d in chars.by_ref() {
                if prev == '*' && d == '/' {
                    break;
                }
                prev = d;
            }
            if !space {
                out.push(' ');
                space = true;
            }
            continue;
        }
        if c.is_whitespace() {
            if !space {
                out.push(' ');
                space = true;
            }
            continue;
        }
        space = false;
        for l in c.to_lowercase() {
            out.push(l);
        }
    }
    out
}
