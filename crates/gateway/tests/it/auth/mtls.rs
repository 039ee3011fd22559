//! mTLS client identity through real TLS: the listener verifies the client
//! certificate against its `client_ca`, an `mtls` provider maps its names (SPIFFE
//! ID, DNS SANs) to a principal, and the spec's `mutualTLS` scheme requires one.

use rcgen::{CertificateParams, SanType};
use serde_json::json;

use super::reasons;
use crate::support::*;
use crate::tls::{
    Ca, Pair, assert_refused, client_params, https, tls_client, tls_config, tls_gateway_with,
};

const MTLS_SPEC: &str = r#"
openapi: 3.1.0
info: { title: mTLS API, version: "1" }
paths:
  /public:
    get: { operationId: pub, security: [], responses: { "200": { description: ok } } }
  /svc:
    get: { operationId: svc, security: [{ mtls: [] }], responses: { "200": { description: ok } } }
  /batch:
    get: { operationId: batch, security: [{ mtls: [batch] }], responses: { "200": { description: ok } } }
  /both:
    get: { operationId: both, security: [{ mtls: [], bearer: [] }], responses: { "200": { description: ok } } }
components:
  securitySchemes:
    mtls: { type: mutualTLS }
    bearer: { type: http, scheme: bearer }
"#;

/// Certificates in `bank.internal`'s prod namespace are services; hosts named
/// `batch-*` are batch jobs of tenant `ops`.
const CERTS_PROVIDER: &str = r#"
  certs:
    mtls:
      rules:
        - match: { spiffe_id: "spiffe://bank.internal/ns/prod/sa/*" }
          subject: "{spiffe_id}"
          roles: [service]
        - match: { dns_san: "batch-*" }
          subject: "host:{dns}"
          roles: [batch, reports]
          tenant: ops
"#;

const PROD_API: &str = "spiffe://bank.internal/ns/prod/sa/payments-api";

/// The server's CA (the client trusts it) and the client CA (the listener trusts it).
struct Cas {
    server: Ca,
    clients: Ca,
}

impl Cas {
    fn new() -> Cas {
        Cas {
            server: Ca::new("Server CA"),
            clients: Ca::new("Client CA"),
        }
    }
}

/// A client certificate issued by `ca` with these SANs.
fn cert(ca: &Ca, cn: &str, sans: &[SanType]) -> Pair {
    let mut p: CertificateParams = client_params(cn);
    p.subject_alt_names = sans.to_vec();
    ca.sign(&p)
}

fn spiffe(id: &str) -> SanType {
    SanType::URI(id.try_into().unwrap())
}

fn dns(name: &str) -> SanType {
    SanType::DnsName(name.try_into().unwrap())
}

/// A TLS gateway serving `MTLS_SPEC`, client certificates checked against the client
/// CA with the given `client_auth` policy; `mtls` → `certs`, `bearer` → `idp`.
async fn mtls_gateway(up: &Upstream, cas: &Cas, client_auth: &str) -> Gateway {
    let text = tls_config(
        &up.url(),
        &format!(", client_ca: clients.pem, client_auth: {client_auth}"),
        "",
    )
    .replace(
        "    security: { bearer: idp }\n",
        "    security: { bearer: idp, mtls: certs }\n",
    )
    .replace(
        "identity_providers:\n",
        &format!("identity_providers:{CERTS_PROVIDER}"),
    );
    tls_gateway_with(
        &text,
        &cas.server.server(),
        &[
            ("clients.pem", &cas.clients.pem()),
            ("spec.yaml", MTLS_SPEC),
        ],
    )
    .await
}

/// GET `path` over a fresh TLS connection, with a client certificate and/or a token.
async fn get(
    gw: &Gateway,
    cas: &Cas,
    path: &str,
    cert: Option<&Pair>,
    bearer: Option<&str>,
) -> reqwest::Result<reqwest::Response> {
    let mut c = tls_client(&cas.server.pem());
    if let Some(p) = cert {
        c = c.identity(p.identity());
    }
    let mut req = c.build().unwrap().get(https(gw, path));
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    req.send().await
}

#[tokio::test]
async fn a_certificate_matching_a_rule_is_the_caller_upstream() {
    let cas = Cas::new();
    let up = upstream().await;
    let gw = mtls_gateway(&up, &cas, "optional").await;

    let svc = cert(
        &cas.clients,
        "payments",
        &[spiffe(PROD_API), dns("payments.bank.internal")],
    );
    let resp = get(&gw, &cas, "/svc", Some(&svc), None).await.unwrap();
    assert_eq!(resp.status(), 200);
    let h = up.last().headers;
    assert_eq!(h["x-portcullis-subject"], PROD_API);
    assert_eq!(h["x-portcullis-auth-method"], "mtls");
    assert_eq!(h["x-portcullis-issuer"], "certs");
    assert_eq!(h["x-portcullis-roles"], "service");
    assert!(!h.contains_key("x-portcullis-tenant"));

    // The second rule: a DNS SAN, compared case-insensitively, with a tenant.
    let batch = cert(&cas.clients, "batch", &[dns("Batch-7.Bank.Internal")]);
    let resp = get(&gw, &cas, "/svc", Some(&batch), None).await.unwrap();
    assert_eq!(resp.status(), 200);
    let h = up.last().headers;
    assert_eq!(h["x-portcullis-subject"], "host:batch-7.bank.internal");
    assert_eq!(h["x-portcullis-roles"], "batch,reports");
    assert_eq!(h["x-portcullis-tenant"], "ops");
    assert_eq!(h["x-portcullis-auth-method"], "mtls");

    // Roles are the scopes of a mutualTLS requirement (OpenAPI 3.1).
    assert_eq!(
        get(&gw, &cas, "/batch", Some(&batch), None)
            .await
            .unwrap()
            .status(),
        200
    );
    let resp = get(&gw, &cas, "/batch", Some(&svc), None).await.unwrap();
    assert!(
        resp.headers().get("www-authenticate").is_none(),
        "mutualTLS has no challenge"
    );
    assert_problem(resp, 403, "insufficient-scope").await;
    assert_eq!(up.requests().len(), 3);

    reasons(&gw, 4).await;
    let audit = gw.audit_lines();
    let first = audit
        .iter()
        .find(|e| e["event"] == "request" && e["status"] == 200)
        .unwrap();
    assert_eq!(first["auth"]["method"], "mtls");
    assert_eq!(first["auth"]["subject"], PROD_API);
    let metrics = gw.admin_text("/metrics").await;
    assert!(
        metrics.contains(r#"portcullis_auth_total{api="test",method="mtls",result="success"} 4"#),
        "{metrics}"
    );

    // One client, new connections (the later ones may resume the TLS session): the
    // identity is the certificate's every time.
    let c = tls_client(&cas.server.pem())
        .identity(svc.identity())
        .build()
        .unwrap();
    for _ in 0..3 {
        let resp = c.get(https(&gw, "/svc")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(up.last().headers["x-portcullis-subject"], PROD_API);
    }
}

#[tokio::test]
async fn no_certificate_is_401_on_a_mutual_tls_operation_and_public_ones_still_work() {
    let cas = Cas::new();
    let up = upstream().await;
    let gw = mtls_gateway(&up, &cas, "optional").await;

    let resp = get(&gw, &cas, "/svc", None, None).await.unwrap();
    assert!(
        resp.headers().get("www-authenticate").is_none(),
        "mutualTLS has no challenge"
    );
    assert_problem(resp, 401, "unauthenticated").await;
    assert!(up.requests().is_empty());

    let resp = get(&gw, &cas, "/public", None, None).await.unwrap();
    assert_eq!(resp.status(), 200);
    let h = up.last().headers;
    assert!(!h.contains_key("x-portcullis-subject") && !h.contains_key("x-portcullis-auth-method"));

    assert_eq!(
        reasons(&gw, 2)
            .await
            .iter()
            .filter(|r| **r == "unauthenticated: mtls: missing")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_trusted_certificate_matching_no_rule_is_401_unmapped_certificate() {
    let cas = Cas::new();
    let up = upstream().await;
    let gw = mtls_gateway(&up, &cas, "optional").await;

    // Another namespace, another trust domain, no names but a CN.
    for sans in [
        vec![spiffe("spiffe://bank.internal/ns/dev/sa/payments-api")],
        vec![spiffe("spiffe://evil.internal/ns/prod/sa/payments-api")],
        vec![dns("web-1.bank.internal")],
        vec![],
    ] {
        let c = cert(&cas.clients, "batch-1", &sans);
        let resp = get(&gw, &cas, "/svc", Some(&c), None).await.unwrap();
        assert_problem(resp, 401, "unauthenticated").await;
        // The certificate still lets the client reach public operations.
        assert_eq!(
            get(&gw, &cas, "/public", Some(&c), None)
                .await
                .unwrap()
                .status(),
            200
        );
    }
    assert_eq!(up.requests().len(), 4, "only the public calls went through");
    assert!(up.requests().iter().all(|s| s.uri == "/public"));
    // Two SPIFFE IDs name no one in particular: refused as malformed, not guessed.
    let two = cert(
        &cas.clients,
        "payments",
        &[
            spiffe(PROD_API),
            spiffe("spiffe://bank.internal/ns/prod/sa/other"),
        ],
    );
    let resp = get(&gw, &cas, "/svc", Some(&two), None).await.unwrap();
    assert_problem(resp, 401, "unauthenticated").await;
    assert_eq!(up.requests().len(), 4);

    let reasons = reasons(&gw, 9).await;
    assert!(
        reasons.contains(&"unauthenticated: mtls: malformed".into()),
        "{reasons:?}"
    );
    let unmapped = reasons
        .iter()
        .filter(|r| **r == "unauthenticated: mtls: unmapped_certificate")
        .count();
    assert_eq!(unmapped, 4, "{reasons:?}");
    let metrics = gw.admin_text("/metrics").await;
    assert!(
        metrics.contains(
            r#"portcullis_auth_total{api="test",method="mtls",result="unmapped_certificate"} 4"#
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused_in_the_handshake_required_or_optional() {
    let cas = Cas::new();
    let rogue_ca = Ca::new("Rogue CA");
    // The same names as a good certificate: only the issuer differs.
    let rogue = cert(&rogue_ca, "payments", &[spiffe(PROD_API)]);
    let good = cert(&cas.clients, "payments", &[spiffe(PROD_API)]);
    // A certificate from the server's CA is not one from the client CA either.
    let server_ca_client = cert(&cas.server, "payments", &[spiffe(PROD_API)]);
    // The right CA and names, but past its validity.
    let mut params = client_params("payments");
    params.subject_alt_names = vec![spiffe(PROD_API)];
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let expired = cas.clients.sign(&params);

    for policy in ["required", "optional"] {
        let up = upstream().await;
        let gw = mtls_gateway(&up, &cas, policy).await;
        for path in ["/svc", "/public"] {
            assert_refused(
                get(&gw, &cas, path, Some(&rogue), None).await,
                &format!("{policy}: rogue CA on {path}"),
            );
            assert_refused(
                get(&gw, &cas, path, Some(&server_ca_client), None).await,
                &format!("{policy}: server CA on {path}"),
            );
        }
        assert_refused(
            get(&gw, &cas, "/svc", Some(&expired), None).await,
            &format!("{policy}: expired certificate"),
        );
        match policy {
            // Without a certificate the handshake itself fails.
            "required" => assert_refused(
                get(&gw, &cas, "/public", None, None).await,
                "required: no certificate",
            ),
            // rustls verifies a presented certificate even when one is optional.
            _ => assert_eq!(
                get(&gw, &cas, "/public", None, None)
                    .await
                    .unwrap()
                    .status(),
                200
            ),
        }
        assert_eq!(
            up.requests().len(),
            usize::from(policy == "optional"),
            "{policy}: nothing unverified got through"
        );
        let resp = get(&gw, &cas, "/svc", Some(&good), None).await.unwrap();
        assert_eq!(resp.status(), 200, "{policy}");
        assert_eq!(up.last().headers["x-portcullis-subject"], PROD_API);
    }
}

#[tokio::test]
async fn mtls_and_bearer_together_need_both_and_the_token_names_the_caller() {
    let cas = Cas::new();
    let up = upstream().await;
    let gw = mtls_gateway(&up, &cas, "optional").await;
    let svc = cert(&cas.clients, "payments", &[spiffe(PROD_API)]);
    let unmapped = cert(
        &cas.clients,
        "payments",
        &[spiffe("spiffe://bank.internal/ns/dev/sa/x")],
    );
    let alice = token("alice", json!({ "scope": "accounts:read" }));

    // The certificate alone: the token is missing, and the bearer challenge says so.
    let resp = get(&gw, &cas, "/both", Some(&svc), None).await.unwrap();
    assert_eq!(resp.headers()["www-authenticate"], "Bearer realm=\"test\"");
    assert_problem(resp, 401, "unauthenticated").await;
    // The token alone, or with a certificate no rule maps.
    assert_problem(
        get(&gw, &cas, "/both", None, Some(&alice)).await.unwrap(),
        401,
        "unauthenticated",
    )
    .await;
    assert_problem(
        get(&gw, &cas, "/both", Some(&unmapped), Some(&alice))
            .await
            .unwrap(),
        401,
        "unauthenticated",
    )
    .await;
    assert!(up.requests().is_empty());

    let resp = get(&gw, &cas, "/both", Some(&svc), Some(&alice))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let h = up.last().headers;
    assert_eq!(h["x-portcullis-subject"], "alice");
    assert_eq!(h["x-portcullis-auth-method"], "jwt");
    assert_eq!(h["x-portcullis-issuer"], ISSUER);
    assert_eq!(h["x-portcullis-scopes"], "accounts:read");

    let reasons = reasons(&gw, 4).await;
    for expected in [
        "unauthenticated: bearer: missing",
        "unauthenticated: mtls: missing",
        "unauthenticated: mtls: unmapped_certificate",
    ] {
        assert!(
            reasons.iter().any(|r| r == expected),
            "{expected}: {reasons:?}"
        );
    }
}
