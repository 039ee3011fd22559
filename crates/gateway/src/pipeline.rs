//! The request pipeline: every stage, in order, in one function.
//!
//! ```text
//! flood guard → normalize → route (CORS preflights answered) → authenticate
//!   → authorize → limit → validate → inspect → (login defence) → forward
//!   → respond → record
//! ```
//! Cheap checks come first so that floods and malformed input pay for nothing
//! expensive; the rejection of any stage becomes a problem document in one place
//! (`problem::response`) and every request, allowed or not, one audit event.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use http::{Request, Response, header};
use http_body::Body as _;
use hyper::body::Incoming;

use crate::Gateway;
use crate::authn;
use crate::authz;
use crate::body::{self, Counted};
use crate::client;
use crate::config::Mode;
use crate::exchange::{Exchange, RequestIds};
use crate::forward::{self, Outbound};
use crate::identity;
use crate::inspect;
use crate::normalize;
use crate::problem::{self, Reject};
use crate::record::Recorded;
use crate::respond;
use crate::runtime::Runtime;

/// Facts about the client connection, fixed for its lifetime.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The socket peer.
    pub peer: SocketAddr,
    /// Whether the connection is TLS.
    pub tls: bool,
    /// The peer as the forwarding headers state it.
    pub forwarding: client::Peer,
    /// The client's TLS certificate (leaf), verified against the listener's client CAs.
    pub client_cert: Option<rustls_pki_types::CertificateDer<'static>>,
    /// The last bearer token verified on this connection.
    pub token_memo: authn::memo::TokenMemo,
}

impl Connection {
    /// Facts about a newly accepted connection.
    pub fn new(peer: SocketAddr, tls: bool) -> Connection {
        Connection {
            peer,
            tls,
            forwarding: client::Peer::new(peer.ip(), tls),
            client_cert: None,
            token_memo: authn::memo::TokenMemo::default(),
        }
    }
}

/// Handles one request from arrival to the last byte of its response.
pub async fn handle(gw: &Gateway, conn: &Connection, req: Request<Incoming>) -> Response<Recorded> {
    // One snapshot for the whole request: a reload never changes the rules mid-request.
    let rt = gw.runtime();
    let trusted_peer = client::is_trusted(conn.peer.ip(), &rt.config.trusted_proxies);
    let request_id = match req.headers().get(&client::X_REQUEST_ID) {
        Some(v) if trusted_peer && RequestIds::acceptable(v.as_bytes()) => {
            String::from_utf8_lossy(v.as_bytes()).into()
        }
        _ => gw.ids.next(),
    };
    let client_ip = client::client_ip(conn.peer.ip(), req.headers(), &rt.config.trusted_proxies);
    let mut ex = Exchange::new(request_id, client_ip, req.method().clone(), req.version());
    let version = req.version();
    // For the CORS headers, once the API is known (problem documents get them too).
    let origin = req.headers().get(header::ORIGIN).cloned();

    let mut resp = match run(gw, &rt, conn, trusted_peer, &mut ex, req).await {
        Ok(resp) => resp,
        Err(reject) => refuse(gw, &rt, &mut ex, reject, version),
    };
    if let Some(op) = &ex.operation
        && let Some(cors) = &rt.apis[op.api].cfg.cors
    {
        cors.finish(resp.headers_mut(), origin.as_ref());
    }
    if let Some((policy, current)) = ex.rate_headers.take() {
        resp.headers_mut()
            .insert(http::HeaderName::from_static("ratelimit-policy"), policy);
        resp.headers_mut()
            .insert(http::HeaderName::from_static("ratelimit"), current);
    }
    respond::finish(
        resp.headers_mut(),
        &rt.config.security_headers,
        conn.tls,
        &ex.request_id,
    );

    let (api, metrics) = match &ex.operation {
        Some(op) => (Some(rt.apis[op.api].name.clone()), op.metrics.clone()),
        None => (None, rt.unrouted.clone()),
    };
    let status = resp.status().as_u16();
    resp.map(|b| Recorded::new(b, ex, status, api, metrics, gw.audit.clone()))
}

/// The error boundary: a rejection becomes its problem document, its metric and
/// (through `ex`) its audit reason.
fn refuse(
    gw: &Gateway,
    rt: &Runtime,
    ex: &mut Exchange,
    reject: Reject,
    version: http::Version,
) -> Response<body::Body> {
    match &reject {
        Reject::UpstreamUnavailable { upstream, .. } | Reject::UpstreamTimeout { upstream } => {
            gw.metrics.upstream_error(upstream, reject.kind());
        }
        Reject::UpstreamError { .. } => {
            if let Some(op) = &ex.operation {
                gw.metrics
                    .upstream_error(&rt.apis[op.api].upstream.name, reject.kind());
            }
        }
        _ => {}
    }
    let mut resp = problem::response(&reject, &ex.request_id);
    if reject.closes_connection() && version < http::Version::HTTP_2 {
        resp.headers_mut()
            .insert(header::CONNECTION, http::HeaderValue::from_static("close"));
    }
    ex.reject = Some(reject);
    resp
}

/// The whole request body, within the limit (for checks that need all of it).
async fn read_whole(incoming: Incoming, limit: u64, ex: &Exchange) -> Result<bytes::Bytes, Reject> {
    let limited =
        http_body_util::Limited::new(incoming, usize::try_from(limit).unwrap_or(usize::MAX));
    let bytes = http_body_util::BodyExt::collect(limited)
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                Reject::PayloadTooLarge
            } else {
                Reject::Malformed("the request body could not be read")
            }
        })?
        .to_bytes();
    ex.bytes_in
        .fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::Relaxed);
    Ok(bytes)
}

/// A signed request whose body does not match its `Content-Digest`.
fn digest_reject(failure: authn::Failure) -> Reject {
    Reject::Unauthenticated {
        scheme: "content-digest".into(),
        failure,
        challenges: Vec::new(),
    }
}

async fn run(
    gw: &Gateway,
    rt: &Runtime,
    conn: &Connection,
    trusted_peer: bool,
    ex: &mut Exchange,
    req: Request<Incoming>,
) -> Result<Response<body::Body>, Reject> {
    // flood guard: one counter per address, before any work is done for the
    // request (unroutable and malformed requests count too).
    ex.stage = "flood";
    crate::limit::flood(gw, rt, ex.client_ip)?;

    // normalize: limits and smuggling checks first, and one canonical path that is
    // both what is routed and what is forwarded.
    ex.stage = "normalize";
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    normalize::head(uri_len, req.headers(), &rt.config.limits)?;
    let path = normalize::path(req.uri().path(), &rt.config.normalize)?.into_owned();

    // route: only documented operations exist.
    ex.stage = "route";
    // A CORS preflight for an API with `cors:` is the gateway's to answer,
    // before authentication (it carries no credentials) and whether or not the
    // spec documents `OPTIONS` for the path.
    if let Some(answer) = crate::cors::preflight(gw, rt, &req, &path, ex) {
        return answer;
    }
    let (op, path_params) = {
        let (op, params) = rt.router.lookup(req.method(), &path)?;
        // Only policies, validation and inspection look at path parameters (no
        // allocation for an API without).
        let cfg = &rt.apis[op.api].cfg;
        let path_params: Vec<(&str, &str)> =
            if cfg.authorization.is_some() || cfg.contracts.is_some() || cfg.inspection.is_some() {
                params.iter().collect()
            } else {
                Vec::new()
            };
        (op.clone(), path_params)
    };
    let api = &rt.apis[op.api];
    ex.operation = Some(op.clone());

    // authenticate: the credentials the operation's `security` requires, verified
    // here, before anything reads the body (monitor mode records a failure).
    ex.stage = "authenticate";
    let (mut parts, incoming) = req.into_parts();
    let sent_body = !incoming.is_end_stream();
    if conn.tls {
        // What `@scheme` / `@target-uri` mean for a signed request.
        parts
            .extensions
            .insert(authn::signature::RequestScheme::Https);
    }
    let mut verified = match authn::authenticate(
        &api.name,
        &api.schemes,
        &op.security,
        api.cfg.public_by_default,
        &parts,
        conn,
        &gw.auth,
    )
    .await
    {
        Ok(v) => v,
        Err(reject) => match api.cfg.mode {
            Mode::Enforce => return Err(reject),
            Mode::Monitor => {
                ex.monitored = Some(reject);
                authn::Verified::default()
            }
        },
    };
    // A signed request's body must match its signed `Content-Digest` before the
    // signature (and so the identity) is believed and before any of it goes
    // upstream, and policies that look at body fields need it parsed: then it is
    // read whole, within the body limit.
    // Validation and inspection read it too, when the operation has a body
    // they can check.
    let policies = api.cfg.authorization.as_deref();
    let policy_reads_body = policies.is_some_and(|p| p.needs_body(&op.id));
    let contracts = api.cfg.contracts.as_deref();
    let contract = contracts.and_then(|c| c.for_requests(&op.id));
    let inspection = api.cfg.inspection.as_deref();
    let login = api.cfg.logins.as_deref().and_then(|l| l.rule(&op.id));
    let mut incoming = Some(incoming);
    let mut buffered = None;
    let checks_read_body = !incoming.as_ref().is_some_and(|b| b.is_end_stream())
        && (contract.is_some_and(|c| c.needs_body())
            || login.is_some()
            || inspection.is_some() && inspect::wants_body(&parts.headers));
    if (verified.check_digest || policy_reads_body || checks_read_body)
        && let Some(whole) = incoming.take()
    {
        let limit = contracts
            .and_then(|c| c.max_body_bytes)
            .map_or(rt.config.limits.max_body_bytes, |l| {
                l.min(rt.config.limits.max_body_bytes)
            });
        buffered = Some(read_whole(whole, limit, ex).await?);
    }
    if verified.check_digest
        && let Some(bytes) = &buffered
    {
        let checked = authn::signature::check_digest(&parts.headers, bytes);
        gw.metrics.auth(
            &api.name,
            "signature",
            checked.map_or_else(|f| f.as_str(), |()| "success"),
        );
        if let Err(f) = checked {
            match api.cfg.mode {
                Mode::Enforce => return Err(digest_reject(f)),
                Mode::Monitor => {
                    ex.monitored = Some(digest_reject(f));
                    verified.principal = None;
                }
            }
        }
    }
    ex.principal = verified.principal.clone();

    // authorize: the API's policies decide whether this principal may call this
    // operation on this object (deny by default; monitor mode records a denial).
    ex.stage = "authorize";
    // The response-ownership rule, and whether this API's decisions are enforced.
    let (owner_rule, enforced) = match policies {
        Some(policies) => {
            let enforced = authz::enforced(policies, api.cfg.mode);
            authz::stage(
                gw,
                policies,
                enforced,
                api,
                &op,
                &path,
                &path_params,
                &parts,
                // Only what the policies read is parsed here (a form body read
                // for validation is not JSON).
                buffered.as_deref().filter(|_| policy_reads_body),
                conn,
                ex,
            )?;
            (policies.response_owner(&op.id), enforced)
        }
        None => (None, true),
    };

    // limit: rate limits, quotas and the consumer's concurrency, once the
    // consumer is known and before validation and inspection, so that a flood
    // of requests pays for no parsing. Only admitted requests are charged.
    // Monitor mode records a refusal and lets the request through.
    ex.stage = "limit";
    if let Err(reject) = crate::limit::stage(gw, api, &op, &parts.headers, ex).await {
        match api.cfg.mode {
            Mode::Enforce => return Err(reject),
            Mode::Monitor => {
                ex.monitored.get_or_insert(reject);
            }
        }
    }

    // validate: the request held to its contract — parameters, media type and
    // body as the spec declares them (monitor mode records a violation).
    ex.stage = "validate";
    let validated = match contract {
        Some(c) => crate::validate::stage(
            gw,
            api,
            &op,
            c,
            &path_params,
            &parts,
            buffered.as_deref(),
            sent_body && !c.needs_body() && contracts.is_some_and(|c| c.strict),
            ex,
        )?,
        None => None,
    };

    // inspect: injection detectors on every value the spec leaves loose.
    if let Some(inspection) = inspection {
        ex.stage = "inspect";
        let req = inspect::Request {
            operation: &op.id,
            path_params: &path_params,
            query: parts.uri.query(),
            headers: &parts.headers,
            body: buffered.as_deref(),
        };
        if let Some((detector, location)) = inspection.check(&req, validated.as_ref()) {
            gw.metrics.contract(
                &api.name,
                &op.id,
                "inspection",
                detector.as_str(),
                inspection.enforced,
            );
            let reject = Reject::Injection {
                detector: detector.as_str(),
                location: location.clone(),
            };
            ex.inspection = Some((detector.as_str(), location));
            if inspection.enforced {
                return Err(reject);
            }
            ex.monitored.get_or_insert(reject);
        }
    }

    // login defence: a locked username or address gets the uniform failure
    // now; otherwise the attempt is held for its progressive delay.
    let attempt = match login {
        Some(rule) => {
            ex.stage = "login";
            let who = crate::limit::login::Who {
                api: &api.name,
                client_ip: ex.client_ip,
                body: buffered.as_deref().unwrap_or_default(),
            };
            Some((rule, rule.before(&gw.store, who, &gw.metrics).await?))
        }
        None => None,
    };

    // forward: clean headers, forwarding facts, the verified identity, the
    // bounded streaming body; a slot of the upstream's concurrency limit is
    // held until the response has been sent.
    ex.stage = "forward";
    crate::limit::upstream_slot(gw, api, ex).await?;
    let host = client::host(&parts.headers, parts.uri.authority());
    forward::remove_hop_by_hop(&mut parts.headers);
    // Identity headers are the gateway's to set: whatever the client sent goes first.
    forward::strip_identity_headers(&mut parts.headers);
    if let Some((_, attempt)) = &attempt {
        for (name, value) in attempt.upstream_headers() {
            parts.headers.insert(name, value);
        }
    }
    if owner_rule.is_some()
        || api
            .cfg
            .protection
            .as_ref()
            .is_some_and(|p| p.needs_json(&op.id))
    {
        // The response's owner is checked, or its properties stripped or
        // redacted, on its JSON: ask for it uncompressed.
        parts.headers.remove(header::ACCEPT_ENCODING);
    }
    if !api.cfg.identity.forward_credentials {
        for c in &verified.credentials {
            authn::credential::hide(&mut parts, c);
        }
    }
    if let Some(p) = &verified.principal {
        identity::attach(
            &mut parts.headers,
            p,
            &api.cfg,
            rt.identity_key.as_deref(),
            &rt.config.identity_token,
        );
    }
    client::set_forwarding(
        &mut parts.headers,
        &conn.forwarding,
        trusted_peer,
        host.as_ref(),
    );
    if let Ok(v) = http::HeaderValue::try_from(&*ex.request_id) {
        parts.headers.insert(client::X_REQUEST_ID.clone(), v);
    }
    // The upstream group decides whether this or its own authority is sent as Host.
    if let Some(h) = host {
        parts.headers.insert(header::HOST, h);
    }
    let forwarded_path = if api.cfg.strip_base_path {
        let rest = &path[api.cfg.base_path.len().min(path.len())..];
        if rest.is_empty() { "/" } else { rest }
    } else {
        &path
    };
    let path_and_query = match parts.uri.query() {
        Some(q) => format!("{forwarded_path}?{q}"),
        None => forwarded_path.to_owned(),
    };
    let (body, body_done) = match (buffered, incoming) {
        (Some(bytes), _) => ((!bytes.is_empty()).then(|| body::full(bytes)), None),
        (None, None) => (None, None),
        (None, Some(incoming)) if incoming.is_end_stream() => (None, None),
        (None, Some(incoming)) => {
            let limited =
                http_body_util::Limited::new(incoming, rt.config.limits.max_body_bytes as usize);
            let done = Arc::new(AtomicBool::new(false));
            let counted = Counted::new(limited, ex.bytes_in.clone(), done.clone());
            (Some(body::boxed(counted)), Some(done))
        }
    };
    let out = Outbound {
        method: parts.method,
        path_and_query,
        headers: parts.headers,
        body,
        body_done,
    };
    let inbound = api.upstream.send(out).await?;
    ex.upstream = Some((
        api.upstream.name.clone(),
        inbound.response.status().as_u16(),
        inbound.latency.as_secs_f64() * 1000.0,
    ));

    // respond: upstream internals never reach the client; an object that is not
    // the caller's never leaves.
    ex.stage = "respond";
    let mut resp = respond::upstream(inbound.response, api.cfg.replace_upstream_errors).await?;
    // A failed login becomes the uniform failure, in its timing bucket.
    if let Some((rule, attempt)) = attempt {
        resp = rule.after(&gw.store, attempt, resp, &gw.metrics).await?;
    }
    if api.cfg.cors.is_some() {
        // The gateway's CORS rules are the API's only ones.
        crate::cors::strip_upstream(resp.headers_mut());
    }
    // Response protection: the head first (a refused content type or declared
    // size costs no read), the body after the ownership check (which decides on
    // the upstream's own values, before any are redacted).
    let protection = api.cfg.protection.as_deref();
    let scope = respond::protect::Scope {
        api: &api.name,
        operation: &op.id,
        enforced: api.cfg.mode == Mode::Enforce,
        metrics: &gw.metrics,
    };
    if let Some(p) = protection {
        resp = p.check_head(resp, scope, ex)?;
    }
    if let (Some(rule), Some(policies)) = (owner_rule, policies)
        // No body, nothing to own (and an empty 200 would not parse).
        && ex.method != http::Method::HEAD
    {
        let mut monitored = None;
        let checked = match respond::owner::buffer(
            resp,
            policies.max_response_bytes(),
            enforced,
            &mut monitored,
        )
        .await?
        {
            respond::owner::Buffered::Pass(resp) => Ok(resp),
            respond::owner::Buffered::Json(json) => {
                let principal = ex.principal.as_deref().map(authz::facts_of);
                respond::owner::decide(json, rule, principal.as_ref(), enforced, &mut monitored)
            }
        };
        if let Some(m) = monitored {
            ex.monitored.get_or_insert(m);
        }
        resp = checked?;
    }
    match protection {
        Some(p) => p.body(resp, scope, ex).await,
        None => Ok(resp),
    }
}
