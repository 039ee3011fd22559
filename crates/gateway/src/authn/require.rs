//! Evaluating an operation's `security` against a request, exactly as OpenAPI
//! defines it: any one alternative (OR) whose schemes (AND) all verify, each
//! with its scopes. Each scheme's credential is verified at most once per request.

use std::sync::Arc;

use http::HeaderValue;
use http::request::Parts;

use crate::authn::bind::{Bound, Credential};
use crate::authn::{Failure, Principal, Provider, Shared, now_secs};
use crate::pipeline::Connection;
use crate::problem::Reject;
use crate::route::Security;

/// The outcome of a request that passed authentication.
#[derive(Debug, Default)]
pub struct Verified {
    /// Who it is; `None` for public operations.
    pub principal: Option<Arc<Principal>>,
    /// A message signature of the satisfied alternative needs its
    /// `Content-Digest` checked against the body (and its success counted then).
    pub check_digest: bool,
    /// Where the credentials of every scheme the operation accepts are (to remove
    /// them before forwarding: the satisfied alternative's, and any other one's,
    /// which was never checked).
    pub credentials: Vec<Credential>,
}

/// Checks the request against the operation's requirement.
///
/// `public_by_default` decides operations whose spec states no security.
pub async fn authenticate(
    api: &str,
    schemes: &[Option<Bound>],
    security: &Security,
    public_by_default: bool,
    parts: &Parts,
    conn: &Connection,
    shared: &Shared,
) -> Result<Verified, Reject> {
    let alternatives = match security {
        Security::Public => return Ok(Verified::default()),
        Security::Unstated if public_by_default => return Ok(Verified::default()),
        Security::Unstated => {
            return Err(Reject::Forbidden(
                "the spec states no security for this operation",
            ));
        }
        Security::Required(alts) => alts,
    };
    let mut results: Vec<(usize, Result<Arc<Principal>, Failure>)> = Vec::new();
    // The most telling failure so far; its answer (challenges and all) is built
    // only when it outranks the one kept.
    let mut worst: Option<(u8, Reject)> = None;
    let mut keep = |rank: u8, reject: &dyn Fn() -> Reject| {
        if worst.as_ref().is_none_or(|(r, _)| rank > *r) {
            worst = Some((rank, reject()));
        }
    };
    'alternatives: for alt in alternatives {
        let mut chosen: Option<Arc<Principal>> = None;
        let mut check_digest = false;
        for (index, required) in alt {
            let Some(bound) = schemes.get(*index).and_then(Option::as_ref) else {
                keep(1, &|| {
                    unauthenticated("unbound", Failure::Missing, schemes, alternatives)
                });
                continue 'alternatives;
            };
            let result = match results.iter().find(|(i, _)| i == index) {
                Some((_, r)) => r.clone(),
                None => {
                    let r = verify(bound, parts, conn, shared).await;
                    // A signature whose body digest is still to be checked counts
                    // as a success only after that check (in the pipeline).
                    match &r {
                        Ok(_) if digest_pending(bound, parts) => {}
                        Ok(_) => {
                            bound.success.inc();
                        }
                        Err(f) => shared.metrics.auth(api, bound.provider.kind(), f.as_str()),
                    }
                    results.push((*index, r.clone()));
                    r
                }
            };
            let principal = match result {
                Ok(p) => p,
                Err(f) if f.is_unavailable() => {
                    keep(4, &|| Reject::AuthUnavailable {
                        provider: bound.provider_name.clone(),
                        failure: f,
                    });
                    continue 'alternatives;
                }
                Err(f) => {
                    let rank = if f == Failure::Missing { 1 } else { 2 };
                    keep(rank, &|| {
                        unauthenticated(&bound.name, f, schemes, alternatives)
                    });
                    continue 'alternatives;
                }
            };
            if !granted(&principal, required) {
                keep(3, &|| Reject::InsufficientScope {
                    scheme: bound.name.clone(),
                    scope: required.join(" "),
                    challenge: scope_challenge(bound, required),
                });
                continue 'alternatives;
            }
            check_digest |= digest_pending(bound, parts);
            // With several schemes, the caller's identity is the token or key;
            // a certificate or signature identifies the client software.
            if chosen.as_ref().is_none_or(|c| rank(&principal) > rank(c)) {
                chosen = Some(principal);
            }
        }
        let mut credentials: Vec<Credential> = Vec::new();
        for (index, _) in alternatives.iter().flatten() {
            if let Some(b) = schemes.get(*index).and_then(Option::as_ref)
                && !credentials.contains(&b.credential)
            {
                credentials.push(b.credential.clone());
            }
        }
        return Ok(Verified {
            principal: chosen,
            check_digest,
            credentials,
        });
    }
    Err(worst.map_or(Reject::Forbidden("no security alternative"), |(_, r)| r))
}

/// Verifies one scheme's credential, then checks revocation.
async fn verify(
    bound: &Bound,
    parts: &Parts,
    conn: &Connection,
    shared: &Shared,
) -> Result<Arc<Principal>, Failure> {
    let principal = match (&bound.credential, &*bound.provider) {
        (Credential::Bearer, Provider::Jwt(p)) => {
            let token = bearer(parts)?;
            // Read before verifying, like the token cache: a key change meanwhile
            // leaves the memo stamped with the older generation.
            let generation = p.generation();
            let now = now_secs();
            match conn.token_memo.get(&bound.provider, generation, token, now) {
                Some(principal) => principal,
                None => {
                    let principal = p.verify(token).await?;
                    conn.token_memo
                        .put(&bound.provider, generation, token, &principal, now);
                    principal
                }
            }
        }
        (Credential::Bearer, Provider::Introspection(p)) => p.verify(bearer(parts)?).await?,
        (Credential::ApiKey { name, location }, Provider::ApiKeys(p)) => {
            p.verify(&super::credential::api_key(parts, name, *location)?)?
        }
        (Credential::ClientCertificate, Provider::Mtls(p)) => {
            p.identify(conn.client_cert.as_ref())?
        }
        (Credential::Signature, Provider::Signatures(p)) => {
            let authority = super::credential::authority(parts).ok_or(Failure::Malformed)?;
            p.verify(parts, &authority)?
        }
        // The config check binds each credential type to a provider kind that reads it.
        _ => return Err(Failure::Malformed),
    };
    if shared.revocations.is_revoked(&principal, now_secs()) {
        return Err(Failure::Revoked);
    }
    Ok(principal)
}

/// Whether a verified signature still needs its `Content-Digest` checked.
fn digest_pending(bound: &Bound, parts: &Parts) -> bool {
    matches!(&*bound.provider, Provider::Signatures(p) if p.requires_digest(parts))
}

fn bearer(parts: &Parts) -> Result<&str, Failure> {
    super::credential::bearer(&parts.headers)
}

/// Each listed scope (OAuth2/OIDC) or role (other scheme types, OpenAPI 3.1) is granted.
fn granted(p: &Principal, required: &[String]) -> bool {
    required
        .iter()
        .all(|r| p.scopes.iter().chain(&p.roles).any(|g| **g == **r))
}

fn rank(p: &Principal) -> u8 {
    use crate::authn::AuthMethod::*;
    match p.method {
        Jwt | Introspection => 3,
        ApiKey => 2,
        Signature => 1,
        Mtls => 0,
    }
}

/// A 401 with one challenge per scheme the operation accepts; the failing
/// bearer scheme's challenge carries the RFC 6750 `error`.
fn unauthenticated(
    scheme: &str,
    failure: Failure,
    schemes: &[Option<Bound>],
    alternatives: &[Vec<(usize, Vec<String>)>],
) -> Reject {
    let mut seen: Vec<usize> = Vec::new();
    let mut challenges = Vec::new();
    for (index, _) in alternatives.iter().flatten() {
        if seen.contains(index) {
            continue;
        }
        seen.push(*index);
        let Some(b) = schemes.get(*index).and_then(Option::as_ref) else {
            continue;
        };
        let Some(base) = &b.challenge else { continue };
        let value = match failure.bearer_error() {
            Some(error) if *b.name == *scheme && b.credential == Credential::Bearer => {
                let text = format!("{}, error=\"{error}\"", base.to_str().unwrap_or("Bearer"));
                HeaderValue::try_from(text).unwrap_or_else(|_| base.clone())
            }
            _ => base.clone(),
        };
        challenges.push(value);
    }
    Reject::Unauthenticated {
        scheme: scheme.into(),
        failure,
        challenges,
    }
}

fn scope_challenge(b: &Bound, required: &[String]) -> Option<HeaderValue> {
    let base = b.challenge.as_ref()?.to_str().ok()?;
    let text = format!(
        "{base}, error=\"insufficient_scope\", scope=\"{}\"",
        required.join(" ")
    );
    HeaderValue::try_from(text).ok()
}
