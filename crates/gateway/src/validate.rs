//! The validate stage: the request held to the spec (parameters, content type,
//! body, sizes), with the contracts compiled once per operation at load.
//!
//! The spec is the policy: a request whose parameters or body the spec does not
//! allow is refused with a 400 problem listing each violation as a JSON pointer
//! and a reason (never the value); a body of a media type the operation does
//! not accept is a 415. Overlays in config patch the spec before anything is
//! compiled from it (routes, policies, validators).

use std::collections::HashMap;
use std::sync::Arc;

use portcullis_openapi::validate::{Contract, Invalid, Limits, Options, OverlayAction};
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::config::Checker;
use crate::config::units::Bytes;
use crate::problem::Reject;

/// `apis[].validation` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawValidation {
    /// Validate requests against the spec (default true).
    #[serde(default)]
    enabled: Option<bool>,
    /// Objects without `additionalProperties` are closed (mass assignment).
    #[serde(default)]
    strict: Option<bool>,
    /// `allow` (default) or `reject` query parameters the spec does not declare.
    #[serde(default)]
    unknown_query: Option<Spanned<String>>,
    #[serde(default)]
    limits: RawBodyLimits,
    /// Patches applied to the spec before anything is compiled from it.
    #[serde(default)]
    pub(crate) overlays: Vec<RawOverlay>,
}

/// Body limits, checked while parsing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBodyLimits {
    #[serde(default)]
    max_body_bytes: Option<Bytes>,
    #[serde(default)]
    max_depth: Option<usize>,
    #[serde(default)]
    max_string_bytes: Option<Bytes>,
    #[serde(default)]
    max_array_items: Option<usize>,
    #[serde(default)]
    max_properties: Option<usize>,
    #[serde(default)]
    max_parts: Option<usize>,
}

/// One overlay action: a JSON pointer into the spec, and what to do there.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOverlay {
    target: Spanned<String>,
    #[serde(default)]
    update: Option<serde_json::Value>,
    #[serde(default)]
    remove: Option<bool>,
}

/// The compiled contracts of an API's operations, by route operation id.
#[derive(Debug, Default)]
pub struct Contracts {
    /// Operation id (as `route::Operation::id`) → its contract.
    pub by_operation: HashMap<Arc<str>, Arc<Contract>>,
    /// Whether requests are validated (responses are protected regardless).
    pub validate_requests: bool,
    /// The API's body limit, when it sets one below the global limit.
    pub max_body_bytes: Option<u64>,
    /// Strict mode: objects are closed, and a body sent to an operation that
    /// declares none is refused.
    pub strict: bool,
}

impl Contracts {
    /// The contract of an operation.
    pub fn get(&self, operation: &str) -> Option<&Arc<Contract>> {
        self.by_operation.get(operation)
    }

    /// The contract requests of `operation` are validated against, if they are.
    pub fn for_requests(&self, operation: &str) -> Option<&Contract> {
        if self.validate_requests {
            self.get(operation).map(|c| &**c)
        } else {
            None
        }
    }
}

/// The spec with the API's overlays applied (the spec itself when it has none).
/// Errors name the overlay's line in the config file.
pub(crate) fn overlay(
    c: &mut Checker<'_>,
    field: &str,
    raw: Option<&RawValidation>,
    spec: Arc<portcullis_openapi::Spec>,
) -> Option<Arc<portcullis_openapi::Spec>> {
    let Some(overlays) = raw.map(|r| &r.overlays).filter(|o| !o.is_empty()) else {
        return Some(spec);
    };
    let mut doc = spec.document.clone();
    for (i, o) in overlays.iter().enumerate() {
        let at = format!("{field}.validation.overlays[{i}]");
        let remove = o.remove.unwrap_or(false);
        if remove == o.update.is_some() {
            c.error(
                Some(&o.target),
                at,
                "an overlay action needs exactly one of `update` or `remove: true`",
            );
            return None;
        }
        let action = OverlayAction {
            target: o.target.value.clone(),
            update: o.update.clone(),
            remove,
        };
        if let Err(e) = portcullis_openapi::validate::apply_overlay(&mut doc, &[action]) {
            c.error(Some(&o.target), at, e);
            return None;
        }
    }
    let text = doc.to_string();
    match portcullis_openapi::parse(&text, &spec.source) {
        Ok(patched) => Some(Arc::new(patched)),
        Err(e) => {
            c.error(
                overlays.first().map(|o| &o.target),
                format!("{field}.validation.overlays"),
                format!("the spec with its overlays applied is not valid: {e}"),
            );
            None
        }
    }
}

/// Compiles an API's contracts (its spec already overlaid).
pub(crate) fn build(
    c: &mut Checker<'_>,
    field: &str,
    raw: Option<&RawValidation>,
    spec: Option<&portcullis_openapi::Spec>,
) -> Option<Arc<Contracts>> {
    let spec = spec?;
    let default = RawValidation::default();
    let raw = raw.unwrap_or(&default);
    let reject_unknown_query = match raw.unknown_query.as_ref().map(|s| s.value.as_str()) {
        None | Some("allow") => false,
        Some("reject") => true,
        Some(other) => {
            c.error(
                raw.unknown_query.as_ref(),
                format!("{field}.validation.unknown_query"),
                format!("`{other}` is not allow or reject"),
            );
            false
        }
    };
    let d = Limits::default();
    let l = &raw.limits;
    let size = |b: Option<Bytes>, default: usize| {
        b.map_or(default, |b| usize::try_from(b.0).unwrap_or(usize::MAX))
    };
    let strict = raw.strict.unwrap_or(false);
    let options = Options {
        strict,
        reject_unknown_query,
        limits: Limits {
            max_depth: l.max_depth.unwrap_or(d.max_depth),
            max_string_bytes: size(l.max_string_bytes, d.max_string_bytes),
            max_array_items: l.max_array_items.unwrap_or(d.max_array_items),
            max_properties: l.max_properties.unwrap_or(d.max_properties),
            max_parts: l.max_parts.unwrap_or(d.max_parts),
        },
    };
    let mut by_operation = HashMap::new();
    for op in &spec.operations {
        let id: Arc<str> = match &op.operation_id {
            Some(id) => id.as_str().into(),
            None => format!("{} {}", op.method.as_str(), op.path).into(),
        };
        match Contract::compile(spec, op, &options) {
            Ok(contract) => {
                by_operation.insert(id, Arc::new(contract));
            }
            Err(e) => {
                c.error::<()>(None, format!("{field}.spec"), e.to_string());
            }
        }
    }
    Some(Arc::new(Contracts {
        by_operation,
        validate_requests: raw.enabled.unwrap_or(true),
        max_body_bytes: l.max_body_bytes.map(|b| b.0),
        strict,
    }))
}

/// The violation of a body sent, in strict mode, to an operation that
/// declares none (data the spec does not describe must not reach the service).
pub fn unexpected_body() -> Invalid {
    Invalid::Violations(vec![portcullis_openapi::validate::Violation {
        pointer: "/body".into(),
        reason: "is not allowed: the operation takes no request body".into(),
    }])
}

/// A contract's refusal as the problem the client gets.
pub fn reject(invalid: Invalid) -> Reject {
    match invalid {
        Invalid::UnsupportedMediaType { accepted } => Reject::UnsupportedMediaType { accepted },
        Invalid::Violations(violations) => Reject::Invalid { violations },
    }
}

/// The metric outcome of a refusal.
pub fn outcome(invalid: &Invalid) -> &'static str {
    match invalid {
        Invalid::UnsupportedMediaType { .. } => "unsupported-media-type",
        Invalid::Violations(_) => "invalid",
    }
}

/// The validate stage: a violation is a 400 (a media type the operation does
/// not accept a 415) unless the API is in monitor mode. What validation decoded
/// goes on to inspection. `unexpected_body`: strict mode, and a body came for
/// an operation that declares none.
#[allow(clippy::too_many_arguments)]
pub(crate) fn stage(
    gw: &crate::Gateway,
    api: &crate::runtime::ApiRuntime,
    op: &crate::route::Operation,
    contract: &portcullis_openapi::validate::Contract,
    path_params: &[(&str, &str)],
    parts: &http::request::Parts,
    body: Option<&[u8]>,
    unexpected_body: bool,
    ex: &mut crate::exchange::Exchange,
) -> Result<Option<portcullis_openapi::validate::Validated>, Reject> {
    let req = portcullis_openapi::validate::Request {
        path_params,
        query: parts.uri.query(),
        headers: &parts.headers,
        body,
    };
    let checked = if unexpected_body {
        Err(self::unexpected_body())
    } else {
        contract.validate(&req)
    };
    match checked {
        Ok(v) => Ok(Some(v)),
        Err(invalid) => {
            let enforced = api.cfg.mode == crate::config::Mode::Enforce;
            gw.metrics
                .contract(&api.name, &op.id, "validation", outcome(&invalid), enforced);
            let reject = reject(invalid);
            if enforced {
                return Err(reject);
            }
            ex.monitored.get_or_insert(reject);
            Ok(None)
        }
    }
}
