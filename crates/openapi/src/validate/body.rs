//! Request bodies: media type matching, then JSON (bounded parser),
//! `application/x-www-form-urlencoded` and `multipart/form-data` bodies
//! validated against the media type's schema.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::params::coerce;
use super::reason::safe_segment;
use super::schema::{Compiled, compile};
use super::shape::Shape;
use super::style::{Pairs, decode};
use super::typing::{self, Prim};
use super::{Limits, Options, Validated, Value, Violation, json, multipart};
use crate::{Spec, SpecError, refs::escape};

/// What kind of body a media type is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Json,
    Form,
    Multipart,
    /// Anything else: accepted as it is (no schema is applied).
    Other,
}

/// How one form or multipart field is coerced, and whether it is typed.
#[derive(Debug, Clone, Copy)]
struct Field {
    prim: Prim,
    array: bool,
    typed: bool,
}

/// The compiled rules of one request body media type.
#[derive(Debug)]
pub(crate) struct BodyRule {
    schema: Option<Compiled>,
    shape: Arc<Shape>,
    fields: BTreeMap<String, Field>,
    other: Field,
}

/// Whether a media type (lowercase essence) is JSON: `application/json` or `…+json`.
pub(crate) fn is_json(media: &str) -> bool {
    let media = essence(media);
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

/// The kind of body a request media type (lowercase essence) is.
pub(crate) fn kind_of(media: &str) -> Kind {
    if is_json(media) {
        Kind::Json
    } else if media == "application/x-www-form-urlencoded" {
        Kind::Form
    } else if media == "multipart/form-data" {
        Kind::Multipart
    } else {
        Kind::Other
    }
}

/// The lowercase essence of a media type (`Text/HTML; charset=x` → `text/html`).
pub(crate) fn essence(media: &str) -> String {
    media
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Whether `media` (a request's essence) falls in `range` (a spec key:
/// exact, `type/*` or `*/*`).
pub(crate) fn matches(range: &str, media: &str) -> bool {
    range == media
        || range == "*/*"
        || range
            .strip_suffix("/*")
            .is_some_and(|t| media.split_once('/').is_some_and(|(mt, _)| mt == t))
}

/// The rule for `media` among `bodies`: exact match first, then the
/// narrowest range.
pub(crate) fn find<'a>(
    bodies: &'a BTreeMap<String, BodyRule>,
    media: &str,
) -> Option<&'a BodyRule> {
    bodies.get(media).or_else(|| {
        bodies
            .iter()
            .filter(|(range, _)| range.as_str() != "*/*" && matches(range, media))
            .map(|(_, r)| r)
            .next()
            .or_else(|| bodies.get("*/*"))
    })
}

impl BodyRule {
    /// Compiles the rule of one media type (its `schema`, at `pointer`).
    pub(crate) fn compile(
        spec: &Spec,
        schema: Option<&Json>,
        pointer: &str,
        options: &Options,
    ) -> Result<BodyRule, SpecError> {
        let doc = &spec.document;
        let compiled = schema
            .map(|s| compile(spec, s, pointer, options))
            .transpose()?;
        let shape = schema.map_or(Shape::Free, |s| typing::shape(doc, s));
        let mut fields = BTreeMap::new();
        let mut other = Field {
            prim: Prim::String,
            array: false,
            typed: false,
        };
        if let Some(s) = schema {
            if let Json::Object(props) = typing::sub(doc, s, "properties") {
                for (name, p) in props {
                    fields.insert(name.clone(), field(doc, p));
                }
            }
            let additional = typing::sub(doc, s, "additionalProperties");
            if additional.is_object() {
                other = field(doc, additional);
            }
        }
        Ok(BodyRule {
            schema: compiled,
            shape: Arc::new(shape),
            fields,
            other,
        })
    }

    /// Validates `body`, sent as `content_type`, into `validated`.
    pub(crate) fn check(
        &self,
        body: &[u8],
        content_type: &str,
        limits: &Limits,
        violations: &mut Vec<Violation>,
        validated: &mut Validated,
        cap: usize,
    ) {
        let mut refuse = |reason: &str| {
            violations.push(Violation {
                pointer: "/body".into(),
                reason: reason.into(),
            });
        };
        let mut texts = Vec::new();
        let kind = kind_of(&essence(content_type));
        let value = match kind {
            Kind::Other => return,
            Kind::Json => match json::parse(body, limits) {
                Ok(value) => value,
                Err(reason) => return refuse(&reason),
            },
            Kind::Form => {
                let Ok(text) = std::str::from_utf8(body) else {
                    return refuse("is not UTF-8 text");
                };
                let pairs = match Pairs::parse(text, limits.max_properties) {
                    Ok(pairs) => pairs,
                    Err(reason) => return refuse(reason),
                };
                let mut fields = Vec::with_capacity(pairs.pairs.len());
                for (name, raw) in pairs.pairs {
                    match decode(raw, true) {
                        Ok(text) => fields.push((name, text, false)),
                        Err(reason) => return refuse(reason),
                    }
                }
                match self.object(fields, violations, &mut texts, cap) {
                    Some(value) => value,
                    None => return,
                }
            }
            Kind::Multipart => {
                let Some(boundary) = multipart::boundary(content_type) else {
                    return refuse("has no multipart boundary");
                };
                let parts = match multipart::parse(body, boundary, limits.max_parts) {
                    Ok(parts) => parts,
                    Err(reason) => return refuse(reason),
                };
                let mut fields = Vec::with_capacity(parts.len());
                for part in parts {
                    let file = part.filename.is_some();
                    let text = match std::str::from_utf8(part.data) {
                        Ok(text) => text.to_owned(),
                        Err(_) if file => String::from_utf8_lossy(part.data).into_owned(),
                        Err(_) => {
                            violations.push(Violation {
                                pointer: format!("/body/{}", safe_segment(&escape(&part.name))),
                                reason: "is not UTF-8 text".into(),
                            });
                            return;
                        }
                    };
                    fields.push((part.name, text, file));
                }
                match self.object(fields, violations, &mut texts, cap) {
                    Some(value) => value,
                    None => return,
                }
            }
        };
        let before = violations.len();
        if let Some(schema) = &self.schema {
            schema.check(&value, "/body", violations, cap);
        }
        if violations.len() > before {
            return;
        }
        validated.values.extend(texts);
        if kind == Kind::Json {
            validated.json = Some(value);
            validated.json_shape = Some(Arc::clone(&self.shape));
        }
    }

    /// Form fields (name, text, is a file) as an object coerced by the schema;
    /// `None` after a violation.
    fn object(
        &self,
        fields: Vec<(String, String, bool)>,
        violations: &mut Vec<Violation>,
        texts: &mut Vec<Value>,
        cap: usize,
    ) -> Option<Json> {
        let mut map = Map::new();
        let mut ok = true;
        for (name, text, file) in fields {
            let field = self.fields.get(&name).copied().unwrap_or(self.other);
            let pointer = format!("/body/{}", safe_segment(&escape(&name)));
            let mut fail = |reason: &str| {
                if violations.len() < cap {
                    violations.push(Violation {
                        pointer: pointer.clone(),
                        reason: reason.into(),
                    });
                }
            };
            let coerced = if file {
                Ok(Json::String(text.clone()))
            } else {
                coerce(&text, field.prim)
            };
            let value = match coerced {
                Ok(value) => value,
                Err(reason) => {
                    fail(reason);
                    ok = false;
                    continue;
                }
            };
            match map.get_mut(&name) {
                Some(Json::Array(items)) if field.array => items.push(value),
                Some(_) => {
                    fail("is repeated");
                    ok = false;
                    continue;
                }
                None if field.array => {
                    map.insert(name.clone(), Json::Array(vec![value]));
                }
                None => {
                    map.insert(name.clone(), value);
                }
            }
            if !self.fields.contains_key(&name) {
                texts.push(Value {
                    pointer: "/body".into(),
                    text: name,
                    typed: false,
                });
            }
            if !file {
                texts.push(Value {
                    pointer,
                    text,
                    typed: field.typed,
                });
            }
        }
        ok.then_some(Json::Object(map))
    }
}

/// How a form field of schema `schema` is coerced.
fn field(doc: &Json, schema: &Json) -> Field {
    let array = typing::layout(doc, schema) == super::style::Layout::Array;
    let item = if array {
        typing::sub(doc, schema, "items")
    } else {
        schema
    };
    Field {
        prim: typing::prim(doc, item),
        array,
        typed: typing::typed(doc, item),
    }
}
