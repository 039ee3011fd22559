//! The names and facts of a client certificate that mapping rules look at.

use aws_lc_rs::digest::{SHA256, digest};
use x509_parser::extensions::GeneralName;
use x509_parser::parse_x509_certificate;

use crate::authn::Failure;

/// What a leaf certificate says about its holder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Facts {
    /// The one `spiffe://` URI SAN, if any.
    pub(super) spiffe_id: Option<String>,
    /// Every URI SAN (the SPIFFE ID included).
    pub(super) uris: Vec<String>,
    /// Every DNS SAN, lowercased.
    pub(super) dns: Vec<String>,
    /// Every email (rfc822Name) SAN.
    pub(super) emails: Vec<String>,
    /// The subject's common name.
    pub(super) cn: Option<String>,
    /// The serial number, lowercase hex.
    pub(super) serial: String,
    /// SHA-256 over the DER, lowercase hex.
    pub(super) fingerprint: String,
    /// `notBefore`, seconds since the epoch.
    pub(super) not_before: i64,
    /// `notAfter`, seconds since the epoch.
    pub(super) not_after: i64,
}

/// Reads a DER certificate. Anything unparsable, trailing bytes, a SAN that is not
/// valid text, more than one common name or SPIFFE ID, or an invalid SPIFFE ID is
/// `Malformed`: an ambiguous identity is refused rather than guessed.
pub(super) fn parse(der: &[u8]) -> Result<Facts, Failure> {
    let (rest, cert) = parse_x509_certificate(der).map_err(|_| Failure::Malformed)?;
    if !rest.is_empty() {
        return Err(Failure::Malformed);
    }
    let mut facts = Facts {
        serial: crate::hex(cert.raw_serial()),
        fingerprint: crate::hex(digest(&SHA256, der).as_ref()),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        ..Facts::default()
    };
    let san = cert
        .subject_alternative_name()
        .map_err(|_| Failure::Malformed)?;
    for name in san.iter().flat_map(|s| s.value.general_names.iter()) {
        match name {
            GeneralName::URI(u) => {
                if is_spiffe(u) {
                    if facts.spiffe_id.is_some() || !valid_spiffe_id(u) {
                        return Err(Failure::Malformed);
                    }
                    facts.spiffe_id = Some((*u).to_owned());
                }
                facts.uris.push((*u).to_owned());
            }
            GeneralName::DNSName(d) => facts.dns.push(d.to_ascii_lowercase()),
            GeneralName::RFC822Name(e) => facts.emails.push((*e).to_owned()),
            GeneralName::Invalid(..) => return Err(Failure::Malformed),
            _ => {}
        }
    }
    let mut cns = cert.subject().iter_common_name();
    if let Some(cn) = cns.next() {
        facts.cn = Some(cn.as_str().map_err(|_| Failure::Malformed)?.to_owned());
    }
    if cns.next().is_some() {
        return Err(Failure::Malformed);
    }
    Ok(facts)
}

/// Whether a URI is of the `spiffe` scheme (any case: a mis-cased one is then
/// refused by [`valid_spiffe_id`] rather than passed as a plain URI).
fn is_spiffe(uri: &str) -> bool {
    uri.get(..9)
        .is_some_and(|s| s.eq_ignore_ascii_case("spiffe://"))
}

/// Whether `id` is a valid SPIFFE ID: `spiffe://` + a trust domain of `[a-z0-9._-]`
/// + an optional path of non-empty segments of `[A-Za-z0-9._-]`, none `.` or `..`.
pub(super) fn valid_spiffe_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("spiffe://") else {
        return false;
    };
    let (domain, path) = match rest.find('/') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let domain_ok = !domain.is_empty()
        && domain
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    let path_ok = path.is_none_or(|p| {
        p.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        })
    });
    domain_ok && path_ok
}

/// The trust domain of a valid SPIFFE ID.
pub(super) fn trust_domain(id: &str) -> Option<&str> {
    let rest = id.strip_prefix("spiffe://")?;
    Some(rest.split('/').next().unwrap_or(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spiffe_ids() {
        assert!(valid_spiffe_id("spiffe://example.org"));
        assert!(valid_spiffe_id("spiffe://example.org/ns/prod/sa/api"));
        assert!(!valid_spiffe_id("spiffe://Example.org/x"));
        assert!(!valid_spiffe_id("spiffe://example.org/"));
        assert!(!valid_spiffe_id("spiffe://example.org/a//b"));
        assert!(!valid_spiffe_id("spiffe://example.org/a/../b"));
        assert!(!valid_spiffe_id("spiffe://example.org/a?b"));
        assert!(!valid_spiffe_id("spiffe:///a"));
        assert!(!valid_spiffe_id("https://example.org"));
        assert_eq!(trust_domain("spiffe://td/a/b"), Some("td"));
        assert_eq!(trust_domain("spiffe://td"), Some("td"));
    }

    #[test]
    fn garbage_is_malformed() {
        assert_eq!(parse(b"not a certificate"), Err(Failure::Malformed));
        assert_eq!(parse(&[]), Err(Failure::Malformed));
    }
}
