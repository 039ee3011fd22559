//! The last stage: when the response body ends (or the client goes away), one audit
//! event and the request's metrics are recorded.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};

use crate::audit::{Audit, Event, RequestEvent};
use crate::body::{Body, BoxError};
use crate::exchange::Exchange;
use crate::metrics::RouteMetrics;

/// A response body that records its exchange when it finishes or is dropped.
pub struct Recorded {
    inner: Body,
    bytes_out: u64,
    pending: Option<Pending>,
}

struct Pending {
    ex: Exchange,
    status: u16,
    api: Option<Arc<str>>,
    metrics: RouteMetrics,
    audit: Audit,
}

impl Recorded {
    /// Wraps `inner`; the record is written once.
    pub fn new(
        inner: Body,
        ex: Exchange,
        status: u16,
        api: Option<Arc<str>>,
        metrics: RouteMetrics,
        audit: Audit,
    ) -> Recorded {
        Recorded {
            inner,
            bytes_out: 0,
            pending: Some(Pending {
                ex,
                status,
                api,
                metrics,
                audit,
            }),
        }
    }

    fn finish(&mut self) {
        let Some(p) = self.pending.take() else { return };
        let ex = p.ex;
        let seconds = ex.started.elapsed().as_secs_f64();
        let allowed = ex.reject.is_none();
        p.metrics.observe(p.status, allowed, seconds);
        let decided = ex.reject.as_ref().or(ex.monitored.as_ref());
        let reason = decided.map(|r| {
            if ex.reject.is_none() {
                format!("monitor: {}", r.reason())
            } else {
                r.reason()
            }
        });
        let op = ex.operation.as_ref();
        let (upstream, upstream_status, upstream_latency_ms) = match ex.upstream {
            Some((name, status, ms)) => (Some(name), Some(status), Some(ms)),
            None => (None, None, None),
        };
        p.audit.record(Event::Request(Box::new(RequestEvent {
            time: ex.time,
            request_id: ex.request_id,
            client_ip: ex.client_ip,
            method: ex.method.to_string(),
            protocol: version(ex.version),
            api: p.api,
            route: op.map(|o| o.template.clone()),
            operation: op.map(|o| o.id.clone()),
            status: p.status,
            decision: if allowed { "allow" } else { "reject" },
            stage: ex.stage,
            reason,
            latency_ms: seconds * 1000.0,
            upstream,
            upstream_status,
            upstream_latency_ms,
            bytes_in: ex.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out,
            auth: ex.principal.map(|p| crate::audit::AuthRecord {
                method: p.method.as_str(),
                subject: p.subject.clone(),
                issuer: p.issuer.clone(),
                credential_id: p.credential_id.clone(),
                mfa: p.mfa,
            }),
            authz: ex.authz.map(|a| crate::audit::AuthzRecord {
                decision: if a.allowed { "allow" } else { "deny" },
                mode: if a.enforced { "enforce" } else { "monitor" },
                policies: a.policies,
            }),
            inspection: ex
                .inspection
                .map(|(detector, location)| crate::audit::InspectionRecord { detector, location }),
            response: ex
                .response_actions
                .into_iter()
                .map(|(action, field)| crate::audit::ResponseAction { action, field })
                .collect(),
        })));
    }
}

fn version(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2",
        http::Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/1.1",
    }
}

impl http_body::Body for Recorded {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(d) = frame.data_ref() {
                    this.bytes_out += d.len() as u64;
                }
            }
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => this.finish(),
            Poll::Pending => {}
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

impl Drop for Recorded {
    fn drop(&mut self) {
        self.finish();
    }
}
