//! `identity_providers.<name>.signatures` checks: defaults, keys loaded, and every
//! refusal naming its field.

use super::{RFC_ED25519_PUBLIC, RFC_SHARED_SECRET};
use crate::authn::ProviderConfig;
use crate::authn::signature::{KeyMaterial, SecretEncoding, SignaturesConfig};
use crate::config::Config;

/// Parses a config whose only identity provider `idp` has this `signatures` block
/// (indented by 6), with `files` written beside it.
fn parse(block: &str, files: &[(&str, &str)]) -> (Result<Config, String>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    let text = format!(
        "listeners:\n  - address: 127.0.0.1:0\nupstreams:\n  main:\n    targets: [http://127.0.0.1:1]\n\
         apis:\n  - name: a\n    without_spec: true\n    upstream: main\n\
         identity_providers:\n  idp:\n    signatures:\n{block}"
    );
    let path = dir.path().join("portcullis.yaml");
    std::fs::write(&path, &text).expect("write");
    let cfg = crate::config::parse(&text, &path).map_err(|e| e.to_string());
    (cfg, dir)
}

fn signatures(cfg: &Config) -> &SignaturesConfig {
    match cfg.identity_providers.get("idp") {
        Some(ProviderConfig::Signatures(s)) => s,
        other => panic!("{other:?}"),
    }
}

const KEYS: &str = "      keys:\n\
    \x20       - keyid: partner-a\n\
    \x20         algorithm: hmac-sha256\n\
    \x20         secret: file:a.key\n\
    \x20         secret_encoding: base64\n\
    \x20         roles: [partner]\n\
    \x20         tenant: acme\n\
    \x20       - keyid: partner-b\n\
    \x20         algorithm: ed25519\n\
    \x20         public_key: b.pem\n\
    \x20         subject: Partner B\n";

#[test]
fn keys_load_with_the_defaults() {
    let (cfg, _dir) = parse(
        KEYS,
        &[("a.key", RFC_SHARED_SECRET), ("b.pem", RFC_ED25519_PUBLIC)],
    );
    let cfg = cfg.expect("valid");
    let s = signatures(&cfg);
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
    assert_eq!(s.keys.len(), 2);
    assert!(matches!(
        s.keys[0].material,
        KeyMaterial::HmacSha256(_, SecretEncoding::Base64)
    ));
    assert_eq!(
        (
            &*s.keys[0].subject,
            &s.keys[0].roles,
            s.keys[0].tenant.as_deref()
        ),
        ("partner-a", &vec!["partner".to_owned()], Some("acme"))
    );
    assert!(matches!(s.keys[1].material, KeyMaterial::Ed25519(_)));
    assert_eq!(s.keys[1].subject, "Partner B");
    assert_eq!((s.max_age.as_secs(), s.clock_skew.as_secs()), (300, 30));
    assert!(s.require_nonce && s.require_content_digest);
    assert_eq!(s.nonce_cache_size, 100_000);
    assert_eq!(s.required_components, ["@method", "@path", "@authority"]);
    assert_eq!(s.label, None);
    assert!(
        !format!("{s:?}").contains(RFC_SHARED_SECRET),
        "secrets never printed"
    );
}

#[test]
fn a_short_secret_is_a_warning_and_never_echoed() {
    let block = "      keys:\n        - {keyid: k, algorithm: hmac-sha256, secret: file:k}\n\
                 \x20     max_age: 2m\n      require_nonce: false\n      label: sig1\n\
                 \x20     required_components: ['@method', '@target-uri', content-digest]\n";
    let (cfg, _dir) = parse(block, &[("k", "hunter2")]);
    let cfg = cfg.expect("valid");
    let w: Vec<String> = cfg.warnings.iter().map(ToString::to_string).collect();
    assert!(
        w.iter()
            .any(|w| w.contains("idp.signatures.keys[0].secret") && w.contains("has 7")),
        "{w:?}"
    );
    assert!(!format!("{w:?}{:?}", signatures(&cfg)).contains("hunter2"));
    let s = signatures(&cfg);
    assert_eq!(s.max_age.as_secs(), 120);
    assert!(!s.require_nonce);
    assert_eq!(s.label.as_deref(), Some("sig1"));
    assert_eq!(
        s.required_components,
        ["@method", "@target-uri", "content-digest"]
    );
}

#[test]
fn every_refusal_names_its_field() {
    let hmac = "      keys:\n        - {keyid: k, algorithm: hmac-sha256, secret: file:k}\n";
    let cases: &[(String, &str, &str)] = &[
        ("      keys: []\n".into(), "signatures.keys", "at least one"),
        (
            "      keys:\n        - {keyid: k, algorithm: rsa-pss-sha512, secret: file:k}\n".into(),
            "keys[0].algorithm",
            "not one of",
        ),
        (
            "      keys:\n        - {keyid: k, algorithm: hmac-sha256, public_key: b.pem}\n".into(),
            "keys[0]",
            "needs `secret`",
        ),
        (
            "      keys:\n        - {keyid: k, algorithm: ed25519, secret: file:k}\n".into(),
            "keys[0]",
            "needs `public_key`",
        ),
        (
            "      keys:\n        - {keyid: k, algorithm: hmac-sha256, secret: inline}\n".into(),
            "keys[0].secret",
            "by reference",
        ),
        (
            "      keys:\n        - {keyid: k, algorithm: hmac-sha256, secret: file:k, secret_encoding: hex}\n"
                .into(),
            "keys[0].secret_encoding",
            "raw",
        ),
        (
            "      keys:\n        - {keyid: k, algorithm: hmac-sha256, secret: file:bad64, secret_encoding: base64}\n"
                .into(),
            "keys[0].secret",
            "base64",
        ),
        (
            "      keys:\n        - {keyid: k, algorithm: ed25519, public_key: missing.pem}\n".into(),
            "keys[0].public_key",
            "cannot read",
        ),
        (
            "      keys:\n        - {keyid: k, algorithm: ed25519, public_key: k}\n".into(),
            "keys[0].public_key",
            "is 32 bytes",
        ),
        (
            format!("{hmac}        - {{keyid: k, algorithm: hmac-sha256, secret: file:k}}\n"),
            "keys[1].keyid",
            "two keys",
        ),
        (
            format!("{hmac}      required_components: ['@status']\n"),
            "required_components[0]",
            "not a supported component",
        ),
        (
            format!("{hmac}      required_components: [Content-Type]\n"),
            "required_components[0]",
            "lowercase",
        ),
        (format!("{hmac}      label: Sig1\n"), "signatures.label", "not a valid"),
        (format!("{hmac}      nonce_cache_size: 0\n"), "nonce_cache_size", "at least 1"),
        (format!("{hmac}      max_age: 0s\n"), "signatures.max_age", "at least 1s"),
    ];
    let secret = "0123456789abcdef0123456789abcdef";
    for (block, field, msg) in cases {
        let (cfg, _dir) = parse(block, &[("k", secret), ("bad64", "not base64!")]);
        let err = cfg.expect_err(block);
        assert!(
            err.lines().any(|l| l.contains(field) && l.contains(msg)),
            "no `{field}`/`{msg}` in:\n{err}"
        );
        assert!(!err.contains(secret), "{err}");
    }
}
