mod config_check;

use rcgen::{CertificateParams, DnType, KeyPair, SanType};

use super::*;
use crate::metrics::Metrics;

/// A self-signed certificate with these names (`spiffe:`/`https:` → URI SAN,
/// containing `@` → email SAN, else DNS SAN).
fn cert(cn: Option<&str>, sans: &[&str]) -> CertificateDer<'static> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    if let Some(cn) = cn {
        params.distinguished_name.push(DnType::CommonName, cn);
    }
    for s in sans {
        let ia5 = (*s).try_into().expect("ia5");
        params.subject_alt_names.push(if s.contains("://") {
            SanType::URI(ia5)
        } else if s.contains('@') {
            SanType::Rfc822Name(ia5)
        } else {
            SanType::DnsName(ia5)
        });
    }
    let key = KeyPair::generate().expect("key");
    params.self_signed(&key).expect("cert").der().clone()
}

fn rule(conditions: &[(Name, &str)], subject: &str) -> Rule {
    Rule {
        conditions: conditions
            .iter()
            .map(|(n, p)| (*n, Pattern::parse(p).expect("pattern")))
            .collect(),
        subject: Template::parse(subject).expect("template"),
        roles: vec!["service".into()],
        tenant: None,
    }
}

fn mapper(rules: Vec<Rule>, trust_domain: Option<&str>) -> MtlsMapper {
    let shared = Shared::new(Arc::new(Metrics::new()));
    let cfg = MtlsConfig {
        rules,
        trust_domain: trust_domain.map(Into::into),
    };
    MtlsMapper::new("corp-mtls", &cfg, &shared).expect("mapper")
}

#[test]
fn spiffe_id_prefix_maps_with_a_template() {
    let m = mapper(
        vec![
            rule(&[(Name::SubjectCn, "admin")], "admin"),
            rule(
                &[(Name::SpiffeId, "spiffe://example.org/ns/prod/*")],
                "svc:{spiffe_id}",
            ),
        ],
        Some("example.org"),
    );
    let der = cert(
        Some("payments"),
        &[
            "spiffe://example.org/ns/prod/sa/payments",
            "payments.prod.svc",
        ],
    );
    let p = m.identify(Some(&der)).expect("mapped");
    assert_eq!(&*p.subject, "svc:spiffe://example.org/ns/prod/sa/payments");
    assert_eq!(&*p.issuer, "corp-mtls");
    assert_eq!(p.method, AuthMethod::Mtls);
    assert_eq!(p.roles, vec![Arc::<str>::from("service")]);
    let fp = p.credential_id.as_deref().expect("fingerprint");
    assert_eq!(fp.len(), 64);
    assert!(p.expires_at.is_some_and(|e| e > now_secs()));
    assert_eq!(
        p.claims["spiffe_id"],
        "spiffe://example.org/ns/prod/sa/payments"
    );
    assert_eq!(p.claims["dns_sans"][0], "payments.prod.svc");
    assert_eq!(p.claims["subject_cn"], "payments");
}

#[test]
fn first_matching_rule_wins_and_templates_use_the_matched_san() {
    let m = mapper(
        vec![
            rule(&[(Name::DnsSan, "api-*")], "dns:{dns}"),
            rule(&[(Name::SubjectCn, "*")], "cn:{cn}"),
        ],
        None,
    );
    let der = cert(
        Some("Client One"),
        &["web.example.com", "API-7.example.com"],
    );
    let p = m.identify(Some(&der)).expect("mapped");
    assert_eq!(
        &*p.subject, "dns:api-7.example.com",
        "DNS compared lowercased"
    );
    let der = cert(Some("Client Two"), &["web.example.com"]);
    let p = m.identify(Some(&der)).expect("mapped");
    assert_eq!(&*p.subject, "cn:Client Two");
}

#[test]
fn uri_email_and_conjunctions() {
    let mut r = rule(
        &[
            (Name::UriSan, "https://id.example.com/*"),
            (Name::EmailSan, "ops@example.com"),
        ],
        "{email}|{uri}",
    );
    r.tenant = Some(Template::parse("acme").expect("template"));
    let m = mapper(vec![r], None);
    let der = cert(None, &["https://id.example.com/u/1", "ops@example.com"]);
    let p = m.identify(Some(&der)).expect("mapped");
    assert_eq!(&*p.subject, "ops@example.com|https://id.example.com/u/1");
    assert_eq!(p.tenant.as_deref(), Some("acme"));
    // Only one of the two conditions holds: no match.
    let der = cert(None, &["https://id.example.com/u/1", "dev@example.com"]);
    assert_eq!(m.identify(Some(&der)), Err(Failure::UnmappedCertificate));
}

#[test]
fn a_template_without_a_value_skips_the_rule() {
    let m = mapper(
        vec![
            rule(&[(Name::DnsSan, "*")], "{spiffe_id}"),
            rule(&[(Name::DnsSan, "*")], "fallback:{dns}"),
        ],
        None,
    );
    let der = cert(None, &["a.example.com"]);
    let p = m.identify(Some(&der)).expect("mapped");
    assert_eq!(&*p.subject, "fallback:a.example.com");
}

#[test]
fn no_certificate_no_match_and_foreign_trust_domain() {
    let m = mapper(
        vec![rule(
            &[(Name::SpiffeId, "spiffe://example.org/*")],
            "{spiffe_id}",
        )],
        Some("example.org"),
    );
    assert_eq!(m.identify(None), Err(Failure::Missing));
    let der = cert(Some("x"), &["x.example.org"]);
    assert_eq!(m.identify(Some(&der)), Err(Failure::UnmappedCertificate));
    let der = cert(None, &["spiffe://evil.org/ns/prod"]);
    assert_eq!(m.identify(Some(&der)), Err(Failure::UnmappedCertificate));
    let open = mapper(
        vec![rule(&[(Name::SubjectCn, "x")], "{cn}")],
        Some("example.org"),
    );
    assert_eq!(
        open.identify(Some(&der)),
        Err(Failure::UnmappedCertificate),
        "with a trust domain, only its SPIFFE IDs are mapped"
    );
}

#[test]
fn unreadable_or_ambiguous_certificates_are_malformed() {
    let m = mapper(vec![rule(&[(Name::SubjectCn, "*")], "{cn}")], None);
    let garbage = CertificateDer::from(b"\x30\x03\x02\x01\x01".to_vec());
    assert_eq!(m.identify(Some(&garbage)), Err(Failure::Malformed));
    let two = cert(None, &["spiffe://a.org/x", "spiffe://a.org/y"]);
    assert_eq!(m.identify(Some(&two)), Err(Failure::Malformed));
    let bad = cert(None, &["spiffe://a.org/../x"]);
    assert_eq!(m.identify(Some(&bad)), Err(Failure::Malformed));
    let mut trailing = cert(Some("x"), &[]).to_vec();
    trailing.push(0);
    assert_eq!(
        m.identify(Some(&CertificateDer::from(trailing))),
        Err(Failure::Malformed)
    );
}

#[test]
fn an_expired_certificate_is_refused_on_a_long_connection() {
    let m = mapper(vec![rule(&[(Name::SubjectCn, "*")], "{cn}")], None);
    let der = cert(Some("x"), &[]);
    let after = u64::try_from(cert::parse(&der).expect("facts").not_after).expect("time");
    assert!(m.identify_at(Some(&der), after).is_ok());
    assert_eq!(m.identify_at(Some(&der), after + 1), Err(Failure::Expired));
}
