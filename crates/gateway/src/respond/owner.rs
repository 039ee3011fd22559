//! Ownership checked on the upstream's response: buffered (bounded), parsed,
//! checked against the caller, and replaced by a problem when it is not theirs.
//!
//! The whole body is read before anything is decided, so nothing of a response
//! that is refused ever reaches the client. What passes untouched:
//! - non-2xx responses (their bodies are errors, not the objects the rule is about);
//! - 204 No Content (no body, nothing to own).
//!
//! Everything else fails closed: a compressed, oversized, unreadable or non-JSON
//! 2xx response is withheld (`502`), one that is not the caller's is refused (`403`).

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Response, StatusCode};
use http_body::Body as _;
use http_body_util::BodyExt;
use portcullis_policy::{OwnerVerdict, PrincipalFacts, ResponseOwner};

use crate::body::{self, Body};
use crate::problem::Reject;
use crate::respond::{declared_length, identity_encoded, is_json_type};

/// A response read for the ownership decision, or one that needs none.
#[derive(Debug)]
pub enum Buffered {
    /// Send it as it is (not 2xx, 204, or let through in monitor mode).
    Pass(Response<Body>),
    /// A 2xx JSON response, read whole.
    Json(Json),
}

/// A 2xx JSON response, read whole and parsed.
#[derive(Debug)]
pub struct Json {
    parts: http::response::Parts,
    bytes: Bytes,
    value: serde_json::Value,
}

/// Reads a 2xx response whole (within `max_bytes`) and parses it; what cannot be
/// checked is refused, or, when not `enforced` (monitor mode), passed on untouched
/// with the refusal recorded in `monitored`.
///
/// Split from [`decide`] so that no borrowed principal is held across the read.
pub async fn buffer(
    resp: Response<Body>,
    max_bytes: u64,
    enforced: bool,
    monitored: &mut Option<Reject>,
) -> Result<Buffered, Reject> {
    if !resp.status().is_success() || resp.status() == StatusCode::NO_CONTENT {
        return Ok(Buffered::Pass(resp));
    }
    // Refuse what cannot be checked before reading a byte of it.
    let unverifiable = if !identity_encoded(resp.headers()) {
        Some("compressed response")
    } else if !json_or_unlabelled(resp.headers()) {
        Some("response is not JSON")
    } else if declared_length(resp.headers()).is_some_and(|n| n > max_bytes)
        || resp.body().size_hint().lower() > max_bytes
    {
        Some("response too large")
    } else {
        None
    };
    if let Some(why) = unverifiable {
        let reject = Reject::ResponseUnverifiable(why);
        if enforced {
            return Err(reject);
        }
        monitored.get_or_insert(reject);
        return Ok(Buffered::Pass(resp));
    }

    let (parts, body) = resp.into_parts();
    let bytes = read(body, max_bytes).await?;
    let why = match crate::authz::json_unique(&bytes) {
        Ok(value) => {
            return Ok(Buffered::Json(Json {
                parts,
                bytes,
                value,
            }));
        }
        // The owner is read from one of two equal keys; a client could read the other.
        Err(crate::authz::BadJson::RepeatedKey) => "response repeats a JSON key",
        Err(crate::authz::BadJson::Invalid) => "response is not JSON",
    };
    if enforced {
        return Err(Reject::ResponseUnverifiable(why));
    }
    monitored.get_or_insert(Reject::ResponseUnverifiable(why));
    Ok(Buffered::Pass(Response::from_parts(
        parts,
        body::full(bytes),
    )))
}

/// Checks a buffered response against `rule`: the original bytes when it is the
/// caller's, the filtered list, or a refusal (in monitor mode: recorded, and the
/// original sent).
pub fn decide(
    json: Json,
    rule: &ResponseOwner,
    principal: Option<&PrincipalFacts<'_>>,
    enforced: bool,
    monitored: &mut Option<Reject>,
) -> Result<Response<Body>, Reject> {
    let Json {
        mut parts,
        bytes,
        mut value,
    } = json;
    match rule.check(&mut value, principal) {
        OwnerVerdict::Owned => Ok(Response::from_parts(parts, body::full(bytes))),
        OwnerVerdict::Refused | OwnerVerdict::Filtered(_) if !enforced => {
            monitored.get_or_insert(Reject::NotOwner);
            Ok(Response::from_parts(parts, body::full(bytes)))
        }
        OwnerVerdict::Filtered(_) => {
            let edited = serde_json::to_vec(&value)
                .map_err(|_| Reject::ResponseUnverifiable("response not re-encodable"))?;
            rewritten(&mut parts.headers, edited.len());
            Ok(Response::from_parts(parts, body::full(edited)))
        }
        OwnerVerdict::Refused => Err(Reject::NotOwner),
    }
}

/// Headers that describe the exact bytes of the original body, so are wrong once
/// items were removed from it.
const BODY_DIGESTS: [HeaderName; 5] = [
    header::ETAG,
    HeaderName::from_static("content-md5"),
    HeaderName::from_static("digest"),
    HeaderName::from_static("content-digest"),
    HeaderName::from_static("repr-digest"),
];

/// Fixes the headers of a response whose body was filtered or re-encoded to
/// `len` bytes (also used by response protection).
pub(crate) fn rewritten(headers: &mut HeaderMap, len: usize) {
    headers.remove(header::TRANSFER_ENCODING);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    for h in &BODY_DIGESTS {
        headers.remove(h);
    }
}

/// Reads the whole body, at most `max_bytes` of it.
///
/// A plain frame loop rather than `http_body_util::Limited`: its generic error
/// conversion makes the request future fail the `Send` check the server needs
/// (a compiler limitation with higher-ranked lifetimes).
async fn read(mut body: Body, max_bytes: u64) -> Result<Bytes, Reject> {
    let mut out = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| Reject::ResponseUnverifiable("response unreadable"))?;
        if let Some(data) = frame.data_ref() {
            if (out.len() + data.len()) as u64 > max_bytes {
                return Err(Reject::ResponseUnverifiable("response too large"));
            }
            out.extend_from_slice(data);
        }
    }
    Ok(out.freeze())
}

/// The content type is JSON (`application/json`, `*/*+json`), or absent (the
/// body must then parse as JSON).
fn json_or_unlabelled(headers: &HeaderMap) -> bool {
    let mut types = headers.get_all(header::CONTENT_TYPE).iter();
    let ct = match (types.next(), types.next()) {
        (None, _) => return true,
        (Some(ct), None) => ct,
        // Two content types: which one would the client believe?
        (Some(_), Some(_)) => return false,
    };
    is_json_type(ct.as_bytes())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use http_body::Frame;
    use http_body_util::StreamBody;
    use serde_json::{Value, json};

    use super::*;

    const MAX: u64 = 1024;

    /// The claims and roles a test principal borrows.
    struct Caller {
        subject: &'static str,
        roles: Vec<Arc<str>>,
        claims: serde_json::Map<String, Value>,
    }

    impl Caller {
        fn new(subject: &'static str) -> Self {
            Caller {
                subject,
                roles: vec!["customer".into()],
                claims: serde_json::Map::new(),
            }
        }

        fn facts(&self) -> PrincipalFacts<'_> {
            PrincipalFacts {
                method: "jwt",
                subject: self.subject,
                issuer: "https://idp.example",
                roles: &self.roles,
                scopes: &[],
                tenant: None,
                mfa: false,
                issued_at: None,
                claims: &self.claims,
            }
        }
    }

    fn object_rule() -> ResponseOwner {
        ResponseOwner {
            items: None,
            pointer: "/owner".into(),
            claim: "sub".into(),
            filter: false,
        }
    }

    fn list_rule() -> ResponseOwner {
        ResponseOwner {
            items: Some("/data".into()),
            pointer: "/owner".into(),
            claim: "sub".into(),
            filter: true,
        }
    }

    /// A JSON 200 with a `Content-Length`, as hyper would hand it over.
    fn json_response(text: &str) -> Response<Body> {
        Response::builder()
            .status(200)
            .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
            .header(header::CONTENT_LENGTH, text.len())
            .header(header::ETAG, "\"v1\"")
            .header("content-digest", "sha-256=:AAAA:")
            .body(body::full(text.to_owned()))
            .unwrap()
    }

    /// A body sent in chunks, with no length known in advance.
    fn streamed(chunks: Vec<Result<&'static [u8], std::io::Error>>) -> Body {
        let frames = chunks
            .into_iter()
            .map(|c| c.map(|b| Frame::data(Bytes::from_static(b))));
        body::boxed(StreamBody::new(futures_util::stream::iter(frames)))
    }

    async fn text(resp: Response<Body>) -> String {
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    /// The pipeline's use of [`buffer`] and [`decide`], enforcing.
    async fn enforce(
        resp: Response<Body>,
        rule: &ResponseOwner,
        principal: Option<&PrincipalFacts<'_>>,
        max_bytes: u64,
    ) -> Result<Response<Body>, Reject> {
        let mut monitored = None;
        match buffer(resp, max_bytes, true, &mut monitored).await? {
            Buffered::Pass(resp) => Ok(resp),
            Buffered::Json(json) => decide(json, rule, principal, true, &mut monitored),
        }
    }

    async fn run(resp: Response<Body>, rule: &ResponseOwner) -> Result<Response<Body>, Reject> {
        let alice = Caller::new("alice");
        enforce(resp, rule, Some(&alice.facts()), MAX).await
    }

    #[tokio::test]
    async fn an_owned_object_passes_byte_for_byte() {
        let original = r#"{ "owner": "alice",  "id": 1 }"#;
        let resp = run(json_response(original), &object_rule()).await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()[header::ETAG], "\"v1\"");
        assert_eq!(
            resp.headers()[header::CONTENT_LENGTH],
            original.len().to_string()
        );
        assert_eq!(text(resp).await, original);
    }

    #[tokio::test]
    async fn someone_elses_object_is_refused() {
        let resp = json_response(r#"{"owner": "mallory", "balance": 1000}"#);
        let err = run(resp, &object_rule()).await.unwrap_err();
        assert_eq!(err, Reject::NotOwner);
        assert_eq!(err.status(), StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn no_principal_is_refused() {
        let resp = json_response(r#"{"owner": "alice"}"#);
        let err = enforce(resp, &object_rule(), None, MAX).await.unwrap_err();
        assert_eq!(err, Reject::NotOwner);
    }

    #[tokio::test]
    async fn a_filtered_list_loses_foreign_items_and_stale_headers() {
        let resp = json_response(
            r#"{"data": [{"id": 1, "owner": "alice"}, {"id": 2, "owner": "mallory"}]}"#,
        );
        let resp = run(resp, &list_rule()).await.unwrap();
        let h = resp.headers();
        assert!(h.get(header::ETAG).is_none());
        assert!(h.get("content-digest").is_none());
        assert!(h.get(header::TRANSFER_ENCODING).is_none());
        let length: usize = h[header::CONTENT_LENGTH].to_str().unwrap().parse().unwrap();
        let body = text(resp).await;
        assert_eq!(length, body.len());
        let got: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(got, json!({"data": [{"id": 1, "owner": "alice"}]}));
    }

    #[tokio::test]
    async fn a_refusing_list_with_one_foreign_item_is_refused() {
        let rule = ResponseOwner {
            filter: false,
            ..list_rule()
        };
        let resp = json_response(r#"{"data": [{"owner": "alice"}, {"owner": "mallory"}]}"#);
        assert_eq!(run(resp, &rule).await.unwrap_err(), Reject::NotOwner);
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_fails_fast() {
        let resp = Response::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, MAX + 1)
            .body(streamed(vec![Err(std::io::Error::other("never read"))]))
            .unwrap();
        let err = run(resp, &object_rule()).await.unwrap_err();
        assert_eq!(err, Reject::ResponseUnverifiable("response too large"));
        assert_eq!(err.status(), StatusCode::BAD_GATEWAY);
    }

    #[tokio::test]
    async fn a_streamed_body_over_the_limit_is_too_large() {
        let chunk: &'static [u8] = &[b' '; 600];
        let resp = Response::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .body(streamed(vec![
                Ok(b"{\"owner\": \"alice\"}"),
                Ok(chunk),
                Ok(chunk),
            ]))
            .unwrap();
        let err = run(resp, &object_rule()).await.unwrap_err();
        assert_eq!(err, Reject::ResponseUnverifiable("response too large"));
    }

    #[tokio::test]
    async fn a_streamed_body_within_the_limit_is_checked() {
        let resp = Response::new(streamed(vec![Ok(b"{\"owner\":"), Ok(b" \"alice\"}")]));
        let resp = run(resp, &object_rule()).await.unwrap();
        assert_eq!(text(resp).await, r#"{"owner": "alice"}"#);
    }

    #[tokio::test]
    async fn a_body_that_fails_midway_is_unreadable() {
        let resp = Response::new(streamed(vec![
            Ok(b"{\"owner\":"),
            Err(std::io::Error::other("reset")),
        ]));
        let err = run(resp, &object_rule()).await.unwrap_err();
        assert_eq!(err, Reject::ResponseUnverifiable("response unreadable"));
    }

    #[tokio::test]
    async fn what_is_not_json_is_unverifiable() {
        let not_json = Reject::ResponseUnverifiable("response is not JSON");
        let html = Response::builder()
            .header(header::CONTENT_TYPE, "text/html")
            .body(body::full(r#"{"owner": "alice"}"#))
            .unwrap();
        assert_eq!(run(html, &object_rule()).await.unwrap_err(), not_json);
        let broken = json_response(r#"{"owner": "alice""#);
        assert_eq!(run(broken, &object_rule()).await.unwrap_err(), not_json);
        let empty = json_response("");
        assert_eq!(run(empty, &object_rule()).await.unwrap_err(), not_json);
        let unlabelled = Response::new(body::full("<p>alice</p>"));
        assert_eq!(run(unlabelled, &object_rule()).await.unwrap_err(), not_json);
        // serde_json keeps the last of two equal keys, other clients the first.
        let twice = json_response(r#"{"owner": "mallory", "owner": "alice"}"#);
        assert_eq!(
            run(twice, &object_rule()).await.unwrap_err(),
            Reject::ResponseUnverifiable("response repeats a JSON key")
        );
    }

    #[tokio::test]
    async fn json_suffix_and_unlabelled_json_are_accepted() {
        let hal = Response::builder()
            .header(header::CONTENT_TYPE, "application/hal+JSON")
            .body(body::full(r#"{"owner": "alice"}"#))
            .unwrap();
        assert!(run(hal, &object_rule()).await.is_ok());
        let unlabelled = Response::new(body::full(r#"{"owner": "alice"}"#));
        assert!(run(unlabelled, &object_rule()).await.is_ok());
    }

    #[tokio::test]
    async fn a_compressed_response_is_unverifiable() {
        for coding in ["gzip", "identity, br", "x-custom"] {
            let mut resp = json_response(r#"{"owner": "alice"}"#);
            resp.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
            let err = run(resp, &object_rule()).await.unwrap_err();
            assert_eq!(
                err,
                Reject::ResponseUnverifiable("compressed response"),
                "{coding}"
            );
        }
        let mut resp = json_response(r#"{"owner": "alice"}"#);
        resp.headers_mut().insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static("Identity"),
        );
        assert!(run(resp, &object_rule()).await.is_ok());
    }

    #[tokio::test]
    async fn errors_pass_through_untouched() {
        for status in [404, 409, 500] {
            let problem = r#"{"title": "no such account"}"#;
            let mut resp = json_response(problem);
            *resp.status_mut() = StatusCode::from_u16(status).unwrap();
            resp.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            let resp = run(resp, &object_rule()).await.unwrap();
            assert_eq!(resp.status(), status);
            assert_eq!(text(resp).await, problem);
        }
    }

    #[tokio::test]
    async fn no_content_passes_through() {
        let resp = Response::builder().status(204).body(body::empty()).unwrap();
        let resp = run(resp, &object_rule()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    }
}
