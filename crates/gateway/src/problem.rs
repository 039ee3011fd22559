//! The one error boundary: every rejection becomes an RFC 9457 problem document here.
//!
//! A `Reject` carries the full reason (for the audit log); the client sees only the
//! generic `title`/`detail` of its kind, a stable `type` URI and the request id.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};

use crate::body::{self, Body};

/// Why the gateway refused or could not complete a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reject {
    /// The request is not well-formed (bad encoding, bad path, bad header value).
    Malformed(&'static str),
    /// The request could be read two ways (request smuggling).
    Ambiguous(&'static str),
    /// No documented operation has this path.
    NotFound,
    /// The path is documented, the method is not.
    MethodNotAllowed {
        /// The documented methods, for the `Allow` header.
        allow: String,
    },
    /// No alternative of the operation's `security` was satisfied.
    Unauthenticated {
        /// The scheme whose failure decided (the most telling one).
        scheme: std::sync::Arc<str>,
        /// Why its credential was not accepted.
        failure: crate::authn::Failure,
        /// `WWW-Authenticate` challenges, one per scheme the operation accepts.
        challenges: Vec<HeaderValue>,
    },
    /// A valid credential without the scopes the operation requires.
    InsufficientScope {
        /// The scheme.
        scheme: std::sync::Arc<str>,
        /// The required scopes, space-separated.
        scope: String,
        /// The `WWW-Authenticate` challenge (`error="insufficient_scope"`).
        challenge: Option<HeaderValue>,
    },
    /// The credential cannot be checked now (no key set yet, introspection down).
    AuthUnavailable {
        /// The identity provider.
        provider: std::sync::Arc<str>,
        /// What is unavailable.
        failure: crate::authn::Failure,
    },
    /// Refused by policy (the reason is for the audit log).
    Forbidden(&'static str),
    /// Denied by the API's authorization policies.
    Denied {
        /// The policies that determined it (empty: no permit matched).
        policies: Vec<std::sync::Arc<str>>,
    },
    /// The upstream's response belongs to someone else (response ownership check).
    NotOwner,
    /// The upstream's response could not be checked (too large, not JSON,
    /// compressed): withheld, failing closed.
    ResponseUnverifiable(&'static str),
    /// The request breaks the API's contract (its spec): every violation,
    /// as a JSON pointer and a reason that never quotes the value.
    Invalid {
        /// The violations, in order.
        violations: Vec<portcullis_openapi::validate::Violation>,
    },
    /// The body's media type is not one the operation accepts.
    UnsupportedMediaType {
        /// What the operation accepts.
        accepted: Vec<String>,
    },
    /// An injection detector fired on a request value.
    Injection {
        /// The detector's name (`sqli`, `xss` …).
        detector: &'static str,
        /// Where the value was: `/query/q`, `/body/items/0/name` … (never the value).
        location: String,
    },
    /// The upstream's response breaks a response rule (a content type the
    /// spec contradicts, a body over the size limit): withheld.
    ResponseRefused(&'static str),
    /// A CORS preflight from an origin, method or header that is not allowed.
    CorsRefused(&'static str),
    /// Over a rate limit or quota; `Retry-After` says when to come back. Not
    /// charged to any limit.
    RateLimited {
        /// The limit or quota (its name from config).
        limit: std::sync::Arc<str>,
        /// Seconds until a retry could be admitted (at least 1).
        retry_after: u64,
        /// A calendar quota (not a rate) was exhausted.
        quota: bool,
    },
    /// A `fail_closed` limit could not be checked (its shared store is down).
    LimitUnavailable {
        /// The limit.
        limit: std::sync::Arc<str>,
    },
    /// Too many requests from this address before authentication (flood guard).
    Flooded {
        /// Seconds until the address's window frees up.
        retry_after: u64,
    },
    /// A concurrency limit is full and its queue too (or the wait ran out).
    Busy {
        /// The limit (`upstream:<name>` or the API's consumer limit).
        limit: std::sync::Arc<str>,
        /// Whether the request waited in the queue first.
        waited: bool,
        /// A consumer's own limit (429) rather than an upstream's (503).
        consumer: bool,
    },
    /// A login attempt refused or failed: one uniform answer whether the user
    /// exists, the password was wrong, or the account or address is locked.
    LoginFailed {
        /// Why, for the audit log only (`failed`, `locked-user`, `locked-ip`).
        reason: &'static str,
    },
    /// The submitted password is in the configured breached-password list.
    PasswordBreached,
    /// The request head did not arrive in time.
    RequestTimeout,
    /// The body is larger than allowed.
    PayloadTooLarge,
    /// The request-target is longer than allowed.
    UriTooLong,
    /// The header section is larger than allowed (bytes or count).
    HeadersTooLarge,
    /// The gateway is at its connection limit.
    Overloaded,
    /// No upstream target could be reached.
    UpstreamUnavailable {
        /// Upstream group.
        upstream: String,
        /// What failed (connect error, reset, ...), for the audit log.
        cause: String,
    },
    /// The upstream did not answer in time.
    UpstreamTimeout {
        /// Upstream group.
        upstream: String,
    },
    /// The upstream answered 5xx; its body was withheld.
    UpstreamError {
        /// The upstream's status, kept.
        status: u16,
        /// SHA-256 of the withheld body (hex), for correlating with upstream logs.
        body_sha256: String,
    },
}

/// Base of every problem `type` URI; the kind's slug follows.
pub const TYPE_BASE: &str = "urn:portcullis:problem:";

impl Reject {
    /// HTTP status of this rejection.
    pub fn status(&self) -> StatusCode {
        match self {
            Reject::Malformed(_) | Reject::Ambiguous(_) | Reject::Invalid { .. } => {
                StatusCode::BAD_REQUEST
            }
            Reject::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Reject::Injection { .. } | Reject::CorsRefused(_) => StatusCode::FORBIDDEN,
            Reject::ResponseRefused(_) => StatusCode::BAD_GATEWAY,
            Reject::NotFound => StatusCode::NOT_FOUND,
            Reject::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Reject::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            Reject::InsufficientScope { .. }
            | Reject::Forbidden(_)
            | Reject::Denied { .. }
            | Reject::NotOwner => StatusCode::FORBIDDEN,
            Reject::ResponseUnverifiable(_) => StatusCode::BAD_GATEWAY,
            Reject::AuthUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Reject::RateLimited { .. } | Reject::Flooded { .. } => StatusCode::TOO_MANY_REQUESTS,
            Reject::Busy { consumer: true, .. } => StatusCode::TOO_MANY_REQUESTS,
            Reject::Busy { .. } | Reject::LimitUnavailable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Reject::LoginFailed { .. } => StatusCode::UNAUTHORIZED,
            Reject::PasswordBreached => StatusCode::BAD_REQUEST,
            Reject::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Reject::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Reject::UriTooLong => StatusCode::URI_TOO_LONG,
            Reject::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Reject::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            Reject::UpstreamUnavailable { .. } => StatusCode::BAD_GATEWAY,
            Reject::UpstreamTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            Reject::UpstreamError { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY)
            }
        }
    }

    /// Stable slug: the last part of the `type` URI and the audit `reason` prefix.
    pub fn kind(&self) -> &'static str {
        match self {
            Reject::Malformed(_) => "malformed-request",
            Reject::Ambiguous(_) => "ambiguous-request",
            Reject::NotFound => "not-found",
            Reject::MethodNotAllowed { .. } => "method-not-allowed",
            Reject::Unauthenticated { .. } => "unauthenticated",
            Reject::InsufficientScope { .. } => "insufficient-scope",
            Reject::AuthUnavailable { .. } => "authentication-unavailable",
            Reject::Forbidden(_) | Reject::Denied { .. } | Reject::NotOwner => "forbidden",
            Reject::ResponseUnverifiable(_) => "response-unverifiable",
            Reject::Invalid { .. } => "invalid-request",
            Reject::UnsupportedMediaType { .. } => "unsupported-media-type",
            Reject::Injection { .. } => "request-blocked",
            Reject::ResponseRefused(_) => "response-refused",
            Reject::CorsRefused(_) => "cors-refused",
            Reject::RateLimited { quota: false, .. } => "rate-limited",
            Reject::RateLimited { quota: true, .. } => "quota-exceeded",
            Reject::LimitUnavailable { .. } => "limit-unavailable",
            Reject::Flooded { .. } => "too-many-requests",
            Reject::Busy { .. } => "busy",
            Reject::LoginFailed { .. } => "login-failed",
            Reject::PasswordBreached => "password-breached",
            Reject::RequestTimeout => "request-timeout",
            Reject::PayloadTooLarge => "payload-too-large",
            Reject::UriTooLong => "uri-too-long",
            Reject::HeadersTooLarge => "header-fields-too-large",
            Reject::Overloaded => "overloaded",
            Reject::UpstreamUnavailable { .. } => "upstream-unavailable",
            Reject::UpstreamTimeout { .. } => "upstream-timeout",
            Reject::UpstreamError { .. } => "upstream-error",
        }
    }

    /// The generic title and detail shown to the client (never request data).
    fn text(&self) -> (&'static str, &'static str) {
        match self {
            Reject::Malformed(_) => ("Malformed request", "The request is not well-formed."),
            Reject::Ambiguous(_) => (
                "Ambiguous request",
                "The request framing or headers are ambiguous and were refused.",
            ),
            Reject::NotFound => (
                "Not found",
                "No operation of this API matches the request path.",
            ),
            Reject::MethodNotAllowed { .. } => (
                "Method not allowed",
                "The operation does not support this method.",
            ),
            Reject::Unauthenticated { .. } => (
                "Authentication required",
                "This operation requires valid credentials.",
            ),
            Reject::InsufficientScope { .. } => (
                "Insufficient scope",
                "The credentials do not grant the scopes this operation requires.",
            ),
            Reject::AuthUnavailable { .. } => (
                "Service unavailable",
                "Credentials cannot be verified right now; retry later.",
            ),
            Reject::Forbidden(_) | Reject::Denied { .. } | Reject::NotOwner => {
                ("Forbidden", "This request is not allowed.")
            }
            Reject::ResponseUnverifiable(_) => (
                "Bad gateway",
                "The response of the service behind the gateway could not be checked.",
            ),
            Reject::Invalid { .. } => (
                "Invalid request",
                "The request does not match the API's contract; see `errors`.",
            ),
            Reject::UnsupportedMediaType { .. } => (
                "Unsupported media type",
                "The operation does not accept a body of this media type.",
            ),
            Reject::Injection { .. } => (
                "Request blocked",
                "The request contains content that is not allowed.",
            ),
            Reject::ResponseRefused(_) => (
                "Bad gateway",
                "The response of the service behind the gateway was withheld.",
            ),
            Reject::CorsRefused(_) => ("Forbidden", "This cross-origin request is not allowed."),
            Reject::RateLimited { quota: false, .. } | Reject::Flooded { .. } => (
                "Too many requests",
                "The request rate limit was exceeded; retry after the time in Retry-After.",
            ),
            Reject::RateLimited { quota: true, .. } => (
                "Quota exceeded",
                "The request quota for this period is used up; it resets at the time in Retry-After.",
            ),
            Reject::LimitUnavailable { .. } => (
                "Service unavailable",
                "The request could not be admitted now; retry later.",
            ),
            Reject::Busy { .. } => (
                "Too busy",
                "Too many requests are in progress; retry later.",
            ),
            Reject::LoginFailed { .. } => ("Login failed", "The credentials were not accepted."),
            Reject::PasswordBreached => (
                "Breached password",
                "This password appears in a known data breach; choose another one.",
            ),
            Reject::RequestTimeout => ("Request timeout", "The request was not received in time."),
            Reject::PayloadTooLarge => (
                "Payload too large",
                "The request body exceeds the allowed size.",
            ),
            Reject::UriTooLong => (
                "URI too long",
                "The request URI exceeds the allowed length.",
            ),
            Reject::HeadersTooLarge => (
                "Request header fields too large",
                "The request headers exceed the allowed size or count.",
            ),
            Reject::Overloaded => (
                "Service unavailable",
                "The gateway is at capacity; retry later.",
            ),
            Reject::UpstreamUnavailable { .. } => (
                "Bad gateway",
                "The service behind the gateway could not be reached.",
            ),
            Reject::UpstreamTimeout { .. } => (
                "Gateway timeout",
                "The service behind the gateway did not answer in time.",
            ),
            Reject::UpstreamError { .. } => (
                "Upstream error",
                "The service behind the gateway failed to process the request.",
            ),
        }
    }

    /// The full reason, for the audit log only.
    pub fn reason(&self) -> String {
        match self {
            Reject::Malformed(why) | Reject::Ambiguous(why) => format!("{}: {why}", self.kind()),
            Reject::UpstreamUnavailable { upstream, cause } => {
                format!("{}: {upstream}: {cause}", self.kind())
            }
            Reject::UpstreamTimeout { upstream } => format!("{}: {upstream}", self.kind()),
            Reject::Unauthenticated {
                scheme, failure, ..
            } => format!("{}: {scheme}: {failure}", self.kind()),
            Reject::InsufficientScope { scheme, scope, .. } => {
                format!("{}: {scheme}: needs `{scope}`", self.kind())
            }
            Reject::AuthUnavailable { provider, failure } => {
                format!("{}: {provider}: {failure}", self.kind())
            }
            Reject::Forbidden(why)
            | Reject::ResponseUnverifiable(why)
            | Reject::ResponseRefused(why)
            | Reject::CorsRefused(why) => {
                format!("{}: {why}", self.kind())
            }
            Reject::Invalid { violations } => {
                let list: Vec<String> = violations
                    .iter()
                    .map(|v| format!("{} {}", v.pointer, v.reason))
                    .collect();
                format!("{}: {}", self.kind(), list.join("; "))
            }
            Reject::UnsupportedMediaType { accepted } => {
                format!("{}: accepts {}", self.kind(), accepted.join(", "))
            }
            Reject::Injection { detector, location } => {
                format!("{}: {detector} at {location}", self.kind())
            }
            Reject::Denied { policies } if policies.is_empty() => {
                format!("{}: no policy permits it", self.kind())
            }
            Reject::Denied { policies } => {
                let ids: Vec<&str> = policies.iter().map(|p| &**p).collect();
                format!("{}: denied by {}", self.kind(), ids.join(", "))
            }
            Reject::NotOwner => format!("{}: the response belongs to someone else", self.kind()),
            Reject::RateLimited {
                limit, retry_after, ..
            } => format!("{}: {limit} (retry after {retry_after}s)", self.kind()),
            Reject::LimitUnavailable { limit } => {
                format!(
                    "{}: {limit}: the shared store is down (fail_closed)",
                    self.kind()
                )
            }
            Reject::Busy { limit, waited, .. } => format!(
                "{}: {limit}{}",
                self.kind(),
                if *waited {
                    " (queued until the wait ran out)"
                } else {
                    ""
                }
            ),
            Reject::LoginFailed { reason } => format!("{}: {reason}", self.kind()),
            Reject::UpstreamError {
                status,
                body_sha256,
            } => {
                format!(
                    "{}: status {status}, body sha256 {body_sha256}",
                    self.kind()
                )
            }
            _ => self.kind().to_owned(),
        }
    }

    /// Whether the connection must close after this answer (the rest of the
    /// request may be unread or unreadable).
    pub fn closes_connection(&self) -> bool {
        matches!(
            self,
            Reject::Ambiguous(_)
                | Reject::Malformed(_)
                | Reject::PayloadTooLarge
                | Reject::RequestTimeout
                | Reject::HeadersTooLarge
                | Reject::UriTooLong
        )
    }
}

/// At most this many violations are listed in a problem document.
pub const MAX_LISTED_VIOLATIONS: usize = 32;

/// The problem document's JSON text.
pub fn document(reject: &Reject, request_id: &str) -> String {
    let (title, detail) = reject.text();
    let mut doc = serde_json::json!({
        "type": format!("{TYPE_BASE}{}", reject.kind()),
        "title": title,
        "status": reject.status().as_u16(),
        "detail": detail,
        "instance": format!("urn:portcullis:request:{request_id}"),
        "request_id": request_id,
    });
    match reject {
        // The client needs these to fix its request; none quotes a value.
        Reject::Invalid { violations } => {
            doc["errors"] = violations
                .iter()
                .take(MAX_LISTED_VIOLATIONS)
                .map(|v| serde_json::json!({ "pointer": v.pointer, "detail": v.reason }))
                .collect();
        }
        Reject::UnsupportedMediaType { accepted } => {
            doc["accepted"] = serde_json::json!(accepted);
        }
        _ => {}
    }
    doc.to_string()
}

/// The full problem response.
pub fn response(reject: &Reject, request_id: &str) -> Response<Body> {
    let mut resp = Response::new(body::full(Bytes::from(document(reject, request_id))));
    *resp.status_mut() = reject.status();
    *resp.headers_mut() = headers(reject);
    resp
}

/// A problem written straight to a socket, before hyper owns the connection
/// (slow or oversized request heads, connection limit); same headers as `response`.
pub fn raw_http1(reject: &Reject, request_id: &str) -> Vec<u8> {
    let text = document(reject, request_id);
    let status = reject.status();
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
    .into_bytes();
    for (name, value) in &headers(reject) {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(
        format!(
            "content-length: {}\r\nconnection: close\r\nserver: portcullis\r\n\r\n",
            text.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(text.as_bytes());
    out
}

/// The headers of a problem: its media type, no caching, and what its kind needs
/// (`Allow`, `WWW-Authenticate`, `Retry-After`).
fn headers(reject: &Reject) -> HeaderMap {
    let mut h = HeaderMap::with_capacity(4);
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    match reject {
        Reject::MethodNotAllowed { allow } => {
            if let Ok(v) = HeaderValue::try_from(allow.as_str()) {
                h.insert(header::ALLOW, v);
            }
        }
        Reject::Unauthenticated { challenges, .. } => {
            for c in challenges {
                h.append(header::WWW_AUTHENTICATE, c.clone());
            }
        }
        Reject::InsufficientScope {
            challenge: Some(c), ..
        } => {
            h.insert(header::WWW_AUTHENTICATE, c.clone());
        }
        Reject::Overloaded
        | Reject::AuthUnavailable { .. }
        | Reject::LimitUnavailable { .. }
        | Reject::Busy { .. } => {
            h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        Reject::RateLimited { retry_after, .. } | Reject::Flooded { retry_after } => {
            h.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after.max(&1)));
        }
        _ => {}
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_generic_and_typed() {
        let r = Reject::UpstreamError {
            status: 500,
            body_sha256: "ab".into(),
        };
        let doc: serde_json::Value = serde_json::from_str(&document(&r, "rid-1")).expect("json");
        assert_eq!(doc["type"], "urn:portcullis:problem:upstream-error");
        assert_eq!(doc["status"], 500);
        assert_eq!(doc["request_id"], "rid-1");
        assert!(
            !doc.to_string().contains("ab\""),
            "hash stays in the audit log"
        );
        assert!(r.reason().contains("sha256 ab"));
    }

    #[test]
    fn method_not_allowed_lists_allow() {
        let resp = response(
            &Reject::MethodNotAllowed {
                allow: "GET, POST".into(),
            },
            "x",
        );
        assert_eq!(resp.status(), 405);
        assert_eq!(resp.headers()[header::ALLOW], "GET, POST");
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }

    #[test]
    fn raw_answers_carry_the_same_headers_as_responses() {
        let raw = String::from_utf8(raw_http1(&Reject::Overloaded, "r")).expect("utf8");
        assert!(
            raw.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{raw}"
        );
        for line in [
            "content-type: application/problem+json",
            "cache-control: no-store",
            "retry-after: 1",
            "connection: close",
        ] {
            assert!(raw.contains(&format!("{line}\r\n")), "{line} in {raw}");
        }
        let (head, body) = raw.split_once("\r\n\r\n").expect("head and body");
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert_eq!(body, document(&Reject::Overloaded, "r"));
    }
}
