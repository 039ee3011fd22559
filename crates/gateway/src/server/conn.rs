//! One client connection: limit, TLS handshake, protocol choice, hyper, graceful drain.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::Watcher;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;

use super::gate::{self, Protocol};
use crate::Gateway;
use crate::pipeline::{self, Connection};
use crate::problem::{self, Reject};

/// Serves one accepted connection to its end. `permit` is `None` when the gateway is
/// at its connection limit: the client then gets a 503 problem and the connection closes.
pub(super) async fn serve(
    gw: Arc<Gateway>,
    stream: TcpStream,
    peer: SocketAddr,
    slot: &super::Slot,
    permit: Option<OwnedSemaphorePermit>,
    watcher: Watcher,
) {
    let _ = stream.set_nodelay(true);
    let rt = gw.runtime();
    let limits = rt.config.limits.clone();
    // The current config's TLS for this listener (certificates reload), as long as the
    // listener is still configured at the same place; else what it was started with.
    let (tls, http2) = match rt
        .config
        .listeners
        .get(slot.index)
        .filter(|l| l.address == slot.configured)
    {
        Some(l) => (l.tls.clone(), l.http2),
        None => (slot.tls.clone(), slot.http2),
    };
    drop(rt);
    let _open = OpenConnection::new(gw.clone());
    match tls {
        None => {
            if permit.is_none() {
                return overloaded(stream, &gw).await;
            }
            let conn = Connection::new(peer, false);
            run(gw, stream, conn, http2, None, &limits, watcher).await;
        }
        Some(cfg) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(cfg);
            let Ok(Ok(tls)) =
                tokio::time::timeout(limits.header_timeout, acceptor.accept(stream)).await
            else {
                return;
            };
            if permit.is_none() {
                return overloaded(tls, &gw).await;
            }
            let session = tls.get_ref().1;
            let alpn_h2 = session.alpn_protocol() == Some(b"h2");
            // The chain was verified by rustls against the listener's client CAs.
            let client_cert = session
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.clone().into_owned());
            let mut conn = Connection::new(peer, true);
            conn.client_cert = client_cert;
            run(gw, tls, conn, http2, Some(alpn_h2), &limits, watcher).await;
        }
    }
}

async fn run<IO>(
    gw: Arc<Gateway>,
    io: IO,
    conn: Connection,
    http2: bool,
    alpn_h2: Option<bool>,
    limits: &crate::config::Limits,
    watcher: Watcher,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = Arc::new(conn);
    let svc = {
        let gw = gw.clone();
        service_fn(move |req| {
            let gw = gw.clone();
            let conn = conn.clone();
            async move { Ok::<_, Infallible>(pipeline::handle(&gw, &conn, req).await) }
        })
    };
    if alpn_h2 == Some(true) {
        return serve_h2(TokioIo::new(io), svc, limits, watcher).await;
    }
    // Cleartext h2 is recognised by its preface; over TLS only ALPN selects it.
    let ids = gw.clone();
    let Some((io, protocol)) =
        gate::first_head(io, limits, http2 && alpn_h2.is_none(), move || {
            ids.ids.next().to_string()
        })
        .await
    else {
        return;
    };
    match protocol {
        Protocol::Http2 => serve_h2(TokioIo::new(io), svc, limits, watcher).await,
        Protocol::Http1 => {
            let mut b = hyper::server::conn::http1::Builder::new();
            b.timer(TokioTimer::new())
                .max_buf_size(limits.max_header_bytes.max(8192))
                .header_read_timeout(limits.idle_timeout)
                .keep_alive(true);
            // hyper keeps 100 header slots on the stack and moves them to the heap,
            // per request, only when told a different count; ask only then.
            if limits.max_headers != 100 {
                b.max_headers(limits.max_headers);
            }
            let c = b.serve_connection(TokioIo::new(io), svc);
            let _ = watcher.watch(c).await;
        }
    }
}

async fn serve_h2<IO, S>(io: TokioIo<IO>, svc: S, limits: &crate::config::Limits, watcher: Watcher)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming> + Send + 'static,
    S::Future: Send + 'static,
    S::ResBody: Send + 'static,
    <S::ResBody as http_body::Body>::Data: Send,
    <S::ResBody as http_body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut b = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    b.timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_concurrent_streams)
        .max_header_list_size(limits.max_header_bytes as u32)
        .keep_alive_interval(Some(limits.idle_timeout))
        .max_local_error_reset_streams(Some(1024));
    let c = b.serve_connection(io, svc);
    let _ = watcher.watch(c).await;
}

async fn overloaded<IO: AsyncWrite + Unpin>(mut io: IO, gw: &Gateway) {
    let bytes = problem::raw_http1(&Reject::Overloaded, &gw.ids.next());
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
        let _ = io.write_all(&bytes).await;
        let _ = io.shutdown().await;
    })
    .await;
}

/// Keeps the open-connections gauge right however the connection ends.
struct OpenConnection(Arc<Gateway>);

impl OpenConnection {
    fn new(gw: Arc<Gateway>) -> Self {
        gw.metrics.open_connections.inc();
        OpenConnection(gw)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.metrics.open_connections.dec();
    }
}
