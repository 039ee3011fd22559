//! `components/securitySchemes`: what each named credential is.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::SpecError;
use crate::load::invalid;
use crate::refs::{self, escape};

/// Where an `apiKey` scheme's key travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeyLocation {
    /// A request header.
    Header,
    /// A query parameter.
    Query,
    /// A cookie.
    Cookie,
}

/// One security scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityScheme {
    /// `type: http` with its `scheme` (lower-cased: `bearer`, `basic`, …).
    Http {
        /// The HTTP authentication scheme, lower-cased.
        scheme: String,
        /// `bearerFormat`, a hint only.
        bearer_format: Option<String>,
    },
    /// `type: apiKey`.
    ApiKey {
        /// The header, query parameter or cookie name.
        name: String,
        /// Where it is.
        location: ApiKeyLocation,
    },
    /// `type: oauth2` (the token arrives as a bearer token).
    OAuth2,
    /// `type: openIdConnect` (the token arrives as a bearer token).
    OpenIdConnect {
        /// `openIdConnectUrl`.
        url: String,
    },
    /// `type: mutualTLS` (OpenAPI 3.1).
    MutualTls,
}

impl SecurityScheme {
    /// The `type` as written in the spec.
    pub fn type_name(&self) -> &'static str {
        match self {
            SecurityScheme::Http { .. } => "http",
            SecurityScheme::ApiKey { .. } => "apiKey",
            SecurityScheme::OAuth2 => "oauth2",
            SecurityScheme::OpenIdConnect { .. } => "openIdConnect",
            SecurityScheme::MutualTls => "mutualTLS",
        }
    }
}

/// Parses `components/securitySchemes` (each may be a `$ref`).
pub(crate) fn schemes(
    doc: &Value,
    source: &Path,
) -> Result<BTreeMap<String, SecurityScheme>, SpecError> {
    let mut out = BTreeMap::new();
    let Some(map) = doc.pointer("/components/securitySchemes") else {
        return Ok(out);
    };
    let Some(map) = map.as_object() else {
        return Err(invalid(
            source,
            "/components/securitySchemes",
            "`securitySchemes` must be an object",
        ));
    };
    for (name, value) in map {
        let pointer = format!("/components/securitySchemes/{}", escape(name));
        let value = refs::follow(doc, value, None, source)?.value;
        let text = |field: &str| value.get(field).and_then(Value::as_str);
        let scheme = match text("type") {
            Some("http") => SecurityScheme::Http {
                scheme: text("scheme")
                    .ok_or_else(|| invalid(source, &pointer, "an http scheme needs `scheme`"))?
                    .to_ascii_lowercase(),
                bearer_format: text("bearerFormat").map(str::to_owned),
            },
            Some("apiKey") => SecurityScheme::ApiKey {
                name: text("name")
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| invalid(source, &pointer, "an apiKey scheme needs `name`"))?
                    .to_owned(),
                location: match text("in") {
                    Some("header") => ApiKeyLocation::Header,
                    Some("query") => ApiKeyLocation::Query,
                    Some("cookie") => ApiKeyLocation::Cookie,
                    _ => {
                        return Err(invalid(
                            source,
                            &pointer,
                            "an apiKey scheme needs `in`: header, query or cookie",
                        ));
                    }
                },
            },
            Some("oauth2") => SecurityScheme::OAuth2,
            Some("openIdConnect") => SecurityScheme::OpenIdConnect {
                url: text("openIdConnectUrl").unwrap_or_default().to_owned(),
            },
            Some("mutualTLS") => SecurityScheme::MutualTls,
            other => {
                return Err(invalid(
                    source,
                    &pointer,
                    format!(
                        "unknown security scheme type `{}`",
                        other.unwrap_or("(none)")
                    ),
                ));
            }
        };
        out.insert(name.clone(), scheme);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scheme_type_is_read_and_bad_ones_are_named() {
        let spec = crate::parse(
            r##"
openapi: 3.1.0
info: {title: t, version: "1"}
paths: {}
components:
  securitySchemes:
    bearer: {type: http, scheme: Bearer, bearerFormat: JWT}
    key: {type: apiKey, name: X-API-Key, in: header}
    oauth: {type: oauth2, flows: {}}
    oidc: {type: openIdConnect, openIdConnectUrl: "https://idp/.well-known/openid-configuration"}
    mtls: {type: mutualTLS}
    alias: {$ref: "#/components/securitySchemes/key"}
"##,
            Path::new("s.yaml"),
        )
        .expect("valid");
        let s = &spec.security_schemes;
        assert_eq!(
            s["bearer"],
            SecurityScheme::Http {
                scheme: "bearer".into(),
                bearer_format: Some("JWT".into())
            }
        );
        assert_eq!(
            s["alias"],
            SecurityScheme::ApiKey {
                name: "X-API-Key".into(),
                location: ApiKeyLocation::Header
            }
        );
        assert_eq!(s["mtls"], SecurityScheme::MutualTls);
        assert_eq!(s["oauth"].type_name(), "oauth2");
        let err = crate::parse(
            "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents:\n  securitySchemes:\n    k: {type: apiKey, name: k, in: body}\n",
            Path::new("s.yaml"),
        )
        .expect_err("bad location");
        assert!(
            err.to_string().contains("/components/securitySchemes/k"),
            "{err}"
        );
    }
}
