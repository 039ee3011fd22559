//! The real `portcullis` binary: help, `check` exit codes and messages, `run` serving.

#![allow(clippy::unwrap_used, missing_docs)]

use std::process::{Command, Stdio};

fn portcullis() -> Command {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
}

#[test]
fn help_explains_each_command() {
    let out = portcullis().arg("--help").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for cmd in ["run", "check", "demo"] {
        assert!(text.contains(cmd), "{text}");
    }
    let out = portcullis().args(["check", "--help"]).output().unwrap();
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("Exit code 0 when valid")
    );
}

#[test]
fn check_accepts_the_bank_example_and_rejects_a_broken_config() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let out = portcullis()
        .args([
            "check",
            "-c",
            &format!("{root}/examples/bank/portcullis.yaml"),
        ])
        .env("PORTCULLIS_ADMIN_TOKEN", "a-long-enough-test-token")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("16 operation(s)"));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "listeners:\n  - address: nowhere\napis: []\n").unwrap();
    let out = portcullis()
        .args(["check", "-c", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.yaml:2:") && err.contains("listeners[0].address"),
        "{err}"
    );
    assert!(err.contains("apis"), "all problems are reported: {err}");
}

#[test]
fn check_warns_about_public_operations_that_change_state_and_unbound_schemes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("spec.yaml"),
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /open:\n    post: {operationId: openPost, security: [], responses: {'200': {description: ok}}}\n  /quiet:\n    get: {operationId: quiet, responses: {'200': {description: ok}}}\n  /locked:\n    get: {operationId: locked, security: [{k: []}], responses: {'200': {description: ok}}}\ncomponents: {securitySchemes: {k: {type: apiKey, in: header, name: X-Key}}}\n",
    )
    .unwrap();
    let config = |security: &str| {
        format!(
            "listeners: [{{ address: 127.0.0.1:0 }}]\nupstreams: {{ u: {{ targets: [http://127.0.0.1:9] }} }}\nidentity_providers: {{ keys: {{ api_keys: {{ keys: [] }} }} }}\napis: [{{ name: a, spec: spec.yaml, upstream: u{security} }}]\n"
        )
    };
    let path = dir.path().join("p.yaml");
    std::fs::write(&path, config(", security: { k: keys }")).unwrap();
    let out = portcullis()
        .args(["check", "-c", path.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "warnings do not fail the check: {err}"
    );
    assert!(
        err.contains("warning:") && err.contains("`openPost` changes state and is public"),
        "{err}"
    );
    assert!(
        err.contains("`quiet` states no security: it will be refused"),
        "{err}"
    );
    // An operation's scheme must be bound to a provider: an error, with the field.
    std::fs::write(&path, config("")).unwrap();
    let out = portcullis()
        .args(["check", "-c", path.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("apis[0].security") && err.contains("`locked` requires scheme `k`"),
        "{err}"
    );
}

#[test]
fn run_serves_the_bank_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let bank = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let bank_addr = bank.local_addr().unwrap();
    drop(bank);
    // The bank's binary sits beside ours (`cargo test --workspace` builds both).
    let bank_exe = std::path::Path::new(env!("CARGO_BIN_EXE_portcullis")).with_file_name("bank");
    let mut bank = Command::new(&bank_exe)
        .args(["--listen", &bank_addr.to_string()])
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bank_exe.display()));
    std::fs::write(dir.path().join("openapi.yaml"), portcullis_bank_spec()).unwrap();
    std::fs::write(
        dir.path().join("jwks.json"),
        bank_example("dev-idp-jwks.json"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("p.yaml"),
        format!(
            "listeners: [{{ address: 127.0.0.1:{port} }}]\nruntime: {{ watch_config: false }}\nadmin: {{ address: 127.0.0.1:0 }}\naudit: {{ file: audit.jsonl }}\nupstreams: {{ bank: {{ targets: [http://{bank_addr}] }} }}\nidentity_providers: {{ idp: {{ jwt: {{ issuer: https://idp.bank.example, audiences: [bank], algorithms: [ES256], jwks_file: jwks.json }} }} }}\napis: [{{ name: bank, spec: openapi.yaml, upstream: bank, security: {{ bearerAuth: idp }} }}]\n"
        ),
    )
    .unwrap();
    let mut gw = portcullis()
        .args(["run", "-c", dir.path().join("p.yaml").to_str().unwrap()])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    for _ in 0..100 {
        if let Ok(s) = http_get_status(port, "/debug/env") {
            status = s;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(status, 404, "the undocumented route is not served");
    let mut branches = 0;
    for _ in 0..100 {
        branches = http_get_status(port, "/v2/branches").unwrap_or(0);
        if branches == 200 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        branches, 200,
        "a documented public operation reaches the bank"
    );
    // SIGHUP reloads (file watching is off here, so only the signal can do it):
    // the new spec no longer documents /v2/branches.
    let spec = portcullis_bank_spec().replace("/v2/branches:", "/v3/branches:");
    std::fs::write(dir.path().join("openapi.yaml"), spec).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        http_get_status(port, "/v2/branches").unwrap(),
        200,
        "not reloaded without a trigger"
    );
    Command::new("kill")
        .args(["-HUP", &gw.id().to_string()])
        .status()
        .unwrap();
    let mut after = 200;
    for _ in 0..100 {
        after = http_get_status(port, "/v2/branches").unwrap_or(0);
        if after != 200 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(after, 404, "the reloaded spec is enforced");
    Command::new("kill")
        .args(["-TERM", &gw.id().to_string()])
        .status()
        .unwrap();
    let exit = gw.wait().unwrap();
    assert!(exit.success(), "graceful exit on SIGTERM: {exit:?}");
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert!(
        audit.lines().any(|l| l.contains("\"status\":404"))
            && audit.lines().any(|l| l.contains("\"trigger\":\"signal\"")),
        "audit flushed on shutdown: {audit}"
    );
    let _ = bank.kill();
    let _ = bank.wait();
}

fn bank_example(file: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../../examples/bank/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn portcullis_bank_spec() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/bank/openapi.yaml"
    ))
    .unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_get_status(port: u16, path: &str) -> std::io::Result<u16> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0))
}

#[test]
fn demo_guards_the_bank() {
    let (port, admin) = (free_port(), free_port());
    let demo = portcullis()
        .args([
            "demo",
            "--port",
            &port.to_string(),
            "--admin-port",
            &admin.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut branches = 0;
    for _ in 0..200 {
        branches = http_get_status(port, "/v2/branches").unwrap_or(0);
        if branches != 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        branches, 200,
        "the public operation is forwarded to the bank"
    );
    assert_eq!(http_get_status(port, "/debug/env").unwrap(), 404);
    assert_eq!(
        http_get_status(port, "/v2/rates/XXX").unwrap(),
        500,
        "the crash is a generic problem"
    );
    assert_eq!(
        http_get_status(port, "/v2/accounts/acc-1001").unwrap(),
        401,
        "secured operations fail closed"
    );
    Command::new("kill")
        .args(["-INT", &demo.id().to_string()])
        .status()
        .unwrap();
    let out = demo.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("curl -i http://") && text.contains("token: "),
        "{text}"
    );
}
