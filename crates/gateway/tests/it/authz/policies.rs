//! Cedar policies and the config shortcuts through the real gateway: deny by
//! default, roles, `forbid`, action groups, ownership, MFA, IP lists, context,
//! ABAC, monitor mode, audit and metrics, config errors and hot reload.

use serde_json::{Value, json};

use crate::auth::call;
use crate::support::*;

/// The spec of the authorized API: path parameters, tags `accounts` and
/// `admin`, a POST with a JSON body, a public operation, and the documents
/// the response-ownership tests use.
pub(crate) const AUTHZ_SPEC: &str = r#"
openapi: 3.1.0
info: { title: Authz API, version: "1" }
security: [{ bearer: [] }]
paths:
  /health:
    get: { operationId: health, tags: [public], security: [], responses: { "200": { description: ok } } }
  /accounts:
    get: { operationId: listAccounts, tags: [accounts], responses: { "200": { description: ok } } }
  /accounts/{accountId}:
    parameters: [{ name: accountId, in: path, required: true, schema: { type: string } }]
    get: { operationId: getAccount, tags: [accounts], responses: { "200": { description: ok } } }
    delete: { operationId: deleteAccount, tags: [accounts, admin], responses: { "204": { description: ok } } }
  /users/{userId}/profile:
    get:
      operationId: getProfile
      parameters: [{ name: userId, in: path, required: true, schema: { type: string } }]
      responses: { "200": { description: ok } }
  /transfers:
    post:
      operationId: createTransfer
      tags: [accounts]
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties: { from: { type: string }, to: { type: string }, amount: { type: integer } }
      responses: { "201": { description: ok } }
  /admin/stats:
    get: { operationId: adminStats, tags: [admin], responses: { "200": { description: ok } } }
  /documents:
    get: { operationId: listDocuments, responses: { "200": { description: ok } } }
  /documents/{docId}:
    get:
      operationId: getDocument
      parameters: [{ name: docId, in: path, required: true, schema: { type: string } }]
      responses: { "200": { description: ok } }
components:
  securitySchemes:
    bearer: { type: http, scheme: bearer }
"#;

/// The gateway config: API `test` serves `AUTHZ_SPEC` with `authorization`
/// (YAML written at column 0, e.g. `"authorization:\n  allow: ['*']\n"`);
/// API `open` serves the support `SPEC` (`/items`…) without any.
pub(crate) fn authz_config(upstream: &str, authorization: &str) -> String {
    let indented: String = authorization
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("    {l}\n"))
        .collect();
    let open =
        "  - name: open\n    spec: open.yaml\n    upstream: main\n    security: { bearer: idp }\n";
    config(upstream, open).replacen(
        "    security: { bearer: idp }\n",
        &format!("    security: {{ bearer: idp }}\n{indented}"),
        1,
    )
}

/// Starts a gateway with `authz_config` in front of `upstream`, the Cedar
/// (or other) `files` written beside the config.
pub(crate) async fn authz_gateway(
    upstream: &str,
    authorization: &str,
    files: &[(&str, &str)],
) -> Gateway {
    let mut all = vec![("spec.yaml", AUTHZ_SPEC), ("open.yaml", SPEC)];
    all.extend_from_slice(files);
    gateway_with(&authz_config(upstream, authorization), &all).await
}

/// The request events of the audit log, once at least `n` were written.
pub(crate) async fn request_events(gw: &Gateway, n: usize) -> Vec<Value> {
    let requests = || {
        gw.audit_lines()
            .into_iter()
            .filter(|e| e["event"] == "request")
            .collect::<Vec<_>>()
    };
    eventually("the request events", || requests().len() >= n).await;
    requests()
}

/// The status of `method path` with a bearer token; the body is read.
async fn status(gw: &Gateway, method: reqwest::Method, path: &str, bearer: &str) -> u16 {
    let resp = client()
        .request(method, format!("{}{path}", gw.url))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    resp.bytes().await.unwrap();
    status
}

/// GET `path` with a bearer token: the status.
async fn get_as(gw: &Gateway, path: &str, bearer: &str) -> u16 {
    status(gw, reqwest::Method::GET, path, bearer).await
}

/// The paths the upstream saw, in order.
fn seen_paths(up: &Upstream) -> Vec<String> {
    up.requests().into_iter().map(|s| s.uri).collect()
}

/// Roles, groups and a forbid (ids given, except one left to its file:line id).
const ROLES_CEDAR: &str = r#"// Who may do what.
@id("auditors-read")
permit(principal in Role::"auditor", action in Action::"read", resource);

@id("tellers-accounts")
permit(principal in Role::"teller", action in Action::"tag:accounts", resource);

forbid(principal, action == Action::"getAccount", resource)
when { resource.accountId == "frozen" };
"#;

#[tokio::test]
async fn an_operation_no_policy_permits_is_denied_and_never_reaches_the_upstream() {
    let up = upstream().await;
    let gw = authz_gateway(
        &up.url(),
        "authorization:\n  policies: [main.cedar]\n",
        &[(
            "main.cedar",
            "permit(principal, action == Action::\"listAccounts\", resource);\n",
        )],
    )
    .await;
    let alice = token("alice", json!({}));
    assert_eq!(get_as(&gw, "/accounts", &alice).await, 200);
    let resp = call(&gw, "/admin/stats", Some(&alice), None).await;
    assert_problem(resp, 403, "forbidden").await;
    // Public in the spec is not permitted by policy: still denied.
    assert_problem(gw.get("/health").await, 403, "forbidden").await;
    assert_eq!(seen_paths(&up), ["/accounts"]);
    // The other API has no `authorization`: nothing changes for it.
    assert_eq!(gw.get_status("/items").await, 200);
    assert_eq!(get_as(&gw, "/items/7", &alice).await, 200);
    assert_eq!(seen_paths(&up), ["/accounts", "/items", "/items/7"]);
    let events = request_events(&gw, 5).await;
    let open: Vec<&Value> = events.iter().filter(|e| e["api"] == "open").collect();
    assert_eq!(open.len(), 2);
    assert!(open.iter().all(|e| e.get("authz").is_none()), "{open:?}");
}

#[tokio::test]
async fn roles_permit_forbid_wins_and_action_groups_select_operations() {
    let up = upstream().await;
    let gw = authz_gateway(
        &up.url(),
        "authorization:\n  policies: [roles.cedar]\n",
        &[("roles.cedar", ROLES_CEDAR)],
    )
    .await;
    let auditor = token("ann", json!({ "roles": ["auditor"] }));
    let teller = token("tom", json!({ "roles": ["teller"] }));
    let nobody = token("nat", json!({ "roles": ["customer"] }));
    let delete = reqwest::Method::DELETE;

    // `Action::"read"`: every GET, whatever its tag; no write.
    assert_eq!(get_as(&gw, "/accounts/a1", &auditor).await, 200);
    assert_eq!(get_as(&gw, "/admin/stats", &auditor).await, 200);
    assert_eq!(get_as(&gw, "/users/x/profile", &auditor).await, 200);
    assert_eq!(
        status(&gw, delete.clone(), "/accounts/a1", &auditor).await,
        403
    );
    // `Action::"tag:accounts"`: reads and writes of that tag only.
    assert_eq!(get_as(&gw, "/accounts", &teller).await, 200);
    assert_eq!(
        status(&gw, delete.clone(), "/accounts/a1", &teller).await,
        200
    );
    assert_eq!(get_as(&gw, "/admin/stats", &teller).await, 403);
    assert_eq!(get_as(&gw, "/users/x/profile", &teller).await, 403);
    // A role no policy names gets nothing.
    assert_eq!(get_as(&gw, "/accounts", &nobody).await, 403);
    // `forbid` wins over both permits.
    assert_eq!(get_as(&gw, "/accounts/frozen", &teller).await, 403);
    assert_eq!(get_as(&gw, "/accounts/frozen", &auditor).await, 403);
    assert!(!seen_paths(&up).iter().any(|p| p.contains("frozen")));
}

#[tokio::test]
async fn ownership_by_path_parameter_checks_array_claims_and_the_subject() {
    let up = upstream().await;
    let authorization = r#"
authorization:
  principal_attributes: { accounts: Set<String> }
  allow: ["*"]
  require:
    - id: own-account
      operations: [getAccount]
      owner: { path: accountId, claim: accounts }
    - id: own-profile
      operations: [getProfile]
      owner: { path: userId, claim: sub }
"#;
    let gw = authz_gateway(&up.url(), authorization, &[]).await;
    let alice = token("alice", json!({ "accounts": ["a1", "a2"] }));
    assert_eq!(get_as(&gw, "/accounts/a2", &alice).await, 200);
    assert_eq!(get_as(&gw, "/accounts/b1", &alice).await, 403);
    // A prefix of an owned id is not owned.
    assert_eq!(get_as(&gw, "/accounts/a", &alice).await, 403);
    // No claim: nothing is owned.
    let claimless = token("carol", json!({}));
    assert_eq!(get_as(&gw, "/accounts/a1", &claimless).await, 403);
    assert_eq!(get_as(&gw, "/users/alice/profile", &alice).await, 200);
    assert_eq!(get_as(&gw, "/users/bob/profile", &alice).await, 403);
    // Operations the requirements do not select stay allowed.
    assert_eq!(get_as(&gw, "/accounts", &claimless).await, 200);
    assert_eq!(
        seen_paths(&up),
        ["/accounts/a2", "/users/alice/profile", "/accounts"]
    );
    let events = request_events(&gw, 7).await;
    let refused = events
        .iter()
        .find(|e| e["route"] == "/users/{userId}/profile" && e["status"] == 403)
        .unwrap();
    assert_eq!(refused["authz"]["policies"], json!(["own-profile"]));
}

#[tokio::test]
async fn ownership_by_body_field_decides_on_the_body_and_forwards_it_unchanged() {
    let up = upstream().await;
    let authorization = r#"
authorization:
  principal_attributes: { accounts: Set<String> }
  allow: [createTransfer]
  require:
    - id: own-source
      operations: [createTransfer]
      owner: { body: /from, claim: accounts }
"#;
    let gw = authz_gateway(&up.url(), authorization, &[]).await;
    let alice = token("alice", json!({ "accounts": ["a1"] }));
    let post = |body: &'static str, content_type: &'static str| {
        client()
            .post(format!("{}/transfers", gw.url))
            .bearer_auth(&alice)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    // Odd spacing and key order: the upstream must get these very bytes.
    let own = "{ \"amount\": 5,\n  \"from\":\"a1\", \"to\": \"b9\" }";
    let resp = post(own, "application/json").await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(up.last().body, own.as_bytes());
    assert_eq!(up.last().headers["content-length"], own.len().to_string());
    let other = "{\"from\": \"b1\", \"to\": \"a1\", \"amount\": 5}";
    let resp = post(other, "application/json").await.unwrap();
    assert_problem(resp, 403, "forbidden").await;
    // No `from` at all: nothing owned.
    let resp = post("{\"to\": \"b9\"}", "application/json").await.unwrap();
    assert_problem(resp, 403, "forbidden").await;
    // A repeated key: upstream parsers differ on which one counts (first or
    // last), so no decision is made on either.
    let twice = "{\"from\": \"b1\", \"to\": \"b9\", \"from\": \"a1\"}";
    let resp = post(twice, "application/json").await.unwrap();
    assert_problem(resp, 400, "malformed-request").await;
    // A body the decision cannot read is malformed, not silently unowned.
    let resp = post("from=a1&to=b9", "application/x-www-form-urlencoded")
        .await
        .unwrap();
    assert_problem(resp, 400, "malformed-request").await;
    assert_eq!(up.requests().len(), 1);

    // A chunked body is read whole for the decision and forwarded whole.
    let (head, tail) = ("{\"from\": \"a1\", ", "\"to\": \"b9\", \"amount\": 7}");
    let request = format!(
        "POST /transfers HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {alice}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         {:x}\r\n{head}\r\n{:x}\r\n{tail}\r\n0\r\n\r\n",
        head.len(),
        tail.len()
    );
    let answer = raw(gw.addr, request.as_bytes()).await;
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert_eq!(up.requests().len(), 2);
    assert_eq!(up.last().body, format!("{head}{tail}").as_bytes());
}

#[tokio::test]
async fn require_roles_and_mfa_needs_both() {
    let up = upstream().await;
    let authorization = r#"
authorization:
  allow: ["tag:admin"]
  require:
    - id: admins-with-mfa
      operations: ["tag:admin"]
      roles: [admin, root]
      mfa: true
"#;
    let gw = authz_gateway(&up.url(), authorization, &[]).await;
    let admin_mfa = token("ada", json!({ "roles": ["admin"], "amr": ["pwd", "mfa"] }));
    let admin = token("ada", json!({ "roles": ["admin"] }));
    let admin_pwd = token("ada", json!({ "roles": ["admin"], "amr": ["pwd"] }));
    let user_mfa = token("bob", json!({ "roles": ["user"], "amr": ["mfa"] }));
    let root_mfa = token("rob", json!({ "roles": ["root"], "amr": ["mfa"] }));
    assert_eq!(get_as(&gw, "/admin/stats", &admin_mfa).await, 200);
    assert_eq!(get_as(&gw, "/admin/stats", &root_mfa).await, 200);
    assert_eq!(get_as(&gw, "/admin/stats", &admin).await, 403);
    assert_eq!(get_as(&gw, "/admin/stats", &admin_pwd).await, 403);
    assert_eq!(get_as(&gw, "/admin/stats", &user_mfa).await, 403);
    assert_eq!(up.requests().len(), 2);
    let events = request_events(&gw, 5).await;
    for e in events.iter().filter(|e| e["status"] == 403) {
        assert_eq!(e["authz"]["policies"], json!(["admins-with-mfa"]), "{e}");
        assert_eq!(e["reason"], "forbidden: denied by admins-with-mfa");
    }
}

#[tokio::test]
async fn ip_allow_and_deny_lists_apply_to_the_client_address() {
    let up = upstream().await;
    let alice = token("alice", json!({}));
    let gateway = |ip: &'static str| {
        let url = up.url();
        async move {
            let authorization = format!("authorization:\n  allow: [\"*\"]\n  ip: {ip}\n");
            authz_gateway(&url, &authorization, &[]).await
        }
    };
    // The test client is 127.0.0.1.
    let denied = gateway("{ deny: [127.0.0.0/8] }").await;
    let resp = call(&denied, "/accounts", Some(&alice), None).await;
    assert_problem(resp, 403, "forbidden").await;
    let events = request_events(&denied, 1).await;
    assert_eq!(events[0]["authz"]["policies"], json!(["ip.deny"]));

    let elsewhere = gateway("{ allow: [10.0.0.0/8] }").await;
    assert_eq!(get_as(&elsewhere, "/accounts", &alice).await, 403);
    // An untrusted peer cannot claim another address.
    let resp = client()
        .get(format!("{}/accounts", elsewhere.url))
        .bearer_auth(&alice)
        .header("x-forwarded-for", "10.1.2.3")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);

    let listed = gateway("{ allow: [10.0.0.0/8, 127.0.0.1], deny: [10.6.6.0/24] }").await;
    assert_eq!(get_as(&listed, "/accounts", &alice).await, 200);
    assert_eq!(seen_paths(&up), ["/accounts"]);
}

#[tokio::test]
async fn policies_see_exposed_headers_and_the_connection() {
    let up = upstream().await;
    let cedar = r#"
@id("known-device")
permit(principal, action == Action::"listAccounts", resource)
when { context.headers has "x-device" && context.headers["x-device"] == "laptop-7" };

@id("cleartext-only")
permit(principal, action == Action::"adminStats", resource) when { !context.tls };

@id("tls-only")
permit(principal, action == Action::"getProfile", resource) when { context.tls };
"#;
    let gw = authz_gateway(
        &up.url(),
        "authorization:\n  policies: [context.cedar]\n  context_headers: [X-Device]\n",
        &[("context.cedar", cedar)],
    )
    .await;
    let alice = token("alice", json!({}));
    let with_device = |device: &'static str| {
        client()
            .get(format!("{}/accounts", gw.url))
            .bearer_auth(&alice)
            .header("X-Device", device)
            .send()
    };
    assert_eq!(with_device("laptop-7").await.unwrap().status(), 200);
    assert_eq!(with_device("phone-1").await.unwrap().status(), 403);
    assert_eq!(get_as(&gw, "/accounts", &alice).await, 403);
    // The listener is cleartext.
    assert_eq!(get_as(&gw, "/admin/stats", &alice).await, 200);
    assert_eq!(get_as(&gw, "/users/alice/profile", &alice).await, 403);
    assert_eq!(seen_paths(&up), ["/accounts", "/admin/stats"]);
}

#[tokio::test]
async fn a_long_claim_is_compared_with_a_static_resource_attribute() {
    let up = upstream().await;
    let authorization = r#"
authorization:
  policies: [abac.cedar]
  principal_attributes: { clearance: Long }
  operations:
    adminStats:
      attributes: { sensitivity: 3 }
"#;
    let cedar = "@id(\"cleared\")\npermit(principal, action == Action::\"adminStats\", resource)\n\
                 when { principal has clearance && principal.clearance >= resource.sensitivity };\n";
    let gw = authz_gateway(&up.url(), authorization, &[("abac.cedar", cedar)]).await;
    let at = |clearance: Value| token("alice", json!({ "clearance": clearance }));
    assert_eq!(get_as(&gw, "/admin/stats", &at(json!(5))).await, 200);
    assert_eq!(get_as(&gw, "/admin/stats", &at(json!(3))).await, 200);
    assert_eq!(get_as(&gw, "/admin/stats", &at(json!(2))).await, 403);
    // Not a Long: the attribute is absent, so `has` is false.
    assert_eq!(get_as(&gw, "/admin/stats", &at(json!("9"))).await, 403);
    assert_eq!(
        get_as(&gw, "/admin/stats", &token("bob", json!({}))).await,
        403
    );
    assert_eq!(up.requests().len(), 2);
}

#[tokio::test]
async fn monitor_mode_lets_a_denial_through_and_records_and_counts_it() {
    let up = upstream().await;
    let gw = authz_gateway(
        &up.url(),
        "authorization:\n  mode: monitor\n  allow: [listAccounts]\n",
        &[],
    )
    .await;
    let alice = token("alice", json!({}));
    assert_eq!(get_as(&gw, "/accounts", &alice).await, 200);
    assert_eq!(get_as(&gw, "/admin/stats", &alice).await, 200);
    assert_eq!(seen_paths(&up), ["/accounts", "/admin/stats"]);
    let events = request_events(&gw, 2).await;
    let allowed = events
        .iter()
        .find(|e| e["operation"] == "listAccounts")
        .unwrap();
    assert_eq!(allowed["authz"]["decision"], "allow");
    assert_eq!(allowed["authz"]["policies"], json!(["allow"]));
    assert!(allowed["reason"].is_null(), "{allowed}");
    let monitored = events
        .iter()
        .find(|e| e["operation"] == "adminStats")
        .unwrap();
    assert_eq!(monitored["decision"], "allow");
    assert_eq!(monitored["status"], 200);
    assert_eq!(monitored["authz"]["decision"], "deny");
    assert_eq!(monitored["authz"]["mode"], "monitor");
    assert_eq!(monitored["authz"]["policies"], json!([]));
    assert_eq!(
        monitored["reason"],
        "monitor: forbidden: no policy permits it"
    );
    let metrics = gw.admin_text("/metrics").await;
    for line in [
        r#"portcullis_authz_denials_total{api="test",operation="adminStats",policy="default-deny",mode="monitor"} 1"#,
        r#"portcullis_authz_decisions_total{api="test",operation="adminStats",decision="monitor_deny"} 1"#,
        r#"portcullis_authz_decisions_total{api="test",operation="listAccounts",decision="allow"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} in:\n{metrics}");
    }
    assert!(
        !metrics.contains(r#"decision="deny"} 1"#),
        "nothing was enforced:\n{metrics}"
    );
}

#[tokio::test]
async fn the_authorization_mode_overrides_the_apis_and_defaults_to_it() {
    let up = upstream().await;
    let alice = token("alice", json!({}));
    // The API monitors, its authorization enforces.
    let enforcing = authz_gateway(
        &up.url(),
        "mode: monitor\nauthorization:\n  mode: enforce\n  allow: [listAccounts]\n",
        &[],
    )
    .await;
    assert_eq!(get_as(&enforcing, "/admin/stats", &alice).await, 403);
    // No mode of its own: the API's.
    let monitoring = authz_gateway(
        &up.url(),
        "mode: monitor\nauthorization:\n  allow: [listAccounts]\n",
        &[],
    )
    .await;
    assert_eq!(get_as(&monitoring, "/admin/stats", &alice).await, 200);
    assert_eq!(seen_paths(&up), ["/admin/stats"]);
    let events = request_events(&monitoring, 1).await;
    assert_eq!(events[0]["authz"]["mode"], "monitor");
}

#[tokio::test]
async fn an_unauthenticated_caller_is_the_anonymous_principal() {
    let up = upstream().await;
    let cedar = "@id(\"anonymous-health\")\npermit(principal is Anonymous, action in Action::\"tag:public\", resource)\n\
                 when { !context.authenticated && principal.roles.isEmpty() };\n";
    let gw = authz_gateway(
        &up.url(),
        "authorization:\n  policies: [anon.cedar]\n",
        &[("anon.cedar", cedar)],
    )
    .await;
    assert_eq!(gw.get_status("/health").await, 200);
    let events = request_events(&gw, 1).await;
    assert_eq!(events[0]["authz"]["policies"], json!(["anonymous-health"]));
    assert!(events[0]["auth"].is_null(), "{}", events[0]);
}

#[tokio::test]
async fn decisions_are_audited_and_counted_with_the_policies_that_made_them() {
    let up = upstream().await;
    let gw = authz_gateway(
        &up.url(),
        "authorization:\n  policies: [roles.cedar]\n",
        &[("roles.cedar", ROLES_CEDAR)],
    )
    .await;
    let both = token("bea", json!({ "roles": ["teller", "auditor"] }));
    let teller = token("tom", json!({ "roles": ["teller"] }));
    assert_eq!(get_as(&gw, "/accounts/a1", &both).await, 200);
    let resp = call(&gw, "/accounts/frozen", Some(&teller), None).await;
    let doc = assert_problem(resp, 403, "forbidden").await;
    assert!(
        !doc.to_string().contains("roles.cedar"),
        "policy ids stay in the audit log: {doc}"
    );
    assert_eq!(get_as(&gw, "/admin/stats", &teller).await, 403);
    let events = request_events(&gw, 3).await;
    let find = |operation: &str, status: u16| {
        events
            .iter()
            .find(|e| e["operation"] == operation && e["status"] == status)
            .unwrap()
    };
    let allowed = find("getAccount", 200);
    assert_eq!(
        allowed["authz"],
        json!({ "decision": "allow", "mode": "enforce", "policies": ["auditors-read", "tellers-accounts"] })
    );
    // The forbid has no `@id`: its id is its file and line.
    let forbidden = find("getAccount", 403);
    assert_eq!(
        forbidden["authz"],
        json!({ "decision": "deny", "mode": "enforce", "policies": ["roles.cedar:8"] })
    );
    assert_eq!(forbidden["reason"], "forbidden: denied by roles.cedar:8");
    assert_eq!(forbidden["stage"], "authorize");
    assert_eq!(forbidden["decision"], "reject");
    let default = find("adminStats", 403);
    assert_eq!(
        default["authz"],
        json!({ "decision": "deny", "mode": "enforce", "policies": [] })
    );
    assert_eq!(default["reason"], "forbidden: no policy permits it");
    let metrics = gw.admin_text("/metrics").await;
    for line in [
        r#"portcullis_authz_decisions_total{api="test",operation="getAccount",decision="allow"} 1"#,
        r#"portcullis_authz_decisions_total{api="test",operation="getAccount",decision="deny"} 1"#,
        r#"portcullis_authz_decisions_total{api="test",operation="adminStats",decision="deny"} 1"#,
        r#"portcullis_authz_denials_total{api="test",operation="getAccount",policy="roles.cedar:8",mode="enforce"} 1"#,
        r#"portcullis_authz_denials_total{api="test",operation="adminStats",policy="default-deny",mode="enforce"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} in:\n{metrics}");
    }
}

/// Loads `authz_config` with the Cedar `files` beside it.
fn load_with(
    authorization: &str,
    files: &[(&str, &str)],
) -> (
    tempfile::TempDir,
    String,
    Result<portcullis_gateway::config::Config, portcullis_gateway::config::ConfigErrors>,
) {
    let dir = tempfile::tempdir().unwrap();
    write_base_files(dir.path());
    std::fs::write(dir.path().join("spec.yaml"), AUTHZ_SPEC).unwrap();
    std::fs::write(dir.path().join("open.yaml"), SPEC).unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let text = authz_config("http://127.0.0.1:1", authorization);
    let path = dir.path().join("portcullis.yaml");
    std::fs::write(&path, &text).unwrap();
    let loaded = portcullis_gateway::config::load(&path);
    (dir, text, loaded)
}

/// The one error of a failed load that is about `file` (a name in the test directory).
fn error_in<'a>(
    errors: &'a portcullis_gateway::config::ConfigErrors,
    dir: &tempfile::TempDir,
    file: &str,
) -> &'a portcullis_gateway::config::ConfigError {
    let about: Vec<_> = errors
        .0
        .iter()
        .filter(|e| e.file == dir.path().join(file))
        .collect();
    assert_eq!(about.len(), 1, "one error about {file} in:\n{errors}");
    about[0]
}

#[test]
fn a_cedar_syntax_error_names_the_policy_file_and_line() {
    let cedar = "// Line 1.\n@id(\"ok\")\npermit(principal, action == Action::\"listAccounts\", resource);\n\
                 permit(principal, action resource);\n";
    let (dir, _, loaded) = load_with(
        "authorization:\n  policies: [bad.cedar]\n",
        &[("bad.cedar", cedar)],
    );
    let errors = loaded.unwrap_err();
    let e = error_in(&errors, &dir, "bad.cedar");
    assert_eq!(e.line, Some(4), "{e}");
    assert_eq!(e.field, "apis[0].authorization.policies[0]");
}

#[test]
fn a_policy_failing_strict_validation_names_the_file_and_the_line_of_the_mistake() {
    let cedar = "@id(\"ok\")\npermit(principal, action == Action::\"listAccounts\", resource);\n\
                 @id(\"typo\")\npermit(principal, action == Action::\"getAccount\", resource)\n\
                 when { resource.acountId == \"a1\" };\n";
    let (dir, _, loaded) = load_with(
        "authorization:\n  policies: [strict.cedar]\n",
        &[("strict.cedar", cedar)],
    );
    let errors = loaded.unwrap_err();
    let e = error_in(&errors, &dir, "strict.cedar");
    assert_eq!(e.line, Some(5), "{e}");
    assert_eq!(e.field, "apis[0].authorization.policies[0]");
    assert!(
        e.message.contains("acountId") && e.message.contains("typo"),
        "{e}"
    );
    // The same files without the mistake load.
    let fixed = cedar.replace("acountId", "accountId");
    let (_, _, loaded) = load_with(
        "authorization:\n  policies: [strict.cedar]\n",
        &[("strict.cedar", &fixed)],
    );
    assert!(loaded.is_ok(), "{}", loaded.unwrap_err());
}

#[test]
fn an_unknown_operation_in_a_requirement_names_the_yaml_line_and_field() {
    let authorization =
        "authorization:\n  require:\n    - operations: [getAcount]\n      roles: [admin]\n";
    let (dir, text, loaded) = load_with(authorization, &[]);
    let errors = loaded.unwrap_err();
    let e = error_in(&errors, &dir, "portcullis.yaml");
    let line = text.lines().position(|l| l.contains("getAcount")).unwrap() + 1;
    assert_eq!(e.line, Some(line as u64), "{e}");
    assert_eq!(e.field, "apis[0].authorization.require[0].operations[0]");
    assert!(e.message.contains("getAcount"), "{e}");
}

#[test]
fn a_policy_set_that_permits_nothing_loads_with_a_warning() {
    // Only restrictions: deny by default then denies everything.
    let only_forbids =
        "authorization:\n  require:\n    - operations: [listAccounts]\n      roles: [admin]\n";
    let (_dir, _, loaded) = load_with(only_forbids, &[]);
    let config = loaded.unwrap();
    let warning = config
        .warnings
        .iter()
        .find(|w| w.field == "apis[0].authorization")
        .unwrap_or_else(|| panic!("a warning in {:?}", config.warnings));
    assert!(warning.message.contains("every request"), "{warning}");

    let with_allow = "authorization:\n  allow: [listAccounts]\n";
    let (_dir, _, loaded) = load_with(with_allow, &[]);
    let config = loaded.unwrap();
    assert!(
        config
            .warnings
            .iter()
            .all(|w| w.field != "apis[0].authorization"),
        "{:?}",
        config.warnings
    );
}

#[tokio::test]
async fn a_changed_policy_file_is_enforced_without_restart_and_a_broken_one_is_refused() {
    let up = upstream().await;
    let v1 = "@id(\"v1\")\npermit(principal, action == Action::\"listAccounts\", resource);\n";
    let text = watching(&authz_config(
        &up.url(),
        "authorization:\n  policies: [live.cedar]\n",
    ));
    let gw = gateway_with(
        &text,
        &[
            ("spec.yaml", AUTHZ_SPEC),
            ("open.yaml", SPEC),
            ("live.cedar", v1),
        ],
    )
    .await;
    let alice = token("alice", json!({}));
    assert_eq!(get_as(&gw, "/admin/stats", &alice).await, 403);
    let config_events = |result: &str| {
        gw.audit_lines()
            .iter()
            .filter(|e| e["event"] == "config" && e["trigger"] == "watch" && e["result"] == result)
            .count()
    };

    // Only the policy file changes: the watcher reloads, decisions follow.
    let v2 = "@id(\"v2\")\npermit(principal, action in [Action::\"listAccounts\", Action::\"adminStats\"], resource);\n";
    gw.write("live.cedar", v2);
    eventually("the new policies are loaded", || {
        config_events("loaded") == 1
    })
    .await;
    assert_eq!(get_as(&gw, "/admin/stats", &alice).await, 200);

    // A broken file is refused; the last good policies stay enforced.
    gw.write("live.cedar", "permit(principal, action ==, resource);\n");
    eventually("the broken policies are refused", || {
        config_events("rejected") >= 1
    })
    .await;
    assert_eq!(get_as(&gw, "/admin/stats", &alice).await, 200);
    assert_eq!(get_as(&gw, "/users/alice/profile", &alice).await, 403);
    let (status, body) = gw.reload().await;
    assert_eq!(status, 422);
    assert!(body.to_string().contains("live.cedar:1"), "{body}");
    let events = request_events(&gw, 4).await;
    let last = events
        .iter()
        .rfind(|e| e["operation"] == "adminStats")
        .unwrap();
    assert_eq!(last["authz"]["policies"], json!(["v2"]));
}
