//! The signature base (RFC 9421 §2.5): the exact bytes a request's signature covers.

use http::request::Parts;

use super::input::Received;
use crate::authn::Failure;

/// The request as received, with what the request head alone does not say.
pub(super) struct View<'a> {
    /// The request head.
    pub(super) parts: &'a Parts,
    /// The Host (or `:authority`) as received.
    pub(super) authority: &'a str,
    /// `http` or `https` (lowercase).
    pub(super) scheme: &'a str,
}

/// Builds the signature base: one line per covered component, then the
/// `@signature-params` line with the parameters exactly as received.
///
/// A covered field the request lacks is `Malformed`.
pub(super) fn build(view: &View<'_>, received: &Received) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::with_capacity(256);
    for name in &received.components {
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\": ");
        if name.starts_with('@') {
            derived(view, name, &mut out)?;
        } else {
            field(view, name, &mut out)?;
        }
        out.push(b'\n');
    }
    out.extend_from_slice(b"\"@signature-params\": ");
    out.extend_from_slice(received.params_text.as_bytes());
    Ok(out)
}

/// A derived component's value (RFC 9421 §2.2).
fn derived(view: &View<'_>, name: &str, out: &mut Vec<u8>) -> Result<(), Failure> {
    let uri = &view.parts.uri;
    let path = if uri.path().is_empty() {
        "/"
    } else {
        uri.path()
    };
    match name {
        "@method" => out.extend_from_slice(view.parts.method.as_str().as_bytes()),
        "@authority" => out.extend_from_slice(authority(view.authority, view.scheme).as_bytes()),
        "@scheme" => out.extend_from_slice(view.scheme.as_bytes()),
        "@path" => out.extend_from_slice(path.as_bytes()),
        "@query" => {
            out.push(b'?');
            out.extend_from_slice(uri.query().unwrap_or_default().as_bytes());
        }
        "@request-target" => match uri.path_and_query() {
            // absolute-form on HTTP/1.x is sent as such (HTTP/2's `:path` never is)
            Some(_) if uri.scheme().is_some() && view.parts.version < http::Version::HTTP_2 => {
                out.extend_from_slice(uri.to_string().as_bytes());
            }
            Some(pq) => out.extend_from_slice(pq.as_str().as_bytes()),
            // authority-form (CONNECT)
            None => out.extend_from_slice(view.authority.as_bytes()),
        },
        "@target-uri" => {
            for part in [view.scheme, "://", view.authority, path] {
                out.extend_from_slice(part.as_bytes());
            }
            if let Some(q) = uri.query() {
                out.push(b'?');
                out.extend_from_slice(q.as_bytes());
            }
        }
        _ => return Err(Failure::Malformed),
    }
    Ok(())
}

/// An HTTP field's value: every field line's value trimmed of surrounding whitespace,
/// joined with `", "` (RFC 9421 §2.1). `http` refuses CR and LF in values, so no
/// obs-fold can reach here.
fn field(view: &View<'_>, name: &str, out: &mut Vec<u8>) -> Result<(), Failure> {
    let mut any = false;
    for value in view.parts.headers.get_all(name) {
        if any {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(value.as_bytes().trim_ascii());
        any = true;
    }
    if any { Ok(()) } else { Err(Failure::Malformed) }
}

/// `@authority`: lowercase, without the scheme's default port.
pub(super) fn authority(raw: &str, scheme: &str) -> String {
    let lower = raw.trim().to_ascii_lowercase();
    let default = match scheme {
        "https" => ":443",
        "http" => ":80",
        _ => return lower,
    };
    match lower.strip_suffix(default) {
        Some(host) if !host.is_empty() => host.to_owned(),
        _ => lower,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(components: &[&str]) -> Received {
        Received {
            components: components.iter().map(|c| (*c).to_owned()).collect(),
            params_text: "()".into(),
            created: None,
            expires: None,
            nonce: None,
            alg: None,
            keyid: None,
            signature: Vec::new(),
        }
    }

    #[test]
    fn request_target_keeps_the_form_it_was_sent_in() {
        let line = |version, uri: &str| {
            let mut parts = http::Request::get(uri)
                .body(())
                .expect("request")
                .into_parts()
                .0;
            parts.version = version;
            let view = View {
                parts: &parts,
                authority: "example.com",
                scheme: "https",
            };
            let base = build(&view, &received(&["@request-target", "@path"])).expect("base");
            String::from_utf8(base).expect("utf-8")
        };
        assert_eq!(
            line(http::Version::HTTP_11, "/a?b=1"),
            "\"@request-target\": /a?b=1\n\"@path\": /a\n\"@signature-params\": ()"
        );
        assert!(
            line(http::Version::HTTP_11, "https://example.com/a?b=1")
                .starts_with("\"@request-target\": https://example.com/a?b=1\n")
        );
        assert!(
            line(http::Version::HTTP_2, "https://example.com/a?b=1")
                .starts_with("\"@request-target\": /a?b=1\n")
        );
    }

    #[test]
    fn authority_is_lowercase_without_default_port() {
        assert_eq!(authority("Example.COM:443", "https"), "example.com");
        assert_eq!(authority("example.com:443", "http"), "example.com:443");
        assert_eq!(authority("example.com:80", "http"), "example.com");
        assert_eq!(authority("[::1]:8443", "https"), "[::1]:8443");
        assert_eq!(authority("example.com", "https"), "example.com");
    }
}
