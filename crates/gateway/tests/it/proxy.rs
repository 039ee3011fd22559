//! Proxy semantics: routing from the spec, forwarding, header hygiene, problems, audit.

use crate::support::*;

#[tokio::test]
async fn documented_operations_are_forwarded_with_their_canonical_path() {
    let up = upstream().await;
    let gw = gateway(&up).await;
    let resp = gw.get("/items/%61b?x=1&y=%2F").await;
    assert_eq!(resp.status(), 200);
    let seen = up.last();
    assert_eq!(
        seen.uri, "/items/ab?x=1&y=%2F",
        "path normalized once, query untouched"
    );
    assert_eq!(seen.method, "GET");
}

#[tokio::test]
async fn undocumented_paths_are_404_and_methods_405_with_allow() {
    let up = upstream().await;
    let gw = gateway(&up).await;
    let c = client();
    assert_problem(gw.get("/debug/env").await, 404, "not-found").await;
    let resp = c.delete(format!("{}/items", gw.url)).send().await.unwrap();
    assert_eq!(resp.headers()["allow"], "GET, POST");
    assert_problem(resp, 405, "method-not-allowed").await;
    // Dot segments cannot walk from a documented path to an undocumented one.
    let resp = raw(
        gw.addr,
        b"GET /items/../debug/env HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert_eq!(status_of(&resp), 404);
    assert!(
        up.requests().is_empty(),
        "nothing undocumented reached the upstream"
    );
}

#[tokio::test]
async fn encoded_slashes_and_bad_escapes_are_refused() {
    let up = upstream().await;
    let gw = gateway(&up).await;
    for path in [
        "/items/a%2f..%2fsecret",
        "/items/a%5c",
        "/items/%zz",
        "/items/a%00",
    ] {
        let resp = client()
            .get(format!("{}{path}", gw.url))
            .send()
            .await
            .unwrap();
        assert_problem(resp, 400, "malformed-request").await;
    }
    assert!(up.requests().is_empty());
}

#[tokio::test]
async fn hop_by_hop_and_spoofed_headers_never_cross() {
    let up = upstream().await;
    let gw = gateway(&up).await;
    let resp = client()
        .get(format!("{}/items", gw.url))
        .header("connection", "x-drop-me")
        .header("x-drop-me", "1")
        .header("x-portcullis-subject", "u-admin")
        .header("x-forwarded-for", "6.6.6.6")
        .header("forwarded", "for=6.6.6.6")
        .header("x-request-id", "spoofed-id")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Response side: hop-by-hop and version-revealing headers are gone.
    assert!(resp.headers().get("x-hop").is_none());
    assert_eq!(resp.headers()["server"], "portcullis");
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    let rid = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(
        rid, "spoofed-id",
        "request ids are kept only from trusted proxies"
    );
    let seen = up.last();
    assert!(seen.headers.get("x-drop-me").is_none());
    assert!(seen.headers.get("x-portcullis-subject").is_none());
    assert_eq!(seen.headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(seen.headers["x-forwarded-proto"], "http");
    assert_eq!(seen.headers["x-forwarded-host"], gw.addr.to_string());
    assert_eq!(
        seen.headers["forwarded"],
        format!("for=127.0.0.1;proto=http;host={}", gw.addr)
    );
    assert_eq!(seen.headers["x-request-id"], rid.as_str());
    assert_eq!(seen.headers["host"], up.addr.to_string());
}

#[tokio::test]
async fn trusted_proxies_keep_their_forwarding_headers_and_request_id() {
    let up = upstream().await;
    let gw = gateway_with(&config(&up.url(), "trusted_proxies: [127.0.0.0/8]"), &[]).await;
    let resp = client()
        .get(format!("{}/items", gw.url))
        .header("x-forwarded-for", "203.0.113.7")
        .header("x-request-id", "edge-42")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "edge-42");
    let seen = up.last();
    assert_eq!(seen.headers["x-forwarded-for"], "203.0.113.7, 127.0.0.1");
    assert_eq!(seen.headers["x-request-id"], "edge-42");
    drop(resp);
    let mut gw = gw;
    gw.shutdown().await;
    let audit = gw.audit_lines();
    let req = audit
        .iter()
        .find(|e| e["event"] == "request")
        .expect("a request event");
    assert_eq!(
        req["client_ip"], "203.0.113.7",
        "client ip resolved through the trusted proxy"
    );
}

#[tokio::test]
async fn upstream_5xx_bodies_are_replaced_and_hashed_into_the_audit_log() {
    let up = upstream().await;
    let mut gw = gateway(&up).await;
    let resp = gw.get("/status/500").await;
    assert!(resp.headers().get("x-powered-by").is_none());
    let doc = assert_problem(resp, 500, "upstream-error").await;
    assert!(!doc.to_string().contains("S3cr3t") && !doc.to_string().contains("java"));
    // 4xx pass through untouched.
    let resp = gw.get("/status/404").await;
    assert_eq!(resp.status(), 404);
    assert!(resp.text().await.unwrap().contains("NullPointer"));
    gw.shutdown().await;
    let audit = gw.audit_lines();
    let replaced = audit
        .iter()
        .find(|e| e["status"] == 500)
        .expect("audit event for the 500");
    assert_eq!(replaced["decision"], "reject");
    assert_eq!(replaced["stage"], "respond");
    assert_eq!(replaced["upstream_status"], 500);
    assert!(replaced["reason"].as_str().unwrap().contains("sha256 "));
}

#[tokio::test]
async fn upstream_errors_can_be_passed_through_when_configured() {
    let up = upstream().await;
    let text = config(&up.url(), "").replace(
        "upstream: main\n",
        "upstream: main\n    replace_upstream_errors: false\n",
    );
    let gw = gateway_with(&text, &[]).await;
    let resp = gw.get("/status/503").await;
    assert_eq!(resp.status(), 503);
    assert!(resp.text().await.unwrap().contains("NullPointer"));
}

#[tokio::test]
async fn secured_operations_need_a_verified_credential() {
    let up = upstream().await;
    let gw = gateway(&up).await;
    let resp = gw.get("/secure").await;
    assert_eq!(resp.headers()["www-authenticate"], "Bearer realm=\"test\"");
    assert_problem(resp, 401, "unauthenticated").await;
    let resp = client()
        .get(format!("{}/secure", gw.url))
        .bearer_auth("anything")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["www-authenticate"],
        "Bearer realm=\"test\", error=\"invalid_token\""
    );
    assert_problem(resp, 401, "unauthenticated").await;
    assert!(up.requests().is_empty());
    let resp = client()
        .get(format!("{}/secure", gw.url))
        .bearer_auth(token("u-1", serde_json::json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(up.last().headers["x-portcullis-subject"], "u-1");
}

#[tokio::test]
async fn bodies_stream_both_ways() {
    let up = upstream().await;
    let gw = gateway(&up).await;
    let body = vec![b'a'; 256 * 1024];
    let resp = client()
        .post(format!("{}/items", gw.url))
        .body(body)
        .send()
        .await
        .unwrap();
    let json: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(json["body_len"], 256 * 1024);
    let started = std::time::Instant::now();
    let mut resp = gw.get("/stream/10").await;
    let first = resp.chunk().await.unwrap().expect("a first chunk");
    let first_at = started.elapsed();
    let mut total = first.len();
    while let Some(c) = resp.chunk().await.unwrap() {
        total += c.len();
    }
    assert_eq!(total, 10 * 1024);
    assert!(
        first_at < started.elapsed() / 2,
        "the first chunk arrived before the upstream finished"
    );
}

#[tokio::test]
async fn oversized_bodies_are_413_declared_or_streamed() {
    let up = upstream().await;
    let gw = gateway_with(&config(&up.url(), "limits:\n  max_body_bytes: 1KiB"), &[]).await;
    let resp = client()
        .post(format!("{}/items", gw.url))
        .body(vec![b'a'; 2048])
        .send()
        .await
        .unwrap();
    assert_problem(resp, 413, "payload-too-large").await;
    // Chunked, no length declared: cut off while streaming.
    let resp = raw(
        gw.addr,
        b"POST /items HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n"
            .iter()
            .chain([b'a'; 1024].iter())
            .chain(b"\r\n400\r\n".iter())
            .chain([b'b'; 1024].iter())
            .chain(b"\r\n0\r\n\r\n".iter())
            .copied()
            .collect::<Vec<u8>>()
            .as_slice(),
    )
    .await;
    assert_eq!(status_of(&resp), 413, "{resp}");
}

#[tokio::test]
async fn unspecified_prefix_routes_forward_anything_under_their_base_path() {
    let up = upstream().await;
    let text = format!(
        r#"
listeners: [{{ address: 127.0.0.1:0 }}]
admin: {{ address: 127.0.0.1:0 }}
upstreams:
  legacy: {{ targets: ["{}/backend"] }}
apis:
  - name: legacy
    without_spec: true
    base_path: /legacy
    strip_base_path: true
    upstream: legacy
"#,
        up.url()
    );
    let gw = gateway_with(&text, &[]).await;
    let resp = client()
        .delete(format!("{}/legacy/anything/here?q=1", gw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(up.last().uri, "/backend/anything/here?q=1");
    let resp = gw.get("/other").await;
    assert_problem(resp, 404, "not-found").await;
}

#[tokio::test]
async fn every_request_is_one_audit_event_without_secrets() {
    let up = upstream().await;
    let mut gw = gateway(&up).await;
    let c = client();
    c.get(format!("{}/items?token=abc", gw.url))
        .header("authorization", "Bearer sekrit-token")
        .header("cookie", "sid=sekrit-cookie")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    gw.get_status("/nope").await;
    gw.shutdown().await;
    let text = std::fs::read_to_string(gw.dir.path().join("audit.jsonl")).unwrap();
    assert!(
        !text.contains("sekrit"),
        "no tokens or cookies in the audit log"
    );
    let events = gw.audit_lines();
    let reqs: Vec<_> = events.iter().filter(|e| e["event"] == "request").collect();
    assert_eq!(reqs.len(), 2);
    let ok = reqs.iter().find(|e| e["status"] == 200).unwrap();
    assert_eq!(ok["decision"], "allow");
    assert_eq!(ok["route"], "/items");
    assert_eq!(ok["operation"], "listItems");
    assert_eq!(ok["api"], "test");
    assert_eq!(ok["upstream_status"], 200);
    assert!(ok["bytes_out"].as_u64().unwrap() > 0);
    assert!(ok["latency_ms"].as_f64().unwrap() > 0.0);
    let nf = reqs.iter().find(|e| e["status"] == 404).unwrap();
    assert_eq!(nf["decision"], "reject");
    assert_eq!(nf["stage"], "route");
    assert!(
        nf["route"].is_null(),
        "raw paths are never recorded as routes"
    );
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "config" && e["trigger"] == "start")
    );
}

#[tokio::test]
async fn a_full_audit_queue_drops_and_counts_instead_of_blocking() {
    let up = upstream().await;
    let gw = gateway_with(
        &config(&up.url(), "").replace(
            "  file: audit.jsonl\n",
            "  file: audit.jsonl\n  queue_capacity: 1\n",
        ),
        &[],
    )
    .await;
    let c = client();
    let n = 300;
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (c, url) = (c.clone(), format!("{}/items", gw.url));
        tasks.push(tokio::spawn(async move {
            c.get(url).send().await.unwrap().status()
        }));
    }
    for t in tasks {
        assert_eq!(
            t.await.unwrap(),
            200,
            "no request waits for or fails on the audit log"
        );
    }
    let dropped = || {
        gw.running
            .as_ref()
            .unwrap()
            .gateway
            .metrics
            .audit_dropped
            .get()
    };
    let written = || {
        gw.audit_lines()
            .iter()
            .filter(|e| e["event"] == "request")
            .count() as u64
    };
    eventually("every event written or counted as dropped", || {
        written() + dropped() == n
    })
    .await;
    assert!(
        dropped() > 0,
        "a queue of one overflowed under {n} concurrent requests"
    );
}

#[tokio::test]
async fn security_headers_are_configurable_and_never_override_the_upstream() {
    let up = upstream().await;
    let extra = "security_headers:\n  json_csp: \"default-src 'self'\"\n  custom: { Permissions-Policy: \"camera=()\" }";
    let gw = gateway_with(&config(&up.url(), extra), &[]).await;
    let resp = gw.get("/items").await;
    assert_eq!(
        resp.headers()["content-security-policy"],
        "default-src 'self'"
    );
    assert_eq!(resp.headers()["permissions-policy"], "camera=()");
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    assert!(
        resp.headers().get("strict-transport-security").is_none(),
        "HSTS only on TLS"
    );
    let off = gateway_with(
        &config(&up.url(), "security_headers:\n  enabled: false"),
        &[],
    )
    .await;
    let resp = client()
        .get(format!("{}/items", off.url))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("x-content-type-options").is_none());
    assert_eq!(
        resp.headers()["server"],
        "portcullis",
        "versions are hidden either way"
    );
}
