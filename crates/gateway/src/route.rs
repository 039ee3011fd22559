//! Routing: host-independent match of method + canonical path to an API operation.
//!
//! Every documented path template of every API goes into one radix tree (matchit,
//! whose `{param}` syntax is OpenAPI's). A path no API documents is a 404; a known
//! path with an undocumented method is a 405 with `Allow`.

use std::sync::Arc;

use http::Method;

use crate::config::{ApiConfig, ConfigError};
use crate::metrics::{Metrics, RouteMetrics};
use crate::problem::Reject;

/// One routable operation.
#[derive(Debug)]
pub struct Operation {
    /// Index of the API in the runtime.
    pub api: usize,
    /// `operationId`, or `METHOD template` when the spec gives none; `*` for prefix routes.
    pub id: Arc<str>,
    /// The full path template (base path included) — the only path used in labels.
    pub template: Arc<str>,
    /// The credentials the spec requires.
    pub security: Security,
    /// The spec marks the operation deprecated.
    pub deprecated: bool,
    /// This operation's metric handles.
    pub metrics: RouteMetrics,
}

/// What an operation requires, as its spec states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Security {
    /// Anyone: `security: []`, an empty alternative `{}`, or a prefix route of an
    /// API without a spec.
    Public,
    /// The spec states no `security` at all (neither the operation nor the root).
    Unstated,
    /// Any one alternative (OR) whose schemes (AND) all verify, each with its
    /// scopes. A scheme is an index into the spec's `securitySchemes` in name order.
    Required(Vec<Vec<(usize, Vec<String>)>>),
}

impl Security {
    fn of(op: &portcullis_openapi::Operation, spec: &portcullis_openapi::Spec) -> Security {
        let Some(alts) = &op.security else {
            return Security::Unstated;
        };
        if alts.is_empty() || alts.iter().any(|r| r.is_empty()) {
            return Security::Public;
        }
        let index = |name: &str| spec.security_schemes.keys().position(|k| k == name);
        Security::Required(
            alts.iter()
                .map(|req| {
                    req.iter()
                        // Declared schemes only (checked at spec load); an unknown one
                        // gets an index no scheme has, so it can never verify.
                        .map(|(name, scopes)| (index(name).unwrap_or(usize::MAX), scopes.clone()))
                        .collect()
                })
                .collect(),
        )
    }
}

/// Operations by method; `None` = any method (prefix routes).
type MethodOps = Vec<(Option<Method>, Arc<Operation>)>;

#[derive(Debug)]
struct Entry {
    /// Operations by method; `None` method = any method (prefix routes).
    ops: MethodOps,
    allow: String,
}

/// The compiled routing table.
#[derive(Debug, Default)]
pub struct Router {
    tree: matchit::Router<usize>,
    entries: Vec<Entry>,
}

impl Router {
    /// Builds the table from the APIs; a conflict between templates is a config error.
    pub fn build(
        apis: &[ApiConfig],
        file: &std::path::Path,
        metrics: &Metrics,
    ) -> Result<Router, Vec<ConfigError>> {
        let mut r = Router::default();
        let mut errors = Vec::new();
        for (i, api) in apis.iter().enumerate() {
            let field = format!("apis[{i}]");
            let Some(spec) = &api.spec else {
                let any = |template: String| {
                    let op = Operation {
                        api: i,
                        id: "*".into(),
                        template: template.clone().into(),
                        security: Security::Public,
                        deprecated: false,
                        metrics: metrics.route(&api.name, "*", &template),
                    };
                    (template, vec![(None, Arc::new(op))])
                };
                let base = if api.base_path.is_empty() {
                    "/".to_owned()
                } else {
                    api.base_path.clone()
                };
                for (template, ops) in [
                    any(base.clone()),
                    any(format!("{}/{{*rest}}", api.base_path)),
                ] {
                    if let Err(e) = r.insert(&template, ops) {
                        errors.push(ConfigError::at(file, None, &field, e));
                    }
                }
                continue;
            };
            let mut by_path: Vec<(String, MethodOps)> = Vec::new();
            for op in &spec.operations {
                let template = format!("{}{}", api.base_path, op.path);
                let method = Method::from_bytes(op.method.as_str().as_bytes()).ok();
                let id: Arc<str> = match &op.operation_id {
                    Some(id) => id.as_str().into(),
                    None => format!("{} {}", op.method.as_str(), op.path).into(),
                };
                let security = Security::of(op, spec);
                let metrics = metrics.route(&api.name, &id, &template);
                let o = Arc::new(Operation {
                    api: i,
                    id,
                    template: template.as_str().into(),
                    security,
                    deprecated: op.deprecated,
                    metrics,
                });
                match by_path.iter_mut().find(|(t, _)| *t == template) {
                    Some((_, ops)) => ops.push((method, o)),
                    None => by_path.push((template, vec![(method, o)])),
                }
            }
            for (template, ops) in by_path {
                if let Err(e) = r.insert(&template, ops) {
                    errors.push(ConfigError::at(file, None, format!("{field}.spec"), e));
                }
            }
        }
        if errors.is_empty() {
            Ok(r)
        } else {
            Err(errors)
        }
    }

    fn insert(&mut self, template: &str, ops: MethodOps) -> Result<(), String> {
        let mut methods: Vec<&str> = ops
            .iter()
            .filter_map(|(m, _)| m.as_ref().map(Method::as_str))
            .collect();
        methods.sort_unstable();
        let allow = methods.join(", ");
        self.tree
            .insert(template, self.entries.len())
            .map_err(|e| format!("path `{template}` cannot be routed: {e}"))?;
        self.entries.push(Entry { ops, allow });
        Ok(())
    }

    /// Finds the operation for a method and a canonical path.
    pub fn route(&self, method: &Method, path: &str) -> Result<&Arc<Operation>, Reject> {
        self.lookup(method, path).map(|(op, _)| op)
    }

    /// Like [`route`](Self::route), with the path parameters as matched.
    pub fn lookup<'r, 'p>(
        &'r self,
        method: &Method,
        path: &'p str,
    ) -> Result<(&'r Arc<Operation>, matchit::Params<'r, 'p>), Reject> {
        let m = self.tree.at(path).map_err(|_| Reject::NotFound)?;
        let entry = &self.entries[*m.value];
        entry
            .ops
            .iter()
            .find(|(m, _)| m.as_ref().is_none_or(|m| m == method))
            .map(|(_, op)| (op, m.params))
            .ok_or_else(|| Reject::MethodNotAllowed {
                allow: entry.allow.clone(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Mode;

    fn api(name: &str, base: &str, spec: &str) -> ApiConfig {
        let spec =
            portcullis_openapi::parse(spec, std::path::Path::new("spec.yaml")).expect("spec");
        ApiConfig {
            name: name.into(),
            spec: Some(Arc::new(spec)),
            base_path: base.into(),
            strip_base_path: false,
            upstream: "u".into(),
            mode: Mode::Enforce,
            replace_upstream_errors: true,
            security: Default::default(),
            public_by_default: false,
            identity: crate::config::IdentityOptions {
                headers: true,
                token: false,
                forward_credentials: false,
            },
            authorization: None,
            contracts: None,
            inspection: None,
            protection: None,
            cors: None,
            traffic: None,
            logins: None,
        }
    }

    const SPEC: &str = "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /a/{id}:\n    get: {operationId: getA, responses: {'200': {description: ok}}}\n    delete: {operationId: delA, security: [{k: []}], responses: {'200': {description: ok}}}\n  /a/me:\n    get: {operationId: me, security: [{}, {k: []}], responses: {'200': {description: ok}}}\ncomponents: {securitySchemes: {k: {type: apiKey, name: k, in: header}}}\n";

    #[test]
    fn routes_by_template_with_static_segments_first() {
        let r = Router::build(
            &[api("x", "/x", SPEC)],
            std::path::Path::new("c"),
            &Metrics::new(),
        )
        .expect("router");
        assert_eq!(&*r.route(&Method::GET, "/x/a/me").expect("me").id, "me");
        assert_eq!(&*r.route(&Method::GET, "/x/a/42").expect("getA").id, "getA");
        let (_, params) = r.lookup(&Method::GET, "/x/a/42").expect("getA");
        assert_eq!(params.iter().collect::<Vec<_>>(), [("id", "42")]);
        assert_eq!(
            r.route(&Method::DELETE, "/x/a/42").expect("delA").security,
            Security::Required(vec![vec![(0, vec![])]])
        );
        assert_eq!(
            r.route(&Method::GET, "/x/a/me").expect("me").security,
            Security::Public,
            "an empty alternative means anonymous is allowed"
        );
        assert_eq!(
            r.route(&Method::GET, "/x/a/42").expect("getA").security,
            Security::Unstated
        );
        assert_eq!(r.route(&Method::GET, "/a/42").err(), Some(Reject::NotFound));
        assert_eq!(
            r.route(&Method::GET, "/x/a/42/").err(),
            Some(Reject::NotFound)
        );
        assert_eq!(
            r.route(&Method::POST, "/x/a/42").err(),
            Some(Reject::MethodNotAllowed {
                allow: "DELETE, GET".into()
            })
        );
    }

    #[test]
    fn two_apis_claiming_one_path_is_a_config_error() {
        let err = Router::build(
            &[api("x", "", SPEC), api("y", "", SPEC)],
            std::path::Path::new("c.yaml"),
            &Metrics::new(),
        )
        .expect_err("conflict");
        assert_eq!(err[0].field, "apis[1].spec");
        assert!(err[0].message.contains("conflict"), "{}", err[0].message);
    }
}
