//! What one request's stages learn, carried from arrival to the audit record.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use tokio::time::Instant;

use crate::problem::Reject;
use crate::route::Operation;

/// Per-request context: stages read and enrich it; nothing else is shared between them.
#[derive(Debug)]
pub struct Exchange {
    /// Arrival (wall clock, for the audit timestamp).
    pub time: SystemTime,
    /// Arrival (monotonic, for latency).
    pub started: Instant,
    /// The id returned to the client and sent upstream.
    pub request_id: Arc<str>,
    /// Client address through trusted proxies.
    pub client_ip: IpAddr,
    /// Method, as received.
    pub method: http::Method,
    /// HTTP version of the client connection.
    pub version: http::Version,
    /// The stage currently running (or that decided).
    pub stage: &'static str,
    /// The matched operation.
    pub operation: Option<Arc<Operation>>,
    /// Why the request was refused or its response replaced.
    pub reject: Option<Reject>,
    /// A decision recorded but not enforced (monitor mode).
    pub monitored: Option<Reject>,
    /// Who the request comes from, once authenticated.
    pub principal: Option<Arc<crate::authn::Principal>>,
    /// What the API's authorization policies decided, when it has some.
    pub authz: Option<crate::authz::Outcome>,
    /// What an injection detector found (detector, location), enforced or monitored.
    pub inspection: Option<(&'static str, String)>,
    /// What response protection did: (action, JSON pointer of the field), e.g.
    /// `("write-only", "/password")`, `("redact:card", "/cards/0/number")`.
    pub response_actions: Vec<(&'static str, String)>,
    /// Upstream group, status and time to response head, when forwarded.
    pub upstream: Option<(String, u16, f64)>,
    /// Request body bytes read (shared with the body wrapper).
    pub bytes_in: Arc<AtomicU64>,
    /// `RateLimit-Policy` and `RateLimit` for the response, when limits counted it.
    pub rate_headers: Option<(http::HeaderValue, http::HeaderValue)>,
    /// Concurrency slots held until the response has been sent (dropped with
    /// the exchange, when the audit record is written).
    pub permits: Vec<crate::limit::concurrency::Permit>,
}

impl Exchange {
    /// Starts the exchange for a request that just arrived.
    pub fn new(
        request_id: Arc<str>,
        client_ip: IpAddr,
        method: http::Method,
        version: http::Version,
    ) -> Exchange {
        Exchange {
            time: SystemTime::now(),
            started: Instant::now(),
            request_id,
            client_ip,
            method,
            version,
            stage: "accept",
            operation: None,
            reject: None,
            monitored: None,
            principal: None,
            authz: None,
            inspection: None,
            response_actions: Vec::new(),
            upstream: None,
            bytes_in: Arc::new(AtomicU64::new(0)),
            rate_headers: None,
            permits: Vec::new(),
        }
    }
}

/// Request ids: unique per process run and cheap (a random prefix and a counter).
#[derive(Debug)]
pub struct RequestIds {
    prefix: u64,
    next: AtomicU64,
}

impl Default for RequestIds {
    fn default() -> Self {
        let mut seed = [0u8; 8];
        // The ids need uniqueness across restarts, not secrecy; fall back to the clock.
        if aws_lc_rs::rand::fill(&mut seed).is_err() {
            let nanos = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            seed = (nanos as u64).to_le_bytes();
        }
        RequestIds {
            prefix: u64::from_le_bytes(seed),
            next: AtomicU64::new(1),
        }
    }
}

impl RequestIds {
    /// A new id: 32 lower-case hex digits.
    pub fn next(&self) -> Arc<str> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut out = [0u8; 32];
        for (i, word) in [self.prefix, n].into_iter().enumerate() {
            for j in 0..16 {
                out[i * 16 + j] = DIGITS[((word >> (60 - 4 * j)) & 15) as usize];
            }
        }
        // Only ASCII hex digits were written.
        std::str::from_utf8(&out).unwrap_or("0").into()
    }

    /// An incoming id is kept (from a trusted proxy) only if it is short and plain.
    pub fn acceptable(id: &[u8]) -> bool {
        (1..=128).contains(&id.len())
            && id
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_hex_digits_and_unique() {
        let ids = RequestIds {
            prefix: 0x0123_4567_89ab_cdef,
            next: AtomicU64::new(0xff),
        };
        assert_eq!(&*ids.next(), "0123456789abcdef00000000000000ff");
        assert_eq!(&*ids.next(), "0123456789abcdef0000000000000100");
        assert!(RequestIds::acceptable(b"edge-42"));
        assert!(!RequestIds::acceptable(b"a b") && !RequestIds::acceptable(b""));
    }
}
