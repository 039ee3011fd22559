//! One operation of a spec (a method on a path template) and its HTTP method.

use std::collections::BTreeMap;
use std::fmt;

/// One alternative of a `security` list: security scheme name → required
/// scopes (empty for schemes without scopes).
///
/// All schemes of one requirement must be satisfied together; a request
/// needs to satisfy any one requirement of the list. An empty map (`{}` in
/// the spec) is an alternative that needs no credentials at all.
pub type SecurityRequirement = BTreeMap<String, Vec<String>>;

/// One operation: a method on a path template, with what the gateway needs
/// to route it and decide its security.
///
/// What the gateway can rely on for [`path`](Self::path) (checked at load):
/// - it starts with `/` and has no `?` or `#`;
/// - every `{` is closed by a `}` in the same segment, no nesting;
/// - every parameter name is non-empty, unique in the path, has no `/`, `{`
///   or `}` and does not start with `*` (matchit's catch-all marker);
/// - a segment holds at most one parameter, alone (`/{id}`) or with a
///   literal prefix and/or suffix (`/img-{id}.png`). Two parameters in one
///   segment (`/{name}.{ext}`) are valid OpenAPI but refused, because
///   matchit 0.9 cannot route them;
/// - no two paths of the spec differ only by parameter names.
///
/// So the template can be inserted into a matchit 0.9 router as it is; the
/// syntax is the same. matchit may still refuse combinations of routes it
/// finds ambiguous (e.g. `/{x}a` beside `/a{x}` in the same position).
/// Paths are relative to the API's base path: `servers` is ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// The HTTP method.
    pub method: Method,
    /// The path template exactly as in the spec, e.g. `/accounts/{accountId}`.
    pub path: String,
    /// `operationId`, if any (unique in the document: checked at load).
    pub operation_id: Option<String>,
    /// `summary`, if any.
    pub summary: Option<String>,
    /// `tags` (empty if absent).
    pub tags: Vec<String>,
    /// `deprecated` (false if absent).
    pub deprecated: bool,
    /// The operation's `security` if it has one, else the root `security`,
    /// else `None` (the spec says nothing). `Some(vec![])` means the
    /// operation is explicitly public. Every scheme name is declared in
    /// `components/securitySchemes` (checked at load).
    pub security: Option<Vec<SecurityRequirement>>,
    /// JSON pointer of the operation object in [`Spec::document`](crate::Spec::document),
    /// e.g. `/paths/~1accounts~1{accountId}/get`.
    ///
    /// When the path item is a `$ref`, this points at the resolved location
    /// (e.g. `/components/pathItems/Account/get`), so two paths that share one
    /// path item have operations with the same pointer.
    pub pointer: String,
}

impl Operation {
    /// The names of the path template's parameters, in order:
    /// `/a/{x}/b/{y}` gives `["x", "y"]`.
    pub fn path_params(&self) -> Vec<&str> {
        self.path
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect()
    }
}

/// The HTTP methods an OpenAPI 3.0/3.1 path item can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// `GET`
    Get,
    /// `PUT`
    Put,
    /// `POST`
    Post,
    /// `DELETE`
    Delete,
    /// `OPTIONS`
    Options,
    /// `HEAD`
    Head,
    /// `PATCH`
    Patch,
    /// `TRACE`
    Trace,
}

impl Method {
    /// Every method, in the order the OpenAPI specification lists them.
    pub const ALL: [Method; 8] = [
        Method::Get,
        Method::Put,
        Method::Post,
        Method::Delete,
        Method::Options,
        Method::Head,
        Method::Patch,
        Method::Trace,
    ];

    /// The method as sent on the wire: `"GET"`, `"PUT"` …
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Head => "HEAD",
            Method::Patch => "PATCH",
            Method::Trace => "TRACE",
        }
    }

    /// The method for a path item key (`"get"`, `"put"` … lowercase only,
    /// as OpenAPI spells them); `None` for any other key.
    pub fn from_spec_key(key: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| {
            m.as_str().eq_ignore_ascii_case(key) && key.bytes().all(|b| b.is_ascii_lowercase())
        })
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_keys_are_lowercase_only() {
        assert_eq!(Method::from_spec_key("get"), Some(Method::Get));
        assert_eq!(Method::from_spec_key("trace"), Some(Method::Trace));
        assert_eq!(Method::from_spec_key("GET"), None);
        assert_eq!(Method::from_spec_key("parameters"), None);
        assert_eq!(Method::Delete.as_str(), "DELETE");
    }

    #[test]
    fn path_params_in_order() {
        let op = Operation {
            method: Method::Get,
            path: "/a/{x}/b/img-{y}.png".into(),
            operation_id: None,
            summary: None,
            tags: vec![],
            deprecated: false,
            security: None,
            pointer: String::new(),
        };
        assert_eq!(op.path_params(), ["x", "y"]);
    }
}
