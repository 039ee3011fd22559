//! What a schema says about the type of a value, read directly from the
//! spec document: the primitive type a parameter text is coerced to, and
//! whether a string is pinned down ("typed") so injection inspection can
//! skip it.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::schema::{decode_fragment, resolve};
use super::shape::Shape;
use super::style::Layout;

/// Formats that pin a string down. Not `email` (a quoted local part may hold
/// `'` and spaces), not `hostname`/`uri` (they can carry SSRF targets).
const TYPED_FORMATS: &[&str] = &[
    "uuid",
    "date-time",
    "date",
    "time",
    "ipv4",
    "ipv6",
    "duration",
];

/// How many times a recursive schema is unrolled in a [`Shape`].
const MAX_UNROLL: usize = 3;

/// The most nodes a [`Shape`] gets before the rest is left [`Shape::Free`].
const SHAPE_BUDGET: usize = 10_000;

/// The primitive type a piece of text is coerced to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prim {
    Integer,
    Number,
    Boolean,
    /// Anything else: the text stays a string.
    String,
}

/// The schema's `type` names (a 3.1 list or a single name), `null` left out.
fn types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect(),
        _ => Vec::new(),
    }
}

/// The primitive a schema coerces text to (the first of its types; through
/// `$ref` and the first `allOf` branch that has a type).
pub(crate) fn prim(doc: &Value, schema: &Value) -> Prim {
    prim_at(doc, schema, 0)
}

fn prim_at(doc: &Value, schema: &Value, depth: usize) -> Prim {
    let (schema, _) = resolve(doc, schema);
    match types(schema).first().copied() {
        Some("integer") => Prim::Integer,
        Some("number") => Prim::Number,
        Some("boolean") => Prim::Boolean,
        Some(_) => Prim::String,
        None if depth < 16 => match schema.get("allOf").and_then(Value::as_array) {
            Some(branches) => branches
                .iter()
                .map(|b| prim_at(doc, b, depth + 1))
                .find(|p| *p != Prim::String)
                .unwrap_or(Prim::String),
            None => Prim::String,
        },
        None => Prim::String,
    }
}

/// Whether a parameter schema is an array, an object or a primitive.
pub(crate) fn layout(doc: &Value, schema: &Value) -> Layout {
    let (schema, _) = resolve(doc, schema);
    match types(schema).first().copied() {
        Some("array") => Layout::Array,
        Some("object") => Layout::Object,
        Some(_) => Layout::Primitive,
        None if schema.get("items").is_some() => Layout::Array,
        None if schema.get("properties").is_some() => Layout::Object,
        None => Layout::Primitive,
    }
}

/// A subschema of `schema` (after `$ref`s), `true` when absent.
pub(crate) fn sub<'a>(doc: &'a Value, schema: &'a Value, keyword: &str) -> &'a Value {
    static TRUE: Value = Value::Bool(true);
    let (schema, _) = resolve(doc, schema);
    schema.get(keyword).unwrap_or(&TRUE)
}

/// Whether values of `schema` are pinned down: a non-string type (integer,
/// number, boolean), an `enum`, a `const`, or a string format of
/// [`TYPED_FORMATS`]; through `$ref`s, any `allOf` branch being typed, every
/// `anyOf`/`oneOf` branch being typed.
pub(crate) fn typed(doc: &Value, schema: &Value) -> bool {
    typed_at(doc, schema, 0)
}

fn typed_at(doc: &Value, schema: &Value, depth: usize) -> bool {
    if depth > 16 {
        return false;
    }
    let (schema, _) = resolve(doc, schema);
    let Value::Object(map) = schema else {
        return false;
    };
    let names = types(schema);
    if !names.is_empty()
        && names
            .iter()
            .all(|t| matches!(*t, "integer" | "number" | "boolean"))
    {
        return true;
    }
    if map.contains_key("enum") || map.contains_key("const") {
        return true;
    }
    let only_strings = names.iter().all(|t| *t == "string");
    if only_strings
        && map
            .get("format")
            .and_then(Value::as_str)
            .is_some_and(|f| TYPED_FORMATS.contains(&f))
    {
        return true;
    }
    if let Some(Value::Array(branches)) = map.get("allOf")
        && branches.iter().any(|b| typed_at(doc, b, depth + 1))
    {
        return true;
    }
    ["anyOf", "oneOf"].iter().any(|k| match map.get(*k) {
        Some(Value::Array(branches)) => {
            !branches.is_empty() && branches.iter().all(|b| typed_at(doc, b, depth + 1))
        }
        _ => false,
    })
}

/// The [`Shape`] of a JSON body schema: which strings are typed.
pub(crate) fn shape(doc: &Value, schema: &Value) -> Shape {
    let mut builder = ShapeBuilder {
        doc,
        visiting: HashMap::new(),
        budget: SHAPE_BUDGET,
    };
    builder.build(schema)
}

struct ShapeBuilder<'a> {
    doc: &'a Value,
    /// Reference targets being built, and how many times each is nested:
    /// a recursive schema is unrolled [`MAX_UNROLL`] times, then left free.
    visiting: HashMap<String, usize>,
    budget: usize,
}

impl ShapeBuilder<'_> {
    fn build(&mut self, schema: &Value) -> Shape {
        if self.budget == 0 {
            return Shape::Free;
        }
        self.budget -= 1;
        if typed(self.doc, schema) {
            return Shape::Typed;
        }
        let pointer = schema
            .get("$ref")
            .and_then(Value::as_str)
            .map(decode_fragment);
        if let Some(p) = &pointer {
            let nested = self.visiting.entry(p.clone()).or_insert(0);
            if *nested >= MAX_UNROLL {
                return Shape::Free;
            }
            *nested += 1;
        }
        let shape = self.build_resolved(schema);
        if let Some(p) = &pointer
            && let Some(nested) = self.visiting.get_mut(p)
        {
            *nested -= 1;
        }
        shape
    }

    fn build_resolved(&mut self, schema: &Value) -> Shape {
        let doc = self.doc;
        let (schema, _) = resolve(doc, schema);
        let names = types(schema);
        if let Some(Value::Array(branches)) = schema.get("allOf") {
            let mut merged = Shape::Free;
            for branch in branches {
                merged = merge(merged, self.build(branch));
            }
            return merge(merged, self.own(schema, &names));
        }
        self.own(schema, &names)
    }

    /// The shape from the schema's own keywords (not `allOf`).
    fn own(&mut self, schema: &Value, names: &[&str]) -> Shape {
        if names == ["array"] || (names.is_empty() && schema.get("items").is_some()) {
            let item = schema.get("items").map_or(Shape::Free, |i| self.build(i));
            return Shape::Array(Box::new(item));
        }
        if names == ["object"] || (names.is_empty() && schema.get("properties").is_some()) {
            let mut properties = BTreeMap::new();
            if let Some(Value::Object(props)) = schema.get("properties") {
                for (name, sub) in props {
                    properties.insert(name.clone(), self.build(sub));
                }
            }
            let other = match schema.get("additionalProperties") {
                Some(Value::Object(_)) => schema
                    .get("additionalProperties")
                    .map_or(Shape::Free, |s| self.build(s)),
                _ => Shape::Free,
            };
            return Shape::Object {
                properties,
                other: Box::new(other),
            };
        }
        Shape::Free
    }
}

/// Two shapes a value must both satisfy (`allOf`).
fn merge(a: Shape, b: Shape) -> Shape {
    match (a, b) {
        (Shape::Typed, _) | (_, Shape::Typed) => Shape::Typed,
        (Shape::Free, other) | (other, Shape::Free) => other,
        (
            Shape::Object {
                mut properties,
                other,
            },
            Shape::Object {
                properties: more,
                other: other_b,
            },
        ) => {
            for (name, shape) in more {
                let merged = match properties.remove(&name) {
                    Some(existing) => merge(existing, shape),
                    None => shape,
                };
                properties.insert(name, merged);
            }
            Shape::Object {
                properties,
                other: Box::new(merge(*other, *other_b)),
            }
        }
        (Shape::Array(a), Shape::Array(b)) => Shape::Array(Box::new(merge(*a, *b))),
        (a, _) => a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_schemas() {
        let doc = json!({"components": {"schemas": {
            "Id": {"type": "string", "format": "uuid"},
            "Name": {"type": "string"},
        }}});
        let t = |s: Value| typed(&doc, &s);
        assert!(t(json!({"type": "integer"})));
        assert!(t(json!({"type": ["number", "null"]})));
        assert!(t(json!({"enum": ["a", "b"]})));
        assert!(t(json!({"$ref": "#/components/schemas/Id"})));
        assert!(t(
            json!({"allOf": [{"$ref": "#/components/schemas/Name"}, {"format": "date"}]})
        ));
        assert!(!t(json!({"type": "string"})));
        assert!(!t(json!({"type": "string", "format": "email"})));
        assert!(!t(json!({"type": "string", "format": "uri"})));
        assert!(!t(
            json!({"anyOf": [{"type": "integer"}, {"type": "string"}]})
        ));
        assert!(!t(json!({"type": ["string", "integer"]})));
    }

    #[test]
    fn shapes_follow_refs_merge_all_of_and_stop_at_recursion() {
        let doc = json!({"components": {"schemas": {
            "Node": {"type": "object", "properties": {
                "id": {"type": "string", "format": "uuid"},
                "name": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
            }},
            "Ext": {"allOf": [{"$ref": "#/components/schemas/Node"}, {"properties": {"kind": {"enum": ["a"]}}}]},
        }}});
        let s = shape(&doc, &json!({"$ref": "#/components/schemas/Ext"}));
        assert!(s.property("id").is_typed());
        assert!(s.property("kind").is_typed());
        assert!(!s.property("name").is_typed());
        assert!(!s.property("other").is_typed());
        assert!(s.property("children").item().property("id").is_typed());
    }
}
