//! `Signature-Input` and `Signature` (RFC 9421 §4) parsed into the one signature we check.
//!
//! Both fields are RFC 8941 dictionaries, parsed with `sfv`. The `@signature-params`
//! line of the signature base must be the member's value *exactly as received*, which
//! `sfv` does not keep, so [`raw_member`] finds that text with a linear scan and the
//! result is parsed again and compared with `sfv`'s, so the two can never disagree.

use http::HeaderMap;
use sfv::{BareItem, Dictionary, InnerList, ListEntry, Parser};

use crate::authn::Failure;

/// The derived components (RFC 9421 §2.2) this verifier can compute for a request.
pub(super) const DERIVED: [&str; 7] = [
    "@method",
    "@target-uri",
    "@authority",
    "@scheme",
    "@request-target",
    "@path",
    "@query",
];

/// Longest `nonce` accepted (it is kept in the replay cache).
const MAX_NONCE: usize = 128;

/// Most covered components accepted (keeps the duplicate check cheap).
const MAX_COMPONENTS: usize = 64;

/// One signature as received: what it covers, its parameters and its bytes.
#[derive(Debug)]
pub(super) struct Received {
    /// Covered component names, in order (no component parameters: none are supported).
    pub(super) components: Vec<String>,
    /// The label's `Signature-Input` member value, exactly as received.
    pub(super) params_text: String,
    /// `created`.
    pub(super) created: Option<u64>,
    /// `expires`.
    pub(super) expires: Option<u64>,
    /// `nonce`.
    pub(super) nonce: Option<String>,
    /// `alg`.
    pub(super) alg: Option<String>,
    /// `keyid`.
    pub(super) keyid: Option<String>,
    /// The `Signature` member's byte sequence.
    pub(super) signature: Vec<u8>,
}

/// Whether `name` is a component this verifier supports: a derived component from
/// [`DERIVED`] or a lowercase HTTP field name.
pub(super) fn component_supported(name: &str) -> bool {
    if name.starts_with('@') {
        return DERIVED.contains(&name);
    }
    !name.is_empty()
        && http::HeaderName::from_bytes(name.as_bytes()).is_ok_and(|h| h.as_str() == name)
}

/// Finds and parses the signature to check.
///
/// `label`: the configured label, else the first member whose `keyid` satisfies
/// `known`. No signature fields → `Missing`; the configured label absent → `Missing`;
/// no member with a known key → `UnknownKey`; anything unparsable or unsupported →
/// `Malformed`.
pub(super) fn parse(
    headers: &HeaderMap,
    label: Option<&str>,
    known: impl Fn(&str) -> bool,
) -> Result<Received, Failure> {
    let input = combined(headers, "signature-input")?;
    let signature = combined(headers, "signature")?;
    let (input, signature) = match (input, signature) {
        (None, None) => return Err(Failure::Missing),
        (Some(i), Some(s)) => (i, s),
        _ => return Err(Failure::Malformed),
    };
    let inputs: Dictionary = Parser::new(&input)
        .parse_dictionary()
        .map_err(|_| Failure::Malformed)?;
    let mut chosen = None;
    for (name, entry) in &inputs {
        let ListEntry::InnerList(list) = entry else {
            return Err(Failure::Malformed);
        };
        let wanted = match label {
            Some(l) => name.as_str() == l,
            None => string_param(list, "keyid")?.is_some_and(&known),
        };
        if wanted {
            chosen = Some((name.as_str(), list));
            break;
        }
    }
    let Some((name, list)) = chosen else {
        return Err(if label.is_some() {
            Failure::Missing
        } else {
            Failure::UnknownKey
        });
    };

    let params_text = raw_member(&input, name).ok_or(Failure::Malformed)?;
    let reparsed: Vec<ListEntry> = Parser::new(params_text)
        .parse_list()
        .map_err(|_| Failure::Malformed)?;
    if !matches!(reparsed.as_slice(), [ListEntry::InnerList(l)] if l == list) {
        return Err(Failure::Malformed);
    }

    let signatures: Dictionary = Parser::new(&signature)
        .parse_dictionary()
        .map_err(|_| Failure::Malformed)?;
    let bytes = match signatures.get(name) {
        Some(ListEntry::Item(item)) => item
            .bare_item
            .as_byte_sequence()
            .ok_or(Failure::Malformed)?
            .to_vec(),
        _ => return Err(Failure::Malformed),
    };

    let nonce = string_param(list, "nonce")?.map(str::to_owned);
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_NONCE) {
        return Err(Failure::Malformed);
    }
    Ok(Received {
        components: components(list)?,
        params_text: params_text.to_owned(),
        created: time_param(list, "created")?,
        expires: time_param(list, "expires")?,
        nonce,
        alg: string_param(list, "alg")?.map(str::to_owned),
        keyid: string_param(list, "keyid")?.map(str::to_owned),
        signature: bytes,
    })
}

/// The covered components: plain strings, supported, each once.
fn components(list: &InnerList) -> Result<Vec<String>, Failure> {
    if list.items.len() > MAX_COMPONENTS {
        return Err(Failure::Malformed);
    }
    let mut out: Vec<String> = Vec::with_capacity(list.items.len());
    for item in &list.items {
        let name = item
            .bare_item
            .as_string()
            .ok_or(Failure::Malformed)?
            .as_str();
        // Component parameters (`;sf`, `;key`, `;bs`, `;req`, `;tr`, `;name`) are not
        // implemented: refusing them is safer than signing something else.
        if !item.params.is_empty() || !component_supported(name) || out.iter().any(|c| c == name) {
            return Err(Failure::Malformed);
        }
        out.push(name.to_owned());
    }
    Ok(out)
}

/// A string parameter of the inner list (`keyid`, `nonce`, `alg`, `tag`).
fn string_param<'a>(list: &'a InnerList, key: &str) -> Result<Option<&'a str>, Failure> {
    match list.params.get(key) {
        None => Ok(None),
        Some(BareItem::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(Failure::Malformed),
    }
}

/// A non-negative integer parameter (`created`, `expires`).
fn time_param(list: &InnerList, key: &str) -> Result<Option<u64>, Failure> {
    match list.params.get(key) {
        None => Ok(None),
        Some(BareItem::Integer(i)) => u64::try_from(i64::from(*i))
            .map(Some)
            .map_err(|_| Failure::Malformed),
        Some(_) => Err(Failure::Malformed),
    }
}

/// All lines of a field joined with `", "` (how RFC 8941 combines them); `None` when
/// absent. A non-ASCII value is `Malformed` (structured fields are ASCII).
fn combined(headers: &HeaderMap, name: &str) -> Result<Option<String>, Failure> {
    let mut out: Option<String> = None;
    for value in headers.get_all(name) {
        let text = value.to_str().map_err(|_| Failure::Malformed)?;
        match &mut out {
            None => out = Some(text.to_owned()),
            Some(s) => {
                s.push_str(", ");
                s.push_str(text);
            }
        }
    }
    Ok(out)
}

/// The value text (after `=`) of the last dictionary member named `name` in `field`,
/// trimmed of surrounding whitespace; `None` if there is none or it has no value.
///
/// `field` must already have parsed as a dictionary: members are then separated by
/// commas outside strings and parentheses, which one pass finds.
fn raw_member<'a>(field: &'a str, name: &str) -> Option<&'a str> {
    let mut found = None;
    for member in split_members(field) {
        let member = member.trim_matches([' ', '\t']);
        let end = member.find(['=', ';']).unwrap_or(member.len());
        if &member[..end] == name {
            found = member[end..].strip_prefix('=');
        }
    }
    found
}

/// Splits a structured dictionary or list at its top-level commas.
fn split_members(field: &str) -> impl Iterator<Item = &str> {
    let bytes = field.as_bytes();
    let mut cuts = Vec::new();
    let (mut in_string, mut escaped, mut depth) = (false, false, 0usize);
    for (i, b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => cuts.push(i),
            _ => {}
        }
    }
    let mut start = 0;
    cuts.push(field.len());
    cuts.into_iter().map(move |cut| {
        let part = &field[start..cut];
        start = (cut + 1).min(field.len());
        part
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_members_are_found_outside_strings_and_lists() {
        let field = r#"a=("x" "y,z");keyid="k,1", sig1=("@method");created=1 , b"#;
        assert_eq!(raw_member(field, "a"), Some(r#"("x" "y,z");keyid="k,1""#));
        assert_eq!(raw_member(field, "sig1"), Some(r#"("@method");created=1"#));
        assert_eq!(raw_member(field, "b"), None);
        assert_eq!(raw_member(field, "c"), None);
        // The last duplicate wins, as in RFC 8941 parsing.
        assert_eq!(raw_member("a=(), a=(\"x\")", "a"), Some("(\"x\")"));
        assert_eq!(raw_member(r#"a=("\"),"), b=()"#, "b"), Some("()"));
    }

    #[test]
    fn supported_components() {
        assert!(component_supported("@method"));
        assert!(component_supported("content-digest"));
        assert!(!component_supported("Content-Type"));
        assert!(!component_supported("@status"));
        assert!(!component_supported("@query-param"));
        assert!(!component_supported("@signature-params"));
        assert!(!component_supported(""));
        assert!(!component_supported("a b"));
    }
}
