//! A single-pass SQL tokenizer that classifies each token for the fingerprint.
//!
//! It reads the decoded value the way a permissive SQL parser (MySQL, MSSQL,
//! PostgreSQL, Oracle, SQLite together) would: string literals with `''` and
//! `\'` escapes, numbers (`1`, `1.5e3`, `0x3a`), identifiers (with `.` for
//! qualified names and backquotes), `@variables`, operators, comments. Inline
//! `/* … */` comments are whitespace, but a MySQL "executable" comment
//! `/*!50000union*/` is read as code, as MySQL does. Each byte is looked at a
//! bounded number of times, so the work is linear in the input.

use super::words::{self, Word};

/// What a token is, reduced to what the shape rules need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A closed string literal.
    Str,
    /// A string literal still open at the end of the value (the application's
    /// own closing quote would end it).
    OpenStr,
    /// A number, or `true` / `false` / `null`.
    Num,
    /// An identifier or any other word.
    Ident,
    /// A known SQL function name directly followed by `(`.
    Func,
    /// Any other word directly followed by `(`.
    Call,
    /// `@x`, `@@version`.
    Var,
    /// `and`, `or`, `xor`, `&&`, `||`.
    Logic,
    /// A symbolic operator: `=`, `<>`, `+`, `-`, `*`, `/`, `|`, `^`, `!`, `:=` …
    Op,
    /// A word operator: `like`, `is`, `in`, `not`, `between`, `regexp`, `div` …
    WordOp,
    /// `union` (with `all` / `distinct` folded in).
    Union,
    /// `select`.
    Select,
    /// A statement that may follow another without `;` (MSSQL): `exec`,
    /// `declare`, `waitfor`, `shutdown`.
    Exec,
    /// A statement that needs a `;` before it: `insert`, `update`, `drop` …
    Stmt,
    /// A clause keyword that opens an expression: `from`, `where`, `case` …
    Clause,
    /// A clause that ends a query: `order by`, `group by`, `having`, `limit`, `into` …
    Tail,
    /// `--`, `#` or an unclosed `/*` comment that runs to the end.
    Comment,
    /// `(`.
    Open,
    /// `)`.
    Close,
    /// `,`.
    Comma,
    /// `;`.
    Semi,
    /// Anything SQL has no use for here (`?`, `[`, `{`, `\` …).
    Other,
}

/// One token: its kind and where it is in the value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token {
    /// Its kind.
    pub(crate) kind: Kind,
    /// Byte offset of its first byte.
    pub(crate) start: usize,
    /// Byte offset just past its last byte.
    pub(crate) end: usize,
}

/// How the value starts: as code, or inside a string the value closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// The value is placed as code (a number or identifier position).
    Code,
    /// The value is placed inside a string opened by this quote.
    Inside(u8),
}

/// At most this many tokens are produced: shapes look at the first few only.
pub(crate) const MAX_TOKENS: usize = 48;

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'.') || b >= 0x80
}

/// Tokenizes `s` as it would be read when placed at `start`; at most
/// [`MAX_TOKENS`] tokens are pushed into `out`.
pub(crate) fn tokens(s: &str, start: Start, out: &mut Vec<Token>) {
    let b = s.as_bytes();
    let mut i = 0;
    // Inside a MySQL executable comment, `*/` closes it and is whitespace.
    let mut in_exec_comment = false;
    if let Start::Inside(q) = start {
        let end = string_end(b, 0, q);
        push(out, Kind::Str, 0, end.unwrap_or(b.len()), end.is_none());
        i = end.map_or(b.len(), |e| e + 1);
    }
    while i < b.len() && out.len() < MAX_TOKENS {
        let c = b[i];
        if is_space(c) {
            i += 1;
            continue;
        }
        let at = i;
        match c {
            b'\'' | b'"' => {
                let end = string_end(b, i + 1, c);
                i = end.map_or(b.len(), |e| e + 1);
                push(out, Kind::Str, at, i, end.is_none());
            }
            b'`' => {
                i = b[i + 1..]
                    .iter()
                    .position(|&x| x == b'`')
                    .map_or(b.len(), |p| i + 1 + p + 1);
                push(out, Kind::Ident, at, i, false);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                if b.get(i + 2) == Some(&b'!') {
                    // Executable comment: skip the version number, read the rest as code.
                    i += 3;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                    in_exec_comment = true;
                    continue;
                }
                match find(b, i + 2, b"*/") {
                    Some(p) => i = p + 2,
                    None => {
                        push(out, Kind::Comment, at, b.len(), false);
                        i = b.len();
                    }
                }
            }
            b'*' if in_exec_comment && b.get(i + 1) == Some(&b'/') => {
                in_exec_comment = false;
                i += 2;
            }
            // A line comment that a newline ends is whitespace (`union--%0aselect`);
            // one that runs to the end of the value is a token.
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = line_end(b, i);
                if i == b.len() {
                    push(out, Kind::Comment, at, i, false);
                }
            }
            b'#' => {
                i = line_end(b, i);
                if i == b.len() {
                    push(out, Kind::Comment, at, i, false);
                }
            }
            b'(' => {
                i += 1;
                push(out, Kind::Open, at, i, false);
            }
            b')' => {
                i += 1;
                push(out, Kind::Close, at, i, false);
            }
            b',' => {
                i += 1;
                push(out, Kind::Comma, at, i, false);
            }
            b';' => {
                i += 1;
                push(out, Kind::Semi, at, i, false);
            }
            b'@' => {
                i += 1;
                if b.get(i) == Some(&b'@') {
                    i += 1;
                }
                while i < b.len() && is_word_byte(b[i]) {
                    i += 1;
                }
                push(out, Kind::Var, at, i, false);
            }
            b'0'..=b'9' => i = number_or_word(s, i, out),
            b'.' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => i = number_or_word(s, i, out),
            _ if is_word_byte(c) => {
                if c >= 0x80 {
                    // En and em dashes are typographic minus signs in pasted payloads.
                    let ch = s[i..].chars().next().unwrap_or('\u{FFFD}');
                    if matches!(ch, '\u{2013}' | '\u{2014}' | '\u{2212}') {
                        i += ch.len_utf8();
                        push(out, Kind::Op, at, i, false);
                        continue;
                    }
                }
                i = word(s, i, out);
            }
            _ => {
                let (kind, len) = operator(&b[i..]);
                i += len;
                push(out, kind, at, i, false);
            }
        }
    }
}

fn push(out: &mut Vec<Token>, kind: Kind, start: usize, end: usize, open: bool) {
    let kind = if open && kind == Kind::Str {
        Kind::OpenStr
    } else {
        kind
    };
    out.push(Token { kind, start, end });
}

/// The index of the quote that closes a string whose body starts at `from`.
fn string_end(b: &[u8], from: usize, q: u8) -> Option<usize> {
    let mut i = from;
    while i < b.len() {
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return Some(i);
        }
        i += 1;
    }
    None
}

fn find(b: &[u8], from: usize, pat: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(pat.len())
        .position(|w| w == pat)
        .map(|p| from + p)
}

fn line_end(b: &[u8], from: usize) -> usize {
    b[from..]
        .iter()
        .position(|&x| x == b'\n')
        .map_or(b.len(), |p| from + p)
}

/// A number (`1`, `1.5`, `1e5`, `0x3a`, `0b01`); digits run into letters are
/// split when the letters are a keyword (`1union`, `1e0or`), else the run is one word.
fn number_or_word(s: &str, from: usize, out: &mut Vec<Token>) -> usize {
    let b = s.as_bytes();
    let mut i = from;
    if b[i] == b'0' && matches!(b.get(i + 1), Some(b'x' | b'X' | b'b' | b'B')) {
        let mut j = i + 2;
        while j < b.len() && b[j].is_ascii_hexdigit() {
            j += 1;
        }
        if j > i + 2 && !b.get(j).is_some_and(|&x| is_word_byte(x) && x != b'.') {
            push(out, Kind::Num, from, j, false);
            return j;
        }
    }
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if b.get(j).is_some_and(u8::is_ascii_digit) {
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            i = j;
        }
    }
    if i < b.len() && is_word_byte(b[i]) {
        let mut j = i;
        while j < b.len() && is_word_byte(b[j]) {
            j += 1;
        }
        if words::classify(&s[i..j]).is_some_and(|w| w.splits_number()) {
            push(out, Kind::Num, from, i, false);
            return i;
        }
        push(out, Kind::Ident, from, j, false);
        return j;
    }
    push(out, Kind::Num, from, i, false);
    i
}

/// A word: keyword, function name, identifier, or a string with a prefix (`N'…'`).
fn word(s: &str, from: usize, out: &mut Vec<Token>) -> usize {
    let b = s.as_bytes();
    let mut i = from;
    while i < b.len() && is_word_byte(b[i]) {
        i += 1;
    }
    let text = &s[from..i];
    // N'…', X'…', B'…', E'…': string literals with a prefix.
    if i - from == 1
        && b.get(i) == Some(&b'\'')
        && matches!(b[from] | 0x20, b'n' | b'x' | b'b' | b'e')
    {
        let end = string_end(b, i + 1, b'\'');
        let stop = end.map_or(b.len(), |e| e + 1);
        push(out, Kind::Str, from, stop, end.is_none());
        return stop;
    }
    let mut j = i;
    while j < b.len() && is_space(b[j]) {
        j += 1;
    }
    let called = b.get(j) == Some(&b'(');
    let w = words::classify(text);
    let kind = match w {
        Some(w) => w.kind(called),
        None if called => Kind::Call,
        None => Kind::Ident,
    };
    // `union all`, `union distinct`, `and not`: one token; `order by` and
    // `group by`: one clause.
    if let Some(prev) = out.last_mut() {
        let joined = match (prev.kind, w) {
            (Kind::Union, Some(Word::All | Word::Distinct)) | (Kind::Logic, Some(Word::Not)) => {
                true
            }
            (Kind::Ident, Some(Word::By)) => {
                let p = &s[prev.start..prev.end];
                if p.eq_ignore_ascii_case("order") || p.eq_ignore_ascii_case("group") {
                    prev.kind = Kind::Tail;
                    true
                } else {
                    false
                }
            }
            _ => false,
        };
        if joined {
            prev.end = i;
            return i;
        }
    }
    push(out, kind, from, i, false);
    i
}

/// A symbolic operator (longest match) or an unknown byte.
fn operator(b: &[u8]) -> (Kind, usize) {
    let two = b.get(..2).unwrap_or(b);
    match two {
        b"&&" | b"||" => return (Kind::Logic, 2),
        b"<>" | b"!=" | b"<=" | b">=" | b":=" | b"<<" | b">>" | b"==" | b"!<" | b"!>" => {
            if b.get(..3) == Some(b"<=>") {
                return (Kind::Op, 3);
            }
            return (Kind::Op, 2);
        }
        _ => {}
    }
    match b[0] {
        b'=' | b'<' | b'>' | b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'|' | b'&' | b'~'
        | b'!' => (Kind::Op, 1),
        0x80.. => {
            // Skip the whole character, not one byte of it.
            let len = match b[0] {
                0xF0.. => 4,
                0xE0.. => 3,
                _ => 2,
            };
            (Kind::Other, len.min(b.len()))
        }
        _ => (Kind::Other, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str, start: Start) -> Vec<Kind> {
        let mut v = Vec::new();
        tokens(s, start, &mut v);
        v.into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn reads_a_tautology_after_a_quote() {
        use Kind::*;
        assert_eq!(
            kinds("x' or '1'='1", Start::Inside(b'\'')),
            [Str, Logic, Str, Op, OpenStr]
        );
    }

    #[test]
    fn executable_comments_are_code_and_plain_comments_are_space() {
        use Kind::*;
        assert_eq!(
            kinds("1/**//*!50000union*//**/select", Start::Code),
            [Num, Union, Select]
        );
        assert_eq!(
            kinds("1 union all select 2-- x", Start::Code),
            [Num, Union, Select, Num, Comment]
        );
    }

    #[test]
    fn numbers_split_from_keywords_but_not_from_words() {
        use Kind::*;
        assert_eq!(kinds("1union select", Start::Code), [Num, Union, Select]);
        assert_eq!(kinds("2nd 0x3a 1e5", Start::Code), [Ident, Num, Num]);
        assert_eq!(kinds("sleep (5)", Start::Code), [Func, Open, Num, Close]);
    }

    #[test]
    fn stops_after_max_tokens() {
        let mut v = Vec::new();
        tokens(&"1,".repeat(1000), Start::Code, &mut v);
        assert_eq!(v.len(), MAX_TOKENS);
    }
}
