//! Binding the spec's security schemes to the config's identity providers.
//!
//! The spec names the schemes and says what each is (`securitySchemes`); the
//! config says who verifies each (`apis[].security: {scheme: provider}`). Every
//! scheme an operation uses must be bound, to a provider of a kind that can
//! verify that type of credential.

use std::collections::BTreeMap;
use std::sync::Arc;

use http::HeaderValue;
use portcullis_openapi::{ApiKeyLocation, SecurityScheme, Spec};
use prometheus_client::metrics::counter::Counter;
use serde_saphyr::Spanned;

use crate::authn::{Provider, ProviderConfig};
use crate::config::Checker;
use crate::metrics::Metrics;

/// How a bound scheme's credential is taken from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// An API key in a header, query parameter or cookie.
    ApiKey {
        /// Header (lower-cased), parameter or cookie name.
        name: String,
        /// Where.
        location: ApiKeyLocation,
    },
    /// The connection's verified client certificate.
    ClientCertificate,
    /// `Signature` / `Signature-Input` headers.
    Signature,
}

/// One scheme of an API, ready to verify.
#[derive(Debug)]
pub struct Bound {
    /// The scheme name in the spec.
    pub name: Arc<str>,
    /// Where its credential is.
    pub credential: Credential,
    /// Who verifies it.
    pub provider: Arc<Provider>,
    /// The provider's name.
    pub provider_name: Arc<str>,
    /// The `WWW-Authenticate` challenge for this scheme, if it has one.
    pub challenge: Option<HeaderValue>,
    /// `portcullis_auth_total{api, method, result="success"}` for this scheme's
    /// provider, resolved once.
    pub success: Counter,
}

/// Which provider kinds can verify a scheme type; `Err` says why none can.
fn credential(scheme: &SecurityScheme) -> Result<(Credential, &'static [&'static str]), String> {
    match scheme {
        SecurityScheme::Http { scheme, .. } if scheme == "bearer" => {
            Ok((Credential::Bearer, &["jwt", "introspection"]))
        }
        SecurityScheme::OAuth2 | SecurityScheme::OpenIdConnect { .. } => {
            Ok((Credential::Bearer, &["jwt", "introspection"]))
        }
        SecurityScheme::Http { scheme, .. } if scheme == "signature" => {
            Ok((Credential::Signature, &["signatures"]))
        }
        SecurityScheme::Http { scheme, .. } => Err(format!(
            "http scheme `{scheme}` is not supported (bearer and signature are); \
             Basic authentication sends a reusable password with every request"
        )),
        SecurityScheme::ApiKey { name, location } => Ok((
            Credential::ApiKey {
                name: match location {
                    ApiKeyLocation::Header => name.to_ascii_lowercase(),
                    _ => name.clone(),
                },
                location: *location,
            },
            &["api_keys"],
        )),
        SecurityScheme::MutualTls => Ok((Credential::ClientCertificate, &["mtls"])),
    }
}

/// Checks `apis[i].security` against the spec and the providers; returns the
/// binding (scheme → provider). Warns about state-changing public operations.
pub(crate) fn check_bindings(
    c: &mut Checker<'_>,
    field: &str,
    spec: &Spec,
    bindings: &BTreeMap<String, Spanned<String>>,
    providers: &BTreeMap<String, ProviderConfig>,
    public_by_default: bool,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (scheme_name, provider) in bindings {
        let f = format!("{field}.security.{scheme_name}");
        let Some(scheme) = spec.security_schemes.get(scheme_name) else {
            c.error(
                Some(provider),
                f,
                format!("the spec declares no security scheme `{scheme_name}`"),
            );
            continue;
        };
        let Some(p) = providers.get(&provider.value) else {
            c.error(
                Some(provider),
                f,
                format!(
                    "no identity provider named `{}` under `identity_providers`",
                    provider.value
                ),
            );
            continue;
        };
        match credential(scheme) {
            Ok((_, kinds)) if kinds.contains(&p.kind()) => {
                out.insert(scheme_name.clone(), provider.value.clone());
            }
            Ok((_, kinds)) => c.error(
                Some(provider),
                f,
                format!(
                    "scheme `{scheme_name}` is {} but provider `{}` is {}; it needs {}",
                    scheme.type_name(),
                    provider.value,
                    p.kind(),
                    kinds.join(" or ")
                ),
            ),
            Err(e) => c.error(Some(provider), f, e),
        }
    }
    let mut unbound_reported = std::collections::BTreeSet::new();
    for op in &spec.operations {
        let name = op
            .operation_id
            .clone()
            .unwrap_or_else(|| format!("{} {}", op.method, op.path));
        let changes_state = !matches!(op.method.as_str(), "GET" | "HEAD" | "OPTIONS" | "TRACE");
        match &op.security {
            Some(alts) => {
                for scheme in alts.iter().flat_map(|r| r.keys()) {
                    // Each unbound scheme is reported once, at its first operation.
                    if !bindings.contains_key(scheme) && unbound_reported.insert(scheme.clone()) {
                        c.error::<()>(
                            None,
                            format!("{field}.security"),
                            format!(
                                "operation `{name}` requires scheme `{scheme}`, which is not bound \
                                 to an identity provider (add `{scheme}: <provider>`)"
                            ),
                        );
                    }
                }
                // `security: []` (no alternative) and `[{}]` (an empty one) are both public.
                if changes_state && (alts.is_empty() || alts.iter().any(|r| r.is_empty())) {
                    c.warn::<()>(
                        None,
                        format!("{field}.spec"),
                        format!(
                            "operation `{name}` changes state and is public (security: [] or {{}})"
                        ),
                    );
                }
            }
            None if public_by_default && changes_state => c.warn::<()>(
                None,
                format!("{field}.spec"),
                format!(
                    "operation `{name}` changes state, states no security and the API is \
                     public_by_default"
                ),
            ),
            None if !public_by_default => c.warn::<()>(
                None,
                format!("{field}.spec"),
                format!(
                    "operation `{name}` states no security: it will be refused \
                     (say `security: []` in the spec to make it public)"
                ),
            ),
            None => {}
        }
    }
    out
}

/// Binds an API's schemes to live providers, in the spec's scheme order (the
/// order `route::Operation` requirement indices refer to).
pub fn bind(
    api: &str,
    spec: &Spec,
    bindings: &BTreeMap<String, String>,
    providers: &BTreeMap<String, Arc<Provider>>,
    metrics: &Metrics,
) -> Vec<Option<Bound>> {
    spec.security_schemes
        .iter()
        .map(|(name, scheme)| {
            let provider_name = bindings.get(name)?;
            let provider = providers.get(provider_name)?.clone();
            let (credential, _) = credential(scheme).ok()?;
            let challenge = match &credential {
                Credential::Bearer => Some(format!("Bearer realm=\"{api}\"")),
                Credential::ApiKey { name, location } => Some(format!(
                    "ApiKey realm=\"{api}\", in=\"{}\", name=\"{name}\"",
                    match location {
                        ApiKeyLocation::Header => "header",
                        ApiKeyLocation::Query => "query",
                        ApiKeyLocation::Cookie => "cookie",
                    }
                )),
                Credential::Signature => Some(format!("Signature realm=\"{api}\"")),
                Credential::ClientCertificate => None,
            }
            .and_then(|c| HeaderValue::try_from(c).ok());
            let success = metrics.auth_counter(api, provider.kind(), "success");
            Some(Bound {
                success,
                name: name.as_str().into(),
                credential,
                provider,
                provider_name: provider_name.as_str().into(),
                challenge,
            })
        })
        .collect()
}
