//! Decoding `application/x-www-form-urlencoded` text: form bodies and query strings.

/// The `name=value` pairs of a form or query string, percent-decoded (`+` is a
/// space); invalid escapes are kept as they are and invalid UTF-8 is replaced.
pub(crate) fn pairs(text: &str) -> impl Iterator<Item = (String, String)> + '_ {
    text.split('&').filter(|pair| !pair.is_empty()).map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(name), decode(value))
    })
}

/// The first value of `name` in a form or query string, decoded.
pub(crate) fn value(text: Option<&str>, name: &str) -> Option<String> {
    pairs(text?).find(|(n, _)| n == name).map(|(_, v)| v)
}

/// Percent-decodes one component, `+` as a space.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = (b == b'%')
            .then(|| Some((hex(*bytes.get(i + 1)?)?, hex(*bytes.get(i + 2)?)?)))
            .flatten();
        match (b, escaped) {
            (_, Some((high, low))) => {
                out.push(high << 4 | low);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (other, None) => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_and_plus() {
        assert_eq!(decode("a+b%20c%2Fd"), "a b c/d");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(decode("caf%C3%A9"), "café");
    }

    #[test]
    fn finds_values_by_whole_name() {
        let form = Some("subject=Hi+there&message=a%26b&flag");
        assert_eq!(value(form, "subject").as_deref(), Some("Hi there"));
        assert_eq!(value(form, "message").as_deref(), Some("a&b"));
        assert_eq!(value(form, "flag").as_deref(), Some(""));
        assert_eq!(value(form, "subj"), None);
        assert_eq!(value(None, "subject"), None);
    }
}
