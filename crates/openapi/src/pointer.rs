//! JSON pointer tokens (RFC 6901): `~` and `/` escaped as `~0` and `~1`.

/// Escapes one JSON pointer token (`/` → `~1`, `~` → `~0`).
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Unescapes one JSON pointer token (`~1` → `/`, `~0` → `~`); `None` for a
/// `~` followed by anything else.
pub fn unescape(token: &str) -> Option<String> {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        if c != '~' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('0') => out.push('~'),
            Some('1') => out.push('/'),
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        for t in ["a", "a/b", "~", "~1/~0", ""] {
            assert_eq!(unescape(&escape(t)).as_deref(), Some(t));
        }
        assert_eq!(unescape("a~2"), None);
        assert_eq!(unescape("a~"), None);
    }
}
