//! The spec as a positive security model: validators compiled once per
//! operation for its parameters and request bodies, and the response rules
//! (`writeOnly` and undocumented properties, declared content types).
//!
//! ```no_run
//! use portcullis_openapi::validate::{Contract, Options, Request};
//! let spec = portcullis_openapi::load(std::path::Path::new("openapi.yaml"))?;
//! let contract = Contract::compile(&spec, &spec.operations[0], &Options::default())?;
//! let headers = http::HeaderMap::new();
//! let req = Request { path_params: &[], query: Some("limit=10"), headers: &headers, body: None };
//! match contract.validate(&req) {
//!     Ok(valid) => println!("{} values", valid.values.len()),
//!     Err(invalid) => println!("{invalid:?}"),
//! }
//! # Ok::<(), portcullis_openapi::SpecError>(())
//! ```
//!
//! Schemas are compiled with `jsonschema` (default features off: no remote
//! `$ref` is ever fetched) using the `regex` crate for `pattern`, so matching
//! request data is linear-time. OpenAPI 3.0 schemas are translated to JSON
//! Schema 2020-12 first (`nullable`, boolean `exclusiveMinimum`, …); 3.1
//! schemas are 2020-12 already.

mod body;
mod json;
mod multipart;
mod overlay;
mod params;
mod reason;
mod response;
mod schema;
mod shape;
mod style;
mod typing;

use std::collections::BTreeMap;

pub use overlay::{OverlayAction, apply_overlay};
pub use response::{ContentType, ResponseRules};
pub use shape::Shape;

use crate::{Operation, Spec, SpecError, load::invalid, refs::escape};

/// The most violations reported for one request (the rest are not looked for).
pub const MAX_VIOLATIONS: usize = 32;

/// The most `name=value` pairs read from a query string or a form body
/// before the request is refused.
const MAX_QUERY_PAIRS: usize = 1_000;

/// How strictly requests are held to the spec, and the parsing limits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Objects whose schema says nothing about `additionalProperties` are
    /// closed (mass assignment): an unknown property is a violation.
    pub strict: bool,
    /// A query parameter the operation does not declare is a violation.
    pub reject_unknown_query: bool,
    /// Limits checked while a body is parsed, before anything is allocated for it.
    pub limits: Limits,
}

/// Limits on a request body, checked while it is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of arrays and objects (default 32).
    pub max_depth: usize,
    /// Longest string, in bytes after unescaping (default 64 KiB).
    pub max_string_bytes: usize,
    /// Most items in one array (default 10,000).
    pub max_array_items: usize,
    /// Most properties in one object (default 1,000).
    pub max_properties: usize,
    /// Most parts in a multipart body (default 100).
    pub max_parts: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 32,
            max_string_bytes: 64 * 1024,
            max_array_items: 10_000,
            max_properties: 1_000,
            max_parts: 100,
        }
    }
}

/// What a request brings, as received (path parameter values and the query
/// still percent-encoded).
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The path template's parameters, by name, raw (percent-encoded).
    pub path_params: &'a [(&'a str, &'a str)],
    /// The raw query string (without `?`).
    pub query: Option<&'a str>,
    /// The request headers (cookies are read from `Cookie`; the body's media
    /// type from `Content-Type`).
    pub headers: &'a http::HeaderMap,
    /// The whole body, when the operation has one and it was read.
    pub body: Option<&'a [u8]>,
}

/// One way a request breaks the contract: where (a JSON pointer rooted at the
/// request part: `/path/accountId`, `/query/limit`, `/header/X-Trace`,
/// `/cookie/session`, `/body/items/0/amount`), and why, without the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where, as a JSON pointer (`/body` for the body as a whole).
    pub pointer: String,
    /// Why, in words that never quote the offending value.
    pub reason: String,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// The body's `Content-Type` is not one the operation accepts (a 415).
    UnsupportedMediaType {
        /// The media types the operation accepts.
        accepted: Vec<String>,
    },
    /// The request breaks the contract (a 400): every violation found, in order.
    Violations(Vec<Violation>),
}

/// A value of a request, decoded and found valid.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// Where it came from: `/query/q`, `/path/id`, `/header/x-name`, `/cookie/c`,
    /// `/body/...` (form and multipart fields).
    pub pointer: String,
    /// The decoded text (after `style`/`explode` deserialization, before type coercion).
    pub text: String,
    /// Whether its schema already pins it down (integer, number, boolean,
    /// enum, const, or a format such as `uuid`, `date-time`, `email`): such a
    /// value need not be inspected for injection.
    pub typed: bool,
}

/// A valid request's decoded parts, for the injection detectors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Validated {
    /// Every parameter value and form/multipart text field, decoded.
    pub values: Vec<Value>,
    /// The body, parsed as JSON, when its media type is JSON.
    pub json: Option<serde_json::Value>,
    /// Which strings of `json` are typed (see [`Shape`]).
    pub json_shape: Option<std::sync::Arc<Shape>>,
}

/// One operation's compiled contract.
#[derive(Debug)]
pub struct Contract {
    params: Vec<params::Param>,
    /// Media type (lowercase essence, e.g. `application/json`, or a range such
    /// as `application/*`) → body rules.
    bodies: BTreeMap<String, body::BodyRule>,
    body_required: bool,
    options: Options,
    responses: ResponseRules,
}

impl Contract {
    /// Compiles the validators of `op` (parameters of the path item and the
    /// operation, request bodies per media type, response rules).
    ///
    /// Errors name the spec file and the JSON pointer of the schema that
    /// could not be compiled.
    pub fn compile(spec: &Spec, op: &Operation, options: &Options) -> Result<Contract, SpecError> {
        let doc = &spec.document;
        let Some(operation) = doc.pointer(&op.pointer) else {
            return Err(invalid(
                &spec.source,
                &op.pointer,
                "the operation is not in the document",
            ));
        };
        let params = params::compile_all(spec, op, options)?;
        let mut bodies = BTreeMap::new();
        let mut body_required = false;
        if let Some(raw) = operation.get("requestBody") {
            let (request_body, at) = schema::resolve(doc, raw);
            let at = at.unwrap_or_else(|| format!("{}/requestBody", op.pointer));
            body_required = request_body
                .get("required")
                .and_then(serde_json::Value::as_bool)
                == Some(true);
            if let Some(serde_json::Value::Object(content)) = request_body.get("content") {
                for (media, m) in content {
                    let pointer = format!("{at}/content/{}/schema", escape(media));
                    let rule = body::BodyRule::compile(spec, m.get("schema"), &pointer, options)?;
                    bodies.insert(body::essence(media), rule);
                }
            }
        }
        Ok(Contract {
            params,
            bodies,
            body_required,
            options: options.clone(),
            responses: ResponseRules::compile(doc, operation),
        })
    }

    /// Whether validating needs the body read (the operation declares one).
    pub fn needs_body(&self) -> bool {
        !self.bodies.is_empty()
    }

    /// The media types the operation accepts for its body (lowercase, as in
    /// the spec: ranges such as `application/*` included).
    pub fn accepted(&self) -> Vec<String> {
        self.bodies.keys().cloned().collect()
    }

    /// Validates a request; on success, its decoded values for inspection.
    ///
    /// Every parameter is checked and then the body, collecting up to
    /// [`MAX_VIOLATIONS`] violations. A body whose `Content-Type` the
    /// operation does not accept is refused outright
    /// ([`Invalid::UnsupportedMediaType`]).
    pub fn validate(&self, req: &Request<'_>) -> Result<Validated, Invalid> {
        let cap = MAX_VIOLATIONS;
        let mut violations = Vec::new();
        let mut validated = Validated::default();
        let content_type = req
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let body = req.body.filter(|b| !b.is_empty());
        let rule = match (body, self.bodies.is_empty()) {
            (Some(_), false) => {
                match content_type.and_then(|ct| body::find(&self.bodies, &body::essence(ct))) {
                    Some(rule) => Some(rule),
                    None => {
                        return Err(Invalid::UnsupportedMediaType {
                            accepted: self.accepted(),
                        });
                    }
                }
            }
            _ => None,
        };
        let query = style::Pairs::parse(req.query.unwrap_or(""), MAX_QUERY_PAIRS).unwrap_or_else(
            |reason| {
                violations.push(Violation {
                    pointer: "/query".into(),
                    reason: reason.into(),
                });
                style::Pairs {
                    pairs: Vec::new(),
                    claimed: Vec::new(),
                }
            },
        );
        let cookies = req
            .headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(style::cookies)
            .collect();
        let mut sources = params::Sources {
            path: req.path_params,
            query,
            headers: req.headers,
            cookies,
        };
        let mut outcome = params::Outcome {
            violations: &mut violations,
            values: &mut validated.values,
            cap,
            limits: &self.options.limits,
        };
        for param in &self.params {
            param.check(&mut sources, &mut outcome);
        }
        self.unknown_query(&sources.query, &mut violations, &mut validated.values);
        match (rule, body) {
            (Some(rule), Some(body)) => rule.check(
                body,
                content_type.unwrap_or_default(),
                &self.options.limits,
                &mut violations,
                &mut validated,
                cap,
            ),
            _ if self.body_required && !self.bodies.is_empty() => {
                violations.push(Violation {
                    pointer: "/body".into(),
                    reason: "is required".into(),
                });
            }
            _ => {}
        }
        if violations.is_empty() {
            Ok(validated)
        } else {
            violations.truncate(cap);
            Err(Invalid::Violations(violations))
        }
    }

    /// Query parameters no declared parameter claimed: violations in
    /// `reject_unknown_query` mode, else values to inspect (they reach the
    /// upstream all the same).
    fn unknown_query(
        &self,
        query: &style::Pairs<'_>,
        violations: &mut Vec<Violation>,
        values: &mut Vec<Value>,
    ) {
        for (name, raw) in query.unclaimed() {
            let pointer = format!("/query/{}", reason::safe_segment(&escape(name)));
            if self.options.reject_unknown_query {
                if violations.len() < MAX_VIOLATIONS {
                    violations.push(Violation {
                        pointer,
                        reason: "is not a parameter of this operation".into(),
                    });
                }
                continue;
            }
            if !reason::is_plain(name) {
                values.push(Value {
                    pointer: "/query".into(),
                    text: name.clone(),
                    typed: false,
                });
            }
            let text = style::decode(raw, true).unwrap_or_else(|_| (*raw).to_owned());
            values.push(Value {
                pointer,
                text,
                typed: false,
            });
        }
    }

    /// The operation's response rules.
    pub fn responses(&self) -> &ResponseRules {
        &self.responses
    }
}
