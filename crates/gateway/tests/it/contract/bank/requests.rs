//! What may come in: mass assignment (`readOnly`, strict objects), injected
//! payloads in every location, and typed values held to their types.

use reqwest::Method;
use serde_json::{Value, json};

use super::*;
use crate::support::*;

#[tokio::test]
async fn mass_assignment_of_owner_and_balance_is_refused_and_the_bank_unchanged() {
    let s = setup().await;
    let before = s.all_accounts().await;
    let greedy = json!({
        "type": "savings", "currency": "EUR", "nickname": "Rainy day",
        "owner": "u-bob", "balance_cents": 100_000_000
    });
    let resp = s
        .through(Method::POST, "/v2/accounts", &alice())
        .json(&greedy)
        .send()
        .await
        .unwrap();
    let errors = violations(resp, &["100000000", "u-bob"]).await;
    for field in ["/body/balance_cents", "/body/owner"] {
        let detail = detail_at(&errors, field).to_ascii_lowercase();
        assert!(
            detail.contains("read"),
            "{field} is refused as read-only: {detail}"
        );
    }
    assert_eq!(s.all_accounts().await, before, "no account was opened");

    // What the client may choose is accepted; the bank sets the rest.
    let resp = s
        .through(Method::POST, "/v2/accounts", &alice())
        .json(&json!({ "type": "savings", "currency": "EUR", "nickname": "Rainy day" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let opened: Value = resp.json().await.unwrap();
    assert_eq!(
        (&opened["owner"], &opened["balance_cents"]),
        (&json!("u-alice"), &json!(0))
    );

    // The naive bank alone hands out a million, on an account of bob's.
    let (status, account) = s
        .direct_send(Method::POST, "/v2/accounts", "u-alice", greedy)
        .await;
    assert_eq!(
        (status, &account["owner"], &account["balance_cents"]),
        (201, &json!("u-bob"), &json!(100_000_000))
    );
}

#[tokio::test]
async fn strict_mode_refuses_properties_the_schema_does_not_declare() {
    let s = setup().await;
    let alice = alice();
    // A customer making themself an admin through their profile.
    let resp = s
        .through(Method::PATCH, "/v2/me", &alice)
        .json(&json!({ "name": "Alice", "roles": ["admin"] }))
        .send()
        .await
        .unwrap();
    let errors = violations(resp, &["admin"]).await;
    detail_at(&errors, "/body/roles");
    // Nested objects are closed too.
    let address = json!({ "line1": "1 Main St", "city": "Berlin", "country": "DE", "vip": true });
    let resp = s
        .through(Method::PATCH, "/v2/me", &alice)
        .json(&json!({ "address": address }))
        .send()
        .await
        .unwrap();
    detail_at(&violations(resp, &[]).await, "/body/address/vip");
    // And the transfer schema says so itself (`additionalProperties: false`).
    let resp = s
        .through(Method::POST, "/v2/transfers", &alice)
        .json(&json!({ "from": "acc-1001", "to": "acc-2001", "amount_cents": 100, "status": "approved" }))
        .send()
        .await
        .unwrap();
    detail_at(&violations(resp, &["approved"]).await, "/body/status");
    let (_, me) = s.direct_json("/v2/me", "u-alice").await;
    assert_eq!(
        (&me["name"], &me["roles"]),
        (&json!("Alice Martin"), &json!(["customer"]))
    );

    // A documented change goes through; the answer shows only documented fields.
    let resp = s
        .through(Method::PATCH, "/v2/me", &alice)
        .json(&json!({ "name": "Alice Martin-Weber" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let me: Value = resp.json().await.unwrap();
    assert_eq!(me["name"], "Alice Martin-Weber");
    assert!(
        me.get("password_hash").is_none(),
        "undocumented: stripped: {me}"
    );

    // The naive bank alone makes alice an admin.
    let (status, me) = s
        .direct_send(
            Method::PATCH,
            "/v2/me",
            "u-alice",
            json!({ "roles": ["admin"] }),
        )
        .await;
    assert_eq!((status, &me["roles"]), (200, &json!(["admin"])));
}

#[tokio::test]
async fn injected_payloads_are_blocked_in_every_location_and_audited_without_them() {
    let s = setup().await;
    let alice = alice();
    let txs = "/v2/accounts/acc-1001/transactions";
    let json_to = |method, path: &str, body: Value| s.through(method, path, &alice).json(&body);
    let cases: Vec<(reqwest::RequestBuilder, &str, &str)> = vec![
        // A free-text path parameter (the branch id has no pattern).
        (
            client().get(format!("{}/v2/branches/{}", s.gw.url, enc(SQLI))),
            "sqli",
            "/path/branchId",
        ),
        (
            s.through(Method::GET, &format!("{txs}?q={}", enc(XSS)), &alice),
            "xss",
            "/query/q",
        ),
        (
            s.through(Method::GET, txs, &alice)
                .header("x-request-purpose", JNDI),
            "jndi",
            "/header/x-request-purpose",
        ),
        (
            s.through(Method::GET, txs, &alice)
                .header("cookie", format!("last_search={}", enc(XSS))),
            "xss",
            "/cookie/last_search",
        ),
        (
            json_to(
                Method::POST,
                "/v2/transfers",
                json!({ "from": "acc-1001", "to": "acc-2001", "amount_cents": 100, "reference": SQLI }),
            ),
            "sqli",
            "/body/reference",
        ),
        (
            json_to(
                Method::PATCH,
                "/v2/me",
                json!({ "address": { "line1": XSS, "city": "Berlin", "country": "DE" } }),
            ),
            "xss",
            "/body/address/line1",
        ),
        (
            json_to(
                Method::POST,
                "/v2/accounts",
                json!({ "type": "checking", "currency": "EUR", "labels": { "$where": "1 == 1" } }),
            ),
            "nosql",
            "/body/labels/$where",
        ),
        (
            json_to(
                Method::POST,
                "/v2/accounts",
                json!({ "type": "checking", "currency": "EUR", "labels": { "__proto__": "x" } }),
            ),
            "prototype-pollution",
            "/body/labels/__proto__",
        ),
        (
            s.through(Method::POST, "/v2/support/messages", &alice)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("subject={}&message=Please+call+me", enc(SQLI))),
            "sqli",
            "/body/subject",
        ),
    ];
    let accounts = s.all_accounts().await;
    for (n, (request, detector, location)) in cases.into_iter().enumerate() {
        let resp = request.send().await.unwrap();
        if resp.status() != 403 {
            let status = resp.status();
            panic!("{location}: {status} {}", resp.text().await.unwrap());
        }
        let doc = assert_problem(resp, 403, "request-blocked").await;
        let text = doc.to_string();
        for payload in [
            SQLI,
            XSS,
            JNDI,
            "UNION",
            "script",
            "jndi",
            "$where",
            "__proto__",
        ] {
            assert!(
                !text.contains(payload),
                "the problem quotes `{payload}`: {text}"
            );
        }
        let event = s.event(n + 1).await;
        assert_eq!(event["status"], 403, "{event}");
        let found = &event["inspection"];
        assert_eq!(found["detector"], detector, "{location}: {event}");
        assert_eq!(
            found["location"]
                .as_str()
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some(location.to_ascii_lowercase().as_str()),
            "{event}"
        );
    }
    // Nothing reached the bank: no money moved, no account, no profile change.
    assert_eq!(s.all_accounts().await, accounts);
    let (_, me) = s.direct_json("/v2/me", "u-alice").await;
    assert!(me.get("address").is_none(), "{me}");
    // Ordinary text in the same places goes through (the form included).
    let resp = s
        .through(Method::POST, "/v2/support/messages", &alice)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("subject=Card+lost&message=I+can%27t+find+my+card%2C+please+block+it")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    // The audit log names detectors and locations, never a payload.
    let audit = s.audit_text();
    for payload in ["UNION", "<script", "jndi:", "evil.example", "1 == 1"] {
        assert!(!audit.contains(payload), "the audit log holds `{payload}`");
    }
}

#[tokio::test]
async fn typed_parameters_get_validation_errors_not_injection_blocks() {
    let s = setup().await;
    let alice = alice();
    let txs = "/v2/accounts/acc-1001/transactions";
    let cases = [
        (format!("{txs}?limit={}", enc("1 OR 1=1")), "/query/limit"),
        (
            format!("{txs}?type={}", enc("debit' OR '1'='1")),
            "/query/type",
        ),
        (
            format!("/v2/rates/{}", enc("USD' OR 1=1--")),
            "/path/currency",
        ),
        // Undeclared query parameters are refused (`unknown_query: reject`).
        (format!("{txs}?debug=true"), "/query/debug"),
    ];
    for (n, (path, pointer)) in cases.iter().enumerate() {
        let resp = s.through(Method::GET, path, &alice).send().await.unwrap();
        let errors = violations(resp, &["OR 1=1", "'1'='1"]).await;
        detail_at(&errors, pointer);
        let event = s.event(n + 1).await;
        assert_eq!(event["status"], 400, "{event}");
        assert!(
            event["inspection"].is_null(),
            "validated, not inspected: {event}"
        );
    }
    // Free text that merely looks odd is fine.
    for q in ["Salary", "O'Reilly", "rent & bills"] {
        let resp = s
            .through(Method::GET, &format!("{txs}?q={}", enc(q)), &alice)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{q}");
    }
    let resp = s
        .through(
            Method::GET,
            &format!("{txs}?q=salary&type=credit&limit=5"),
            &alice,
        )
        .send()
        .await
        .unwrap();
    let list: Value = resp.json().await.unwrap();
    let descriptions: Vec<&str> = list["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["description"].as_str().unwrap())
        .collect();
    assert_eq!(descriptions, ["Salary ACME GmbH"]);
}
