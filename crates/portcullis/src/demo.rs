//! `portcullis demo`: the example bank behind the gateway, on loopback, with requests to try.

use std::net::SocketAddr;

use anyhow::Context;

const CONFIG: &str = r#"# Written by `portcullis demo`.
listeners:
  - address: 127.0.0.1:{PORT}
admin:
  address: 127.0.0.1:{ADMIN_PORT}
  token: file:admin-token
audit:
  file: audit.jsonl
upstreams:
  bank:
    targets: [http://{BANK}]
identity_providers:
  demo-idp:                      # a development IdP: its key is in this directory
    jwt:
      issuer: https://idp.demo.local
      audiences: [bank]
      algorithms: [ES256]
      jwks_file: demo-idp-jwks.json
apis:
  - name: bank
    spec: openapi.yaml
    upstream: bank
    security: { bearerAuth: demo-idp }
    identity: { headers: true, token: true }   # the bank verifies the signed identity token
"#;

/// The bank example's config: its `authorization:` section (the last entry of
/// its API) is appended to `CONFIG`, so that the demo enforces exactly the
/// policies `portcullis policy test examples/bank/policy-tests.yaml` checks.
const BANK_CONFIG: &str = include_str!("../../../examples/bank/portcullis.yaml");

/// The bank example's Cedar policies, which its authorization section names.
const BANK_POLICIES: &str = include_str!("../../../examples/bank/policies/bank.cedar");

/// Where `BANK_CONFIG` names the policies, relative to the config.
const BANK_POLICIES_FILE: &str = "policies/bank.cedar";

/// The demo IdP's issuer (matches `CONFIG`).
const DEMO_ISSUER: &str = "https://idp.demo.local";

/// Runs the demo until Ctrl-C.
pub(crate) fn run(port: u16, admin_port: u16) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        // The bank trusts only identity tokens signed by the gateway, checked with
        // the keys the admin API publishes.
        let options = portcullis_bank::BankOptions::verifying(format!(
            "http://127.0.0.1:{admin_port}/.well-known/jwks.json"
        ));
        let (bank, _task) =
            portcullis_bank::spawn_with(SocketAddr::from(([127, 0, 0, 1], 0)), options)
                .await
                .context("cannot start the example bank")?;
        let dir = tempfile::Builder::new().prefix("portcullis-demo-").tempdir()?;
        let idp = portcullis_gateway::authn::mint::Minter::generate()
            .map_err(anyhow::Error::msg)
            .context("cannot generate the demo IdP key")?;
        let key_path = dir.path().join("demo-idp-key.pem");
        std::fs::write(&key_path, idp.to_pem())?;
        std::fs::write(dir.path().join("demo-idp-jwks.json"), idp.jwks().to_string())?;
        let mint = |sub: &str, roles: &[&str], scope: &str, extra: serde_json::Value| {
            let now = portcullis_gateway::authn::now_secs();
            let mut claims = serde_json::json!({
                "iss": DEMO_ISSUER, "aud": "bank", "sub": sub, "roles": roles, "scope": scope,
                "iat": now, "nbf": now, "exp": now + 3600, "jti": format!("demo-{sub}-{now}"),
                "amr": ["pwd"],
            });
            if let (Some(claims), serde_json::Value::Object(extra)) = (claims.as_object_mut(), extra)
            {
                claims.extend(extra);
            }
            idp.sign(&claims).map_err(anyhow::Error::msg)
        };
        // The policies read the customer's `accounts` and the admin's second factor.
        let alice = mint(
            "u-alice",
            &["customer"],
            "accounts:read transfers:write",
            serde_json::json!({ "accounts": ["acc-1001", "acc-1002"] }),
        )?;
        let admin_user = mint(
            "u-admin",
            &["admin"],
            "admin",
            serde_json::json!({ "amr": ["pwd", "mfa"] }),
        )?;
        let token = random_token().context("cannot read random bytes for the admin token")?;
        std::fs::write(dir.path().join("admin-token"), &token)?;
        std::fs::write(dir.path().join("openapi.yaml"), portcullis_bank::OPENAPI_SPEC)?;
        std::fs::create_dir_all(dir.path().join("policies"))?;
        std::fs::write(dir.path().join(BANK_POLICIES_FILE), BANK_POLICIES)?;
        let config = CONFIG
            .replace("{PORT}", &port.to_string())
            .replace("{ADMIN_PORT}", &admin_port.to_string())
            .replace("{BANK}", &bank.to_string())
            + bank_authorization()?;
        let path = dir.path().join("portcullis.yaml");
        std::fs::write(&path, config)?;
        let running = portcullis_gateway::server::start(&path).await?;
        let gw = running.listeners[0];
        let admin = running.admin;
        println!(
            r#"
Portcullis is guarding the example bank.
  gateway   http://{gw}      (bank itself, unguarded: http://{bank})
  admin     http://{admin}   token: {token}
  config    {config}
  audit log {audit}

Try these (compare with the bank directly by swapping the address):

  # a documented, public operation: forwarded
  curl -i http://{gw}/v2/branches
  # the bank crashes and leaks a stack trace and a DB password; the gateway answers a generic problem
  curl -i http://{gw}/v2/rates/XXX        # vs: curl -i http://{bank}/v2/rates/XXX
  # an undocumented debug route: 404 at the gateway, secrets at the bank
  curl -i http://{gw}/debug/env           # vs: curl -i http://{bank}/debug/env
  # a documented path with an undocumented method: 405 with Allow
  curl -i -X DELETE http://{gw}/v2/branches
  # path tricks are normalized or refused before routing
  curl -i --path-as-is 'http://{gw}/v2/branches/../debug/env'
  curl -i 'http://{gw}/v2/accounts%2f..%2fdebug'
  # operations that need credentials: 401 with a Bearer challenge, without a valid token
  curl -i http://{gw}/v2/accounts/acc-1001
  curl -i -H 'Authorization: Bearer not.a.token' http://{gw}/v2/accounts/acc-1001
  # with a token from the demo IdP (valid 1 h): alice, a customer, and an admin
  ALICE={alice}
  ADMIN={admin_user}
  curl -i -H "Authorization: Bearer $ALICE" http://{gw}/v2/accounts
  # BOLA: alice reads her own account, but bob's is refused (403) though the bank would answer
  curl -i -H "Authorization: Bearer $ALICE" http://{gw}/v2/accounts/acc-1001
  curl -i -H "Authorization: Bearer $ALICE" http://{gw}/v2/accounts/acc-2001
  # the bank lists anyone's accounts on request; the gateway drops bob's from alice's answer
  curl -s -H "Authorization: Bearer $ALICE" 'http://{gw}/v2/accounts?owner=u-bob'
  # BFLA: the admin area needs the admin role and MFA (alice: 403; the admin's token has MFA)
  curl -i -H "Authorization: Bearer $ALICE" http://{gw}/v2/admin/users
  curl -i -H "Authorization: Bearer $ADMIN" http://{gw}/v2/admin/users
  # the Cedar schema the policies ({policies}) are written against
  cargo run -q -p portcullis -- policy schema -c {config} --api bank
  # identity headers cannot be spoofed: the gateway strips them and signs its own
  curl -i -H "Authorization: Bearer $ALICE" -H 'X-Portcullis-Subject: u-admin' http://{gw}/v2/accounts
  # revoke every token of alice ("log out everywhere"), then retry the request above
  curl -s -X POST -H 'Authorization: Bearer {token}' -d '{{"subject":"u-alice"}}' \
       -H 'content-type: application/json' http://{admin}/revocations/subjects
  # mint your own tokens with the demo IdP key:
  cargo run -q -p portcullis -- token mint --key {key} --iss {issuer} --aud bank --sub u-bob --roles customer --claim 'accounts=["acc-2001"]'
  # operations: metrics and the live config
  curl -s -H 'Authorization: Bearer {token}' http://{admin}/metrics | grep portcullis_requests
  curl -s -H 'Authorization: Bearer {token}' http://{admin}/config

Press Ctrl-C to stop.
"#,
            config = path.display(),
            key = key_path.display(),
            issuer = DEMO_ISSUER,
            audit = dir.path().join("audit.jsonl").display(),
            policies = dir.path().join(BANK_POLICIES_FILE).display(),
        );
        running.until_signalled().await?;
        Ok(())
    })
}

/// The `authorization:` section of the bank example's API, from its line to
/// the end of the file.
fn bank_authorization() -> anyhow::Result<&'static str> {
    let start = BANK_CONFIG
        .find("\n    authorization:\n")
        .context("the bank example's config has no `authorization:` section")?;
    Ok(&BANK_CONFIG[start + 1..])
}

fn random_token() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
