//! Whether the upstream's answer to a login is a failure, a success, or neither;
//! reading at most 64 KiB of its body, and passing a body that was read (or
//! partly read) on intact.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Response};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;

use super::config::Failure;
use crate::body::{Body, BoxError};

/// Most bytes of a response body read to look for the failure text.
pub(super) const MAX_READ: usize = 64 * 1024;

/// What the upstream's answer says about the attempt.
#[derive(Debug)]
pub(super) enum Outcome {
    /// The login failed (its status, or its body's text, says so).
    Failure,
    /// The login succeeded: the response goes to the client as it is.
    Success(Response<Body>),
    /// Neither can be told (a 5xx not listed as a failure, or a compressed
    /// body that would have to be searched): passed on, the attempt stays
    /// counted against the username.
    Inconclusive(Response<Body>),
}

/// Reads the upstream's answer as far as `failure` needs.
pub(super) async fn classify(resp: Response<Body>, failure: &Failure) -> Outcome {
    let status = resp.status().as_u16();
    if failure.status.contains(&status) {
        return Outcome::Failure;
    }
    if status >= 500 {
        return Outcome::Inconclusive(resp);
    }
    let Some(needle) = &failure.body_contains else {
        return Outcome::Success(resp);
    };
    if !(resp.status().is_success() || resp.status().is_client_error()) {
        return Outcome::Success(resp);
    }
    if !crate::respond::identity_encoded(resp.headers()) {
        return Outcome::Inconclusive(resp);
    }
    if crate::respond::declared_length(resp.headers()).is_some_and(|n| n > MAX_READ as u64) {
        return Outcome::Success(resp);
    }
    let (parts, mut body) = resp.into_parts();
    let mut read = BytesMut::new();
    let mut replay = Replay::default();
    loop {
        match body.frame().await {
            None => break,
            Some(Err(e)) => {
                replay.error = Some(e);
                break;
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    read.extend_from_slice(&data);
                    if read.len() > MAX_READ {
                        // Too large to search: not a failure, sent on whole.
                        replay.head = read.freeze();
                        replay.rest = Some(body);
                        return Outcome::Success(Response::from_parts(parts, boxed(replay)));
                    }
                }
                Err(frame) => {
                    replay.trailers = frame.into_trailers().ok();
                    break;
                }
            },
        }
    }
    let found = needle.found_in(&read);
    replay.head = read.freeze();
    let resp = Response::from_parts(parts, boxed(replay));
    if found {
        Outcome::Failure
    } else {
        Outcome::Success(resp)
    }
}

/// A text searched for in linear time (Knuth–Morris–Pratt): the body may
/// hold request data (an echoed username), so no quadratic search.
#[derive(Debug, Clone)]
pub(crate) struct Needle {
    bytes: Vec<u8>,
    /// For each prefix length, the length of its longest proper border.
    border: Vec<usize>,
}

impl Needle {
    /// Prepares a non-empty text.
    pub(crate) fn new(text: &[u8]) -> Needle {
        let mut border = vec![0; text.len()];
        let mut k = 0;
        for i in 1..text.len() {
            while k > 0 && text[i] != text[k] {
                k = border[k - 1];
            }
            if text[i] == text[k] {
                k += 1;
            }
            border[i] = k;
        }
        Needle {
            bytes: text.to_vec(),
            border,
        }
    }

    /// Whether `hay` contains the text.
    pub(crate) fn found_in(&self, hay: &[u8]) -> bool {
        let n = &self.bytes;
        if n.is_empty() {
            return true;
        }
        let mut k = 0;
        for &b in hay {
            while k > 0 && b != n[k] {
                k = self.border[k - 1];
            }
            if b == n[k] {
                k += 1;
                if k == n.len() {
                    return true;
                }
            }
        }
        false
    }
}

/// A body whose start was already read: those bytes, then what followed them
/// (an error or trailers met while reading, or the unread rest).
#[derive(Default)]
struct Replay {
    head: Bytes,
    error: Option<BoxError>,
    trailers: Option<HeaderMap>,
    rest: Option<Body>,
}

fn boxed(r: Replay) -> Body {
    crate::body::boxed(r)
}

impl http_body::Body for Replay {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if !this.head.is_empty() {
            return Poll::Ready(Some(Ok(Frame::data(std::mem::take(&mut this.head)))));
        }
        if let Some(e) = this.error.take() {
            return Poll::Ready(Some(Err(e)));
        }
        if let Some(t) = this.trailers.take() {
            return Poll::Ready(Some(Ok(Frame::trailers(t))));
        }
        match &mut this.rest {
            Some(rest) => Pin::new(rest).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_empty()
            && self.error.is_none()
            && self.trailers.is_none()
            && self
                .rest
                .as_ref()
                .is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        let head = self.head.len() as u64;
        let (lower, upper) = match &self.rest {
            Some(rest) => (rest.size_hint().lower(), rest.size_hint().upper()),
            None => (0, Some(0)),
        };
        let mut hint = SizeHint::new();
        hint.set_lower(lower.saturating_add(head));
        if let Some(upper) = upper {
            hint.set_upper(upper.saturating_add(head));
        }
        hint
    }
}
