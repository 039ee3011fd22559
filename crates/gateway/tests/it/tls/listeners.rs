//! TLS listeners: HTTPS with HSTS, HTTP/2 by ALPN, and h2c on cleartext listeners.

use std::time::Duration;

use http::Version;

use super::{
    Ca, assert_untrusted_server, get_items, https, tls_client, tls_gateway, with_listener,
};
use crate::support::*;

// ---------------------------------------------------------------------------------------
// 1. HTTPS and HSTS

#[tokio::test]
async fn https_serves_http1_and_adds_hsts_which_cleartext_does_not() {
    let ca = Ca::new("Test CA");
    let up = upstream().await;
    let gw = tls_gateway(&up, &ca.server(), "", "").await;
    let c = tls_client(&ca.pem()).http1_only();
    let resp = get_items(c, &gw).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), Version::HTTP_11);
    assert_eq!(
        resp.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["path"], "/items");
    let seen = up.last();
    assert_eq!(seen.headers["x-forwarded-proto"], "https");
    assert!(
        seen.headers["forwarded"]
            .to_str()
            .unwrap()
            .contains("proto=https")
    );
    // Problems the gateway makes itself carry it too.
    let resp = tls_client(&ca.pem())
        .build()
        .unwrap()
        .get(https(&gw, "/debug/env"))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().contains_key("strict-transport-security"));
    assert_problem(resp, 404, "not-found").await;

    // Cleartext: the same request, no HSTS.
    let plain = gateway(&up).await;
    let resp = client()
        .get(format!("{}/items", plain.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("strict-transport-security").is_none());
    assert_eq!(up.last().headers["x-forwarded-proto"], "http");
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_server_certificate_gets_no_response() {
    let ca = Ca::new("Test CA");
    let other = Ca::new("Other CA");
    let up = upstream().await;
    let gw = tls_gateway(&up, &ca.server(), "", "").await;
    assert_untrusted_server(get_items(tls_client(&other.pem()), &gw).await);
    // Cleartext HTTP on the TLS port is no way around it.
    let answer = raw(gw.addr, b"GET /items HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(!answer.starts_with("HTTP/"), "got {answer:?}");
    assert!(up.requests().is_empty());
}

// ---------------------------------------------------------------------------------------
// 2. ALPN, 3. h2c

#[tokio::test]
async fn http2_is_negotiated_by_alpn_unless_the_listener_disables_it() {
    let ca = Ca::new("Test CA");
    let up = upstream().await;
    let server = ca.server();

    let gw = tls_gateway(&up, &server, "", "").await;
    let resp = get_items(tls_client(&ca.pem()), &gw).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), Version::HTTP_2);
    assert!(resp.headers().contains_key("strict-transport-security"));
    assert_eq!(
        up.last().version,
        Version::HTTP_11,
        "the upstream is spoken to in HTTP/1.1"
    );

    let gw = tls_gateway(&up, &server, "", "    http2: false\n").await;
    let resp = get_items(tls_client(&ca.pem()), &gw).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.version(),
        Version::HTTP_11,
        "h2 was offered but not accepted"
    );
}

#[tokio::test]
async fn h2c_prior_knowledge_works_on_cleartext_listeners() {
    let up = upstream().await;
    let gw = gateway(&up).await;
    let h2c = || {
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(10))
            .http2_prior_knowledge()
            .build()
            .unwrap()
    };
    let resp = h2c()
        .get(format!("{}/items/7?x=1", gw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), Version::HTTP_2);
    assert!(resp.headers().get("strict-transport-security").is_none());
    let seen = up.last();
    assert_eq!(seen.uri, "/items/7?x=1");
    assert_eq!(seen.version, Version::HTTP_11);
    assert_eq!(seen.headers["host"], up.addr.to_string());
    assert_eq!(seen.headers["x-forwarded-proto"], "http");

    // With `http2: false` the preface is not taken for HTTP/2.
    let text = with_listener(&config(&up.url(), ""), "    http2: false\n");
    let gw = gateway_with(&text, &[]).await;
    let before = up.requests().len();
    assert!(h2c().get(format!("{}/items", gw.url)).send().await.is_err());
    assert_eq!(up.requests().len(), before);
    let resp = gw.get("/items").await;
    assert_eq!(resp.version(), Version::HTTP_11);
    assert_eq!(resp.status(), 200);
}
