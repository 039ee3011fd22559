//! Authentication: the credentials an operation's `security` requires, verified
//! by the gateway itself, giving a [`Principal`].
//!
//! The spec says what each operation needs (`security`: alternatives of scheme
//! sets, with scopes) and what each scheme is (`securitySchemes`); the config
//! binds each scheme to an identity provider (`identity_providers`): a JWT
//! issuer, an introspection endpoint, an API key table, mTLS mapping rules or
//! signature keys.

pub mod apikey;
pub mod bind;
mod claims;
pub mod credential;
pub mod fetch;
pub mod introspect;
pub mod jwks;
pub mod jwt;
pub mod memo;
pub mod mint;
pub mod mtls;
mod principal;
pub mod require;
pub mod revoke;
mod shared;
pub mod signature;

use std::sync::Arc;

use serde::Deserialize;

pub(crate) use bind::check_bindings;
pub use bind::{Bound, Credential, bind};
pub use principal::{AuthMethod, Failure, Principal};
pub use require::{Verified, authenticate};
pub use shared::{Shared, now_secs};

use crate::config::Checker;

/// `identity_providers.<name>` as written: exactly one kind.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProvider {
    #[serde(default)]
    jwt: Option<jwt::RawJwt>,
    #[serde(default)]
    introspection: Option<introspect::RawIntrospection>,
    #[serde(default)]
    api_keys: Option<apikey::RawApiKeys>,
    #[serde(default)]
    mtls: Option<mtls::RawMtls>,
    #[serde(default)]
    signatures: Option<signature::RawSignatures>,
}

/// A validated identity provider config.
#[derive(Debug, Clone)]
pub enum ProviderConfig {
    /// JWT bearer tokens from one issuer.
    Jwt(jwt::JwtConfig),
    /// Opaque tokens checked by introspection.
    Introspection(introspect::IntrospectionConfig),
    /// API keys.
    ApiKeys(apikey::ApiKeysConfig),
    /// mTLS client certificates.
    Mtls(mtls::MtlsConfig),
    /// HTTP message signatures.
    Signatures(signature::SignaturesConfig),
}

impl ProviderConfig {
    /// The kind's name, as written in config.
    pub fn kind(&self) -> &'static str {
        match self {
            ProviderConfig::Jwt(_) => "jwt",
            ProviderConfig::Introspection(_) => "introspection",
            ProviderConfig::ApiKeys(_) => "api_keys",
            ProviderConfig::Mtls(_) => "mtls",
            ProviderConfig::Signatures(_) => "signatures",
        }
    }
}

/// Checks `identity_providers.<name>`.
pub(crate) fn check_provider(
    c: &mut Checker<'_>,
    name: &str,
    raw: &RawProvider,
) -> Option<ProviderConfig> {
    let field = format!("identity_providers.{name}");
    let count = [
        raw.jwt.is_some(),
        raw.introspection.is_some(),
        raw.api_keys.is_some(),
        raw.mtls.is_some(),
        raw.signatures.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if count != 1 {
        c.error::<()>(
            None,
            field,
            "give exactly one of `jwt`, `introspection`, `api_keys`, `mtls`, `signatures`",
        );
        return None;
    }
    if let Some(r) = &raw.jwt {
        jwt::check(c, &format!("{field}.jwt"), r).map(ProviderConfig::Jwt)
    } else if let Some(r) = &raw.introspection {
        introspect::check(c, &format!("{field}.introspection"), r)
            .map(ProviderConfig::Introspection)
    } else if let Some(r) = &raw.api_keys {
        apikey::check(c, &format!("{field}.api_keys"), r).map(ProviderConfig::ApiKeys)
    } else if let Some(r) = &raw.mtls {
        mtls::check(c, &format!("{field}.mtls"), r).map(ProviderConfig::Mtls)
    } else if let Some(r) = &raw.signatures {
        signature::check(c, &format!("{field}.signatures"), r).map(ProviderConfig::Signatures)
    } else {
        None
    }
}

/// A live identity provider.
#[derive(Debug)]
pub enum Provider {
    /// JWT bearer tokens.
    Jwt(jwt::JwtProvider),
    /// Opaque tokens by introspection.
    Introspection(introspect::Introspector),
    /// API keys.
    ApiKeys(apikey::ApiKeys),
    /// mTLS client certificates.
    Mtls(mtls::MtlsMapper),
    /// HTTP message signatures.
    Signatures(signature::Signatures),
}

impl Provider {
    /// The kind's name (metrics label).
    pub fn kind(&self) -> &'static str {
        match self {
            Provider::Jwt(_) => "jwt",
            Provider::Introspection(_) => "introspection",
            Provider::ApiKeys(_) => "api_key",
            Provider::Mtls(_) => "mtls",
            Provider::Signatures(_) => "signature",
        }
    }

    /// Builds a provider; called while a runtime is built (inside the tokio runtime,
    /// so providers may start background tasks).
    pub fn build(
        name: &str,
        cfg: &ProviderConfig,
        shared: &Shared,
    ) -> Result<Arc<Provider>, String> {
        Ok(Arc::new(match cfg {
            ProviderConfig::Jwt(c) => Provider::Jwt(jwt::JwtProvider::new(name, c, shared)?),
            ProviderConfig::Introspection(c) => {
                Provider::Introspection(introspect::Introspector::new(name, c, shared)?)
            }
            ProviderConfig::ApiKeys(c) => Provider::ApiKeys(apikey::ApiKeys::new(name, c, shared)?),
            ProviderConfig::Mtls(c) => Provider::Mtls(mtls::MtlsMapper::new(name, c, shared)?),
            ProviderConfig::Signatures(c) => {
                Provider::Signatures(signature::Signatures::new(name, c, shared)?)
            }
        }))
    }
}
