//! `$ref` handling: classifies references, follows local ones, checks every one at load.
//!
//! Only references inside the document (`#/json/pointer`) are followed.
//! URLs are refused (fetching them would be SSRF) and so are references to
//! other files (multi-file specs must be bundled first).

use std::path::Path;

use serde_json::{Map, Value};

use crate::SpecError;

/// The most `$ref` hops [`Spec::resolve`](crate::Spec::resolve) (and the
/// load-time check) takes before giving up with [`SpecError::RefCycle`].
pub const MAX_REF_HOPS: usize = 64;

/// A value reached by following `$ref`s.
pub(crate) struct Resolved<'a> {
    /// The value at the end of the chain (never an object with a `$ref`).
    pub(crate) value: &'a Value,
    /// Its JSON pointer, or the caller's `site` when no `$ref` was followed.
    pub(crate) pointer: Option<String>,
}

/// Follows `value`'s `$ref` chain inside `doc` until a value without `$ref`.
///
/// `site` is the JSON pointer of `value` in `doc` when known; it is used in
/// errors and returned as the pointer when `value` is not a reference.
pub(crate) fn follow<'a>(
    doc: &'a Value,
    value: &'a Value,
    site: Option<String>,
    source: &Path,
) -> Result<Resolved<'a>, SpecError> {
    let first_site = site.clone();
    let mut current = Resolved {
        value,
        pointer: site,
    };
    let mut seen: Vec<String> = Vec::new();
    while let Some(reference) = current.value.as_object().and_then(|m| m.get("$ref")) {
        let pointer = local_pointer(reference, current.pointer.clone(), source)?;
        let reference = reference.as_str().unwrap_or_default();
        if seen.contains(&pointer) || seen.len() >= MAX_REF_HOPS {
            let first = value
                .get("$ref")
                .and_then(Value::as_str)
                .unwrap_or(reference);
            return Err(SpecError::RefCycle {
                path: source.to_path_buf(),
                pointer: first_site,
                reference: first.to_owned(),
            });
        }
        let Some(target) = doc.pointer(&pointer) else {
            return Err(SpecError::DanglingRef {
                path: source.to_path_buf(),
                pointer: current.pointer,
                reference: reference.to_owned(),
            });
        };
        seen.push(pointer.clone());
        current = Resolved {
            value: target,
            pointer: Some(pointer),
        };
    }
    Ok(current)
}

/// Checks every `$ref` of the document: each must be local, point at
/// something, and not start a loop.
pub(crate) fn check_all(doc: &Value, source: &Path) -> Result<(), SpecError> {
    let mut sites = Vec::new();
    collect(doc, &mut String::new(), Context::Node, &mut sites);
    for pointer in sites {
        let value = doc.pointer(&pointer).unwrap_or(&Value::Null);
        follow(doc, value, Some(pointer), source)?;
    }
    Ok(())
}

pub(crate) use crate::pointer::escape;

/// The JSON pointer a local `$ref` names, or why it is not followed.
fn local_pointer(
    reference: &Value,
    site: Option<String>,
    source: &Path,
) -> Result<String, SpecError> {
    let path = source.to_path_buf();
    let Some(text) = reference.as_str() else {
        return Err(SpecError::UnsupportedRef {
            path,
            pointer: site,
            reference: reference.to_string(),
            reason: "`$ref` must be a string",
        });
    };
    let unsupported = |reason| SpecError::UnsupportedRef {
        path: source.to_path_buf(),
        pointer: site.clone(),
        reference: text.to_owned(),
        reason,
    };
    if has_scheme(text) || text.starts_with("//") {
        return Err(SpecError::RemoteRef {
            path,
            pointer: site,
            reference: text.to_owned(),
        });
    }
    let Some(fragment) = text.strip_prefix('#') else {
        if text.is_empty() {
            return Err(unsupported("an empty reference points nowhere"));
        }
        return Err(SpecError::ExternalRef {
            path,
            pointer: site,
            reference: text.to_owned(),
        });
    };
    let decoded = percent_decode(fragment)
        .ok_or_else(|| unsupported("the fragment has invalid percent-encoding"))?;
    if !decoded.is_empty() && !decoded.starts_with('/') {
        return Err(unsupported(
            "plain-name fragments ($anchor) are not supported; use a JSON pointer such as #/components/schemas/Name",
        ));
    }
    Ok(decoded)
}

/// True when `text` starts with a URI scheme (`http:`, `file:`, `urn:` …).
fn has_scheme(text: &str) -> bool {
    let Some((scheme, _)) = text.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Decodes `%XX` escapes; `None` if one is malformed or the result is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_owned());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// What the keys of the object being walked are.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    /// An OpenAPI or JSON Schema object: keys are keywords.
    Node,
    /// A map whose keys are names and whose values are nodes
    /// (`properties`, `components/schemas`, `responses`, `content` …).
    Names,
    /// A map of names to Example objects, whose `value` is data.
    Examples,
    /// An Example object: `value` is data, not spec.
    Example,
}

/// Keys whose value maps names to nodes.
const NAME_MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
    "paths",
    "webhooks",
    "responses",
    "callbacks",
    "content",
    "headers",
    "encoding",
    "links",
    "schemas",
    "parameters",
    "requestBodies",
    "securitySchemes",
    "pathItems",
    "variables",
];

/// Keys whose value is example or literal data, where a `$ref` key is data.
const DATA_KEYS: &[&str] = &["example", "default", "enum", "const"];

/// Collects the pointer of every object holding a `$ref` that is a reference
/// (not a property named `$ref`, not inside example data or `x-` extensions).
fn collect(value: &Value, pointer: &mut String, context: Context, sites: &mut Vec<String>) {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                with_token(pointer, &i.to_string(), |p| {
                    collect(item, p, Context::Node, sites)
                });
            }
        }
        Value::Object(map) => collect_object(map, pointer, context, sites),
        _ => {}
    }
}

fn collect_object(
    map: &Map<String, Value>,
    pointer: &mut String,
    context: Context,
    sites: &mut Vec<String>,
) {
    if context != Context::Names && context != Context::Examples && map.contains_key("$ref") {
        sites.push(pointer.clone());
    }
    for (key, child) in map {
        let child_context = match context {
            Context::Names => Context::Node,
            Context::Examples => Context::Example,
            Context::Node | Context::Example => {
                if key == "$ref"
                    || key.starts_with("x-")
                    || DATA_KEYS.contains(&key.as_str())
                    || (context == Context::Example && key == "value")
                    || (key == "examples" && child.is_array())
                {
                    continue;
                }
                if key == "examples" {
                    Context::Examples
                } else if NAME_MAPS.contains(&key.as_str()) {
                    Context::Names
                } else {
                    Context::Node
                }
            }
        };
        with_token(pointer, key, |p| collect(child, p, child_context, sites));
    }
}

/// Runs `f` with `pointer` extended by one token, then restores it.
fn with_token(pointer: &mut String, token: &str, f: impl FnOnce(&mut String)) {
    let len = pointer.len();
    pointer.push('/');
    pointer.push_str(&escape(token));
    f(pointer);
    pointer.truncate(len);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn src() -> &'static Path {
        Path::new("t.yaml")
    }

    #[test]
    fn classifies_references() {
        let local = |r: &str| local_pointer(&json!(r), None, src());
        assert_eq!(
            local("#/components/schemas/A").ok().as_deref(),
            Some("/components/schemas/A")
        );
        assert_eq!(local("#/a%20b/~1c").ok().as_deref(), Some("/a b/~1c"));
        assert_eq!(local("#").ok().as_deref(), Some(""));
        for remote in [
            "http://evil/x.yaml",
            "https://x#/a",
            "file:///etc/passwd",
            "urn:x",
            "//host/x",
        ] {
            assert!(
                matches!(local(remote), Err(SpecError::RemoteRef { .. })),
                "{remote}"
            );
        }
        for external in ["common.yaml#/A", "./a.json", "/abs/a.yaml", "../a.yaml#/b"] {
            assert!(
                matches!(local(external), Err(SpecError::ExternalRef { .. })),
                "{external}"
            );
        }
        for unsupported in ["", "#anchor", "#/a%zz"] {
            assert!(
                matches!(local(unsupported), Err(SpecError::UnsupportedRef { .. })),
                "{unsupported}"
            );
        }
    }

    #[test]
    fn refs_in_examples_extensions_and_property_names_are_data() {
        let doc = json!({
            "components": {"schemas": {"A": {
                "properties": {"$ref": {"type": "string"}, "default": {"$ref": "#/components/schemas/B"}},
                "example": {"$ref": "http://evil"},
                "x-tool": {"$ref": "http://evil"},
            }, "B": {"type": "integer"}},
            "examples": {"E": {"value": {"$ref": "http://evil"}}}}
        });
        let mut sites = Vec::new();
        collect(&doc, &mut String::new(), Context::Node, &mut sites);
        assert_eq!(sites, ["/components/schemas/A/properties/default"]);
        assert!(check_all(&doc, src()).is_ok());
    }

    #[test]
    fn follows_chains_and_stops_cycles() {
        let doc = json!({"a": {"$ref": "#/b"}, "b": {"$ref": "#/c"}, "c": 1, "x": {"$ref": "#/y"}, "y": {"$ref": "#/x"}});
        let resolved = follow(&doc, &doc["a"], Some("/a".into()), src()).ok();
        assert_eq!(
            resolved.map(|r| (r.value.clone(), r.pointer)),
            Some((json!(1), Some("/c".into())))
        );
        assert!(matches!(
            check_all(&doc, src()),
            Err(SpecError::RefCycle { pointer: Some(p), reference, .. }) if p == "/x" && reference == "#/y"
        ));
    }
}
