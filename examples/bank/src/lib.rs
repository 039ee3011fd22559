//! A deliberately naive banking API: the upstream that Portcullis protects in demos and tests.
//!
//! The bank trusts the identity the gateway passes in `X-Portcullis-Subject`
//! and checks nothing itself: any caller reads any account (BOLA), reaches the
//! admin area (BFLA), sets extra fields on transfers (mass assignment), sees
//! stack traces, and finds an undocumented `/debug/env`. That is the point:
//! what the gateway blocks is visible. Never expose it to a network.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let (addr, server) = portcullis_bank::spawn("127.0.0.1:0".parse().expect("valid")).await?;
//! println!("bank on http://{addr}");
//! server.abort();
//! # Ok(())
//! # }
//! ```

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

mod leaks;
mod reply;
mod routes;
mod state;
mod transfer;

use state::Bank;

/// The bank's OpenAPI 3.1 spec: every documented operation, none of the hidden ones.
pub const OPENAPI_SPEC: &str = include_str!("../openapi.yaml");

/// Serves the bank on an already-bound listener until the future is dropped or its task aborted.
///
/// Each call starts from fresh demo data. HTTP/1.1 and HTTP/2 (including
/// prior-knowledge h2c) are both accepted. Open connections are closed when
/// the future is dropped.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    let bank = Arc::new(Mutex::new(Bank::seeded()));
    let builder = auto::Builder::new(TokioExecutor::new());
    // Owning the connection tasks here means dropping `serve` ends them too.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    // Best effort: a socket that refuses TCP_NODELAY still works.
                    let _ = stream.set_nodelay(true);
                    let bank = Arc::clone(&bank);
                    let builder = builder.clone();
                    connections.spawn(async move {
                        let service = service_fn(move |request| {
                            let bank = Arc::clone(&bank);
                            async move { Ok::<_, Infallible>(routes::handle(&bank, request).await) }
                        });
                        // A client that goes away mid-request is not the bank's problem.
                        let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                    });
                }
                Err(error) => pause_after(&error).await,
            },
            Some(_finished) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Binds `addr` (e.g. `127.0.0.1:0`), spawns [`serve`] on the current tokio runtime,
/// and returns the bound address and the server task.
pub async fn spawn(addr: SocketAddr) -> io::Result<(SocketAddr, JoinHandle<io::Result<()>>)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    Ok((bound, tokio::spawn(serve(listener))))
}

/// Waits a little after an accept error that is not about one connection
/// (e.g. out of file descriptors), so the loop does not spin.
async fn pause_after(error: &io::Error) {
    let per_connection = matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    );
    if !per_connection {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
