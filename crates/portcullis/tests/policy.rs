//! The real `portcullis policy` command: the bank's policy tests pass (this is
//! how CI runs them), a wrong expectation fails, a broken policy file is named.

#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;
use std::process::{Command, Output};

const BANK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/bank");

fn portcullis(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        // No admin token: the policies load without the deployment's secrets.
        .env_remove("PORTCULLIS_ADMIN_TOKEN")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_bank_policy_tests_pass() {
    let out = portcullis(&["policy", "test", &format!("{BANK}/policy-tests.yaml")]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(!stdout.contains("FAIL"), "{stdout}");
    let passed = stdout.lines().filter(|l| l.starts_with("PASS ")).count();
    assert!(passed >= 20, "{stdout}");
    assert!(
        stdout.contains(&format!("{passed} passed, 0 failed")),
        "{stdout}"
    );
    assert!(
        stdout.contains("PASS alice reads her own account — allow by customers-read-own-accounts"),
        "{stdout}"
    );
    assert!(
        stdout.contains("PASS a customer cannot list users — deny by admin-role-and-mfa"),
        "{stdout}"
    );
    assert!(
        stdout.contains("PASS alice cannot read bob's account — deny: no policy permits it"),
        "{stdout}"
    );
}

#[test]
fn a_wrong_expectation_fails_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases.yaml");
    std::fs::write(
        &cases,
        format!(
            r#"config: {BANK}/portcullis.yaml
api: bank
cases:
  - name: branches are public
    operation: listBranches
    expect: allow
  - name: alice reads bob's account
    principal: {{ sub: u-alice, roles: [customer], claims: {{ accounts: [acc-1001] }} }}
    operation: getAccount
    parameters: {{ accountId: acc-2001 }}
    expect: allow
  - name: admins need no MFA
    principal: {{ sub: u-admin, roles: [admin] }}
    operation: listUsers
    expect: allow
  - name: a typo in the operation
    operation: getAcount
    expect: deny
  - name: a forgotten path parameter
    operation: getAccount
    expect: deny
"#
        ),
    )
    .unwrap();
    let out = portcullis(&["policy", "test", cases.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("PASS branches are public — allow by allow"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "FAIL alice reads bob's account — expected allow, got deny: no policy permits it"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAIL admins need no MFA — expected allow, got deny by admin-role-and-mfa"),
        "{stdout}"
    );
    assert!(stdout.contains("unknown operation `getAcount`"), "{stdout}");
    assert!(
        stdout.contains("missing path parameter `accountId` of operation `getAccount`"),
        "{stdout}"
    );
    assert!(stdout.contains("1 passed, 4 failed"), "{stdout}");
}

#[test]
fn a_broken_policy_file_is_a_load_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "portcullis.yaml",
        &format!(
            "listeners: [{{ address: 127.0.0.1:0 }}]\nupstreams: {{ bank: {{ targets: [http://127.0.0.1:9] }} }}\napis:\n  - name: bank\n    spec: {BANK}/openapi.yaml\n    upstream: bank\n    authorization:\n      policies: [broken.cedar]\n"
        ),
    );
    write(
        dir.path(),
        "broken.cedar",
        "// fine so far\npermit(principal, action, resource);\npermit(principal, action == Action::\"getAccount\", resource)\n  when { resource.accountID == \"acc-1001\" };\n",
    );
    write(
        dir.path(),
        "cases.yaml",
        "config: portcullis.yaml\napi: bank\ncases: []\n",
    );
    let cases = dir.path().join("cases.yaml");
    let out = portcullis(&["policy", "test", cases.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}{stderr}", text(&out.stdout));
    assert!(stderr.contains("broken.cedar:4:"), "{stderr}");
    assert!(stderr.contains("accountID"), "{stderr}");

    // A syntax error, and a test file that is not one.
    write(dir.path(), "broken.cedar", "permit(principal, action\n");
    let out = portcullis(&["policy", "test", cases.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("broken.cedar:"),
        "{}",
        text(&out.stderr)
    );
    write(
        dir.path(),
        "cases.yaml",
        "config: portcullis.yaml\napi: bank\ncases:\n  - nme: x\n",
    );
    let out = portcullis(&["policy", "test", cases.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cases.yaml:4:") && stderr.contains("nme"),
        "{stderr}"
    );
}

#[test]
fn schema_prints_what_policies_are_written_against() {
    let out = portcullis(&[
        "policy",
        "schema",
        "-c",
        &format!("{BANK}/portcullis.yaml"),
        "--api",
        "bank",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("accounts?: Set<String>"), "{stdout}");
    assert!(stdout.contains("entity getAccount = {"), "{stdout}");
    assert!(stdout.contains("sensitivity: Long"), "{stdout}");
    let out = portcullis(&[
        "policy",
        "schema",
        "-c",
        &format!("{BANK}/portcullis.yaml"),
        "--api",
        "nope",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no API named `nope`"));
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}
