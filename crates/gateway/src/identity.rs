//! Zero trust to the upstream: the verified identity, passed on as the gateway
//! states it. Whatever identity headers the client sent were stripped before
//! (`forward::strip_identity_headers`); these are set only from a `Principal`.
//!
//! - plain headers (`X-Portcullis-Subject`, `-Issuer`, `-Roles`, `-Scopes`,
//!   `-Tenant`, `-Auth-Method`, `-Mfa`), for services inside a trusted network;
//! - and/or `X-Portcullis-Identity`: a short-lived JWT signed by the gateway,
//!   which services verify with the JWKS the admin API serves at
//!   `/.well-known/jwks.json`, so a service cannot be fooled by a caller that
//!   reaches it around the gateway.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::authn::mint::Minter;
use crate::authn::{Principal, now_secs};
use crate::config::{ApiConfig, IdentityTokenConfig};

/// `X-Portcullis-Subject`.
pub static SUBJECT: HeaderName = HeaderName::from_static("x-portcullis-subject");
/// `X-Portcullis-Issuer`.
pub static ISSUER: HeaderName = HeaderName::from_static("x-portcullis-issuer");
/// `X-Portcullis-Roles`: comma-separated.
pub static ROLES: HeaderName = HeaderName::from_static("x-portcullis-roles");
/// `X-Portcullis-Scopes`: space-separated.
pub static SCOPES: HeaderName = HeaderName::from_static("x-portcullis-scopes");
/// `X-Portcullis-Tenant`.
pub static TENANT: HeaderName = HeaderName::from_static("x-portcullis-tenant");
/// `X-Portcullis-Auth-Method`.
pub static AUTH_METHOD: HeaderName = HeaderName::from_static("x-portcullis-auth-method");
/// `X-Portcullis-Mfa`: `true` or `false`.
pub static MFA: HeaderName = HeaderName::from_static("x-portcullis-mfa");
/// `X-Portcullis-Identity`: the gateway-signed identity JWT.
pub static TOKEN: HeaderName = HeaderName::from_static("x-portcullis-identity");

/// Most identity tokens kept for reuse.
const CACHE_CAPACITY: usize = 10_000;

/// The gateway's identity-token signer, with the tokens it minted recently:
/// signing costs tens of microseconds, so a caller's token is reused for half
/// its lifetime.
#[derive(Debug)]
pub struct Signer {
    /// The key.
    pub key: Minter,
    cache: Mutex<HashMap<[u8; 32], (HeaderValue, u64)>>,
}

impl Signer {
    /// Wraps a key.
    pub fn new(key: Minter) -> Signer {
        Signer {
            key,
            cache: Mutex::default(),
        }
    }

    fn token(
        &self,
        p: &Principal,
        audience: &str,
        cfg: &IdentityTokenConfig,
    ) -> Option<HeaderValue> {
        let now = now_secs();
        let lifetime = cfg.lifetime.as_secs().max(1);
        let key = fingerprint(p, audience, &cfg.issuer);
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((v, minted)) = cache.get(&key)
            && now < minted + lifetime / 2
        {
            return Some(v.clone());
        }
        drop(cache);
        let mut exp = now + lifetime;
        if let Some(e) = p.expires_at {
            exp = exp.min(e);
        }
        let claims = serde_json::json!({
            "iss": cfg.issuer,
            "aud": audience,
            "sub": &*p.subject,
            "iat": now,
            "exp": exp,
            "idp": &*p.issuer,
            "auth_method": p.method.as_str(),
            "roles": p.roles.iter().map(|r| &**r).collect::<Vec<_>>(),
            "scope": join(&p.scopes, " "),
            "tenant": p.tenant.as_deref(),
            "mfa": p.mfa,
        });
        let token = self.key.sign(&claims).ok()?;
        let value = HeaderValue::try_from(token).ok()?;
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= CACHE_CAPACITY {
            cache.retain(|_, (_, minted)| now < *minted + lifetime / 2);
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(key, (value.clone(), now));
        Some(value)
    }
}

/// Sets the identity headers for `p` as the API's `identity` options say.
pub fn attach(
    headers: &mut HeaderMap,
    p: &Principal,
    api: &ApiConfig,
    signer: Option<&Signer>,
    cfg: &IdentityTokenConfig,
) {
    if api.identity.headers {
        for (name, value) in p.upstream_headers.get_or_init(|| plain_headers(p)) {
            headers.insert(name.clone(), value.clone());
        }
    }
    if api.identity.token
        && let Some(signer) = signer
        && let Some(token) = signer.token(p, &api.name, cfg)
    {
        headers.insert(TOKEN.clone(), token);
    }
}

/// The plain identity headers of a principal.
fn plain_headers(p: &Principal) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = vec![
        (SUBJECT.clone(), value(&p.subject)),
        (ISSUER.clone(), value(&p.issuer)),
    ];
    if !p.roles.is_empty() {
        out.push((ROLES.clone(), value(&join(&p.roles, ","))));
    }
    if !p.scopes.is_empty() {
        out.push((SCOPES.clone(), value(&join(&p.scopes, " "))));
    }
    if let Some(t) = &p.tenant {
        out.push((TENANT.clone(), value(t)));
    }
    let method = HeaderValue::from_static(p.method.as_str());
    let mfa = HeaderValue::from_static(if p.mfa { "true" } else { "false" });
    out.extend([(AUTH_METHOD.clone(), method), (MFA.clone(), mfa)]);
    out
}

fn join(items: &[Arc<str>], sep: &str) -> String {
    items.iter().map(|s| &**s).collect::<Vec<_>>().join(sep)
}

/// A header value from claim text: bytes outside visible ASCII (and `%`) are
/// percent-encoded, so a claim can never add a header or break the line.
fn value(text: &str) -> HeaderValue {
    // The common case, plain visible ASCII, is copied once.
    if text
        .bytes()
        .all(|b| (0x21..=0x7e).contains(&b) && b != b'%')
        && let Ok(v) = HeaderValue::from_str(text)
    {
        return v;
    }
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if (0x21..=0x7e).contains(&b) && b != b'%' || b == b' ' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    HeaderValue::try_from(out.trim()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn fingerprint(p: &Principal, audience: &str, issuer: &str) -> [u8; 32] {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for part in [audience, issuer, &p.issuer, &p.subject, p.method.as_str()] {
        ctx.update(part.as_bytes());
        ctx.update(&[0]);
    }
    ctx.update(p.credential_id.as_deref().unwrap_or("").as_bytes());
    ctx.update(&[0, u8::from(p.mfa)]);
    for list in [&p.roles, &p.scopes] {
        for r in list {
            ctx.update(r.as_bytes());
            ctx.update(&[1]);
        }
        ctx.update(&[2]);
    }
    ctx.update(p.tenant.as_deref().unwrap_or("").as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_text_cannot_break_a_header() {
        assert_eq!(value("u-alice"), "u-alice");
        assert_eq!(value("a\r\nX-Evil: 1"), "a%0D%0AX-Evil: 1");
        assert_eq!(value("100%"), "100%25");
        assert_eq!(value("zoë"), "zo%C3%AB");
    }
}
