//! Response protection: `writeOnly` and (optionally) undocumented properties
//! removed, sensitive data redacted, the size bounded, and a `Content-Type`
//! that contradicts the spec refused.
//!
//! Two steps on the way back, around the response-ownership check:
//! - [`Protection::check_head`], on the head alone: a `Content-Type` the spec
//!   contradicts, or a declared `Content-Length` over the limit, is refused
//!   before a byte of the body is read;
//! - [`Protection::body`]: when something must read the JSON (a `writeOnly`
//!   property in the operation's response schemas, `strip_undocumented`,
//!   redaction), the body is read whole within the limit, edited and
//!   re-encoded; otherwise it streams untouched, cut off past the limit.
//!
//! Refusals follow the API's mode (monitor: recorded, the response passes);
//! removal and redaction apply in both modes: they never refuse anything, and
//! a monitored API must not leak what its spec says never leaves.

mod apply;
mod capped;
mod redact;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use portcullis_inspect::redact::{Kind, Redactor};
use portcullis_openapi::validate::Contract;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::config::Checker;
use crate::config::units::Bytes;
use crate::validate::Contracts;

pub use apply::{MAX_RECORDED_FIELDS, Scope};
pub use redact::Action;
use redact::{FieldPattern, Redaction};

/// The response size limit when none is configured.
pub const DEFAULT_MAX_BYTES: u64 = 8 << 20;

/// `apis[].responses` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawResponses {
    /// Remove `writeOnly` properties (default true).
    #[serde(default)]
    write_only: Option<bool>,
    /// Remove properties the response schema does not declare (default false).
    #[serde(default)]
    strip_undocumented: Option<bool>,
    /// Per-operation overrides, by `operationId`.
    #[serde(default)]
    operations: BTreeMap<String, RawOperation>,
    /// Sensitive data masked or removed.
    #[serde(default)]
    redact: Option<RawRedact>,
    /// Largest response body (default 8 MiB).
    #[serde(default)]
    max_bytes: Option<Spanned<Bytes>>,
    /// `enforce` (default) or `off`.
    #[serde(default)]
    content_type: Option<Spanned<String>>,
}

/// `apis[].responses.operations.<operationId>`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOperation {
    #[serde(default)]
    strip_undocumented: Option<bool>,
}

/// `apis[].responses.redact`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRedact {
    /// Built-in detectors: `card`, `iban`, `ssn`, `email`, `secret`.
    #[serde(default)]
    kinds: Vec<Spanned<String>>,
    /// JSON pointers, `*` for any array index or object key.
    #[serde(default)]
    fields: Vec<Spanned<String>>,
    /// Named regular expressions (the `regex` crate's linear-time syntax).
    #[serde(default)]
    patterns: BTreeMap<String, Spanned<String>>,
    /// `mask` (default) or `remove`.
    #[serde(default)]
    action: Option<Spanned<String>>,
}

/// What one operation's responses need.
#[derive(Debug)]
struct OperationRules {
    contract: Arc<Contract>,
    strip_undocumented: bool,
    /// Its JSON must be read (so the upstream is asked for it uncompressed).
    needs_json: bool,
}

/// An API's compiled response protection.
#[derive(Debug)]
pub struct Protection {
    write_only: bool,
    /// Route operation id → its rules (operations of the spec only).
    operations: HashMap<Arc<str>, OperationRules>,
    redaction: Option<Redaction>,
    max_bytes: u64,
    content_type: bool,
}

impl Protection {
    /// Whether responses of `operation` are read as JSON: the pipeline then
    /// asks the upstream for an uncompressed response (`Accept-Encoding` removed).
    pub fn needs_json(&self, operation: &str) -> bool {
        self.redaction.is_some() || self.operations.get(operation).is_some_and(|o| o.needs_json)
    }

    /// The response body limit, in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }
}

/// Compiles an API's response protection: `None` when there is nothing to do
/// (no `responses:` and no spec).
pub(crate) fn build(
    c: &mut Checker<'_>,
    field: &str,
    raw: Option<&RawResponses>,
    contracts: Option<&Contracts>,
) -> Option<Arc<Protection>> {
    if raw.is_none() && contracts.is_none() {
        return None;
    }
    let default = RawResponses::default();
    let raw = raw.unwrap_or(&default);
    let field = format!("{field}.responses");
    let write_only = raw.write_only.unwrap_or(true);
    let strip_undocumented = raw.strip_undocumented.unwrap_or(false);
    let content_type = match raw.content_type.as_ref().map(|s| s.value.as_str()) {
        None | Some("enforce") => true,
        Some("off") => false,
        Some(other) => {
            c.error(
                raw.content_type.as_ref(),
                format!("{field}.content_type"),
                format!("`{other}` is not enforce or off"),
            );
            true
        }
    };
    let max_bytes = match &raw.max_bytes {
        None => DEFAULT_MAX_BYTES,
        Some(b) if b.value.0 == 0 => {
            c.error(Some(b), format!("{field}.max_bytes"), "must be positive");
            DEFAULT_MAX_BYTES
        }
        Some(b) => b.value.0,
    };
    let redaction = raw
        .redact
        .as_ref()
        .and_then(|r| redaction(c, &format!("{field}.redact"), r));

    let mut operations = HashMap::new();
    if let Some(contracts) = contracts {
        for (id, contract) in &contracts.by_operation {
            let strip = raw
                .operations
                .get(&**id)
                .and_then(|o| o.strip_undocumented)
                .unwrap_or(strip_undocumented);
            let declares = write_only && contract.responses().has_write_only();
            operations.insert(
                id.clone(),
                OperationRules {
                    contract: contract.clone(),
                    strip_undocumented: strip,
                    needs_json: strip || declares,
                },
            );
        }
        for id in raw.operations.keys() {
            if !contracts.by_operation.contains_key(id.as_str()) {
                c.error::<()>(
                    None,
                    format!("{field}.operations.{id}"),
                    format!("the spec has no operation `{id}`"),
                );
            }
        }
    } else if !raw.operations.is_empty() || raw.strip_undocumented.is_some() {
        c.warn::<()>(
            None,
            format!("{field}.operations"),
            "the API has no compiled spec: writeOnly, undocumented-property and \
             content-type rules do not apply (size limit and redaction still do)",
        );
    }
    Some(Arc::new(Protection {
        write_only,
        operations,
        redaction,
        max_bytes,
        content_type,
    }))
}

/// Compiles `redact:`; `None` (with errors recorded) when it is invalid, or
/// when it names nothing to redact.
fn redaction(c: &mut Checker<'_>, field: &str, raw: &RawRedact) -> Option<Redaction> {
    let mut ok = true;
    let mut kinds = Vec::new();
    for (i, k) in raw.kinds.iter().enumerate() {
        match Kind::from_name(&k.value) {
            Some(kind) if !kinds.contains(&kind) => kinds.push(kind),
            Some(_) => {}
            None => {
                ok = false;
                let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                c.error(
                    Some(k),
                    format!("{field}.kinds[{i}]"),
                    format!("`{}` is not one of {}", k.value, names.join(", ")),
                );
            }
        }
    }
    let mut fields = Vec::new();
    for (i, f) in raw.fields.iter().enumerate() {
        match FieldPattern::parse(&f.value) {
            Ok(p) => fields.push(p),
            Err(e) => {
                ok = false;
                c.error(Some(f), format!("{field}.fields[{i}]"), e);
            }
        }
    }
    let mut patterns = Vec::new();
    let mut names = HashSet::new();
    for (name, p) in &raw.patterns {
        if Kind::from_name(name).is_some() || !names.insert(name.as_str()) || name.is_empty() {
            ok = false;
            c.error(
                Some(p),
                format!("{field}.patterns.{name}"),
                "a pattern needs its own name (not a built-in kind's)",
            );
        }
        patterns.push((name.clone(), p.value.clone()));
    }
    let action = match raw.action.as_ref().map(|a| a.value.as_str()) {
        None | Some("mask") => Action::Mask,
        Some("remove") => Action::Remove,
        Some(other) => {
            ok = false;
            c.error(
                raw.action.as_ref(),
                format!("{field}.action"),
                format!("`{other}` is not mask or remove"),
            );
            Action::Mask
        }
    };
    let redactor = match Redactor::new(&kinds, &patterns) {
        Ok(r) => r,
        Err(bad) => {
            c.error(
                raw.patterns.get(&bad.name),
                format!("{field}.patterns.{}", bad.name),
                format!("not a valid regular expression: {}", bad.reason),
            );
            return None;
        }
    };
    if !ok {
        return None;
    }
    if kinds.is_empty() && patterns.is_empty() && fields.is_empty() {
        c.warn::<()>(
            None,
            field.to_owned(),
            "names no kinds, fields or patterns: nothing is redacted",
        );
        return None;
    }
    let scan = !(kinds.is_empty() && patterns.is_empty());
    Some(Redaction {
        redactor: scan.then_some(redactor),
        fields,
        action,
    })
}
