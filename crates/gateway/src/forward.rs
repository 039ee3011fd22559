//! Forwarding: upstream pools with round-robin, passive health, timeouts and safe retries.

mod headers;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use http::{HeaderValue, Method, Request, Response, Uri, header};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::time::Instant;

use crate::body::{self, Body};
use crate::config::UpstreamConfig;
use crate::problem::Reject;
use crate::tls;

pub use headers::{remove_hop_by_hop, strip_identity_headers};

pub(crate) type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// A group of upstream targets and the client that reaches them.
#[derive(Debug)]
pub struct Upstream {
    /// Config name of the group.
    pub name: String,
    targets: Vec<Target>,
    next: AtomicUsize,
    client: Client<Connector, Body>,
    cfg: UpstreamConfig,
    epoch: Instant,
    /// The group's concurrency limit (`upstreams.<name>.concurrency`), shared
    /// by every runtime whose config of it is the same (a reload does not
    /// reset what is in flight).
    pub gate: Option<Arc<crate::limit::concurrency::Gate>>,
}

#[derive(Debug)]
struct Target {
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    host_header: HeaderValue,
    prefix: String,
    failures: AtomicU32,
    down_until_ms: AtomicU64,
}

/// What the pipeline needs to send one request.
pub struct Outbound {
    /// Method.
    pub method: Method,
    /// Canonical path (base path already stripped if configured) plus `?query`.
    pub path_and_query: String,
    /// Headers, already cleaned of hop-by-hop and spoofable ones.
    pub headers: http::HeaderMap,
    /// The body; `None` when the request has none (retries allowed).
    pub body: Option<Body>,
    /// Turns true once the client's body has been read to its end.
    pub body_done: Option<Arc<AtomicBool>>,
}

/// A response from a target, and which target answered.
pub struct Inbound {
    /// The upstream's response.
    pub response: Response<Incoming>,
    /// Time to the response head.
    pub latency: Duration,
}

impl Upstream {
    /// Builds the group and its connection pool.
    pub fn new(cfg: &UpstreamConfig) -> Result<Upstream, String> {
        let connector = connector(cfg.ca_bundle.as_deref(), cfg.connect_timeout, cfg.http2)?;
        let mut builder = Client::builder(TokioExecutor::new());
        builder
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(cfg.pool_idle_timeout)
            .pool_max_idle_per_host(cfg.pool_max_idle)
            .http2_only(cfg.http2)
            .set_host(false);
        let client = builder.build(connector);
        let targets = cfg
            .targets
            .iter()
            .map(|u| {
                let authority = u.authority().cloned().ok_or("target without host")?;
                Ok(Target {
                    scheme: u.scheme().cloned().unwrap_or(http::uri::Scheme::HTTP),
                    host_header: HeaderValue::try_from(authority.as_str())
                        .map_err(|e| e.to_string())?,
                    authority,
                    prefix: u.path().trim_end_matches('/').to_owned(),
                    failures: AtomicU32::new(0),
                    down_until_ms: AtomicU64::new(0),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Upstream {
            gate: None,
            name: cfg.name.clone(),
            targets,
            next: AtomicUsize::new(0),
            client,
            cfg: cfg.clone(),
            epoch: Instant::now(),
        })
    }

    /// Sends a request, retrying only when that cannot repeat a side effect: the
    /// request has no body and either the connection never opened or the method is
    /// idempotent and no response arrived.
    pub async fn send(&self, out: Outbound) -> Result<Inbound, Reject> {
        let Outbound {
            method,
            path_and_query,
            mut headers,
            mut body,
            body_done,
        } = out;
        let retryable = body.is_none();
        let attempts = if retryable { 1 + self.cfg.retries } else { 1 };
        let mut last = Reject::UpstreamUnavailable {
            upstream: self.name.clone(),
            cause: "no target".into(),
        };
        let unprefixed = http::uri::PathAndQuery::try_from(path_and_query.as_str())
            .map_err(|_| Reject::Malformed("request target cannot be forwarded"))?;
        for attempt in 0..attempts {
            let t = self.pick(attempt as usize);
            let target = &self.targets[t];
            let paq = if target.prefix.is_empty() {
                unprefixed.clone()
            } else {
                http::uri::PathAndQuery::try_from(format!("{}{path_and_query}", target.prefix))
                    .map_err(|_| Reject::Malformed("request target cannot be forwarded"))?
            };
            let uri = Uri::builder()
                .scheme(target.scheme.clone())
                .authority(target.authority.clone())
                .path_and_query(paq)
                .build()
                .map_err(|_| Reject::Malformed("request target cannot be forwarded"))?;
            if !self.cfg.preserve_host || !headers.contains_key(header::HOST) {
                headers.insert(header::HOST, target.host_header.clone());
            }
            let last_try = attempt + 1 == attempts;
            let mut req = Request::new(body.take().unwrap_or_else(body::empty));
            *req.method_mut() = method.clone();
            *req.uri_mut() = uri;
            *req.headers_mut() = if last_try {
                std::mem::take(&mut headers)
            } else {
                headers.clone()
            };
            let started = Instant::now();
            match tokio::time::timeout(self.cfg.timeout, self.client.request(req)).await {
                Ok(Ok(response)) => {
                    self.succeeded(t);
                    return Ok(Inbound {
                        response,
                        latency: started.elapsed(),
                    });
                }
                Ok(Err(e)) => {
                    if body_too_large(&e) {
                        return Err(Reject::PayloadTooLarge);
                    }
                    if client_body_failed(&e) {
                        // Bad chunked framing or a client gone mid-body: the client's
                        // fault, not the target's (and no reason to take it out).
                        return Err(Reject::Malformed("request body could not be read"));
                    }
                    let connect = e.is_connect();
                    self.failed(t);
                    tracing::debug!(upstream = %self.name, error = %e, "upstream request failed");
                    last = Reject::UpstreamUnavailable {
                        upstream: self.name.clone(),
                        cause: cause(&e),
                    };
                    if !(retryable && (connect || is_idempotent(&method))) {
                        break;
                    }
                }
                Err(_) => {
                    // A client still sending its body is slow, not the target.
                    if body_done.as_ref().is_none_or(|d| d.load(Ordering::Relaxed)) {
                        self.failed(t);
                    }
                    last = Reject::UpstreamTimeout {
                        upstream: self.name.clone(),
                    };
                    if !(retryable && is_idempotent(&method)) {
                        break;
                    }
                }
            }
        }
        Err(last)
    }

    /// Round-robin over healthy targets; if every target is out, all are tried
    /// (an outage of the health signal must not become an outage of the API).
    fn pick(&self, attempt: usize) -> usize {
        let n = self.targets.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let now = self.now_ms();
        (0..n)
            .map(|i| (start + i) % n)
            .find(|&i| self.targets[i].down_until_ms.load(Ordering::Relaxed) <= now)
            .unwrap_or((start + attempt) % n)
    }

    fn succeeded(&self, t: usize) {
        let target = &self.targets[t];
        if target.failures.load(Ordering::Relaxed) != 0 {
            target.failures.store(0, Ordering::Relaxed);
        }
    }

    fn failed(&self, t: usize) {
        let target = &self.targets[t];
        let n = target.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= self.cfg.max_failures {
            let until = self.now_ms() + self.cfg.failure_cooldown.as_millis() as u64;
            target.down_until_ms.store(until, Ordering::Relaxed);
            target.failures.store(0, Ordering::Relaxed);
            tracing::warn!(upstream = %self.name, target = %target.authority, "target taken out of rotation after {n} failures");
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Targets currently out of rotation (for `/readyz`).
    pub fn down_targets(&self) -> Vec<String> {
        let now = self.now_ms();
        self.targets
            .iter()
            .filter(|t| t.down_until_ms.load(Ordering::Relaxed) > now)
            .map(|t| t.authority.to_string())
            .collect()
    }
}

fn is_idempotent(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    )
}

/// Whether the request failed because the client's body exceeded the limit.
fn body_too_large(e: &(dyn std::error::Error + 'static)) -> bool {
    any_source(e, |err| err.is::<http_body_util::LengthLimitError>())
}

/// Whether reading the client's request body failed while it was being sent. On the
/// client side, the only hyper user error that carries a cause is the body's.
fn client_body_failed(e: &(dyn std::error::Error + 'static)) -> bool {
    any_source(e, |err| {
        err.downcast_ref::<hyper::Error>()
            .is_some_and(|h| h.is_user() && std::error::Error::source(h).is_some())
    })
}

/// Whether `e` or any error in its source chain satisfies `pred`.
fn any_source(
    e: &(dyn std::error::Error + 'static),
    pred: impl Fn(&(dyn std::error::Error + 'static)) -> bool,
) -> bool {
    std::iter::successors(Some(e), |err| err.source()).any(pred)
}

/// A short, secret-free cause for the audit log.
pub(crate) fn cause(e: &hyper_util::client::legacy::Error) -> String {
    let mut s = e.to_string();
    let mut cur = std::error::Error::source(e);
    while let Some(err) = cur {
        s.push_str(": ");
        s.push_str(&err.to_string());
        cur = err.source();
    }
    s.truncate(200);
    s
}

/// An http-or-https connector: TCP with `TCP_NODELAY` and a connect timeout, TLS
/// against `ca_bundle` (public roots without one), HTTP/1.1 or HTTP/2 only.
pub(crate) fn connector(
    ca_bundle: Option<&[rustls_pki_types::CertificateDer<'static>]>,
    connect_timeout: Duration,
    http2: bool,
) -> Result<Connector, String> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    let b = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls::client_config(ca_bundle)?)
        .https_or_http();
    Ok(if http2 {
        b.enable_http2().wrap_connector(http)
    } else {
        b.enable_http1().wrap_connector(http)
    })
}

/// Shared by all upstreams of a runtime.
pub type Upstreams = std::collections::HashMap<String, Arc<Upstream>>;
