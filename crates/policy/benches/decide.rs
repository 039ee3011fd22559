//! Decision latency: 50 policies, a principal with 10 roles.
//!
//! A bank-like spec of 20 operations over six tags; Cedar policies mixing
//! role-scoped permits, ownership on claims, ABAC with Long comparisons and
//! forbids on IP and MFA, plus the config shortcuts. Besides criterion's
//! means, prints p50 and p99 of single decisions timed one by one
//! (`DECIDE_SAMPLES` of them, 100 000 by default).

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use portcullis_policy::{Facts, Policies, PrincipalFacts, RawAuthorization};
use serde_json::{Map, Value, json};

// The allocator the `portcullis` binary runs with: a decision allocates.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SPEC: &str = r#"
openapi: 3.1.0
info: {title: Bank, version: "1"}
components:
  parameters:
    accountId: {name: accountId, in: path, required: true, schema: {type: string}}
paths:
  /accounts:
    get: {operationId: listAccounts, tags: [accounts], parameters: [{name: limit, in: query, schema: {type: integer}}]}
  /accounts/{accountId}:
    parameters: [{$ref: '#/components/parameters/accountId'}]
    get: {operationId: getAccount, tags: [accounts]}
    patch: {operationId: updateAccount, tags: [accounts]}
    delete: {operationId: closeAccount, tags: [accounts, admin]}
  /accounts/{accountId}/balance:
    parameters: [{$ref: '#/components/parameters/accountId'}]
    get: {operationId: getBalance, tags: [accounts]}
  /accounts/{accountId}/transactions:
    parameters: [{$ref: '#/components/parameters/accountId'}]
    get: {operationId: listTransactions, tags: [accounts]}
  /accounts/{accountId}/transactions/{txId}:
    parameters: [{$ref: '#/components/parameters/accountId'}, {name: txId, in: path, required: true, schema: {type: integer}}]
    get: {operationId: getTransaction, tags: [accounts]}
  /transfers:
    post:
      operationId: createTransfer
      tags: [transfers]
      requestBody: {content: {application/json: {schema: {type: object, properties: {from: {type: string}, amount: {type: integer}}}}}}
  /transfers/{transferId}:
    get: {operationId: getTransfer, tags: [transfers], parameters: [{name: transferId, in: path, required: true, schema: {type: string}}]}
    delete: {operationId: cancelTransfer, tags: [transfers], parameters: [{name: transferId, in: path, required: true, schema: {type: string}}]}
  /cards:
    get: {operationId: listCards, tags: [cards]}
  /cards/{cardId}:
    get: {operationId: getCard, tags: [cards], parameters: [{name: cardId, in: path, required: true, schema: {type: string}}]}
  /cards/{cardId}/block:
    post: {operationId: blockCard, tags: [cards], parameters: [{name: cardId, in: path, required: true, schema: {type: string}}]}
  /loans:
    get: {operationId: listLoans, tags: [loans]}
    post: {operationId: applyLoan, tags: [loans]}
  /loans/{loanId}:
    get: {operationId: getLoan, tags: [loans], parameters: [{name: loanId, in: path, required: true, schema: {type: string}}]}
  /reports:
    get: {operationId: listReports, tags: [reports]}
  /reports/{reportId}:
    get: {operationId: getReport, tags: [reports], parameters: [{name: reportId, in: path, required: true, schema: {type: integer}}]}
  /admin/stats:
    get: {operationId: adminStats, tags: [admin]}
  /admin/users:
    get: {operationId: adminUsers, tags: [admin]}
"#;

const CONFIG: &str = r#"
policies: [bank.cedar]
principal_attributes:
  accounts: Set<String>
  cards: Set<String>
  department: String
  clearance: Long
  branch: String
context_headers: [x-device-id]
allow: [listAccounts, "tag:reports"]
require:
  - id: admin-mfa
    operations: ["tag:admin"]
    roles: [admin, ops]
    mfa: true
  - id: own-account
    operations: [getAccount, getBalance, listTransactions, getTransaction, updateAccount]
    owner: { path: accountId, claim: accounts }
  - id: own-card
    operations: [getCard, blockCard]
    owner: { path: cardId, claim: cards }
  - id: own-transfer-source
    operations: [createTransfer]
    owner: { body: /from, claim: accounts }
ip: { allow: [10.0.0.0/8, 192.168.0.0/16], deny: [10.66.0.0/16] }
operations:
  getReport:
    attributes: { sensitivity: 3 }
  createTransfer:
    body: { amount: /amount }
"#;

/// 43 Cedar policies; with the 7 shortcuts, 50 in all.
fn cedar() -> String {
    let mut out = String::new();
    let tags = [
        "accounts",
        "transfers",
        "cards",
        "loans",
        "reports",
        "admin",
    ];
    // Role-scoped permits: 12.
    for (i, tag) in tags.iter().chain(&tags).enumerate() {
        out.push_str(&format!(
            "@id(\"role-{i}\")\npermit(principal in Role::\"role{i}\", action in Action::\"tag:{tag}\", resource)\n  when {{ principal.scopes.contains(\"{tag}:rw\") || context.scopes.contains(\"{tag}\") }};\n"
        ));
    }
    // Ownership on claims: 10.
    let owned = [
        ("getAccount", "accountId", "accounts"),
        ("getBalance", "accountId", "accounts"),
        ("listTransactions", "accountId", "accounts"),
        ("getTransaction", "accountId", "accounts"),
        ("updateAccount", "accountId", "accounts"),
        ("getCard", "cardId", "cards"),
        ("blockCard", "cardId", "cards"),
        ("getLoan", "loanId", "accounts"),
        ("getTransfer", "transferId", "accounts"),
        ("cancelTransfer", "transferId", "accounts"),
    ];
    for (op, param, claim) in owned {
        out.push_str(&format!(
            "permit(principal is User, action == Action::\"{op}\", resource)\n  when {{ principal has {claim} && principal.{claim}.contains(resource.{param}) }};\n"
        ));
    }
    // ABAC with Long comparisons: 10.
    for i in 0..10 {
        out.push_str(&format!(
            "permit(principal, action in [Action::\"getReport\", Action::\"getTransaction\"], resource)\n  when {{ principal has clearance && principal.clearance >= {i} && principal has department && principal.department == \"dept{i}\" && context.hour >= 6 }};\n"
        ));
    }
    // Forbids on IP, MFA, token age, device: 11.
    for i in 0..5 {
        out.push_str(&format!(
            "forbid(principal, action in Action::\"write\", resource) when {{ context.ip.isInRange(ip(\"203.0.{i}.0/24\")) }};\n"
        ));
    }
    out.push_str(
        "forbid(principal, action in Action::\"tag:admin\", resource) unless { context.mfa };\n",
    );
    out.push_str("forbid(principal, action in Action::\"tag:transfers\", resource) unless { context.mfa || principal in Role::\"trusted\" };\n");
    out.push_str("forbid(principal, action, resource) when { context has tokenAge && context.tokenAge > 3600 };\n");
    out.push_str("forbid(principal is Anonymous, action in Action::\"write\", resource);\n");
    out.push_str("forbid(principal, action in Action::\"method:DELETE\", resource) unless { context.headers has \"x-device-id\" };\n");
    out.push_str("forbid(principal, action == Action::\"getReport\", resource) when { principal has clearance && principal.clearance < resource.sensitivity };\n");
    out
}

/// The caller: a user with 10 roles and a handful of claims.
struct Caller {
    roles: Vec<Arc<str>>,
    scopes: Vec<Arc<str>>,
    claims: Map<String, Value>,
}

fn caller() -> Caller {
    let roles = (0..10).map(|i| Arc::from(format!("role{i}"))).collect();
    let scopes = ["accounts:rw", "cards:rw", "openid"]
        .into_iter()
        .map(Arc::from)
        .collect();
    let claims = json!({
        "accounts": ["acc-100", "acc-101", "acc-102"],
        "cards": ["card-7"],
        "department": "dept3",
        "clearance": 4,
        "branch": "north",
        "email": "ann@example.com",
    });
    let Value::Object(claims) = claims else {
        unreachable!("an object literal")
    };
    Caller {
        roles,
        scopes,
        claims,
    }
}

fn compile() -> (tempfile::TempDir, Policies) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("bank.cedar"), cedar()).expect("write policies");
    let spec = portcullis_openapi::parse(SPEC, Path::new("spec.yaml")).expect("spec");
    let raw: RawAuthorization = serde_saphyr::from_str(CONFIG).expect("config");
    let base = dir.path().to_path_buf();
    let mut resolve = |name: &str| -> PathBuf { base.join(name) };
    let policies = Policies::compile(&raw, &spec, &mut resolve)
        .unwrap_or_else(|errors| panic!("compile: {errors:#?}"));
    assert_eq!(policies.policy_texts().len(), 50);
    (dir, policies)
}

/// Times `n` decisions one by one; returns (p50, p99).
fn percentiles(n: usize, mut decide: impl FnMut()) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let start = Instant::now();
            decide();
            start.elapsed()
        })
        .collect();
    times.sort_unstable();
    (times[n / 2], times[n * 99 / 100])
}

fn bench(c: &mut Criterion) {
    let (_dir, policies) = compile();
    let who = caller();
    let principal = PrincipalFacts {
        method: "jwt",
        subject: "ann",
        issuer: "https://idp.example",
        roles: &who.roles,
        scopes: &who.scopes,
        tenant: Some("bank-1"),
        mfa: false,
        issued_at: Some(1_767_268_000),
        claims: &who.claims,
    };
    let mut headers = http::HeaderMap::new();
    headers.insert("x-device-id", http::HeaderValue::from_static("dev-1"));
    let ip: IpAddr = "10.1.2.3".parse().expect("ip");
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_268_800);
    let own = [("accountId", "acc-101")];
    let other = [("accountId", "acc-999")];
    let allowed = Facts {
        operation: "getAccount",
        path: "/accounts/acc-101",
        principal: Some(principal),
        path_params: &own,
        query: None,
        headers: &headers,
        body: None,
        client_ip: ip,
        tls: true,
        mtls: false,
        now,
    };
    // Someone else's account: refused by the ownership requirement (BOLA).
    let denied = Facts {
        path: "/accounts/acc-999",
        path_params: &other,
        ..allowed
    };
    let a = policies.decide(&allowed);
    let d = policies.decide(&denied);
    assert!(a.allowed, "{a:?}");
    assert!(
        !d.allowed && d.policies.iter().any(|p| &**p == "own-account"),
        "{d:?}"
    );

    // `DECIDE_SAMPLES` shortens the run, e.g. under callgrind.
    let samples = std::env::var("DECIDE_SAMPLES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    // Evaluated every time (what a first request costs), then as served: an
    // identical request is answered from the decision memo.
    for (name, facts) in [("allowed", &allowed), ("denied", &denied)] {
        for _ in 0..samples / 10 {
            black_box(policies.decide_uncached(black_box(facts)));
        }
        let (p50, p99) = percentiles(samples, || {
            black_box(policies.decide_uncached(black_box(facts)));
        });
        println!("decide/{name}/evaluated: p50 {p50:?}, p99 {p99:?} ({samples} decisions)");
        let (p50, p99) = percentiles(samples, || {
            black_box(policies.decide(black_box(facts)));
        });
        println!("decide/{name}/remembered: p50 {p50:?}, p99 {p99:?} ({samples} decisions)");
    }
    // A new client address every time: neither the memo nor the per-thread
    // `ip()` cache ever hits.
    let mut n: u32 = 0;
    let (p50, p99) = percentiles(samples, || {
        n = n.wrapping_add(1);
        let client_ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (n & 0x00ff_ffff)));
        black_box(policies.decide(black_box(&Facts {
            client_ip,
            ..allowed
        })));
    });
    println!("decide/allowed_new_ip: p50 {p50:?}, p99 {p99:?} ({samples} decisions)");

    let mut group = c.benchmark_group("decide");
    group.bench_function("allowed", |b| {
        b.iter(|| policies.decide_uncached(black_box(&allowed)))
    });
    group.bench_function("denied", |b| {
        b.iter(|| policies.decide_uncached(black_box(&denied)))
    });
    group.bench_function("allowed_remembered", |b| {
        b.iter(|| policies.decide(black_box(&allowed)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
