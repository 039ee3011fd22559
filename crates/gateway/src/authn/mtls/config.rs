//! `identity_providers.<name>.mtls`: mapping rules from certificate names to principals.

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::cert::valid_spiffe_id;
use crate::config::Checker;

/// `identity_providers.<name>.mtls` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMtls {
    rules: Vec<RawRule>,
    #[serde(default)]
    trust_domain: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(rename = "match")]
    matcher: RawMatch,
    subject: Spanned<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    tenant: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatch {
    #[serde(default)]
    spiffe_id: Option<Spanned<String>>,
    #[serde(default)]
    uri_san: Option<Spanned<String>>,
    #[serde(default)]
    dns_san: Option<Spanned<String>>,
    #[serde(default)]
    email_san: Option<Spanned<String>>,
    #[serde(default)]
    subject_cn: Option<Spanned<String>>,
}

/// Validated mTLS mapping rules.
#[derive(Debug, Clone)]
pub struct MtlsConfig {
    /// Tried in order; the first that matches maps the certificate.
    pub rules: Vec<Rule>,
    /// When set, only certificates with a SPIFFE ID in this trust domain are mapped.
    pub trust_domain: Option<String>,
}

/// One mapping rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// What the certificate must carry: every condition must hold.
    pub conditions: Vec<(Name, Pattern)>,
    /// The principal's subject.
    pub subject: Template,
    /// The principal's roles.
    pub roles: Vec<String>,
    /// The principal's tenant.
    pub tenant: Option<Template>,
}

/// A name a certificate carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Name {
    /// The SPIFFE ID: the certificate's one `spiffe://` URI SAN.
    SpiffeId,
    /// Any URI SAN.
    UriSan,
    /// Any DNS SAN (compared case-insensitively).
    DnsSan,
    /// Any email (rfc822Name) SAN.
    EmailSan,
    /// The subject's common name.
    SubjectCn,
}

/// A pattern for a name: exact, or a prefix.
///
/// `*` may appear only as the last character. `*` alone matches any value;
/// `prefix*` (e.g. `spiffe://example.org/ns/prod/*`) matches any value that starts
/// with `prefix` and has at least one more character; anything else must be equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// Equal to this.
    Exact(String),
    /// This followed by at least one character.
    Prefix(String),
    /// Any value.
    Any,
}

impl Pattern {
    /// Parses a pattern (see the type's docs).
    pub fn parse(text: &str) -> Result<Pattern, String> {
        let (head, star) = match text.strip_suffix('*') {
            Some(h) => (h, true),
            None => (text, false),
        };
        if head.contains('*') {
            return Err("`*` is allowed only as the last character".into());
        }
        Ok(match (head.is_empty(), star) {
            (true, true) => Pattern::Any,
            (true, false) => return Err("an empty pattern matches nothing".into()),
            (false, true) => Pattern::Prefix(head.to_owned()),
            (false, false) => Pattern::Exact(head.to_owned()),
        })
    }

    /// Whether `value` matches.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            Pattern::Exact(e) => value == e,
            Pattern::Prefix(p) => value.len() > p.len() && value.starts_with(p.as_str()),
            Pattern::Any => true,
        }
    }

    fn to_lowercase(&self) -> Pattern {
        match self {
            Pattern::Exact(e) => Pattern::Exact(e.to_ascii_lowercase()),
            Pattern::Prefix(p) => Pattern::Prefix(p.to_ascii_lowercase()),
            Pattern::Any => Pattern::Any,
        }
    }
}

/// A subject or tenant: literal text with `{spiffe_id}`, `{cn}`, `{dns}`, `{uri}`,
/// `{email}` placeholders.
///
/// `{dns}`, `{uri}` and `{email}` are the SAN the rule matched, or else the
/// certificate's first of that kind. A placeholder the certificate has no value for
/// makes the rule not match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(pub(super) Vec<Piece>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Piece {
    Text(String),
    Value(Var),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Var {
    SpiffeId,
    Cn,
    Dns,
    Uri,
    Email,
}

impl Template {
    /// Parses a template; `{` and `}` are only allowed around a known placeholder.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find(['{', '}']) {
            if rest[open..].starts_with('}') {
                return Err("unmatched `}`".into());
            }
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_owned()));
            }
            let close = rest[open..].find('}').ok_or("unmatched `{`")? + open;
            let var = match &rest[open + 1..close] {
                "spiffe_id" => Var::SpiffeId,
                "cn" => Var::Cn,
                "dns" => Var::Dns,
                "uri" => Var::Uri,
                "email" => Var::Email,
                other => {
                    return Err(format!(
                        "unknown placeholder `{{{other}}}` (use spiffe_id, cn, dns, uri, email)"
                    ));
                }
            };
            pieces.push(Piece::Value(var));
            rest = &rest[close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        if pieces.is_empty() {
            return Err("must not be empty".into());
        }
        Ok(Template(pieces))
    }
}

/// Checks `identity_providers.<name>.mtls` (`field` is that dotted path).
pub(crate) fn check(c: &mut Checker<'_>, field: &str, raw: &RawMtls) -> Option<MtlsConfig> {
    let mut ok = true;
    let trust_domain = match &raw.trust_domain {
        Some(td)
            if !valid_spiffe_id(&format!("spiffe://{}", td.value)) || td.value.contains('/') =>
        {
            c.error(
                Some(td),
                format!("{field}.trust_domain"),
                "not a SPIFFE trust domain (lowercase letters, digits, `.`, `-`, `_`)",
            );
            ok = false;
            None
        }
        other => other.as_ref().map(|td| td.value.clone()),
    };
    if raw.rules.is_empty() {
        c.error::<()>(
            None,
            format!("{field}.rules"),
            "at least one rule is needed",
        );
        ok = false;
    }
    let mut rules = Vec::new();
    for (i, r) in raw.rules.iter().enumerate() {
        match rule(
            c,
            &format!("{field}.rules[{i}]"),
            r,
            trust_domain.as_deref(),
        ) {
            Some(rule) => rules.push(rule),
            None => ok = false,
        }
    }
    ok.then_some(MtlsConfig {
        rules,
        trust_domain,
    })
}

fn rule(c: &mut Checker<'_>, rf: &str, r: &RawRule, trust_domain: Option<&str>) -> Option<Rule> {
    let m = &r.matcher;
    let mut ok = true;
    let mut conditions = Vec::new();
    for (name, key, raw) in [
        (Name::SpiffeId, "spiffe_id", &m.spiffe_id),
        (Name::UriSan, "uri_san", &m.uri_san),
        (Name::DnsSan, "dns_san", &m.dns_san),
        (Name::EmailSan, "email_san", &m.email_san),
        (Name::SubjectCn, "subject_cn", &m.subject_cn),
    ] {
        let Some(raw) = raw else { continue };
        let at = format!("{rf}.match.{key}");
        match Pattern::parse(&raw.value) {
            Ok(p) => {
                if let (Name::SpiffeId, Some(td)) = (name, trust_domain)
                    && !spiffe_pattern_in(&p, td)
                {
                    c.error(Some(raw), at, format!("not in trust domain `{td}`"));
                    ok = false;
                }
                let p = if name == Name::DnsSan {
                    p.to_lowercase()
                } else {
                    p
                };
                conditions.push((name, p));
            }
            Err(e) => {
                c.error(Some(raw), at, e);
                ok = false;
            }
        }
    }
    if conditions.is_empty() {
        c.error::<()>(
            None,
            format!("{rf}.match"),
            "give at least one of spiffe_id, uri_san, dns_san, email_san, subject_cn",
        );
        ok = false;
    }
    let subject = Template::parse(&r.subject.value)
        .map_err(|e| c.error(Some(&r.subject), format!("{rf}.subject"), e))
        .ok();
    let tenant = match &r.tenant {
        None => Some(None),
        Some(t) => Template::parse(&t.value)
            .map(Some)
            .map_err(|e| c.error(Some(t), format!("{rf}.tenant"), e))
            .ok(),
    };
    match (ok, subject, tenant) {
        (true, Some(subject), Some(tenant)) => Some(Rule {
            conditions,
            subject,
            roles: r.roles.clone(),
            tenant,
        }),
        _ => None,
    }
}

/// Whether every SPIFFE ID a pattern can match lies in `trust_domain`.
fn spiffe_pattern_in(p: &Pattern, trust_domain: &str) -> bool {
    let root = format!("spiffe://{trust_domain}");
    match p {
        Pattern::Exact(e) => e == &root || e.starts_with(&format!("{root}/")),
        Pattern::Prefix(pre) => pre.starts_with(&format!("{root}/")),
        Pattern::Any => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let p = Pattern::parse("spiffe://example.org/ns/*").expect("pattern");
        assert!(p.matches("spiffe://example.org/ns/a"));
        assert!(p.matches("spiffe://example.org/ns/a/b"));
        assert!(!p.matches("spiffe://example.org/ns/"));
        assert!(!p.matches("spiffe://example.org/nsx"));
        let p = Pattern::parse("api-*").expect("pattern");
        assert!(p.matches("api-1") && !p.matches("api-") && !p.matches("web-1"));
        assert_eq!(Pattern::parse("*"), Ok(Pattern::Any));
        assert_eq!(Pattern::parse("a"), Ok(Pattern::Exact("a".into())));
        assert!(Pattern::parse("*.example.com").is_err());
        assert!(Pattern::parse("a**").is_err());
        assert!(Pattern::parse("").is_err());
        assert!(spiffe_pattern_in(
            &Pattern::parse("spiffe://td/x/*").expect("p"),
            "td"
        ));
        assert!(!spiffe_pattern_in(
            &Pattern::parse("spiffe://tdx/*").expect("p"),
            "td"
        ));
        assert!(!spiffe_pattern_in(
            &Pattern::parse("spiffe://td*").expect("p"),
            "td"
        ));
    }

    #[test]
    fn templates() {
        use Piece::*;
        assert_eq!(
            Template::parse("svc:{spiffe_id}/{cn}"),
            Ok(Template(vec![
                Text("svc:".into()),
                Value(Var::SpiffeId),
                Text("/".into()),
                Value(Var::Cn),
            ]))
        );
        assert_eq!(
            Template::parse("{dns}"),
            Ok(Template(vec![Value(Var::Dns)]))
        );
        assert!(Template::parse("{nope}").is_err());
        assert!(Template::parse("a{cn").is_err());
        assert!(Template::parse("a}b").is_err());
        assert!(Template::parse("").is_err());
    }
}
