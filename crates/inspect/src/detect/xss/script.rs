//! Script outside markup: script URLs (`javascript:`, `vbscript:`, HTML
//! `data:` URLs), event handlers after an attribute-quote break, and
//! JavaScript calls of the functions payloads use to prove execution.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use regex::Regex;

use super::is_blank;
use super::markup::is_event;
use crate::Sensitivity;

/// Calls and references that run or prove script: the proof-of-execution
/// sinks (`alert(1)`, ``alert`1` ``), their indirect forms (`(alert)(1)`,
/// `top["al"+"ert"](1)`, `[1].find(alert)`), cookie and document access,
/// string-built code, and JSFuck. ASCII word boundaries keep it a DFA.
static JS: LazyLock<Regex> = LazyLock::new(|| {
    build(concat!(
        r"(?i)(?-u:\b)(?:alert|prompt|confirm|eval|execscript|msgbox)[(`]",
        r"|(?-u:\b)String\s*\.\s*fromCharCode\s*\(",
        r"|(?-u:\b)document\s*\.\s*(?:cookie|domain|write(?:ln)?\s*\()",
        r"|(?-u:\b)(?:top|self|parent|window|frames|globalThis|this|content)\s*\[[^\]]{1,80}\]\s*[(`]",
        r"|\(\s*(?:alert|prompt|confirm|eval)\s*\)\s*[(`]",
        r"|\.[a-z0-9_]+\(\s*(?:alert|prompt|confirm|eval)\s*[),]",
        r"|=\s*(?:alert|prompt|confirm|eval)\s*[,;]",
        r"|(?-u:\b)set(?:Timeout|Interval)\s*\(\s*[`'\x22]",
        r"|(?-u:\b)new\s+Function\s*\(",
        r"|\(!\[\]\+\[\]\)|!\+\[\]",
    ))
});

/// At `Low`: a sink call only right after a string or statement break
/// (`';alert(1)//`, `"-alert(1)-"`).
static JS_LOW: LazyLock<Regex> =
    LazyLock::new(|| build(r#"(?i)["'`;}]\s*[-+*/;,|&)]*\s*(?:alert|prompt|confirm|eval)\s*[(`]"#));

/// The words every [`JS`] branch needs: the regex runs only on values that
/// hold one (most values hold none, and this automaton is cheaper).
static JS_WORDS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build([
            "alert",
            "prompt",
            "confirm",
            "eval",
            "execscript",
            "msgbox",
            "fromcharcode",
            "document",
            "top",
            "self",
            "parent",
            "window",
            "frames",
            "globalthis",
            "this",
            "content",
            "settimeout",
            "setinterval",
            "function",
            "[]",
        ])
        .expect("valid keyword set")
});

/// An event handler attribute outside a tag: `on` + letters + `=`, where
/// `on` starts a word.
static HANDLER: LazyLock<Regex> =
    LazyLock::new(|| build(r"(?i)(?:^|[^a-z0-9_])on([a-z]{3,40})[\x00-\x20]*=([^=]|$)"));

fn build(pattern: &str) -> Regex {
    // The patterns are constants, checked by the tests.
    Regex::new(pattern).expect("valid detector pattern")
}

/// Builds the automata.
pub(super) fn warm() {
    LazyLock::force(&JS);
    LazyLock::force(&JS_LOW);
    LazyLock::force(&HANDLER);
    LazyLock::force(&JS_WORDS);
}

/// Whether `s` calls script the way payloads do.
pub(super) fn js(s: &str, level: Sensitivity) -> bool {
    if !JS_WORDS.is_match(s) {
        return false;
    }
    match level {
        Sensitivity::Low => JS_LOW.is_match(s),
        _ => JS.is_match(s),
    }
}

/// Schemes whose URLs run script.
const SCRIPT_SCHEMES: &[&[u8]] = &[b"javascript", b"vbscript", b"livescript", b"mocha"];

/// What a link that does nothing holds after `javascript:`; analytics report
/// such hrefs (`javascript:;`, `javascript:void(0)`) in query strings.
const NO_OPS: &[&[u8]] = &[
    b"void(0)",
    b"void 0",
    b"void(null)",
    b"void(\'\')",
    b";",
    b"false",
    b"undefined",
    b"return false",
    b"return;",
];

/// `data:` media types a browser renders as a document or runs as script.
const DATA_TYPES: &[&[u8]] = &[
    b"text/html",
    b"text/xml",
    b"text/javascript",
    b"text/ecmascript",
    b"text/vbscript",
    b"text/x-scriptlet",
    b"image/svg+xml",
    b"application/xhtml+xml",
    b"application/xml",
    b"application/javascript",
    b"application/x-javascript",
    b"application/ecmascript",
];

/// Base64 of `<script`, `<svg`, `<img`, `<iframe`, `<html`, `<body` as they
/// start a `data:…;base64,` payload.
const BASE64_MARKUP: &[&[u8]] = &[
    b"PHNjcmlwd",
    b"PHN2Zy",
    b"PGltZy",
    b"PGlmcmFtZ",
    b"PGh0bWw",
    b"PGJvZHk",
];

/// Whether `s` holds a script URL (`javascript:…`, also with blanks inside
/// the scheme as browsers strip them) or a `data:` URL holding a document.
pub(super) fn scheme(s: &str, level: Sensitivity) -> bool {
    let b = s.as_bytes();
    for (i, _) in b.iter().enumerate().filter(|&(_, &c)| c == b':') {
        let word = letters_before(b, i);
        let w = word.as_slice();
        if SCRIPT_SCHEMES.iter().any(|sch| w.ends_with(sch)) && script_follows(&b[i + 1..], level) {
            return true;
        }
        if w.ends_with(b"data") && data_document(&b[i + 1..], level) {
            return true;
        }
    }
    false
}

/// Up to 12 letters before `b[i]`, lowercased, skipping blanks between them
/// (`java\tscript`), looking back at most 48 bytes (so the scan is linear).
fn letters_before(b: &[u8], i: usize) -> Word {
    let mut w = Word {
        buf: [0; 12],
        len: 0,
    };
    let lo = i.saturating_sub(48);
    let mut j = i;
    while j > lo && w.len < w.buf.len() {
        j -= 1;
        let c = b[j];
        if c.is_ascii_alphabetic() {
            w.buf[w.buf.len() - 1 - w.len] = c.to_ascii_lowercase();
            w.len += 1;
        } else if !is_blank(c) {
            break;
        }
    }
    w
}

/// A short lowercase word, stored right-aligned.
struct Word {
    buf: [u8; 12],
    len: usize,
}

impl Word {
    fn as_slice(&self) -> &[u8] {
        &self.buf[self.buf.len() - self.len..]
    }
}

/// After `javascript:`: something runs. Directly followed by code
/// (`javascript:alert(1)`, `javascript://…`), or, after a space, by a call
/// (`javascript: alert(1)`); a prose "JavaScript: the good parts" is not,
/// nor a link that does nothing (`javascript:void(0)`).
fn script_follows(rest: &[u8], level: Sensitivity) -> bool {
    match rest.first() {
        None => level >= Sensitivity::Medium,
        Some(&c) if !is_blank(c) => !no_op(rest),
        Some(_) => {
            let rest = &rest[..rest.len().min(64)];
            let mut prev_ident = false;
            for &c in rest {
                if (c == b'(' || c == b'`') && prev_ident {
                    return true;
                }
                prev_ident = c.is_ascii_alphanumeric() || c == b'_' || c == b'$';
            }
            false
        }
    }
}

/// Whether a script URL's code is a no-op followed by the end of the URL.
fn no_op(code: &[u8]) -> bool {
    NO_OPS.iter().any(|n| {
        code.len() >= n.len()
            && code[..n.len()].eq_ignore_ascii_case(n)
            && match code[n.len()..]
                .strip_prefix(b";")
                .unwrap_or(&code[n.len()..])
            {
                [] => true,
                [c, ..] => is_blank(*c) || b"\"'`&,}])>".contains(c),
            }
    })
}

/// After `data:`: a document or script media type, or base64 markup.
fn data_document(rest: &[u8], level: Sensitivity) -> bool {
    let start = rest
        .iter()
        .position(|&c| !is_blank(c))
        .unwrap_or(rest.len());
    let rest = &rest[start..];
    if DATA_TYPES
        .iter()
        .any(|t| rest.len() >= t.len() && rest[..t.len()].eq_ignore_ascii_case(t))
    {
        return true;
    }
    if level < Sensitivity::Medium {
        return false;
    }
    // `;base64,` may have blanks around its comma (`base64&NewLine;,`).
    let head = &rest[..rest.len().min(96)];
    head.windows(6)
        .position(|w| w.eq_ignore_ascii_case(b"base64"))
        .is_some_and(|p| {
            let after = skip_blanks(&head[p + 6..]);
            after.first() == Some(&b',')
                && BASE64_MARKUP
                    .iter()
                    .any(|m| skip_blanks(&after[1..]).starts_with(m))
        })
}

fn skip_blanks(b: &[u8]) -> &[u8] {
    let s = b.iter().position(|&c| !is_blank(c)).unwrap_or(b.len());
    &b[s..]
}

/// An event handler outside any tag, as injected after an attribute-quote
/// break (`" onmouseover=alert(1)`, `'autofocus/onfocus=alert(1)//`): a known
/// event name, and either a quote before it or script-like code after it.
pub(super) fn handler_outside_tag(s: &str, level: Sensitivity) -> bool {
    if !s
        .as_bytes()
        .windows(2)
        .any(|w| w.eq_ignore_ascii_case(b"on"))
    {
        return false;
    }
    for c in HANDLER.captures_iter(s) {
        let (Some(name), Some(whole)) = (c.get(1), c.get(0)) else {
            continue;
        };
        if !is_event(name.as_str().to_ascii_lowercase().as_bytes()) {
            continue;
        }
        let before = &s.as_bytes()[..whole.start() + 1];
        let quote_before = before.iter().any(|&c| matches!(c, b'"' | b'\'' | b'`'));
        let after = &s[whole.end().saturating_sub(1)..];
        if (quote_before && level >= Sensitivity::Medium) || code_like(after) {
            return true;
        }
    }
    false
}

/// Whether a handler's value looks like script: a call, a template call, or
/// a reference to the document or window.
fn code_like(v: &str) -> bool {
    let v = &v.as_bytes()[..v.len().min(200)];
    let mut prev_ident = false;
    for &c in v {
        if (c == b'(' || c == b'`') && prev_ident {
            return true;
        }
        prev_ident = c.is_ascii_alphanumeric() || c == b'_' || c == b'$';
    }
    [
        b"document".as_slice(),
        b"window",
        b"javascript",
        b"location",
    ]
    .iter()
    .any(|k| v.windows(k.len()).any(|w| w.eq_ignore_ascii_case(k)))
}

/// The "US-ASCII" trick: `¼script¾` (bytes 0xBC/0xBE read as `<`/`>` by a
/// 7-bit decoder). The normalizer keeps `¼` (its NFKC form `1⁄4` is longer);
/// both spellings are read.
pub(super) fn fraction_tag(s: &str) -> bool {
    ["\u{bc}", "1\u{2044}4"].iter().any(|lt| {
        s.match_indices(lt).any(|(i, m)| {
            let rest = s[i + m.len()..].trim_start_matches('/').as_bytes();
            let name = rest.iter().take_while(|c| c.is_ascii_alphabetic()).count();
            name > 0
                && ["script", "img", "svg", "iframe", "body", "a"]
                    .iter()
                    .any(|t| rest[..name].eq_ignore_ascii_case(t.as_bytes()))
        })
    })
}
