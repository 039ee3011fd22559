//! `portcullis policy`: an API's authorization policies decided against
//! expected outcomes without the gateway running (`test`), and the Cedar schema
//! they are validated against (`schema`).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use clap::Subcommand;
use portcullis_gateway::config::{ApiPolicies, ConfigErrors, load_policies};
use portcullis_openapi::Spec;
use portcullis_policy::{Decision, Facts, PrincipalFacts};
use serde::Deserialize;
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

/// The exit code when the test file, the config or the policies cannot be loaded.
const LOAD_ERROR: u8 = 2;

/// The subcommands of `portcullis policy`.
#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Decide every case of a test file with the API's real policies and compare
    /// with what it expects; prints one PASS or FAIL line per case, then a summary.
    /// Exit code 0 when every case passes, 1 when one fails, 2 when the test file,
    /// the config or a policy cannot be loaded (the message names file and line).
    #[command(after_long_help = TEST_HELP)]
    Test {
        /// The test file (YAML), e.g. examples/bank/policy-tests.yaml.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Print the Cedar schema generated for an API from its spec and its
    /// `authorization:` section: the entity types, actions and attributes a
    /// policy may use. Exit code 2 when it cannot be loaded.
    Schema {
        /// The gateway config (YAML).
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
        /// The API's `name` in the config.
        #[arg(long, value_name = "NAME")]
        api: String,
    },
}

const TEST_HELP: &str = "\
The test file names the gateway config (relative to the test file) and the API;
each case is one request and the decision it expects. Secrets, certificates and
upstreams are not resolved: only the spec and the policies are loaded.

  config: portcullis.yaml
  api: bank
  cases:
    - name: alice reads her own account
      principal: { sub: u-alice, roles: [customer], claims: { accounts: [acc-1001] } }
      operation: getAccount
      parameters: { accountId: acc-1001 }
      expect: allow
      policies: [customers-read-own-accounts]   # optional: exactly these decided it
    - name: anonymous lists branches
      operation: listBranches
      expect: allow

A case without `principal` is anonymous. Principal fields: sub, iss (default
test), method (jwt, introspection, api_key, mtls, signature; default jwt), roles,
scopes, tenant, mfa, issued_at (Unix seconds), claims. Request fields: parameters
(path), query, body (JSON), headers, client_ip (default 127.0.0.1), tls (default
true), mtls (default false), time (RFC 3339, default now).";

/// Runs `portcullis policy ...`.
pub(crate) fn run(command: PolicyCommand) -> ExitCode {
    match command {
        PolicyCommand::Test { file } => test(&file),
        PolicyCommand::Schema { config, api } => match load_policies(&config, &api) {
            Ok(loaded) => {
                print!("{}", loaded.policies.schema_text());
                ExitCode::SUCCESS
            }
            Err(errors) => load_failed(&errors),
        },
    }
}

/// `policy test FILE`.
fn test(file: &Path) -> ExitCode {
    let tests = match TestFile::load(file) {
        Ok(tests) => tests,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(LOAD_ERROR);
        }
    };
    let config = file
        .parent()
        .unwrap_or_else(|| Path::new(""))
        .join(&tests.config);
    let loaded = match load_policies(&config, &tests.api) {
        Ok(loaded) => loaded,
        Err(errors) => return load_failed(&errors),
    };
    let (mut passed, mut failed) = (0, 0);
    for case in &tests.cases {
        let verdict = judge(&loaded, case);
        let name = &case.name.value;
        match verdict {
            Ok(what) => {
                passed += 1;
                println!("PASS {name} — {what}");
            }
            Err(why) => {
                failed += 1;
                let line = case.name.referenced.line();
                println!("FAIL {name} — {why} ({}:{line})", file.display());
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Prints every load problem (file:line: field: message) and exits with 2.
fn load_failed(errors: &ConfigErrors) -> ExitCode {
    for e in &errors.0 {
        eprintln!("{e}");
    }
    ExitCode::from(LOAD_ERROR)
}

/// Decides one case: what it decided when it is as expected, else why not.
fn judge(loaded: &ApiPolicies, case: &Case) -> Result<String, String> {
    let request = case.request(&loaded.spec, &loaded.base_path)?;
    let params = request.params();
    let decision = loaded.policies.decide(&request.facts(&params));
    let got = describe(&decision);
    let expected_allow = case.expect == Expect::Allow;
    if decision.allowed != expected_allow {
        let expected = if expected_allow { "allow" } else { "deny" };
        return Err(format!("expected {expected}, got {got}"));
    }
    if let Some(expected) = &case.policies {
        let mut want: Vec<&str> = expected.iter().map(String::as_str).collect();
        let mut have: Vec<&str> = decision.policies.iter().map(|p| &**p).collect();
        want.sort_unstable();
        have.sort_unstable();
        if want != have {
            let want = if want.is_empty() {
                "no policy".to_owned()
            } else {
                want.join(", ")
            };
            return Err(format!("{got}, expected it decided by {want}"));
        }
    }
    Ok(got)
}

/// `allow by p1, p2`, `deny by p`, or `deny: no policy permits it`; evaluation
/// errors follow.
fn describe(decision: &Decision) -> String {
    let verb = if decision.allowed { "allow" } else { "deny" };
    let mut out = if decision.policies.is_empty() {
        format!("{verb}: no policy permits it")
    } else {
        let ids: Vec<&str> = decision.policies.iter().map(|p| &**p).collect();
        format!("{verb} by {}", ids.join(", "))
    };
    if !decision.errors.is_empty() {
        out.push_str(&format!(
            " (evaluation errors: {})",
            decision.errors.join("; ")
        ));
    }
    out
}

/// A test file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    /// The gateway config, relative to the test file.
    config: String,
    /// The API's name in the config.
    api: String,
    cases: Vec<Case>,
}

impl TestFile {
    /// Reads and parses a test file; the error names the file and line.
    fn load(path: &Path) -> Result<TestFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the test file: {e}", path.display()))?;
        let options = serde_saphyr::options! {
            duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
            with_snippet: false,
        };
        serde_saphyr::from_str_with_options(&text, options).map_err(|e| {
            let at = e
                .location()
                .filter(|l| l.line() > 0)
                .map_or_else(String::new, |l| format!(":{}:{}", l.line(), l.column()));
            let message = e.to_string();
            let message = message.lines().next().unwrap_or_default();
            let message = message.split(" at line ").next().unwrap_or(message);
            format!("{}{at}: {message}", path.display())
        })
    }
}

/// The decision a case expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Expect {
    Allow,
    Deny,
}

/// One request and the decision it expects.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: Spanned<String>,
    /// Absent: anonymous.
    #[serde(default)]
    principal: Option<CasePrincipal>,
    /// The `operationId` (or `METHOD /template` when the spec gives none).
    operation: String,
    /// Path parameters by template name.
    #[serde(default)]
    parameters: BTreeMap<String, Value>,
    /// Query parameters; a list value repeats the parameter.
    #[serde(default)]
    query: BTreeMap<String, Value>,
    /// The JSON request body.
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    client_ip: Option<IpAddr>,
    #[serde(default)]
    tls: Option<bool>,
    #[serde(default)]
    mtls: bool,
    /// RFC 3339; default now.
    #[serde(default)]
    time: Option<String>,
    expect: Expect,
    /// When given, the policies that determined the decision must be exactly these.
    #[serde(default)]
    policies: Option<Vec<String>>,
}

/// Who a case's request comes from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CasePrincipal {
    sub: String,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    mfa: bool,
    #[serde(default)]
    issued_at: Option<u64>,
    #[serde(default)]
    claims: Map<String, Value>,
}

/// A case's request, owned, so that [`Facts`] can borrow from it.
#[derive(Debug)]
struct Request {
    operation: String,
    path: String,
    path_params: Vec<(String, String)>,
    query: Option<String>,
    headers: http::HeaderMap,
    body: Option<Value>,
    client_ip: IpAddr,
    tls: bool,
    mtls: bool,
    now: SystemTime,
    principal: Option<Principal>,
}

/// A case's principal, owned.
#[derive(Debug)]
struct Principal {
    method: String,
    subject: String,
    issuer: String,
    roles: Vec<Arc<str>>,
    scopes: Vec<Arc<str>>,
    tenant: Option<String>,
    mfa: bool,
    issued_at: Option<u64>,
    claims: Map<String, Value>,
}

/// The authentication methods a principal can have (they pick its entity type).
const METHODS: [&str; 5] = ["jwt", "introspection", "api_key", "mtls", "signature"];

impl Case {
    /// The request the case describes, on `spec`'s operation under `base_path`.
    fn request(&self, spec: &Spec, base_path: &str) -> Result<Request, String> {
        let op = spec
            .operations
            .iter()
            .find(|op| match &op.operation_id {
                Some(id) => *id == self.operation,
                None => format!("{} {}", op.method.as_str(), op.path) == self.operation,
            })
            .ok_or_else(|| {
                format!(
                    "unknown operation `{}`: not an operationId of {}",
                    self.operation,
                    spec.source.display()
                )
            })?;
        let names = op.path_params();
        if let Some(extra) = self
            .parameters
            .keys()
            .find(|k| !names.contains(&k.as_str()))
        {
            return Err(format!(
                "operation `{}` ({}) has no path parameter `{extra}`",
                self.operation, op.path
            ));
        }
        let mut path = format!("{base_path}{}", op.path);
        let mut path_params = Vec::with_capacity(names.len());
        for name in names {
            let value = self.parameters.get(name).ok_or_else(|| {
                format!(
                    "missing path parameter `{name}` of operation `{}` ({})",
                    self.operation, op.path
                )
            })?;
            let value = scalar(value).ok_or_else(|| {
                format!("path parameter `{name}` must be a string, number or boolean")
            })?;
            path = path.replace(&format!("{{{name}}}"), &value);
            path_params.push((name.to_owned(), value));
        }
        let now = match &self.time {
            None => SystemTime::now(),
            Some(text) => {
                let format = time::format_description::well_known::Rfc3339;
                time::OffsetDateTime::parse(text, &format)
                    .map(SystemTime::from)
                    .map_err(|e| format!("time `{text}` is not RFC 3339: {e}"))?
            }
        };
        let principal = self
            .principal
            .as_ref()
            .map(CasePrincipal::owned)
            .transpose()?;
        Ok(Request {
            operation: self.operation.clone(),
            path,
            path_params,
            query: query_string(&self.query)?,
            headers: headers(&self.headers)?,
            body: self.body.clone(),
            client_ip: self.client_ip.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            tls: self.tls.unwrap_or(true),
            mtls: self.mtls,
            now,
            principal,
        })
    }
}

impl CasePrincipal {
    fn owned(&self) -> Result<Principal, String> {
        let method = self.method.as_deref().unwrap_or("jwt");
        if !METHODS.contains(&method) {
            return Err(format!(
                "unknown principal method `{method}`: expected one of {}",
                METHODS.join(", ")
            ));
        }
        let arcs = |items: &[String]| items.iter().map(|s| Arc::from(s.as_str())).collect();
        Ok(Principal {
            method: method.to_owned(),
            subject: self.sub.clone(),
            issuer: self.iss.clone().unwrap_or_else(|| "test".to_owned()),
            roles: arcs(&self.roles),
            scopes: arcs(&self.scopes),
            tenant: self.tenant.clone(),
            mfa: self.mfa,
            issued_at: self.issued_at,
            claims: self.claims.clone(),
        })
    }
}

impl Request {
    /// What the policies see of it, as the gateway's authorize stage builds it
    /// (`path_params` borrowed from [`Request::params`]).
    fn facts<'a>(&'a self, path_params: &'a [(&'a str, &'a str)]) -> Facts<'a> {
        Facts {
            operation: &self.operation,
            path: &self.path,
            principal: self.principal.as_ref().map(|p| PrincipalFacts {
                method: &p.method,
                subject: &p.subject,
                issuer: &p.issuer,
                roles: &p.roles,
                scopes: &p.scopes,
                tenant: p.tenant.as_deref(),
                mfa: p.mfa,
                issued_at: p.issued_at,
                claims: &p.claims,
            }),
            path_params,
            query: self.query.as_deref(),
            headers: &self.headers,
            body: self.body.as_ref(),
            client_ip: self.client_ip,
            tls: self.tls,
            mtls: self.mtls,
            now: self.now,
        }
    }

    /// The path parameters as `Facts` borrows them.
    fn params(&self) -> Vec<(&str, &str)> {
        self.path_params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}

/// A YAML scalar as request text.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `a=1&b=x%20y`, every key and value percent-encoded; a list repeats its key.
fn query_string(query: &BTreeMap<String, Value>) -> Result<Option<String>, String> {
    let mut pairs = Vec::new();
    for (key, value) in query {
        let values = match value {
            Value::Array(items) => items.iter().collect(),
            one => vec![one],
        };
        for value in values {
            let text = scalar(value).ok_or_else(|| {
                format!(
                    "query parameter `{key}` must be a string, number, boolean or a list of them"
                )
            })?;
            pairs.push(format!("{}={}", encode(key), encode(&text)));
        }
    }
    Ok((!pairs.is_empty()).then(|| pairs.join("&")))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The case's headers as a header map.
fn headers(headers: &BTreeMap<String, String>) -> Result<http::HeaderMap, String> {
    let mut map = http::HeaderMap::new();
    for (name, value) in headers {
        let name = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("`{name}` is not a valid header name"))?;
        let value = http::HeaderValue::from_str(value)
            .map_err(|_| format!("the value of header `{name}` is not valid"))?;
        map.append(name, value);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_are_encoded_and_lists_repeat() {
        let query: BTreeMap<String, Value> = serde_json::from_value(serde_json::json!({
            "owner": "u-bob", "q": "a b&c", "n": [1, 2]
        }))
        .unwrap();
        assert_eq!(
            query_string(&query).unwrap().as_deref(),
            Some("n=1&n=2&owner=u-bob&q=a%20b%26c")
        );
        assert_eq!(query_string(&BTreeMap::new()).unwrap(), None);
        let nested: BTreeMap<String, Value> =
            serde_json::from_value(serde_json::json!({ "x": { "y": 1 } })).unwrap();
        assert!(query_string(&nested).is_err());
    }

    #[test]
    fn decisions_are_described_with_their_policies() {
        let deny = Decision {
            allowed: false,
            policies: Vec::new(),
            errors: Vec::new(),
        };
        assert_eq!(describe(&deny), "deny: no policy permits it");
        let allow = Decision {
            allowed: true,
            policies: vec!["a".into(), "b".into()],
            errors: vec!["c: boom".into()],
        };
        assert_eq!(
            describe(&allow),
            "allow by a, b (evaluation errors: c: boom)"
        );
    }
}
