//! Response rules from the spec: declared content types per status, and the
//! properties that must not leave (`writeOnly`, and optionally undocumented ones).
//!
//! The response schemas are compiled into a strip tree once: an arena of
//! nodes where a `$ref` is one node shared by every use (so recursive
//! schemas are finite), `allOf`/`anyOf`/`oneOf` are merged into one object
//! node (the union of their properties). Stripping is a walk of the response
//! value along that tree.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;

use super::body::{essence, matches};
use super::schema::{decode_fragment, resolve};
use crate::refs::escape;

/// The response rules of one operation.
#[derive(Debug, Clone, Default)]
pub struct ResponseRules {
    responses: Vec<(Status, Option<Vec<Media>>)>,
    tree: Arc<Vec<Node>>,
}

/// What [`ResponseRules::check_content_type`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    /// Declared for this status (or the status has no content declared at all
    /// and the response has no body type).
    Declared,
    /// The spec declares other media types for this status.
    Contradicts,
    /// The spec says nothing about this status (no `default` either), or
    /// documents it without `content`.
    Undocumented,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Code(u16),
    /// `2XX`: the first digit.
    Range(u16),
    Default,
}

#[derive(Debug, Clone)]
struct Media {
    /// Lowercase essence or range (`application/json`, `application/*`).
    range: String,
    /// The strip tree node of its schema.
    node: Option<usize>,
}

/// One node of the strip tree.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// The schema says nothing about the structure: nothing is stripped.
    Any,
    Object {
        properties: BTreeMap<String, Property>,
        /// Properties that are not declared are allowed (`additionalProperties`
        /// true or a schema, `patternProperties`, or no `properties` at all).
        open: bool,
        /// The node of `additionalProperties` when it is a schema.
        other: Option<usize>,
    },
    Array(usize),
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Property {
    node: usize,
    write_only: bool,
}

impl ResponseRules {
    /// The rules of the operation object `op` (its `responses`) in `doc`.
    pub(crate) fn compile(doc: &Value, op: &Value) -> ResponseRules {
        let mut builder = Builder {
            doc,
            nodes: Vec::new(),
            memo: HashMap::new(),
        };
        let mut responses = Vec::new();
        if let Some(Value::Object(map)) = op.get("responses") {
            for (key, response) in map {
                let status = match key.as_str() {
                    "default" => Status::Default,
                    k if k.len() == 3 && (k.ends_with("XX") || k.ends_with("xx")) => {
                        match k[..1].parse::<u16>() {
                            Ok(d) => Status::Range(d),
                            Err(_) => continue,
                        }
                    }
                    k => match k.parse::<u16>() {
                        Ok(code) => Status::Code(code),
                        Err(_) => continue,
                    },
                };
                let (response, _) = resolve(doc, response);
                let content = match response.get("content") {
                    Some(Value::Object(content)) if !content.is_empty() => Some(
                        content
                            .iter()
                            .map(|(media, m)| Media {
                                range: essence(media),
                                node: m.get("schema").map(|s| builder.node(s)),
                            })
                            .collect(),
                    ),
                    _ => None,
                };
                responses.push((status, content));
            }
        }
        ResponseRules {
            responses,
            tree: Arc::new(builder.nodes),
        }
    }

    /// The response entry for `status`: exact, then `2XX`-style, then `default`.
    fn entry(&self, status: u16) -> Option<&Option<Vec<Media>>> {
        let find = |wanted: Status| {
            self.responses
                .iter()
                .find(|(s, _)| *s == wanted)
                .map(|(_, c)| c)
        };
        find(Status::Code(status))
            .or_else(|| find(Status::Range(status / 100)))
            .or_else(|| find(Status::Default))
    }

    fn media(&self, status: u16, content_type: Option<&str>) -> Option<&Media> {
        let media = essence(content_type?);
        let declared = self.entry(status)?.as_ref()?;
        declared
            .iter()
            .find(|m| m.range == media)
            .or_else(|| declared.iter().find(|m| matches(&m.range, &media)))
    }

    /// Whether a response of `status` with this `Content-Type` agrees with the spec.
    ///
    /// A response without a `Content-Type` is not a contradiction (there is
    /// no type to contradict), nor is any type for a status documented without
    /// `content` (the spec states no type: `Undocumented`).
    pub fn check_content_type(&self, status: u16, content_type: Option<&str>) -> ContentType {
        let Some(declared) = self.entry(status) else {
            return ContentType::Undocumented;
        };
        match (declared, content_type) {
            (_, None) => ContentType::Declared,
            // A status documented without `content` says nothing about a body's
            // type (many specs leave it out): nothing to contradict.
            (None, Some(_)) => ContentType::Undocumented,
            (Some(_), Some(_)) => match self.media(status, content_type) {
                Some(_) => ContentType::Declared,
                None => ContentType::Contradicts,
            },
        }
    }

    /// Whether any response schema of the operation declares a `writeOnly`
    /// property: then its JSON responses must be read to remove them.
    pub fn has_write_only(&self) -> bool {
        self.tree.iter().any(|n| {
            matches!(n, Node::Object { properties, .. } if properties.values().any(|p| p.write_only))
        })
    }

    /// Whether responses of `status` / `content_type` have a JSON schema
    /// (so [`ResponseRules::strip`] can do something).
    pub fn has_schema(&self, status: u16, content_type: Option<&str>) -> bool {
        self.media(status, content_type)
            .is_some_and(|m| m.node.is_some())
    }

    /// Removes from a JSON response the `writeOnly` properties and, when
    /// `undocumented`, the properties its schema does not declare (objects
    /// with `additionalProperties` allowed keep theirs). The JSON pointers of
    /// what was removed (property names, never values).
    pub fn strip(
        &self,
        status: u16,
        content_type: Option<&str>,
        value: &mut serde_json::Value,
        undocumented: bool,
    ) -> Vec<String> {
        let mut removed = Vec::new();
        if let Some(node) = self.media(status, content_type).and_then(|m| m.node) {
            let mut pointer = String::new();
            self.walk(node, value, &mut pointer, undocumented, &mut removed);
        }
        removed
    }

    fn walk(
        &self,
        node: usize,
        value: &mut Value,
        pointer: &mut String,
        undocumented: bool,
        removed: &mut Vec<String>,
    ) {
        match (self.tree.get(node), value) {
            (
                Some(Node::Object {
                    properties,
                    open,
                    other,
                }),
                Value::Object(map),
            ) => {
                map.retain(|key, child| {
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&escape(key));
                    let keep = match properties.get(key) {
                        Some(p) if p.write_only => false,
                        Some(p) => {
                            self.walk(p.node, child, pointer, undocumented, removed);
                            true
                        }
                        None if *open => {
                            if let Some(other) = other {
                                self.walk(*other, child, pointer, undocumented, removed);
                            }
                            true
                        }
                        None => !undocumented,
                    };
                    if !keep {
                        removed.push(pointer.clone());
                    }
                    pointer.truncate(len);
                    keep
                });
            }
            (Some(Node::Array(item)), Value::Array(items)) => {
                for (i, child) in items.iter_mut().enumerate() {
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&i.to_string());
                    self.walk(*item, child, pointer, undocumented, removed);
                    pointer.truncate(len);
                }
            }
            _ => {}
        }
    }
}

struct Builder<'a> {
    doc: &'a Value,
    nodes: Vec<Node>,
    /// `$ref` target pointer → its node.
    memo: HashMap<String, usize>,
}

impl Builder<'_> {
    /// The node of `schema`, sharing the node of a `$ref` target.
    fn node(&mut self, schema: &Value) -> usize {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let pointer = decode_fragment(reference);
            if let Some(&index) = self.memo.get(&pointer) {
                return index;
            }
            let index = self.push(Node::Any);
            self.memo.insert(pointer.clone(), index);
            let doc = self.doc;
            let built = match doc.pointer(&pointer) {
                Some(target) => self.inline(target),
                None => Node::Any,
            };
            self.nodes[index] = built;
            return index;
        }
        let built = self.inline(schema);
        self.push(built)
    }

    fn push(&mut self, node: Node) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// The node of a schema that is not itself a `$ref`.
    fn inline(&mut self, schema: &Value) -> Node {
        if schema.get("$ref").is_some() {
            let index = self.node(schema);
            return self.nodes[index].clone();
        }
        let mut merged = self.own(schema);
        for key in ["allOf", "anyOf", "oneOf"] {
            if let Some(Value::Array(branches)) = schema.get(key) {
                for branch in branches {
                    let index = self.node(branch);
                    let node = self.nodes[index].clone();
                    merged = merge(merged, node);
                }
            }
        }
        merged
    }

    /// The node from the schema's own keywords.
    fn own(&mut self, schema: &Value) -> Node {
        if let Some(items) = schema.get("items").filter(|i| i.is_object()) {
            return Node::Array(self.node(items));
        }
        let props = schema.get("properties").and_then(Value::as_object);
        let typed_object = match schema.get("type") {
            Some(Value::String(t)) => t == "object",
            Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
            _ => false,
        };
        let additional = schema.get("additionalProperties");
        if props.is_none() && !typed_object && additional.is_none() {
            return Node::Any;
        }
        let mut properties = BTreeMap::new();
        for (name, sub) in props.into_iter().flatten() {
            let write_only = self.write_only(sub);
            properties.insert(
                name.clone(),
                Property {
                    node: self.node(sub),
                    write_only,
                },
            );
        }
        let other = additional.filter(|a| a.is_object()).map(|a| self.node(a));
        let open = props.is_none()
            || other.is_some()
            || additional == Some(&Value::Bool(true))
            || schema.get("patternProperties").is_some();
        Node::Object {
            properties,
            open,
            other,
        }
    }

    /// Whether a property schema is `writeOnly`, itself or through its `$ref`s.
    fn write_only(&self, schema: &Value) -> bool {
        let flagged = |s: &Value| s.get("writeOnly").and_then(Value::as_bool) == Some(true);
        flagged(schema) || flagged(resolve(self.doc, schema).0)
    }
}

/// The union of what two schemas of one value allow.
fn merge(a: Node, b: Node) -> Node {
    match (a, b) {
        (Node::Any, other) | (other, Node::Any) => other,
        (
            Node::Object {
                mut properties,
                open,
                other,
            },
            Node::Object {
                properties: more,
                open: open_b,
                other: other_b,
            },
        ) => {
            for (name, p) in more {
                properties
                    .entry(name)
                    .and_modify(|e| e.write_only |= p.write_only)
                    .or_insert(p);
            }
            Node::Object {
                properties,
                open: open || open_b,
                other: other.or(other_b),
            }
        }
        (a, _) => a,
    }
}

#[cfg(test)]
mod tests;
