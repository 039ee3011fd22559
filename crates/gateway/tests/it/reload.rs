//! Hot reload: admin, file watch; bad configs are refused and the old one keeps serving;
//! reloading under traffic fails no request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::support::*;

const SPEC_V2: &str = "openapi: 3.1.0\ninfo: { title: v2, version: '2' }\nsecurity: []\npaths:\n  /v2/things:\n    get: { operationId: listThings, responses: { '200': { description: ok } } }\ncomponents: { securitySchemes: { bearer: { type: http, scheme: bearer } } }\n";

#[tokio::test]
async fn admin_reload_swaps_the_spec_and_a_bad_config_keeps_the_old_one() {
    let up = upstream().await;
    let mut gw = gateway(&up).await;
    assert_eq!(
        gw.reload().await,
        (200, serde_json::json!({ "result": "unchanged" }))
    );
    // A broken spec: refused with file and position, old routes still served.
    gw.write("spec.yaml", "openapi: 3.1.0\npaths: [unclosed\n");
    let (status, body) = gw.reload().await;
    assert_eq!(status, 422);
    assert!(
        body["errors"][0].as_str().unwrap().contains("spec.yaml"),
        "{body}"
    );
    assert_eq!(gw.get_status("/items").await, 200);
    // A valid new spec: the new routes replace the old ones.
    gw.write("spec.yaml", SPEC_V2);
    let (status, body) = gw.reload().await;
    assert_eq!((status, body["result"].as_str()), (200, Some("loaded")));
    assert_eq!(gw.get_status("/v2/things").await, 200);
    assert_eq!(gw.get_status("/items").await, 404);
    let metrics = gw.admin_text("/metrics").await;
    assert!(
        metrics.contains(r#"portcullis_config_reloads_total{result="failure"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"portcullis_config_reloads_total{result="success"} 1"#));
    gw.shutdown().await;
    let audit = gw.audit_lines();
    assert!(
        audit.iter().any(|e| e["event"] == "config"
            && e["result"] == "rejected"
            && e["trigger"] == "admin")
    );
    assert!(
        audit
            .iter()
            .any(|e| e["event"] == "admin" && e["endpoint"] == "/reload")
    );
}

#[tokio::test]
async fn a_changed_file_is_picked_up_by_the_watcher() {
    let up = upstream().await;
    let gw = gateway_with(&watching(&config(&up.url(), "")), &[]).await;
    gw.write("spec.yaml", SPEC_V2);
    let c = client();
    let url = format!("{}/v2/things", gw.url);
    for _ in 0..100 {
        if c.get(&url).send().await.unwrap().status() == 200 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the spec change was not picked up");
}

#[tokio::test]
async fn reload_under_traffic_fails_no_request() {
    let up = upstream().await;
    let gw = gateway(&up).await;
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (url, stop, ok, failed) = (
            format!("{}/items", gw.url),
            stop.clone(),
            ok.clone(),
            failed.clone(),
        );
        workers.push(tokio::spawn(async move {
            let c = reqwest::Client::new(); // keep-alive: connections live across reloads
            while !stop.load(Ordering::Relaxed) {
                match c.get(&url).send().await {
                    Ok(r) if r.status() == 200 => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    // Alternate between two valid configs (a change of limits each time).
    for i in 0..10 {
        let text = config(&up.url(), &format!("limits:\n  max_headers: {}", 50 + i));
        gw.write("portcullis.yaml", &text);
        let (status, body) = gw.reload().await;
        assert_eq!(status, 200, "{body}");
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    assert_eq!(failed.load(Ordering::Relaxed), 0);
    assert!(
        ok.load(Ordering::Relaxed) > 50,
        "traffic actually flowed during the reloads"
    );
}

#[tokio::test]
async fn in_flight_requests_finish_on_graceful_shutdown() {
    let up = upstream().await;
    let mut gw = gateway(&up).await;
    let url = format!("{}/slow/400", gw.url);
    let pending =
        tokio::spawn(async move { client().get(url).send().await.map(|r| r.status().as_u16()) });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let addr = gw.addr;
    gw.shutdown().await;
    assert_eq!(
        pending.await.unwrap().unwrap(),
        200,
        "the in-flight request completed"
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}
