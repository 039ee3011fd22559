//! Path traversal and local file inclusion: `../` and `..\` segments (also
//! `....//`, `..;/`, overlong UTF-8 dots and slashes, `..2f`), sensitive
//! absolute paths (`/etc/…`, `/proc/self/…`, `c:\windows\…`), well-known
//! sensitive files (`.htpasswd`, `win.ini`, `/php.ini`, `…/access_log`),
//! stream wrappers (`php://`, `phar://`, `expect://` …), NUL-byte
//! truncation, and the same in a value that is wholly base64
//! (`Li4vLi4vZXRjL3Bhc3N3ZA==` is `../../etc/passwd`).
//!
//! What stays clean: relative paths without a parent step (`a/b`), version
//! strings and file names (`report-v1.2.pdf`), dots in prose (`wait..`,
//! `so ... what`), and URLs whose path merely has an `etc` segment.

use std::sync::LazyLock;

use regex::Regex;

use crate::{Sensitivity, Views};

mod base64;

/// A parent-directory step: two or more dots at the start of the value or
/// after a separator or `=`, followed by a separator (or an overlong-UTF-8
/// byte, `;/`, a bare `2f`/`5c` whose `%` was lost, a stray `%`); two steps
/// in a row anywhere; a trailing `/..`; three or more dots before a
/// separator (`....//`, `.../`). A single `../` inside text (`href="../"`)
/// is a relative link, not a traversal.
const DOTDOT: &str = r"(?:^|[/\\=\x{FFFD}])\.{2,}(?:[/\\\x{FFFD}]|;[/\\]|2f|5c)|[/\\]\.\.%|\.\.[/\\]+\.\.(?:[/\\]|$)|(?:^|[/\\])\.\.$|(?:^|[^\w.])\.{3,}[/\\]|[/\\]\x{FFFD}{2,}[/\\]|\x{FFFD}\.\.";

/// Where a path token may begin: the start, or after a blank, quote,
/// assignment or shell separator.
const TOKEN: &str = r#"(?:^|[\s'"=:;|&(,<>])"#;

/// Sensitive files and directories (case-insensitive).
static SENSITIVE: LazyLock<Regex> = LazyLock::new(|| {
    let start = TOKEN;
    let patterns = [
        // `/etc/…`, `/proc/…`, `/var/log/…` at the start of a path token,
        // after any `/./` noise (a URL path's `/etc/` segment is not one).
        format!(
            r"{start}(?:[a-z]:)?(?:[/\\]+\.?)*[/\\](?:(?:etc[/\\]|proc[/\\]\w)|(?:var|usr|opt|volumes|boot|sbin)[/\\]\w|root[/\\]|private[/\\](?:etc|var|tmp)\b|home\d*[/\\][^/\\\s]+[/\\]\.)"
        ),
        // Logs: `/logs/x.log`, `…/access_log`.
        r"[/\\]logs?[/\\](?:[\w.\-]+[/\\])*[\w.\-]+(?:\.log|_log)\b".to_owned(),
        // PHP/ASP configuration files behind a path: `/core/config.php`.
        r"[/\\](?:config|configuration|database|settings|wp-config|db)(?:\.inc)?\.(?:php|asp|aspx|inc)\b".to_owned(),
        // Well-known files anywhere after a separator.
        format!(r"(?:{start}|[/\\])etc[/\\]+(?:passwd|shadow|master\.passwd|group|hosts|sudoers|issue|crontab)\b"),
        r"[/\\](?:passwd|shadow|master\.passwd|pswd|php\.ini|httpd\.conf|my\.cnf|\.env|[\w.\-]*(?:access|error)[_.]?\s?log)(?:$|[^\w])".to_owned(),
        format!(
            r"(?:{start}|[/\\])(?:\.ht(?:access|passwd|group)|\.(?:bash_history|bash_profile|bashrc|bash_logout|cshrc|kshrc|ksh_history|sh_history|zsh_history|zshrc|profile|pass|passwd|netrc|rhosts|shosts|forward|logout|xauthority|pgpass|mysql_history|git-credentials|viminfo|ssh[/\\]|aws[/\\]credentials|docker[/\\]config\.json)|id_(?:rsa|dsa|ecdsa|ed25519)|authorized_keys|known_hosts|(?:win|boot|system|desktop)\.ini|global\.asa|metabase\.xml|wp-config\.php|localstart\.asp|ntuser\.dat|repair[/\\](?:sam|system))(?:$|[^\w])"
        ),
        // Windows: system directories with or without a drive letter.
        r"(?:^|[^\w])[a-z]:[/\\]*(?:windows|winnt|inetpub|boot\.ini|program files|system32|appserv|xampp|wamp)\b".to_owned(),
        r"[/\\](?:windows|winnt|system32|inetpub|program files)[/\\]|%(?:systemroot|windir)%".to_owned(),
        // Stream wrappers that read files or run code.
        r"(?:^|[^\w])(?:php|file|zip|phar|expect|glob|data|compress\.(?:zlib|bzip2)|jar|netdoc|rar|ogg|ssh2\.(?:shell|exec|tunnel|sftp|scp))://".to_owned(),
    ];
    Regex::new(&format!("(?i){}|{}", DOTDOT, patterns.join("|"))).expect("static pattern compiles")
});

/// Only the strongest signals, for `Low`: two parent steps, or one followed
/// by a sensitive name, and the code-running wrappers.
static STRONG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\.\.[/\\].*\.\.[/\\]|\.\.[/\\].*(?:etc[/\\]|win\.ini|boot\.ini|passwd|shadow)|(?:php|phar|expect|zip)://|[/\\]etc[/\\](?:passwd|shadow)\b",
    )
    .expect("static pattern compiles")
});

/// Builds the detector's automata.
pub(super) fn warm() {
    LazyLock::force(&SENSITIVE);
    LazyLock::force(&STRONG);
}

/// Whether `v` carries a traversal or file-inclusion attack.
pub(super) fn detect(v: &Views<'_>, level: Sensitivity) -> bool {
    let d: &str = &v.decoded;
    // Each level flags a superset of the one below: the strong signals first.
    if has_trigger(d) && STRONG.is_match(d) {
        return true;
    }
    if level == Sensitivity::Low {
        return false;
    }
    if has_trigger(d) && SENSITIVE.is_match(d) {
        return true;
    }
    if nul_truncation(v.raw) {
        return true;
    }
    // A wholly base64 value that decodes to a traversal (`base64_decode`
    // before `include`).
    base64::decode(d).is_some_and(|text| has_trigger(&text) && SENSITIVE.is_match(&text))
}

/// Whether `s` holds a character every rule needs: a separator, a dot, a
/// colon or a `%`, or U+FFFD (an overlong UTF-8 byte).
fn has_trigger(s: &str) -> bool {
    s.bytes()
        .any(|b| matches!(b, b'/' | b'\\' | b'.' | b':' | b'%' | 0xEF))
}

/// A NUL byte, in any encoding, right after a file name (`passwd%00`,
/// `x.php%00.jpg`): it cuts the suffix a server appends. NULs are removed
/// from the decoded view, so this looks at the value as received.
fn nul_truncation(raw: &str) -> bool {
    const NULS: [&str; 5] = ["%00", "%2500", "%252500", "\\0", "\\u0000"];
    let lower = raw.as_bytes();
    if !lower.iter().any(|&b| b == b'%' || b == b'\\' || b == 0) {
        return false;
    }
    if lower.contains(&0) {
        return true;
    }
    NULS.iter().any(|n| {
        raw.match_indices(n).any(|(i, _)| {
            i > 0 && raw.as_bytes()[i - 1].is_ascii_alphanumeric() && {
                // `\0` must not start `\0a`-style escapes of other bytes.
                let after = raw.as_bytes().get(i + n.len()).copied();
                n != &"\\0" || !after.is_some_and(|b| b.is_ascii_digit())
            }
        })
    })
}

#[cfg(test)]
mod tests;
