//! Who is calling: the plain `X-Portcullis-Subject` header (trusted blindly), or,
//! when an [`IdentityCheck`] is configured, the gateway-signed JWT in
//! `X-Portcullis-Identity`, verified with the keys the gateway's admin API publishes.

use std::io;
use std::time::Duration;

use http::Uri;

mod jwks;
mod verify;

pub(crate) use verify::{Caller, Verifier};

/// The issuer the gateway puts in identity tokens unless configured otherwise.
pub const DEFAULT_ISSUER: &str = "portcullis";

/// The audience of the bank's identity tokens: the gateway's API name in the demo.
pub const DEFAULT_AUDIENCE: &str = "bank";

/// How long an unknown `kid` waits before it may trigger another JWKS fetch.
pub const DEFAULT_REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// Verification of the gateway's identity token (`X-Portcullis-Identity`).
///
/// With it, every request except `/healthz`, `/v2/branches` and
/// `/v2/rates/{code}` needs a valid token, and the caller is the token's `sub`:
/// a client that reaches the bank around the gateway cannot claim an identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityCheck {
    /// The gateway's JWK set, e.g. `http://127.0.0.1:9901/.well-known/jwks.json`:
    /// a plain `http://` URL (the admin API is loopback HTTP). Fetched on first
    /// need, and again when a token names an unknown key.
    pub jwks_url: String,
    /// The required `iss` claim ([`DEFAULT_ISSUER`] by default).
    pub issuer: String,
    /// The required `aud` claim ([`DEFAULT_AUDIENCE`] by default).
    pub audience: String,
    /// The least time between two JWKS fetches ([`DEFAULT_REFETCH_INTERVAL`]);
    /// tokens naming an unknown key in between are refused without a fetch.
    pub refetch_interval: Duration,
}

impl IdentityCheck {
    /// Tokens verified with the keys at `jwks_url`, with the default issuer and audience.
    pub fn new(jwks_url: impl Into<String>) -> Self {
        IdentityCheck {
            jwks_url: jwks_url.into(),
            issuer: DEFAULT_ISSUER.to_owned(),
            audience: DEFAULT_AUDIENCE.to_owned(),
            refetch_interval: DEFAULT_REFETCH_INTERVAL,
        }
    }

    /// Checks the settings as serving does: an `http://` JWKS URL with a host,
    /// and a non-empty issuer and audience. The error is `InvalidInput`.
    pub fn validate(&self) -> io::Result<()> {
        self.jwks_uri().map(drop)
    }

    /// The JWKS URL, parsed and checked (see [`IdentityCheck::validate`]).
    fn jwks_uri(&self) -> io::Result<Uri> {
        let invalid = |why: String| io::Error::new(io::ErrorKind::InvalidInput, why);
        if self.issuer.is_empty() || self.audience.is_empty() {
            return Err(invalid(
                "the identity issuer and audience must not be empty".into(),
            ));
        }
        let url = &self.jwks_url;
        let uri: Uri = url
            .parse()
            .map_err(|_| invalid(format!("invalid JWKS URL `{url}`")))?;
        if uri.scheme_str() != Some("http") || uri.host().is_none_or(str::is_empty) {
            return Err(invalid(format!(
                "the JWKS URL `{url}` must be a plain http:// URL with a host"
            )));
        }
        Ok(uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_validation() {
        let check = IdentityCheck::new("http://127.0.0.1:9901/.well-known/jwks.json");
        assert_eq!(
            (check.issuer.as_str(), check.audience.as_str()),
            ("portcullis", "bank")
        );
        assert_eq!(check.refetch_interval, Duration::from_secs(10));
        assert!(check.validate().is_ok());
        for bad in [
            "",
            "nope",
            "https://gw/jwks.json",
            "/jwks.json",
            "ftp://gw/x",
        ] {
            let error = IdentityCheck::new(bad).validate().expect_err(bad);
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{bad}");
        }
        let mut empty = check;
        empty.audience.clear();
        assert!(empty.validate().is_err());
    }
}
