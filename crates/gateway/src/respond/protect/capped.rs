//! A streamed response body held to the size limit: past it, the body fails
//! (the client sees a cut-off response, never more than the limit), or, when
//! not enforced, the overflow is only counted.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};

use crate::body::{Body, BoxError};

/// Called once when the body goes over the limit.
pub(super) type OnOver = Box<dyn FnOnce() + Send>;

/// The error a capped body fails with.
#[derive(Debug)]
pub(super) struct TooLarge;

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("response too large")
    }
}

impl std::error::Error for TooLarge {}

/// A body that passes at most `left` more data bytes.
pub(super) struct Capped {
    inner: Body,
    left: u64,
    enforced: bool,
    on_over: Option<OnOver>,
}

impl Capped {
    pub(super) fn new(inner: Body, max_bytes: u64, enforced: bool, on_over: OnOver) -> Capped {
        Capped {
            inner,
            left: max_bytes,
            enforced,
            on_over: Some(on_over),
        }
    }
}

impl http_body::Body for Capped {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.enforced && this.on_over.is_none() {
            // Already over: nothing more is read.
            return Poll::Ready(Some(Err(Box::new(TooLarge))));
        }
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            let len = data.len() as u64;
            if len > this.left {
                this.left = 0;
                if let Some(f) = this.on_over.take() {
                    f();
                }
                if this.enforced {
                    return Poll::Ready(Some(Err(Box::new(TooLarge))));
                }
            } else {
                this.left -= len;
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
