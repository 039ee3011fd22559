//! Building responses: JSON bodies, JSON errors and plain text.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;
use serde::Serialize;

/// The body type of every response the bank sends.
pub(crate) type Body = Full<Bytes>;

/// A JSON response; a value that cannot be serialized becomes a 500.
pub(crate) fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(bytes) => with_type(status, bytes.into(), "application/json"),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "could not encode response",
        ),
    }
}

/// A JSON error: `{"error": message}`.
pub(crate) fn error(status: StatusCode, message: &str) -> Response<Body> {
    let body = serde_json::json!({ "error": message }).to_string();
    with_type(status, body.into(), "application/json")
}

/// A plain-text response.
pub(crate) fn text(status: StatusCode, body: String) -> Response<Body> {
    with_type(status, body.into(), "text/plain; charset=utf-8")
}

/// An empty response, e.g. 204.
pub(crate) fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::default());
    *response.status_mut() = status;
    response
}

fn with_type(status: StatusCode, body: Bytes, content_type: &'static str) -> Response<Body> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
