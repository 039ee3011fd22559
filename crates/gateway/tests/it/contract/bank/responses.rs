//! What may go out: `writeOnly` and undocumented properties removed, card
//! numbers masked, and CORS for the bank's web app.

use reqwest::Method;
use serde_json::{Value, json};

use super::*;
use crate::support::*;

#[tokio::test]
async fn write_only_credentials_and_undocumented_hashes_never_leave() {
    let s = setup().await;
    let password = "correct horse battery staple";
    let carol = json!({ "name": "Carol", "email": "carol@example.com", "password": password, "pin": "8642" });
    let resp = s
        .through(Method::POST, "/v2/admin/users", &admin())
        .json(&carol)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(created["name"], "Carol");
    assert!(created["id"].is_string(), "{created}");
    for hidden in ["password", "pin", "password_hash"] {
        assert!(
            created.get(hidden).is_none(),
            "`{hidden}` left the gateway: {created}"
        );
    }

    let resp = s
        .through(Method::GET, "/v2/admin/users", &admin())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(
        !text.contains(password) && !text.contains("argon2"),
        "{text}"
    );
    let users: Value = serde_json::from_str(&text).unwrap();
    let users = users["users"].as_array().unwrap();
    assert_eq!(users.len(), 4);
    for user in users {
        for hidden in ["password", "pin", "password_hash"] {
            assert!(
                user.get(hidden).is_none(),
                "`{hidden}` left the gateway: {user}"
            );
        }
    }

    // The naive bank alone gives it all away.
    let (_, direct) = s.direct_json("/v2/admin/users", "u-admin").await;
    let direct_carol = direct["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "Carol")
        .cloned()
        .unwrap();
    assert_eq!(
        (&direct_carol["password"], &direct_carol["pin"]),
        (&json!(password), &json!("8642"))
    );
    assert!(direct_carol["password_hash"].is_string());

    // The audit log says which fields were removed, by pointer, never their values.
    let created_event = s.event(1).await;
    let removed = |e: &Value, action: &str, field: &str| {
        e["response"].as_array().is_some_and(|a| {
            a.iter()
                .any(|r| r["action"] == action && r["field"] == field)
        })
    };
    assert!(
        removed(&created_event, "write-only", "/password"),
        "{created_event}"
    );
    assert!(
        removed(&created_event, "write-only", "/pin"),
        "{created_event}"
    );
    let listed = s.event(2).await;
    assert!(
        removed(&listed, "undocumented", "/users/0/password_hash"),
        "{listed}"
    );
    let audit = s.audit_text();
    assert!(
        !audit.contains(password) && !audit.contains("argon2"),
        "{audit}"
    );
}

#[tokio::test]
async fn card_numbers_are_masked_and_cvvs_stripped() {
    let s = setup().await;
    let resp = s
        .through(Method::GET, "/v2/accounts/acc-1001/cards", &alice())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(
        !text.contains("4111111111111111") && !text.contains("4012888888881881"),
        "{text}"
    );
    let list: Value = serde_json::from_str(&text).unwrap();
    let cards = list["cards"].as_array().unwrap();
    let numbers: Vec<&str> = cards
        .iter()
        .map(|c| c["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["************1111", "************1881"]);
    assert!(cards.iter().all(|c| c.get("cvv").is_none()), "{list}");
    assert_eq!(cards[0]["brand"], "visa", "documented fields stay");

    // Bob's cards are not alice's to see at all.
    let resp = s
        .through(Method::GET, "/v2/accounts/acc-2001/cards", &alice())
        .send()
        .await
        .unwrap();
    assert_problem(resp, 403, "forbidden").await;

    // The naive bank alone: full numbers and CVVs, to anyone.
    let (_, direct) = s
        .direct_json("/v2/accounts/acc-2001/cards", "u-alice")
        .await;
    assert_eq!(
        (&direct["cards"][0]["number"], &direct["cards"][0]["cvv"]),
        (&json!("5555555555554444"), &json!("789"))
    );

    let event = s.event(1).await;
    let actions: Vec<(String, String)> = event["response"]
        .as_array()
        .unwrap_or_else(|| panic!("response actions audited: {event}"))
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap().to_owned(),
                r["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("redact:card", "/cards/0/number"),
        ("redact:card", "/cards/1/number"),
        ("undocumented", "/cards/0/cvv"),
    ] {
        assert!(
            actions
                .iter()
                .any(|(a, f)| (a.as_str(), f.as_str()) == expected),
            "{expected:?} in {actions:?}"
        );
    }
    let audit = s.audit_text();
    assert!(
        !audit.contains("4111111111111111") && !audit.contains("5555555555554444"),
        "{audit}"
    );
}

#[tokio::test]
async fn the_web_app_origin_may_call_the_api_from_a_browser() {
    let s = setup().await;
    let preflight = |origin: &str| {
        client()
            .request(Method::OPTIONS, format!("{}/v2/accounts", s.gw.url))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let resp = preflight("http://localhost:3000").await.unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );
    let methods = resp.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(methods.contains("POST"), "{methods}");
    assert_problem(
        preflight("https://evil.example").await.unwrap(),
        403,
        "cors-refused",
    )
    .await;

    let resp = s
        .through(Method::GET, "/v2/accounts", &alice())
        .header("origin", "http://localhost:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );
    let resp = s
        .through(Method::GET, "/v2/accounts", &alice())
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "CORS is the browser's to enforce");
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}
