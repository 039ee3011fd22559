//! A deliberately naive banking API: the upstream that Portcullis protects in demos and tests.
//!
//! The bank trusts the identity the gateway passes in `X-Portcullis-Subject`
//! (or, opted into with [`BankOptions::identity`], the gateway-signed token in
//! `X-Portcullis-Identity`, verified with the gateway's published keys) and
//! checks nothing else itself: any caller reads any account (BOLA), reaches the
//! admin area (BFLA), sets extra fields on transfers and chooses the owner and
//! balance of a new account or their own roles (mass assignment), gets
//! passwords, PINs, full card numbers and password hashes back (excessive data
//! exposure), sees stack traces, and finds an undocumented `/debug/env`. That
//! is the point: what the gateway blocks is visible. Never expose it to a network.
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

mod accounts;
mod form;
mod identity;
mod leaks;
mod reply;
mod routes;
mod state;
mod support;
mod transfer;
mod users;

pub use identity::{DEFAULT_AUDIENCE, DEFAULT_ISSUER, DEFAULT_REFETCH_INTERVAL, IdentityCheck};

use identity::Verifier;
use state::Bank;

/// The bank's OpenAPI 3.1 spec: every documented operation, none of the hidden ones.
pub const OPENAPI_SPEC: &str = include_str!("../openapi.yaml");

/// How the bank learns who is calling.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BankOptions {
    /// `None` (the default): the caller is the `X-Portcullis-Subject` header,
    /// trusted blindly, and a request without it is anonymous. `Some`: every
    /// request but the public ones needs a valid `X-Portcullis-Identity` token
    /// and the caller is its `sub` ("zero trust to the upstream").
    pub identity: Option<IdentityCheck>,
}

impl BankOptions {
    /// Options that verify identity tokens with the JWK set at `jwks_url`
    /// (e.g. `http://127.0.0.1:9901/.well-known/jwks.json`), expecting the
    /// default issuer ([`DEFAULT_ISSUER`]) and audience ([`DEFAULT_AUDIENCE`]).
    pub fn verifying(jwks_url: impl Into<String>) -> Self {
        BankOptions {
            identity: Some(IdentityCheck::new(jwks_url)),
        }
    }
}

/// Serves the bank on an already-bound listener until the future is dropped or its task aborted.
///
/// Each call starts from fresh demo data. HTTP/1.1 and HTTP/2 (including
/// prior-knowledge h2c) are both accepted. Open connections are closed when
/// the future is dropped. The caller is named by `X-Portcullis-Subject`, as
/// with [`BankOptions::default`].
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    serve_with(listener, BankOptions::default()).await
}

/// [`serve`] with options; fails at once (`InvalidInput`) if they are invalid
/// (see [`IdentityCheck::validate`]).
pub async fn serve_with(listener: TcpListener, options: BankOptions) -> io::Result<()> {
    let app = App::new(&options)?;
    run(listener, app).await
}

/// Binds `addr` (e.g. `127.0.0.1:0`), spawns [`serve`] on the current tokio runtime,
/// and returns the bound address and the server task.
pub async fn spawn(addr: SocketAddr) -> io::Result<(SocketAddr, JoinHandle<io::Result<()>>)> {
    spawn_with(addr, BankOptions::default()).await
}

/// [`spawn`] with options; invalid options fail before binding.
pub async fn spawn_with(
    addr: SocketAddr,
    options: BankOptions,
) -> io::Result<(SocketAddr, JoinHandle<io::Result<()>>)> {
    let app = App::new(&options)?;
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    Ok((bound, tokio::spawn(run(listener, app))))
}

/// One server's state: the bank, and the identity verifier if enabled.
pub(crate) struct App {
    pub(crate) bank: Mutex<Bank>,
    pub(crate) verifier: Option<Verifier>,
}

impl App {
    fn new(options: &BankOptions) -> io::Result<Arc<Self>> {
        let verifier = options.identity.as_ref().map(Verifier::new).transpose()?;
        Ok(Arc::new(App {
            bank: Mutex::new(Bank::seeded()),
            verifier,
        }))
    }
}

/// The accept loop.
async fn run(listener: TcpListener, app: Arc<App>) -> io::Result<()> {
    let builder = auto::Builder::new(TokioExecutor::new());
    // Owning the connection tasks here means dropping `serve` ends them too.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    // Best effort: a socket that refuses TCP_NODELAY still works.
                    let _ = stream.set_nodelay(true);
                    let app = Arc::clone(&app);
                    let builder = builder.clone();
                    connections.spawn(async move {
                        let service = service_fn(move |request| {
                            let app = Arc::clone(&app);
                            async move { Ok::<_, Infallible>(routes::handle(&app, request).await) }
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
