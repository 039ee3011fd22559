//! Prometheus metrics: an explicit registry, labels only from config (never raw paths).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    api: String,
    operation: String,
    status_class: String,
    decision: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    api: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabels {
    upstream: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AuthLabels {
    api: String,
    method: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabels {
    provider: String,
    call: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AuthzLabels {
    api: String,
    operation: String,
    decision: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DenialLabels {
    api: String,
    operation: String,
    policy: String,
    mode: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ContractLabels {
    api: String,
    operation: String,
    check: String,
    outcome: String,
    mode: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    api: String,
    limit: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabels {
    store: String,
    event: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoginLabels {
    api: String,
    operation: String,
    event: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: String,
}

/// All of the gateway's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    upstream_errors: Family<UpstreamLabels, Counter>,
    reloads: Family<ResultLabels, Counter>,
    auth: Family<AuthLabels, Counter>,
    provider_calls: Family<ProviderLabels, Counter>,
    authz: Family<AuthzLabels, Counter>,
    denials: Family<DenialLabels, Counter>,
    contract: Family<ContractLabels, Counter>,
    limits: Family<LimitLabels, Counter>,
    store: Family<StoreLabels, Counter>,
    login: Family<LoginLabels, Counter>,
    /// Whether the shared store (Redis) is reachable: 1 up, 0 down (absent
    /// without a shared store).
    pub store_up: Gauge,
    /// Requests refused by the pre-authentication flood guard.
    pub flood_rejected: Counter,
    /// Open client connections.
    pub open_connections: Gauge,
    /// Audit events dropped because the queue was full.
    pub audit_dropped: Counter,
}

/// Pre-resolved handles for one route, so the hot path does no label lookups.
#[derive(Debug, Clone)]
pub struct RouteMetrics {
    /// `[status class 1..=5][allow, reject]`.
    requests: [[Counter; 2]; 5],
    latency: Histogram,
    /// Authorization decisions: `[allow, deny, monitored deny]`.
    authz: [Counter; 3],
}

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every family registered.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("portcullis");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let upstream_errors = Family::<UpstreamLabels, Counter>::default();
        let reloads = Family::<ResultLabels, Counter>::default();
        let auth = Family::<AuthLabels, Counter>::default();
        let provider_calls = Family::<ProviderLabels, Counter>::default();
        let authz = Family::<AuthzLabels, Counter>::default();
        let denials = Family::<DenialLabels, Counter>::default();
        let contract = Family::<ContractLabels, Counter>::default();
        let limits = Family::<LimitLabels, Counter>::default();
        let store = Family::<StoreLabels, Counter>::default();
        let login = Family::<LoginLabels, Counter>::default();
        let store_up = Gauge::default();
        let flood_rejected = Counter::default();
        registry.register(
            "limit_decisions",
            "Traffic-control decisions by API, limit (rate limit, quota or concurrency \
             limit name from config) and outcome (`admitted`, `delayed`, `rejected`, \
             `store_error_open`, `store_error_closed`, `store_error_local`)",
            limits.clone(),
        );
        registry.register(
            "store_events",
            "Shared-store (Redis) events by store and event (`call_ok`, `call_error`, \
             `call_timeout`, `skipped_down`, `down`, `up`: the last two are transitions)",
            store.clone(),
        );
        registry.register(
            "store_up",
            "Whether the shared store (Redis) is reachable (1) or not (0)",
            store_up.clone(),
        );
        registry.register(
            "flood_rejected",
            "Requests refused by the per-IP flood guard before authentication",
            flood_rejected.clone(),
        );
        registry.register(
            "login_events",
            "Login defence events by API, operation and event (`success`, `failure`, \
             `locked`, `refused_locked`, `delayed`, `inconclusive`, `breached_refused`, \
             `breached_flagged`, `breached_error`)",
            login.clone(),
        );
        registry.register(
            "contract_actions",
            "Contract enforcement by API, operation, check (`validation`, `inspection`, \
             `response`, `cors`), outcome (the violation kind, the detector, the response \
             action) and mode (`enforce` or `monitor`)",
            contract.clone(),
        );
        registry.register(
            "authz_decisions",
            "Authorization decisions by API, operation and decision (`allow`, `deny`, \
             `monitor_deny`: denied but let through in monitor mode)",
            authz.clone(),
        );
        registry.register(
            "authz_denials",
            "Authorization denials by API, operation, the policy that determined them \
             (`default-deny` when no policy permitted) and mode",
            denials.clone(),
        );
        registry.register(
            "auth",
            "Authentication outcomes by API, method and result (`success` or the failure reason)",
            auth.clone(),
        );
        registry.register(
            "identity_provider_calls",
            "Calls to identity providers (JWKS, discovery, introspection) by result",
            provider_calls.clone(),
        );
        let open_connections = Gauge::default();
        let audit_dropped = Counter::default();
        registry.register(
            "requests",
            "Requests by API, operation, status class and decision",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Request latency by route template",
            latency.clone(),
        );
        registry.register(
            "upstream_errors",
            "Upstream failures by upstream and kind",
            upstream_errors.clone(),
        );
        registry.register(
            "config_reloads",
            "Config reloads by result",
            reloads.clone(),
        );
        registry.register(
            "open_connections",
            "Open client connections",
            open_connections.clone(),
        );
        registry.register(
            "audit_dropped_events",
            "Audit events dropped because the queue was full",
            audit_dropped.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            upstream_errors,
            reloads,
            auth,
            provider_calls,
            authz,
            denials,
            contract,
            limits,
            store,
            login,
            store_up,
            flood_rejected,
            open_connections,
            audit_dropped,
        }
    }

    /// Handles for a route (`api`/`operation`/`route` come from config, bounded).
    pub fn route(&self, api: &str, operation: &str, route: &str) -> RouteMetrics {
        let classes = ["1xx", "2xx", "3xx", "4xx", "5xx"];
        let requests = classes.map(|class| {
            ["allow", "reject"].map(|decision| {
                self.requests
                    .get_or_create(&RequestLabels {
                        api: api.into(),
                        operation: operation.into(),
                        status_class: class.into(),
                        decision: decision.into(),
                    })
                    .clone()
            })
        });
        let latency = self
            .latency
            .get_or_create(&RouteLabels {
                api: api.into(),
                route: route.into(),
            })
            .clone();
        let authz = ["allow", "deny", "monitor_deny"].map(|decision| {
            self.authz
                .get_or_create(&AuthzLabels {
                    api: api.into(),
                    operation: operation.into(),
                    decision: decision.into(),
                })
                .clone()
        });
        RouteMetrics {
            requests,
            latency,
            authz,
        }
    }

    /// Counts an authorization denial by the policy that determined it (each
    /// of them, when several did); `enforced` false: monitor mode.
    pub fn denial(
        &self,
        api: &str,
        operation: &str,
        policies: &[std::sync::Arc<str>],
        enforced: bool,
    ) {
        let mode = if enforced { "enforce" } else { "monitor" };
        let default = policies.is_empty().then_some("default-deny");
        for policy in policies.iter().map(|p| &**p).chain(default) {
            self.denials
                .get_or_create(&DenialLabels {
                    api: api.into(),
                    operation: operation.into(),
                    policy: policy.into(),
                    mode: mode.into(),
                })
                .inc();
        }
    }

    /// Counts a contract action: a refused request (validation, inspection,
    /// CORS) or a response field removed or masked. Every label value comes
    /// from config or a fixed set, so the series are bounded.
    pub fn contract(&self, api: &str, operation: &str, check: &str, outcome: &str, enforced: bool) {
        self.contract
            .get_or_create(&ContractLabels {
                api: api.into(),
                operation: operation.into(),
                check: check.into(),
                outcome: outcome.into(),
                mode: if enforced { "enforce" } else { "monitor" }.into(),
            })
            .inc();
    }

    /// Counts a traffic-control decision (`limit` is a name from config).
    pub fn limit(&self, api: &str, limit: &str, outcome: &str) {
        self.limits
            .get_or_create(&LimitLabels {
                api: api.into(),
                limit: limit.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    /// Counts a shared-store event (a call's result, or a transition).
    pub fn store_event(&self, store: &str, event: &str) {
        self.store
            .get_or_create(&StoreLabels {
                store: store.into(),
                event: event.into(),
            })
            .inc();
    }

    /// Counts a login-defence event.
    pub fn login(&self, api: &str, operation: &str, event: &str) {
        self.login
            .get_or_create(&LoginLabels {
                api: api.into(),
                operation: operation.into(),
                event: event.into(),
            })
            .inc();
    }

    /// Counts an upstream failure.
    pub fn upstream_error(&self, upstream: &str, kind: &str) {
        self.upstream_errors
            .get_or_create(&UpstreamLabels {
                upstream: upstream.into(),
                kind: kind.into(),
            })
            .inc();
    }

    /// Counts an authentication outcome: `result` is `success` or a
    /// [`Failure`](crate::authn::Failure) name; `method` an auth method or scheme kind.
    pub fn auth(&self, api: &str, method: &str, result: &str) {
        self.auth_counter(api, method, result).inc();
    }

    /// The counter of one authentication outcome, to keep and increment without
    /// a label lookup (the success counter of each bound scheme, on the hot path).
    pub fn auth_counter(&self, api: &str, method: &str, result: &str) -> Counter {
        self.auth
            .get_or_create(&AuthLabels {
                api: api.into(),
                method: method.into(),
                result: result.into(),
            })
            .clone()
    }

    /// Counts a call to an identity provider: `call` is `jwks`, `discovery` or
    /// `introspection`; `result` is `ok` or a short error kind (`timeout`, `status`,
    /// `transport`, `too_large`, `invalid`).
    pub fn provider_call(&self, provider: &str, call: &str, result: &str) {
        self.provider_calls
            .get_or_create(&ProviderLabels {
                provider: provider.into(),
                call: call.into(),
                result: result.into(),
            })
            .inc();
    }

    /// Counts a reload attempt.
    pub fn reload(&self, ok: bool) {
        let result = if ok { "success" } else { "failure" };
        self.reloads
            .get_or_create(&ResultLabels {
                result: result.into(),
            })
            .inc();
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

impl RouteMetrics {
    /// Records one finished request.
    pub fn observe(&self, status: u16, allowed: bool, seconds: f64) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.requests[class][usize::from(!allowed)].inc();
        self.latency.observe(seconds);
    }

    /// Counts an authorization decision (`enforced` false: monitor mode).
    pub fn authz(&self, allowed: bool, enforced: bool) {
        let i = match (allowed, enforced) {
            (true, _) => 0,
            (false, true) => 1,
            (false, false) => 2,
        };
        self.authz[i].inc();
    }
}
