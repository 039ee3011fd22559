//! The Cedar model of one API, built from its OpenAPI spec and its config, and
//! written out as a Cedar schema (principal types, one action and one resource
//! type per operation, the context record).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::str::FromStr;

use cedar_policy::EntityTypeName;
use portcullis_openapi::{Method, Spec};
use serde_json::Value;

use crate::Error;

mod spec;

pub(crate) use spec::{body_type, parameter_type, pointer_tokens};

/// The principal entity types, all members of `Role`.
pub(crate) const PRINCIPAL_TYPES: [&str; 5] = ["User", "ApiKey", "Service", "Signer", "Anonymous"];
/// The role entity type (principal parents).
pub(crate) const ROLE: &str = "Role";
/// The common type of every action's context.
const CONTEXT: &str = "Context";

/// Names a resource type may not take: the fixed types above, the schema's
/// type keywords, Cedar's reserved words and variables, extension types.
const RESERVED: &str = "User ApiKey Service Signer Anonymous Role Context Action Bool Boolean \
    Entity Extension Long Record Set String true false if then else in is like has principal \
    action resource context ipaddr decimal datetime duration";

/// Whether `name` is one of [`RESERVED`].
fn is_reserved(name: &str) -> bool {
    RESERVED.split_whitespace().any(|r| r == name)
}

/// The attribute types config can declare or that the model infers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttrType {
    String,
    Long,
    Bool,
    SetString,
    SetLong,
    /// Only for static resource attributes (`[true, false]`).
    SetBool,
}

impl AttrType {
    /// Parses a declared type (`String`, `Long`, `Bool`, `Set<String>`, `Set<Long>`).
    pub(crate) fn parse(text: &str) -> Option<AttrType> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        match compact.as_str() {
            "String" => Some(AttrType::String),
            "Long" => Some(AttrType::Long),
            "Bool" | "Boolean" => Some(AttrType::Bool),
            "Set<String>" => Some(AttrType::SetString),
            "Set<Long>" => Some(AttrType::SetLong),
            _ => None,
        }
    }

    /// Whether values are sets (ownership then uses `contains`).
    pub(crate) fn is_set(self) -> bool {
        matches!(
            self,
            AttrType::SetString | AttrType::SetLong | AttrType::SetBool
        )
    }

    /// The type in Cedar schema syntax.
    fn cedar(self) -> &'static str {
        match self {
            AttrType::String => "String",
            AttrType::Long => "Long",
            AttrType::Bool => "Bool",
            AttrType::SetString => "Set<String>",
            AttrType::SetLong => "Set<Long>",
            AttrType::SetBool => "Set<Bool>",
        }
    }
}

/// The attributes every principal has: name, type, required.
pub(crate) const PRINCIPAL_BASE: [(&str, AttrType, bool); 7] = [
    ("sub", AttrType::String, true),
    ("iss", AttrType::String, true),
    ("method", AttrType::String, true),
    ("roles", AttrType::SetString, true),
    ("scopes", AttrType::SetString, true),
    ("mfa", AttrType::Bool, true),
    ("tenant", AttrType::String, false),
];

/// Where a resource attribute's value comes from at decision time.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Source {
    /// The request path (the `path` attribute).
    RequestPath,
    /// A path parameter, by template name.
    Path(String),
    /// A query parameter, by name.
    Query(String),
    /// A JSON pointer into the request body.
    Body(String),
    /// A constant from config.
    Static(Value),
}

/// One attribute of an operation's resource type.
#[derive(Debug, Clone)]
pub(crate) struct ResourceAttr {
    pub(crate) name: String,
    pub(crate) ty: AttrType,
    pub(crate) required: bool,
    pub(crate) source: Source,
}

/// One operation as Cedar sees it: an action and a resource type.
#[derive(Debug)]
pub(crate) struct OpModel {
    /// The action id (`operationId`, or `METHOD /path`).
    pub(crate) action: String,
    /// The resource entity type.
    pub(crate) type_name: String,
    pub(crate) method: Method,
    /// The path template (for the schema's comments).
    pub(crate) path: String,
    pub(crate) tags: Vec<String>,
    pub(crate) attrs: Vec<ResourceAttr>,
}

impl OpModel {
    /// The action groups the action is a member of.
    pub(crate) fn groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = self.tags.iter().map(|t| format!("tag:{t}")).collect();
        groups.push(format!("method:{}", self.method.as_str()));
        groups.push(
            if is_read(self.method) {
                "read"
            } else {
                "write"
            }
            .to_owned(),
        );
        groups
    }

    /// The attribute called `name`, if any.
    pub(crate) fn attr(&self, name: &str) -> Option<&ResourceAttr> {
        self.attrs.iter().find(|a| a.name == name)
    }

    /// Adds an attribute; a name already taken is an error message.
    pub(crate) fn add_attr(&mut self, attr: ResourceAttr) -> Result<(), String> {
        if self.attr(&attr.name).is_some() {
            return Err(format!(
                "operation `{}` already has a resource attribute `{}`",
                self.action, attr.name
            ));
        }
        self.attrs.push(attr);
        Ok(())
    }

    /// Whether `name` is one of the path template's parameters.
    pub(crate) fn has_path_param(&self, name: &str) -> bool {
        self.attrs
            .iter()
            .any(|a| matches!(&a.source, Source::Path(p) if p == name))
    }
}

/// `GET`, `HEAD` and `OPTIONS` read; the rest write.
pub(crate) fn is_read(method: Method) -> bool {
    matches!(method, Method::Get | Method::Head | Method::Options)
}

/// The whole model: operations, declared principal attributes, exposed headers.
#[derive(Debug)]
pub(crate) struct Model {
    pub(crate) operations: Vec<OpModel>,
    /// Declared (and auto-declared) principal attributes, all optional.
    pub(crate) claims: BTreeMap<String, AttrType>,
    /// Lower-case header names exposed in `context.headers`.
    pub(crate) headers: Vec<String>,
}

impl Model {
    /// The operations of `spec`, each with its action id, resource type, the
    /// `path` attribute and its path parameters.
    pub(crate) fn from_spec(spec: &Spec, errors: &mut Vec<Error>) -> Model {
        let mut operations: Vec<OpModel> = spec
            .operations
            .iter()
            .map(|op| {
                let action = op
                    .operation_id
                    .clone()
                    .unwrap_or_else(|| format!("{} {}", op.method.as_str(), op.path));
                let mut attrs = vec![ResourceAttr {
                    name: "path".to_owned(),
                    ty: AttrType::String,
                    required: true,
                    source: Source::RequestPath,
                }];
                for name in op.path_params() {
                    if name == "path" {
                        errors.push(spec_error(format!(
                            "operation `{action}`: a path parameter named `path` collides with the \
                             resource's `path` attribute"
                        )));
                        continue;
                    }
                    attrs.push(ResourceAttr {
                        name: name.to_owned(),
                        ty: parameter_type(spec, op, "path", name).unwrap_or(AttrType::String),
                        required: true,
                        source: Source::Path(name.to_owned()),
                    });
                }
                OpModel {
                    action,
                    type_name: String::new(),
                    method: op.method,
                    path: op.path.clone(),
                    tags: op.tags.clone(),
                    attrs,
                }
            })
            .collect();
        assign_type_names(&mut operations, errors);
        let groups: BTreeSet<String> = operations.iter().flat_map(OpModel::groups).collect();
        for op in &operations {
            if groups.contains(&op.action) || op.action == "read" || op.action == "write" {
                errors.push(spec_error(format!(
                    "operationId `{}` collides with the action group of the same name",
                    op.action
                )));
            }
        }
        Model {
            operations,
            claims: BTreeMap::new(),
            headers: Vec::new(),
        }
    }

    /// The operation whose action id is `action`.
    pub(crate) fn position(&self, action: &str) -> Option<usize> {
        self.operations.iter().position(|op| op.action == action)
    }

    /// Makes operation `i` expose query parameter `name` as the (optional)
    /// resource attribute of the same name, typed from the spec.
    pub(crate) fn ensure_query(&mut self, spec: &Spec, i: usize, name: &str) -> Result<(), String> {
        let op = &mut self.operations[i];
        if let Some(attr) = op.attr(name) {
            if attr.source == Source::Query(name.to_owned()) {
                return Ok(());
            }
            return Err(format!(
                "operation `{}` already has a resource attribute `{name}`",
                op.action
            ));
        }
        let ty = parameter_type(spec, &spec.operations[i], "query", name).ok_or_else(|| {
            format!(
                "operation `{}` has no query parameter `{name}` in the spec",
                op.action
            )
        })?;
        op.add_attr(ResourceAttr {
            name: name.to_owned(),
            ty,
            required: false,
            source: Source::Query(name.to_owned()),
        })
    }

    /// Makes operation `i` expose the body value at `pointer` as the
    /// (optional) resource attribute `name`, typed from the spec.
    pub(crate) fn ensure_body(
        &mut self,
        spec: &Spec,
        i: usize,
        name: &str,
        pointer: &str,
    ) -> Result<(), String> {
        let op = &mut self.operations[i];
        let source = Source::Body(pointer.to_owned());
        if let Some(attr) = op.attr(name)
            && attr.source == source
        {
            return Ok(());
        }
        if let Some(other) = op.attrs.iter().find(|a| a.source == source) {
            return Err(format!(
                "operation `{}` maps body field `{pointer}` as `{}`; use the same name on every \
                 operation the rule selects",
                op.action, other.name
            ));
        }
        op.add_attr(ResourceAttr {
            name: name.to_owned(),
            ty: body_type(spec, &spec.operations[i], pointer),
            required: false,
            source,
        })
    }

    /// The name one of `operations` already gives the body field at `pointer`.
    pub(crate) fn body_attr_name(
        &self,
        operations: &BTreeSet<usize>,
        pointer: &str,
    ) -> Option<String> {
        let source = Source::Body(pointer.to_owned());
        operations.iter().find_map(|&i| {
            self.operations[i]
                .attrs
                .iter()
                .find(|a| a.source == source)
                .map(|a| a.name.clone())
        })
    }

    /// The type of a principal attribute (base or declared) and whether it is required.
    pub(crate) fn principal_attr(&self, name: &str) -> Option<(AttrType, bool)> {
        PRINCIPAL_BASE
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, ty, required)| (*ty, *required))
            .or_else(|| self.claims.get(name).map(|ty| (*ty, false)))
    }

    /// The Cedar schema, in Cedar schema syntax (empty namespace): the text
    /// policy authors read is the very text the validator is built from.
    pub(crate) fn schema_text(&self) -> String {
        let mut out = String::from(
            "// Generated by Portcullis from the OpenAPI spec and the authorization config.\n\n",
        );
        let mut principal: Vec<(&str, AttrType, bool)> = PRINCIPAL_BASE.to_vec();
        principal.extend(self.claims.iter().map(|(n, ty)| (n.as_str(), *ty, false)));
        let _ = writeln!(out, "entity {ROLE};");
        let _ = writeln!(
            out,
            "entity {} in [{ROLE}] = {};\n",
            PRINCIPAL_TYPES.join(", "),
            record(&principal, "")
        );
        let headers: Vec<(&str, AttrType, bool)> = self
            .headers
            .iter()
            .map(|h| (h.as_str(), AttrType::String, false))
            .collect();
        let headers = record(&headers, "  ");
        let _ = writeln!(
            out,
            "type {CONTEXT} = {{\n  ip: ipaddr,\n  tls: Bool,\n  mtls: Bool,\n  mfa: Bool,\n  \
             authenticated: Bool,\n  tokenAge?: Long,\n  time: Long,\n  hour: Long,\n  \
             weekday: Long,\n  scopes: Set<String>,\n  headers: {headers}\n}};\n"
        );
        let mut groups = vec!["read".to_owned(), "write".to_owned()];
        for op in &self.operations {
            for group in op.groups() {
                if !groups.contains(&group) {
                    groups.push(group);
                }
            }
        }
        let groups: Vec<String> = groups.iter().map(|g| quote(g)).collect();
        let _ = writeln!(out, "action {};", groups.join(", "));
        for op in &self.operations {
            let attrs: Vec<(&str, AttrType, bool)> = op
                .attrs
                .iter()
                .map(|a| (a.name.as_str(), a.ty, a.required))
                .collect();
            let member_of: Vec<String> = op.groups().iter().map(|g| quote(g)).collect();
            let _ = write!(
                out,
                "\n// {} {}\nentity {} = {};\naction {} in [{}] appliesTo {{\n  \
                 principal: [{}],\n  resource: [{}],\n  context: {CONTEXT}\n}};\n",
                op.method.as_str(),
                op.path,
                op.type_name,
                record(&attrs, ""),
                quote(&op.action),
                member_of.join(", "),
                PRINCIPAL_TYPES.join(", "),
                op.type_name,
            );
        }
        out
    }
}

/// A record type, one attribute a line, indented by `indent`.
fn record(attrs: &[(&str, AttrType, bool)], indent: &str) -> String {
    if attrs.is_empty() {
        return "{}".to_owned();
    }
    let lines: Vec<String> = attrs
        .iter()
        .map(|(name, ty, required)| {
            let name = if is_plain(name) {
                (*name).to_owned()
            } else {
                quote(name)
            };
            let optional = if *required { "" } else { "?" };
            format!("{indent}  {name}{optional}: {}", ty.cedar())
        })
        .collect();
    format!("{{\n{}\n{indent}}}", lines.join(",\n"))
}

/// A Cedar string literal (policies and schemas share the syntax).
pub(crate) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A name Cedar accepts bare (after `.` and `has`, as an attribute in a
/// schema): an ASCII identifier that is not a keyword.
pub(crate) fn is_plain(name: &str) -> bool {
    const KEYWORDS: [&str; 19] = [
        "true",
        "false",
        "if",
        "then",
        "else",
        "in",
        "is",
        "like",
        "has",
        "principal",
        "action",
        "resource",
        "context",
        "entity",
        "type",
        "namespace",
        "appliesTo",
        "tags",
        "enum",
    ];
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.contains(&name)
        && !name.starts_with("__cedar")
}

/// A problem with the spec as a Cedar model (no YAML position to give).
fn spec_error(message: String) -> Error {
    Error {
        file: None,
        line: None,
        column: None,
        field: "authorization".to_owned(),
        message,
    }
}

/// Gives each operation a resource type name: the action id when it is a
/// usable identifier, else a sanitised one (`Op_` prefixed when it starts with
/// a digit or collides). Usable ids go first so that they keep their names.
fn assign_type_names(operations: &mut [OpModel], errors: &mut Vec<Error>) {
    let mut taken: BTreeSet<String> = BTreeSet::new();
    let mut pending = Vec::new();
    for (i, op) in operations.iter_mut().enumerate() {
        if is_usable_type_name(&op.action) && !taken.contains(&op.action) {
            op.type_name = op.action.clone();
            taken.insert(op.action.clone());
        } else {
            pending.push(i);
        }
    }
    for i in pending {
        let op = &mut operations[i];
        let mut name: String = op
            .action
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let digit = name.starts_with(|c: char| c.is_ascii_digit());
        if name.is_empty() || digit || taken.contains(&name) || !is_usable_type_name(&name) {
            name = format!("Op_{name}");
        }
        if taken.contains(&name) || !is_usable_type_name(&name) {
            errors.push(spec_error(format!(
                "operation `{}`: its resource type name `{name}` is already taken; give it a \
                 distinct operationId",
                op.action
            )));
        }
        taken.insert(name.clone());
        op.type_name = name;
    }
}

/// An ASCII identifier that Cedar accepts as an entity type name.
fn is_usable_type_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !is_reserved(name)
        && !name.contains("__cedar")
        && EntityTypeName::from_str(name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_parse() {
        assert_eq!(AttrType::parse("Set< String >"), Some(AttrType::SetString));
        assert_eq!(AttrType::parse("Long"), Some(AttrType::Long));
        assert_eq!(AttrType::parse("Decimal"), None);
    }

    #[test]
    fn pointers_decode_and_reject_bad_escapes() {
        assert_eq!(pointer_tokens(""), Some(vec![]));
        assert_eq!(
            pointer_tokens("/a~1b/c~0"),
            Some(vec!["a/b".to_owned(), "c~".to_owned()])
        );
        assert_eq!(pointer_tokens("a"), None);
        assert_eq!(pointer_tokens("/a~2"), None);
    }

    #[test]
    fn quotes_escape() {
        assert_eq!(quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\u{a}\"");
    }

    #[test]
    fn type_names_are_identifiers() {
        assert!(is_usable_type_name("getAccount"));
        assert!(!is_usable_type_name("get-account"));
        assert!(!is_usable_type_name("User"));
        assert!(!is_usable_type_name("1x"));
    }
}
