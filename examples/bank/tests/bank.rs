//! End-to-end tests: the real bank on 127.0.0.1:0, spoken to over HTTP/1.1 and HTTP/2.

use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// A running bank, aborted when dropped.
struct Bank {
    base: String,
    client: Client,
    server: JoinHandle<std::io::Result<()>>,
}

impl Drop for Bank {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn bank() -> Bank {
    bank_with(Client::builder()).await
}

async fn bank_with(builder: reqwest::ClientBuilder) -> Bank {
    let addr = "127.0.0.1:0".parse().expect("valid address");
    let (addr, server) = portcullis_bank::spawn(addr).await.expect("bank starts");
    let client = builder.no_proxy().build().expect("client builds");
    Bank {
        base: format!("http://{addr}"),
        client,
        server,
    }
}

impl Bank {
    async fn get(&self, path: &str, subject: Option<&str>) -> Response {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(subject) = subject {
            request = request
                .header("X-Portcullis-Subject", subject)
                .header("X-Portcullis-Roles", "customer");
        }
        request.send().await.expect("request succeeds")
    }

    async fn get_json(&self, path: &str, subject: Option<&str>) -> (StatusCode, Value) {
        json_of(self.get(path, subject).await).await
    }

    async fn transfer(&self, body: &Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}/v2/transfers", self.base))
            .header("X-Portcullis-Subject", "u-alice")
            .json(body)
            .send()
            .await
            .expect("request succeeds");
        json_of(response).await
    }
}

async fn json_of(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let content_type = response.headers().get("content-type").cloned();
    assert_eq!(
        content_type.expect("has a content type"),
        "application/json"
    );
    (status, response.json().await.expect("body is JSON"))
}

fn ids(list: &Value) -> Vec<&str> {
    let items = list.as_array().expect("an array");
    items
        .iter()
        .map(|item| item["id"].as_str().expect("id"))
        .collect()
}

#[tokio::test]
async fn healthz_says_ok() {
    let bank = bank().await;
    let response = bank.get("/healthz", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.expect("body"), "ok");
}

#[tokio::test]
async fn branches_and_rates_are_public() {
    let bank = bank().await;
    let (status, body) = bank.get_json("/v2/branches", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["branches"][0],
        json!({"id": "br-berlin", "city": "Berlin"})
    );
    let (status, body) = bank.get_json("/v2/rates/USD", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&body["base"], &body["currency"]),
        (&json!("EUR"), &json!("USD"))
    );
    assert!(body["rate"].as_f64().expect("a number") > 0.0);
}

#[tokio::test]
async fn unknown_currency_crashes_with_a_stack_trace() {
    let bank = bank().await;
    let response = bank.get("/v2/rates/XYZ", None).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let content_type = response.headers()["content-type"].to_str().expect("ascii");
    assert!(content_type.starts_with("text/plain"));
    let body = response.text().await.expect("body");
    assert!(body.contains("Traceback (most recent call last)"));
    assert!(body.contains("postgres://bank:S3cr3t@db.internal:5432/bank"));
    assert!(body.contains("/srv/bank/app/api/rates.py"));
}

#[tokio::test]
async fn accounts_list_the_subjects_or_everyones() {
    let bank = bank().await;
    let (_, alice) = bank.get_json("/v2/accounts", Some("u-alice")).await;
    assert_eq!(ids(&alice["accounts"]), ["acc-1001", "acc-1002"]);
    let (_, anonymous) = bank.get_json("/v2/accounts", None).await;
    assert_eq!(
        ids(&anonymous["accounts"]),
        ["acc-1001", "acc-1002", "acc-2001"]
    );
    let (_, limited) = bank.get_json("/v2/accounts?limit=1", None).await;
    assert_eq!(ids(&limited["accounts"]), ["acc-1001"]);
    let (status, _) = bank.get_json("/v2/accounts?limit=lots", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn any_subject_reads_any_account() {
    let bank = bank().await;
    let (status, account) = bank.get_json("/v2/accounts/acc-1001", Some("u-bob")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(account["owner"], "u-alice");
    assert_eq!(account["balance_cents"], 250_000);
    assert_eq!(account["currency"], "EUR");
    let (status, body) = bank.get_json("/v2/accounts/acc-9999", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!({"error": "no such account"}));
}

#[tokio::test]
async fn transactions_of_any_account() {
    let bank = bank().await;
    let path = "/v2/accounts/acc-2001/transactions";
    let (status, body) = bank.get_json(path, Some("u-alice")).await;
    assert_eq!(status, StatusCode::OK);
    let list = body["transactions"].as_array().expect("an array");
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|t| t["account_id"] == "acc-2001"));
    let (status, _) = bank
        .get_json("/v2/accounts/acc-0000/transactions", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn transfer_moves_money_and_stores_extra_fields() {
    let bank = bank().await;
    let request = json!({
        "from": "acc-1001", "to": "acc-2001", "amount_cents": 1000,
        "reference": "rent", "approved_by": "u-admin"
    });
    let (status, record) = bank.transfer(&request).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(record["approved_by"], "u-admin");
    assert_eq!(record["initiated_by"], "u-alice");
    assert_eq!(
        (&record["amount_cents"], &record["status"]),
        (&json!(1000), &json!("completed"))
    );
    let (_, alice) = bank.get_json("/v2/accounts/acc-1001", None).await;
    assert_eq!(alice["balance_cents"], 249_000);
    let (_, bob) = bank.get_json("/v2/accounts/acc-2001", None).await;
    assert_eq!(bob["balance_cents"], 85_000);
    let (_, history) = bank
        .get_json("/v2/accounts/acc-2001/transactions", None)
        .await;
    let last = history["transactions"]
        .as_array()
        .and_then(|t| t.last())
        .cloned();
    let last = last.expect("a booking");
    assert_eq!(
        (&last["amount_cents"], &last["transfer_id"]),
        (&json!(1000), &record["id"])
    );
}

#[tokio::test]
async fn transfer_refuses_malformed_bodies_and_overdrafts() {
    let bank = bank().await;
    let too_much = json!({"from": "acc-2001", "to": "acc-1001", "amount_cents": 84_001});
    let (status, body) = bank.transfer(&too_much).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "insufficient funds"})
        )
    );
    let (status, body) = bank.transfer(&json!({"from": "acc-1001"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .expect("a message")
            .starts_with("malformed")
    );
    let response = bank
        .client
        .post(format!("{}/v2/transfers", bank.base))
        .body("{not json")
        .send()
        .await
        .expect("request succeeds");
    assert_eq!(json_of(response).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn admin_area_has_no_role_check() {
    let bank = bank().await;
    let (status, body) = bank.get_json("/v2/admin/users", Some("u-bob")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&body["users"]), ["u-alice", "u-bob", "u-admin"]);
    assert!(body["users"][0]["password_hash"].is_string());
    let delete = |id: &str| {
        let url = format!("{}/v2/admin/users/{id}", bank.base);
        bank.client
            .delete(url)
            .header("X-Portcullis-Subject", "u-bob")
            .send()
    };
    let deleted = delete("u-admin").await.expect("request succeeds");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let again = delete("u-admin").await.expect("request succeeds");
    assert_eq!(json_of(again).await.0, StatusCode::NOT_FOUND);
    let (_, body) = bank.get_json("/v2/admin/users", None).await;
    assert_eq!(ids(&body["users"]), ["u-alice", "u-bob"]);
}

#[tokio::test]
async fn v1_account_still_works() {
    let bank = bank().await;
    let (status, body) = bank.get_json("/v1/accounts/acc-1001", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["account_id"], "acc-1001");
    assert_eq!(body["balance"], "2500.00");
    assert_eq!(body["customer_name"], "Alice Martin");
}

#[tokio::test]
async fn debug_env_leaks_config() {
    let bank = bank().await;
    let (status, body) = bank.get_json("/debug/env", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["db_url"],
        "postgres://bank:S3cr3t@db.internal:5432/bank"
    );
    assert!(body["feature_flags"].is_object());
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json_errors() {
    let bank = bank().await;
    let (status, body) = bank.get_json("/v3/anything", None).await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({"error": "not found"}))
    );
    let url = format!("{}/v2/accounts", bank.base);
    let response = bank
        .client
        .delete(url)
        .send()
        .await
        .expect("request succeeds");
    assert_eq!(response.headers()["allow"], "GET, POST");
    assert_eq!(json_of(response).await.0, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn http2_prior_knowledge_works() {
    let bank = bank_with(Client::builder().http2_prior_knowledge()).await;
    let response = bank.get("/v2/accounts/acc-1001", Some("u-alice")).await;
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    let (status, body) = json_of(response).await;
    assert_eq!((status, &body["id"]), (StatusCode::OK, &json!("acc-1001")));
}

#[tokio::test]
async fn each_server_starts_from_fresh_data() {
    let first = bank().await;
    let request = json!({"from": "acc-1001", "to": "acc-2001", "amount_cents": 500});
    assert_eq!(first.transfer(&request).await.0, StatusCode::CREATED);
    let second = bank().await;
    let (_, alice) = second.get_json("/v2/accounts/acc-1001", None).await;
    assert_eq!(alice["balance_cents"], 250_000);
}

#[test]
fn spec_is_yaml_with_every_operation() {
    let spec: Value = serde_saphyr::from_str(portcullis_bank::OPENAPI_SPEC).expect("valid YAML");
    assert_eq!(spec["openapi"], "3.1.0");
    let operations = [
        "listBranches",
        "getRate",
        "listAccounts",
        "getAccount",
        "listTransactions",
        "createTransfer",
        "listUsers",
        "deleteUser",
        "getAccountV1",
        "getBranch",
        "openAccount",
        "listCards",
        "getProfile",
        "updateProfile",
        "contactSupport",
        "createUser",
    ];
    for id in operations {
        let line = format!("operationId: {id}\n");
        assert!(
            portcullis_bank::OPENAPI_SPEC.contains(&line),
            "missing {id}"
        );
    }
    let paths = spec["paths"].as_object().expect("paths");
    assert!(!paths.contains_key("/debug/env") && !paths.contains_key("/healthz"));
    assert_eq!(paths["/v1/accounts/{accountId}"]["get"]["deprecated"], true);
    assert_eq!(paths["/v2/branches"]["get"]["security"], json!([]));
    let schemas = &spec["components"]["schemas"];
    assert_eq!(schemas["TransferRequest"]["additionalProperties"], false);
    for field in ["owner", "balance_cents"] {
        assert_eq!(
            schemas["Account"]["properties"][field]["readOnly"], true,
            "{field}"
        );
    }
    for schema in ["User", "NewUser"] {
        for field in ["password", "pin"] {
            let property = &schemas[schema]["properties"][field];
            assert_eq!(property["writeOnly"], true, "{schema}.{field}");
        }
    }
    // The naive bank's leaks are not documented: the gateway strips them.
    assert!(schemas["User"]["properties"].get("password_hash").is_none());
    assert!(schemas["Card"]["properties"].get("cvv").is_none());
}

/// A JSON request as `subject`.
async fn send(
    bank: &Bank,
    method: reqwest::Method,
    path: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let response = bank
        .client
        .request(method, format!("{}{path}", bank.base))
        .header("X-Portcullis-Subject", "u-alice")
        .json(body)
        .send()
        .await
        .expect("request succeeds");
    json_of(response).await
}

#[tokio::test]
async fn opening_an_account_honours_owner_and_balance() {
    let bank = bank().await;
    let request = json!({"type": "savings", "currency": "EUR", "owner": "u-bob", "balance_cents": 100_000_000});
    let (status, account) = send(&bank, reqwest::Method::POST, "/v2/accounts", &request).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (&account["owner"], &account["balance_cents"]),
        (&json!("u-bob"), &json!(100_000_000))
    );
    let id = account["id"].as_str().expect("an id");
    let (_, stored) = bank.get_json(&format!("/v2/accounts/{id}"), None).await;
    assert_eq!(stored["balance_cents"], 100_000_000);
    let (status, _) = send(&bank, reqwest::Method::POST, "/v2/accounts", &json!([])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn profile_updates_honour_roles() {
    let bank = bank().await;
    let (status, me) = bank.get_json("/v2/me", Some("u-alice")).await;
    assert_eq!(
        (status, &me["roles"]),
        (StatusCode::OK, &json!(["customer"]))
    );
    assert!(me["password_hash"].is_string(), "leaked");
    let (status, me) = send(
        &bank,
        reqwest::Method::PATCH,
        "/v2/me",
        &json!({"roles": ["admin"]}),
    )
    .await;
    assert_eq!((status, &me["roles"]), (StatusCode::OK, &json!(["admin"])));
    let (status, _) = bank.get_json("/v2/me", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn created_users_come_back_with_their_credentials() {
    let bank = bank().await;
    let carol = json!({"name": "Carol", "email": "carol@example.com", "password": "correct horse battery", "pin": "8642"});
    let (status, user) = send(&bank, reqwest::Method::POST, "/v2/admin/users", &carol).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (&user["password"], &user["pin"]),
        (&json!("correct horse battery"), &json!("8642"))
    );
    let (_, list) = bank.get_json("/v2/admin/users", None).await;
    assert_eq!(list["users"].as_array().map(Vec::len), Some(4));
}

#[tokio::test]
async fn cards_come_with_full_numbers_and_cvvs() {
    let bank = bank().await;
    let (status, body) = bank
        .get_json("/v2/accounts/acc-1001/cards", Some("u-bob"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["cards"][0]["number"], "4111111111111111");
    assert_eq!(body["cards"][0]["cvv"], "123");
    let (status, _) = bank.get_json("/v2/accounts/acc-0000/cards", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn transactions_filter_by_text_type_and_limit() {
    let bank = bank().await;
    let path = "/v2/accounts/acc-2001/transactions";
    let (_, body) = bank.get_json(&format!("{path}?q=SALARY"), None).await;
    let found = body["transactions"].as_array().expect("an array");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["description"], "Salary Example Ltd");
    let (_, body) = bank.get_json(&format!("{path}?type=debit"), None).await;
    assert_eq!(body["transactions"][0]["amount_cents"], -1_899);
    let (_, body) = bank.get_json(&format!("{path}?limit=1"), None).await;
    assert_eq!(body["transactions"].as_array().map(Vec::len), Some(1));
    let (status, _) = bank.get_json(&format!("{path}?limit=x"), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn support_messages_and_branches() {
    let bank = bank().await;
    let response = bank
        .client
        .post(format!("{}/v2/support/messages", bank.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("subject=Card+lost&message=%3Cb%3Ehelp%3C%2Fb%3E")
        .send()
        .await
        .expect("request succeeds");
    let (status, record) = json_of(response).await;
    assert_eq!(
        (status, &record["message"]),
        (StatusCode::CREATED, &json!("<b>help</b>"))
    );
    let (status, branch) = bank.get_json("/v2/branches/br-paris", None).await;
    assert_eq!((status, &branch["city"]), (StatusCode::OK, &json!("Paris")));
    let (status, _) = bank.get_json("/v2/branches/br-nowhere", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
