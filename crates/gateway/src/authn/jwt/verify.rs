//! One token against one key set: header rules, key choice, signature and
//! claims, each failure named precisely.
//!
//! The header is read first, by us: the token's `alg` must be one the issuer is
//! pinned to (so `none` and unknown names are `AlgorithmNotAllowed`, not parse
//! errors) and must fit the chosen key's family and curve. `jku`, `x5u`, `x5c`
//! and `jwk` are never read: the keys are only the configured ones, and `kid`
//! is only a map key.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::JwtConfig;
use super::config::normalize_typ;
use crate::authn::claims::{Mapping, seconds};
use crate::authn::jwks::KeySet;
use crate::authn::{Failure, Principal, now_secs};

/// The claims every token must carry (jsonwebtoken checks them with the signature).
const SPEC_CLAIMS: [&str; 4] = ["exp", "sub", "iss", "aud"];

/// Everything a token is checked against, prepared once per provider.
#[derive(Debug)]
pub(crate) struct Rules {
    issuer: Arc<str>,
    /// One `Validation` per pinned algorithm, each allowing that one only.
    validations: Vec<(Algorithm, Validation)>,
    leeway: u64,
    required: Vec<String>,
    typ: Option<String>,
    mapping: Mapping,
}

/// What the header says, once it passed the header rules.
#[derive(Debug)]
pub(crate) struct Header {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
}

/// A verified token.
#[derive(Debug)]
pub(crate) struct Verified {
    pub(crate) principal: Arc<Principal>,
    /// Valid from (`max(nbf, iat) - leeway`), for the cache.
    pub(crate) from: u64,
    /// `exp`, for the cache.
    pub(crate) exp: u64,
}

/// The JOSE header members we read; the others (`jku`, `x5u`, `x5c`, `jwk` …) are ignored.
#[derive(Deserialize)]
struct RawHeader {
    alg: Option<String>,
    kid: Option<String>,
    typ: Option<String>,
    crit: Option<Value>,
}

impl Rules {
    /// The rules of one issuer.
    pub(crate) fn new(cfg: &JwtConfig) -> Rules {
        let mut spec: Vec<&str> = SPEC_CLAIMS.to_vec();
        if cfg.required_claims.iter().any(|c| c == "nbf") {
            spec.push("nbf");
        }
        let validations = cfg
            .algorithms
            .iter()
            .map(|alg| {
                let mut v = Validation::new(*alg);
                v.leeway = cfg.leeway.as_secs();
                v.validate_exp = true;
                v.validate_nbf = true;
                v.validate_aud = true;
                v.set_audience(&cfg.audiences);
                v.set_issuer(&[&cfg.issuer]);
                v.set_required_spec_claims(&spec);
                (*alg, v)
            })
            .collect();
        Rules {
            issuer: Arc::from(cfg.issuer.as_str()),
            validations,
            leeway: cfg.leeway.as_secs(),
            required: cfg.required_claims.clone(),
            typ: cfg.typ.clone(),
            mapping: Mapping {
                roles: cfg.roles_claim.clone(),
                scopes: cfg.scopes_claim.clone(),
                tenant: cfg.tenant_claim.clone(),
                mfa_acr_values: cfg.mfa_acr_values.clone(),
            },
        }
    }

    /// Reads and checks the header: shape, `alg`, `typ`, `crit`.
    pub(crate) fn header(&self, token: &str) -> Result<Header, Failure> {
        let mut parts = token.split('.');
        let (Some(head), Some(_), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Failure::Malformed);
        };
        let json = URL_SAFE_NO_PAD
            .decode(head)
            .map_err(|_| Failure::Malformed)?;
        let raw: RawHeader = serde_json::from_slice(&json).map_err(|_| Failure::Malformed)?;
        let alg = raw.alg.ok_or(Failure::Malformed)?;
        // `none`, `None`, unknown names and algorithms of other issuers all end here.
        let alg = alg
            .parse::<Algorithm>()
            .ok()
            .filter(|a| self.validations.iter().any(|(v, _)| v == a))
            .ok_or(Failure::AlgorithmNotAllowed)?;
        if raw.crit.is_some() {
            // RFC 7515 §4.1.11: extensions we do not understand must be refused.
            return Err(Failure::Malformed);
        }
        if let Some(want) = &self.typ
            && raw.typ.as_deref().map(normalize_typ).as_ref() != Some(want)
        {
            return Err(Failure::WrongType);
        }
        Ok(Header { alg, kid: raw.kid })
    }

    /// Verifies the signature with the fitting keys of `keys`, then the claims.
    pub(crate) fn verify(
        &self,
        keys: &KeySet,
        header: &Header,
        token: &str,
    ) -> Result<Verified, Failure> {
        let validation = self
            .validations
            .iter()
            .find(|(a, _)| *a == header.alg)
            .map(|(_, v)| v)
            .ok_or(Failure::AlgorithmNotAllowed)?;
        let mut last = Failure::BadSignature;
        for key in keys.candidates(header.kid.as_deref(), header.alg)? {
            match jsonwebtoken::decode::<Map<String, Value>>(token, &key.decoding, validation) {
                Ok(data) => return self.claims(data.claims),
                Err(e) => match failure(e.kind()) {
                    // Another candidate key may still verify it.
                    Failure::BadSignature => last = Failure::BadSignature,
                    other => return Err(other),
                },
            }
        }
        Err(last)
    }

    /// The checks jsonwebtoken leaves to us, then the principal.
    fn claims(&self, claims: Map<String, Value>) -> Result<Verified, Failure> {
        // jsonwebtoken accepts an `iss` array holding the issuer; we want the exact string.
        if claims.get("iss").and_then(Value::as_str) != Some(&*self.issuer) {
            return Err(Failure::WrongIssuer);
        }
        let now = now_secs();
        let iat = match claims.get("iat") {
            None => None,
            Some(v) => Some(seconds(v).ok_or(Failure::Malformed)?),
        };
        if iat.is_some_and(|t| t > now.saturating_add(self.leeway)) {
            return Err(Failure::NotYetValid);
        }
        let present = |name: &str| claims.get(name).is_some_and(|v| !v.is_null());
        if !self.required.iter().all(|c| present(c)) {
            return Err(Failure::MissingClaim);
        }
        let exp = claims
            .get("exp")
            .and_then(seconds)
            .ok_or(Failure::MissingClaim)?;
        let nbf = claims.get("nbf").and_then(seconds).unwrap_or(0);
        let from = nbf.max(iat.unwrap_or(0)).saturating_sub(self.leeway);
        let principal = self.mapping.principal(&self.issuer, claims)?;
        Ok(Verified {
            principal: Arc::new(principal),
            from,
            exp,
        })
    }
}

/// A jsonwebtoken error as the failure it means.
pub(crate) fn failure(kind: &ErrorKind) -> Failure {
    match kind {
        ErrorKind::ExpiredSignature => Failure::Expired,
        ErrorKind::ImmatureSignature => Failure::NotYetValid,
        ErrorKind::InvalidIssuer => Failure::WrongIssuer,
        ErrorKind::InvalidAudience => Failure::WrongAudience,
        ErrorKind::InvalidSignature => Failure::BadSignature,
        ErrorKind::MissingRequiredClaim(_) => Failure::MissingClaim,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::MissingAlgorithm
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::InvalidAlgorithmName
        // A key that does not fit the algorithm (we check the family first, so
        // these mean a key/algorithm mismatch that slipped through).
        | ErrorKind::InvalidKeyFormat
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidRsaKey(_) => Failure::AlgorithmNotAllowed,
        ErrorKind::InvalidToken
        | ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_)
        | ErrorKind::InvalidClaimFormat(_) => Failure::Malformed,
        // `sub` is never pinned; signing errors cannot happen when verifying.
        // Anything new in jsonwebtoken fails closed as a bad signature.
        _ => Failure::BadSignature,
    }
}
