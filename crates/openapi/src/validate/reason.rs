//! Violations from `jsonschema` errors, in our own words.
//!
//! The `jsonschema` messages quote the instance (the client's value), so they
//! are never used: each reason is written here from the error kind and the
//! schema's own limits. Pointers are built from the instance path, with any
//! segment that is not a plain short name replaced by `*` (a property name
//! chosen by the client is client text too).

use jsonschema::error::ValidationErrorKind as Kind;
use jsonschema::{JsonType, ValidationError};

use super::Violation;
use super::schema::READ_ONLY_MESSAGE;

/// The longest client-chosen name kept in a pointer.
const MAX_NAME: usize = 32;

/// Appends the violation(s) for one error, pointers rooted at `prefix`.
pub(crate) fn push(error: &ValidationError<'_>, prefix: &str, out: &mut Vec<Violation>) {
    let pointer = format!("{prefix}{}", safe_pointer(error.instance_path().as_str()));
    match error.kind() {
        Kind::AdditionalProperties { unexpected } | Kind::UnevaluatedProperties { unexpected } => {
            for name in unexpected {
                let violation = if is_plain(name) {
                    Violation {
                        pointer: format!("{pointer}/{name}"),
                        reason: "is not allowed by the schema".into(),
                    }
                } else {
                    Violation {
                        pointer: pointer.clone(),
                        reason: "has a property the schema does not allow".into(),
                    }
                };
                if !out.contains(&violation) {
                    out.push(violation);
                }
            }
        }
        Kind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            let pointer = if is_plain(name) {
                format!("{pointer}/{name}")
            } else {
                pointer
            };
            out.push(Violation {
                pointer,
                reason: "is required".into(),
            });
        }
        kind => out.push(Violation {
            pointer,
            reason: describe(kind),
        }),
    }
}

/// The reason for an error kind (never the instance value).
fn describe(kind: &Kind) -> String {
    match kind {
        Kind::Type { kind } => {
            let types: Vec<JsonType> = match kind {
                jsonschema::error::TypeKind::Single(t) => vec![*t],
                jsonschema::error::TypeKind::Multiple(set) => set.iter().collect(),
            };
            match types.as_slice() {
                [one] => format!("must be {}", article(*one)),
                many => {
                    let names: Vec<String> = many.iter().map(|t| t.to_string()).collect();
                    format!("must be of type {}", names.join(" or "))
                }
            }
        }
        Kind::Enum { .. } => "must be one of the allowed values".into(),
        Kind::Constant { .. } => "must be the value the schema requires".into(),
        Kind::Minimum { limit } => format!("must be at least {limit}"),
        Kind::Maximum { limit } => format!("must be at most {limit}"),
        Kind::ExclusiveMinimum { limit } => format!("must be greater than {limit}"),
        Kind::ExclusiveMaximum { limit } => format!("must be less than {limit}"),
        Kind::MultipleOf { multiple_of } => format!("must be a multiple of {multiple_of}"),
        Kind::MinLength { limit } => format!("must be at least {limit} characters long"),
        Kind::MaxLength { limit } => format!("must be at most {limit} characters long"),
        Kind::MinItems { limit } => format!("must have at least {limit} items"),
        Kind::MaxItems { limit } => format!("must have at most {limit} items"),
        Kind::MinProperties { limit } => format!("must have at least {limit} properties"),
        Kind::MaxProperties { limit } => format!("must have at most {limit} properties"),
        Kind::UniqueItems => "must not contain duplicate items".into(),
        Kind::Pattern { pattern } => format!("must match the pattern `{pattern}`"),
        Kind::Format { format } => format!("must be a valid {format}"),
        Kind::FalseSchema => "is not allowed".into(),
        Kind::Not { .. } => "matches a schema it must not match".into(),
        Kind::AnyOf { .. } | Kind::OneOfNotValid { .. } => {
            "must match one of the schemas the spec allows".into()
        }
        Kind::OneOfMultipleValid { .. } => {
            "must match exactly one of the allowed schemas, but matches several".into()
        }
        Kind::Contains => "must contain an item the schema requires".into(),
        Kind::PropertyNames { .. } => "has a property name the schema does not allow".into(),
        Kind::AdditionalItems { .. } | Kind::UnevaluatedItems { .. } => {
            "has more items than the schema allows".into()
        }
        Kind::ContentEncoding { content_encoding } => {
            format!("must be valid {content_encoding}")
        }
        Kind::ContentMediaType { content_media_type } => {
            format!("must be valid {content_media_type}")
        }
        Kind::FromUtf8 { .. } => "must decode to UTF-8 text".into(),
        Kind::Custom { message, .. } if message == READ_ONLY_MESSAGE => "is read-only".into(),
        Kind::BacktrackLimitExceeded { .. } | Kind::RegexEngineFailure { .. } => {
            "could not be checked against the pattern".into()
        }
        Kind::AdditionalProperties { .. }
        | Kind::UnevaluatedProperties { .. }
        | Kind::Required { .. } => "is not valid".into(),
        Kind::Custom { .. } | Kind::Referencing(_) => "is not valid".into(),
    }
}

fn article(t: JsonType) -> String {
    match t {
        JsonType::Integer => "an integer".into(),
        JsonType::Array => "an array".into(),
        JsonType::Object => "an object".into(),
        JsonType::Null => "null".into(),
        JsonType::Boolean => "true or false".into(),
        other => format!("a {other}"),
    }
}

/// Whether a name may appear in a pointer: short, `[A-Za-z0-9_-]` only.
pub(crate) fn is_plain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `pointer` with each segment that is not plain (and not an array index)
/// replaced by `*`.
pub(crate) fn safe_pointer(pointer: &str) -> String {
    if pointer.is_empty() {
        return String::new();
    }
    let mut out = String::with_capacity(pointer.len());
    for segment in pointer.split('/').skip(1) {
        out.push('/');
        out.push_str(safe_segment(segment));
    }
    out
}

/// A pointer segment as it may be shown: itself when plain, else `*`.
pub(crate) fn safe_segment(segment: &str) -> &str {
    if is_plain(segment) { segment } else { "*" }
}
