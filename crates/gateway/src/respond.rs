//! The way back: upstream responses cleaned, errors withheld, security headers added.

pub mod owner;
pub mod protect;

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Response, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use crate::body::{self, Body};
use crate::config::SecurityHeaders;
use crate::forward::remove_hop_by_hop;
use crate::problem::Reject;

/// How much of a withheld 5xx body is read to hash it, and for how long.
const ERROR_BODY_HASH_LIMIT: usize = 64 * 1024;
const ERROR_BODY_HASH_TIME: Duration = Duration::from_secs(2);

/// Cleans an upstream response; a 5xx becomes a generic problem when `replace_errors`.
pub async fn upstream(
    resp: Response<Incoming>,
    replace_errors: bool,
) -> Result<Response<Body>, Reject> {
    let (mut parts, incoming) = resp.into_parts();
    if parts.status.is_server_error() && replace_errors {
        let body_sha256 = hash_prefix(incoming).await;
        return Err(Reject::UpstreamError {
            status: parts.status.as_u16(),
            body_sha256,
        });
    }
    remove_hop_by_hop(&mut parts.headers);
    Ok(Response::from_parts(parts, body::boxed(incoming)))
}

/// SHA-256 of the first 64 KiB of a body (bounded in size and time).
async fn hash_prefix(mut b: Incoming) -> String {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut seen = 0usize;
    let read = async {
        while let Some(Ok(frame)) = b.frame().await {
            if let Some(d) = frame.data_ref() {
                let take = d.len().min(ERROR_BODY_HASH_LIMIT - seen);
                ctx.update(&d[..take]);
                seen += take;
                if seen >= ERROR_BODY_HASH_LIMIT {
                    break;
                }
            }
        }
    };
    let _ = tokio::time::timeout(ERROR_BODY_HASH_TIME, read).await;
    crate::hex(ctx.finish().as_ref())
}

const LEAKY: [HeaderName; 3] = [
    HeaderName::from_static("x-powered-by"),
    HeaderName::from_static("x-aspnet-version"),
    HeaderName::from_static("x-aspnetmvc-version"),
];

/// Headers every response gets: the request id, a `Server` without versions, and the
/// configured security headers (never overriding what the upstream set, except `Server`).
pub fn finish(headers: &mut HeaderMap, sec: &SecurityHeaders, tls: bool, request_id: &str) {
    headers.insert(header::SERVER, HeaderValue::from_static("portcullis"));
    for h in &LEAKY {
        headers.remove(h);
    }
    if let Ok(v) = HeaderValue::try_from(request_id) {
        headers.insert(crate::client::X_REQUEST_ID.clone(), v);
    }
    if !sec.enabled {
        return;
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers
        .entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    if tls && let Ok(v) = HeaderValue::try_from(sec.hsts.as_str()) {
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(v);
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| is_json_type(v.as_bytes()));
    if json && let Ok(v) = HeaderValue::try_from(sec.json_csp.as_str()) {
        headers.entry(header::CONTENT_SECURITY_POLICY).or_insert(v);
    }
    for (n, v) in &sec.custom {
        headers.entry(n.clone()).or_insert(v.clone());
    }
}

/// Whether a `Content-Type` value is JSON: `application/json` or a `+json`
/// suffix (parameters ignored, case-insensitive).
pub(crate) fn is_json_type(content_type: &[u8]) -> bool {
    let essence = content_type
        .split(|&b| b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    essence.eq_ignore_ascii_case(b"application/json")
        || (essence.len() > 5 && essence[essence.len() - 5..].eq_ignore_ascii_case(b"+json"))
}

/// No `Content-Encoding`, or only `identity` (every value, every list element).
pub(crate) fn identity_encoded(headers: &HeaderMap) -> bool {
    headers.get_all(header::CONTENT_ENCODING).iter().all(|v| {
        v.as_bytes()
            .split(|&b| b == b',')
            .map(<[u8]>::trim_ascii)
            .all(|coding| coding.is_empty() || coding.eq_ignore_ascii_case(b"identity"))
    })
}

/// The `Content-Length`, when it parses.
pub(crate) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}
