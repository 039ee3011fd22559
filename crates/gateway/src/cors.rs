//! CORS per API: an explicit origin allow-list (never a reflected wildcard
//! with credentials), preflights answered by the gateway.
//!
//! For an API with `cors:`, the gateway owns the CORS headers: the upstream's
//! `Access-Control-*` response headers are dropped, and the gateway's are set
//! on every response of the API, problem documents included.
//! - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`)
//!   is answered here, before authentication (a preflight carries no
//!   credentials) and whatever the spec documents for `OPTIONS`: `204` with
//!   the CORS headers, or a `403 cors-refused` problem for an origin, method
//!   or header that is not allowed (counted, audited).
//! - Any other request from an allowed origin gets `Access-Control-Allow-Origin`
//!   with that origin, `Vary: Origin`, and the credentials and exposed headers
//!   configured. A request from another origin is not refused (the browser
//!   enforces CORS; the server's other checks apply as usual), it gets no CORS
//!   headers.
//!
//! The API's `mode` does not apply: CORS headers decide what a browser lets a
//! page read, there is nothing to monitor.

mod config;
#[cfg(test)]
mod tests;

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};

use crate::Gateway;
use crate::body::{self, Body};
use crate::exchange::Exchange;
use crate::problem::Reject;
use crate::runtime::Runtime;

pub(crate) use config::{RawCors, build};

/// Most headers a preflight may ask for (bounded work on client input).
const MAX_REQUESTED_HEADERS: usize = 64;

/// Which origins may read the API's responses.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origins {
    /// `*`: any origin, without credentials.
    Any,
    /// Exact serialized origins (`scheme://host[:port]`, lower case, no default port).
    List(Vec<String>),
}

/// An API's compiled CORS rules.
#[derive(Debug)]
pub struct Cors {
    origins: Origins,
    /// The methods a preflight may ask for; `None`: those the spec documents for the path.
    methods: Option<Vec<Method>>,
    /// `Access-Control-Allow-Methods` when `methods` is configured.
    allow_methods: Option<HeaderValue>,
    /// Allowed request headers, lower case.
    headers: Vec<String>,
    /// `Access-Control-Allow-Headers`, when any header is allowed.
    allow_headers: Option<HeaderValue>,
    /// `Access-Control-Expose-Headers`, when some are.
    expose_headers: Option<HeaderValue>,
    credentials: bool,
    /// `Access-Control-Max-Age`.
    max_age: HeaderValue,
}

impl Cors {
    /// The `Access-Control-Allow-Origin` value for a request's `Origin`, when
    /// that origin is allowed.
    fn allow_origin(&self, origin: &HeaderValue) -> Option<HeaderValue> {
        match &self.origins {
            Origins::Any => Some(HeaderValue::from_static("*")),
            Origins::List(list) => {
                let o = origin.to_str().ok()?;
                list.iter()
                    .any(|a| a.eq_ignore_ascii_case(o))
                    .then(|| origin.clone())
            }
        }
    }

    /// Sets the CORS headers of a response (idempotent: a preflight answer
    /// passes here again).
    pub fn finish(&self, headers: &mut HeaderMap, origin: Option<&HeaderValue>) {
        if self.origins != Origins::Any {
            // The answer depends on the origin: shared caches must know.
            add_vary(headers, "origin");
        }
        let Some(allowed) = origin.and_then(|o| self.allow_origin(o)) else {
            return;
        };
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
        if self.credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(v) = &self.expose_headers {
            headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v.clone());
        }
    }

    /// Checks a preflight against the rules; the `204` answer when allowed.
    fn answer(
        &self,
        origin: &HeaderValue,
        method: &Method,
        requested_headers: &HeaderMap,
    ) -> Result<Response<Body>, &'static str> {
        let Some(allowed) = self.allow_origin(origin) else {
            return Err("origin not allowed");
        };
        if self.methods.as_ref().is_some_and(|m| !m.contains(method)) {
            return Err("method not allowed");
        }
        let mut asked = 0usize;
        for value in requested_headers.get_all(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            let text = value.to_str().map_err(|_| "header not allowed")?;
            for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                asked += 1;
                if asked > MAX_REQUESTED_HEADERS
                    || !self.headers.iter().any(|h| h.eq_ignore_ascii_case(name))
                {
                    return Err("header not allowed");
                }
            }
        }
        let mut resp = Response::new(body::empty());
        *resp.status_mut() = StatusCode::NO_CONTENT;
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
        if self.credentials {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        let methods = match &self.allow_methods {
            Some(v) => v.clone(),
            None => HeaderValue::from_str(method.as_str()).map_err(|_| "method not allowed")?,
        };
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, methods);
        if let Some(v) = &self.allow_headers {
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v.clone());
        }
        h.insert(header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        add_vary(h, "origin");
        add_vary(h, "access-control-request-method");
        add_vary(h, "access-control-request-headers");
        Ok(resp)
    }
}

/// Adds `name` to `Vary` unless it (or `*`) is already there.
fn add_vary(headers: &mut HeaderMap, name: &'static str) {
    let present = headers.get_all(header::VARY).iter().any(|v| {
        v.to_str().is_ok_and(|s| {
            s.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t.eq_ignore_ascii_case(name))
        })
    });
    if !present {
        headers.append(header::VARY, HeaderValue::from_static(name));
    }
}

/// Drops the upstream's CORS headers: for an API with `cors:`, the gateway's
/// rules are the only ones (an upstream's `*` must not widen them).
pub fn strip_upstream(headers: &mut HeaderMap) {
    let names: Vec<_> = headers
        .keys()
        .filter(|n| n.as_str().starts_with("access-control-"))
        .cloned()
        .collect();
    for n in names {
        headers.remove(n);
    }
}

/// Whether a request is a CORS preflight: its `Origin` and requested method.
fn preflight_of<B>(req: &Request<B>) -> Option<(&HeaderValue, Method)> {
    if req.method() != Method::OPTIONS {
        return None;
    }
    let origin = req.headers().get(header::ORIGIN)?;
    let method = req.headers().get(header::ACCESS_CONTROL_REQUEST_METHOD)?;
    Some((origin, Method::from_bytes(method.as_bytes()).ok()?))
}

/// Answers a CORS preflight for an API with `cors:`; `None` when the request
/// is not one (or its path belongs to no such API: routing goes on as usual).
///
/// The path is routed with the method the preflight asks about (`OPTIONS`
/// itself is rarely documented). A method the spec does not document for the
/// path is refused like one the config does not allow.
pub fn preflight<B>(
    gw: &Gateway,
    rt: &Runtime,
    req: &Request<B>,
    path: &str,
    ex: &mut Exchange,
) -> Option<Result<Response<Body>, Reject>> {
    let (origin, method) = preflight_of(req)?;
    let (op, documented) = match rt.router.route(&method, path) {
        Ok(op) => (op.clone(), true),
        Err(Reject::MethodNotAllowed { allow }) => {
            // Another operation of the path names the API.
            let other = allow.split(',').next()?.trim();
            let m = Method::from_bytes(other.as_bytes()).ok()?;
            (rt.router.route(&m, path).ok()?.clone(), false)
        }
        Err(_) => return None,
    };
    let api = &rt.apis[op.api];
    let cors = api.cfg.cors.as_deref()?;
    let outcome = if documented {
        cors.answer(origin, &method, req.headers())
    } else {
        Err("method not allowed")
    };
    if documented {
        ex.operation = Some(op.clone());
    }
    Some(outcome.map_err(|why| {
        let operation = if documented { &*op.id } else { "" };
        let slug = why.split(' ').next().unwrap_or(why);
        gw.metrics
            .contract(&api.name, operation, "cors", slug, true);
        Reject::CorsRefused(why)
    }))
}
