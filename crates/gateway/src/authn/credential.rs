//! Taking credentials out of a request: where each scheme type says they are,
//! and nowhere else (no bearer tokens from query strings, which end up in logs).

use http::HeaderMap;
use http::request::Parts;
use portcullis_openapi::ApiKeyLocation;

use crate::authn::{Credential, Failure};

/// The token of the single `Authorization: Bearer <token>` header.
///
/// On the hot path of every bearer request: one pass over the bytes.
pub fn bearer(headers: &HeaderMap) -> Result<&str, Failure> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(Failure::Missing);
    };
    if values.next().is_some() {
        return Err(Failure::Malformed);
    }
    let bytes = value.as_bytes();
    let Some(space) = bytes.iter().position(|b| *b == b' ') else {
        return Err(if bytes.eq_ignore_ascii_case(b"bearer") {
            Failure::Malformed
        } else {
            Failure::Missing
        });
    };
    if !bytes[..space].eq_ignore_ascii_case(b"bearer") {
        // Another scheme (Basic, …) is not a bearer credential.
        return Err(Failure::Missing);
    }
    let token = bytes[space..].trim_ascii_start();
    // RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    let body_len = token.len() - token.iter().rev().take_while(|b| **b == b'=').count();
    // No early exit, so the scan runs in vector-width steps (tokens are long).
    let bad = token[..body_len].iter().fold(false, |bad, &b| {
        bad | !(b.is_ascii_alphanumeric()
            | (b == b'-')
            | (b == b'.')
            | (b == b'_')
            | (b == b'~')
            | (b == b'+')
            | (b == b'/'))
    });
    if body_len == 0 || bad {
        return Err(Failure::Malformed);
    }
    // Only ASCII was let through.
    std::str::from_utf8(token).map_err(|_| Failure::Malformed)
}

/// The API key from a header, query parameter or cookie (exactly one).
pub fn api_key(parts: &Parts, name: &str, location: ApiKeyLocation) -> Result<String, Failure> {
    let mut found: Vec<String> = Vec::new();
    match location {
        ApiKeyLocation::Header => {
            for v in parts.headers.get_all(name) {
                found.push(v.to_str().map_err(|_| Failure::Malformed)?.to_owned());
            }
        }
        ApiKeyLocation::Query => {
            for pair in parts.uri.query().unwrap_or("").split('&') {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                if decode(k)? == name {
                    found.push(decode(v)?);
                }
            }
        }
        ApiKeyLocation::Cookie => {
            for header in parts.headers.get_all(http::header::COOKIE) {
                let text = header.to_str().map_err(|_| Failure::Malformed)?;
                for pair in text.split(';') {
                    if let Some((k, v)) = pair.trim().split_once('=')
                        && k == name
                    {
                        found.push(v.trim_matches('"').to_owned());
                    }
                }
            }
        }
    }
    match found.len() {
        0 => Err(Failure::Missing),
        1 if !found[0].is_empty() => Ok(found.swap_remove(0)),
        _ => Err(Failure::Malformed),
    }
}

/// Removes a verified credential from what is forwarded: the upstream learns
/// who called from the gateway, and a key or token it never sees cannot leak
/// from its logs. Signatures and certificates stay (they are not reusable secrets
/// the upstream could leak, and signatures cover headers the upstream may check).
pub fn hide(parts: &mut Parts, credential: &Credential) {
    match credential {
        Credential::Bearer => {
            parts.headers.remove(http::header::AUTHORIZATION);
        }
        Credential::ApiKey { name, location } => match location {
            ApiKeyLocation::Header => {
                parts.headers.remove(name.as_str());
            }
            ApiKeyLocation::Query => {
                let Some(query) = parts.uri.query() else {
                    return;
                };
                let kept: Vec<&str> = query
                    .split('&')
                    .filter(|pair| {
                        let k = pair.split_once('=').map_or(*pair, |(k, _)| k);
                        decode(k).map_or(true, |k| k != *name)
                    })
                    .collect();
                let path = parts.uri.path();
                let pq = if kept.is_empty() {
                    path.to_owned()
                } else {
                    format!("{path}?{}", kept.join("&"))
                };
                let mut uri = http::uri::Parts::from(parts.uri.clone());
                if let Ok(pq) = http::uri::PathAndQuery::try_from(pq) {
                    uri.path_and_query = Some(pq);
                    if let Ok(u) = http::Uri::from_parts(uri) {
                        parts.uri = u;
                    }
                }
            }
            ApiKeyLocation::Cookie => {
                let mut kept = Vec::new();
                for header in parts.headers.get_all(http::header::COOKIE) {
                    let Ok(text) = header.to_str() else { continue };
                    kept.extend(
                        text.split(';')
                            .map(str::trim)
                            .filter(|pair| pair.split_once('=').is_none_or(|(k, _)| k != name))
                            .map(str::to_owned),
                    );
                }
                parts.headers.remove(http::header::COOKIE);
                if !kept.is_empty()
                    && let Ok(v) = http::HeaderValue::try_from(kept.join("; "))
                {
                    parts.headers.insert(http::header::COOKIE, v);
                }
            }
        },
        Credential::ClientCertificate | Credential::Signature => {}
    }
}

/// The request's authority: `:authority` / the URI's, else the single `Host`.
pub fn authority(parts: &Parts) -> Option<String> {
    if let Some(a) = parts.uri.authority() {
        return Some(a.as_str().to_ascii_lowercase());
    }
    let host = parts.headers.get(http::header::HOST)?.to_str().ok()?;
    Some(host.to_ascii_lowercase())
}

/// Percent-decodes a query component (`+` is a space), refusing bad escapes.
fn decode(s: &str) -> Result<String, Failure> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or(Failure::Malformed)?;
                let hex = std::str::from_utf8(hex).map_err(|_| Failure::Malformed)?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| Failure::Malformed)?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| Failure::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = http::Request::get(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn bearer_tokens_come_only_from_one_authorization_header() {
        let p = parts("/", &[("authorization", "Bearer abc.def-_~+/==")]);
        assert_eq!(bearer(&p.headers), Ok("abc.def-_~+/=="));
        let p = parts("/", &[("authorization", "bearer  abc")]);
        assert_eq!(bearer(&p.headers), Ok("abc"));
        assert_eq!(
            bearer(&parts("/?access_token=x", &[]).headers),
            Err(Failure::Missing)
        );
        assert_eq!(
            bearer(&parts("/", &[("authorization", "Basic dTpw")]).headers),
            Err(Failure::Missing)
        );
        assert_eq!(
            bearer(&parts("/", &[("authorization", "Bearer")]).headers),
            Err(Failure::Malformed)
        );
        assert_eq!(
            bearer(&parts("/", &[("authorization", "Bearer a b")]).headers),
            Err(Failure::Malformed)
        );
        let two = parts(
            "/",
            &[("authorization", "Bearer a"), ("authorization", "Bearer b")],
        );
        assert_eq!(bearer(&two.headers), Err(Failure::Malformed));
    }

    #[test]
    fn hidden_credentials_leave_the_rest_of_the_request_alone() {
        let mut p = parts(
            "/a?x=1&key=k&y=2",
            &[
                ("authorization", "Bearer t"),
                ("x-api-key", "h"),
                ("cookie", "s=1; key=c; t=2"),
            ],
        );
        hide(&mut p, &Credential::Bearer);
        hide(
            &mut p,
            &Credential::ApiKey {
                name: "x-api-key".into(),
                location: ApiKeyLocation::Header,
            },
        );
        hide(
            &mut p,
            &Credential::ApiKey {
                name: "key".into(),
                location: ApiKeyLocation::Query,
            },
        );
        hide(
            &mut p,
            &Credential::ApiKey {
                name: "key".into(),
                location: ApiKeyLocation::Cookie,
            },
        );
        assert!(!p.headers.contains_key("authorization") && !p.headers.contains_key("x-api-key"));
        assert_eq!(p.uri, "/a?x=1&y=2");
        assert_eq!(p.headers["cookie"], "s=1; t=2");
        let mut only = parts("/a?key=k", &[("cookie", "key=c")]);
        hide(
            &mut only,
            &Credential::ApiKey {
                name: "key".into(),
                location: ApiKeyLocation::Query,
            },
        );
        hide(
            &mut only,
            &Credential::ApiKey {
                name: "key".into(),
                location: ApiKeyLocation::Cookie,
            },
        );
        assert_eq!(only.uri, "/a");
        assert!(!only.headers.contains_key("cookie"));
    }

    #[test]
    fn api_keys_from_header_query_and_cookie_exactly_once() {
        let p = parts(
            "/?a=1&key=k%2B1&b",
            &[("x-api-key", "h1"), ("cookie", "s=1; key=c1")],
        );
        assert_eq!(
            api_key(&p, "x-api-key", ApiKeyLocation::Header).as_deref(),
            Ok("h1")
        );
        assert_eq!(
            api_key(&p, "key", ApiKeyLocation::Query).as_deref(),
            Ok("k+1")
        );
        assert_eq!(
            api_key(&p, "key", ApiKeyLocation::Cookie).as_deref(),
            Ok("c1")
        );
        assert_eq!(
            api_key(&p, "nope", ApiKeyLocation::Query),
            Err(Failure::Missing)
        );
        let dup = parts("/?key=a&key=b", &[]);
        assert_eq!(
            api_key(&dup, "key", ApiKeyLocation::Query),
            Err(Failure::Malformed)
        );
        let bad = parts("/?key=%zz", &[]);
        assert_eq!(
            api_key(&bad, "key", ApiKeyLocation::Query),
            Err(Failure::Malformed)
        );
    }
}
