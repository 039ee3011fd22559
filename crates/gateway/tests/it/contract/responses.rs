//! Response protection through the real gateway: writeOnly and undocumented
//! properties removed, sensitive data redacted, the size bounded, a content
//! type the spec contradicts refused, and every action audited by field name,
//! never by value.

use serde_json::{Value, json};

use crate::scripted::{Reply, Scripted};
use crate::support::*;

/// Users with writeOnly secrets (nested too), payments, and a download.
const SPEC: &str = r#"
openapi: 3.1.0
info: { title: Responses, version: "1" }
security: []
paths:
  /users/{id}:
    get:
      operationId: getUser
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: { $ref: '#/components/schemas/User' }
  /users:
    get:
      operationId: listUsers
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  users: { type: array, items: { $ref: '#/components/schemas/User' } }
  /payments:
    get:
      operationId: listPayments
      responses:
        "200": { description: ok, content: { application/json: { schema: { type: object } } } }
  /files/{name}:
    get:
      operationId: getFile
      parameters: [{ name: name, in: path, required: true, schema: { type: string } }]
      responses:
        "200": { description: ok, content: { application/octet-stream: {} } }
components:
  schemas:
    User:
      type: object
      properties:
        id: { type: string }
        name: { type: string }
        password: { type: string, writeOnly: true }
        profile:
          type: object
          properties:
            email: { type: string }
            pin: { type: string, writeOnly: true }
"#;

/// A gateway for the users spec; `api_extra` goes into the API's block
/// (indented by four spaces).
async fn responses_gateway(up: &Scripted, api_extra: &str) -> Gateway {
    let text = config(&up.url(), api_extra)
        .replace("spec: spec.yaml", "spec: users.yaml")
        .replace("    security: { bearer: idp }\n", "");
    gateway_with(&text, &[("users.yaml", SPEC)]).await
}

/// The audit events of routed requests, waiting until there are `n`.
async fn events(gw: &Gateway, n: usize) -> Vec<Value> {
    let routed = || {
        gw.audit_lines()
            .into_iter()
            .filter(|e| e["operation"].is_string())
            .collect::<Vec<_>>()
    };
    eventually("audit events", || routed().len() >= n).await;
    routed()
}

/// The audit file as text (to search it for values that must not be there).
fn audit_text(gw: &Gateway) -> String {
    std::fs::read_to_string(gw.dir.path().join("audit.jsonl")).unwrap_or_default()
}

/// The `response` actions of an audit event, as (action, field).
fn actions(event: &Value) -> Vec<(String, String)> {
    event["response"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    (
                        x["action"].as_str().unwrap().to_owned(),
                        x["field"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn get_json(gw: &Gateway, path: &str) -> (u16, Value) {
    let resp = gw.get(path).await;
    let status = resp.status().as_u16();
    let length: Option<usize> = resp
        .headers()
        .get("content-length")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let bytes = resp.bytes().await.unwrap();
    if let Some(n) = length {
        assert_eq!(n, bytes.len(), "Content-Length fixed after editing");
    }
    (status, serde_json::from_slice(&bytes).unwrap())
}

const USER: &str = r#"{"id": "u1", "name": "Ada", "password": "hunter2-s3cret",
    "profile": {"email": "ada@example.com", "pin": "9931", "theme": "dark"}, "internal": "db-7"}"#;

#[tokio::test]
async fn write_only_properties_never_leave_nested_or_in_arrays() {
    let up = Scripted::start().await;
    let gw = responses_gateway(&up, "").await;
    up.answer(Reply::json(USER));
    let (status, user) = get_json(&gw, "/users/u1").await;
    assert_eq!(status, 200);
    assert_eq!(
        user,
        json!({"id": "u1", "name": "Ada", "profile": {"email": "ada@example.com", "theme": "dark"}, "internal": "db-7"})
    );

    up.answer(Reply::json(format!(
        r#"{{"users": [{USER}, {{"id": "u2", "password": "p2-s3cret"}}]}}"#
    )));
    let (status, list) = get_json(&gw, "/users").await;
    assert_eq!(status, 200);
    assert!(list["users"][0].get("password").is_none(), "{list}");
    assert!(list["users"][0]["profile"].get("pin").is_none(), "{list}");
    assert_eq!(list["users"][1], json!({"id": "u2"}));

    let events = events(&gw, 2).await;
    let mut first = actions(&events[0]);
    first.sort();
    assert_eq!(
        first,
        [
            ("write-only".to_owned(), "/password".to_owned()),
            ("write-only".to_owned(), "/profile/pin".to_owned())
        ]
    );
    assert!(actions(&events[1]).contains(&("write-only".into(), "/users/1/password".into())));
    let audit = audit_text(&gw);
    for secret in ["hunter2-s3cret", "9931", "p2-s3cret"] {
        assert!(
            !audit.contains(secret),
            "the audit log holds a value: {secret}"
        );
    }
}

#[tokio::test]
async fn undocumented_properties_are_stripped_only_where_configured() {
    let up = Scripted::start().await;
    let gw = responses_gateway(
        &up,
        "    responses:\n      operations:\n        getUser: { strip_undocumented: true }",
    )
    .await;
    up.answer(Reply::json(USER));
    let (_, user) = get_json(&gw, "/users/u1").await;
    assert_eq!(
        user,
        json!({"id": "u1", "name": "Ada", "profile": {"email": "ada@example.com"}})
    );
    up.answer(Reply::json(format!(
        r#"{{"users": [{USER}], "next": "c2"}}"#
    )));
    let (_, list) = get_json(&gw, "/users").await;
    assert_eq!(
        list["next"], "c2",
        "listUsers keeps what its schema does not declare"
    );
    assert_eq!(list["users"][0]["internal"], "db-7");

    let events = events(&gw, 2).await;
    let got = actions(&events[0]);
    assert!(
        got.contains(&("undocumented".into(), "/internal".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&("undocumented".into(), "/profile/theme".into())),
        "{got:?}"
    );
    assert!(!audit_text(&gw).contains("db-7"));
}

#[tokio::test]
async fn card_numbers_are_masked_when_luhn_valid_only() {
    let up = Scripted::start().await;
    let gw = responses_gateway(&up, "    responses:\n      redact: { kinds: [card] }").await;
    up.answer(Reply::json(
        r#"{"payments": [{"card": "4111 1111 1111 1111", "ref": "4111 1111 1111 1112"}]}"#,
    ));
    let (status, body) = get_json(&gw, "/payments").await;
    assert_eq!(status, 200);
    let card = body["payments"][0]["card"].as_str().unwrap();
    assert!(
        card.ends_with("1111") && !card.contains("4111 1111"),
        "{card}"
    );
    assert_eq!(
        body["payments"][0]["ref"], "4111 1111 1111 1112",
        "a Luhn-invalid number is not a card"
    );
    let events = events(&gw, 1).await;
    assert_eq!(
        actions(&events[0]),
        [("redact:card".to_owned(), "/payments/0/card".to_owned())]
    );
    assert!(!audit_text(&gw).contains("4111 1111 1111 1111"));
}

#[tokio::test]
async fn configured_fields_are_removed_by_pointer() {
    let up = Scripted::start().await;
    let gw = responses_gateway(
        &up,
        "    responses:\n      redact:\n        fields: [/accounts/*/iban, /owner/tax_id]\n        action: remove",
    )
    .await;
    up.answer(Reply::json(
        r#"{"accounts": [{"id": 1, "iban": "DE89370400440532013000"}, {"id": 2, "iban": "GB82WEST12345698765432"}],
            "owner": {"name": "Ada", "tax_id": "TX-99-SECRET"}}"#,
    ));
    let (status, body) = get_json(&gw, "/payments").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"accounts": [{"id": 1}, {"id": 2}], "owner": {"name": "Ada"}})
    );
    let events = events(&gw, 1).await;
    let mut got = actions(&events[0]);
    got.sort();
    assert_eq!(
        got,
        [
            ("redact:field".to_owned(), "/accounts/0/iban".to_owned()),
            ("redact:field".to_owned(), "/accounts/1/iban".to_owned()),
            ("redact:field".to_owned(), "/owner/tax_id".to_owned()),
        ]
    );
    let audit = audit_text(&gw);
    assert!(!audit.contains("DE89370400440532013000") && !audit.contains("TX-99-SECRET"));
}

#[tokio::test]
async fn configured_fields_are_masked_by_default() {
    let up = Scripted::start().await;
    let gw = responses_gateway(&up, "    responses:\n      redact: { fields: [/token] }").await;
    up.answer(Reply::json(r#"{"token": "tok-123", "n": 1}"#));
    let (_, body) = get_json(&gw, "/payments").await;
    assert_eq!(body, json!({"token": "[redacted]", "n": 1}));
}

#[tokio::test]
async fn custom_patterns_are_masked() {
    let up = Scripted::start().await;
    let gw = responses_gateway(
        &up,
        "    responses:\n      redact:\n        patterns: { employee-id: 'EMP-[0-9]{6}' }",
    )
    .await;
    up.answer(Reply::json(
        r#"{"note": "ask EMP-123456 about it", "other": "EMP-12"}"#,
    ));
    let (_, body) = get_json(&gw, "/payments").await;
    let note = body["note"].as_str().unwrap();
    assert!(
        !note.contains("EMP-123456") && note.starts_with("ask "),
        "{note}"
    );
    assert_eq!(body["other"], "EMP-12");
    let events = events(&gw, 1).await;
    assert_eq!(
        actions(&events[0]),
        [("redact:pattern".to_owned(), "/note".to_owned())]
    );
}

#[tokio::test]
async fn a_content_type_the_spec_contradicts_is_refused() {
    let up = Scripted::start().await;
    let gw = responses_gateway(&up, "").await;
    up.answer(Reply::typed("text/html", "<script>alert(1)</script>"));
    let resp = gw.get("/files/report").await;
    assert_problem(resp, 502, "response-refused").await;
    up.answer(Reply::typed("application/octet-stream", "bytes"));
    assert_eq!(gw.get_status("/files/report").await, 200);
    let events = events(&gw, 2).await;
    assert_eq!(
        events[0]["reason"],
        "response-refused: content type contradicts the spec"
    );
}

#[tokio::test]
async fn a_contradicting_content_type_passes_in_monitor_mode_and_is_recorded() {
    let up = Scripted::start().await;
    let gw = responses_gateway(&up, "    mode: monitor").await;
    up.answer(Reply::typed("text/html", "<p>hi</p>"));
    let resp = gw.get("/files/report").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "<p>hi</p>");
    let events = events(&gw, 1).await;
    assert_eq!(
        events[0]["reason"],
        "monitor: response-refused: content type contradicts the spec"
    );
    assert_eq!(events[0]["decision"], "allow");
}

#[tokio::test]
async fn content_type_checks_can_be_switched_off() {
    let up = Scripted::start().await;
    let gw = responses_gateway(&up, "    responses: { content_type: off }").await;
    up.answer(Reply::typed("text/html", "<p>hi</p>"));
    assert_eq!(gw.get_status("/files/report").await, 200);
}

#[tokio::test]
async fn responses_over_the_limit_are_refused_or_cut_off() {
    let up = Scripted::start().await;
    let gw = responses_gateway(
        &up,
        "    responses:\n      max_bytes: 2KiB\n      redact: { fields: [/x] }",
    )
    .await;
    let big = format!(r#"{{"pad": "{}"}}"#, "a".repeat(4096));
    // Declared length over the limit: refused before the body is read.
    up.answer(Reply::json(big.clone()));
    assert_problem(gw.get("/payments").await, 502, "response-refused").await;
    // No length declared, read for redaction: refused once it goes over.
    up.answer(Reply {
        chunked: true,
        ..Reply::json(big.clone())
    });
    assert_problem(gw.get("/payments").await, 502, "response-refused").await;
    // Within the limit: passes.
    up.answer(Reply::json(r#"{"x": 1, "pad": "short"}"#));
    let (status, body) = get_json(&gw, "/payments").await;
    assert_eq!(
        (status, body),
        (200, json!({"x": "[redacted]", "pad": "short"}))
    );

    let events = events(&gw, 3).await;
    assert_eq!(events[0]["reason"], "response-refused: response too large");
    assert_eq!(events[1]["reason"], "response-refused: response too large");
}

#[tokio::test]
async fn a_streamed_response_is_cut_off_at_the_limit() {
    let up = Scripted::start().await;
    let gw = responses_gateway(&up, "    responses: { max_bytes: 2KiB }").await;
    up.answer(Reply {
        chunked: true,
        ..Reply::typed("application/octet-stream", vec![b'x'; 8192])
    });
    let resp = gw.get("/files/big").await;
    assert_eq!(
        resp.status(),
        200,
        "the head was sent before the body went over"
    );
    let read = resp.bytes().await;
    assert!(
        read.as_ref().map_or(true, |b| b.len() <= 2048),
        "never more than the limit: {:?}",
        read.map(|b| b.len())
    );
    assert!(read.is_err(), "the client sees a cut-off body");
    up.answer(Reply {
        chunked: true,
        ..Reply::typed("application/octet-stream", vec![b'x'; 2048])
    });
    assert_eq!(
        gw.get("/files/small").await.bytes().await.unwrap().len(),
        2048
    );
}

#[tokio::test]
async fn the_upstream_is_asked_for_uncompressed_json_only_when_it_must_be_read() {
    let up = Scripted::start().await;
    let gw = responses_gateway(
        &up,
        "    responses:\n      operations:\n        getUser: { strip_undocumented: true }",
    )
    .await;
    let gzip = [("accept-encoding", "gzip, br")];
    for path in ["/users/u1", "/files/f"] {
        let mut req = client().get(format!("{}{path}", gw.url));
        for (n, v) in gzip {
            req = req.header(n, v);
        }
        req.send().await.unwrap().bytes().await.unwrap();
    }
    let seen = up.requests();
    assert!(!seen[0].contains_key("accept-encoding"), "{:?}", seen[0]);
    assert_eq!(seen[1]["accept-encoding"], "gzip, br");
}

#[tokio::test]
async fn a_compressed_json_response_that_must_be_read_is_withheld() {
    let up = Scripted::start().await;
    let gw = responses_gateway(&up, "    responses:\n      redact: { kinds: [email] }").await;
    up.answer(Reply {
        headers: vec![
            ("content-type", "application/json"),
            ("content-encoding", "gzip"),
        ],
        ..Reply::json("not really gzip")
    });
    assert_problem(gw.get("/payments").await, 502, "response-unverifiable").await;
    // Not JSON: nothing to redact, it passes.
    up.answer(Reply::typed("application/octet-stream", "raw"));
    assert_eq!(gw.get_status("/files/f").await, 200);
}

fn load(text: &str, files: &[(&str, &str)]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    write_base_files(dir.path());
    for (name, body) in files {
        std::fs::write(dir.path().join(name), body).unwrap();
    }
    let path = dir.path().join("portcullis.yaml");
    std::fs::write(&path, text).unwrap();
    portcullis_gateway::config::load(&path)
        .map(|_| ())
        .map_err(|e| {
            e.to_string()
                .replace(&format!("{}/", dir.path().display()), "")
        })
}

/// The 1-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn bad_response_settings_are_named_with_their_line() {
    let text = config(
        "http://127.0.0.1:1",
        "    responses:\n      content_type: maybe\n      redact:\n        kinds: [card, dna]\n        fields: [accounts/iban]\n        patterns: { broken: '(' }\n        action: shred",
    )
    .replace("spec: spec.yaml", "spec: users.yaml")
    .replace("    security: { bearer: idp }\n", "");
    let err = load(&text, &[("users.yaml", SPEC)]).unwrap_err();
    for (needle, field) in [
        ("content_type: maybe", "responses.content_type"),
        ("kinds: [card, dna]", "responses.redact.kinds[1]"),
        ("fields: [accounts/iban]", "responses.redact.fields[0]"),
        ("action: shred", "responses.redact.action"),
    ] {
        let at = format!("portcullis.yaml:{}:", line_of(&text, needle));
        assert!(
            err.lines().any(|l| l.starts_with(&at) && l.contains(field)),
            "{field} at {at}: {err}"
        );
    }
    let text = config(
        "http://127.0.0.1:1",
        "    responses:\n      operations:\n        noSuchOp: { strip_undocumented: true }",
    )
    .replace("spec: spec.yaml", "spec: users.yaml")
    .replace("    security: { bearer: idp }\n", "");
    let err = load(&text, &[("users.yaml", SPEC)]).unwrap_err();
    assert!(err.contains("noSuchOp"), "{err}");
}

#[test]
fn an_invalid_pattern_is_named_with_its_line() {
    let text = config(
        "http://127.0.0.1:1",
        "    responses:\n      redact:\n        patterns: { broken: '(' }",
    );
    let err = load(&text, &[]).unwrap_err();
    let at = format!("portcullis.yaml:{}:", line_of(&text, "broken"));
    assert!(err.starts_with(&at), "{err}");
    assert!(err.contains("patterns.broken"), "{err}");
}
