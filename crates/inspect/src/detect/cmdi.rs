//! OS command injection: a shell-aware scan for a command word (or an
//! absolute binary path) in a position where a shell would run it.
//!
//! The command positions are: after a separator (`;`, `|`, `||`, `&`, `&&`,
//! a newline, or a literal `\n` that a later layer may unescape), inside a
//! substitution (`` `…` ``, `$(…)`, `<(…)`), and, with stricter rules, the
//! start of the value. Between the position and the word the scanner skips
//! what shells ignore: blanks, `$IFS`/`${IFS}`, quotes, braces and
//! backslashes, and it drops quotes and backslashes inside the word too, so
//! `c''at`, `c\at` and `{cat,/etc/passwd}` read as `cat`.
//!
//! Words are graded, because prose uses some of them: a *tool* (`whoami`,
//! `wget`, `ipconfig` …) is enough after a separator; a *common* word (`id`,
//! `cat`, `type`, `sleep`, `echo` …) needs shell-looking arguments after it
//! (an option, a path, a redirect, another separator, or the end), so
//! "R&D; sales", "cats | dogs" and "name; type of account" stay clean. Inside a
//! substitution any known word counts. Apart from commands, it flags the
//! Shellshock prefix `() {`, PHP's `${…(` interpolation and calls of PHP's
//! process and eval functions with a string argument (`system('…`).

use crate::{Sensitivity, Views};

mod words;

use words::{Class, classify};

/// Builds the detector's automata (none: hand-written scanner).
pub(super) fn warm() {}

/// Whether `v` carries a command injection.
pub(super) fn detect(v: &Views<'_>, level: Sensitivity) -> bool {
    let s = v.decoded.as_bytes();
    if s.len() < 2 {
        return false;
    }
    scan(s, level)
}

/// How a command position was reached, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// Inside `` ` ``, `$(`, `<(` or `>(`.
    Subst,
    /// After `;`, `|`, `&`, a newline or a literal `\n`.
    Sep,
    /// After a quote (`' whoami`): a string closed early.
    Quote,
    /// The start of the value.
    Start,
}

/// Scans the decoded bytes once; each command position is checked with a
/// bounded look-ahead (a word of at most [`words::MAX_WORD`] bytes and the
/// token after it), so the whole scan is linear.
fn scan(s: &[u8], level: Sensitivity) -> bool {
    if code_injection(s) {
        return true;
    }
    if level >= Sensitivity::Medium && command_at(s, 0, Ctx::Start, level) {
        return true;
    }
    let mut i = 0;
    while i < s.len() {
        let (ctx, next) = match s[i] {
            b';' | b'\n' | b'\r' => (Ctx::Sep, i + 1),
            b'|' | b'&' => {
                let n = if s.get(i + 1) == Some(&s[i]) {
                    i + 2
                } else {
                    i + 1
                };
                (Ctx::Sep, n)
            }
            b'`' => (Ctx::Subst, i + 1),
            b'$' | b'<' | b'>' if s.get(i + 1) == Some(&b'(') => (Ctx::Subst, i + 2),
            b'\\' if matches!(s.get(i + 1), Some(b'n' | b'r')) => (Ctx::Sep, i + 2),
            b'\'' | b'"' => (Ctx::Quote, i + 1),
            _ => {
                i += 1;
                continue;
            }
        };
        if command_at(s, next, ctx, level) {
            return true;
        }
        i = next.max(i + 1);
    }
    false
}

/// Whether a command starts at `at` (after skipping what a shell ignores).
fn command_at(s: &[u8], at: usize, ctx: Ctx, level: Sensitivity) -> bool {
    let start = skip_noise(s, at);
    let Some((word, end)) = words::read(s, start) else {
        return false;
    };
    if words::is_binary_path(&word) {
        // `/bin/sh`, `/usr/bin/id`: a path to a program where a command goes.
        return true;
    }
    let name = words::base_name(&word);
    let Some(class) = classify(name) else {
        return false;
    };
    if start > 0 && s[start - 1] == b'{' && s.get(end) == Some(&b',') {
        // Brace expansion: `{cat,/etc/passwd}` runs `cat /etc/passwd`.
        return true;
    }
    let after = skip_blanks(s, end);
    if words::subcommand(name, s, after) {
        // `net user …`, `reg add …`: at the start only with a Windows switch
        // or nothing after (`net view`).
        return ctx != Ctx::Start || windows_switch(s, after);
    }
    match (ctx, class) {
        (Ctx::Subst, _) => true,
        // Only what no prose quotes: `' whoami`, `" ipconfig /all`.
        (Ctx::Quote, Class::Admin) => level >= Sensitivity::Medium,
        (Ctx::Quote, _) => false,
        (Ctx::Sep, Class::Tool | Class::Admin) => true,
        // A language name after a separator is often a list ("Java; Python |
        // Ruby"): it needs real arguments, not just the end or a separator.
        (Ctx::Sep, Class::Named) => option_or_path(s, after) || quoted_or_var(s, after),
        (Ctx::Sep, Class::Common) => shell_args(s, after, name),
        // Low sensitivity needs a separator or a substitution.
        (Ctx::Start, _) if level < Sensitivity::Medium => false,
        // `netsh firewall set opmode disable`: admin tools take plain words.
        (Ctx::Start, Class::Admin) => after < s.len(),
        (Ctx::Start, _) => option_or_path(s, after),
    }
}

/// Whether a `/add`-style switch, or the end, follows (within the value).
fn windows_switch(s: &[u8], at: usize) -> bool {
    let rest = &s[at.min(s.len())..];
    !rest.contains(&b' ') || rest.windows(2).any(|w| w == b" /")
}

/// Whether what follows a common word looks like shell arguments: the end of
/// the value, another separator, an option, a path, a redirect, a variable or
/// a quote (or a number after `sleep`/`ping`/`timeout`).
fn shell_args(s: &[u8], at: usize, name: &str) -> bool {
    let Some(&c) = s.get(at) else {
        return true;
    };
    match c {
        b';' | b'|' | b'&' | b'`' | b'>' | b'<' | b'$' | b'\'' | b'"' | b'#' => true,
        b'\n' | b'\r' => true,
        b'\\' if matches!(s.get(at + 1), Some(b'n' | b'r')) => true,
        b'0'..=b'9' => matches!(name, "sleep" | "ping" | "timeout"),
        _ => option_or_path(s, at),
    }
}

/// A quoted argument, a variable or a redirect at `at`.
fn quoted_or_var(s: &[u8], at: usize) -> bool {
    matches!(s.get(at), Some(b'\'' | b'"' | b'$' | b'>' | b'<'))
}

/// An option (`-l`, `--all`, `/all` for Windows tools) or a path (`/etc`,
/// `C:\`, `\\host`, `%SYSTEMROOT%\`) at `at`.
fn option_or_path(s: &[u8], at: usize) -> bool {
    let c = |k: usize| s.get(at + k).copied().unwrap_or(0);
    match c(0) {
        b'-' => c(1).is_ascii_alphabetic() || (c(1) == b'-' && c(2).is_ascii_alphabetic()),
        b'/' | b'\\' => c(1).is_ascii_alphabetic() || c(1) == b'\\' || c(1) == 0,
        b'%' => c(1).is_ascii_alphabetic(),
        b'a'..=b'z' | b'A'..=b'Z' => {
            (c(1) == b':' && matches!(c(2), b'\\' | b'/')) || is_url(&s[at..])
        }
        _ => false,
    }
}

/// Whether `s` starts with an `http://`, `https://` or `ftp://` URL (what
/// `curl` and `wget` fetch).
fn is_url(s: &[u8]) -> bool {
    ["http://", "https://", "ftp://"]
        .iter()
        .any(|p| s.len() > p.len() && s[..p.len()].eq_ignore_ascii_case(p.as_bytes()))
}

/// Skips blanks and `$IFS`-style field separators.
fn skip_blanks(s: &[u8], mut i: usize) -> usize {
    loop {
        match s.get(i) {
            Some(b' ' | b'\t') => i += 1,
            _ => match ifs_len(s, i) {
                0 => return i,
                n => i += n,
            },
        }
    }
}

/// Skips blanks, `$IFS`, quotes, braces, parentheses and backslashes before a
/// command word.
fn skip_noise(s: &[u8], mut i: usize) -> usize {
    let mut guard = 0;
    while guard < 16 {
        guard += 1;
        match s.get(i) {
            Some(b' ' | b'\t' | b'\'' | b'"' | b'{' | b'(' | b'\\' | b'@') => i += 1,
            _ => match ifs_len(s, i) {
                0 => return i,
                n => i += n,
            },
        }
    }
    i
}

/// The length of a `$IFS`, `${IFS}` or `$IFS$9` at `i` (0 when none).
fn ifs_len(s: &[u8], i: usize) -> usize {
    let rest = &s[i.min(s.len())..];
    let eq = |p: &[u8]| rest.len() >= p.len() && rest[..p.len()].eq_ignore_ascii_case(p);
    let n = if eq(b"${ifs}") {
        6
    } else if eq(b"$ifs") {
        4
    } else {
        return 0;
    };
    match rest.get(n..n + 2) {
        Some([b'$', d]) if d.is_ascii_digit() => n + 2,
        _ => n,
    }
}

/// Code that a shell-out or `eval` runs: the Shellshock function prefix
/// `() {`, PHP's `${@func(` / `{${func(` interpolation, and a PHP
/// process/eval function called with a string or variable argument.
fn code_injection(s: &[u8]) -> bool {
    static CALLS: std::sync::LazyLock<regex::bytes::Regex> = std::sync::LazyLock::new(|| {
        regex::bytes::Regex::new(
            r#"(?i)\(\s*\)\s*\{\s*[:\w]|\$\{\s*@?\s*[a-z_]\w*\s*\(|\b(?:system|exec|shell_exec|passthru|popen|proc_open|pcntl_exec|eval|assert)\s*\(\s*['"$`]|\b(?:phpinfo|phpversion)\s*\(\s*\)|\$_(?:get|post|request|cookie|server|files|env)\s*\["#,
        )
        .expect("static pattern compiles")
    });
    s.iter().any(|&b| b == b'(' || b == b'$') && CALLS.is_match(s)
}

#[cfg(test)]
mod tests;
