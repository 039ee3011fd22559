//! OpenAPI `security` semantics: alternatives are OR, schemes within one are AND,
//! scopes are checked, `[]` is public and silence is refused.

use serde_json::json;

use super::*;

#[tokio::test]
async fn alternatives_are_or_and_schemes_within_one_are_and() {
    let up = upstream().await;
    let gw = auth_gateway(&up, "").await;
    let alice = token("alice", json!({}));
    // either: a token or a key will do.
    assert_eq!(call(&gw, "/either", Some(&alice), None).await.status(), 200);
    assert_eq!(
        call(&gw, "/either", None, Some(API_KEY)).await.status(),
        200
    );
    assert_eq!(up.last().headers["x-portcullis-subject"], "ci");
    assert_eq!(up.last().headers["x-portcullis-auth-method"], "api_key");
    // both: a token and a key are needed; the token's subject is the caller.
    assert_eq!(call(&gw, "/both", Some(&alice), None).await.status(), 401);
    assert_eq!(call(&gw, "/both", None, Some(API_KEY)).await.status(), 401);
    assert_eq!(
        call(&gw, "/both", Some(&alice), Some(API_KEY))
            .await
            .status(),
        200
    );
    assert_eq!(up.last().headers["x-portcullis-subject"], "alice");
    // A challenge for every scheme the operation accepts.
    let resp = call(&gw, "/either", None, None).await;
    let challenges = super::challenges(&resp);
    assert_eq!(
        challenges,
        [
            "Bearer realm=\"test\"",
            "ApiKey realm=\"test\", in=\"header\", name=\"x-api-key\""
        ]
    );
    assert_problem(resp, 401, "unauthenticated").await;
}

#[tokio::test]
async fn scopes_are_required_and_a_missing_one_is_403_insufficient_scope() {
    let up = upstream().await;
    let gw = auth_gateway(&up, "").await;
    let reader = token("r", json!({ "scope": "profile accounts:read" }));
    assert_eq!(
        call(&gw, "/accounts", Some(&reader), None).await.status(),
        200
    );
    assert_eq!(
        up.last().headers["x-portcullis-scopes"],
        "profile accounts:read"
    );
    let other = token("o", json!({ "scope": "profile" }));
    let resp = call(&gw, "/accounts", Some(&other), None).await;
    assert_eq!(
        resp.headers()["www-authenticate"],
        "Bearer realm=\"test\", error=\"insufficient_scope\", scope=\"accounts:read\""
    );
    assert_problem(resp, 403, "insufficient-scope").await;
    assert_eq!(up.requests().len(), 1);
}

#[tokio::test]
async fn public_means_public_and_silence_is_refused() {
    let up = upstream().await;
    let gw = auth_gateway(&up, "").await;
    assert_eq!(gw.get_status("/public").await, 200);
    assert_problem(gw.get("/unstated").await, 403, "forbidden").await;
    eventually("the refusal is audited", || {
        gw.audit_lines()
            .iter()
            .any(|e| e["reason"] == "forbidden: the spec states no security for this operation")
    })
    .await;
    // `public_by_default` opts an API whose spec is silent into being public.
    let up2 = upstream().await;
    let gw2 = auth_gateway(&up2, "    public_by_default: true\n").await;
    assert_eq!(gw2.get_status("/unstated").await, 200);
}

#[tokio::test]
async fn failures_are_audited_and_counted_by_reason_without_the_token() {
    let up = upstream().await;
    let gw = auth_gateway(&up, "").await;
    let expired = token("late", json!({ "iat": now() - 7200, "exp": now() - 3600 }));
    let resp = call(&gw, "/me", Some(&expired), None).await;
    assert_problem(resp, 401, "unauthenticated").await;
    let ok = token("fine", json!({ "amr": ["pwd", "mfa"] }));
    assert_eq!(call(&gw, "/me", Some(&ok), None).await.status(), 200);
    assert_eq!(up.last().headers["x-portcullis-mfa"], "true");
    eventually("two request events", || {
        gw.audit_lines()
            .iter()
            .filter(|e| e["event"] == "request")
            .count()
            >= 2
    })
    .await;
    let audit = gw.audit_lines();
    let text = serde_json::to_string(&audit).unwrap();
    assert!(
        !text.contains(&expired) && !text.contains(&ok),
        "tokens never reach the audit log"
    );
    let failed = audit.iter().find(|e| e["status"] == 401).unwrap();
    assert_eq!(failed["reason"], "unauthenticated: bearer: expired");
    assert_eq!(failed["stage"], "authenticate");
    let passed = audit.iter().find(|e| e["status"] == 200).unwrap();
    assert_eq!(passed["auth"]["method"], "jwt");
    assert_eq!(passed["auth"]["subject"], "fine");
    assert_eq!(passed["auth"]["issuer"], ISSUER);
    assert_eq!(passed["auth"]["mfa"], true);
    let metrics = gw.admin_text("/metrics").await;
    assert!(
        metrics.contains(r#"portcullis_auth_total{api="test",method="jwt",result="expired"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"portcullis_auth_total{api="test",method="jwt",result="success"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn monitor_mode_lets_failures_through_and_records_them() {
    let up = upstream().await;
    let gw = auth_gateway(&up, "    mode: monitor\n").await;
    let resp = call(&gw, "/me", Some("not-a-jwt"), None).await;
    assert_eq!(resp.status(), 200);
    assert!(!up.last().headers.contains_key("x-portcullis-subject"));
    eventually("a request event", || {
        gw.audit_lines().iter().any(|e| e["event"] == "request")
    })
    .await;
    let audit = gw
        .audit_lines()
        .into_iter()
        .find(|e| e["event"] == "request")
        .unwrap();
    assert_eq!(
        audit["reason"],
        "monitor: unauthenticated: bearer: malformed"
    );
    assert_eq!(audit["decision"], "allow");
}

#[tokio::test]
async fn each_token_on_a_kept_alive_connection_is_judged_on_its_own() {
    // One client, one connection: the connection remembers its last verified
    // token, which must not vouch for any other token sent on it.
    let up = upstream().await;
    let gw = auth_gateway(&up, "").await;
    let c = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let send = |t: String| {
        let c = c.clone();
        let url = format!("{}/me", gw.url);
        async move { c.get(url).bearer_auth(t).send().await.unwrap().status() }
    };
    let good = token("alice", json!({}));
    let expired = token("alice", json!({ "iat": now() - 7200, "exp": now() - 3600 }));
    // One character of the signature changed (mid-segment, so it still decodes).
    let at = good.rfind('.').unwrap() + 10;
    let swap = if &good[at..=at] == "A" { "B" } else { "A" };
    let forged = format!("{}{swap}{}", &good[..at], &good[at + 1..]);
    assert_eq!(send(good.clone()).await, 200);
    assert_eq!(send(expired).await, 401);
    assert_eq!(send(forged).await, 401);
    assert_eq!(send(good).await, 200);
    let reasons = reasons(&gw, 4).await;
    assert_eq!(
        reasons,
        [
            "",
            "unauthenticated: bearer: expired",
            "unauthenticated: bearer: bad_signature",
            ""
        ]
    );
}
