//! From tokens to a fingerprint, and the attack shapes a fingerprint is matched against.
//!
//! A fingerprint is one letter per token (see [`letter`]), written only while
//! the tokens could follow each other in SQL: at the first pair that cannot
//! (`1 "`, `word word`, an unknown byte) a `!` is written and the fingerprint
//! ends. An English phrase full of keywords ("7 AND A HALF", "WHERE IS
//! GEORGE") thus stops after a few letters, while an injection reads on as
//! SQL. The first letter says where the value was read from: `N` as code, `Q`
//! after a closing quote.
//!
//! The shapes are regular expressions over this short string (the `regex`
//! crate: linear time), written for this project: each one is a way an
//! injection starts (see `docs/inspection.md`).

use std::sync::LazyLock;

use regex::Regex;

use super::lex::{Kind, Token};
use super::words::{self, Word};
use crate::Sensitivity;

/// At most this many letters after the context letter.
const MAX_LETTERS: usize = 20;

/// The fingerprint of `tokens` read from `value`; `quote` is the quote the
/// value was read inside of (its first token is then the prefix string).
pub(crate) fn fingerprint(value: &str, tokens: &[Token], quote: Option<u8>, out: &mut String) {
    let quoted = quote.is_some();
    out.clear();
    out.push(match quote {
        None => 'N',
        Some(b'"') => 'P',
        Some(_) => 'Q',
    });
    let mut prev = None;
    // After `;` or a statement keyword, anything may follow: a new statement starts.
    let mut free = false;
    let mut i = 0;
    while i < tokens.len() && out.len() <= MAX_LETTERS {
        let t = tokens[i];
        let l = if quoted && i == 0 {
            prefix_letter(&value[t.start..t.end])
        } else {
            letter(value, tokens, i)
        };
        // The prefix string of a quoted reading starts it whatever follows.
        let prefix = quoted && i == 0;
        if !(free || prefix || follows(prev, l)) {
            out.push('!');
            return;
        }
        out.push(l);
        if matches!(l, ';' | 'X' | 'D') {
            free = true;
        }
        // `version()`: the call's parentheses are part of the letter.
        if l == 'F'
            && tokens.get(i + 1).is_some_and(|t| t.kind == Kind::Open)
            && tokens.get(i + 2).is_some_and(|t| t.kind == Kind::Close)
        {
            i += 3;
            prev = Some(')');
            continue;
        }
        prev = Some(l);
        i += 1;
    }
}

/// The letter of the prefix string in a quoted context: `z` when it is empty,
/// `a` when it is one run of name characters (a user name, an id, an e-mail: what a login
/// form or an id parameter holds), `b` when it is text.
fn prefix_letter(s: &str) -> char {
    let t = s.trim();
    let name = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'@' | b'.' | b'-');
    if t.is_empty() {
        'z'
    } else if t.len() <= 40 && t.bytes().all(name) {
        'a'
    } else {
        'b'
    }
}

/// The letter of token `i`.
fn letter(value: &str, tokens: &[Token], i: usize) -> char {
    let t = tokens[i];
    let text = &value[t.start..t.end];
    match t.kind {
        Kind::Str => 's',
        Kind::OpenStr => {
            // The body of an open string (after its quote).
            let body = text.get(1..).unwrap_or("");
            if body.is_empty() {
                'y'
            } else if body.len() <= 3
                && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'%')
            {
                'e'
            } else {
                't'
            }
        }
        Kind::Num => '1',
        Kind::Ident => 'n',
        Kind::Func => match words::classify(text) {
            Some(Word::Danger) => 'F',
            Some(Word::Probe) if tokens.get(i + 2).is_some_and(|t| t.kind == Kind::Close) => 'F',
            _ => 'f',
        },
        Kind::Call => 'g',
        Kind::Var => 'v',
        Kind::Logic => '&',
        Kind::Op => match text {
            "=" | "<>" | "!=" | "<=>" | "<" | ">" | "<=" | ">=" | "==" | "!<" | "!>" => '=',
            _ => 'o',
        },
        Kind::WordOp => 'w',
        Kind::Union => 'U',
        Kind::Select => 'S',
        Kind::Exec => 'X',
        Kind::Stmt => 'D',
        Kind::Clause => 'k',
        Kind::Tail => 'h',
        // `#2`, `#tag`: a number sign more likely than a comment.
        Kind::Comment
            if text.len() > 1
                && text.as_bytes()[0] == b'#'
                && text.as_bytes()[1].is_ascii_alphanumeric() =>
        {
            'm'
        }
        Kind::Comment => 'c',
        Kind::Open => '(',
        Kind::Close => ')',
        Kind::Comma => ',',
        Kind::Semi => ';',
        Kind::Other => '?',
    }
}

/// A set of letters, for constant-time membership.
const fn set(letters: &[u8]) -> u128 {
    let mut bits = 0u128;
    let mut i = 0;
    while i < letters.len() {
        bits |= 1 << (letters[i] & 0x7f);
        i += 1;
    }
    bits
}

fn has(set: u128, letter: char) -> bool {
    (letter as u32) < 128 && set & (1 << (letter as u32)) != 0
}

/// The letters that can start an operand.
const OPERAND: u128 = set(b"steyv1nfgF(o=");
/// What may follow a value (or the prefix string of a quoted reading).
const AFTER_VALUE: u128 = set(b"o=w&),;cmUkhXD");

/// Whether a token lettered `next` can follow one lettered `prev` (`None`:
/// the start of the value).
fn follows(prev: Option<char>, next: char) -> bool {
    let starts = |extra: u128| has(OPERAND | extra, next);
    match prev {
        None => starts(set(b"S&wkhXDUcm;),")),
        Some('a' | 'b' | 'z' | 's' | '1' | 'n' | 'v') => has(AFTER_VALUE, next),
        // `IF(1=1) SELECT …` (MSSQL).
        Some(')') => has(AFTER_VALUE | set(b"S"), next),
        Some('f' | 'g' | 'F') => next == '(',
        Some('(') => starts(set(b"S)wk")),
        // `count(*)`, `select * from`.
        Some('o' | '=') => starts(set(b"kw),")),
        Some('w' | '&') => starts(set(b"w")),
        Some('U') => next == 'S' || next == '(',
        Some('S' | 'k' | 'h') => starts(set(b"kh")),
        Some(',') => starts(set(b"S")),
        // An open string or a comment ends the value; `;`, `X` and `D` free
        // what follows; an unknown byte never starts anything.
        Some(_) => false,
    }
}

/// The letters at least one shape needs: a fingerprint without any is benign
/// without running the shapes.
const TRIGGERS: u128 = set(b"U;F&Xo=wchSDfg(");

/// Whether `fingerprint` has a letter some shape needs.
pub(crate) fn has_trigger(fingerprint: &str) -> bool {
    fingerprint.chars().any(|c| has(TRIGGERS, c))
}

/// The shapes at each level; a level's list includes the lower levels'.
/// `{H}` is the head of a reading: code (`N`) or a closed quote (`Qa`, `Qb`),
/// then any values, commas and closing parentheses (`1)`, `',NULL)`).
const LOW: &[&str] = &[
    // UNION SELECT, anywhere.
    r"^[^!]*U\(*S",
    // A stacked query, or a statement that ends the value.
    r"^[^!]*;\(*(S|D|X([cm;v]|$|n([s1v,cm;]|$)))",
    // A call only an attack makes (sleep, benchmark, load_file, version() …).
    r"^[^!]*F",
    // A quote closed, then a condition joined with AND / OR and a comparison.
    r"^[QP][abz]\)*&w*\(*[1svn]\)*[o=w]+w*\(*[1svnteygfFS(]([^!]|$)",
    // An MSSQL statement after a value, without `;`.
    r"^{H}X([cm;v]|$|n([s1v,cm;]|$))",
];

const MEDIUM: &[&str] = &[
    // Code context: AND / OR and a comparison, a call or a subquery.
    r"^{H}&w*\(*[1svn]\)*[o=w]+w*\(*[1svnteygfFS(]([^!]|$)",
    r"^{H}&w*\(*[fS(]",
    // A quote closed, then AND / OR and a literal to the end or a comment.
    r"^[QP][abz]\)*&\(*[1sv]\)*([cm;Uh]|$)",
    r"^[QP][az]\)*&\(*[1sv]\)*&",
    r"^[QP]z\)*&\(*[eyt]$",
    r"^[QP]z\)*&g\(",
    r"^{H}&\(*[1sv]\)*[cm;Uh]",
    // A value that starts with AND / OR and a literal: `AND 1`, ` or true`.
    r"^N&\(*[1sv]\)*$",
    // A value, then UNION to the end: `-1 union/*`.
    r"^(N[o(]*[1svn]|[QP][abz])[),1svn]*U[cm(]*$",
    // An operator with a call or a subquery.
    r"^{H}[o=w]+\(*(f\(|S)",
    // A quote closed, then a comparison with an empty string: `'='`, `x' = '`.
    r"^[QP][az]\)*=[eyt]$",
    // A single-quoted operator probe: `'-'`, `'*'` (`''-''` is 0, which MySQL
    // finds equal to most strings). Double-quoted, `"*"` is a search term.
    r"^Qz\)*oy$",
    // A quote closed, then an operator, a literal and more: `'-0--`, `'=' 'or'`.
    r"^[QP][az]\)*[o=]\(*[1sv]\)*[cm&U]",
    // A name closed with a quote then commented out: `admin'--`.
    r"^[QP][az]\)*c",
    // A quote closed, then LIKE / IS / IN / BETWEEN and an operand.
    r"^[QP]a\)*w+\(*[1svneytS(f]([^!]|$)",
    r"^[QP]z\)*w+\(*[1vneyS(f]([^!]|$)",
    // A clause after a quote or a value: `' order by 1--`, `1 having 1=1`.
    r"^(N[o(]*[1v]|[QP][abz])\)*h[hk]*\(*[1svnfeyt(]([^!]|$)",
    // A value that starts with a clause and a comparison or a column number:
    // ` ORDER BY 1#`, ` HAVING 1=0`, ` WHERE 1=1`.
    r"^N(kn)?[kh]\(*[1sv]\)*[o=]",
    r"^Nh1",
    // A statement after a closed quote, without `;`: `' insert into`.
    r"^[QP][abz]\)*D[hk]",
    r"^[QP][ab]\)*Dn",
    // A parenthesised expression with a string, a call, a variable or a
    // comparison, commented out: `( cos ( 1 or @a ) ) --` (not `(new and used) --`).
    r"^N\([^!]*[svgfF=(][^!]*\)c",
    // A query or a statement as the whole value (with a call, a variable, a
    // list or an end: `select x from y where` alone is prose about SQL).
    r"^N[,(]*S([^!]*[fFgv,;cm]|o)",
    r"^N[,(]+S",
    r"^ND[kh]",
    r"^NX[nv]",
    // A value made of SQL functions: `ascii(substring(version() …`.
    r"^N\(*f\([^!]*[fSv]",
    // An MSSQL `IF(…) SELECT`.
    r"^Nf\([^!]*\)S",
];

const HIGH: &[&str] = &[
    r"^{H}&w*\(*g",
    r"^N\(*[1sv]?\)*&\(*[1sv]\)*$",
    r"^[QP]b\)*c",
    r"^[QP]b\)*w+\(*[1svneyS(f]([^!]|$)",
    r"^[QP][abz]\)*o[eyt]$",
    r"^N[DX]",
    r"^N\(*[fg]\(",
];

/// The head of a reading (see the shape lists).
const HEAD: &str = r"(?:No?|[QP][abz])[),1svn]*";

fn compile(lists: &[&[&str]]) -> Regex {
    let all: Vec<String> = lists
        .iter()
        .flat_map(|l| l.iter())
        .map(|p| p.replace("{H}", HEAD))
        .collect();
    let pattern = format!("(?:{})", all.join(")|(?:"));
    Regex::new(&pattern).expect("the SQLi shapes are valid regular expressions")
}

static SHAPES: LazyLock<[Regex; 3]> = LazyLock::new(|| {
    [
        compile(&[LOW]),
        compile(&[LOW, MEDIUM]),
        compile(&[LOW, MEDIUM, HIGH]),
    ]
});

/// Builds the shape automata.
pub(crate) fn warm() {
    LazyLock::force(&SHAPES);
}

/// Whether `fingerprint` has an attack shape at `level`.
pub(crate) fn matches(fingerprint: &str, level: Sensitivity) -> bool {
    let i = match level {
        Sensitivity::Low => 0,
        Sensitivity::Medium => 1,
        Sensitivity::High => 2,
    };
    SHAPES[i].is_match(fingerprint)
}
