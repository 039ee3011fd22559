//! Client certificates (mTLS): the required, optional and none policies.

use http::Version;

use super::{
    Ca, assert_refused, get_items, rogue_client, tls_client, tls_config, tls_gateway_with,
};
use crate::support::*;

// ---------------------------------------------------------------------------------------
// 4, 5. Client certificates

#[tokio::test]
async fn required_client_certificates_must_be_signed_by_the_client_ca() {
    let ca = Ca::new("Test CA");
    let clients = Ca::new("Client CA");
    let up = upstream().await;
    let gw = tls_gateway_with(
        &tls_config(&up.url(), ", client_ca: ca.pem, client_auth: required", ""),
        &ca.server(),
        &[("ca.pem", &clients.pem())],
    )
    .await;

    let none = get_items(tls_client(&ca.pem()), &gw).await;
    assert_refused(none, "no client certificate");
    let rogue = get_items(
        tls_client(&ca.pem()).identity(rogue_client().identity()),
        &gw,
    )
    .await;
    assert_refused(rogue, "self-signed client certificate");
    // A certificate from the server's CA is not one from the client CA.
    let wrong = get_items(
        tls_client(&ca.pem()).identity(ca.client("alice").identity()),
        &gw,
    )
    .await;
    assert_refused(wrong, "client certificate from another CA");
    assert!(
        up.requests().is_empty(),
        "nothing unauthenticated got through"
    );

    for http1 in [true, false] {
        let mut c = tls_client(&ca.pem()).identity(clients.client("alice").identity());
        if http1 {
            c = c.http1_only();
        }
        let resp = get_items(c, &gw).await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.version(),
            if http1 {
                Version::HTTP_11
            } else {
                Version::HTTP_2
            }
        );
    }
    assert_eq!(up.requests().len(), 2);
}

#[tokio::test]
async fn client_auth_is_required_when_a_client_ca_is_given_without_a_policy() {
    let ca = Ca::new("Test CA");
    let clients = Ca::new("Client CA");
    let up = upstream().await;
    let gw = tls_gateway_with(
        &tls_config(&up.url(), ", client_ca: ca.pem", ""),
        &ca.server(),
        &[("ca.pem", &clients.pem())],
    )
    .await;
    assert_refused(
        get_items(tls_client(&ca.pem()), &gw).await,
        "no client certificate",
    );
    let c = tls_client(&ca.pem()).identity(clients.client("bob").identity());
    assert_eq!(get_items(c, &gw).await.unwrap().status(), 200);
}

#[tokio::test]
async fn optional_client_certificates_are_verified_when_presented() {
    let ca = Ca::new("Test CA");
    let clients = Ca::new("Client CA");
    let up = upstream().await;
    let gw = tls_gateway_with(
        &tls_config(&up.url(), ", client_ca: ca.pem, client_auth: optional", ""),
        &ca.server(),
        &[("ca.pem", &clients.pem())],
    )
    .await;

    let resp = get_items(tls_client(&ca.pem()), &gw).await.unwrap();
    assert_eq!(resp.status(), 200, "no certificate is fine");
    let rogue = get_items(
        tls_client(&ca.pem()).identity(rogue_client().identity()),
        &gw,
    )
    .await;
    assert_refused(rogue, "a presented certificate must verify");
    assert_eq!(up.requests().len(), 1);
    let c = tls_client(&ca.pem()).identity(clients.client("carol").identity());
    assert_eq!(get_items(c, &gw).await.unwrap().status(), 200);
    assert_eq!(up.requests().len(), 2);
}

#[tokio::test]
async fn client_auth_none_ignores_client_certificates() {
    let ca = Ca::new("Test CA");
    let clients = Ca::new("Client CA");
    let up = upstream().await;
    let gw = tls_gateway_with(
        &tls_config(&up.url(), ", client_ca: ca.pem, client_auth: none", ""),
        &ca.server(),
        &[("ca.pem", &clients.pem())],
    )
    .await;
    assert_eq!(
        get_items(tls_client(&ca.pem()), &gw)
            .await
            .unwrap()
            .status(),
        200
    );
    // Not asked for, so never sent (and never checked).
    let c = tls_client(&ca.pem()).identity(rogue_client().identity());
    assert_eq!(get_items(c, &gw).await.unwrap().status(), 200);
}
