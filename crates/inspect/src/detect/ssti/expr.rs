//! Weighing a template expression: is it a placeholder, template code, or
//! code that reaches for the runtime?

/// How code-like a delimited content is, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Weight {
    /// Empty, or only blanks and punctuation.
    Nothing,
    /// A placeholder: a name, a dotted path, a number, words (`{{user.name}}`,
    /// `${price}`, `[[Main Page]]`).
    Identifier,
    /// Template code: a filter (`|e`), a subscript or list, arithmetic on
    /// names, a method on a literal, a FreeMarker builtin, or an object
    /// that leads to the runtime (`self`, `request`, `config` …).
    Code,
    /// A call, a dunder (`__class__`), arithmetic on literals (the `7*7`
    /// probe), a runtime class (`getClass`, `Runtime`), a sandbox-escape
    /// filter (`|attr`).
    Strong,
}

/// Objects that lead from a template to the application or the runtime.
const ROOTS: &[&[u8]] = &[
    b"self",
    b"_self",
    b"request",
    b"config",
    b"app",
    b"settings",
    b"cycler",
    b"joiner",
    b"namespace",
    b"lipsum",
    b"url_for",
    b"get_flashed_messages",
    b"session",
    b"application",
    b"smarty",
    b"environ",
    b"os",
    b"sys",
    b"dump",
    b"runtime",
];

/// Names that only an escape from a sandbox uses.
const RUNTIME: &[&[u8]] = &[
    b"getclass",
    b"forname",
    b"getruntime",
    b"processbuilder",
    b"subclasses",
    b"mro",
    b"globals",
    b"builtins",
    b"popen",
    b"classloader",
    b"getenv",
    b"newinstance",
    b"getenginebyname",
    b"execute",
];

/// Filters that reach attributes or call functions.
const STRONG_FILTERS: &[&[u8]] = &[b"attr", b"filter", b"map", b"select", b"reject", b"sort"];

/// Template statement keywords (Jinja, Twig, Django, Nunjucks, Liquid).
const STATEMENTS: &[&[u8]] = &[
    b"for",
    b"if",
    b"elif",
    b"else",
    b"endif",
    b"endfor",
    b"set",
    b"import",
    b"include",
    b"extends",
    b"from",
    b"macro",
    b"block",
    b"call",
    b"filter",
    b"with",
    b"raw",
    b"load",
    b"autoescape",
    b"debug",
    b"print",
    b"do",
    b"embed",
    b"use",
    b"sandbox",
    b"apply",
    b"assign",
    b"capture",
    b"render",
];

/// What kind of token came last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    Start,
    Name,
    Number,
    Text,
    Close,
    Op,
    Other,
}

/// Weighs a delimited content (a bounded slice) in one pass.
pub(super) fn weigh(c: &[u8]) -> Weight {
    let c = trim(c);
    if c.is_empty() {
        return Weight::Nothing;
    }
    let mut w = Weight::Identifier;
    let mut last = Last::Start;
    // The operand kind before a pending `*` or `+`.
    let mut pending: Option<Last> = None;
    let mut gap = false;
    let mut first_name = true;
    let mut i = 0;
    while i < c.len() && w < Weight::Strong {
        let ch = c[i];
        let tok_start = i;
        let kind = match ch {
            b' ' | b'\t' | b'\r' | b'\n' => {
                gap = true;
                i += 1;
                continue;
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' | b'$' => {
                while i < c.len() && (c[i].is_ascii_alphanumeric() || c[i] == b'_' || c[i] == b'$')
                {
                    i += 1;
                }
                let name = &c[tok_start..i];
                if name.len() > 2 && name.windows(2).any(|p| p == b"__") {
                    w = Weight::Strong;
                }
                if RUNTIME.iter().any(|r| r.eq_ignore_ascii_case(name)) {
                    w = Weight::Strong;
                }
                if first_name
                    && ROOTS.iter().any(|r| r.eq_ignore_ascii_case(name))
                    && root_use(&c[i..])
                {
                    w = w.max(Weight::Code);
                }
                first_name = false;
                Last::Name
            }
            b'0'..=b'9' => {
                while i < c.len() && (c[i].is_ascii_digit() || c[i] == b'.') {
                    i += 1;
                }
                Last::Number
            }
            b'\'' | b'"' => {
                i += 1;
                while i < c.len() && c[i] != ch {
                    i += 1;
                }
                i += 1;
                Last::Text
            }
            b'(' => {
                if !gap && matches!(last, Last::Name | Last::Close | Last::Text) {
                    w = Weight::Strong;
                }
                i += 1;
                Last::Other
            }
            b')' | b']' => {
                i += 1;
                Last::Close
            }
            b'[' => {
                w = w.max(Weight::Code);
                i += 1;
                Last::Other
            }
            b'|' => {
                i += 1;
                let rest = trim_start(&c[i..]);
                let n = rest
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                    .count();
                if n > 0 && rest[0].is_ascii_alphabetic() {
                    let f = &rest[..n];
                    w = w.max(
                        if STRONG_FILTERS.iter().any(|s| s.eq_ignore_ascii_case(f)) {
                            Weight::Strong
                        } else {
                            Weight::Code
                        },
                    );
                }
                Last::Op
            }
            b'*' | b'+' => {
                pending = Some(last);
                i += 1;
                Last::Op
            }
            b'.' if last == Last::Text => {
                w = w.max(Weight::Code);
                i += 1;
                Last::Other
            }
            b'?' if c.get(i + 1).is_some_and(u8::is_ascii_alphabetic) => {
                w = w.max(Weight::Code);
                i += 1;
                Last::Other
            }
            _ => {
                i += 1;
                Last::Other
            }
        };
        if let (Some(left), true) = (pending, kind != Last::Op) {
            if matches!(kind, Last::Number | Last::Text | Last::Name | Last::Close)
                && matches!(left, Last::Number | Last::Text | Last::Name | Last::Close)
            {
                let literal = |k: Last| matches!(k, Last::Number | Last::Text);
                w = w.max(if literal(left) && literal(kind) {
                    Weight::Strong
                } else {
                    Weight::Code
                });
            }
            pending = None;
        }
        last = kind;
        gap = false;
    }
    w
}

/// Whether a root object (`self`, `request` …) is used as one: alone, or
/// followed by an attribute, a subscript, a filter or a call.
fn root_use(rest: &[u8]) -> bool {
    matches!(
        trim_start(rest).first(),
        None | Some(b'.' | b'[' | b'|' | b'(')
    )
}

/// Whether a statement content (`{% … %}`) opens with a statement keyword.
pub(super) fn statement_keyword(c: &[u8]) -> bool {
    let c = trim(c);
    let n = c.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    n > 0 && STATEMENTS.iter().any(|s| s.eq_ignore_ascii_case(&c[..n]))
}

/// Blanks and the whitespace-control marks (`{{-`, `<%=`, `{%~`) trimmed.
fn trim(c: &[u8]) -> &[u8] {
    let c = trim_start(c);
    let c = match c.first() {
        Some(b'=' | b'-' | b'~' | b'+') => trim_start(&c[1..]),
        _ => c,
    };
    let end = c
        .iter()
        .rposition(|b| !b.is_ascii_whitespace() && *b != b'-' && *b != b'~')
        .map_or(0, |p| p + 1);
    &c[..end]
}

fn trim_start(c: &[u8]) -> &[u8] {
    let s = c
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(c.len());
    &c[s..]
}
