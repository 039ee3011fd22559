//! Authentication through the real gateway: the spec's `security` semantics,
//! each credential type, revocation and the identity passed upstream.

mod api_keys;
mod introspection;
mod jwt;
mod mtls;
mod requirements;
mod revocation;
mod signatures;
mod upstream_identity;

use crate::support::*;

/// A spec exercising `security` semantics: OR of alternatives, AND within one,
/// scopes, explicit public, and silence.
pub(crate) const AUTH_SPEC: &str = r#"
openapi: 3.1.0
info: { title: Auth API, version: "1" }
paths:
  /public:
    get: { operationId: pub, security: [], responses: { "200": { description: ok } } }
    post: { operationId: pubPost, security: [], responses: { "200": { description: ok } } }
  /me:
    get: { operationId: me, security: [{ bearer: [] }], responses: { "200": { description: ok } } }
  /accounts:
    get: { operationId: accounts, security: [{ bearer: [accounts:read] }], responses: { "200": { description: ok } } }
  /either:
    get: { operationId: either, security: [{ bearer: [] }, { key: [] }], responses: { "200": { description: ok } } }
  /both:
    get: { operationId: both, security: [{ bearer: [], key: [] }], responses: { "200": { description: ok } } }
  /unstated:
    get: { operationId: unstated, responses: { "200": { description: ok } } }
components:
  securitySchemes:
    bearer: { type: http, scheme: bearer }
    key: { type: apiKey, in: header, name: X-API-Key }
"#;

/// The API key `AUTH_SPEC`'s `key` scheme accepts (consumer `ci`).
pub(crate) const API_KEY: &str = "pck_abcd2345_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA";

/// `api_keys` provider config for `API_KEY` (SHA-256, no pepper).
pub(crate) fn keys_provider() -> String {
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, API_KEY.as_bytes());
    let hex: String = hash.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!(
        r#"
  keys:
    api_keys:
      keys:
        - {{ id: ci-key, prefix: abcd2345, hash: "sha256:{hex}", consumer: ci, roles: [robot] }}
"#
    )
}

/// A gateway serving `AUTH_SPEC` with `bearer` → `idp` and `key` → `keys`;
/// `api_extra` lines are added to the API entry (indented 4 spaces).
pub(crate) async fn auth_gateway(up: &Upstream, api_extra: &str) -> Gateway {
    let text = config(&up.url(), "")
        .replace(
            "    security: { bearer: idp }\n",
            &format!("    security: {{ bearer: idp, key: keys }}\n{api_extra}"),
        )
        .replace(
            "identity_providers:\n",
            &format!("identity_providers:{}", keys_provider()),
        );
    gateway_with(&text, &[("spec.yaml", AUTH_SPEC)]).await
}

/// The audit `reason`s of the request events (`""` for none), in order, once
/// `n` of them have been written.
pub(crate) async fn reasons(gw: &Gateway, n: usize) -> Vec<String> {
    let requests = || {
        gw.audit_lines()
            .into_iter()
            .filter(|e| e["event"] == "request")
            .collect::<Vec<_>>()
    };
    eventually("the request events", || requests().len() >= n).await;
    requests()
        .iter()
        .map(|e| e["reason"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Every `WWW-Authenticate` challenge of a response, in order.
pub(crate) fn challenges(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// GET `path` with optional bearer token and API key.
pub(crate) async fn call(
    gw: &Gateway,
    path: &str,
    bearer: Option<&str>,
    key: Option<&str>,
) -> reqwest::Response {
    let mut req = client().get(format!("{}{path}", gw.url));
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    if let Some(k) = key {
        req = req.header("x-api-key", k);
    }
    req.send().await.unwrap()
}
