//! Certificate hot reload, on an admin request and on a file change.

use std::time::Duration;

use super::{
    Ca, assert_presents, assert_untrusted_server, get_items, https, tls_client, tls_config,
    tls_gateway, tls_gateway_with,
};
use crate::support::*;

fn version_of(gw: &Gateway) -> String {
    gw.running
        .as_ref()
        .unwrap()
        .gateway
        .runtime()
        .config
        .version
        .clone()
}

// ---------------------------------------------------------------------------------------
// 6. Certificate hot reload

#[tokio::test]
async fn certificates_reload_on_admin_request_for_new_connections() {
    let (ca1, ca2) = (Ca::new("CA one"), Ca::new("CA two"));
    let up = upstream().await;
    let gw = tls_gateway(&up, &ca1.server(), "", "").await;
    assert_presents(&gw, &ca1, &ca2).await;
    // A connection opened before the swap (kept alive by a pooling client).
    let kept = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .tls_certs_only([reqwest::Certificate::from_pem(ca1.pem().as_bytes()).unwrap()])
        .build()
        .unwrap();
    assert_eq!(
        kept.get(https(&gw, "/items"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // A key that does not match the certificate is refused; the old pair stays.
    let b = ca2.server();
    gw.write("server.key", &b.key);
    let (status, doc) = gw.reload().await;
    assert_eq!(status, 422, "{doc}");
    assert_eq!(doc["result"], "rejected");
    assert!(doc.to_string().contains("listeners[0].tls"), "{doc}");
    assert_eq!(
        get_items(tls_client(&ca1.pem()), &gw)
            .await
            .unwrap()
            .status(),
        200
    );

    gw.write("server.pem", &b.cert);
    let (status, doc) = gw.reload().await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["result"], "loaded", "{doc}");
    let resp = get_items(tls_client(&ca2.pem()), &gw).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("strict-transport-security"));
    // New connections no longer present the old certificate.
    assert_untrusted_server(get_items(tls_client(&ca1.pem()), &gw).await);
    // The connection that already existed still serves (no restart, no cut).
    assert_eq!(
        kept.get(https(&gw, "/items"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn certificates_reload_when_the_files_change() {
    let (ca1, ca2) = (Ca::new("CA one"), Ca::new("CA two"));
    let up = upstream().await;
    let text = watching(&tls_config(&up.url(), "", ""));
    let gw = tls_gateway_with(&text, &ca1.server(), &[]).await;
    assert_eq!(
        get_items(tls_client(&ca1.pem()), &gw)
            .await
            .unwrap()
            .status(),
        200
    );
    let before = version_of(&gw);
    let b = ca2.server();
    gw.write("server.key", &b.key);
    gw.write("server.pem", &b.cert);
    eventually("the watcher reloads the new certificate", || {
        version_of(&gw) != before
    })
    .await;
    assert_presents(&gw, &ca2, &ca1).await;
}
