//! Response protection at run time: the head checked, the body streamed
//! within the limit or read whole, edited and re-encoded.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt as _;
use http::header::{self, HeaderMap};
use http::{Response, StatusCode};
use http_body::{Body as _, Frame};
use http_body_util::{BodyExt as _, BodyStream, StreamBody};
use portcullis_openapi::validate::ContentType;

use super::Protection;
use super::capped::Capped;
use crate::body::{self, Body, BoxError};
use crate::exchange::Exchange;
use crate::metrics::Metrics;
use crate::problem::Reject;
use crate::respond::owner::rewritten;
use crate::respond::{declared_length, identity_encoded, is_json_type};

/// At most this many fields of one response are named in its audit record
/// (every action is still counted).
pub const MAX_RECORDED_FIELDS: usize = 64;
/// Longest field pointer kept in an audit record.
const MAX_POINTER_BYTES: usize = 256;

/// Who a response belongs to, for metrics and the enforce/monitor decision.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The API's name.
    pub api: &'a Arc<str>,
    /// The route operation id.
    pub operation: &'a Arc<str>,
    /// Refusals are enforced (else recorded in `ex.monitored`: monitor mode).
    pub enforced: bool,
    /// The metrics registry.
    pub metrics: &'a Arc<Metrics>,
}

impl Scope<'_> {
    fn count(&self, outcome: &str, enforced: bool) {
        self.metrics
            .contract(self.api, self.operation, "response", outcome, enforced);
    }

    /// A refusal: counted, then an error, or (monitor mode) recorded.
    fn refuse(&self, ex: &mut Exchange, outcome: &str, reject: Reject) -> Result<(), Reject> {
        self.count(outcome, self.enforced);
        if self.enforced {
            return Err(reject);
        }
        ex.monitored.get_or_insert(reject);
        Ok(())
    }
}

/// How a response labels its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Media {
    /// `application/json` or `*/*+json`.
    Json,
    /// No `Content-Type`: JSON if it parses.
    Unlabelled,
    /// Anything else (nothing to strip).
    Other,
}

impl Protection {
    /// Checks a response's head: a `Content-Type` the spec contradicts, or a
    /// declared length over the limit, is refused before its body is read.
    pub fn check_head(
        &self,
        resp: Response<Body>,
        scope: Scope<'_>,
        ex: &mut Exchange,
    ) -> Result<Response<Body>, Reject> {
        let status = resp.status().as_u16();
        if self.content_type
            && let Some(rules) = self.operations.get(&**scope.operation)
        {
            let verdict = match content_type(resp.headers()) {
                Ok(ct) => rules.contract.responses().check_content_type(status, ct),
                // Two content types, or one that is not text: which would the client believe?
                Err(()) => ContentType::Contradicts,
            };
            if verdict == ContentType::Contradicts {
                scope.refuse(
                    ex,
                    "content-type",
                    Reject::ResponseRefused("content type contradicts the spec"),
                )?;
            }
        }
        if has_body(&resp, ex)
            && (declared_length(resp.headers()).is_some_and(|n| n > self.max_bytes)
                || resp.body().size_hint().lower() > self.max_bytes)
        {
            scope.refuse(
                ex,
                "too-large",
                Reject::ResponseRefused("response too large"),
            )?;
        }
        Ok(resp)
    }

    /// The body: streamed within the limit, or, when its JSON must be read,
    /// read whole, stripped and redacted, and re-encoded if anything changed.
    pub async fn body(
        &self,
        resp: Response<Body>,
        scope: Scope<'_>,
        ex: &mut Exchange,
    ) -> Result<Response<Body>, Reject> {
        if !has_body(&resp, ex) {
            return Ok(resp);
        }
        let must = self.needs_json(scope.operation);
        if !must {
            return Ok(self.capped(resp, scope));
        }
        let media = match content_type(resp.headers()) {
            Ok(None) => Media::Unlabelled,
            Ok(Some(ct)) if is_json_type(ct.as_bytes()) => Media::Json,
            _ => Media::Other,
        };
        if media == Media::Other || (!must && !identity_encoded(resp.headers())) {
            return Ok(self.capped(resp, scope));
        }
        if !identity_encoded(resp.headers()) {
            // Asked for uncompressed and sent compressed: it cannot be read.
            scope.refuse(
                ex,
                "unverifiable",
                Reject::ResponseUnverifiable("compressed response"),
            )?;
            return Ok(self.capped(resp, scope));
        }

        let (mut parts, incoming) = resp.into_parts();
        let bytes = match read(incoming, self.max_bytes).await? {
            Read::Whole(bytes) => bytes,
            Read::Over(prefix, rest) => {
                scope.refuse(
                    ex,
                    "too-large",
                    Reject::ResponseRefused("response too large"),
                )?;
                // Monitor mode: what was read, then the rest, unchanged.
                return Ok(Response::from_parts(parts, rejoin(prefix, rest)));
            }
        };
        let why = match crate::authz::json_unique(&bytes) {
            Ok(mut value) => {
                let status = parts.status.as_u16();
                let ct = content_type(&parts.headers).ok().flatten();
                let mut actions = Vec::new();
                self.edit(scope.operation, status, ct, &mut value, &mut actions);
                if actions.is_empty() {
                    return Ok(Response::from_parts(parts, body::full(bytes)));
                }
                self.record(scope, ex, actions);
                let edited = serde_json::to_vec(&value)
                    .map_err(|_| Reject::ResponseUnverifiable("response not re-encodable"))?;
                rewritten(&mut parts.headers, edited.len());
                return Ok(Response::from_parts(parts, body::full(edited)));
            }
            // Not JSON and not labelled JSON: nothing to strip.
            Err(crate::authz::BadJson::Invalid) if media == Media::Unlabelled => None,
            Err(crate::authz::BadJson::Invalid) if bytes.iter().all(u8::is_ascii_whitespace) => {
                None
            }
            // Redaction reads the last of two equal keys, a client may read the first.
            Err(crate::authz::BadJson::RepeatedKey) => Some("response repeats a JSON key"),
            Err(crate::authz::BadJson::Invalid) => Some("response is not JSON"),
        };
        if let Some(why) = why {
            scope.refuse(ex, "unverifiable", Reject::ResponseUnverifiable(why))?;
        }
        Ok(Response::from_parts(parts, body::full(bytes)))
    }

    /// Strips and redacts `value`; what was done goes onto `actions`.
    fn edit(
        &self,
        operation: &str,
        status: u16,
        ct: Option<&str>,
        value: &mut serde_json::Value,
        actions: &mut Vec<(&'static str, String)>,
    ) {
        if let Some(rules) = self.operations.get(operation) {
            let responses = rules.contract.responses();
            if self.write_only {
                for p in responses.strip(status, ct, value, false) {
                    actions.push(("write-only", p));
                }
            }
            if rules.strip_undocumented {
                for p in responses.strip(status, ct, value, true) {
                    actions.push(("undocumented", p));
                }
            }
        }
        if let Some(r) = &self.redaction {
            r.apply(value, actions);
        }
    }

    /// Counts each kind of action once per response and names the fields in
    /// the audit record (bounded; pointers masked by the redactor, since an
    /// object key can itself be data).
    fn record(&self, scope: Scope<'_>, ex: &mut Exchange, actions: Vec<(&'static str, String)>) {
        let mut counted: Vec<&'static str> = Vec::new();
        for (action, mut field) in actions {
            if !counted.contains(&action) {
                counted.push(action);
                // Edits happen in both modes: they are never "monitored".
                scope.count(action, true);
            }
            if ex.response_actions.len() >= MAX_RECORDED_FIELDS {
                continue;
            }
            if let Some(masked) = self
                .redaction
                .as_ref()
                .and_then(|r| r.redactor())
                .and_then(|r| r.mask(&field))
            {
                field = masked.0;
            }
            if field.len() > MAX_POINTER_BYTES {
                let mut end = MAX_POINTER_BYTES;
                while !field.is_char_boundary(end) {
                    end -= 1;
                }
                field.truncate(end);
            }
            ex.response_actions.push((action, field));
        }
    }

    /// The response, its body cut off past the limit (counted either way).
    fn capped(&self, resp: Response<Body>, scope: Scope<'_>) -> Response<Body> {
        let (api, operation, metrics) = (
            scope.api.clone(),
            scope.operation.clone(),
            scope.metrics.clone(),
        );
        let enforced = scope.enforced;
        let on_over = Box::new(move || {
            metrics.contract(&api, &operation, "response", "too-large", enforced);
        });
        resp.map(|b| body::boxed(Capped::new(b, self.max_bytes, enforced, on_over)))
    }
}

/// Whether the response can have a body at all.
fn has_body(resp: &Response<Body>, ex: &Exchange) -> bool {
    let status = resp.status();
    !(ex.method == http::Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || resp.body().is_end_stream())
}

/// The `Content-Type`: `Ok(None)` when absent, `Err` when repeated or not text.
fn content_type(headers: &HeaderMap) -> Result<Option<&str>, ()> {
    let mut all = headers.get_all(header::CONTENT_TYPE).iter();
    match (all.next(), all.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => v.to_str().map(Some).map_err(|_| ()),
        (Some(_), Some(_)) => Err(()),
    }
}

/// A body read within the limit, or what was read of it when it went over.
enum Read {
    Whole(Bytes),
    Over(Bytes, Body),
}

/// Reads the whole body, stopping at the frame that goes past `max_bytes`.
async fn read(mut body: Body, max_bytes: u64) -> Result<Read, Reject> {
    let mut out = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| Reject::ResponseUnverifiable("response unreadable"))?;
        if let Some(data) = frame.data_ref() {
            out.extend_from_slice(data);
            if out.len() as u64 > max_bytes {
                return Ok(Read::Over(out.freeze(), body));
            }
        }
    }
    Ok(Read::Whole(out.freeze()))
}

/// What was read, then the rest of the body.
fn rejoin(prefix: Bytes, rest: Body) -> Body {
    let head = futures_util::stream::once(async move { Ok::<_, BoxError>(Frame::data(prefix)) });
    body::boxed(StreamBody::new(head.chain(BodyStream::new(rest))))
}
