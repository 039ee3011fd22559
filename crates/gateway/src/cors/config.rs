//! `apis[].cors`: parsed, checked (origins are exact `scheme://host[:port]`,
//! `*` never with credentials) and compiled into header values.

use std::sync::Arc;
use std::time::Duration;

use http::header::HeaderValue;
use http::{HeaderName, Method};
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{Cors, Origins};
use crate::config::Checker;
use crate::config::units::Span;

/// `Access-Control-Max-Age` when none is configured: ten minutes.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(600);

/// Request headers allowed when none are configured.
const DEFAULT_HEADERS: [&str; 2] = ["authorization", "content-type"];

/// `apis[].cors` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCors {
    /// Exact origins, or `["*"]`.
    #[serde(default)]
    origins: Vec<Spanned<String>>,
    /// Methods a preflight may ask for (default: what the spec documents for the path).
    #[serde(default)]
    methods: Option<Vec<Spanned<String>>>,
    /// Request headers a page may send (default `authorization`, `content-type`).
    #[serde(default)]
    headers: Option<Vec<Spanned<String>>>,
    /// Response headers a page may read besides the safelisted ones.
    #[serde(default)]
    expose_headers: Vec<Spanned<String>>,
    /// Whether a page may send cookies and credentials (default false).
    #[serde(default)]
    credentials: Option<Spanned<bool>>,
    /// How long a browser may cache a preflight answer (default 10m).
    #[serde(default)]
    max_age: Option<Span>,
}

/// Compiles an API's CORS rules.
pub(crate) fn build(
    c: &mut Checker<'_>,
    field: &str,
    raw: Option<&RawCors>,
    spec: Option<&portcullis_openapi::Spec>,
) -> Option<Arc<Cors>> {
    let _ = spec;
    let raw = raw?;
    let field = format!("{field}.cors");
    let mut failed = false;
    let credentials = raw.credentials.as_ref().is_some_and(|c| c.value);

    let mut list = Vec::new();
    let mut any = None;
    for (i, o) in raw.origins.iter().enumerate() {
        let at = format!("{field}.origins[{i}]");
        if o.value.trim() == "*" {
            any = Some(o);
            continue;
        }
        match origin(&o.value) {
            Ok(canonical) => {
                if canonical.starts_with("http://") && !is_local(&canonical) {
                    c.warn(
                        Some(o),
                        at,
                        "a plain-http origin: any network attacker can act as it",
                    );
                }
                if !list.contains(&canonical) {
                    list.push(canonical);
                }
            }
            Err(e) => {
                failed = true;
                c.error(Some(o), at, e);
            }
        }
    }
    if raw.origins.is_empty() {
        failed = true;
        c.error::<()>(
            None,
            format!("{field}.origins"),
            "list the origins allowed (e.g. `https://app.example.com`), or `*`",
        );
    }
    let origins = match any {
        Some(star) if credentials => {
            failed = true;
            c.error(
                Some(star),
                format!("{field}.origins"),
                "`*` cannot be combined with `credentials: true`: every site could read \
                 credentialed responses; list the allowed origins",
            );
            Origins::Any
        }
        Some(star) if !list.is_empty() => {
            failed = true;
            c.error(
                Some(star),
                format!("{field}.origins"),
                "`*` allows every origin: do not list others with it",
            );
            Origins::Any
        }
        Some(_) => Origins::Any,
        None => Origins::List(list),
    };

    let methods = raw.methods.as_ref().map(|ms| {
        let mut out: Vec<Method> = Vec::new();
        for (i, m) in ms.iter().enumerate() {
            let name = m.value.trim().to_ascii_uppercase();
            match Method::from_bytes(name.as_bytes()) {
                Ok(method) if name != "*" && !name.is_empty() => {
                    if !out.contains(&method) {
                        out.push(method);
                    }
                }
                _ => {
                    failed = true;
                    c.error(
                        Some(m),
                        format!("{field}.methods[{i}]"),
                        "not an HTTP method (list them: no `*`)",
                    );
                }
            }
        }
        out
    });
    let headers = match &raw.headers {
        None => DEFAULT_HEADERS.iter().map(|&h| h.to_owned()).collect(),
        Some(hs) => header_names(c, &format!("{field}.headers"), hs, &mut failed),
    };
    let expose = header_names(
        c,
        &format!("{field}.expose_headers"),
        &raw.expose_headers,
        &mut failed,
    );
    let max_age = raw.max_age.map_or(DEFAULT_MAX_AGE, |s| s.0);

    if failed {
        return None;
    }
    let joined = |items: &[String]| {
        (!items.is_empty())
            .then(|| HeaderValue::from_str(&items.join(", ")).ok())
            .flatten()
    };
    let allow_methods = methods.as_ref().and_then(|ms| {
        let names: Vec<String> = ms.iter().map(|m| m.as_str().to_owned()).collect();
        joined(&names)
    });
    Some(Arc::new(Cors {
        origins,
        methods,
        allow_methods,
        allow_headers: joined(&headers),
        headers,
        expose_headers: joined(&expose),
        credentials,
        max_age: HeaderValue::from(max_age.as_secs()),
    }))
}

/// Header names, lower case; errors for what is not one (or is `*`).
fn header_names(
    c: &mut Checker<'_>,
    field: &str,
    raw: &[Spanned<String>],
    failed: &mut bool,
) -> Vec<String> {
    let mut out = Vec::new();
    for (i, h) in raw.iter().enumerate() {
        match HeaderName::from_bytes(h.value.trim().as_bytes()) {
            Ok(name) => {
                let name = name.as_str().to_owned();
                if !out.contains(&name) {
                    out.push(name);
                }
            }
            Err(_) => {
                *failed = true;
                c.error(
                    Some(h),
                    format!("{field}[{i}]"),
                    "not a header name (list them: no `*`)",
                );
            }
        }
    }
    out
}

/// An origin as browsers serialize it: `scheme://host[:port]`, lower case,
/// the scheme's default port left out.
pub(super) fn origin(text: &str) -> Result<String, String> {
    let t = text.trim();
    let (scheme, rest) = t
        .split_once("://")
        .ok_or("an origin is `scheme://host[:port]`, e.g. `https://app.example.com`")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => "443",
        "http" => "80",
        _ => return Err("an origin's scheme is http or https".into()),
    };
    if t.eq_ignore_ascii_case("null") || rest.is_empty() {
        return Err("an origin names a host".into());
    }
    if rest.contains(['/', '?', '#', '@', '*', ' ', '\\']) {
        return Err(
            "an origin is exactly `scheme://host[:port]`: no path (not even a trailing `/`), \
             no query, no user, no wildcard"
                .into(),
        );
    }
    let authority: http::uri::Authority = rest
        .parse()
        .map_err(|_| "not a valid host[:port]".to_owned())?;
    let host = authority.host().to_ascii_lowercase();
    if host.is_empty() {
        return Err("an origin names a host".into());
    }
    Ok(match authority.port_u16() {
        Some(p) if p.to_string() != default_port => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// `localhost` and loopback origins (plain http is normal in development).
fn is_local(origin: &str) -> bool {
    let host = origin
        .trim_start_matches("http://")
        .rsplit_once(':')
        .map_or(origin.trim_start_matches("http://"), |(h, _)| h);
    host == "localhost" || host.starts_with("127.") || origin.starts_with("http://[::1]")
}
