//! The real `portcullis keys new`: the key it prints verifies, through the
//! library, against the config entry it prints.

#![allow(clippy::unwrap_used, missing_docs)]

use std::process::{Command, Output};
use std::sync::Arc;

use portcullis_gateway::authn::apikey::{ApiKeys, ApiKeysConfig, KeyEntry, KeyHash, parse_expiry};
use portcullis_gateway::authn::{AuthMethod, Failure, Shared};
use portcullis_gateway::config::Secret;
use portcullis_gateway::metrics::Metrics;

fn keys_new(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.args(["keys", "new"]).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// The printed key, and the printed YAML entry read back (by hand: its values
/// are double-quoted strings and flow lists of them).
fn read(out: &Output) -> (String, KeyEntry) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let key = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("pck_"))
        .unwrap()
        .to_owned();
    let unquote = |v: &str| v.trim().trim_matches('"').to_owned();
    let list = |v: &str| -> Vec<String> {
        let inner = v.trim().trim_start_matches('[').trim_end_matches(']');
        inner
            .split(',')
            .map(unquote)
            .filter(|s| !s.is_empty())
            .collect()
    };
    let mut e = KeyEntry {
        id: String::new(),
        prefix: String::new(),
        hash: KeyHash::Sha256([0; 32]),
        consumer: String::new(),
        roles: Vec::new(),
        scopes: Vec::new(),
        tenant: None,
        expires: None,
        revoked: false,
    };
    let yaml = text.lines().skip_while(|l| !l.starts_with("- id:"));
    for line in yaml {
        let (k, v) = line
            .trim_start_matches("- ")
            .trim()
            .split_once(": ")
            .unwrap();
        match k {
            "id" => e.id = unquote(v),
            "prefix" => e.prefix = unquote(v),
            "hash" => e.hash = KeyHash::parse(&unquote(v)).unwrap(),
            "consumer" => e.consumer = unquote(v),
            "roles" => e.roles = list(v),
            "scopes" => e.scopes = list(v),
            "tenant" => e.tenant = Some(unquote(v)),
            "expires" => e.expires = Some(parse_expiry(&unquote(v)).unwrap()),
            other => panic!("unexpected field {other}"),
        }
    }
    assert!(!e.id.is_empty(), "{text}");
    (key, e)
}

fn table(entry: KeyEntry, pepper: Option<Secret>) -> ApiKeys {
    let shared = Shared::new(Arc::new(Metrics::new()));
    let cfg = ApiKeysConfig {
        pepper,
        keys: vec![entry],
    };
    ApiKeys::new("partners", &cfg, &shared).unwrap()
}

#[test]
fn a_new_key_verifies_against_its_printed_entry() {
    let out = keys_new(
        &[
            "--id",
            "ci-bot",
            "--roles",
            "reader,auditor",
            "--scopes",
            "accounts:read",
            "--tenant",
            "acme",
            "--expires",
            "2999-01-01T00:00:00Z",
        ],
        &[],
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("cannot be shown again"), "{text}");
    let (key, entry) = read(&out);
    assert_eq!(entry.id, "ci-bot");
    assert_eq!(entry.consumer, "ci-bot", "the consumer defaults to the id");
    assert!(!entry.hash.is_hmac());
    assert!(key.contains(&entry.prefix));
    assert!(
        !text.replace(&key, "").contains(&key[13..]),
        "the key is printed once"
    );

    let keys = table(entry, None);
    let p = keys.verify(&key).unwrap();
    assert_eq!((&*p.subject, &*p.issuer), ("ci-bot", "partners"));
    assert_eq!(p.method, AuthMethod::ApiKey);
    assert_eq!(p.roles.len(), 2);
    assert!(p.has_scopes(&["accounts:read".into()]));
    assert_eq!(p.tenant.as_deref(), Some("acme"));
    assert_eq!(
        p.expires_at,
        Some(parse_expiry("2999-01-01T00:00:00Z").unwrap())
    );
    let mut wrong = key.clone();
    wrong.pop();
    wrong.push(if key.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(keys.verify(&wrong).err(), Some(Failure::Inactive));
}

#[test]
fn with_a_pepper_the_hash_is_an_hmac() {
    let pepper = "a-pepper-only-the-gateway-knows";
    let out = keys_new(
        &[
            "--id",
            "partner",
            "--consumer",
            "acme-corp",
            "--pepper-env",
            "TEST_KEYS_PEPPER",
        ],
        &[("TEST_KEYS_PEPPER", pepper)],
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("pepper: env:TEST_KEYS_PEPPER"), "{text}");
    let (key, entry) = read(&out);
    assert!(entry.hash.is_hmac());
    assert_eq!(entry.consumer, "acme-corp");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pepper"), pepper).unwrap();
    let secret = Secret::resolve("file:pepper", dir.path()).unwrap();
    let p = table(entry.clone(), Some(secret)).verify(&key).unwrap();
    assert_eq!(&*p.subject, "acme-corp");

    std::fs::write(dir.path().join("pepper"), "another").unwrap();
    let other = Secret::resolve("file:pepper", dir.path()).unwrap();
    assert_eq!(
        table(entry, Some(other)).verify(&key).err(),
        Some(Failure::Inactive)
    );
}

#[test]
fn bad_arguments_fail_with_a_message() {
    let out = keys_new(&["--id", "x", "--expires", "tomorrow"], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--expires"));
    let out = keys_new(&["--id", "x", "--expires", "2001-01-01T00:00:00Z"], &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("already past"));
    let out = keys_new(
        &["--id", "x", "--pepper-env", "TEST_KEYS_UNSET_VARIABLE"],
        &[],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("TEST_KEYS_UNSET_VARIABLE"));
    assert!(
        out.stdout.is_empty(),
        "no key is printed when the entry cannot be made"
    );
    let out = keys_new(&[], &[]);
    assert!(!out.status.success(), "--id is required");

    let help = keys_new(&["--help"], &[]);
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--id",
        "--consumer",
        "--roles",
        "--scopes",
        "--tenant",
        "--expires",
        "--pepper-env",
    ] {
        assert!(help.contains(flag), "{help}");
    }
}
