//! mTLS client identity: the listener's verified leaf certificate mapped to a [`Principal`].
//!
//! The listener has already verified the chain against its `client_ca` (rustls);
//! here the leaf's names (SPIFFE ID, URI/DNS/email SANs, subject CN) are matched
//! against the provider's rules, first match wins. No certificate → `Missing`; one
//! that cannot be read (or names itself ambiguously) → `Malformed`; past its
//! `notAfter` (a long-lived connection) → `Expired`; outside the configured trust
//! domain or matching no rule → `UnmappedCertificate`.

mod cert;
mod config;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use serde_json::{Map, Value};

pub use config::{MtlsConfig, Name, Pattern, Rule, Template};
pub(crate) use config::{RawMtls, check};

use crate::authn::{AuthMethod, Failure, Principal, Shared, now_secs};
use cert::Facts;
use config::{Piece, Var};

/// Maps verified client certificates to principals.
#[derive(Debug)]
pub struct MtlsMapper {
    name: Arc<str>,
    cfg: MtlsConfig,
}

impl MtlsMapper {
    /// Builds the rules.
    pub fn new(name: &str, cfg: &MtlsConfig, _shared: &Shared) -> Result<MtlsMapper, String> {
        Ok(MtlsMapper {
            name: name.into(),
            cfg: cfg.clone(),
        })
    }

    /// The principal for the connection's verified leaf certificate (`None`: no certificate).
    ///
    /// The principal's `credential_id` is the certificate's SHA-256 fingerprint
    /// (lowercase hex), `issued_at`/`expires_at` its validity, and its claims hold
    /// `spiffe_id`, `uri_sans`, `dns_sans`, `email_sans`, `subject_cn`, `serial` and
    /// `fingerprint_sha256` for policies.
    pub fn identify(
        &self,
        leaf: Option<&CertificateDer<'static>>,
    ) -> Result<Arc<Principal>, Failure> {
        self.identify_at(leaf, now_secs())
    }

    /// [`identify`](Self::identify) at a given time (seconds since the epoch).
    fn identify_at(
        &self,
        leaf: Option<&CertificateDer<'static>>,
        now: u64,
    ) -> Result<Arc<Principal>, Failure> {
        let der = leaf.ok_or(Failure::Missing)?;
        let facts = cert::parse(der.as_ref())?;
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        if facts.not_after < now {
            return Err(Failure::Expired);
        }
        if let Some(td) = &self.cfg.trust_domain
            && facts.spiffe_id.as_deref().and_then(cert::trust_domain) != Some(td.as_str())
        {
            return Err(Failure::UnmappedCertificate);
        }
        for rule in &self.cfg.rules {
            if let Some(p) = self.apply(rule, &facts) {
                return Ok(Arc::new(p));
            }
        }
        Err(Failure::UnmappedCertificate)
    }

    /// The principal if `rule` matches the certificate (and its templates have values).
    fn apply(&self, rule: &Rule, facts: &Facts) -> Option<Principal> {
        let mut chosen = Chosen::default();
        for (name, pattern) in &rule.conditions {
            match name {
                Name::SpiffeId => {
                    facts.spiffe_id.as_deref().filter(|v| pattern.matches(v))?;
                }
                Name::SubjectCn => {
                    facts.cn.as_deref().filter(|v| pattern.matches(v))?;
                }
                Name::UriSan => chosen.uri = Some(first_match(&facts.uris, pattern)?),
                Name::DnsSan => chosen.dns = Some(first_match(&facts.dns, pattern)?),
                Name::EmailSan => chosen.email = Some(first_match(&facts.emails, pattern)?),
            }
        }
        let subject = render(&rule.subject, facts, &chosen)?;
        let tenant = match &rule.tenant {
            Some(t) => Some(render(t, facts, &chosen)?),
            None => None,
        };
        let mut p = Principal::new(subject, self.name.clone(), AuthMethod::Mtls);
        p.roles = rule.roles.iter().map(|r| r.as_str().into()).collect();
        p.tenant = tenant.map(Into::into);
        p.credential_id = Some(facts.fingerprint.as_str().into());
        p.issued_at = u64::try_from(facts.not_before).ok();
        p.expires_at = u64::try_from(facts.not_after).ok();
        p.claims = Arc::new(claims(facts));
        Some(p)
    }
}

/// The SANs a rule matched, for `{uri}`, `{dns}`, `{email}`.
#[derive(Default)]
struct Chosen<'a> {
    uri: Option<&'a str>,
    dns: Option<&'a str>,
    email: Option<&'a str>,
}

fn first(values: &[String]) -> Option<&str> {
    values.first().map(String::as_str)
}

fn first_match<'a>(values: &'a [String], pattern: &Pattern) -> Option<&'a str> {
    values
        .iter()
        .map(String::as_str)
        .find(|v| pattern.matches(v))
}

/// Fills a template; `None` if a placeholder has no value.
fn render(t: &Template, facts: &Facts, chosen: &Chosen<'_>) -> Option<String> {
    let mut out = String::new();
    for piece in &t.0 {
        let value = match piece {
            Piece::Text(s) => s.as_str(),
            Piece::Value(Var::SpiffeId) => facts.spiffe_id.as_deref()?,
            Piece::Value(Var::Cn) => facts.cn.as_deref()?,
            Piece::Value(Var::Dns) => chosen.dns.or_else(|| first(&facts.dns))?,
            Piece::Value(Var::Uri) => chosen.uri.or_else(|| first(&facts.uris))?,
            Piece::Value(Var::Email) => chosen.email.or_else(|| first(&facts.emails))?,
        };
        out.push_str(value);
    }
    (!out.is_empty()).then_some(out)
}

/// The certificate's facts as principal claims.
fn claims(f: &Facts) -> Map<String, Value> {
    let list = |v: &[String]| Value::Array(v.iter().cloned().map(Value::String).collect());
    let opt = |v: &Option<String>| v.clone().map_or(Value::Null, Value::String);
    let mut m = Map::new();
    m.insert("spiffe_id".into(), opt(&f.spiffe_id));
    m.insert("uri_sans".into(), list(&f.uris));
    m.insert("dns_sans".into(), list(&f.dns));
    m.insert("email_sans".into(), list(&f.emails));
    m.insert("subject_cn".into(), opt(&f.cn));
    m.insert("serial".into(), Value::String(f.serial.clone()));
    m.insert(
        "fingerprint_sha256".into(),
        Value::String(f.fingerprint.clone()),
    );
    m
}
