//! Before hyper takes a new HTTP/1 connection: wait for a complete first request head,
//! bounded in time (408) and size (414/431), and detect HTTP/2 prior knowledge.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::Instant;

use crate::config::Limits;
use crate::problem::{self, Reject};

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Which protocol the client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Protocol {
    /// HTTP/1.x: the first request head is complete in the buffer.
    Http1,
    /// HTTP/2 (the client sent the connection preface).
    Http2,
}

/// Reads until a whole request head (or the HTTP/2 preface) has arrived. On timeout or
/// oversize a problem is written and the connection refused (`None`).
pub(super) async fn first_head<IO>(
    mut io: IO,
    limits: &Limits,
    allow_h2: bool,
    request_id: impl Fn() -> String,
) -> Option<(Rewind<IO>, Protocol)>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let deadline = Instant::now() + limits.header_timeout;
    let mut buf = BytesMut::with_capacity(4096);
    let mut scanned: usize = 0;
    loop {
        let refusal = match tokio::time::timeout_at(deadline, io.read_buf(&mut buf)).await {
            Err(_) if buf.is_empty() => return None,
            Err(_) => Reject::RequestTimeout,
            Ok(Ok(0)) | Ok(Err(_)) => return None,
            Ok(Ok(_)) => {
                if allow_h2 && buf.len() >= H2_PREFACE.len() && buf.starts_with(H2_PREFACE) {
                    return Some((Rewind::new(buf, io), Protocol::Http2));
                }
                if allow_h2 && H2_PREFACE.starts_with(&buf) {
                    continue;
                }
                let from = scanned.saturating_sub(3);
                let head_end = buf[from..].windows(4).position(|w| w == b"\r\n\r\n");
                if let Some(at) = head_end {
                    // hyper drops Content-Length when Transfer-Encoding is also present,
                    // so the pipeline cannot see both: refuse the pair here.
                    if !declares_two_framings(&buf[..from + at]) {
                        return Some((Rewind::new(buf, io), Protocol::Http1));
                    }
                    Reject::Ambiguous("both content-length and transfer-encoding")
                } else {
                    scanned = buf.len();
                    let line_end = buf.windows(2).position(|w| w == b"\r\n");
                    if line_end.unwrap_or(buf.len()) > limits.max_uri_bytes + 32 {
                        Reject::UriTooLong
                    } else if buf.len() > limits.max_header_bytes {
                        Reject::HeadersTooLarge
                    } else {
                        continue;
                    }
                }
            }
        };
        let _ = io
            .write_all(&problem::raw_http1(&refusal, &request_id()))
            .await;
        let _ = io.shutdown().await;
        return None;
    }
}

/// Whether a request head carries both `Content-Length` and `Transfer-Encoding`.
fn declares_two_framings(head: &[u8]) -> bool {
    let (mut cl, mut te) = (false, false);
    for line in head.split(|&b| b == b'\n').skip(1) {
        let name = line.split(|&b| b == b':').next().unwrap_or_default();
        cl |= name.eq_ignore_ascii_case(b"content-length");
        te |= name.eq_ignore_ascii_case(b"transfer-encoding");
    }
    cl && te
}

/// An IO whose first reads return bytes already read from it.
#[derive(Debug)]
pub(super) struct Rewind<IO> {
    pre: BytesMut,
    inner: IO,
}

impl<IO> Rewind<IO> {
    fn new(pre: BytesMut, inner: IO) -> Self {
        Rewind { pre, inner }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Rewind<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.pre.is_empty() {
            let n = self.pre.len().min(out.remaining());
            out.put_slice(&self.pre[..n]);
            self.pre.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, out)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Rewind<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
