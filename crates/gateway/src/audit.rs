//! The audit log: one JSON line per request and per config or admin event, written off
//! the hot path through a bounded queue whose overflow is counted, never waited on.

use std::io::Write;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use prometheus_client::metrics::counter::Counter;
use serde::Serialize;

use crate::config::AuditConfig;

/// One audit record.
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A request and the decision taken on it.
    Request(Box<RequestEvent>),
    /// A config load or reload.
    Config {
        /// When.
        #[serde(serialize_with = "rfc3339")]
        time: SystemTime,
        /// `loaded` or `rejected`.
        result: &'static str,
        /// The config version hash (loaded) or the error text (rejected).
        detail: String,
        /// What asked for it: `start`, `signal`, `watch`, `admin`.
        trigger: &'static str,
    },
    /// An admin API call.
    Admin {
        /// When.
        #[serde(serialize_with = "rfc3339")]
        time: SystemTime,
        /// Endpoint path.
        endpoint: String,
        /// HTTP status returned.
        status: u16,
        /// Caller address.
        client_ip: IpAddr,
    },
}

/// What the audit log says about one request. Never bodies, tokens or cookies.
#[derive(Debug, Serialize)]
pub struct RequestEvent {
    /// Arrival time.
    #[serde(serialize_with = "rfc3339")]
    pub time: SystemTime,
    /// The request id returned to the client.
    pub request_id: Arc<str>,
    /// Client address (through trusted proxies).
    pub client_ip: IpAddr,
    /// Method.
    pub method: String,
    /// HTTP version.
    pub protocol: &'static str,
    /// API name, when routed.
    pub api: Option<Arc<str>>,
    /// Route template, when routed (never the raw path).
    pub route: Option<Arc<str>>,
    /// Operation id, when routed.
    pub operation: Option<Arc<str>>,
    /// Final status sent to the client.
    pub status: u16,
    /// `allow` or `reject`.
    pub decision: &'static str,
    /// The stage that decided.
    pub stage: &'static str,
    /// Why, when rejected or replaced.
    pub reason: Option<String>,
    /// Total time in the gateway, including the response body.
    pub latency_ms: f64,
    /// Upstream group, when forwarded.
    pub upstream: Option<String>,
    /// The upstream's own status.
    pub upstream_status: Option<u16>,
    /// Time to the upstream's response head.
    pub upstream_latency_ms: Option<f64>,
    /// Request body bytes read.
    pub bytes_in: u64,
    /// Response body bytes sent.
    pub bytes_out: u64,
    /// Who, when authenticated (failures are in `reason`: scheme and cause).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthRecord>,
    /// What the authorization policies decided, when the API has some.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authz: Option<AuthzRecord>,
    /// What an injection detector found: the detector and where (never the value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inspection: Option<InspectionRecord>,
    /// What response protection removed or masked (field pointers, never values).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub response: Vec<ResponseAction>,
}

/// An injection finding as the audit log keeps it.
#[derive(Debug, Serialize)]
pub struct InspectionRecord {
    /// The detector (`sqli`, `xss` …).
    pub detector: &'static str,
    /// Where the value was (`/query/q`, `/body/note` …).
    pub location: String,
}

/// One response protection action.
#[derive(Debug, Serialize)]
pub struct ResponseAction {
    /// `write-only`, `undocumented`, `redact:<kind>` …
    pub action: &'static str,
    /// The field's JSON pointer.
    pub field: String,
}

/// An authorization decision as the audit log keeps it.
#[derive(Debug, Serialize)]
pub struct AuthzRecord {
    /// `allow` or `deny`.
    pub decision: &'static str,
    /// `enforce`, or `monitor` (the API's decisions are recorded, not
    /// enforced: a `deny` was let through).
    pub mode: &'static str,
    /// The policies that determined it (empty: no policy permitted it).
    pub policies: Vec<Arc<str>>,
}

/// The verified identity of a request, as the audit log keeps it: never the
/// credential, only what names it.
#[derive(Debug, Serialize)]
pub struct AuthRecord {
    /// `jwt`, `introspection`, `api_key`, `mtls` or `signature`.
    pub method: &'static str,
    /// The subject.
    pub subject: Arc<str>,
    /// The issuer or provider.
    pub issuer: Arc<str>,
    /// The token id (`jti`) or key id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<Arc<str>>,
    /// MFA attested.
    pub mfa: bool,
}

fn rfc3339<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    let dt = time::OffsetDateTime::from(*t);
    let text = dt
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(serde::ser::Error::custom)?;
    s.serialize_str(&text)
}

/// How often the writer drains the queue. Batching keeps the writer from being woken
/// once per request (a context switch per request costs more than the write itself).
const DRAIN_EVERY: std::time::Duration = std::time::Duration::from_millis(20);

/// The audit queue; cheap to clone. Requests push, one writer thread drains.
#[derive(Debug, Clone)]
pub struct Audit {
    queue: Arc<Queue>,
    dropped: Counter,
}

#[derive(Debug)]
struct Queue {
    events: std::sync::Mutex<Vec<Event>>,
    capacity: usize,
}

impl Audit {
    /// Starts the writer. The returned handle finishes once every `Audit` clone is
    /// dropped and the queue is written and flushed.
    pub fn start(
        cfg: &AuditConfig,
        dropped: Counter,
    ) -> std::io::Result<(Audit, tokio::task::JoinHandle<()>)> {
        let file = match &cfg.file {
            Some(p) => Some(open(p)?),
            None => None,
        };
        let queue = Arc::new(Queue {
            events: std::sync::Mutex::new(Vec::with_capacity(1024)),
            capacity: cfg.queue_capacity,
        });
        let handle = tokio::task::spawn_blocking({
            let (queue, stdout) = (queue.clone(), cfg.stdout);
            move || write_loop(&queue, file, stdout)
        });
        Ok((Audit { queue, dropped }, handle))
    }

    /// Queues an event; when the queue is full the event is dropped and counted.
    pub fn record(&self, e: Event) {
        let mut events = self
            .queue
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if events.len() < self.queue.capacity {
            events.push(e);
        } else {
            drop(events);
            self.dropped.inc();
        }
    }
}

fn open(p: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
}

fn write_loop(queue: &Arc<Queue>, file: Option<std::fs::File>, stdout: bool) {
    let mut file = file.map(|f| std::io::BufWriter::with_capacity(64 * 1024, f));
    let mut batch = Vec::with_capacity(1024);
    let mut line = Vec::with_capacity(512);
    loop {
        // Only the writer holds the queue once every sender is gone: drain and stop.
        let last = Arc::strong_count(queue) == 1;
        std::mem::swap(
            &mut *queue
                .events
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            &mut batch,
        );
        for e in batch.drain(..) {
            line.clear();
            if serde_json::to_writer(&mut line, &e).is_ok() {
                line.push(b'\n');
                if let Some(f) = file.as_mut() {
                    let _ = f.write_all(&line);
                }
                if stdout {
                    let _ = std::io::stdout().lock().write_all(&line);
                }
            }
        }
        if let Some(f) = file.as_mut() {
            let _ = f.flush();
        }
        if last {
            return;
        }
        std::thread::sleep(DRAIN_EVERY);
    }
}
