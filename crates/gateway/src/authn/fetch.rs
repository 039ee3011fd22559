//! Small, bounded HTTP(S) requests to identity providers: JWKS, OIDC discovery,
//! token introspection. Every call has a deadline and a body size cap; redirects
//! are not followed (a redirect is an error), so a provider cannot bounce the
//! gateway to an address nobody configured.

use std::net::IpAddr;
use std::time::Duration;

use crate::forward::Connector;
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls_pki_types::CertificateDer;

/// A client for provider endpoints (public roots, or a configured CA bundle).
#[derive(Clone, Debug)]
pub struct Fetcher {
    client: Client<Connector, Full<Bytes>>,
    timeout: Duration,
    max_bytes: usize,
}

/// A fetched response (status 2xx only).
#[derive(Debug)]
pub struct Fetched {
    /// The status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The whole body (at most the cap).
    pub body: Bytes,
}

/// Why a fetch failed. Messages never include request bodies or credentials.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No response within the deadline.
    #[error("no response within {0:?}")]
    Timeout(Duration),
    /// Connection or protocol failure.
    #[error("request failed: {0}")]
    Transport(String),
    /// A non-2xx status (redirects included: they are not followed).
    #[error("status {0}")]
    Status(StatusCode),
    /// The body is larger than the cap.
    #[error("body larger than {0} bytes")]
    TooLarge(usize),
}

/// An identity provider endpoint (keys, discovery, introspection): `https`, or
/// `http` to a loopback host only (keys or answers fetched in clear over a network
/// could be swapped in transit), and no credentials in the URL.
pub fn endpoint(text: &str) -> Result<Uri, String> {
    let uri: Uri = text.parse().map_err(|_| {
        format!(
            "`{}` is not a URL",
            text.chars().take(200).collect::<String>()
        )
    })?;
    let host = uri.host().ok_or("the URL has no host")?;
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err("the URL must not carry credentials".into());
    }
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if is_loopback(host) => Ok(uri),
        Some("http") => Err(
            "plain http is allowed only to a loopback host (127.0.0.1, ::1, localhost); use https"
                .into(),
        ),
        _ => Err("must be an https URL".into()),
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Fetcher {
    /// A client with a connect timeout, a whole-request deadline and a body cap.
    pub fn new(
        ca_bundle: Option<&[CertificateDer<'static>]>,
        timeout: Duration,
        max_bytes: usize,
    ) -> Result<Fetcher, String> {
        let connector = crate::forward::connector(ca_bundle, timeout, false)?;
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(4)
            .build(connector);
        Ok(Fetcher {
            client,
            timeout,
            max_bytes,
        })
    }

    /// `GET uri` with `Accept: application/json`.
    pub async fn get(&self, uri: &Uri) -> Result<Fetched, FetchError> {
        let req = Request::get(uri.clone())
            .header(http::header::ACCEPT, "application/json")
            .body(Full::new(Bytes::new()))
            .map_err(|e| FetchError::Transport(e.to_string()))?;
        self.send(req).await
    }

    /// Sends a request and reads the whole body, within the deadline and the cap.
    pub async fn send(&self, req: Request<Full<Bytes>>) -> Result<Fetched, FetchError> {
        let max = self.max_bytes;
        let work = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| FetchError::Transport(crate::forward::cause(&e)))?;
            let status = resp.status();
            if !status.is_success() {
                return Err(FetchError::Status(status));
            }
            if let Some(len) = resp
                .headers()
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                && len > max as u64
            {
                return Err(FetchError::TooLarge(max));
            }
            let (parts, body) = resp.into_parts();
            let body = Limited::new(body, max)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        FetchError::TooLarge(max)
                    } else {
                        FetchError::Transport(e.to_string())
                    }
                })?
                .to_bytes();
            Ok(Fetched {
                status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| FetchError::Timeout(self.timeout))?
    }
}
