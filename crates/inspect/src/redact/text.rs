//! US social security numbers, e-mail addresses and secrets (tokens and keys
//! in well-known formats), found with linear-time regular expressions.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use regex::Regex;

static SSN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^\w-])(\d{3})-(\d{2})-(\d{4})(?:$|[^\w-])").expect("static pattern compiles")
});

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}")
        .expect("static pattern compiles")
});

/// Secrets. Where a capture group participates, only it is masked (the
/// `Bearer ` or `api_key=` label stays readable).
static SECRET: LazyLock<Regex> = LazyLock::new(|| {
    let patterns = [
        // JWT: header and payload are base64url JSON (`{"` → `eyJ`).
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
        r"(?i:\bbearer)\s+([A-Za-z0-9._~+/-]{16,}=*)",
        r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b",
        r"\bgh[pousr]_[A-Za-z0-9]{36,}\b",
        r"\bgithub_pat_[A-Za-z0-9_]{22,}\b",
        r"\bxox[baprs]-[A-Za-z0-9-]{10,}",
        r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}\b",
        r"\bAIza[0-9A-Za-z_-]{35}\b",
        r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z]+ )*PRIVATE KEY-----",
        // A value labelled as a key, secret or token: `api_key=…`, `"client_secret": "…"`.
        r#"(?i:\b(?:api[_-]?key|secret[_-]?key|client[_-]?secret|access[_-]?token|auth[_-]?token|private[_-]?key))["']?\s*[:=]\s*["']?([A-Za-z0-9._~+/-]{12,})"#,
    ];
    Regex::new(&patterns.join("|")).expect("static pattern compiles")
});

/// Substrings without which no secret pattern matches (ASCII case-insensitive).
static SECRET_HINTS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build([
            "eyj",
            "bearer",
            "akia",
            "asia",
            "abia",
            "acca",
            "ghp_",
            "gho_",
            "ghu_",
            "ghs_",
            "ghr_",
            "github_pat_",
            "xox",
            "k_live_",
            "k_test_",
            "aiza",
            "private key",
            "key",
            "secret",
            "token",
        ])
        .expect("static patterns build")
});

/// Builds the automata now.
pub(super) fn warm() {
    LazyLock::force(&SSN);
    LazyLock::force(&EMAIL);
    LazyLock::force(&SECRET);
    LazyLock::force(&SECRET_HINTS);
}

/// Valid social security numbers: not area 000, 666 or 9xx, not group 00,
/// not serial 0000.
pub(super) fn ssn(s: &str, out: &mut Vec<(usize, usize)>) {
    let mut at = 0;
    // Matches may share their boundary byte; search again from each end.
    while let Some(c) = SSN.captures_at(s, at) {
        let (Some(a), Some(g), Some(n)) = (c.get(1), c.get(2), c.get(3)) else {
            break;
        };
        let area = a.as_str();
        let valid = area != "000"
            && area != "666"
            && !area.starts_with('9')
            && g.as_str() != "00"
            && n.as_str() != "0000";
        if valid {
            out.push((a.start(), n.end()));
        }
        at = n.end();
    }
}

/// E-mail addresses.
pub(super) fn email(s: &str, out: &mut Vec<(usize, usize)>) {
    if s.contains('@') {
        out.extend(EMAIL.find_iter(s).map(|m| (m.start(), m.end())));
    }
}

/// Tokens and keys.
pub(super) fn secret(s: &str, out: &mut Vec<(usize, usize)>) {
    if !SECRET_HINTS.is_match(s) {
        return;
    }
    for c in SECRET.captures_iter(s) {
        let m = c.iter().skip(1).flatten().next().or_else(|| c.get(0));
        if let Some(m) = m {
            out.push((m.start(), m.end()));
        }
    }
}
