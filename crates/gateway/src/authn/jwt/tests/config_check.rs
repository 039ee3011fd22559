//! `identity_providers.<name>.jwt` checks: defaults, and every refusal naming
//! its field and line.

use std::time::Duration;

use jsonwebtoken::Algorithm;

use super::support::{TestKey, jwks};
use crate::authn::ProviderConfig;
use crate::authn::jwt::{JwtConfig, KeySource};
use crate::config::Config;

/// Parses a config whose only identity provider `idp` has this `jwt` block
/// (indented by 6), with `files` written beside it.
fn parse(jwt: &str, files: &[(&str, &str)]) -> (Result<Config, String>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let text = format!(
        "listeners:\n  - address: 127.0.0.1:0\nupstreams:\n  main:\n    targets: [http://127.0.0.1:1]\n\
         apis:\n  - name: a\n    without_spec: true\n    upstream: main\n\
         identity_providers:\n  idp:\n    jwt:\n{jwt}"
    );
    let path = dir.path().join("portcullis.yaml");
    std::fs::write(&path, &text).unwrap();
    let cfg = crate::config::parse(&text, &path).map_err(|e| {
        e.to_string()
            .replace(&format!("{}/", dir.path().display()), "")
    });
    (cfg, dir)
}

fn jwt(cfg: &Config) -> &JwtConfig {
    match cfg.identity_providers.get("idp") {
        Some(ProviderConfig::Jwt(j)) => j,
        other => panic!("{other:?}"),
    }
}

const BASE: &str = "      issuer: https://idp.example\n      audiences: [api://bank]\n";

#[test]
fn a_remote_issuer_gets_the_defaults() {
    let (cfg, _dir) = parse(
        &format!(
            "{BASE}      algorithms: [RS256, ES256]\n      jwks_url: https://idp.example/jwks\n"
        ),
        &[],
    );
    let cfg = cfg.unwrap();
    let j = jwt(&cfg);
    assert_eq!(j.algorithms, vec![Algorithm::RS256, Algorithm::ES256]);
    assert!(matches!(&j.keys, KeySource::Url(u) if u == "https://idp.example/jwks"));
    assert_eq!(j.leeway, Duration::from_secs(30));
    assert_eq!(
        (j.refresh_min, j.refresh_max),
        (Duration::from_secs(300), Duration::from_secs(86_400))
    );
    assert_eq!(j.unknown_kid_cooldown, Duration::from_secs(30));
    assert_eq!(
        (j.fetch_timeout, j.max_jwks_bytes),
        (Duration::from_secs(5), 256 << 10)
    );
    assert_eq!(
        (j.token_cache_size, j.token_cache_ttl_max),
        (10_000, Duration::from_secs(300))
    );
    assert_eq!(
        (j.roles_claim.as_str(), j.scopes_claim.as_str()),
        ("roles", "scope")
    );
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
}

#[test]
fn static_keys_are_loaded_and_checked_with_the_config() {
    let key = TestKey::ec(Algorithm::ES256);
    let doc = jwks(&[
        key.jwk("k1"),
        serde_json::json!({"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB"}),
    ]);
    let (cfg, _dir) = parse(
        &format!(
            "{BASE}      algorithms: [ES256]\n      jwks_file: keys.json\n      typ: Application/AT+JWT\n"
        ),
        &[("keys.json", &doc.to_string())],
    );
    let cfg = cfg.unwrap();
    assert!(matches!(&jwt(&cfg).keys, KeySource::Static(s) if s.len() == 1));
    assert_eq!(jwt(&cfg).typ.as_deref(), Some("at+jwt"));
    assert!(
        cfg.warnings.iter().any(|w| w.message.contains("use `enc`")),
        "{:?}",
        cfg.warnings
    );

    let (cfg, _dir) = parse(
        &format!("{BASE}      algorithms: [ES256]\n      pem_files: [signing.pem]\n"),
        &[("signing.pem", &key.pem)],
    );
    assert!(matches!(&jwt(&cfg.unwrap()).keys, KeySource::Static(s) if s.len() == 1));
}

#[test]
fn a_short_secret_is_a_warning_and_never_echoed() {
    let (cfg, _dir) = parse(
        &format!("{BASE}      algorithms: [HS256]\n      secret: file:hs.key\n"),
        &[("hs.key", "hunter2")],
    );
    let cfg = cfg.unwrap();
    let w: Vec<String> = cfg.warnings.iter().map(ToString::to_string).collect();
    assert!(
        w.iter()
            .any(|w| w.contains("idp.jwt.secret") && w.contains("7 bytes")),
        "{w:?}"
    );
    assert!(!format!("{w:?}{:?}", jwt(&cfg)).contains("hunter2"));
    let warnings = |secret: &str| {
        let block = format!("{BASE}      algorithms: [HS256]\n      secret: file:hs.key\n");
        let (cfg, _dir) = parse(&block, &[("hs.key", secret)]);
        cfg.unwrap()
            .warnings
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    };
    let w = warnings("MySecretMySecretMySecretMySecret");
    assert!(w.iter().any(|w| w.contains("guessable")), "{w:?}");
    let w = warnings(&"ab".repeat(20));
    assert!(w.iter().any(|w| w.contains("few distinct")), "{w:?}");
    assert!(warnings("q8Zr3vN1xK0pW7mT2yL5bH9cJ4dF6gS0").is_empty());
}

#[test]
fn every_refusal_names_its_field_and_line() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "      algorithms: [none]\n      jwks_url: https://i/jwks\n",
            "jwt.algorithms[0]",
            "never accepted",
        ),
        (
            "      algorithms: [RS257]\n      jwks_url: https://i/jwks\n",
            "jwt.algorithms[0]",
            "not one of",
        ),
        (
            "      algorithms: [HS256]\n      jwks_url: https://i/jwks\n",
            "jwt.algorithms[0]",
            "needs `secret`",
        ),
        (
            "      algorithms: [HS256, RS256]\n      secret: env:PORTCULLIS_TEST_UNSET_9\n",
            "jwt.algorithms",
            "key confusion",
        ),
        (
            "      algorithms: [RS256]\n      jwks_url: http://idp.example/jwks\n",
            "jwt.jwks_url",
            "loopback",
        ),
        (
            "      algorithms: [RS256]\n      jwks_url: https://i/jwks\n      discovery: true\n",
            "idp.jwt",
            "exactly one key source",
        ),
        (
            "      algorithms: [RS256]\n",
            "idp.jwt",
            "exactly one key source",
        ),
        (
            "      algorithms: [RS256]\n      jwks_url: https://i/jwks\n      leeway: 10m\n",
            "jwt.leeway",
            "between",
        ),
        (
            "      algorithms: [RS256]\n      jwks_url: https://i/jwks\n      refresh_min: 2h\n      refresh_max: 1h\n",
            "jwt.refresh_max",
            "refresh_min",
        ),
        (
            "      algorithms: [RS256]\n      jwks_file: missing.json\n",
            "jwt.jwks_file",
            "cannot read",
        ),
        (
            "      algorithms: [RS256]\n      pem_files: [missing.pem]\n",
            "jwt.pem_files[0]",
            "cannot read",
        ),
        (
            "      algorithms: [RS256]\n      jwks_url: https://i/jwks\n      roles_claim: a..b\n",
            "jwt.roles_claim",
            "dotted path",
        ),
    ];
    for (block, field, msg) in cases {
        let (cfg, _dir) = parse(&format!("{BASE}{block}"), &[]);
        let err = cfg.unwrap_err();
        let line = err
            .lines()
            .find(|l| l.contains(field) && l.contains(msg))
            .unwrap_or_else(|| panic!("no `{field}`/`{msg}` in:\n{err}"));
        let n: u32 = line
            .split(':')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("no line: {line}"));
        assert!(n >= 13, "{line}");
    }
    let (cfg, _dir) = parse(
        "      issuer: https://idp.example\n      algorithms: [ES256]\n      discovery: true\n",
        &[],
    );
    assert!(cfg.unwrap_err().contains("jwt.audiences"));
    let (cfg, _dir) = parse(
        "      issuer: http://idp.example\n      audiences: [a]\n      algorithms: [ES256]\n      discovery: true\n",
        &[],
    );
    assert!(cfg.unwrap_err().contains("discovery needs the issuer"));
}
