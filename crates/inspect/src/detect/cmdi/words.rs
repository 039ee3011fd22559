//! Command words: reading one as a shell would (quotes and backslashes
//! inside it dropped), and grading it by how much prose uses it.

/// Longer words are not command names.
pub(super) const MAX_WORD: usize = 32;

/// How much evidence a command word needs around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    /// Administration tools that take plain-word arguments and never appear
    /// in prose (`netsh`, `ipconfig`, `whoami`): enough even at the start.
    Admin,
    /// Shell tools rarely written in prose (`wget`, `ls`, `nc`, `bash`):
    /// enough after a separator.
    Tool,
    /// Languages and products named in prose (`python`, `perl`, `php`):
    /// need shell-looking arguments.
    Named,
    /// English words or abbreviations (`id`, `cat`, `type`, `sleep`): need
    /// shell-looking arguments.
    Common,
}

/// The class of a lowercase command name, if it is one.
pub(super) fn classify(name: &str) -> Option<Class> {
    Some(match name {
        "whoami" | "uname" | "ifconfig" | "ipconfig" | "netstat" | "netsh" | "nslookup"
        | "systeminfo" | "sysinfo" | "tasklist" | "taskkill" | "certutil" | "bitsadmin"
        | "wmic" | "powershell" | "pwsh" | "useradd" | "usermod" | "mkfifo" | "traceroute"
        | "tracert" | "getent" => Class::Admin,
        "wget" | "curl" | "nc" | "ncat" | "netcat" | "socat" | "telnet" | "sh" | "bash" | "zsh"
        | "ksh" | "csh" | "tcsh" | "ls" | "pwd" | "cmd" | "chmod" | "chown" | "xterm" | "nmap"
        | "tftp" | "xxd" | "passwd" | "crontab" | "nohup" | "sudo" | "su" | "lsof" | "ps"
        | "mshta" | "rundll32" | "regsvr32" | "cscript" | "wscript" | "msiexec" => Class::Tool,
        "php" | "perl" | "python" | "python2" | "python3" | "ruby" | "node" | "lua" | "java"
        | "gcc" | "awk" | "gawk" | "sed" | "grep" | "base64" => Class::Named,
        "id" | "cat" | "tac" | "dir" | "type" | "echo" | "sleep" | "ping" | "which" | "net"
        | "kill" | "find" | "more" | "less" | "head" | "tail" | "rm" | "cp" | "mv" | "touch"
        | "reg" | "dig" | "host" | "ftp" | "timeout" | "env" | "export" | "printf" | "set"
        | "eval" | "exec" | "exit" | "nl" | "od" | "wc" | "ver" | "whois" | "del" | "copy" => {
            Class::Common
        }
        _ => return None,
    })
}

/// Reads a word at `i`: ASCII letters, digits and `. _ - / + :`, with quotes
/// and backslashes between letters dropped (`c''at`, `c\at`) and `$@`
/// dropped. Returns the lowercase word and the index after it; `None` when
/// there is no word or it is longer than [`MAX_WORD`].
pub(super) fn read(s: &[u8], mut i: usize) -> Option<(String, usize)> {
    let mut w = String::new();
    while let Some(&c) = s.get(i) {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'_' | b'-' | b'/' | b'+' => {
                if w.len() == MAX_WORD {
                    return None;
                }
                w.push(char::from(c.to_ascii_lowercase()));
                i += 1;
            }
            b':' if w.len() == 1 => {
                // A drive letter: `c:\windows\…` is a path, not a word.
                return None;
            }
            // `\n` and `\r` (literal, for a later unescape) end the word.
            b'\\' if matches!(s.get(i + 1), Some(b'n' | b'r')) => break,
            b'\'' | b'"' | b'\\' if !w.is_empty() && s.get(i + 1).is_some_and(is_word_byte) => {
                i += 1;
            }
            b'\'' | b'"' if !w.is_empty() && s.get(i + 1) == Some(&c) => {
                // `c''at`: an empty quoted string inside the word.
                i += 2;
            }
            b'$' if !w.is_empty() && s.get(i + 1) == Some(&b'@') => i += 2,
            _ => break,
        }
    }
    (!w.is_empty()).then_some((w, i))
}

/// Windows `net` and `reg` subcommands that make the word a command
/// (`net user hacker x /add`, `reg add "HKLM\…"`), read at `at`.
pub(super) fn subcommand(name: &str, s: &[u8], at: usize) -> bool {
    let Some((sub, _)) = read(s, at) else {
        return false;
    };
    match name {
        "net" => matches!(
            sub.as_str(),
            "user"
                | "localgroup"
                | "group"
                | "view"
                | "share"
                | "use"
                | "session"
                | "accounts"
                | "stop"
                | "start"
        ),
        "reg" => matches!(
            sub.as_str(),
            "add" | "query" | "delete" | "save" | "export" | "import" | "load"
        ),
        _ => false,
    }
}

fn is_word_byte(b: &u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// The command name of a word: the word itself, without a `.exe` suffix.
/// A word with a `/` is a path and has no name (binary paths are checked
/// apart, by [`is_binary_path`]).
pub(super) fn base_name(word: &str) -> &str {
    let w = word.strip_suffix(".exe").unwrap_or(word);
    if w.contains('/') { "" } else { w }
}

/// Whether a word is a path into a directory of programs (`/bin/sh`,
/// `/usr/bin/id`, `/usr/local/sbin/x`).
pub(super) fn is_binary_path(word: &str) -> bool {
    const DIRS: [&str; 6] = [
        "/bin/",
        "/sbin/",
        "/usr/bin/",
        "/usr/sbin/",
        "/usr/local/bin/",
        "/usr/local/sbin/",
    ];
    DIRS.iter().any(|d| {
        word.strip_prefix(d)
            .is_some_and(|rest| rest.bytes().next().is_some_and(|b| b.is_ascii_alphabetic()))
    })
}
