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
apis:
  - name: bank
    spec: openapi.yaml
    upstream: bank
"#;

/// Runs the demo until Ctrl-C.
pub(crate) fn run(port: u16, admin_port: u16) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let (bank, _task) = portcullis_bank::spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .context("cannot start the example bank")?;
        let dir = tempfile::Builder::new().prefix("portcullis-demo-").tempdir()?;
        let token = random_token().context("cannot read random bytes for the admin token")?;
        std::fs::write(dir.path().join("admin-token"), &token)?;
        std::fs::write(dir.path().join("openapi.yaml"), portcullis_bank::OPENAPI_SPEC)?;
        let config = CONFIG
            .replace("{PORT}", &port.to_string())
            .replace("{ADMIN_PORT}", &admin_port.to_string())
            .replace("{BANK}", &bank.to_string());
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
  # operations that need credentials fail closed (authentication is the next capability)
  curl -i http://{gw}/v2/accounts/acc-1001
  # identity headers cannot be spoofed through the gateway
  curl -i -H 'X-Portcullis-Subject: u-admin' http://{gw}/v2/branches
  # operations: metrics and the live config
  curl -s -H 'Authorization: Bearer {token}' http://{admin}/metrics | grep portcullis_requests
  curl -s -H 'Authorization: Bearer {token}' http://{admin}/config

Press Ctrl-C to stop.
"#,
            config = path.display(),
            audit = dir.path().join("audit.jsonl").display(),
        );
        running.until_signalled().await?;
        Ok(())
    })
}

fn random_token() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
