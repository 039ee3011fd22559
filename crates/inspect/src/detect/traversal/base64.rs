//! Base64 decoding of a whole value, for payloads an application decodes
//! before using them as a path (`include(base64_decode($_GET['f']))`).

/// Longer values are not decoded (bounded work; paths are short).
const MAX_LEN: usize = 4096;

/// The text a value decodes to, when the value is wholly standard or
/// URL-safe base64 (at least 8 characters, padding optional) and decodes to
/// printable ASCII; else `None`.
pub(super) fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 8 || b.len() > MAX_LEN {
        return None;
    }
    let body = s.trim_end_matches('=');
    if b.len() - body.len() > 2 || body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in body.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = acc << 6 | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            let byte = (acc >> bits) as u8;
            if !(byte.is_ascii_graphic() || byte == b' ') {
                return None;
            }
            out.push(byte);
            acc &= (1 << bits) - 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::{MAX_LEN, decode};

    #[test]
    fn decodes_printable_base64_only() {
        assert_eq!(
            decode("Li4vLi4vZXRjL3Bhc3N3ZA==").as_deref(),
            Some("../../etc/passwd")
        );
        assert_eq!(decode("L2V0Yy9wYXNzd2Q").as_deref(), Some("/etc/passwd"));
        assert_eq!(decode("abcdefgh"), None, "decodes to binary");
        assert_eq!(decode("short"), None);
        assert_eq!(decode("not base64!"), None);
        assert_eq!(decode(&"A".repeat(MAX_LEN + 4)), None);
    }
}
