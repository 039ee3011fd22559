//! Server-side template injection: template delimiters (`{{ }}`, `${ }`,
//! `#{ }`, `*{ }`, `<%= %>`, `{% %}`, `[[ ]]`, `@( )`, FreeMarker and Smarty
//! tags) whose content is code rather than a placeholder.
//!
//! A delimiter alone is not an attack: `{name}`, `${price}` in prose or a
//! wiki `[[Page]]` are common in real text. What counts is the content: at
//! `Medium` an expression (arithmetic, a call, a subscript, a filter, a
//! dunder, an object that leads to the runtime such as `self` or `request`);
//! at `Low` only the strong part of that; at `High` any identifier content.

mod expr;
#[cfg(test)]
mod tests;

use crate::{Sensitivity, Views};

use expr::{Weight, weigh};

/// Builds the detector's automata (none: hand-written scanners).
pub(super) fn warm() {}

/// Whether `v` carries a template injection.
pub(super) fn detect(v: &Views<'_>, level: Sensitivity) -> bool {
    let b = v.decoded.as_bytes();
    // Every delimiter and tag starts with one of these.
    let (mut brace, mut bracket, mut at, mut lt) = (false, false, false, false);
    for &c in b {
        match c {
            b'{' => brace = true,
            b'[' => bracket = true,
            b'@' => at = true,
            b'<' => lt = true,
            _ => {}
        }
    }
    if !(brace || bracket || at || lt) {
        return false;
    }
    let present = |d: &Delimiter| match d.open[0] {
        b'[' => bracket,
        b'@' if d.open[1] == b'(' => at,
        b'<' => lt,
        _ => brace,
    };
    DELIMITERS
        .iter()
        .filter(|d| present(d))
        .any(|d| delimited(b, d, level))
        || ((brace || bracket || lt) && tags(v.folded.as_bytes(), level))
}

/// How much each opening delimiter needs from its content.
#[derive(Debug, Clone, Copy)]
struct Delimiter {
    open: &'static [u8],
    close: &'static [u8],
    /// The content is a statement (`{% for … %}`, `<% … %>`): a known
    /// statement keyword or any code is enough.
    statement: bool,
}

const DELIMITERS: &[Delimiter] = &[
    Delimiter {
        open: b"{{",
        close: b"}}",
        statement: false,
    },
    Delimiter {
        open: b"${",
        close: b"}",
        statement: false,
    },
    Delimiter {
        open: b"#{",
        close: b"}",
        statement: false,
    },
    Delimiter {
        open: b"*{",
        close: b"}",
        statement: false,
    },
    Delimiter {
        open: b"@{",
        close: b"}",
        statement: false,
    },
    Delimiter {
        open: b"~{",
        close: b"}",
        statement: false,
    },
    Delimiter {
        open: b"[[",
        close: b"]]",
        statement: false,
    },
    Delimiter {
        open: b"@(",
        close: b")",
        statement: false,
    },
    Delimiter {
        open: b"{%",
        close: b"%}",
        statement: true,
    },
    Delimiter {
        open: b"<%",
        close: b"%>",
        statement: true,
    },
];

/// Content looked at for each opening (the signals sit at the start).
const MAX_CONTENT: usize = 256;

/// Every expression in `d`'s delimiters, judged by its content. The pass is
/// linear: the closer of an opening is its first occurrence after it, found
/// again only once the scan has passed the previous one.
fn delimited(b: &[u8], d: &Delimiter, level: Sensitivity) -> bool {
    let mut close: Option<usize> = None;
    let mut i = 0;
    while let Some(off) = find(&b[i..], d.open) {
        let start = i + off + d.open.len();
        let end = match close {
            Some(c) if c >= start => c,
            _ => match find(&b[start..], d.close) {
                Some(c) => start + c,
                // No closer after this opening, nor after any later one.
                None => return false,
            },
        };
        close = Some(end);
        // The head holds this opening's signals; the tail holds those of the
        // openings nested in it, which are skipped (their content is a
        // suffix of this one).
        let content = &b[start..end];
        let head = &content[..content.len().min(MAX_CONTENT)];
        let tail = &content[content.len().saturating_sub(MAX_CONTENT)..];
        if judge(d, head, level) || (tail.len() < content.len() && judge(d, tail, level)) {
            return true;
        }
        i = end;
    }
    false
}

/// Whether one delimited content is code at `level`.
fn judge(d: &Delimiter, content: &[u8], level: Sensitivity) -> bool {
    let w = weigh(content);
    if weighty(d, w, level) {
        return true;
    }
    // `<% … %>` is always code; `{% … %}` when it opens with a statement
    // (expressions belong in `{{ }}`, and some applications' own
    // placeholders read `{% $NAME|FORMAT %}`).
    d.statement
        && level >= Sensitivity::Medium
        && w >= Weight::Identifier
        && (d.open == b"<%" || expr::statement_keyword(content))
}

/// Whether one delimited content is code at `level`, by its weight alone.
fn weighty(d: &Delimiter, w: Weight, level: Sensitivity) -> bool {
    let need = match level {
        Sensitivity::Low => Weight::Strong,
        Sensitivity::Medium if d.open == b"{%" => Weight::Strong,
        Sensitivity::Medium => Weight::Code,
        Sensitivity::High => Weight::Identifier,
    };
    w >= need
}

/// Template-engine tags without a generic delimiter: FreeMarker directives
/// (`<#assign`, `[#assign`), its `?new()` builtin, Smarty's `{php}` and
/// `{$smarty.…}`. `folded` is lowercase.
fn tags(f: &[u8], level: Sensitivity) -> bool {
    const STRONG: &[&[u8]] = &[
        b"?new(",
        b"freemarker.template.utility",
        b"{php}",
        b"{/php}",
        b"{$smarty.",
    ];
    const DIRECTIVES: &[&[u8]] = &[
        b"assign",
        b"list",
        b"include",
        b"import",
        b"macro",
        b"function",
        b"global",
        b"local",
        b"setting",
        b"attempt",
        b"if ",
        b"ftl",
    ];
    let has = |c: u8| f.contains(&c);
    let (brace, question, hash) = (has(b'{'), has(b'?'), has(b'#'));
    if (brace || question || has(b'.')) && STRONG.iter().any(|k| find(f, k).is_some()) {
        return true;
    }
    if level < Sensitivity::Medium || !hash {
        return false;
    }
    let mut i = 0;
    while let Some(off) = f[i..].iter().position(|&c| c == b'#') {
        let p = i + off;
        i = p + 1;
        if p > 0 && matches!(f[p - 1], b'<' | b'[') {
            let rest = &f[p + 1..];
            if DIRECTIVES.iter().any(|d| rest.starts_with(d)) {
                return true;
            }
        }
    }
    false
}

/// The first position of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() == 1 {
        return hay.iter().position(|&c| c == needle[0]);
    }
    let first = needle[0];
    let mut i = 0;
    while let Some(off) = hay[i..].iter().position(|&c| c == first) {
        let p = i + off;
        if hay[p..].starts_with(needle) {
            return Some(p);
        }
        i = p + 1;
    }
    None
}
