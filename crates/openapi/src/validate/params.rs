//! Parameters (path, query, header, cookie): compiled from the spec, then
//! read from a request in their style, coerced to their schema's types and
//! validated.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::schema::{Compiled, compile, resolve};
use super::style::{self, Decoded, Layout, Pairs, Style};
use super::typing::{self, Prim};
use super::{Limits, Options, Value, Violation, json, reason::safe_segment};
use crate::{Operation, Spec, SpecError, load::invalid, refs::escape};

/// Where a parameter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum In {
    Path,
    Query,
    Header,
    Cookie,
}

impl In {
    fn parse(name: &str) -> Option<In> {
        Some(match name {
            "path" => In::Path,
            "query" => In::Query,
            "header" => In::Header,
            "cookie" => In::Cookie,
            _ => return None,
        })
    }

    fn key(self) -> &'static str {
        match self {
            In::Path => "path",
            In::Query => "query",
            In::Header => "header",
            In::Cookie => "cookie",
        }
    }
}

/// How a parameter's text becomes a value: the layout, primitive types and
/// typed flags of the whole, the array items, the object properties.
#[derive(Debug)]
struct Coercion {
    layout: Layout,
    prim: Prim,
    typed: bool,
    properties: BTreeMap<String, (Prim, bool)>,
    other: (Prim, bool),
}

/// One compiled parameter.
#[derive(Debug)]
pub(crate) struct Param {
    name: String,
    location: In,
    /// `/query/name` …: the root of its violations and values.
    pointer: String,
    header: Option<http::HeaderName>,
    style: Style,
    explode: bool,
    required: bool,
    allow_empty: bool,
    /// `content` with a JSON media type: the value is a JSON document.
    json_content: bool,
    coercion: Coercion,
    property_names: Vec<String>,
    schema: Option<Compiled>,
}

/// The parameters of the operation: the path item's, overridden by the
/// operation's with the same name and location.
pub(crate) fn compile_all(
    spec: &Spec,
    op: &Operation,
    options: &Options,
) -> Result<Vec<Param>, SpecError> {
    let doc = &spec.document;
    let item_pointer = op.pointer.rsplit_once('/').map_or("", |(p, _)| p);
    let mut found: Vec<(String, In, &Json, String)> = Vec::new();
    for owner in [item_pointer, op.pointer.as_str()] {
        let Some(Json::Array(list)) = doc.pointer(&format!("{owner}/parameters")) else {
            continue;
        };
        for (i, raw) in list.iter().enumerate() {
            let site = format!("{owner}/parameters/{i}");
            let (param, at) = resolve(doc, raw);
            let at = at.unwrap_or(site);
            let name = param.get("name").and_then(Json::as_str);
            let location = param.get("in").and_then(Json::as_str).and_then(In::parse);
            let (Some(name), Some(location)) = (name, location) else {
                return Err(invalid(
                    &spec.source,
                    &at,
                    "a parameter needs a `name` and a valid `in`",
                ));
            };
            found.retain(|(n, l, _, _)| !(n == name && *l == location));
            found.push((name.to_owned(), location, param, at));
        }
    }
    let mut params = Vec::new();
    for (name, location, param, at) in found {
        if location == In::Header
            && ["accept", "content-type", "authorization"]
                .contains(&name.to_ascii_lowercase().as_str())
        {
            continue; // OpenAPI: such header parameters are ignored.
        }
        params.push(compile_one(spec, name, location, param, &at, options)?);
    }
    Ok(params)
}

fn compile_one(
    spec: &Spec,
    name: String,
    location: In,
    param: &Json,
    at: &str,
    options: &Options,
) -> Result<Param, SpecError> {
    let doc = &spec.document;
    let flag = |key: &str| param.get(key).and_then(Json::as_bool);
    let default_style = match location {
        In::Path | In::Header => Style::Simple,
        In::Query | In::Cookie => Style::Form,
    };
    let style = match param.get("style").and_then(Json::as_str) {
        Some(s) => Style::parse(s).ok_or_else(|| {
            invalid(
                &spec.source,
                &format!("{at}/style"),
                format!("unknown style `{s}`"),
            )
        })?,
        None => default_style,
    };
    let (schema, schema_at, json_content) = match (param.get("schema"), param.get("content")) {
        (Some(schema), _) => (Some(schema), format!("{at}/schema"), false),
        (None, Some(Json::Object(content))) => match content.iter().next() {
            Some((media, m)) => (
                m.get("schema"),
                format!("{at}/content/{}/schema", escape(media)),
                super::body::is_json(media),
            ),
            None => (None, String::new(), false),
        },
        _ => (None, String::new(), false),
    };
    let compiled = schema
        .map(|s| compile(spec, s, &schema_at, options))
        .transpose()?;
    let coercion = match schema {
        Some(s) if !json_content => coercion(doc, s),
        _ => Coercion {
            layout: Layout::Primitive,
            prim: Prim::String,
            typed: false,
            properties: BTreeMap::new(),
            other: (Prim::String, false),
        },
    };
    let header = match location {
        In::Header => Some(
            http::HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).map_err(|_| {
                invalid(
                    &spec.source,
                    at,
                    "the parameter name is not a valid header name",
                )
            })?,
        ),
        _ => None,
    };
    Ok(Param {
        pointer: format!("/{}/{}", location.key(), escape(&name)),
        property_names: coercion.properties.keys().cloned().collect(),
        explode: flag("explode").unwrap_or(style == Style::Form),
        required: flag("required").unwrap_or(false) || location == In::Path,
        allow_empty: flag("allowEmptyValue").unwrap_or(false),
        name,
        location,
        header,
        style,
        json_content,
        coercion,
        schema: compiled,
    })
}

fn coercion(doc: &Json, schema: &Json) -> Coercion {
    let layout = typing::layout(doc, schema);
    let item = match layout {
        Layout::Array => typing::sub(doc, schema, "items"),
        _ => schema,
    };
    let mut properties = BTreeMap::new();
    let mut other = (Prim::String, false);
    if layout == Layout::Object {
        if let Json::Object(props) = typing::sub(doc, schema, "properties") {
            for (name, s) in props {
                properties.insert(name.clone(), (typing::prim(doc, s), typing::typed(doc, s)));
            }
        }
        let additional = typing::sub(doc, schema, "additionalProperties");
        if additional.is_object() {
            other = (
                typing::prim(doc, additional),
                typing::typed(doc, additional),
            );
        }
    }
    Coercion {
        layout,
        prim: typing::prim(doc, item),
        typed: typing::typed(doc, item),
        properties,
        other,
    }
}

/// Coerces `text` to `prim`; the reason when it does not fit.
pub(crate) fn coerce(text: &str, prim: Prim) -> Result<Json, &'static str> {
    match prim {
        Prim::String => Ok(Json::String(text.to_owned())),
        Prim::Integer => text
            .parse::<i64>()
            .map(Json::from)
            .or_else(|_| text.parse::<u64>().map(Json::from))
            .map_err(|_| "must be an integer"),
        Prim::Number => text
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .and_then(|n| {
                if let Ok(i) = text.parse::<i64>() {
                    return Some(Json::from(i));
                }
                serde_json::Number::from_f64(n).map(Json::Number)
            })
            .ok_or("must be a number"),
        Prim::Boolean => match text {
            "true" => Ok(Json::Bool(true)),
            "false" => Ok(Json::Bool(false)),
            _ => Err("must be true or false"),
        },
    }
}

/// What the request offers for parameters, parsed once.
pub(crate) struct Sources<'a> {
    pub(crate) path: &'a [(&'a str, &'a str)],
    pub(crate) query: Pairs<'a>,
    pub(crate) headers: &'a http::HeaderMap,
    pub(crate) cookies: Vec<(&'a str, &'a str)>,
}

/// The violations and decoded values of one request's parameters.
pub(crate) struct Outcome<'o> {
    pub(crate) violations: &'o mut Vec<Violation>,
    pub(crate) values: &'o mut Vec<Value>,
    pub(crate) cap: usize,
    pub(crate) limits: &'o Limits,
}

impl Outcome<'_> {
    fn violation(&mut self, pointer: String, reason: impl Into<String>) {
        if self.violations.len() < self.cap {
            self.violations.push(Violation {
                pointer,
                reason: reason.into(),
            });
        }
    }
}

impl Param {
    /// Reads, coerces and validates this parameter from `sources`.
    pub(crate) fn check(&self, sources: &mut Sources<'_>, out: &mut Outcome<'_>) {
        let decoded = match self.read(sources) {
            Ok(Some(decoded)) => decoded,
            Ok(None) => {
                if self.required {
                    out.violation(self.pointer.clone(), "is required");
                }
                return;
            }
            Err(reason) => return out.violation(self.pointer.clone(), reason),
        };
        if self.allow_empty && matches!(&decoded, Decoded::Primitive(t) if t.is_empty()) {
            return;
        }
        if self.json_content {
            let Decoded::Primitive(text) = decoded else {
                return;
            };
            match json::parse(text.as_bytes(), out.limits) {
                Ok(value) => {
                    let before = out.violations.len();
                    if let Some(schema) = &self.schema {
                        schema.check(&value, &self.pointer, out.violations, out.cap);
                    }
                    if out.violations.len() == before {
                        out.values.push(Value {
                            pointer: self.pointer.clone(),
                            text,
                            typed: false,
                        });
                    }
                }
                Err(reason) => out.violation(self.pointer.clone(), reason),
            }
            return;
        }
        let c = &self.coercion;
        let mut texts: Vec<(String, String, bool)> = Vec::new();
        let value = match decoded {
            Decoded::Primitive(text) => {
                let v = coerce(&text, c.prim).map_err(|r| (self.pointer.clone(), r));
                texts.push((self.pointer.clone(), text, c.typed));
                v
            }
            Decoded::Array(items) => {
                let mut array = Vec::with_capacity(items.len());
                let mut failed = None;
                for (i, text) in items.into_iter().enumerate() {
                    let pointer = format!("{}/{i}", self.pointer);
                    match coerce(&text, c.prim) {
                        Ok(v) => array.push(v),
                        Err(r) => failed = failed.or(Some((pointer.clone(), r))),
                    }
                    texts.push((pointer, text, c.typed));
                }
                failed.map_or(Ok(Json::Array(array)), Err)
            }
            Decoded::Object(pairs) => {
                let mut map = serde_json::Map::new();
                let mut failed = None;
                for (key, text) in pairs {
                    let (prim, typed) = c.properties.get(&key).copied().unwrap_or(c.other);
                    let pointer = format!("{}/{}", self.pointer, safe_segment(&escape(&key)));
                    if map.contains_key(&key) {
                        failed = failed.or(Some((pointer.clone(), "is repeated")));
                    }
                    match coerce(&text, prim) {
                        Ok(v) => {
                            map.insert(key.clone(), v);
                        }
                        Err(r) => failed = failed.or(Some((pointer.clone(), r))),
                    }
                    if !c.properties.contains_key(&key) {
                        // A name the client chose is text for inspection too.
                        texts.push((self.pointer.clone(), key, false));
                    }
                    texts.push((pointer, text, typed));
                }
                failed.map_or(Ok(Json::Object(map)), Err)
            }
        };
        let before = out.violations.len();
        match value {
            Ok(value) => {
                if let Some(schema) = &self.schema {
                    schema.check(&value, &self.pointer, out.violations, out.cap);
                }
            }
            Err((pointer, reason)) => out.violation(pointer, reason),
        }
        if out.violations.len() == before {
            out.values
                .extend(texts.into_iter().map(|(pointer, text, typed)| Value {
                    pointer,
                    text,
                    typed,
                }));
        }
    }

    /// The parameter's value in its style; `None` when absent.
    fn read(&self, sources: &mut Sources<'_>) -> Result<Option<Decoded>, style::Malformed> {
        let layout = self.coercion.layout;
        match self.location {
            In::Path => match sources.path.iter().find(|(n, _)| *n == self.name) {
                Some((_, raw)) => {
                    style::path(self.style, self.explode, layout, &self.name, raw).map(Some)
                }
                None => Ok(None),
            },
            In::Query => sources.query.query(
                self.style,
                self.explode,
                layout,
                &self.name,
                &self.property_names,
            ),
            In::Header => {
                let Some(name) = &self.header else {
                    return Ok(None);
                };
                let mut joined: Option<String> = None;
                for value in sources.headers.get_all(name) {
                    let text = value.to_str().map_err(|_| "must be visible ASCII text")?;
                    match &mut joined {
                        Some(j) => {
                            j.push(',');
                            j.push_str(text);
                        }
                        None => joined = Some(text.to_owned()),
                    }
                }
                joined
                    .map(|j| style::header(self.explode, layout, &j))
                    .transpose()
            }
            In::Cookie => {
                let mut found = sources.cookies.iter().filter(|(n, _)| *n == self.name);
                match (found.next(), found.next()) {
                    (Some(_), Some(_)) => Err("is repeated"),
                    (Some((_, raw)), None) => style::cookie(self.explode, layout, raw).map(Some),
                    (None, _) => Ok(None),
                }
            }
        }
    }
}
