//! XML external entities: DOCTYPE / ENTITY declarations, in values and in XML
//! bodies; and the XML body walker that inspects text and attribute values.
//!
//! In a value (a JSON string, a query value, an XML text node's escaped
//! markup), an `<!ENTITY` declaration, a DOCTYPE with an internal subset or a
//! `SYSTEM` identifier, XInclude and XSLT elements count. A DOCTYPE with only
//! a `PUBLIC` identifier (`<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML …">`, as
//! in stored HTML documents) counts only at `High`. In an XML body, any
//! declaration is refused: an API's XML never needs one.

mod walk;

use crate::{Detector, Inspector, Sensitivity, Views};

/// External-identifier schemes that fetch or read something.
const FETCHING: &[&[u8]] = &[
    b"file:", b"http:", b"https:", b"ftp:", b"php:", b"expect:", b"jar:", b"gopher:", b"netdoc:",
    b"data:", b"dict:", b"ldap:",
];

/// Whether a value carries a DOCTYPE or ENTITY declaration (or XInclude /
/// XSLT markup, which also make an XML processor read files).
pub(super) fn detect(v: &Views<'_>, level: Sensitivity) -> bool {
    let b = v.decoded.as_bytes();
    if !b.iter().any(|&c| c == b'<' || c == b'"' || c == b'\'') {
        return false;
    }
    let mut i = 0;
    while let Some(off) = b[i..].iter().position(|&c| c == b'<') {
        let p = i + off;
        i = p + 1;
        let rest = &b[i..];
        if starts_with_ci(rest, b"!entity") {
            return true;
        }
        if starts_with_ci(rest, b"!doctype") && doctype(&rest[8..], level) {
            return true;
        }
        if level >= Sensitivity::Medium
            && [
                b"!element".as_slice(),
                b"!attlist",
                b"!notation",
                b"xi:include",
                b"xsl:",
            ]
            .iter()
            .any(|k| starts_with_ci(rest, k))
        {
            return true;
        }
    }
    level >= Sensitivity::Medium && system_identifier(b)
}

/// Checks an XML document: declarations first, then every text node and
/// attribute value through [`Inspector::value`] with `Place::Xml`.
pub(super) fn document(inspector: &Inspector, body: &[u8]) -> Option<(Detector, String)> {
    let text = String::from_utf8_lossy(body);
    walk::Walker::new(inspector).run(&text)
}

/// Whether the rest of a DOCTYPE (after `<!DOCTYPE`) declares anything: an
/// internal subset (`[`), a `SYSTEM` identifier, or at `High` any identifier.
fn doctype(rest: &[u8], level: Sensitivity) -> bool {
    let end = rest.iter().position(|&c| c == b'>').unwrap_or(rest.len());
    let decl = &rest[..end];
    if decl.contains(&b'[') || contains_ci(decl, b"system") {
        return true;
    }
    level >= Sensitivity::High
}

/// `SYSTEM "file:/…"` outside a declaration (a fragment of one). XML
/// keywords are case-sensitive, so prose "the system 'file: …'" is not one.
fn system_identifier(b: &[u8]) -> bool {
    let mut i = 0;
    while let Some(off) = b[i..].windows(6).position(|w| w == b"SYSTEM") {
        let p = i + off + 6;
        i = p;
        let rest = &b[p..];
        let blanks = rest.iter().take_while(|c| c.is_ascii_whitespace()).count();
        if blanks == 0 {
            continue;
        }
        let rest = &rest[blanks..];
        if let Some((&q, lit)) = rest.split_first() {
            let fetches = FETCHING.iter().any(|s| {
                starts_with_ci(lit, s)
                    && lit
                        .get(s.len())
                        .is_some_and(|c| *c == b'/' || *s == b"data:")
            });
            if (q == b'"' || q == b'\'') && fetches {
                return true;
            }
        }
    }
    false
}

fn starts_with_ci(t: &[u8], prefix: &[u8]) -> bool {
    t.len() >= prefix.len() && t[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    find_ci(hay, needle).is_some()
}

fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests;
