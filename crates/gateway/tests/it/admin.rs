//! The admin API: token required everywhere but /healthz, metrics, config, readiness.

use crate::support::*;

#[tokio::test]
async fn every_admin_endpoint_but_healthz_needs_the_token() {
    let up = upstream().await;
    let gw = gateway(&up).await;
    let c = client();
    assert_eq!(
        c.get(format!("{}/healthz", gw.admin))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    for path in ["/readyz", "/metrics", "/config"] {
        assert_eq!(
            c.get(format!("{}{path}", gw.admin))
                .send()
                .await
                .unwrap()
                .status(),
            401,
            "{path}"
        );
        let wrong = c
            .get(format!("{}{path}", gw.admin))
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "{path}");
        let ok = c
            .get(format!("{}{path}", gw.admin))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200, "{path}");
    }
    assert_eq!(
        c.post(format!("{}/reload", gw.admin))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn without_a_configured_token_protected_endpoints_refuse() {
    let up = upstream().await;
    let text = config(&up.url(), "").replace("  token: file:admin-token\n", "");
    let gw = gateway_with(&text, &[]).await;
    let resp = client()
        .get(format!("{}/metrics", gw.admin))
        .bearer_auth("")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
}

#[tokio::test]
async fn metrics_count_by_operation_and_decision_with_templates_not_paths() {
    let up = upstream().await;
    let gw = gateway(&up).await;
    for id in ["a1", "b2", "c3"] {
        gw.get_status(&format!("/items/{id}")).await;
    }
    gw.get_status("/nothing-here").await;
    gw.get_status("/status/502").await;
    let text = gw.admin_text("/metrics").await;
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle) && !l.starts_with('#'))
            .unwrap_or_else(|| panic!("no `{needle}` in\n{text}"))
            .to_owned()
    };
    assert!(line(r#"portcullis_requests_total{api="test",operation="getItem",status_class="2xx",decision="allow"}"#).ends_with(" 3"));
    assert!(line(r#"operation="",status_class="4xx",decision="reject""#).ends_with(" 1"));
    assert!(
        line(r#"portcullis_request_duration_seconds_count{api="test",route="/items/{id}"}"#)
            .ends_with(" 3")
    );
    assert!(
        line(r#"portcullis_upstream_errors_total{upstream="main",kind="upstream-error"}"#)
            .ends_with(" 1")
    );
    assert!(
        !text.contains("a1") && !text.contains("nothing-here"),
        "raw paths never become labels"
    );
    assert!(text.contains("portcullis_open_connections"));
}

#[tokio::test]
async fn config_endpoint_is_redacted() {
    let up = upstream().await;
    let gw = gateway(&up).await;
    let cfg: serde_json::Value = gw.admin_json("/config").await;
    assert_eq!(cfg["apis"][0]["name"], "test");
    assert_eq!(cfg["apis"][0]["spec"]["operations"], 9);
    assert_eq!(cfg["version"].as_str().unwrap().len(), 64);
    assert!(!cfg.to_string().contains(ADMIN_TOKEN));
}

#[tokio::test]
async fn a_non_loopback_admin_address_without_a_token_is_refused() {
    let text = config("http://127.0.0.1:9", "").replace(
        "  address: 127.0.0.1:0\n  token: file:admin-token\n",
        "  address: 0.0.0.0:0\n",
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spec.yaml"), SPEC).unwrap();
    std::fs::write(dir.path().join("portcullis.yaml"), &text).unwrap();
    let err = portcullis_gateway::config::load(&dir.path().join("portcullis.yaml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("admin.address") && err.contains("token"),
        "{err}"
    );
}
