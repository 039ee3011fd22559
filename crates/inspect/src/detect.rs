//! The detectors, and the order they run in.

mod cmdi;
mod crlf;
mod jndi;
mod ldap;
mod nosql;
mod proto;
mod sqli;
mod ssrf;
mod ssti;
mod traversal;
mod xss;
mod xxe;

use crate::normalize::ByteSet;
use crate::{Detector, Inspector, Sensitivity, Settings, Views};

/// The bytes without which a detector cannot fire at Low or Medium (every one
/// of its patterns needs one of them; non-ASCII values always run it). The
/// detectors that read words (SQL, commands) and traversal (which decodes
/// base64) always run. Kept true by the unit tests, the corpus test and the
/// `detectors` fuzz target.
const JNDI_NEEDS: ByteSet = ByteSet::ascii(b"$");
const CRLF_NEEDS: ByteSet = ByteSet::ascii(b"\r\n%");
const XXE_NEEDS: ByteSet = ByteSet::ascii(b"<\"'");
const XSS_NEEDS: ByteSet = ByteSet::ascii(b"<:=()`[]+\\");
const SSTI_NEEDS: ByteSet = ByteSet::ascii(b"{[@<");
const SSRF_NEEDS: ByteSet = ByteSet::ascii(b":/\\");
const NOSQL_NEEDS: ByteSet = ByteSet::ascii(b"$.'\"|&{;");
const LDAP_NEEDS: ByteSet = ByteSet::ascii(b"()");
const PROTO_NEEDS: ByteSet = ByteSet::ascii(b"_.[");

/// Builds every detector's automata now, so that the first request does not pay.
pub(crate) fn warm() {
    sqli::warm();
    xss::warm();
    cmdi::warm();
    traversal::warm();
    ssrf::warm();
    ssti::warm();
    ldap::warm();
    jndi::warm();
    nosql::warm();
    proto::warm();
}

/// Whether a value is words only: letters, digits, spaces, `-`, `_` and `,`,
/// with at least one space (a run without spaces may be base64, which the
/// traversal detector decodes). Nothing in it decodes to anything else.
fn words_only(raw: &str) -> bool {
    let mut space = false;
    for b in raw.bytes() {
        match b {
            b' ' => space = true,
            b'-' | b'_' | b',' => {}
            _ if b.is_ascii_alphanumeric() => {}
            _ => return false,
        }
    }
    space
}

/// Whether a JSON key nested directly under `parent` pollutes a prototype
/// (`{"constructor": {"prototype": …}}`).
pub(crate) fn nested_key(parent: &str, key: &str, s: Settings) -> bool {
    s.detectors.contains(Detector::PrototypePollution) && proto::nested_key(parent, key)
}

/// The first detector (cheapest and most specific first) that fires on a value.
pub(crate) fn run(v: &Views<'_>, s: Settings) -> Option<Detector> {
    let on = |d: Detector| s.detectors.contains(d);
    let level = s.sensitivity;
    if words_only(v.raw) {
        // Prose: only the detectors that read words can fire; the others need
        // markup, braces, a `$`, a line break, a path or URL character, or
        // parentheses, none of which such a value has.
        if on(Detector::Sqli) && sqli::detect(v, level) {
            return Some(Detector::Sqli);
        }
        if on(Detector::Cmdi) && cmdi::detect(v, level) {
            return Some(Detector::Cmdi);
        }
        if on(Detector::PrototypePollution) && proto::detect(v, level) {
            return Some(Detector::PrototypePollution);
        }
        return None;
    }
    // High reads weaker signals (bare hosts …) that need no special byte.
    let may = |needs: ByteSet| level == Sensitivity::High || v.bytes.may_have(needs);
    if on(Detector::Jndi) && may(JNDI_NEEDS) && jndi::detect(v, level) {
        return Some(Detector::Jndi);
    }
    if on(Detector::Crlf) && may(CRLF_NEEDS) && crlf::detect(v, level) {
        return Some(Detector::Crlf);
    }
    if on(Detector::Xxe) && may(XXE_NEEDS) && xxe::detect(v, level) {
        return Some(Detector::Xxe);
    }
    if on(Detector::Traversal) && traversal::detect(v, level) {
        return Some(Detector::Traversal);
    }
    if on(Detector::Xss) && may(XSS_NEEDS) && xss::detect(v, level) {
        return Some(Detector::Xss);
    }
    if on(Detector::Sqli) && sqli::detect(v, level) {
        return Some(Detector::Sqli);
    }
    if on(Detector::Cmdi) && cmdi::detect(v, level) {
        return Some(Detector::Cmdi);
    }
    if on(Detector::Ssti) && may(SSTI_NEEDS) && ssti::detect(v, level) {
        return Some(Detector::Ssti);
    }
    if on(Detector::Ssrf) && may(SSRF_NEEDS) && ssrf::detect(v, level) {
        return Some(Detector::Ssrf);
    }
    if on(Detector::Nosql) && may(NOSQL_NEEDS) && nosql::detect(v, level) {
        return Some(Detector::Nosql);
    }
    if on(Detector::Ldap) && may(LDAP_NEEDS) && ldap::detect(v, level) {
        return Some(Detector::Ldap);
    }
    if on(Detector::PrototypePollution) && may(PROTO_NEEDS) && proto::detect(v, level) {
        return Some(Detector::PrototypePollution);
    }
    None
}

/// Checks a JSON object key (before it is checked as a value).
pub(crate) fn key(key: &str, s: Settings) -> Option<Detector> {
    if s.detectors.contains(Detector::Nosql) && nosql::operator_key(key) {
        return Some(Detector::Nosql);
    }
    if s.detectors.contains(Detector::PrototypePollution) && proto::key(key) {
        return Some(Detector::PrototypePollution);
    }
    None
}

/// Checks an XML document (see [`Inspector::xml`]).
pub(crate) fn xml(inspector: &Inspector, body: &[u8]) -> Option<(Detector, String)> {
    xxe::document(inspector, body)
}
