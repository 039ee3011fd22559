//! Response ownership through the real gateway: the upstream's answer is
//! checked against the caller before a byte of it leaves, lists are filtered
//! or refused, and what cannot be checked is withheld.

use serde_json::{Value, json};

use super::policies::{authz_gateway, request_events};
use crate::scripted::{Reply, Scripted};
use crate::support::*;

/// Ownership rules on three operations; responses over 4 KiB cannot be checked.
const OWNERSHIP: &str = r#"
authorization:
  allow: ["*"]
  max_response_bytes: 4096
  operations:
    getDocument:
      response_owner: { pointer: /owner, claim: sub }
    listDocuments:
      response_owner: { items: /documents, pointer: /owner, claim: sub, mismatch: filter }
    listAccounts:
      response_owner: { items: /accounts, pointer: /owner, claim: sub, mismatch: refuse }
"#;

/// GET `path` as `sub`, with extra request headers.
async fn get_as(
    gw: &Gateway,
    path: &str,
    sub: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = client()
        .get(format!("{}{path}", gw.url))
        .bearer_auth(token(sub, json!({})));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn an_object_of_the_caller_passes_intact_and_anothers_is_withheld_entirely() {
    let up = Scripted::start().await;
    let gw = authz_gateway(&up.url(), OWNERSHIP, &[]).await;
    // Odd spacing: the caller gets the upstream's very bytes.
    let alices = "{\"id\": \"d1\",  \"owner\": \"alice\",\n \"text\": \"alice's secret\"}";
    up.answer(Reply::json(alices));
    let resp = get_as(&gw, "/documents/d1", "alice", &[]).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(resp.bytes().await.unwrap(), alices.as_bytes());

    let resp = get_as(&gw, "/documents/d1", "mallory", &[]).await;
    assert_eq!(resp.status(), 403);
    let text = resp.text().await.unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    // The request id is random hex: it may hold `d1` by chance.
    let mut quoted = doc.clone();
    if let Some(o) = quoted.as_object_mut() {
        o.remove("request_id");
        o.remove("instance");
    }
    let quoted = quoted.to_string();
    assert!(
        !quoted.contains("secret") && !quoted.contains("d1"),
        "{text}"
    );
    assert_eq!(doc["type"], "urn:portcullis:problem:forbidden");
    assert_problem(
        get_as(&gw, "/documents/d1", "mallory", &[]).await,
        403,
        "forbidden",
    )
    .await;

    // No owner in the object: not the caller's.
    up.answer(Reply::json("{\"id\": \"d2\", \"text\": \"orphan\"}"));
    let resp = get_as(&gw, "/documents/d2", "alice", &[]).await;
    assert_problem(resp, 403, "forbidden").await;

    let events = request_events(&gw, 4).await;
    let refused = events.iter().find(|e| e["status"] == 403).unwrap();
    assert_eq!(refused["stage"], "respond");
    assert_eq!(refused["upstream_status"], 200);
    assert_eq!(
        refused["reason"],
        "forbidden: the response belongs to someone else"
    );
}

#[tokio::test]
async fn a_list_is_filtered_to_the_callers_items_or_refused_whole() {
    let up = Scripted::start().await;
    let gw = authz_gateway(&up.url(), OWNERSHIP, &[]).await;
    let mixed = json!({
        "documents": [
            { "id": 1, "owner": "alice" },
            { "id": 2, "owner": "bob", "text": "bob's secret" },
            { "id": 3, "owner": "alice" },
        ],
        "next": null,
    });
    let mut reply = Reply::json(mixed.to_string());
    reply.headers.push(("etag", "\"v1\""));
    up.answer(reply);
    let resp = get_as(&gw, "/documents", "alice", &[]).await;
    assert_eq!(resp.status(), 200);
    assert!(
        !resp.headers().contains_key("etag"),
        "the ETag named other bytes"
    );
    let length: usize = resp.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(length, bytes.len());
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        body,
        json!({ "documents": [{ "id": 1, "owner": "alice" }, { "id": 3, "owner": "alice" }], "next": null })
    );
    // Nothing of Bob's: the filtered list may be empty.
    let resp = get_as(&gw, "/documents", "carol", &[]).await;
    assert_eq!(resp.json::<Value>().await.unwrap()["documents"], json!([]));

    // `mismatch: refuse`: one item of another refuses the whole list.
    let accounts = |owners: &[&str]| {
        let items: Vec<Value> = owners.iter().map(|o| json!({ "owner": o })).collect();
        Reply::json(json!({ "accounts": items }).to_string())
    };
    up.answer(accounts(&["alice", "bob"]));
    let resp = get_as(&gw, "/accounts", "alice", &[]).await;
    let doc = assert_problem(resp, 403, "forbidden").await;
    assert!(!doc.to_string().contains("bob"), "{doc}");
    up.answer(accounts(&["alice", "alice"]));
    assert_eq!(get_as(&gw, "/accounts", "alice", &[]).await.status(), 200);
    // Not the list the rule expects: refused, not passed.
    up.answer(Reply::json("{\"accounts\": {\"owner\": \"alice\"}}"));
    let resp = get_as(&gw, "/accounts", "alice", &[]).await;
    assert_problem(resp, 403, "forbidden").await;
}

#[tokio::test]
async fn a_response_that_cannot_be_checked_fails_closed_and_errors_pass_untouched() {
    let up = Scripted::start().await;
    let gw = authz_gateway(&up.url(), OWNERSHIP, &[]).await;
    let big = format!(
        "{{\"owner\": \"alice\", \"text\": \"{}\"}}",
        "x".repeat(5000)
    );
    let withheld = async |reply: Reply| {
        up.answer(reply);
        let resp = get_as(&gw, "/documents/d1", "alice", &[]).await;
        assert_problem(resp, 502, "response-unverifiable").await
    };
    // Larger than `max_response_bytes`, with its length declared and streamed.
    withheld(Reply::json(big.clone())).await;
    let mut streamed = Reply::json(big);
    streamed.chunked = true;
    withheld(streamed).await;
    // Not JSON, by its type or by its bytes.
    let mut text = Reply::json("owner: alice");
    text.headers = vec![("content-type", "text/plain")];
    withheld(text).await;
    let mut unlabelled = Reply::json("{\"owner\": \"alice\"");
    unlabelled.headers.clear();
    withheld(unlabelled).await;
    // Compressed: the gateway cannot see the owner.
    let mut gzip = Reply::json("\u{1f}\u{8b}not really");
    gzip.headers.push(("content-encoding", "gzip"));
    withheld(gzip).await;

    // An error is not an object to own: it passes as the upstream sent it.
    let mut missing = Reply::json("{\"error\": \"no such document\"}");
    missing.status = 404;
    up.answer(missing);
    let resp = get_as(&gw, "/documents/d9", "alice", &[]).await;
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(
        resp.text().await.unwrap(),
        "{\"error\": \"no such document\"}"
    );
    let events = request_events(&gw, 6).await;
    let reasons: Vec<&str> = events.iter().filter_map(|e| e["reason"].as_str()).collect();
    assert_eq!(
        reasons,
        [
            "response-unverifiable: response too large",
            "response-unverifiable: response too large",
            "response-unverifiable: response is not JSON",
            "response-unverifiable: response is not JSON",
            "response-unverifiable: compressed response",
        ]
    );
}

#[tokio::test]
async fn the_upstream_is_asked_for_an_uncompressed_response_only_where_ownership_is_checked() {
    let up = Scripted::start().await;
    let gw = authz_gateway(&up.url(), OWNERSHIP, &[]).await;
    up.answer(Reply::json("{\"id\": \"a1\", \"owner\": \"alice\"}"));
    let gzip = [("accept-encoding", "gzip, br")];
    assert_eq!(
        get_as(&gw, "/documents/d1", "alice", &gzip).await.status(),
        200
    );
    assert_eq!(
        get_as(&gw, "/accounts/a1", "alice", &gzip).await.status(),
        200
    );
    let seen = up.requests();
    assert_eq!(seen.len(), 2);
    assert!(!seen[0].contains_key("accept-encoding"), "{:?}", seen[0]);
    assert_eq!(seen[1]["accept-encoding"], "gzip, br");
}

#[tokio::test]
async fn monitor_mode_records_a_response_of_another_and_lets_it_through() {
    let up = Scripted::start().await;
    let gw = authz_gateway(
        &up.url(),
        &OWNERSHIP.replace("  allow:", "  mode: monitor\n  allow:"),
        &[],
    )
    .await;
    up.answer(Reply::json("{\"owner\": \"bob\"}"));
    let resp = get_as(&gw, "/documents/d1", "alice", &[]).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "{\"owner\": \"bob\"}");
    let events = request_events(&gw, 1).await;
    assert_eq!(
        events[0]["reason"],
        "monitor: forbidden: the response belongs to someone else"
    );
    assert_eq!(events[0]["decision"], "allow");
}
