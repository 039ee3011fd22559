//! Zero trust to the upstream: spoofed identity headers never pass, and the
//! verified identity goes upstream as headers and as a gateway-signed JWT.

use serde_json::json;

use super::*;

#[tokio::test]
async fn spoofed_identity_headers_are_stripped_on_every_operation() {
    let up = upstream().await;
    let gw = auth_gateway(&up, "").await;
    let spoof = |req: reqwest::RequestBuilder| {
        req.header("X-Portcullis-Subject", "u-admin")
            .header("X-Portcullis-Roles", "admin")
            .header("x-portcullis-identity", "forged")
    };
    let resp = spoof(client().get(format!("{}/public", gw.url)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let seen = up.last().headers;
    for h in [
        "x-portcullis-subject",
        "x-portcullis-roles",
        "x-portcullis-identity",
    ] {
        assert!(
            !seen.contains_key(h),
            "{h} reached the upstream of a public operation"
        );
    }
    let t = token("alice", json!({ "roles": ["customer"] }));
    let resp = spoof(client().get(format!("{}/me", gw.url)).bearer_auth(&t))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let seen = up.last().headers;
    assert_eq!(
        seen.get_all("x-portcullis-subject")
            .iter()
            .collect::<Vec<_>>(),
        ["alice"]
    );
    assert_eq!(seen["x-portcullis-roles"], "customer");
    assert!(
        !seen.contains_key("x-portcullis-identity"),
        "no token unless configured"
    );
}

#[tokio::test]
async fn a_gateway_signed_identity_token_verifies_with_the_admin_jwks() {
    let up = upstream().await;
    let gw = auth_gateway(&up, "    identity: { headers: false, token: true }\n").await;
    let t = token(
        "alice",
        json!({ "roles": ["customer"], "scope": "accounts:read", "amr": ["mfa"] }),
    );
    assert_eq!(call(&gw, "/me", Some(&t), None).await.status(), 200);
    let seen = up.last().headers;
    assert!(!seen.contains_key("x-portcullis-subject"), "headers off");
    let identity = seen["x-portcullis-identity"].to_str().unwrap().to_owned();
    // The JWKS is public: no admin token needed.
    let jwks: jsonwebtoken::jwk::JwkSet = client()
        .get(format!("{}/.well-known/jwks.json", gw.admin))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(&identity).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("the signing key is published");
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_audience(&["test"]);
    v.set_issuer(&["portcullis"]);
    let claims = jsonwebtoken::decode::<serde_json::Value>(
        &identity,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &v,
    )
    .unwrap()
    .claims;
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["idp"], ISSUER);
    assert_eq!(claims["roles"], json!(["customer"]));
    assert_eq!(claims["mfa"], true);
    assert!(claims["exp"].as_u64().unwrap() <= now() + 60);
    // The same caller's next request reuses the token (no signature per request).
    assert_eq!(call(&gw, "/me", Some(&t), None).await.status(), 200);
    assert_eq!(
        up.last().headers["x-portcullis-identity"].to_str().unwrap(),
        identity
    );
}

#[tokio::test]
async fn verified_credentials_are_not_forwarded_unless_configured() {
    let up = upstream().await;
    let gw = auth_gateway(&up, "").await;
    let t = token("alice", json!({}));
    assert_eq!(
        call(&gw, "/both", Some(&t), Some(API_KEY)).await.status(),
        200
    );
    let seen = up.last().headers;
    assert!(
        !seen.contains_key("authorization"),
        "the bearer token stays at the gateway"
    );
    assert!(
        !seen.contains_key("x-api-key"),
        "the API key stays at the gateway"
    );
    // A public operation's headers are the client's business: forwarded as sent.
    assert_eq!(
        call(&gw, "/public", Some("opaque"), None).await.status(),
        200
    );
    assert_eq!(up.last().headers["authorization"], "Bearer opaque");

    let up2 = upstream().await;
    let gw2 = auth_gateway(&up2, "    identity: { forward_credentials: true }\n").await;
    assert_eq!(call(&gw2, "/me", Some(&t), None).await.status(), 200);
    assert_eq!(
        up2.last().headers["authorization"],
        format!("Bearer {t}").as_str()
    );
}
