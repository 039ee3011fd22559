//! The admin API, on its own loopback listener: health, readiness, metrics, config,
//! reload, revocations, and the public keys of the identity tokens sent upstream.
//!
//! Every endpoint but `/healthz` and `/.well-known/jwks.json` requires the configured
//! bearer token; with no token configured they refuse (there is no default credential).

mod quotas;
mod revocations;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::Gateway;
use crate::audit::Event;

/// Serves the admin API until `stopped` flips.
pub async fn serve(gw: Arc<Gateway>, listener: TcpListener, mut stopped: watch::Receiver<bool>) {
    let app = router(gw);
    let shutdown = async move {
        let _ = stopped.changed().await;
    };
    if let Err(e) = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    {
        tracing::error!(error = %e, "admin API stopped");
    }
}

/// The admin routes (public for in-process tests).
pub fn router(gw: Arc<Gateway>) -> Router {
    let protected = Router::new()
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/config", get(config))
        .route("/reload", post(reload))
        .route("/revocations", get(revocations::list))
        .route("/revocations/tokens", post(revocations::token))
        .route("/revocations/subjects", post(revocations::subject))
        .route("/quotas/{api}/{consumer}", get(quotas::usage))
        .route("/quotas/{api}/{consumer}/reset", post(quotas::reset))
        .layer(middleware::from_fn_with_state(gw.clone(), authorize));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/.well-known/jwks.json", get(jwks))
        .merge(protected)
        .with_state(gw)
}

async fn authorize(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    let endpoint = req.uri().path().to_owned();
    let rt = gw.runtime();
    let status = match &rt.config.admin.token {
        None => Some((
            StatusCode::FORBIDDEN,
            "no admin token is configured (admin.token)",
        )),
        Some(token) if bearer_matches(req.headers(), token.expose()) => None,
        Some(_) => Some((
            StatusCode::UNAUTHORIZED,
            "a valid admin bearer token is required",
        )),
    };
    drop(rt);
    let resp = match status {
        Some((code, why)) => {
            let mut r = (
                code,
                axum::Json(json!({ "title": why, "status": code.as_u16() })),
            )
                .into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            r
        }
        None => next.run(req).await,
    };
    if endpoint != "/metrics" || !resp.status().is_success() {
        gw.audit.record(Event::Admin {
            time: SystemTime::now(),
            endpoint,
            status: resp.status().as_u16(),
            client_ip: peer.ip(),
        });
    }
    resp
}

/// Constant-time check of `Authorization: Bearer <token>` (digests compared, so
/// neither content nor length leaks through timing).
fn bearer_matches(headers: &HeaderMap, token: &[u8]) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
    else {
        return false;
    };
    let a = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, given);
    let b = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token);
    crate::same_bytes(a.as_ref(), b.as_ref())
}

/// The public keys that verify `X-Portcullis-Identity` tokens (public by nature).
async fn jwks(State(gw): State<Arc<Gateway>>) -> impl IntoResponse {
    let keys = match &gw.runtime().identity_key {
        Some(signer) => signer.key.jwks(),
        None => json!({ "keys": [] }),
    };
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        axum::Json(keys),
    )
}

async fn readyz(State(gw): State<Arc<Gateway>>) -> impl IntoResponse {
    let rt = gw.runtime();
    let upstreams: serde_json::Map<_, _> = rt
        .apis
        .iter()
        .map(|a| {
            (
                a.upstream.name.clone(),
                json!({ "down_targets": a.upstream.down_targets() }),
            )
        })
        .collect();
    // A JWT issuer whose keys were never obtained answers 503 to every token:
    // not ready until it has them.
    let mut providers = serde_json::Map::new();
    for bound in rt.apis.iter().flat_map(|a| a.schemes.iter().flatten()) {
        if let crate::authn::Provider::Jwt(p) = &*bound.provider {
            providers.insert(
                bound.provider_name.to_string(),
                json!({ "kind": "jwt", "keys": p.has_keys() }),
            );
        }
    }
    let ready = providers.values().all(|p| p["keys"] != false);
    // The shared store's health is shown, not made a readiness condition: every
    // instance shares it, so taking them all out of service when it is down
    // would turn each limit's configured failure mode into an outage.
    let store = match &gw.store.redis {
        Some(redis) => redis.status(),
        None => json!({ "kind": "local", "keys": gw.store.local.len() }),
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(json!({
            "ready": ready,
            "config_version": rt.config.version,
            "upstreams": upstreams,
            "identity_providers": providers,
            "store": store,
        })),
    )
}

async fn metrics(State(gw): State<Arc<Gateway>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        gw.metrics.encode(),
    )
}

async fn config(State(gw): State<Arc<Gateway>>) -> impl IntoResponse {
    let rt = gw.runtime();
    let c = &rt.config;
    let loaded = time::OffsetDateTime::from(rt.loaded_at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let apis: Vec<_> = rt
        .apis
        .iter()
        .map(|a| {
            json!({
                "name": &*a.name,
                "base_path": if a.cfg.base_path.is_empty() { "/" } else { &a.cfg.base_path },
                "spec": a.cfg.spec.as_ref().map(|s| json!({ "title": s.title, "openapi": s.openapi_version, "operations": s.operations.len() })),
                "upstream": a.cfg.upstream,
                "mode": format!("{:?}", a.cfg.mode).to_lowercase(),
            })
        })
        .collect();
    let upstreams: serde_json::Map<_, _> = c
        .upstreams
        .iter()
        .map(|(n, u)| {
            (
                n.clone(),
                json!({ "targets": u.targets.iter().map(ToString::to_string).collect::<Vec<_>>() }),
            )
        })
        .collect();
    axum::Json(json!({
        "version": c.version,
        "loaded_at": loaded,
        "source": c.source,
        "listeners": c.listeners.iter().map(|l| json!({ "address": l.address, "tls": l.tls.is_some(), "http2": l.http2 })).collect::<Vec<_>>(),
        "admin_token": if c.admin.token.is_some() { "[redacted]" } else { "none" },
        "apis": apis,
        "upstreams": upstreams,
    }))
}

async fn reload(State(gw): State<Arc<Gateway>>) -> Response {
    let result = tokio::task::spawn_blocking(move || gw.reload("admin")).await;
    match result {
        Ok(Ok(Some(version))) => axum::Json(json!({ "result": "loaded", "version": version })).into_response(),
        Ok(Ok(None)) => axum::Json(json!({ "result": "unchanged" })).into_response(),
        Ok(Err(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({ "result": "rejected", "errors": errors.0.iter().map(ToString::to_string).collect::<Vec<_>>() })),
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
