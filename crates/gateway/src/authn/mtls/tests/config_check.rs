//! `identity_providers.<name>.mtls` checks: rules as written, and every refusal
//! naming its field.

use crate::authn::ProviderConfig;
use crate::authn::mtls::{MtlsConfig, Name, Pattern};
use crate::config::Config;

/// Parses a config whose only identity provider `idp` has this `mtls` block
/// (indented by 6).
fn parse(block: &str) -> Result<Config, String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "listeners:\n  - address: 127.0.0.1:0\nupstreams:\n  main:\n    targets: [http://127.0.0.1:1]\n\
         apis:\n  - name: a\n    without_spec: true\n    upstream: main\n\
         identity_providers:\n  idp:\n    mtls:\n{block}"
    );
    let path = dir.path().join("portcullis.yaml");
    std::fs::write(&path, &text).expect("write");
    crate::config::parse(&text, &path).map_err(|e| e.to_string())
}

fn mtls(cfg: &Config) -> &MtlsConfig {
    match cfg.identity_providers.get("idp") {
        Some(ProviderConfig::Mtls(m)) => m,
        other => panic!("{other:?}"),
    }
}

#[test]
fn rules_as_written() {
    let cfg = parse(
        "      trust_domain: example.org\n      rules:\n\
         \x20       - match: {spiffe_id: 'spiffe://example.org/ns/prod/*', dns_san: API.example.org}\n\
         \x20         subject: 'svc:{spiffe_id}'\n\
         \x20         roles: [service]\n\
         \x20         tenant: '{cn}'\n\
         \x20       - match: {subject_cn: ops}\n\
         \x20         subject: ops\n",
    )
    .expect("valid");
    let m = mtls(&cfg);
    assert_eq!(m.trust_domain.as_deref(), Some("example.org"));
    assert_eq!(m.rules.len(), 2);
    assert_eq!(
        m.rules[0].conditions,
        vec![
            (
                Name::SpiffeId,
                Pattern::Prefix("spiffe://example.org/ns/prod/".into())
            ),
            (Name::DnsSan, Pattern::Exact("api.example.org".into())),
        ]
    );
    assert_eq!(m.rules[0].roles, ["service"]);
    assert!(m.rules[0].tenant.is_some() && m.rules[1].tenant.is_none());
}

#[test]
fn every_refusal_names_its_field() {
    let cases: &[(&str, &str, &str)] = &[
        ("      rules: []\n", "mtls.rules", "at least one"),
        (
            "      rules:\n        - {match: {}, subject: x}\n",
            "rules[0].match",
            "at least one of",
        ),
        (
            "      rules:\n        - {match: {dns_san: '*.example.org'}, subject: x}\n",
            "rules[0].match.dns_san",
            "last character",
        ),
        (
            "      rules:\n        - {match: {subject_cn: a}, subject: '{sub}'}\n",
            "rules[0].subject",
            "unknown placeholder",
        ),
        (
            "      rules:\n        - {match: {subject_cn: a}, subject: x, tenant: '{cn'}\n",
            "rules[0].tenant",
            "unmatched",
        ),
        (
            "      trust_domain: example.org\n      rules:\n        - {match: {spiffe_id: 'spiffe://other.org/*'}, subject: x}\n",
            "rules[0].match.spiffe_id",
            "trust domain",
        ),
        (
            "      trust_domain: Example.org/x\n      rules:\n        - {match: {subject_cn: a}, subject: x}\n",
            "mtls.trust_domain",
            "not a SPIFFE trust domain",
        ),
        (
            "      rules:\n        - {match: {ip_san: 10.0.0.1}, subject: x}\n",
            "",
            "ip_san",
        ),
    ];
    for (block, field, msg) in cases {
        let err = parse(block).expect_err(block);
        assert!(
            err.lines().any(|l| l.contains(field) && l.contains(msg)),
            "no `{field}`/`{msg}` in:\n{err}"
        );
    }
}
