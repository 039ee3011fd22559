//! Schemas of the spec made into validators: OpenAPI 3.0 translated to JSON
//! Schema 2020-12, local `$ref`s inlined into `$defs`, `readOnly` and strict
//! mode applied by rewriting, then compiled once with `jsonschema`.
//!
//! Each compiled schema is a self-contained document: the schema itself plus
//! the (translated) targets of every `$ref` it reaches, in `$defs` under
//! generated names. So no resource outside it is ever looked up (no remote
//! fetching can happen), compiling one operation costs what its schemas
//! reach rather than the whole spec, and recursive schemas work because the
//! rewritten `$ref`s point inside the same document.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::{Options, Violation, reason};
use crate::{Spec, SpecError, load::invalid};

/// The custom keyword standing in for a `readOnly` property in a request:
/// it fails whatever it is given, and its error becomes "is read-only".
pub(crate) const READ_ONLY_KEYWORD: &str = "x-portcullis-read-only";
/// The message of the [`READ_ONLY_KEYWORD`] error (matched when mapping errors).
pub(crate) const READ_ONLY_MESSAGE: &str = "read-only";

/// Keywords dropped from every schema: OpenAPI annotations that are not
/// JSON Schema (and may hold data that looks like schema), identifiers that
/// would change the base URI of the rewritten `$ref`s, and extensions (so a
/// spec cannot smuggle in our own marker keyword).
const DROPPED: &[&str] = &[
    "example",
    "examples",
    "discriminator",
    "xml",
    "externalDocs",
    "$id",
    "$schema",
    "$anchor",
    "$dynamicAnchor",
    "$defs",
    "definitions",
    "description",
    "title",
];

/// Keywords whose value is one subschema applied to another instance location.
const CHILD: &[&str] = &[
    "additionalProperties",
    "unevaluatedProperties",
    "items",
    "additionalItems",
    "unevaluatedItems",
    "contains",
    "propertyNames",
];

/// Keywords that make an object's properties come from more than its own
/// `properties`/`patternProperties` (strict mode then needs
/// `unevaluatedProperties`).
const COMPOSING: &[&str] = &[
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "$ref",
    "$dynamicRef",
    "dependentSchemas",
];

/// Keywords whose value is one subschema applied in place (a branch).
const IN_PLACE: &[&str] = &["not", "if", "then", "else"];

/// Keywords whose value is a list of subschemas applied in place.
const IN_PLACE_LISTS: &[&str] = &["allOf", "anyOf", "oneOf"];

/// A compiled request schema.
pub(crate) struct Compiled {
    validator: jsonschema::Validator,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Compiled")
    }
}

impl Compiled {
    /// Validates `value`; violations get pointers rooted at `prefix`
    /// (`/body`, `/query/limit` …). At most `cap` violations in `out`.
    pub(crate) fn check(&self, value: &Value, prefix: &str, out: &mut Vec<Violation>, cap: usize) {
        if self.validator.is_valid(value) {
            return;
        }
        for error in self.validator.iter_errors(value) {
            if out.len() >= cap {
                break;
            }
            reason::push(&error, prefix, out);
        }
    }
}

/// Translates and compiles the request schema `schema` found at `pointer`.
pub(crate) fn compile(
    spec: &Spec,
    schema: &Value,
    pointer: &str,
    options: &Options,
) -> Result<Compiled, SpecError> {
    let translated = translate(spec, schema, options.strict);
    build(&translated).map_err(|message| {
        invalid(
            &spec.source,
            pointer,
            format!("the schema cannot be compiled: {message}"),
        )
    })
}

/// Compiles an already translated (self-contained) schema.
fn build(schema: &Value) -> Result<Compiled, String> {
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .with_pattern_options(jsonschema::PatternOptions::regex())
        .should_validate_formats(true)
        .with_keyword(READ_ONLY_KEYWORD, |_, _, _| Ok(Box::new(AlwaysReadOnly)))
        .build(schema)
        .map_err(|e| e.to_string())?;
    Ok(Compiled { validator })
}

/// The validator of [`READ_ONLY_KEYWORD`].
struct AlwaysReadOnly;

impl<'i> jsonschema::Keyword<'i> for AlwaysReadOnly {
    fn validate(&self, _: &'i Value) -> Result<(), jsonschema::ValidationError<'i>> {
        Err(jsonschema::ValidationError::custom(READ_ONLY_MESSAGE))
    }

    fn is_valid(&self, _: &'i Value) -> bool {
        false
    }
}

/// Translates `schema` (a request schema of `spec`) into a self-contained
/// 2020-12 schema: see the module documentation.
pub(crate) fn translate(spec: &Spec, schema: &Value, strict: bool) -> Value {
    let mut t = Translator {
        doc: &spec.document,
        v30: spec.openapi_version.starts_with("3.0."),
        strict,
        keys: HashMap::new(),
        queue: Vec::new(),
        defs: Map::new(),
    };
    let mut root = t.schema(schema, false);
    while let Some((pointer, branch, key)) = t.queue.pop() {
        let target = t.doc.pointer(&pointer).unwrap_or(&Value::Bool(true));
        let translated = t.schema(target, branch);
        t.defs.insert(key, translated);
    }
    if !t.defs.is_empty() {
        let defs = Value::Object(std::mem::take(&mut t.defs));
        match &mut root {
            Value::Object(map) => {
                map.insert("$defs".into(), defs);
            }
            other => {
                *other = json!({"allOf": [other.clone()], "$defs": defs});
            }
        }
    }
    root
}

struct Translator<'a> {
    doc: &'a Value,
    v30: bool,
    strict: bool,
    /// (target pointer, branch context) → name in `$defs`.
    keys: HashMap<(String, bool), String>,
    /// Targets still to translate: (pointer, branch, name).
    queue: Vec<(String, bool, String)>,
    defs: Map<String, Value>,
}

impl Translator<'_> {
    /// Translates one schema. `branch`: the schema is applied in place as part
    /// of another (`allOf` …), so strict mode must not close it (its parent,
    /// which sees the properties every branch evaluated, is closed instead).
    fn schema(&mut self, schema: &Value, branch: bool) -> Value {
        let Value::Object(map) = schema else {
            return schema.clone();
        };
        let mut out = Map::new();
        let object_like = is_object_like(map);
        if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
            // A `$ref` next to object keywords (3.1) is one branch of this
            // schema; a bare `$ref` takes this schema's place.
            let target_branch = branch || (object_like && !self.v30);
            out.insert(
                "$ref".into(),
                Value::String(self.reference(reference, target_branch)),
            );
            if self.v30 {
                return self.nullable(map, out);
            }
        }
        for (key, value) in map {
            let key = key.as_str();
            if key == "$ref" || key.starts_with("x-") || DROPPED.contains(&key) {
                continue;
            }
            let translated = match key {
                "nullable" if self.v30 => continue,
                "exclusiveMinimum" | "exclusiveMaximum" if self.v30 => {
                    if value.as_bool() == Some(true) {
                        let bound = if key == "exclusiveMinimum" {
                            "minimum"
                        } else {
                            "maximum"
                        };
                        if let Some(limit) = map.get(bound) {
                            out.insert(key.into(), limit.clone());
                        }
                    }
                    continue;
                }
                "minimum" | "maximum" if self.v30 => {
                    let exclusive = if key == "minimum" {
                        "exclusiveMinimum"
                    } else {
                        "exclusiveMaximum"
                    };
                    if map.get(exclusive).and_then(Value::as_bool) == Some(true) {
                        continue;
                    }
                    value.clone()
                }
                "properties" | "patternProperties" | "dependentSchemas" => {
                    // Properties are new instance locations; dependent schemas apply in place.
                    self.schema_map(value, key == "dependentSchemas", key == "properties")
                }
                "prefixItems" => self.schema_list(value, false),
                _ if IN_PLACE_LISTS.contains(&key) => self.schema_list(value, true),
                _ if IN_PLACE.contains(&key) => self.schema(value, true),
                _ if CHILD.contains(&key) => self.schema(value, false),
                // Data (`enum`, `const`, `default`) and plain keywords, as they are.
                _ => value.clone(),
            };
            out.insert(key.into(), translated);
        }
        self.drop_read_only_required(&mut out);
        if self.strict
            && !branch
            && object_like
            && !out.contains_key("additionalProperties")
            && !out.contains_key("unevaluatedProperties")
        {
            // `unevaluatedProperties` sees through compositions (`allOf`, `$ref`
            // beside `properties` …) but makes the validator track every
            // evaluated property; a plain object closes the same way, and much
            // faster, with `additionalProperties`.
            let composed = COMPOSING.iter().any(|k| out.contains_key(*k));
            let keyword = if composed {
                "unevaluatedProperties"
            } else {
                "additionalProperties"
            };
            out.insert(keyword.into(), Value::Bool(false));
        }
        if self.v30 {
            return self.nullable(map, out);
        }
        Value::Object(out)
    }

    /// 3.0 `nullable: true` → `null` added to `type` (and `enum`), or the
    /// schema wrapped in `anyOf` with `null` when it has no `type`.
    fn nullable(&self, original: &Map<String, Value>, mut out: Map<String, Value>) -> Value {
        if original.get("nullable").and_then(Value::as_bool) != Some(true) {
            return Value::Object(out);
        }
        if let Some(Value::Array(options)) = out.get_mut("enum")
            && !options.contains(&Value::Null)
        {
            options.push(Value::Null);
        }
        let has_enum = out.contains_key("enum");
        match out.get_mut("type") {
            Some(Value::String(t)) => {
                let t = Value::String(std::mem::take(t));
                out.insert("type".into(), json!([t, "null"]));
                Value::Object(out)
            }
            Some(Value::Array(types)) => {
                if !types.contains(&json!("null")) {
                    types.push(json!("null"));
                }
                Value::Object(out)
            }
            _ if has_enum => Value::Object(out),
            _ => json!({"anyOf": [{"type": "null"}, Value::Object(out)]}),
        }
    }

    /// The rewritten reference for `reference` (a local `#/…` reference:
    /// every `$ref` was checked at load), queueing its target.
    fn reference(&mut self, reference: &str, branch: bool) -> String {
        let pointer = decode_fragment(reference);
        let entry = (pointer, branch);
        let next = self.keys.len();
        let key = self.keys.entry(entry.clone()).or_insert_with(|| {
            let key = format!("d{next}");
            self.queue.push((entry.0, entry.1, key.clone()));
            key
        });
        format!("#/$defs/{key}")
    }

    fn schema_list(&mut self, value: &Value, branch: bool) -> Value {
        match value {
            Value::Array(items) => {
                Value::Array(items.iter().map(|s| self.schema(s, branch)).collect())
            }
            other => other.clone(),
        }
    }

    /// A map of name → subschema; for `properties`, `readOnly` ones become
    /// the always-failing marker (requests must not set them).
    fn schema_map(&mut self, value: &Value, branch: bool, properties: bool) -> Value {
        let Value::Object(map) = value else {
            return value.clone();
        };
        let mut out = Map::new();
        for (name, schema) in map {
            let translated = if properties && self.is_read_only(schema) {
                json!({ READ_ONLY_KEYWORD: true })
            } else {
                self.schema(schema, branch)
            };
            out.insert(name.clone(), translated);
        }
        Value::Object(out)
    }

    /// Whether a property schema says `readOnly: true`, itself or at the end
    /// of its `$ref` chain (3.1 allows it beside the `$ref`).
    fn is_read_only(&self, schema: &Value) -> bool {
        let mut current = schema;
        for _ in 0..crate::MAX_REF_HOPS {
            if current.get("readOnly").and_then(Value::as_bool) == Some(true)
                && (!self.v30 || current.get("$ref").is_none())
            {
                return true;
            }
            match current.get("$ref").and_then(Value::as_str) {
                Some(r) => match self.doc.pointer(&decode_fragment(r)) {
                    Some(next) => current = next,
                    None => return false,
                },
                None => return false,
            }
        }
        false
    }

    /// `required` names of read-only properties are dropped: OpenAPI says
    /// `required` applies to them in responses only.
    fn drop_read_only_required(&self, out: &mut Map<String, Value>) {
        let read_only: Vec<String> = match out.get("properties") {
            Some(Value::Object(props)) => props
                .iter()
                .filter(|(_, s)| s.get(READ_ONLY_KEYWORD).is_some())
                .map(|(k, _)| k.clone())
                .collect(),
            _ => return,
        };
        if read_only.is_empty() {
            return;
        }
        if let Some(Value::Array(required)) = out.get_mut("required") {
            required.retain(|r| r.as_str().is_none_or(|r| !read_only.iter().any(|n| n == r)));
        }
    }
}

/// Whether a schema describes objects (so strict mode closes it).
fn is_object_like(map: &Map<String, Value>) -> bool {
    let typed_object = match map.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
        _ => false,
    };
    let untyped = !map.contains_key("type");
    typed_object
        || map.contains_key("properties")
        || map.contains_key("patternProperties")
        || (untyped && IN_PLACE_LISTS.iter().any(|k| map.contains_key(*k)))
}

/// The JSON pointer of a local reference (`#/a/b%20c` → `/a/b c`).
pub(crate) fn decode_fragment(reference: &str) -> String {
    let fragment = reference.strip_prefix('#').unwrap_or(reference);
    percent_encoding::percent_decode_str(fragment)
        .decode_utf8_lossy()
        .into_owned()
}

/// Follows `value`'s `$ref` chain in the document (bounded); the value at its
/// end and that value's pointer (if a reference was followed).
pub(crate) fn resolve<'a>(doc: &'a Value, value: &'a Value) -> (&'a Value, Option<String>) {
    let mut current = value;
    let mut pointer = None;
    for _ in 0..crate::MAX_REF_HOPS {
        match current.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let p = decode_fragment(r);
                match doc.pointer(&p) {
                    Some(next) => {
                        current = next;
                        pointer = Some(p);
                    }
                    None => break,
                }
            }
            None => break,
        }
    }
    (current, pointer)
}

#[cfg(test)]
mod tests;
