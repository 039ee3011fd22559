//! `/quotas/{api}/{consumer}`: a consumer's usage of each of an API's quotas in
//! the current period, and `POST …/reset` to start them afresh.
//!
//! The consumer is the value of the quota's key part (the principal's subject
//! for the default `key: principal`).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::Gateway;
use crate::limit::config::{Limit, LimitKind};
use crate::limit::{period, quota_key};

/// `?quota=<name>`: only this quota.
#[derive(Debug, Deserialize)]
pub(super) struct Only {
    quota: Option<String>,
}

/// One quota of the API, described, with its store key for the consumer.
struct Selected {
    name: Arc<str>,
    info: serde_json::Value,
    key: String,
}

/// The quotas of `api` selected by `only`, with their store keys for `consumer`
/// in the current period; `Err` when the API or quota does not exist.
fn selected(
    gw: &Gateway,
    api: &str,
    consumer: &str,
    only: Option<&str>,
) -> Result<Vec<Selected>, &'static str> {
    let rt = gw.runtime();
    let Some(a) = rt.apis.iter().find(|a| &*a.name == api) else {
        return Err("no such API");
    };
    let now = gw.store.clock.now();
    let mut out = Vec::new();
    for l in a.cfg.traffic.iter().flat_map(|t| t.quotas()) {
        if only.is_some_and(|q| q != &*l.name) {
            continue;
        }
        if let Some((info, window)) = describe(l, now) {
            out.push(Selected {
                name: l.name.clone(),
                info,
                key: quota_key(api, l, consumer, &window),
            });
        }
    }
    if out.is_empty() {
        return Err("no such quota");
    }
    Ok(out)
}

fn describe(l: &Limit, now: std::time::SystemTime) -> Option<(serde_json::Value, String)> {
    let LimitKind::Quota {
        limit,
        period: p,
        zone,
    } = &l.kind
    else {
        return None;
    };
    let w = period::window(now, *p, zone);
    let rfc3339 = |t| {
        time::OffsetDateTime::from(t)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    let info = json!({
        "name": &*l.name,
        "period": w.id,
        "limit": limit,
        "resets_at": rfc3339(w.end),
        "time_zone": zone.iana_name().unwrap_or("UTC"),
    });
    Some((info, w.id))
}

fn not_found(why: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({ "title": why, "status": 404 })),
    )
        .into_response()
}

fn unavailable(e: &crate::limit::StoreError) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(
            json!({ "title": format!("the shared store did not answer: {e}"), "status": 503 }),
        ),
    )
        .into_response()
}

/// `GET /quotas/{api}/{consumer}`.
pub(super) async fn usage(
    State(gw): State<Arc<Gateway>>,
    Path((api, consumer)): Path<(String, String)>,
    Query(only): Query<Only>,
) -> Response {
    let quotas = match selected(&gw, &api, &consumer, only.quota.as_deref()) {
        Ok(q) => q,
        Err(why) => return not_found(why),
    };
    let keys: Vec<&str> = quotas.iter().map(|q| q.key.as_str()).collect();
    let counters = match &gw.store.redis {
        Some(redis) => match redis.get(&keys).await {
            Ok(c) => c,
            Err(e) => return unavailable(&e),
        },
        None => gw.store.local.get(gw.store.clock.now_us(), &keys),
    };
    let list: Vec<_> = quotas
        .into_iter()
        .zip(counters)
        .map(|(Selected { mut info, .. }, c)| {
            let limit = info["limit"].as_u64().unwrap_or(0);
            info["used"] = json!(c.value);
            info["remaining"] = json!(limit.saturating_sub(c.value));
            info
        })
        .collect();
    axum::Json(json!({ "api": api, "consumer": consumer, "quotas": list })).into_response()
}

/// `POST /quotas/{api}/{consumer}/reset`.
pub(super) async fn reset(
    State(gw): State<Arc<Gateway>>,
    Path((api, consumer)): Path<(String, String)>,
    Query(only): Query<Only>,
) -> Response {
    let quotas = match selected(&gw, &api, &consumer, only.quota.as_deref()) {
        Ok(q) => q,
        Err(why) => return not_found(why),
    };
    let keys: Vec<&str> = quotas.iter().map(|q| q.key.as_str()).collect();
    if let Some(redis) = &gw.store.redis
        && let Err(e) = redis.remove(&keys).await
    {
        return unavailable(&e);
    }
    // The fallback copy too, so that it cannot outlive the reset.
    gw.store.local.remove(&keys);
    let names: Vec<&str> = quotas.iter().map(|q| &*q.name).collect();
    axum::Json(json!({ "api": api, "consumer": consumer, "reset": names })).into_response()
}
