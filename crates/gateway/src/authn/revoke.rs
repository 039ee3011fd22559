//! Revocation: token ids (`jti`) revoked until they expire, and subjects whose
//! tokens issued before a time are all refused ("log out everywhere").
//!
//! Checked after the credential verified (a revoked token still has to be
//! genuine to be worth a lookup). The store is an interface: this in-memory one
//! serves a single instance; the distributed mode keeps a Redis-backed one with
//! a local mirror, so the check on the request path stays a memory lookup.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::authn::Principal;

/// Most revocations each map holds. Revocations come from the admin API (an
/// operator), not from clients, but memory stays bounded all the same.
pub const MAX_REVOCATIONS: usize = 1_000_000;

/// A revoked token id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedToken {
    /// The token's issuer (`iss`), or the provider name for API keys.
    pub issuer: String,
    /// The token id (`jti`) or key id.
    pub jti: String,
    /// Until when (seconds since the epoch): the token's own expiry is enough.
    pub until: u64,
}

/// A subject whose credentials issued before `before` are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedSubject {
    /// The issuer, or `None` for every issuer.
    pub issuer: Option<String>,
    /// The subject (`sub`).
    pub subject: String,
    /// Credentials issued before this time (seconds since the epoch) are refused;
    /// credentials without an issue time are refused too.
    pub before: u64,
    /// When this entry is dropped (after every token it could match has expired).
    pub until: u64,
}

/// Every current revocation, for the admin API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocations {
    /// Revoked token ids.
    pub tokens: Vec<RevokedToken>,
    /// Revoked subjects.
    pub subjects: Vec<RevokedSubject>,
}

/// Where revocations are kept.
pub trait RevocationStore: Send + Sync {
    /// Revokes one token id until `until`.
    fn revoke_token(&self, entry: RevokedToken, now: u64) -> Result<(), String>;
    /// Revokes a subject's credentials issued before `entry.before`.
    fn revoke_subject(&self, entry: RevokedSubject, now: u64) -> Result<(), String>;
    /// Whether the verified principal's credential is revoked.
    fn is_revoked(&self, principal: &Principal, now: u64) -> bool;
    /// The current revocations.
    fn list(&self, now: u64) -> Revocations;
}

/// Revocations held in this process's memory.
#[derive(Debug, Default)]
pub struct MemoryRevocations {
    any: AtomicBool,
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// (issuer, jti) → until
    tokens: HashMap<(String, String), u64>,
    /// (issuer or "", subject) → (before, until)
    subjects: HashMap<(String, String), (u64, u64)>,
}

impl MemoryRevocations {
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl RevocationStore for MemoryRevocations {
    fn revoke_token(&self, e: RevokedToken, now: u64) -> Result<(), String> {
        let mut inner = self.write();
        inner.tokens.retain(|_, until| *until > now);
        if inner.tokens.len() >= MAX_REVOCATIONS {
            return Err(format!("the store holds {MAX_REVOCATIONS} revoked tokens"));
        }
        let slot = inner.tokens.entry((e.issuer, e.jti)).or_insert(0);
        *slot = (*slot).max(e.until);
        self.any.store(true, Ordering::Release);
        Ok(())
    }

    fn revoke_subject(&self, e: RevokedSubject, now: u64) -> Result<(), String> {
        let mut inner = self.write();
        inner.subjects.retain(|_, (_, until)| *until > now);
        if inner.subjects.len() >= MAX_REVOCATIONS {
            return Err(format!(
                "the store holds {MAX_REVOCATIONS} revoked subjects"
            ));
        }
        let key = (e.issuer.unwrap_or_default(), e.subject);
        let slot = inner.subjects.entry(key).or_insert((0, 0));
        *slot = (slot.0.max(e.before), slot.1.max(e.until));
        self.any.store(true, Ordering::Release);
        Ok(())
    }

    fn is_revoked(&self, p: &Principal, now: u64) -> bool {
        // The common case, nothing revoked, costs one atomic load.
        if !self.any.load(Ordering::Acquire) {
            return false;
        }
        let inner = self
            .inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(id) = &p.credential_id
            && let Some(until) = inner.tokens.get(&(p.issuer.to_string(), id.to_string()))
            && *until > now
        {
            return true;
        }
        [p.issuer.to_string(), String::new()]
            .into_iter()
            .any(|iss| {
                inner
                    .subjects
                    .get(&(iss, p.subject.to_string()))
                    .is_some_and(|(before, until)| {
                        *until > now && p.issued_at.is_none_or(|iat| iat < *before)
                    })
            })
    }

    fn list(&self, now: u64) -> Revocations {
        let inner = self
            .inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut r = Revocations {
            tokens: inner
                .tokens
                .iter()
                .filter(|(_, until)| **until > now)
                .map(|((issuer, jti), until)| RevokedToken {
                    issuer: issuer.clone(),
                    jti: jti.clone(),
                    until: *until,
                })
                .collect(),
            subjects: inner
                .subjects
                .iter()
                .filter(|(_, (_, until))| *until > now)
                .map(|((issuer, subject), (before, until))| RevokedSubject {
                    issuer: (!issuer.is_empty()).then(|| issuer.clone()),
                    subject: subject.clone(),
                    before: *before,
                    until: *until,
                })
                .collect(),
        };
        r.tokens
            .sort_by(|a, b| (&a.issuer, &a.jti).cmp(&(&b.issuer, &b.jti)));
        r.subjects
            .sort_by(|a, b| (&a.issuer, &a.subject).cmp(&(&b.issuer, &b.subject)));
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authn::AuthMethod;

    fn principal(sub: &str, jti: Option<&str>, iat: Option<u64>) -> Principal {
        let mut p = Principal::new(sub, "https://idp", AuthMethod::Jwt);
        p.credential_id = jti.map(Into::into);
        p.issued_at = iat;
        p
    }

    #[test]
    fn token_ids_are_revoked_until_their_expiry() {
        let s = MemoryRevocations::default();
        let p = principal("alice", Some("t1"), Some(100));
        assert!(!s.is_revoked(&p, 150));
        s.revoke_token(
            RevokedToken {
                issuer: "https://idp".into(),
                jti: "t1".into(),
                until: 200,
            },
            150,
        )
        .unwrap();
        assert!(s.is_revoked(&p, 150));
        assert!(!s.is_revoked(&principal("alice", Some("t2"), Some(100)), 150));
        assert!(!s.is_revoked(&p, 200), "the entry ends with the token");
        assert_eq!(s.list(150).tokens.len(), 1);
        assert!(s.list(250).tokens.is_empty());
    }

    #[test]
    fn a_subject_is_revoked_for_tokens_issued_before_the_cut() {
        let s = MemoryRevocations::default();
        s.revoke_subject(
            RevokedSubject {
                issuer: None,
                subject: "alice".into(),
                before: 1000,
                until: 5000,
            },
            1000,
        )
        .unwrap();
        assert!(s.is_revoked(&principal("alice", None, Some(999)), 1001));
        assert!(
            s.is_revoked(&principal("alice", None, None), 1001),
            "no iat: refused"
        );
        assert!(
            !s.is_revoked(&principal("alice", None, Some(1000)), 1001),
            "logged in again"
        );
        assert!(!s.is_revoked(&principal("bob", None, Some(1)), 1001));
    }
}
