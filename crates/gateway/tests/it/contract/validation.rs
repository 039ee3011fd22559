//! Requests held to the spec through the real gateway: parameters with their
//! serialization and types, media types, JSON bodies with readOnly and strict
//! mode, body limits, overlays, and monitor mode.

use serde_json::{Value, json};

use super::{contract_gateway, request_events};
use crate::support::*;

/// The `errors` of a 400 `invalid-request` problem, as (pointer, detail) pairs.
async fn violations(resp: reqwest::Response) -> Vec<(String, String)> {
    let doc = assert_problem(resp, 400, "invalid-request").await;
    doc["errors"]
        .as_array()
        .expect("an invalid-request problem lists its errors")
        .iter()
        .map(|e| {
            (
                e["pointer"].as_str().unwrap().to_owned(),
                e["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pointers(v: &[(String, String)]) -> Vec<&str> {
    v.iter().map(|(p, _)| p.as_str()).collect()
}

#[tokio::test]
async fn valid_requests_pass_and_invalid_parameters_are_listed_without_their_values() {
    let up = upstream().await;
    let gw = contract_gateway(&up, "").await;
    let ok = gw
        .get("/notes/n-1?limit=10&sort=asc&q=groceries&tags=a,b")
        .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(up.requests().len(), 1);
    // Outside strict mode, a body the operation does not declare is passed on
    // (inspected, not validated).
    let resp = client()
        .get(format!("{}/notes/n-1", gw.url))
        .header("content-type", "application/json")
        .body(json!({"note": "hello"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(up.requests().len(), 2);

    // Each broken parameter is named by its pointer; none of the values is echoed.
    let resp = gw
        .get("/notes/bad-MARKER1?limit=MARKER2&sort=MARKER3")
        .await;
    let v = violations(resp).await;
    let mut p = pointers(&v);
    p.sort_unstable();
    assert_eq!(p, ["/path/noteId", "/query/limit", "/query/sort"], "{v:?}");
    let text = format!("{v:?}");
    assert!(
        !text.contains("MARKER"),
        "values must not be echoed: {text}"
    );
    assert_eq!(
        up.requests().len(),
        2,
        "nothing invalid reaches the upstream"
    );

    // Ranges are checked after type coercion.
    let v = violations(gw.get("/notes/n-1?limit=1000").await).await;
    assert_eq!(pointers(&v), ["/query/limit"]);
}

#[tokio::test]
async fn headers_and_cookies_are_validated() {
    let up = upstream().await;
    let gw = contract_gateway(&up, "").await;
    let resp = client()
        .get(format!("{}/notes/n-1", gw.url))
        .header("x-trace", "not-a-uuid")
        .send()
        .await
        .unwrap();
    let v = violations(resp).await;
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0].0.eq_ignore_ascii_case("/header/X-Trace"), "{v:?}");
    let resp = client()
        .get(format!("{}/notes/n-1", gw.url))
        .header("x-trace", "0b9c6a64-4f3e-4b8e-9c57-8b1b0c1f7e21")
        .header("cookie", "theme=dark")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn bodies_need_an_accepted_media_type_and_match_their_schema() {
    let up = upstream().await;
    let gw = contract_gateway(&up, "").await;
    let post = |ct: &'static str, body: String| {
        client()
            .post(format!("{}/notes", gw.url))
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let ok = post(
        "application/json",
        json!({"title": "t", "stars": 3}).to_string(),
    )
    .await
    .unwrap();
    assert_eq!(ok.status(), 200);

    let resp = post("text/plain", "hello".into()).await.unwrap();
    let doc = assert_problem(resp, 415, "unsupported-media-type").await;
    assert!(
        doc["accepted"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "application/json"),
        "{doc}"
    );

    // readOnly properties may not be set by a client (mass assignment).
    let resp = post(
        "application/json",
        json!({"title": "t", "owner": "u-mallory"}).to_string(),
    )
    .await
    .unwrap();
    let v = violations(resp).await;
    assert_eq!(pointers(&v), ["/body/owner"], "{v:?}");
    assert!(v[0].1.contains("read-only"), "{v:?}");

    // A missing required property, a type error deep inside.
    let resp = post(
        "application/json",
        json!({"meta": {"source": 7}}).to_string(),
    )
    .await
    .unwrap();
    let v = violations(resp).await;
    let p = pointers(&v);
    assert!(p.contains(&"/body/meta/source"), "{v:?}");
    assert!(p.iter().any(|p| p.starts_with("/body")), "{v:?}");

    // Malformed JSON and a repeated key are refused before anything reads them.
    let resp = post("application/json", "{\"title\": ".into())
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = post("application/json", r#"{"title":"a","title":"b"}"#.into())
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    // A form body is coerced by its schema.
    let ok = post(
        "application/x-www-form-urlencoded",
        "title=t&stars=4".into(),
    )
    .await
    .unwrap();
    assert_eq!(ok.status(), 200);
    let resp = post(
        "application/x-www-form-urlencoded",
        "title=t&stars=many".into(),
    )
    .await
    .unwrap();
    assert_eq!(pointers(&violations(resp).await), ["/body/stars"]);
    assert_eq!(
        up.requests().len(),
        2,
        "only the valid bodies went upstream"
    );
}

#[tokio::test]
async fn strict_mode_closes_objects_and_limits_hold_while_parsing() {
    let up = upstream().await;
    let gw = contract_gateway(
        &up,
        "    validation:\n      strict: true\n      unknown_query: reject\n      limits: { max_depth: 4, max_array_items: 3, max_string_bytes: 64 }\n",
    )
    .await;
    let post = |body: Value| {
        client()
            .post(format!("{}/notes", gw.url))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    assert_eq!(post(json!({"title": "t"})).await.unwrap().status(), 200);
    // An undeclared property: mass assignment refused in strict mode.
    let v = violations(post(json!({"title": "t", "isAdmin": true})).await.unwrap()).await;
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0].0.starts_with("/body"), "{v:?}");
    // Limits.
    let deep = json!({"title": "t", "meta": {"source": "s", "x": {"y": {"z": {}}}}});
    assert_eq!(post(deep).await.unwrap().status(), 400);
    assert_eq!(
        post(json!({"title": "t", "tags": ["a", "b", "c", "d"]}))
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        post(json!({"title": "t", "body": "x".repeat(65)}))
            .await
            .unwrap()
            .status(),
        400
    );
    // An undeclared query parameter.
    let v = violations(gw.get("/notes/n-1?debug=1").await).await;
    assert_eq!(v.len(), 1, "{v:?}");
    // A body for an operation that declares none: data the spec does not
    // describe, refused in strict mode.
    let resp = client()
        .get(format!("{}/notes/n-1", gw.url))
        .header("content-type", "application/json")
        .body(json!({"isAdmin": true}).to_string())
        .send()
        .await
        .unwrap();
    let v = violations(resp).await;
    assert_eq!(pointers(&v), ["/body"], "{v:?}");
    assert_eq!(up.requests().len(), 1);
}

#[tokio::test]
async fn overlays_patch_the_spec_without_editing_it() {
    let up = upstream().await;
    let gw = contract_gateway(
        &up,
        "    validation:\n      overlays:\n        - target: /components/schemas/Note/properties/stars\n          update: { readOnly: true }\n        - target: /components/schemas/Note/properties/title\n          update: { maxLength: 5 }\n",
    )
    .await;
    let post = |body: Value| {
        client()
            .post(format!("{}/notes", gw.url))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    let v = violations(post(json!({"title": "t", "stars": 1})).await.unwrap()).await;
    assert_eq!(pointers(&v), ["/body/stars"]);
    let v = violations(post(json!({"title": "too long"})).await.unwrap()).await;
    assert_eq!(pointers(&v), ["/body/title"]);
    assert_eq!(post(json!({"title": "ok"})).await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_bad_overlay_names_the_config_line() {
    let dir = tempfile::tempdir().unwrap();
    write_base_files(dir.path());
    std::fs::write(dir.path().join("contract.yaml"), super::CONTRACT_SPEC).unwrap();
    let text = config("http://127.0.0.1:9", "    validation:\n      overlays:\n        - target: /components/schemas/Nope\n          update: { readOnly: true }\n")
        .replace("spec: spec.yaml", "spec: contract.yaml");
    let path = dir.path().join("portcullis.yaml");
    std::fs::write(&path, &text).unwrap();
    let err = portcullis_gateway::config::load(&path)
        .expect_err("a missing target is refused")
        .to_string();
    assert!(err.contains("portcullis.yaml"), "{err}");
    assert!(err.contains("overlays[0]"), "{err}");
    let line = text
        .lines()
        .position(|l| l.contains("/components/schemas/Nope"))
        .unwrap()
        + 1;
    assert!(
        err.contains(&format!(":{line}:")),
        "the error names line {line}: {err}"
    );
}

#[tokio::test]
async fn monitor_mode_records_violations_and_lets_them_through() {
    let up = upstream().await;
    let gw = contract_gateway(&up, "    mode: monitor\n").await;
    let resp = gw.get("/notes/n-1?limit=lots").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(up.requests().len(), 1);
    eventually("the audit record", || {
        request_events(&gw).iter().any(|e| {
            e["reason"]
                .as_str()
                .is_some_and(|r| r.contains("invalid-request") && r.contains("/query/limit"))
        })
    })
    .await;
    let metrics = gw.admin_text("/metrics").await;
    assert!(
        metrics.contains(r#"portcullis_contract_actions_total{api="test",operation="getNote",check="validation",outcome="invalid",mode="monitor"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn switched_off_validation_lets_anything_documented_through() {
    let up = upstream().await;
    let gw = contract_gateway(
        &up,
        "    validation: { enabled: false }\n    inspection: { enabled: false }\n",
    )
    .await;
    assert_eq!(gw.get("/notes/whatever?limit=lots").await.status(), 200);
}
