//! API keys through the real gateway: `apiKey` schemes in a header, a query
//! parameter and a cookie, bound to `api_keys` providers (plain SHA-256 and
//! peppered HMAC-SHA-256 hashes); refusals, their reasons, and where keys never go.

use portcullis_gateway::authn::apikey::{KeyEntry, KeyHash, generate};
use serde_json::json;

use super::*;

/// One scheme per place a key can be, and operations that need a role.
const KEYS_SPEC: &str = r#"
openapi: 3.1.0
info: { title: Keys API, version: "1" }
paths:
  /h:
    get: { operationId: h, security: [{ hkey: [] }], responses: { "200": { description: ok } } }
  /q:
    get: { operationId: q, security: [{ qkey: [] }], responses: { "200": { description: ok } } }
  /c:
    get: { operationId: c, security: [{ ckey: [] }], responses: { "200": { description: ok } } }
  /p:
    get: { operationId: p, security: [{ pkey: [] }], responses: { "200": { description: ok } } }
  /robots:
    get: { operationId: robots, security: [{ hkey: [robot] }], responses: { "200": { description: ok } } }
  /admin:
    get: { operationId: admin, security: [{ hkey: [admin] }], responses: { "200": { description: ok } } }
components:
  securitySchemes:
    hkey: { type: apiKey, in: header, name: X-API-Key }
    qkey: { type: apiKey, in: query, name: api_key }
    ckey: { type: apiKey, in: cookie, name: session_key }
    pkey: { type: apiKey, in: header, name: X-Partner-Key }
"#;

/// The pepper of the `partners` provider, written as the file `pepper`.
const PEPPER: &str = "pepper-0123456789-abcdefghij";

/// The scheme bindings of `KEYS_SPEC`.
const BINDINGS: &str = "    security: { hkey: keys, qkey: keys, ckey: keys, pkey: partners }\n";

/// The keys a test gateway knows (whole keys, as their owners hold them).
struct Keys {
    /// consumer `acme`, roles robot and reader, tenant `t-acme`.
    good: String,
    /// `revoked: true`.
    revoked: String,
    /// Expired in 2020.
    expired: String,
    /// In `partners`, HMAC-SHA-256 with `PEPPER`.
    peppered: String,
    /// In `partners`, but hashed with another pepper: never accepted.
    other_pepper: String,
}

/// A new key and its config entry (as `portcullis keys new` prints it), indented
/// under `keys:`.
fn issue(id: &str, pepper: Option<&str>, edit: impl FnOnce(&mut KeyEntry)) -> (String, String) {
    let new = generate().unwrap();
    let mut entry = KeyEntry {
        id: id.into(),
        prefix: new.prefix.clone(),
        hash: KeyHash::of(&new.key, pepper.map(str::as_bytes)),
        consumer: id.into(),
        roles: Vec::new(),
        scopes: Vec::new(),
        tenant: None,
        expires: None,
        revoked: false,
    };
    edit(&mut entry);
    let yaml: String = entry
        .to_yaml()
        .lines()
        .map(|l| format!("        {l}\n"))
        .collect();
    (new.key, yaml)
}

/// The config text of a gateway with `keys` and `partners`, and its keys.
fn keys_config(upstream: &str) -> (String, Keys) {
    let (good, good_y) = issue("acme-key", None, |e| {
        e.consumer = "acme".into();
        e.roles = vec!["robot".into(), "reader".into()];
        e.tenant = Some("t-acme".into());
    });
    let (revoked, revoked_y) = issue("old-key", None, |e| e.revoked = true);
    let (expired, expired_y) = issue("past-key", None, |e| e.expires = Some(1_577_836_800));
    let (peppered, peppered_y) = issue("partner-key", Some(PEPPER), |e| {
        e.consumer = "partner".into()
    });
    let (other_pepper, other_y) = issue("stale-key", Some("another-pepper"), |_| {});
    let providers = format!(
        "\n  keys:\n    api_keys:\n      keys:\n{good_y}{revoked_y}{expired_y}\
         \n  partners:\n    api_keys:\n      pepper: file:pepper\n      keys:\n{peppered_y}{other_y}"
    );
    let text = config(upstream, "")
        .replace("    security: { bearer: idp }\n", BINDINGS)
        .replace(
            "identity_providers:\n",
            &format!("identity_providers:{providers}"),
        );
    let keys = Keys {
        good,
        revoked,
        expired,
        peppered,
        other_pepper,
    };
    (text, keys)
}

async fn keys_gateway(up: &Upstream) -> (Gateway, Keys) {
    let (text, keys) = keys_config(&up.url());
    let gw = gateway_with(&text, &[("spec.yaml", KEYS_SPEC), ("pepper", PEPPER)]).await;
    (gw, keys)
}

/// GET `path` (query included) with the given headers.
async fn get(gw: &Gateway, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = client().get(format!("{}{path}", gw.url));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

/// A well-formed key with `prefix` and a secret nobody was given.
fn forged(prefix: &str) -> String {
    format!("pck_{prefix}_{}", "A".repeat(43))
}

/// The prefix of a whole key.
fn prefix_of(key: &str) -> &str {
    &key[4..12]
}

const HKEY_CHALLENGE: &str = "ApiKey realm=\"test\", in=\"header\", name=\"x-api-key\"";

#[tokio::test]
async fn a_good_key_reaches_the_upstream_as_its_consumer_with_its_roles() {
    let up = upstream().await;
    let (gw, keys) = keys_gateway(&up).await;
    let resp = get(&gw, "/h", &[("X-API-Key", &keys.good)]).await;
    assert_eq!(resp.status(), 200);
    let seen = up.last().headers;
    assert_eq!(seen["x-portcullis-subject"], "acme");
    assert_eq!(seen["x-portcullis-auth-method"], "api_key");
    assert_eq!(seen["x-portcullis-roles"], "robot,reader");
    assert_eq!(
        seen["x-portcullis-issuer"], "keys",
        "a key's issuer is its provider"
    );
    assert_eq!(seen["x-portcullis-tenant"], "t-acme");
    // A required "scope" of a non-OAuth2 scheme is a role (OpenAPI 3.1).
    assert_eq!(
        get(&gw, "/robots", &[("x-api-key", &keys.good)])
            .await
            .status(),
        200
    );
    let resp = get(&gw, "/admin", &[("x-api-key", &keys.good)]).await;
    assert_eq!(
        challenges(&resp),
        [format!(
            "{HKEY_CHALLENGE}, error=\"insufficient_scope\", scope=\"admin\""
        )]
    );
    assert_problem(resp, 403, "insufficient-scope").await;
    assert_eq!(up.requests().len(), 2);
    let reasons = reasons(&gw, 3).await;
    assert_eq!(reasons[2], "insufficient-scope: hkey: needs `admin`");
    let audit = gw.audit_lines();
    let ok = audit.iter().find(|e| e["status"] == 200).unwrap();
    assert_eq!(ok["auth"]["method"], "api_key");
    assert_eq!(ok["auth"]["subject"], "acme");
    assert_eq!(ok["auth"]["issuer"], "keys");
    assert_eq!(ok["auth"]["credential_id"], "acme-key");
    let metrics = gw.admin_text("/metrics").await;
    assert!(
        metrics
            .contains(r#"portcullis_auth_total{api="test",method="api_key",result="success"} 3"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn wrong_secret_unknown_prefix_and_malformed_keys_are_401() {
    let up = upstream().await;
    let (gw, keys) = keys_gateway(&up).await;
    let wrong_secret = forged(prefix_of(&keys.good));
    let unknown = forged("unknown2");
    let too_short = format!("pck_{}_{}", prefix_of(&keys.good), "A".repeat(42));
    let upper_prefix = forged(&prefix_of(&keys.good).to_ascii_uppercase());
    for key in [
        wrong_secret,
        unknown,
        "not-a-key".to_owned(),
        too_short,
        upper_prefix,
    ] {
        let resp = get(&gw, "/h", &[("x-api-key", &key)]).await;
        assert_eq!(challenges(&resp), [HKEY_CHALLENGE], "{key}");
        assert_problem(resp, 401, "unauthenticated").await;
    }
    // No key at all.
    assert_problem(get(&gw, "/h", &[]).await, 401, "unauthenticated").await;
    assert!(up.requests().is_empty());
    assert_eq!(
        reasons(&gw, 6).await,
        [
            "unauthenticated: hkey: inactive",
            "unauthenticated: hkey: inactive",
            "unauthenticated: hkey: malformed",
            "unauthenticated: hkey: malformed",
            "unauthenticated: hkey: malformed",
            "unauthenticated: hkey: missing",
        ]
    );
}

#[tokio::test]
async fn an_unknown_prefix_answers_exactly_like_a_known_prefix_with_a_wrong_secret() {
    // The timing-safe path, behaviourally: nothing in the answer tells whether a
    // prefix exists (times are not measured here).
    let up = upstream().await;
    let (gw, keys) = keys_gateway(&up).await;
    let mut answers = Vec::new();
    for key in [forged(prefix_of(&keys.good)), forged("unknown2")] {
        let resp = get(&gw, "/h", &[("x-api-key", &key)]).await;
        let status = resp.status();
        let www = challenges(&resp);
        let mut doc: serde_json::Value = resp.json().await.unwrap();
        let doc = doc.as_object_mut().unwrap();
        doc.remove("request_id");
        doc.remove("instance");
        answers.push((status, www, doc.clone()));
    }
    assert_eq!(answers[0].0, 401);
    assert_eq!(
        answers[0].2["type"],
        "urn:portcullis:problem:unauthenticated"
    );
    assert_eq!(answers[0], answers[1]);
    // Not even the audit log or the metrics can tell them apart.
    let r = reasons(&gw, 2).await;
    assert_eq!(r[0], r[1]);
    let metrics = gw.admin_text("/metrics").await;
    assert!(
        metrics
            .contains(r#"portcullis_auth_total{api="test",method="api_key",result="inactive"} 2"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn revoked_and_expired_keys_are_401_with_their_reason() {
    let up = upstream().await;
    let (gw, keys) = keys_gateway(&up).await;
    for key in [&keys.revoked, &keys.expired] {
        let resp = get(&gw, "/h", &[("x-api-key", key)]).await;
        assert_eq!(challenges(&resp), [HKEY_CHALLENGE]);
        assert_problem(resp, 401, "unauthenticated").await;
    }
    // Revocation and expiry are told only to whoever holds the whole key.
    let forged_revoked = forged(prefix_of(&keys.revoked));
    assert_problem(
        get(&gw, "/h", &[("x-api-key", &forged_revoked)]).await,
        401,
        "unauthenticated",
    )
    .await;
    assert!(up.requests().is_empty());
    assert_eq!(
        reasons(&gw, 3).await,
        [
            "unauthenticated: hkey: revoked",
            "unauthenticated: hkey: key_expired",
            "unauthenticated: hkey: inactive",
        ]
    );
    let metrics = gw.admin_text("/metrics").await;
    for result in ["revoked", "key_expired", "inactive"] {
        let line =
            format!(r#"portcullis_auth_total{{api="test",method="api_key",result="{result}"}} 1"#);
        assert!(metrics.contains(&line), "{line} in {metrics}");
    }
}

#[tokio::test]
async fn query_and_cookie_keys_work_and_a_key_counts_only_where_its_scheme_says() {
    let up = upstream().await;
    let (gw, keys) = keys_gateway(&up).await;
    let k = &keys.good;
    assert_eq!(
        get(&gw, &format!("/q?page=2&api_key={k}"), &[])
            .await
            .status(),
        200
    );
    assert_eq!(up.last().headers["x-portcullis-subject"], "acme");
    let cookie = format!("theme=dark; session_key={k}");
    assert_eq!(get(&gw, "/c", &[("cookie", &cookie)]).await.status(), 200);
    assert_eq!(up.last().headers["x-portcullis-subject"], "acme");
    assert_eq!(up.requests().len(), 2);
    // The right key in the wrong place is no key.
    let resp = get(
        &gw,
        "/q",
        &[("x-api-key", k), ("cookie", &format!("api_key={k}"))],
    )
    .await;
    assert_eq!(
        challenges(&resp),
        ["ApiKey realm=\"test\", in=\"query\", name=\"api_key\""]
    );
    assert_problem(resp, 401, "unauthenticated").await;
    let resp = get(&gw, &format!("/h?x-api-key={k}&X-API-Key={k}"), &[]).await;
    assert_problem(resp, 401, "unauthenticated").await;
    let resp = get(&gw, "/c", &[("x-api-key", k)]).await;
    assert_eq!(
        challenges(&resp),
        ["ApiKey realm=\"test\", in=\"cookie\", name=\"session_key\""]
    );
    assert_problem(resp, 401, "unauthenticated").await;
    // Cookie names are case-sensitive.
    let resp = get(&gw, "/c", &[("cookie", &format!("Session_Key={k}"))]).await;
    assert_problem(resp, 401, "unauthenticated").await;
    assert_eq!(up.requests().len(), 2);
    let r = reasons(&gw, 6).await;
    assert_eq!(
        r[2..],
        [
            "unauthenticated: qkey: missing",
            "unauthenticated: hkey: missing",
            "unauthenticated: ckey: missing",
            "unauthenticated: ckey: missing",
        ]
    );
}

#[tokio::test]
async fn two_keys_in_one_request_are_refused_even_when_both_are_good() {
    let up = upstream().await;
    let (gw, keys) = keys_gateway(&up).await;
    let k = &keys.good;
    let resp = get(&gw, "/h", &[("x-api-key", k), ("x-api-key", k)]).await;
    assert_problem(resp, 401, "unauthenticated").await;
    let bad = forged("unknown2");
    let resp = get(&gw, "/h", &[("x-api-key", &bad), ("x-api-key", k)]).await;
    assert_problem(resp, 401, "unauthenticated").await;
    let resp = get(&gw, &format!("/q?api_key={k}&api_key={k}"), &[]).await;
    assert_problem(resp, 401, "unauthenticated").await;
    let resp = get(
        &gw,
        "/c",
        &[("cookie", &format!("session_key={k}; session_key={k}"))],
    )
    .await;
    assert_problem(resp, 401, "unauthenticated").await;
    let resp = get(
        &gw,
        "/c",
        &[
            ("cookie", &format!("session_key={k}")),
            ("cookie", &format!("session_key={bad}")),
        ],
    )
    .await;
    assert_problem(resp, 401, "unauthenticated").await;
    assert!(up.requests().is_empty());
    let r = reasons(&gw, 5).await;
    assert_eq!(r[0], "unauthenticated: hkey: malformed");
    assert_eq!(r[2], "unauthenticated: qkey: malformed");
    assert_eq!(r[4], "unauthenticated: ckey: malformed");
    assert!(r.iter().all(|r| r.ends_with(": malformed")), "{r:?}");
}

#[tokio::test]
async fn peppered_hmac_keys_verify_only_with_the_pepper_from_the_secret_file() {
    let up = upstream().await;
    let (gw, keys) = keys_gateway(&up).await;
    assert_eq!(
        get(&gw, "/p", &[("x-partner-key", &keys.peppered)])
            .await
            .status(),
        200
    );
    assert_eq!(up.last().headers["x-portcullis-subject"], "partner");
    assert_eq!(up.last().headers["x-portcullis-issuer"], "partners");
    // Hashed with another pepper: the right key does not match its entry.
    let resp = get(&gw, "/p", &[("x-partner-key", &keys.other_pepper)]).await;
    assert_problem(resp, 401, "unauthenticated").await;
    // Providers do not share keys.
    assert_problem(
        get(&gw, "/h", &[("x-api-key", &keys.peppered)]).await,
        401,
        "unauthenticated",
    )
    .await;
    assert_problem(
        get(&gw, "/p", &[("x-partner-key", &keys.good)]).await,
        401,
        "unauthenticated",
    )
    .await;
    assert_eq!(up.requests().len(), 1);
    let r = reasons(&gw, 4).await;
    assert_eq!(
        r[1..],
        [
            "unauthenticated: pkey: inactive",
            "unauthenticated: hkey: inactive",
            "unauthenticated: pkey: inactive",
        ]
    );
}

#[tokio::test]
async fn keys_never_reach_the_audit_log() {
    let up = upstream().await;
    let (gw, keys) = keys_gateway(&up).await;
    let k = &keys.good;
    let wrong = forged(prefix_of(k));
    assert_eq!(get(&gw, "/h", &[("x-api-key", k)]).await.status(), 200);
    assert_eq!(
        get(&gw, &format!("/q?api_key={k}"), &[]).await.status(),
        200
    );
    assert_eq!(
        get(&gw, "/c", &[("cookie", &format!("session_key={k}"))])
            .await
            .status(),
        200
    );
    assert_eq!(get(&gw, "/h", &[("x-api-key", &wrong)]).await.status(), 401);
    assert_eq!(
        get(&gw, "/h", &[("x-api-key", &keys.revoked)])
            .await
            .status(),
        401
    );
    assert_eq!(
        get(&gw, "/p", &[("x-partner-key", &keys.peppered)])
            .await
            .status(),
        200
    );
    reasons(&gw, 6).await;
    let text = std::fs::read_to_string(gw.dir.path().join("audit.jsonl")).unwrap();
    for key in [k, &wrong, &keys.revoked, &keys.peppered] {
        let secret = &key[13..];
        assert!(
            !text.contains(secret),
            "a key's secret is in the audit log: {text}"
        );
    }
    let metrics = gw.admin_text("/metrics").await;
    assert!(!metrics.contains(&k[13..]));
}

#[tokio::test]
async fn verified_keys_are_not_forwarded_and_the_rest_of_the_request_is() {
    let up = upstream().await;
    let (gw, keys) = keys_gateway(&up).await;
    let k = &keys.good;
    assert_eq!(
        get(&gw, "/h", &[("x-api-key", k), ("x-other", "kept")])
            .await
            .status(),
        200
    );
    let seen = up.last();
    assert!(
        !seen.headers.contains_key("x-api-key"),
        "{:?}",
        seen.headers
    );
    assert_eq!(seen.headers["x-other"], "kept");
    assert_eq!(
        get(&gw, &format!("/q?page=2&api_key={k}&sort=asc"), &[])
            .await
            .status(),
        200
    );
    assert_eq!(up.last().uri, "/q?page=2&sort=asc");
    assert_eq!(
        get(&gw, &format!("/q?api_key={k}"), &[]).await.status(),
        200
    );
    assert_eq!(up.last().uri, "/q");
    let cookie = format!("theme=dark; session_key={k}; lang=en");
    assert_eq!(get(&gw, "/c", &[("cookie", &cookie)]).await.status(), 200);
    assert_eq!(up.last().headers["cookie"], "theme=dark; lang=en");
    assert_eq!(
        get(&gw, "/c", &[("cookie", &format!("session_key={k}"))])
            .await
            .status(),
        200
    );
    assert!(!up.last().headers.contains_key("cookie"));
    for s in up.requests() {
        let all = format!("{} {:?}", s.uri, s.headers);
        assert!(
            !all.contains(&k[13..]),
            "the key reached the upstream: {all}"
        );
    }
}

#[tokio::test]
async fn forward_credentials_passes_the_key_on_as_received() {
    let up = upstream().await;
    let (text, keys) = keys_config(&up.url());
    let text = text.replace(
        BINDINGS,
        &format!("{BINDINGS}    identity: {{ forward_credentials: true }}\n"),
    );
    let gw = gateway_with(&text, &[("spec.yaml", KEYS_SPEC), ("pepper", PEPPER)]).await;
    assert_eq!(
        get(&gw, "/h", &[("x-api-key", &keys.good)]).await.status(),
        200
    );
    assert_eq!(up.last().headers["x-api-key"], keys.good.as_str());
    assert_eq!(up.last().headers["x-portcullis-subject"], "acme");
}

#[tokio::test]
async fn an_admin_revocation_of_the_key_id_refuses_the_key() {
    let up = upstream().await;
    let (gw, keys) = keys_gateway(&up).await;
    assert_eq!(
        get(&gw, "/h", &[("x-api-key", &keys.good)]).await.status(),
        200
    );
    let resp = gw
        .admin_request(reqwest::Method::POST, "/revocations/tokens")
        .json(&json!({ "issuer": "keys", "jti": "acme-key", "until": now() + 600 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_problem(
        get(&gw, "/h", &[("x-api-key", &keys.good)]).await,
        401,
        "unauthenticated",
    )
    .await;
    // Another provider's key with the same id is not touched.
    assert_eq!(
        get(&gw, "/p", &[("x-partner-key", &keys.peppered)])
            .await
            .status(),
        200
    );
    assert_eq!(reasons(&gw, 3).await[1], "unauthenticated: hkey: revoked");
}

/// `config::parse` on `text` in a directory holding the usual files and `KEYS_SPEC`.
fn parse(text: &str) -> Result<(), Vec<portcullis_gateway::config::ConfigError>> {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in [
        ("spec.yaml", KEYS_SPEC),
        ("admin-token", ADMIN_TOKEN),
        ("pepper", PEPPER),
        ("jwks.json", &test_key().jwks().to_string()),
    ] {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let path = dir.path().join("portcullis.yaml");
    portcullis_gateway::config::parse(text, &path)
        .map(|_| ())
        .map_err(|e| e.0)
}

/// Where config-only tests send traffic (nothing listens there).
const NOWHERE: &str = "http://127.0.0.1:1";

#[test]
fn the_key_config_parses() {
    parse(&keys_config(NOWHERE).0).unwrap();
}

#[test]
fn binding_an_api_key_scheme_to_a_jwt_provider_is_a_config_error() {
    let (text, _) = keys_config(NOWHERE);
    let text = text.replace("hkey: keys,", "hkey: idp,");
    let errors = parse(&text).unwrap_err();
    let e = errors
        .iter()
        .find(|e| e.field == "apis[0].security.hkey")
        .unwrap_or_else(|| panic!("{errors:?}"));
    assert!(
        e.message.contains("apiKey") && e.message.contains("api_keys"),
        "{}",
        e.message
    );
    let line = text.lines().position(|l| l.contains("hkey: idp")).unwrap() + 1;
    assert_eq!(e.line, Some(line as u64));
}

#[test]
fn a_duplicate_prefix_is_a_config_error_naming_the_field() {
    let (text, keys) = keys_config(NOWHERE);
    let (good, revoked) = (prefix_of(&keys.good), prefix_of(&keys.revoked));
    let text = text.replace(
        &format!("prefix: \"{revoked}\""),
        &format!("prefix: \"{good}\""),
    );
    let errors = parse(&text).unwrap_err();
    let e = errors
        .iter()
        .find(|e| e.field == "identity_providers.keys.api_keys.keys[1].prefix")
        .unwrap_or_else(|| panic!("{errors:?}"));
    assert!(e.message.contains(good), "{}", e.message);
    assert!(e.line.is_some());
    // An hmac hash without a pepper is refused too, at its field.
    let (text, _) = keys_config(NOWHERE);
    let errors = parse(&text.replace("      pepper: file:pepper\n", "")).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.field == "identity_providers.partners.api_keys.keys[0].hash"),
        "{errors:?}"
    );
}

#[tokio::test]
async fn a_key_sent_alongside_the_credential_that_satisfied_the_operation_is_not_forwarded() {
    // `/either` accepts a bearer token OR a key; the token's alternative is tried
    // first and satisfies it, so the key is never looked at, yet it is a credential.
    let up = upstream().await;
    let gw = auth_gateway(&up, "").await;
    let alice = token("alice", json!({}));
    assert_eq!(
        call(&gw, "/either", Some(&alice), Some(API_KEY))
            .await
            .status(),
        200
    );
    let seen = up.last().headers;
    assert_eq!(seen["x-portcullis-subject"], "alice");
    assert!(
        !seen.contains_key("authorization"),
        "the verified token is not forwarded"
    );
    assert!(
        !seen.contains_key("x-api-key"),
        "the unused key reached the upstream"
    );
}
