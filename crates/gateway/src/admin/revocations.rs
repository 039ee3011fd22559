//! `/revocations`: revoke a token id until it expires, or every credential of a
//! subject issued before a time ("log out everywhere").

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::Gateway;
use crate::authn::now_secs;
use crate::authn::revoke::{RevokeError, RevokedSubject, RevokedToken};

/// How long a token revocation lasts when the caller does not say (the longest
/// token lifetime a deployment is likely to use).
const DEFAULT_TOKEN_REVOCATION: u64 = 24 * 3600;
/// How long a subject revocation lasts when the caller does not say.
const DEFAULT_SUBJECT_REVOCATION: u64 = 30 * 24 * 3600;

/// `POST /revocations/tokens` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TokenRequest {
    issuer: String,
    jti: String,
    /// Seconds since the epoch; the token's `exp` is enough. Default: 24 h from now.
    until: Option<u64>,
}

/// `POST /revocations/subjects` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SubjectRequest {
    subject: String,
    /// Only this issuer's credentials; default every issuer.
    issuer: Option<String>,
    /// Credentials issued before this (seconds since the epoch) are refused. Default: now.
    before: Option<u64>,
    /// When the entry may be dropped. Default: 30 days after `before`.
    until: Option<u64>,
}

pub(super) async fn list(State(gw): State<Arc<Gateway>>) -> Response {
    axum::Json(gw.auth.revocations.list(now_secs())).into_response()
}

pub(super) async fn token(
    State(gw): State<Arc<Gateway>>,
    axum::Json(r): axum::Json<TokenRequest>,
) -> Response {
    let now = now_secs();
    if r.issuer.is_empty() || r.jti.is_empty() {
        return bad("`issuer` and `jti` must not be empty");
    }
    let entry = RevokedToken {
        issuer: r.issuer,
        jti: r.jti,
        until: r.until.unwrap_or(now + DEFAULT_TOKEN_REVOCATION),
    };
    let body = json!({ "revoked": &entry });
    match gw.auth.revocations.revoke_token(entry, now).await {
        Ok(()) => (StatusCode::CREATED, axum::Json(body)).into_response(),
        Err(e) => not_recorded(&e),
    }
}

pub(super) async fn subject(
    State(gw): State<Arc<Gateway>>,
    axum::Json(r): axum::Json<SubjectRequest>,
) -> Response {
    let now = now_secs();
    if r.subject.is_empty() {
        return bad("`subject` must not be empty");
    }
    let before = r.before.unwrap_or(now + 1);
    let entry = RevokedSubject {
        issuer: r.issuer.filter(|i| !i.is_empty()),
        subject: r.subject,
        before,
        until: r.until.unwrap_or(before + DEFAULT_SUBJECT_REVOCATION),
    };
    let body = json!({ "revoked": &entry });
    match gw.auth.revocations.revoke_subject(entry, now).await {
        Ok(()) => (StatusCode::CREATED, axum::Json(body)).into_response(),
        Err(e) => not_recorded(&e),
    }
}

/// A revocation that was not recorded: 507 when the store is full, 503 when the
/// shared store (Redis) did not record it (the caller should retry).
fn not_recorded(e: &RevokeError) -> Response {
    let status = match e {
        RevokeError::Full(_) => StatusCode::INSUFFICIENT_STORAGE,
        RevokeError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    (
        status,
        axum::Json(json!({ "title": e.to_string(), "status": status.as_u16() })),
    )
        .into_response()
}

fn bad(why: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "title": why, "status": 400 })),
    )
        .into_response()
}
