//! Bounded decoding: the forms of one value that detectors look at.
//!
//! A value is decoded in rounds until nothing changes or [`MAX_ROUNDS`] is
//! reached. One round undoes one layer of each encoding an attacker can stack
//! in front of an interpreter: percent-encoding (also `%uXXXX`), HTML
//! character references (named and numeric), `\uXXXX` / `\u{…}` / `\xXX`
//! escapes, then Unicode compatibility normalization (NFKC: full-width `＜`
//! becomes `<`, `％２７` becomes `%27` for the next round) and NUL removal.
//!
//! No step makes the value longer (an NFKC expansion that would is undone
//! character by character), so a round is one linear pass over at most the
//! input's length, and the whole decoding costs at most `MAX_ROUNDS` passes
//! of a few steps each: the work is bounded by a constant times the input,
//! whatever the input.

use std::borrow::Cow;

use crate::Place;

/// At most this many decoding rounds (double and triple encoding are common;
/// one more round catches a layer hidden under full-width digits).
pub const MAX_ROUNDS: usize = 4;

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
    /// The bytes `raw` and `decoded` hold, so that a detector whose every
    /// pattern needs a byte the value lacks is skipped without a scan.
    pub bytes: ByteSet,
}

impl<'a> Views<'a> {
    /// Decodes `raw` as found at `place`.
    pub fn new(raw: &'a str, place: Place) -> Views<'a> {
        let (decoded, _) = decode(raw, place);
        let folded = fold(&decoded);
        let mut bytes = ByteSet::of(raw.as_bytes());
        if let Cow::Owned(d) = &decoded {
            bytes = bytes.union(ByteSet::of(d.as_bytes()));
        }
        Views {
            raw,
            decoded,
            folded,
            place,
            bytes,
        }
    }
}

/// A set of bytes: the ASCII ones exactly, all others as one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ByteSet {
    ascii: u128,
    non_ascii: bool,
}

impl ByteSet {
    /// The set of the bytes of `b`.
    pub fn of(b: &[u8]) -> ByteSet {
        let mut set = ByteSet::default();
        for &c in b {
            if c < 0x80 {
                set.ascii |= 1 << c;
            } else {
                set.non_ascii = true;
            }
        }
        set
    }

    /// The set of these ASCII bytes (usable in a `const`).
    pub const fn ascii(chars: &[u8]) -> ByteSet {
        let mut ascii = 0u128;
        let mut i = 0;
        while i < chars.len() {
            ascii |= 1 << chars[i];
            i += 1;
        }
        ByteSet {
            ascii,
            non_ascii: false,
        }
    }

    /// Both sets together.
    #[must_use]
    pub fn union(self, other: ByteSet) -> ByteSet {
        ByteSet {
            ascii: self.ascii | other.ascii,
            non_ascii: self.non_ascii | other.non_ascii,
        }
    }

    /// Whether the set may hold what `needs` asks for: a byte of `needs`, or
    /// any non-ASCII byte (decoding tricks are judged by the detector itself).
    pub fn may_have(self, needs: ByteSet) -> bool {
        self.non_ascii || self.ascii & needs.ascii != 0
    }
}

/// Decodes `raw` as found at `place` (see the module documentation), and
/// whether decoding settled (a further round would change nothing) rather
/// than stopping at [`MAX_ROUNDS`]. The result is never longer than `raw`.
pub fn decode(raw: &str, place: Place) -> (Cow<'_, str>, bool) {
    let plus_is_space = matches!(place, Place::Query | Place::Form);
    let mut cur: Cow<'_, str> = Cow::Borrowed(raw);
    for round in 0..MAX_ROUNDS {
        // One pass says which steps can change anything (most values need none).
        // A step whose trigger only appears through an earlier step of this
        // round (`%5C` becoming `\`) acts in the next round.
        let plus = plus_is_space && round == 0;
        let (mut pct, mut amp, mut esc, mut nul, mut wide) = (false, false, false, false, false);
        for &b in cur.as_bytes() {
            pct |= b == b'%' || (plus && b == b'+');
            amp |= b == b'&';
            esc |= b == b'\\';
            nul |= b == 0;
            wide |= b >= 0x80;
        }
        let mut changed = false;
        // `+` is a space only in the first layer of a query or form value: a
        // `+` that came out of `%2B` is a plus sign.
        if pct && let Some(next) = percent_decode(&cur, plus) {
            cur = Cow::Owned(next);
            changed = true;
        }
        if amp && let Some(next) = html_entities(&cur) {
            cur = Cow::Owned(next);
            changed = true;
        }
        if esc && let Some(next) = escapes(&cur) {
            cur = Cow::Owned(next);
            changed = true;
        }
        if wide && let Some(next) = nfkc(&cur) {
            cur = Cow::Owned(next);
            changed = true;
        }
        if nul && cur.contains('\0') {
            cur = Cow::Owned(cur.replace('\0', ""));
            changed = true;
        }
        if !changed {
            return (cur, true);
        }
    }
    (cur, false)
}

/// NFKC, never longer than the input: `None` when it changes nothing. A
/// character whose compatibility form is longer (a ligature like `ﷺ`) is
/// kept as it is, so that no input can make the value grow.
pub fn nfkc(s: &str) -> Option<String> {
    use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};
    if s.is_ascii() || is_nfkc_quick(s.chars()) == IsNormalized::Yes {
        return None;
    }
    let n: String = s.nfkc().collect();
    if n.len() <= s.len() {
        return (n != s).then_some(n);
    }
    let mut out = String::with_capacity(s.len());
    let mut one = String::new();
    for c in s.chars() {
        one.clear();
        one.extend(std::iter::once(c).nfkc());
        if one.len() <= c.len_utf8() {
            out.push_str(&one);
        } else {
            out.push(c);
        }
    }
    (out != s).then_some(out)
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
                        if (b[i + 1] == b'u' || b[i + 1] == b'U')
                            && i + 5 < b.len()
                            && let Some(c) = hex4(&b[i + 2..i + 6])
                        {
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                            i += 6;
                            changed = true;
                            continue;
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
            _ => {
                // Copy the run up to the next byte that may be decoded.
                let run = b[i..]
                    .iter()
                    .position(|&c| c == b'%' || (plus_is_space && c == b'+'))
                    .map_or(b.len(), |p| i + p.max(1));
                out.extend_from_slice(&b[i..run]);
                i = run;
            }
        }
    }
    if !changed {
        return None;
    }
    Some(
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    )
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
        // Browsers accept any number of leading zeros (`&#0000039;`).
        let zeros = b[start..].iter().take_while(|&&c| c == b'0').count();
        let from = start + zeros;
        let digits = b[from..]
            .iter()
            .take(8)
            .take_while(|c| c.is_ascii_hexdigit() && (radix == 16 || c.is_ascii_digit()))
            .count();
        if digits == 0 && zeros == 0 {
            return None;
        }
        let v = if digits == 0 {
            0
        } else {
            u32::from_str_radix(&t[from..from + digits], radix).ok()?
        };
        let digits = zeros + digits;
        let mut used = start + digits;
        if b.get(used) == Some(&b';') {
            used += 1;
        }
        return Some((char::from_u32(v).unwrap_or('\u{FFFD}'), used));
    }
    const NAMED: [(&str, char); 29] = [
        ("lt", '<'),
        ("nbsp", ' '),
        ("num", '#'),
        ("percnt", '%'),
        ("semi", ';'),
        ("equals", '='),
        ("quest", '?'),
        ("excl", '!'),
        ("period", '.'),
        ("comma", ','),
        ("lbrack", '['),
        ("rbrack", ']'),
        ("lcub", '{'),
        ("rcub", '}'),
        ("ast", '*'),
        ("plus", '+'),
        ("dollar", '$'),
        ("grave", '`'),
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
        // Compared as bytes: `t` may hold a multi-byte character at any offset.
        if b.get(..name.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(name.as_bytes()))
        {
            let mut used = name.len();
            if b.get(used) == Some(&b';') {
                used += 1;
            } else if b.get(used).is_some_and(u8::is_ascii_alphanumeric) {
                // `&ltx` is text, not `<x`: without its `;` a name must end there.
                continue;
            }
            return Some((c, used));
        }
    }
    None
}

/// `\uXXXX`, `\u{…}` and `\xXX` escapes (JavaScript, JSON, C). `None` when
/// there are none. Each escape is at least as long as the character it stands for.
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
                b'u' if b.get(i + 2) == Some(&b'{') => braced(&b[i + 3..]).map(|(c, n)| (c, n + 3)),
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

/// The character of a `\u{…}` escape's digits (1 to 6 hex digits and `}`)
/// and the bytes used after `\u{`.
fn braced(b: &[u8]) -> Option<(char, usize)> {
    let digits = b
        .iter()
        .take(7)
        .take_while(|c| c.is_ascii_hexdigit())
        .count();
    if digits == 0 || digits > 6 || b.get(digits) != Some(&b'}') {
        return None;
    }
    let mut v = 0u32;
    for &c in &b[..digits] {
        v = v << 4 | u32::from(hex(c)?);
    }
    Some((char::from_u32(v)?, digits + 1))
}

/// Lowercase, `/* … */` comments replaced by one space, whitespace runs
/// collapsed to one space.
pub fn fold(s: &str) -> String {
    let mut out = String::new();
    if s.is_ascii() {
        fold_ascii(s.as_bytes(), &mut out);
        return out;
    }
    out.reserve(s.len());
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
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            // A lowercase form longer than the character (`İ`) is not used:
            // the folded view never grows either.
            let mut l = c.to_lowercase();
            match (l.next(), l.next()) {
                (Some(lc), None) if lc.len_utf8() <= c.len_utf8() => out.push(lc),
                _ => out.push(c),
            }
        }
    }
    out
}

/// [`fold`] for ASCII text, byte by byte (the common case, and cheaper).
fn fold_ascii(b: &[u8], out: &mut String) {
    let mut bytes = Vec::with_capacity(b.len());
    let mut space = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i = b[i + 2..]
                .windows(2)
                .position(|w| w == b"*/")
                .map_or(b.len(), |p| i + 2 + p + 2);
            if !space {
                bytes.push(b' ');
                space = true;
            }
            continue;
        }
        if c.is_ascii_whitespace() || c == 0x0b {
            if !space {
                bytes.push(b' ');
                space = true;
            }
        } else {
            space = false;
            bytes.push(c.to_ascii_lowercase());
        }
        i += 1;
    }
    // ASCII in, ASCII out.
    *out = String::from_utf8(bytes).unwrap_or_default();
}
