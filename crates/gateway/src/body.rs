//! The body types the gateway speaks: one boxed body for everything it sends.

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};

/// Any error a body can raise.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body of every response the gateway returns and every request it forwards.
pub type Body = UnsyncBoxBody<Bytes, BoxError>;

/// A complete body from bytes.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// An empty body.
pub fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

/// Boxes any body with a compatible error.
pub fn boxed<B>(b: B) -> Body
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    b.map_err(Into::into).boxed_unsync()
}

/// Counts the data bytes that pass through a body.
pub struct Counted<B> {
    inner: B,
    count: std::sync::Arc<std::sync::atomic::AtomicU64>,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl<B> Counted<B> {
    /// Wraps `inner`, adding every data frame's length to `count`; `done` turns true
    /// once the body has been read to its end.
    pub fn new(
        inner: B,
        count: std::sync::Arc<std::sync::atomic::AtomicU64>,
        done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> Self {
        Counted { inner, count, done }
    }
}

impl<B> http_body::Body for Counted<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, B::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            std::task::Poll::Ready(Some(Ok(f))) => {
                if let Some(d) = f.data_ref() {
                    self.count
                        .fetch_add(d.len() as u64, std::sync::atomic::Ordering::Relaxed);
                }
            }
            std::task::Poll::Ready(None) => {
                self.done.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        let end = self.inner.is_end_stream();
        if end {
            self.done.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        end
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
