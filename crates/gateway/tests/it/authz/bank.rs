//! The example bank behind the gateway, with the bank's own authorization
//! section and Cedar policies (read from examples/bank): each BOLA and BFLA the
//! naive bank allows on its own is refused (or filtered) through the gateway.

use std::net::SocketAddr;

use serde_json::{Value, json};

use crate::support::*;

/// The bank example's directory.
pub(crate) const BANK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/bank");

/// The real bank (trusting `X-Portcullis-Subject`, as the demo's bank trusts
/// the gateway) and the gateway in front of it with the bank's real config.
pub(crate) struct Setup {
    pub(crate) bank: SocketAddr,
    pub(crate) server: tokio::task::JoinHandle<std::io::Result<()>>,
    pub(crate) gw: Gateway,
}

impl Drop for Setup {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The bank's `portcullis.yaml` with its addresses, admin token and identity
/// provider made the test's; its API (spec, authorization, policies) is kept
/// as it is, with its files read from the example's directory.
fn bank_config(bank: SocketAddr) -> String {
    let real = std::fs::read_to_string(format!("{BANK}/portcullis.yaml")).unwrap();
    let apis = &real[real
        .find("\napis:\n")
        .expect("the bank config lists its APIs")
        + 1..];
    assert!(
        apis.contains("    authorization:\n"),
        "the bank has policies"
    );
    let apis = apis
        .replace("spec: openapi.yaml", &format!("spec: {BANK}/openapi.yaml"))
        .replace(
            "[policies/bank.cedar]",
            &format!("[{BANK}/policies/bank.cedar]"),
        );
    assert!(apis.contains(&format!("{BANK}/policies/bank.cedar")));
    format!(
        r#"
listeners:
  - address: 127.0.0.1:0
admin:
  address: 127.0.0.1:0
  token: file:admin-token
audit:
  file: audit.jsonl
runtime:
  watch_config: false
upstreams:
  bank:
    targets: [http://{bank}]
identity_providers:
  dev-idp:
    jwt:
      issuer: {ISSUER}
      audiences: [test]
      algorithms: [ES256]
      jwks_file: jwks.json
{apis}"#
    )
}

pub(crate) async fn setup() -> Setup {
    let (bank, server) = portcullis_bank::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let gw = gateway_with(&bank_config(bank), &[]).await;
    Setup { bank, server, gw }
}

/// Alice, a customer with two accounts.
fn alice() -> String {
    token(
        "u-alice",
        json!({ "roles": ["customer"], "accounts": ["acc-1001", "acc-1002"] }),
    )
}

/// The admin, with or without a second factor.
fn admin(mfa: bool) -> String {
    let amr = if mfa {
        json!(["pwd", "mfa"])
    } else {
        json!(["pwd"])
    };
    token("u-admin", json!({ "roles": ["admin"], "amr": amr }))
}

impl Setup {
    /// A request through the gateway with a bearer token.
    pub(crate) fn through(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: &str,
    ) -> reqwest::RequestBuilder {
        client()
            .request(method, format!("{}{path}", self.gw.url))
            .bearer_auth(bearer)
    }

    /// A request to the bank alone, as `subject` (the header it trusts).
    pub(crate) fn direct(
        &self,
        method: reqwest::Method,
        path: &str,
        subject: &str,
    ) -> reqwest::RequestBuilder {
        client()
            .request(method, format!("http://{}{path}", self.bank))
            .header("x-portcullis-subject", subject)
    }

    async fn get(&self, path: &str, bearer: &str) -> reqwest::Response {
        self.through(reqwest::Method::GET, path, bearer)
            .send()
            .await
            .unwrap()
    }

    /// GET on the bank alone: status and JSON.
    pub(crate) async fn direct_json(&self, path: &str, subject: &str) -> (u16, Value) {
        let resp = self
            .direct(reqwest::Method::GET, path, subject)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    /// POST /v2/transfers through the gateway.
    async fn transfer(&self, bearer: &str, body: Value) -> reqwest::Response {
        self.through(reqwest::Method::POST, "/v2/transfers", bearer)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Bob's balance, asked of the bank directly.
    async fn bobs_balance(&self) -> i64 {
        let (status, account) = self.direct_json("/v2/accounts/acc-2001", "u-bob").await;
        assert_eq!(status, 200);
        account["balance_cents"].as_i64().unwrap()
    }
}

/// The ids of a list of accounts.
fn ids(accounts: &Value) -> Vec<&str> {
    accounts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn bola_read_another_customers_account_is_refused_though_the_bank_serves_it() {
    let s = setup().await;
    // The naive bank gives alice bob's account.
    let (status, account) = s.direct_json("/v2/accounts/acc-2001", "u-alice").await;
    assert_eq!((status, account["owner"].as_str()), (200, Some("u-bob")));

    let alice = alice();
    assert_problem(
        s.get("/v2/accounts/acc-2001", &alice).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        s.get("/v1/accounts/acc-2001", &alice).await,
        403,
        "forbidden",
    )
    .await;
    let own = s.get("/v2/accounts/acc-1001", &alice).await;
    assert_eq!(own.status(), 200);
    assert_eq!(own.json::<Value>().await.unwrap()["owner"], "u-alice");
    let v1 = s.get("/v1/accounts/acc-1002", &alice).await;
    assert_eq!(v1.status(), 200);
    assert_eq!(v1.json::<Value>().await.unwrap()["customer_id"], "u-alice");
}

#[tokio::test]
async fn bola_list_another_customers_transactions_and_accounts_are_withheld() {
    let s = setup().await;
    let alice = alice();
    // Transactions: the bank alone lists bob's to alice; the gateway refuses.
    let (status, list) = s
        .direct_json("/v2/accounts/acc-2001/transactions", "u-alice")
        .await;
    assert_eq!(status, 200);
    assert!(!list["transactions"].as_array().unwrap().is_empty());
    let resp = s.get("/v2/accounts/acc-2001/transactions", &alice).await;
    assert_problem(resp, 403, "forbidden").await;
    assert_eq!(
        s.get("/v2/accounts/acc-1001/transactions", &alice)
            .await
            .status(),
        200
    );

    // Accounts: the bank believes `?owner=`; the gateway drops what is not hers.
    let (status, list) = s.direct_json("/v2/accounts?owner=u-bob", "u-alice").await;
    assert_eq!((status, ids(&list["accounts"])), (200, vec!["acc-2001"]));
    let resp = s.get("/v2/accounts?owner=u-bob", &alice).await;
    assert_eq!(resp.status(), 200);
    let list: Value = resp.json().await.unwrap();
    assert_eq!(list["accounts"], json!([]), "{list}");
    let resp = s.get("/v2/accounts", &alice).await;
    let list: Value = resp.json().await.unwrap();
    assert_eq!(ids(&list["accounts"]), ["acc-1001", "acc-1002"]);
}

#[tokio::test]
async fn bola_move_money_only_leaves_the_callers_own_account() {
    let s = setup().await;
    let alice = alice();
    let before = s.bobs_balance().await;
    let resp = s
        .transfer(
            &alice,
            json!({ "from": "acc-2001", "to": "acc-1001", "amount_cents": 50_000 }),
        )
        .await;
    assert_problem(resp, 403, "forbidden").await;
    assert_eq!(s.bobs_balance().await, before, "bob's money did not move");

    // Large sums need a second factor, even from one's own account.
    let resp = s
        .transfer(
            &alice,
            json!({ "from": "acc-1002", "to": "acc-2001", "amount_cents": 1_000_001 }),
        )
        .await;
    assert_problem(resp, 403, "forbidden").await;
    assert_eq!(s.bobs_balance().await, before);

    let resp = s
        .transfer(
            &alice,
            json!({ "from": "acc-1001", "to": "acc-2001", "amount_cents": 1_000 }),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let record: Value = resp.json().await.unwrap();
    assert_eq!(record["from"], "acc-1001");
    assert_eq!(s.bobs_balance().await, before + 1_000);
}

#[tokio::test]
async fn bfla_the_admin_area_needs_the_admin_role_and_mfa() {
    let s = setup().await;
    assert_problem(s.get("/v2/admin/users", &alice()).await, 403, "forbidden").await;
    assert_problem(
        s.get("/v2/admin/users", &admin(false)).await,
        403,
        "forbidden",
    )
    .await;
    let resp = s.get("/v2/admin/users", &admin(true)).await;
    assert_eq!(resp.status(), 200);
    let users: Value = resp.json().await.unwrap();
    assert_eq!(users["users"].as_array().unwrap().len(), 3);

    let resp = s
        .through(reqwest::Method::DELETE, "/v2/admin/users/u-bob", &alice())
        .send()
        .await
        .unwrap();
    assert_problem(resp, 403, "forbidden").await;
    let (_, users) = s.direct_json("/v2/admin/users", "u-admin").await;
    assert!(
        users["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == "u-bob"),
        "bob still exists: {users}"
    );
}

#[tokio::test]
async fn denials_are_audited_and_counted_with_the_policies_that_made_them() {
    let s = setup().await;
    assert_problem(s.get("/v2/admin/users", &alice()).await, 403, "forbidden").await;
    assert_problem(
        s.get("/v2/accounts/acc-2001", &alice()).await,
        403,
        "forbidden",
    )
    .await;

    let denied = |operation: &'static str| {
        move |e: &Value| e["event"] == "request" && e["operation"] == operation
    };
    eventually("both denials are audited", || {
        let lines = s.gw.audit_lines();
        lines.iter().any(denied("listUsers")) && lines.iter().any(denied("getAccount"))
    })
    .await;
    let lines = s.gw.audit_lines();
    let bfla = lines.iter().find(|e| denied("listUsers")(e)).unwrap();
    assert_eq!(bfla["status"], 403);
    assert_eq!(bfla["stage"], "authorize");
    assert_eq!(bfla["auth"]["subject"], "u-alice");
    assert_eq!(
        bfla["authz"],
        json!({ "decision": "deny", "mode": "enforce", "policies": ["admin-role-and-mfa"] })
    );
    assert_eq!(bfla["reason"], "forbidden: denied by admin-role-and-mfa");
    let bola = lines.iter().find(|e| denied("getAccount")(e)).unwrap();
    assert_eq!(bola["authz"]["policies"], json!([]), "a default deny");
    assert_eq!(bola["reason"], "forbidden: no policy permits it");

    let metrics = s.gw.admin_text("/metrics").await;
    let denial = |operation: &str, policy: &str| {
        metrics.lines().any(|l| {
            l.starts_with("portcullis_authz_denials_total{")
                && l.contains(&format!("operation=\"{operation}\""))
                && l.contains(&format!("policy=\"{policy}\""))
                && l.ends_with(" 1")
        })
    };
    assert!(denial("listUsers", "admin-role-and-mfa"), "{metrics}");
    assert!(denial("getAccount", "default-deny"), "{metrics}");
}
