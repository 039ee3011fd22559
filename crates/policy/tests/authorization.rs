//! Compiles real configs and Cedar files against a small bank spec and
//! decides requests with real Cedar.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use portcullis_policy::{
    Decision, Error, Facts, Mode, Policies, PrincipalFacts, RawAuthorization, ResponseOwner,
};
use serde_json::{Map, Value, json};

const SPEC: &str = r##"
openapi: 3.1.0
info: {title: Bank, version: "1"}
paths:
  /accounts:
    get:
      operationId: listAccounts
      tags: [accounts]
      parameters:
        - {name: limit, in: query, schema: {type: integer}}
        - {name: owner, in: query, schema: {type: string}}
  /accounts/{accountId}:
    parameters:
      - {name: accountId, in: path, required: true, schema: {type: string}}
    get:
      operationId: getAccount
      tags: [accounts]
    delete:
      operationId: closeAccount
      tags: [accounts, admin]
  /accounts/{accountId}/transactions:
    get:
      operationId: listTransactions
      tags: [accounts]
      parameters: [{$ref: '#/components/parameters/AccountId'}]
  /transfers:
    post:
      operationId: createTransfer
      tags: [transfers]
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Transfer'}
  /documents/{docId}:
    get:
      operationId: getDocument
      tags: [documents]
      parameters: [{name: docId, in: path, required: true, schema: {type: integer}}]
  /users/{userId}/profile:
    get:
      operationId: getProfile
      parameters: [{name: userId, in: path, required: true, schema: {type: string}}]
  /health:
    get:
      tags: [public]
  /admin/stats:
    get:
      operationId: adminStats
      tags: [admin]
components:
  parameters:
    AccountId: {name: accountId, in: path, required: true, schema: {type: string}}
  schemas:
    Transfer:
      type: object
      properties:
        from: {type: string}
        amount: {type: integer}
"##;

/// A compiled config and the directory its Cedar files live in.
struct Fixture {
    _dir: tempfile::TempDir,
    policies: Policies,
}

/// Compiles `yaml` (the `authorization:` section) with `files` beside it.
fn compile(yaml: &str, files: &[(&str, &str)]) -> Result<Fixture, Vec<Error>> {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write policy file");
    }
    let spec = portcullis_openapi::parse(SPEC, Path::new("spec.yaml")).expect("spec");
    let raw: RawAuthorization = serde_saphyr::from_str(yaml).expect("yaml");
    let base = dir.path().to_path_buf();
    let mut resolve = |name: &str| -> PathBuf { base.join(name) };
    let policies = Policies::compile(&raw, &spec, &mut resolve)?;
    Ok(Fixture {
        _dir: dir,
        policies,
    })
}

fn ok(yaml: &str, files: &[(&str, &str)]) -> Fixture {
    match compile(yaml, files) {
        Ok(f) => f,
        Err(errors) => panic!("compile failed: {errors:#?}"),
    }
}

fn errors(yaml: &str, files: &[(&str, &str)]) -> Vec<Error> {
    match compile(yaml, files) {
        Ok(_) => panic!("compile succeeded"),
        Err(errors) => errors,
    }
}

/// The caller of a request.
#[derive(Clone)]
struct Who {
    method: &'static str,
    sub: &'static str,
    roles: Vec<Arc<str>>,
    scopes: Vec<Arc<str>>,
    mfa: bool,
    iat: Option<u64>,
    claims: Map<String, Value>,
}

fn user(sub: &'static str) -> Who {
    Who {
        method: "jwt",
        sub,
        roles: vec![],
        scopes: vec![],
        mfa: false,
        iat: None,
        claims: Map::new(),
    }
}

impl Who {
    fn roles(mut self, roles: &[&str]) -> Who {
        self.roles = roles.iter().map(|r| Arc::from(*r)).collect();
        self
    }
    fn mfa(mut self) -> Who {
        self.mfa = true;
        self
    }
    fn claim(mut self, name: &str, value: Value) -> Who {
        self.claims.insert(name.to_owned(), value);
        self
    }
}

/// A request to decide.
struct Req {
    op: &'static str,
    path: String,
    params: Vec<(&'static str, String)>,
    query: Option<&'static str>,
    body: Option<Value>,
    ip: IpAddr,
    headers: http::HeaderMap,
    who: Option<Who>,
    now: SystemTime,
}

const NOW: u64 = 1_767_268_800; // 2026-01-01T12:00:00Z, a Thursday

fn req(op: &'static str, path: &str) -> Req {
    Req {
        op,
        path: path.to_owned(),
        params: vec![],
        query: None,
        body: None,
        ip: "10.1.2.3".parse().expect("ip"),
        headers: http::HeaderMap::new(),
        who: None,
        now: SystemTime::UNIX_EPOCH + Duration::from_secs(NOW),
    }
}

impl Req {
    fn by(mut self, who: &Who) -> Req {
        self.who = Some(who.clone());
        self
    }
    fn param(mut self, name: &'static str, value: &str) -> Req {
        self.params.push((name, value.to_owned()));
        self
    }
    fn body(mut self, body: Value) -> Req {
        self.body = Some(body);
        self
    }
    fn ip(mut self, ip: &str) -> Req {
        self.ip = ip.parse().expect("ip");
        self
    }
    fn header(mut self, name: &'static str, value: &'static str) -> Req {
        self.headers
            .insert(name, http::HeaderValue::from_static(value));
        self
    }
    fn query(mut self, query: &'static str) -> Req {
        self.query = Some(query);
        self
    }
}

fn decide(f: &Fixture, r: &Req) -> Decision {
    let params: Vec<(&str, &str)> = r.params.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let principal = r.who.as_ref().map(|w| PrincipalFacts {
        method: w.method,
        subject: w.sub,
        issuer: "https://idp.example",
        roles: &w.roles,
        scopes: &w.scopes,
        tenant: None,
        mfa: w.mfa,
        issued_at: w.iat,
        claims: &w.claims,
    });
    f.policies.decide(&Facts {
        operation: r.op,
        path: &r.path,
        principal,
        path_params: &params,
        query: r.query,
        headers: &r.headers,
        body: r.body.as_ref(),
        client_ip: r.ip,
        tls: true,
        mtls: false,
        now: r.now,
    })
}

fn ids(d: &Decision) -> Vec<&str> {
    d.policies.iter().map(|p| &**p).collect()
}

fn account(id: &str) -> Req {
    req("getAccount", &format!("/accounts/{id}")).param("accountId", id)
}

#[test]
fn permit_forbid_and_default_deny() {
    let f = ok(
        "policies: [bank.cedar]\n",
        &[(
            "bank.cedar",
            "permit(principal, action == Action::\"getAccount\", resource);\n\
             forbid(principal, action, resource) when { resource.path like \"*/frozen\" };\n",
        )],
    );
    let alice = user("alice");
    let allowed = decide(&f, &account("a1").by(&alice));
    assert!(allowed.allowed, "{allowed:?}");
    assert_eq!(ids(&allowed), ["bank.cedar:1"]);

    let frozen = decide(&f, &account("frozen").by(&alice));
    assert!(!frozen.allowed);
    assert_eq!(ids(&frozen), ["bank.cedar:2"]);

    let default = decide(&f, &req("listAccounts", "/accounts").by(&alice));
    assert_eq!(
        default,
        Decision {
            allowed: false,
            policies: vec![],
            errors: vec![]
        }
    );

    let unknown = decide(&f, &req("nope", "/nope").by(&alice));
    assert!(!unknown.allowed);
    assert_eq!(unknown.errors.len(), 1);
}

#[test]
fn forbid_wins_over_permit() {
    let f = ok(
        "policies: [bank.cedar]\nallow: ['*']\n",
        &[(
            "bank.cedar",
            "@id(\"no-closing\")\nforbid(principal, action == Action::\"closeAccount\", resource);\n",
        )],
    );
    let alice = user("alice");
    let closing = req("closeAccount", "/accounts/a1")
        .param("accountId", "a1")
        .by(&alice);
    let d = decide(&f, &closing);
    assert!(!d.allowed);
    assert_eq!(ids(&d), ["no-closing"]);
    let d = decide(&f, &account("a1").by(&alice));
    assert!(d.allowed);
    assert_eq!(ids(&d), ["allow"]);
}

#[test]
fn action_groups_by_tag_method_and_read() {
    let f = ok(
        "policies: [groups.cedar]\n",
        &[(
            "groups.cedar",
            "@id(\"tag\") permit(principal, action in Action::\"tag:transfers\", resource);\n\
             @id(\"method\") permit(principal, action in Action::\"method:DELETE\", resource);\n\
             @id(\"read\") permit(principal, action in Action::\"read\", resource) when { resource.path == \"/health\" };\n\
             @id(\"cond\") permit(principal, action, resource) when { action in Action::\"tag:admin\" && context.mfa };\n",
        )],
    );
    let alice = user("alice");
    let transfer = decide(&f, &req("createTransfer", "/transfers").by(&alice));
    assert_eq!(ids(&transfer), ["tag"]);
    let close = req("closeAccount", "/accounts/a1").param("accountId", "a1");
    assert_eq!(ids(&decide(&f, &close.by(&alice))), ["method"]);
    let health = decide(&f, &req("GET /health", "/health"));
    assert!(health.allowed);
    assert_eq!(ids(&health), ["read"]);
    assert!(!decide(&f, &account("a1").by(&alice)).allowed);
    // `action in` inside a condition still sees the action groups.
    let stats = decide(
        &f,
        &req("adminStats", "/admin/stats").by(&alice.clone().mfa()),
    );
    assert_eq!(ids(&stats), ["cond"]);
    assert!(!decide(&f, &req("adminStats", "/admin/stats").by(&alice)).allowed);
}

const OWNERSHIP: &str = r#"
allow: ["tag:accounts", "tag:transfers", getProfile]
require:
  - operations: [getAccount, listTransactions]
    owner: { path: accountId, claim: accounts }
  - id: own-profile
    operations: [getProfile]
    owner: { path: userId, claim: sub }
  - id: own-transfer
    operations: [createTransfer]
    owner: { body: /from, claim: accounts }
"#;

#[test]
fn ownership_by_path_parameter_in_a_set_claim_stops_bola() {
    let f = ok(OWNERSHIP, &[]);
    let alice = user("alice").claim("accounts", json!(["a1", "a2"]));
    let own = decide(&f, &account("a2").by(&alice));
    assert!(own.allowed, "{own:?}");
    assert_eq!(ids(&own), ["allow"]);

    // BOLA: a valid token, someone else's object.
    let other = decide(&f, &account("b9").by(&alice));
    assert!(!other.allowed);
    assert_eq!(ids(&other), ["require[0]"]);

    let tx = req("listTransactions", "/accounts/b9/transactions").param("accountId", "b9");
    assert_eq!(ids(&decide(&f, &tx.by(&alice))), ["require[0]"]);

    // No claim at all: not the owner.
    assert!(!decide(&f, &account("a1").by(&user("mallory"))).allowed);
}

#[test]
fn ownership_by_subject() {
    let f = ok(OWNERSHIP, &[]);
    let profile = |id: &str| req("getProfile", &format!("/users/{id}/profile")).param("userId", id);
    assert!(decide(&f, &profile("alice").by(&user("alice"))).allowed);
    let other = decide(&f, &profile("bob").by(&user("alice")));
    assert_eq!(ids(&other), ["own-profile"]);
    assert!(!other.allowed);
}

#[test]
fn ownership_by_body_field_with_a_single_string_claim() {
    let f = ok(OWNERSHIP, &[]);
    assert!(f.policies.needs_body("createTransfer"));
    assert!(!f.policies.needs_body("getAccount"));
    let alice = user("alice").claim("accounts", json!("a1"));
    let transfer = || req("createTransfer", "/transfers");
    let own = decide(
        &f,
        &transfer()
            .body(json!({"from": "a1", "amount": 5}))
            .by(&alice),
    );
    assert!(own.allowed, "{own:?}");
    let other = decide(&f, &transfer().body(json!({"from": "b9"})).by(&alice));
    assert_eq!(ids(&other), ["own-transfer"]);
    assert!(!decide(&f, &transfer().by(&alice)).allowed);
    let texts = f.policies.policy_texts();
    let (_, text) = texts
        .iter()
        .find(|(id, _)| &**id == "own-transfer")
        .expect("shortcut text");
    assert!(text.contains("resource has from"), "{text}");
}

#[test]
fn roles_and_mfa_requirement() {
    let f = ok(
        "allow: ['tag:admin']\nrequire:\n  - id: admin-role-and-mfa\n    operations: ['tag:admin']\n    roles: [admin, ops]\n    mfa: true\n",
        &[],
    );
    let stats = || req("adminStats", "/admin/stats");
    let admin = user("root").roles(&["admin"]);
    let d = decide(&f, &stats().by(&admin));
    assert_eq!((d.allowed, ids(&d)), (false, vec!["admin-role-and-mfa"]));
    assert!(decide(&f, &stats().by(&admin.clone().mfa())).allowed);
    assert!(decide(&f, &stats().by(&user("o").roles(&["ops"]).mfa())).allowed);
    assert!(!decide(&f, &stats().by(&user("eve").roles(&["viewer"]).mfa())).allowed);
}

#[test]
fn ip_allow_and_deny_lists() {
    let f = ok(
        "allow: ['*']\nip: { allow: [10.0.0.0/8, '192.168.1.7'], deny: [10.6.6.0/24] }\n",
        &[],
    );
    let alice = user("alice");
    let at = |ip: &str| decide(&f, &account("a1").by(&alice).ip(ip));
    assert!(at("10.1.1.1").allowed);
    assert!(at("192.168.1.7").allowed);
    assert!(at("::ffff:10.1.1.1").allowed);
    assert_eq!(ids(&at("10.6.6.6")), ["ip.deny"]);
    assert_eq!(ids(&at("192.168.1.8")), ["ip.allow"]);
    assert_eq!(ids(&at("2001:db8::1")), ["ip.allow"]);
}

#[test]
fn declared_attributes_drive_abac() {
    let yaml = r#"
policies: [abac.cedar]
principal_attributes:
  clearance: Long
  department: String
  projects: Set<String>
  badges: Set<Long>
  contractor: Bool
operations:
  getDocument:
    attributes: { sensitivity: 2, labels: [finance, internal], audited: [true] }
"#;
    let cedar = r#"
@id("clearance")
permit(principal, action == Action::"getDocument", resource)
when {
  principal has clearance && principal.clearance >= resource.sensitivity &&
  resource.docId > 0 && resource.labels.contains("finance") && resource.audited.contains(true) &&
  principal has department && principal.department == "finance" &&
  !(principal has contractor && principal.contractor) &&
  principal has badges && principal.badges.contains(7) &&
  principal has projects && principal.projects.contains("x")
};
"#;
    let f = ok(yaml, &[("abac.cedar", cedar)]);
    let doc = |id: &str| req("getDocument", &format!("/documents/{id}")).param("docId", id);
    let analyst = |clearance: Value| {
        user("ann")
            .claim("clearance", clearance)
            .claim("department", json!("finance"))
            .claim("badges", json!([7, 8]))
            .claim("projects", json!("x"))
    };
    assert!(decide(&f, &doc("12").by(&analyst(json!(3)))).allowed);
    assert!(!decide(&f, &doc("12").by(&analyst(json!(1)))).allowed);
    // A claim of the wrong type is left out, so `has` is false.
    assert!(!decide(&f, &doc("12").by(&analyst(json!("3")))).allowed);
    let contractor = analyst(json!(3)).claim("contractor", json!(true));
    assert!(!decide(&f, &doc("12").by(&contractor)).allowed);
    // An integer path parameter that is not one denies, with an error.
    let d = decide(&f, &doc("twelve").by(&analyst(json!(3))));
    assert!(!d.allowed);
    assert_eq!(d.errors.len(), 1, "{d:?}");
    assert!(d.errors[0].contains("docId"), "{d:?}");

    let schema = f.policies.schema_text();
    assert!(schema.contains("clearance?: Long"), "{schema}");
    assert!(schema.contains("docId: Long"), "{schema}");
}

#[test]
fn query_attributes_are_typed_and_decoded() {
    let yaml = "policies: [q.cedar]\noperations:\n  listAccounts:\n    query: [limit, owner]\n";
    let cedar = "permit(principal, action == Action::\"listAccounts\", resource) when { resource has limit && resource.limit <= 50 && resource has owner && resource.owner == \"a b\" };";
    let f = ok(yaml, &[("q.cedar", cedar)]);
    let list = |q: &'static str| req("listAccounts", "/accounts").query(q).by(&user("alice"));
    assert!(decide(&f, &list("limit=10&owner=a%20b")).allowed);
    // A repeated selected parameter denies: the upstream may read the other one.
    let d = decide(&f, &list("limit=10&owner=a%20b&limit=99"));
    assert!(!d.allowed && d.errors[0].contains("repeated"), "{d:?}");
    assert!(!decide(&f, &list("limit=99&owner=a+b")).allowed);
    let d = decide(&f, &list("limit=many&owner=a+b"));
    assert!(!d.allowed && d.errors[0].contains("limit"), "{d:?}");
}

#[test]
fn syntax_error_names_file_line_and_column() {
    let cedar = "permit(principal, action, resource);\n\npermit(principal, action, resource)\n  when { principal.sub == };\n";
    let errs = errors("policies: [broken.cedar]\n", &[("broken.cedar", cedar)]);
    assert!(!errs.is_empty());
    let e = &errs[0];
    assert_eq!(
        e.file.as_deref().and_then(Path::file_name),
        Some("broken.cedar".as_ref())
    );
    assert_eq!((e.line, e.column), (Some(4), Some(27)), "{e:?}");
    assert_eq!(e.field, "authorization.policies[0]");
}

#[test]
fn undeclared_attribute_fails_strict_validation() {
    let cedar = "// bank policies\npermit(principal, action, resource);\n\npermit(principal, action == Action::\"getAccount\", resource)\n  when { principal.department == \"x\" };\n";
    let errs = errors("policies: [bank.cedar]\n", &[("bank.cedar", cedar)]);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    let e = &errs[0];
    assert!(e.file.as_deref().is_some_and(|f| f.ends_with("bank.cedar")));
    assert_eq!(e.line, Some(5), "{e:?}");
    assert!(e.message.contains("bank.cedar:4"), "{e:?}");
    assert!(e.message.contains("department"), "{e:?}");
}

#[test]
fn templates_and_duplicate_ids_are_refused() {
    let cedar = "@id(\"x\") permit(principal, action, resource);\n@id(\"x\") forbid(principal, action, resource);\npermit(principal == ?principal, action, resource);\n";
    let errs = errors("policies: [t.cedar]\n", &[("t.cedar", cedar)]);
    assert!(
        errs.iter()
            .any(|e| e.line == Some(3) && e.message.contains("template")),
        "{errs:#?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.line == Some(2) && e.message.contains("already used")),
        "{errs:#?}"
    );
}

#[test]
fn unreadable_file_names_the_yaml_entry() {
    let errs = errors("allow: ['*']\npolicies:\n  - missing.cedar\n", &[]);
    assert_eq!(errs.len(), 1);
    assert_eq!(
        (errs[0].file.clone(), errs[0].line, errs[0].field.as_str()),
        (None, Some(3), "authorization.policies[0]")
    );
}

#[test]
fn config_errors_name_the_yaml_line_and_field() {
    let yaml = r#"mode: shadow
principal_attributes:
  clearance: Float
context_headers: ["bad header"]
allow: [getAccount, "tag:nope"]
require:
  - operations: [getAccount, frobnicate]
    roles: [admin]
  - operations: [getAccount, adminStats]
    owner: { path: accountId, claim: accounts }
ip: { deny: [10.0.0.0/33] }
operations:
  getAcount:
    query: [limit]
  listAccounts:
    query: [page]
    attributes: { weird: {a: 1} }
max_response_bytes: 0
"#;
    let errs = errors(yaml, &[]);
    let find = |field: &str| {
        errs.iter()
            .find(|e| e.field == field)
            .unwrap_or_else(|| panic!("no error for {field}: {errs:#?}"))
    };
    let at = |field: &str| (find(field).file.clone(), find(field).line);
    assert_eq!(at("authorization.mode"), (None, Some(1)));
    assert_eq!(
        at("authorization.principal_attributes.clearance"),
        (None, Some(3))
    );
    assert_eq!(at("authorization.context_headers[0]"), (None, Some(4)));
    assert_eq!(at("authorization.allow[1]"), (None, Some(5)));
    assert_eq!(
        at("authorization.require[0].operations[1]"),
        (None, Some(7))
    );
    assert_eq!(at("authorization.require[1].owner.path"), (None, Some(10)));
    assert_eq!(at("authorization.ip.deny[0]"), (None, Some(11)));
    assert_eq!(at("authorization.operations.getAcount"), (None, Some(14)));
    assert_eq!(
        at("authorization.operations.listAccounts.query[0]"),
        (None, Some(16))
    );
    assert_eq!(
        at("authorization.operations.listAccounts.attributes.weird"),
        (None, Some(17))
    );
    assert_eq!(at("authorization.max_response_bytes"), (None, Some(18)));
    assert!(
        find("authorization.require[0].operations[1]")
            .message
            .contains("frobnicate")
    );
    assert_eq!(errs.len(), 11, "{errs:#?}");
}

#[test]
fn shortcut_type_mismatch_fails_validation_at_its_yaml_line() {
    let yaml = "principal_attributes:\n  level: Long\nrequire:\n  - operations: [getAccount]\n    owner: { path: accountId, claim: level }\n";
    let errs = errors(yaml, &[]);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert_eq!(
        (errs[0].file.clone(), errs[0].line, errs[0].field.as_str()),
        (None, Some(4), "authorization.require[0]")
    );
}

#[test]
fn failing_forbid_denies() {
    let cedar = "permit(principal, action, resource);\n@id(\"overflow\")\nforbid(principal, action, resource) when { context.time * 10000000000 > 0 };\n";
    let f = ok("policies: [f.cedar]\n", &[("f.cedar", cedar)]);
    let d = decide(&f, &account("a1").by(&user("alice")));
    assert!(!d.allowed);
    assert_eq!(ids(&d), ["overflow"]);
    assert_eq!(d.errors.len(), 1);
    assert!(d.errors[0].starts_with("overflow: "), "{d:?}");
}

#[test]
fn ids_from_annotations_and_file_lines() {
    let cedar = "@id(\"read-accounts\")\npermit(principal, action in Action::\"tag:accounts\", resource);\n\n\n  permit(principal, action == Action::\"getAccount\", resource);\n";
    let f = ok(
        "policies: [ids.cedar]\nallow: [getAccount]\n",
        &[("ids.cedar", cedar)],
    );
    let d = decide(&f, &account("a1").by(&user("alice")));
    assert_eq!(ids(&d), ["read-accounts", "ids.cedar:5", "allow"]);
    let texts = f.policies.policy_texts();
    let listed: Vec<&str> = texts.iter().map(|(id, _)| &**id).collect();
    assert_eq!(listed, ["read-accounts", "ids.cedar:5", "allow"]);
    assert!(
        texts[1]
            .1
            .starts_with("permit(principal, action == Action::\"getAccount\"")
    );
    assert!(texts[0].1.starts_with("@id(\"read-accounts\")"));
    assert_eq!(f.policies.files().len(), 1);
}

#[test]
fn context_headers_time_and_token_age() {
    let yaml = "policies: [ctx.cedar]\ncontext_headers: [X-Device-Id]\n";
    let cedar = r#"
permit(principal, action, resource)
when { context.headers has "x-device-id" && context.headers["x-device-id"] == "d1" &&
       context.tls && !context.mtls && context.authenticated &&
       context.hour == 12 && context.weekday == 4 && context.time > 0 };
@id("fresh-token")
forbid(principal, action, resource) unless { context has tokenAge && context.tokenAge <= 300 };
"#;
    let f = ok(yaml, &[("ctx.cedar", cedar)]);
    let mut fresh = user("alice");
    fresh.iat = Some(NOW - 60);
    let mut stale = fresh.clone();
    stale.iat = Some(NOW - 3600);
    let r = || account("a1").header("x-device-id", "d1");
    assert!(decide(&f, &r().by(&fresh)).allowed);
    assert_eq!(ids(&decide(&f, &r().by(&stale))), ["fresh-token"]);
    assert!(!decide(&f, &account("a1").by(&fresh)).allowed);
    assert!(!decide(&f, &account("a1").header("x-device-id", "d2").by(&fresh)).allowed);
}

#[test]
fn anonymous_principal() {
    let cedar = r#"
@id("public")
permit(principal is Anonymous, action in Action::"tag:public", resource)
when { principal.method == "anonymous" && !context.authenticated && principal.roles.isEmpty() };
"#;
    let f = ok("policies: [anon.cedar]\n", &[("anon.cedar", cedar)]);
    let d = decide(&f, &req("GET /health", "/health"));
    assert!(d.allowed, "{d:?}");
    assert_eq!(ids(&d), ["public"]);
    assert!(!decide(&f, &req("GET /health", "/health").by(&user("alice"))).allowed);
    assert!(!decide(&f, &account("a1")).allowed);
}

#[test]
fn principal_types_follow_the_authentication_method() {
    let cedar = "permit(principal is Service, action, resource);\npermit(principal in Role::\"teller\", action, resource);";
    let f = ok("policies: [p.cedar]\n", &[("p.cedar", cedar)]);
    let mut svc = user("billing");
    svc.method = "mtls";
    assert!(decide(&f, &account("a1").by(&svc)).allowed);
    assert!(!decide(&f, &account("a1").by(&user("alice"))).allowed);
    assert!(decide(&f, &account("a1").by(&user("t").roles(&["teller"]))).allowed);
    let mut odd = user("x");
    odd.method = "carrier-pigeon";
    let d = decide(&f, &account("a1").by(&odd));
    assert!(!d.allowed && d.errors.len() == 1);
}

#[test]
fn mode_limits_and_response_owners() {
    let yaml = r#"
mode: monitor
max_response_bytes: 4096
operations:
  getAccount:
    response_owner: { pointer: /owner, claim: sub }
  listAccounts:
    response_owner: { items: /accounts, pointer: /owner, claim: accounts, mismatch: refuse }
"#;
    let f = ok(yaml, &[]);
    assert_eq!(f.policies.mode(), Some(Mode::Monitor));
    assert_eq!(f.policies.max_response_bytes(), 4096);
    assert_eq!(
        f.policies
            .response_owner("listAccounts")
            .map(|r| (**r).clone()),
        Some(ResponseOwner {
            items: Some("/accounts".to_owned()),
            pointer: "/owner".to_owned(),
            claim: "accounts".to_owned(),
            filter: false,
        })
    );
    assert!(
        f.policies
            .response_owner("getAccount")
            .is_some_and(|r| r.filter)
    );
    let defaults = ok("{}", &[]);
    assert_eq!(defaults.policies.mode(), None);
    assert_eq!(defaults.policies.max_response_bytes(), 1024 * 1024);

    let errs = errors(
        "operations:\n  getAccount:\n    response_owner: { pointer: owner, claim: sub, mismatch: drop }\n",
        &[],
    );
    assert_eq!(errs.len(), 2, "{errs:#?}");
}

#[test]
fn schema_text_describes_the_model() {
    let f = ok(OWNERSHIP, &[]);
    let schema = f.policies.schema_text();
    for needle in [
        "entity User, ApiKey, Service, Signer, Anonymous in [Role]",
        "// GET /accounts/{accountId}\nentity getAccount = {",
        "action \"getAccount\" in [\"tag:accounts\", \"method:GET\", \"read\"]",
        "accounts?: Set<String>",
        "ip: ipaddr",
    ] {
        assert!(schema.contains(needle), "{needle} not in\n{schema}");
    }
}

#[test]
fn odd_names_are_quoted_in_schema_and_policies() {
    let yaml = r#"
policies: [odd.cedar]
context_headers: [X-Device-Id]
principal_attributes: { "home branch": String }
operations:
  createTransfer:
    body: { "from account": /from }
require:
  - operations: [createTransfer]
    owner: { body: /from, claim: "account list" }
"#;
    let cedar = r#"permit(principal, action, resource) when {
  principal has "home branch" && principal["home branch"] == "x" && context.headers has "x-device-id"
};"#;
    let f = ok(yaml, &[("odd.cedar", cedar)]);
    let schema = f.policies.schema_text();
    assert!(schema.contains("\"from account\"?: String"), "{schema}");
    let who = user("alice")
        .claim("home branch", json!("x"))
        .claim("account list", json!(["a1"]));
    let transfer = req("createTransfer", "/transfers").header("x-device-id", "d");
    assert!(decide(&f, &transfer.body(json!({"from": "a1"})).by(&who)).allowed);
}

#[test]
fn one_mistake_is_one_error_for_all_principal_types() {
    let cedar = "permit(principal, action, resource) when { principal.department == \"x\" };";
    let errs = errors("policies: [bank.cedar]\n", &[("bank.cedar", cedar)]);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0]
            .message
            .contains("entity types `User`, `ApiKey`, `Service`, `Signer`, `Anonymous`"),
        "{errs:#?}"
    );
    assert_eq!((errs[0].line, errs[0].column), (Some(1), Some(44)));
}

#[test]
fn parameters_no_policy_reads_are_still_checked() {
    let f = ok(
        "policies: [p.cedar]\n",
        &[(
            "p.cedar",
            "permit(principal, action == Action::\"getDocument\", resource);",
        )],
    );
    let doc = |id: &str| req("getDocument", &format!("/documents/{id}")).param("docId", id);
    assert!(decide(&f, &doc("7").by(&user("alice"))).allowed);
    let d = decide(&f, &doc("seven").by(&user("alice")));
    assert!(!d.allowed && d.errors[0].contains("docId"), "{d:?}");
}

/// Remembered decisions are the evaluated ones: every input the policies can
/// see changes the decision, including the clock when a policy reads it.
#[test]
fn remembered_decisions_follow_every_input_they_depend_on() {
    let yaml = r#"
policies: [memo.cedar]
principal_attributes: { accounts: Set<String> }
context_headers: [x-device]
"#;
    let cedar = r#"
@id("office-hours")
permit(principal, action == Action::"getAccount", resource)
when {
  principal has accounts && principal.accounts.contains(resource.accountId) &&
  context.hour >= 8 && context.hour < 18 && context has headers &&
  context.headers has "x-device" && context.headers["x-device"] == "known"
};
"#;
    let f = ok(yaml, &[("memo.cedar", cedar)]);
    let alice = user("alice").claim("accounts", json!(["a1"]));
    let at =
        |hour: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(NOW - 12 * 3600 + hour * 3600);
    let base = || account("a1").by(&alice).header("x-device", "known");
    let mut cases = vec![
        (base(), true),
        (base(), true), // the same facts again: remembered, same answer
        (account("a2").by(&alice).header("x-device", "known"), false),
        (account("a1").by(&alice).header("x-device", "other"), false),
        (account("a1").by(&alice), false),
        (
            account("a1")
                .by(&user("alice").claim("accounts", json!(["a2"])))
                .header("x-device", "known"),
            false,
        ),
        (account("a1").header("x-device", "known"), false),
    ];
    for (hour, allowed) in [(7, false), (9, true), (17, true), (18, false)] {
        let mut r = base();
        r.now = at(hour);
        cases.push((r, allowed));
    }
    for (i, (r, expected)) in cases.iter().enumerate() {
        let remembered = decide(&f, r);
        assert_eq!(remembered.allowed, *expected, "case {i}: {remembered:?}");
        // Twice, so the second answer comes from the memo.
        assert_eq!(decide(&f, r), remembered, "case {i}");
    }
}
