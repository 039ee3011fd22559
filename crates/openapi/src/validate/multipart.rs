//! A bounded `multipart/form-data` reader (RFC 7578): at most
//! `max_parts` parts, at most [`MAX_PART_HEADERS`] bytes of headers per
//! part, no nested multipart. Linear in the body: each delimiter search
//! scans forward from where the previous one ended.

/// The most header bytes of one part.
pub(crate) const MAX_PART_HEADERS: usize = 8 * 1024;

/// One part of a multipart body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Part<'a> {
    /// The `name` of its `Content-Disposition`.
    pub(crate) name: String,
    /// Its `filename`, when it is a file.
    pub(crate) filename: Option<String>,
    /// Its `Content-Type` essence, lowercase.
    pub(crate) content_type: Option<String>,
    pub(crate) data: &'a [u8],
}

/// The `boundary` parameter of a `Content-Type` value.
pub(crate) fn boundary(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        (!value.is_empty() && value.len() <= 70).then_some(value)
    })
}

/// Splits `body` into parts; the reason when it is malformed or too big.
pub(crate) fn parse<'a>(
    body: &'a [u8],
    boundary: &str,
    max_parts: usize,
) -> Result<Vec<Part<'a>>, &'static str> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    // The first delimiter: at the start or after a preamble line.
    let mut at = if body.starts_with(delimiter) {
        delimiter.len()
    } else {
        let crlf_delimiter = [b"\r\n".as_slice(), delimiter].concat();
        find(body, &crlf_delimiter, 0).ok_or(MALFORMED)? + crlf_delimiter.len()
    };
    let closing = [b"\r\n".as_slice(), delimiter].concat();
    let mut parts = Vec::new();
    loop {
        let rest = &body[at..];
        if rest.starts_with(b"--") {
            return Ok(parts); // The close delimiter; the epilogue is ignored.
        }
        // Transport padding, then CRLF.
        let line_end = find(body, b"\r\n", at).ok_or(MALFORMED)?;
        if body[at..line_end]
            .iter()
            .any(|b| !matches!(b, b' ' | b'\t'))
        {
            return Err(MALFORMED);
        }
        let headers_start = line_end + 2;
        let headers_end = match find(
            &body[..body.len().min(headers_start + MAX_PART_HEADERS + 4)],
            b"\r\n\r\n",
            headers_start.saturating_sub(2),
        ) {
            Some(i) => i,
            None => return Err("has a part whose headers are too long or unterminated"),
        };
        if parts.len() >= max_parts {
            return Err("has too many parts");
        }
        let headers =
            std::str::from_utf8(&body[headers_start.min(headers_end + 2)..headers_end + 2])
                .map_err(|_| MALFORMED)?;
        let data_start = headers_end + 4;
        let data_end = find(body, &closing, data_start).ok_or(MALFORMED)?;
        parts.push(part(headers, &body[data_start..data_end])?);
        at = data_end + closing.len();
    }
}

const MALFORMED: &str = "is not a well-formed multipart body";

fn part<'a>(headers: &str, data: &'a [u8]) -> Result<Part<'a>, &'static str> {
    let mut name = None;
    let mut filename = None;
    let mut content_type = None;
    for line in headers.split("\r\n").filter(|l| !l.is_empty()) {
        let (key, value) = line.split_once(':').ok_or(MALFORMED)?;
        let key = key.trim();
        if key.eq_ignore_ascii_case("content-disposition") {
            let mut params = value.split(';');
            if !params
                .next()
                .is_some_and(|d| d.trim().eq_ignore_ascii_case("form-data"))
            {
                return Err("has a part that is not form-data");
            }
            for param in params {
                let Some((k, v)) = param.split_once('=') else {
                    continue;
                };
                let v = v.trim();
                let v = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(v);
                match k.trim().to_ascii_lowercase().as_str() {
                    "name" => name = Some(v.to_owned()),
                    "filename" => filename = Some(v.to_owned()),
                    _ => {}
                }
            }
        } else if key.eq_ignore_ascii_case("content-type") {
            let essence = value
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            if essence.starts_with("multipart/") {
                return Err("has a nested multipart part");
            }
            content_type = Some(essence);
        }
    }
    Ok(Part {
        name: name.ok_or("has a part without a name")?,
        filename,
        content_type,
        data,
    })
}

/// The first index `>= from` where `needle` starts in `haystack`.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut i = from;
    while i + needle.len() <= haystack.len() {
        let offset = haystack[i..haystack.len() - needle.len() + 1]
            .iter()
            .position(|b| *b == first)?;
        i += offset;
        if haystack[i..].starts_with(needle) {
            return Some(i);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_parts() {
        let body = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n--XyZ\r\n\
Content-Disposition: form-data; name=\"f\"; filename=\"x.bin\"\r\nContent-Type: Application/Octet-Stream\r\n\r\n\x00\x01\r\n--XyZ--\r\n";
        let parts = parse(body, "XyZ", 10);
        assert_eq!(
            parts,
            Ok(vec![
                Part {
                    name: "a".into(),
                    filename: None,
                    content_type: None,
                    data: b"hello"
                },
                Part {
                    name: "f".into(),
                    filename: Some("x.bin".into()),
                    content_type: Some("application/octet-stream".into()),
                    data: b"\x00\x01"
                },
            ])
        );
        assert_eq!(
            boundary("multipart/form-data; boundary=\"XyZ\""),
            Some("XyZ")
        );
        assert_eq!(boundary("multipart/form-data"), None);
    }

    #[test]
    fn refuses_too_many_nested_and_malformed() {
        let one = "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n";
        let body = format!("{}--b--", one.repeat(3));
        assert_eq!(parse(body.as_bytes(), "b", 2), Err("has too many parts"));
        assert_eq!(parse(body.as_bytes(), "b", 3).map(|p| p.len()), Ok(3));
        let nested = "--b\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n1\r\n--b--";
        assert_eq!(
            parse(nested.as_bytes(), "b", 5),
            Err("has a nested multipart part")
        );
        assert_eq!(
            parse(
                b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end",
                "b",
                5
            ),
            Err(MALFORMED)
        );
        let long = format!(
            "--b\r\nX: {}\r\n\r\n1\r\n--b--",
            "a".repeat(MAX_PART_HEADERS + 10)
        );
        assert!(parse(long.as_bytes(), "b", 5).is_err());
    }
}
