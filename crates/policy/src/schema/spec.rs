//! What the OpenAPI spec says about an operation's inputs: its parameters and
//! their types, and the types of request body fields, following `$ref`s.

use portcullis_openapi::{Operation, Spec};
use serde_json::Value;

use super::AttrType;

/// The operation object of `op` in the document.
fn operation_object<'a>(spec: &'a Spec, op: &Operation) -> Option<&'a Value> {
    spec.document.pointer(&op.pointer)
}

/// The parameter `name` located `location` (`path`, `query`) of an operation:
/// the operation's own `parameters` first, then its path item's.
pub(super) fn parameter<'a>(
    spec: &'a Spec,
    op: &Operation,
    location: &str,
    name: &str,
) -> Option<&'a Value> {
    let item_pointer = op.pointer.rsplit_once('/').map_or("", |(item, _)| item);
    let lists = [
        operation_object(spec, op).and_then(|o| o.get("parameters")),
        spec.document
            .pointer(item_pointer)
            .and_then(|item| spec.resolve(item).ok())
            .and_then(|item| item.get("parameters")),
    ];
    lists
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|p| spec.resolve(p).ok())
        .find(|p| {
            p.get("in").and_then(Value::as_str) == Some(location)
                && p.get("name").and_then(Value::as_str) == Some(name)
        })
}

/// A parameter's Cedar type (Long for integers, Bool for booleans, else
/// String); `None` when the operation does not declare the parameter.
pub(crate) fn parameter_type(
    spec: &Spec,
    op: &Operation,
    location: &str,
    name: &str,
) -> Option<AttrType> {
    let param = parameter(spec, op, location, name)?;
    let ty = param
        .get("schema")
        .and_then(|s| spec.resolve(s).ok())
        .and_then(schema_type);
    Some(match ty {
        Some("integer") => AttrType::Long,
        Some("boolean") => AttrType::Bool,
        _ => AttrType::String,
    })
}

/// The Cedar type of the request body value at `pointer`, from the
/// `application/json` schema; String when it cannot be followed.
pub(crate) fn body_type(spec: &Spec, op: &Operation, pointer: &str) -> AttrType {
    let schema = operation_object(spec, op)
        .and_then(|o| o.get("requestBody"))
        .and_then(|b| spec.resolve(b).ok())
        .and_then(|b| b.get("content"))
        .and_then(Value::as_object)
        .and_then(|content| {
            content.get("application/json").or_else(|| {
                content
                    .iter()
                    .find(|(k, _)| k.ends_with("+json"))
                    .map(|(_, v)| v)
            })
        })
        .and_then(|media| media.get("schema"));
    let Some(mut schema) = schema else {
        return AttrType::String;
    };
    for token in pointer_tokens(pointer).unwrap_or_default() {
        let Ok(resolved) = spec.resolve(schema) else {
            return AttrType::String;
        };
        schema = match (
            resolved.get("properties").and_then(|p| p.get(&token)),
            resolved.get("items"),
        ) {
            (Some(property), _) => property,
            (None, Some(items)) => items,
            (None, None) => return AttrType::String,
        };
    }
    let Ok(schema) = spec.resolve(schema) else {
        return AttrType::String;
    };
    match schema_type(schema) {
        Some("integer") => AttrType::Long,
        Some("boolean") => AttrType::Bool,
        Some("array") => {
            let items = schema.get("items").and_then(|i| spec.resolve(i).ok());
            match items.and_then(schema_type) {
                Some("integer") => AttrType::SetLong,
                Some("string") => AttrType::SetString,
                _ => AttrType::String,
            }
        }
        _ => AttrType::String,
    }
}

/// A schema's `type`: the string, or the first non-`null` of a 3.1 type list.
fn schema_type(schema: &Value) -> Option<&str> {
    match schema.get("type")? {
        Value::String(t) => Some(t),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null"),
        _ => None,
    }
}

/// The decoded tokens of a JSON pointer (`""` or `/a/b`); `None` when it is
/// not one (no leading `/`, or a `~` not followed by `0` or `1`).
pub(crate) fn pointer_tokens(pointer: &str) -> Option<Vec<String>> {
    if pointer.is_empty() {
        return Some(Vec::new());
    }
    pointer
        .strip_prefix('/')?
        .split('/')
        .map(portcullis_openapi::pointer::unescape)
        .collect()
}
