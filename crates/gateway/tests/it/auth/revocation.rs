//! Revocation through the admin API: one token id, or every token of a subject.

use serde_json::json;

use super::*;

#[tokio::test]
async fn a_revoked_jti_is_refused_until_it_expires_and_others_are_not() {
    let up = upstream().await;
    let gw = auth_gateway(&up, "").await;
    let t1 = token("alice", json!({ "jti": "t-1" }));
    let t2 = token("alice", json!({ "jti": "t-2" }));
    assert_eq!(
        call(&gw, "/me", Some(&t1), None).await.status(),
        200,
        "verified and cached"
    );
    let resp = gw
        .admin_request(reqwest::Method::POST, "/revocations/tokens")
        .json(&json!({ "issuer": ISSUER, "jti": "t-1", "until": now() + 600 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let resp = call(&gw, "/me", Some(&t1), None).await;
    assert_eq!(
        resp.headers()["www-authenticate"],
        "Bearer realm=\"test\", error=\"invalid_token\"",
        "refused even though the token was cached as verified"
    );
    assert_problem(resp, 401, "unauthenticated").await;
    assert_eq!(call(&gw, "/me", Some(&t2), None).await.status(), 200);
    let list = gw.admin_json("/revocations").await;
    assert_eq!(list["tokens"][0]["jti"], "t-1");
    // The endpoints need the admin token.
    let anon = client()
        .post(format!("{}/revocations/tokens", gw.admin))
        .json(&json!({ "issuer": ISSUER, "jti": "t-2" }))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
    assert_eq!(call(&gw, "/me", Some(&t2), None).await.status(), 200);
}

#[tokio::test]
async fn revoking_a_subject_logs_it_out_everywhere_until_it_signs_in_again() {
    let up = upstream().await;
    let gw = auth_gateway(&up, "").await;
    let old = token("bob", json!({ "iat": now() - 60 }));
    let other = token("carol", json!({ "iat": now() - 60 }));
    assert_eq!(call(&gw, "/me", Some(&old), None).await.status(), 200);
    let resp = gw
        .admin_request(reqwest::Method::POST, "/revocations/subjects")
        .json(&json!({ "subject": "bob" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(call(&gw, "/me", Some(&old), None).await.status(), 401);
    assert_eq!(call(&gw, "/me", Some(&other), None).await.status(), 200);
    // A token issued after the cut is accepted.
    let fresh = token("bob", json!({ "iat": now() + 2, "nbf": now() }));
    assert_eq!(call(&gw, "/me", Some(&fresh), None).await.status(), 200);
    eventually("the revocation is audited as the reason", || {
        gw.audit_lines()
            .iter()
            .any(|e| e["reason"] == "unauthenticated: bearer: revoked")
    })
    .await;
}
