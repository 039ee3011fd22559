//! `Content-Digest` (RFC 9530) checked against the received body.

use aws_lc_rs::digest::{self, Algorithm, SHA256, SHA512};
use http::HeaderMap;
use sfv::{Dictionary, ListEntry, Parser};

use crate::authn::Failure;

/// The field's name.
pub(super) const CONTENT_DIGEST: &str = "content-digest";

/// Checks the `Content-Digest` field against `body`.
///
/// - Every listed algorithm we support (`sha-256`, `sha-512`) must match; others
///   are ignored.
/// - A mismatch, or a field that lists no supported algorithm, is
///   [`Failure::Incomplete`] (the body is not the one the signature vouches for).
/// - No field: accepted for an empty body, else `Incomplete`.
/// - A field that is not a dictionary of byte sequences is `Malformed`.
pub fn check_digest(headers: &HeaderMap, body: &[u8]) -> Result<(), Failure> {
    let mut text = String::new();
    for (i, value) in headers.get_all(CONTENT_DIGEST).iter().enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        text.push_str(value.to_str().map_err(|_| Failure::Malformed)?);
    }
    if text.is_empty() {
        return if body.is_empty() {
            Ok(())
        } else {
            Err(Failure::Incomplete)
        };
    }
    let dict: Dictionary = Parser::new(&text)
        .parse_dictionary()
        .map_err(|_| Failure::Malformed)?;
    let mut checked = 0;
    for (name, entry) in &dict {
        let ListEntry::Item(item) = entry else {
            return Err(Failure::Malformed);
        };
        let expected = item
            .bare_item
            .as_byte_sequence()
            .ok_or(Failure::Malformed)?;
        let algorithm: &'static Algorithm = match name.as_str() {
            "sha-256" => &SHA256,
            "sha-512" => &SHA512,
            _ => continue,
        };
        if digest::digest(algorithm, body).as_ref() != expected {
            return Err(Failure::Incomplete);
        }
        checked += 1;
    }
    if checked == 0 {
        return Err(Failure::Incomplete);
    }
    Ok(())
}
