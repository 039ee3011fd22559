//! Reads a spec file, parses YAML or JSON into a JSON value, and checks the version.

use std::io::Read;
use std::path::Path;

use serde_json::Value;
use serde_saphyr::{DuplicateKeyPolicy, budget, options};

use crate::{Spec, SpecError, index, refs};

/// The largest spec file (or text) accepted, in bytes: 64 MiB.
pub const MAX_SPEC_BYTES: u64 = 64 * 1024 * 1024;

/// Reads, parses and checks the spec at `path`.
///
/// YAML or JSON is chosen by content: text whose first non-blank character
/// is `{` is parsed as JSON (for exact JSON error positions), anything else
/// as YAML. Only references inside the document are supported; see
/// [`SpecError::RemoteRef`] and [`SpecError::ExternalRef`].
pub fn load(path: &Path) -> Result<Spec, SpecError> {
    let io = |source| SpecError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    if size > MAX_SPEC_BYTES {
        return Err(too_large(path, size));
    }
    let mut text = String::new();
    file.take(MAX_SPEC_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(io)?;
    parse(&text, path)
}

/// Parses and checks a spec from `text`; `source` names it in errors and in
/// [`Spec::source`].
pub fn parse(text: &str, source: &Path) -> Result<Spec, SpecError> {
    let size = u64::try_from(text.len()).unwrap_or(u64::MAX);
    if size > MAX_SPEC_BYTES {
        return Err(too_large(source, size));
    }
    let document = parse_document(text, source)?;
    if !document.is_object() {
        return Err(invalid(
            source,
            "",
            "the document must be an object (a mapping)",
        ));
    }
    let openapi_version = version(&document, source)?;
    let title = document
        .pointer("/info/title")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(source, "/info/title", "`info.title` must be a string"))?
        .to_owned();
    refs::check_all(&document, source)?;
    let operations = index::operations(&document, &openapi_version, source)?;
    let security_schemes = crate::scheme::schemes(&document, source)?;
    Ok(Spec {
        title,
        openapi_version,
        operations,
        security_schemes,
        document,
        source: source.to_path_buf(),
    })
}

/// An [`SpecError::Invalid`] for `source` at `pointer`.
pub(crate) fn invalid(source: &Path, pointer: &str, message: impl Into<String>) -> SpecError {
    SpecError::Invalid {
        path: source.to_path_buf(),
        pointer: pointer.to_owned(),
        message: message.into(),
    }
}

fn too_large(source: &Path, size: u64) -> SpecError {
    SpecError::TooLarge {
        path: source.to_path_buf(),
        size,
        limit: MAX_SPEC_BYTES,
    }
}

/// Parses JSON (when the text starts with `{`) or YAML into a JSON value.
fn parse_document(text: &str, source: &Path) -> Result<Value, SpecError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).map_err(|e| SpecError::Syntax {
            path: source.to_path_buf(),
            line: Some(e.line() as u64),
            column: Some(e.column() as u64),
            message: json_message(&e),
        });
    }
    let options = options! {
        // Big real-world specs (tens of MB, a million nodes) fit; alias bombs
        // and absurd nesting do not.
        budget: budget! {
            max_events: 8_000_000,
            max_nodes: 4_000_000,
            max_depth: 128,
            max_total_scalar_bytes: 64 * 1024 * 1024,
        },
        alias_limits: serde_saphyr::alias_limits! { max_total_replayed_events: 200_000 },
        duplicate_keys: DuplicateKeyPolicy::Error,
        // YAML 1.2 booleans only: `enum: [yes, no]` stays two strings.
        strict_booleans: true,
        with_snippet: false,
    };
    let value: Value = serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let location = e.location();
        SpecError::Syntax {
            path: source.to_path_buf(),
            line: location.map(|l| l.line()),
            column: location.map(|l| l.column()),
            message: yaml_message(&e),
        }
    })?;
    Ok(value)
}

/// serde-saphyr's message without its location suffix, control characters
/// escaped (the text can quote the input).
fn yaml_message(error: &serde_saphyr::Error) -> String {
    use serde_saphyr::MessageFormatter as _;
    let message = serde_saphyr::UserMessageFormatter.format_message(error);
    let mut out = String::with_capacity(message.len());
    for c in message.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// serde_json's message without its trailing ` at line L column C`.
fn json_message(error: &serde_json::Error) -> String {
    let full = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    full.strip_suffix(&suffix).unwrap_or(&full).to_owned()
}

/// The `openapi` version, if it is 3.0.x or 3.1.x.
fn version(document: &Value, source: &Path) -> Result<String, SpecError> {
    let path = source.to_path_buf();
    match document.get("openapi") {
        Some(Value::String(v)) if is_supported(v) => Ok(v.clone()),
        Some(other) => Err(SpecError::Version {
            path,
            found: Some(other.to_string()),
        }),
        None => match document.get("swagger") {
            Some(Value::String(found)) => Err(SpecError::Swagger {
                path,
                found: found.clone(),
            }),
            Some(found) => Err(SpecError::Swagger {
                path,
                found: found.to_string(),
            }),
            None => Err(SpecError::Version { path, found: None }),
        },
    }
}

/// `3.0.N` or `3.1.N` with a numeric patch.
fn is_supported(version: &str) -> bool {
    let patch = version
        .strip_prefix("3.0.")
        .or_else(|| version.strip_prefix("3.1."));
    patch.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests;
