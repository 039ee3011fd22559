//! Revocation: token ids (`jti`) revoked until they expire, and subjects whose
//! tokens issued before a time are all refused ("log out everywhere").
//!
//! Checked after the credential verified (a revoked token still has to be
//! genuine to be worth a lookup). The store is an interface: this in-memory one
//! serves a single instance; the distributed mode keeps a Redis-backed one
//! ([`RedisRevocations`]) with a local mirror, so the check on the request path
//! stays a memory lookup.

mod redis;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::authn::Principal;

pub use self::redis::RedisRevocations;

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

/// Why a revocation was not recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevokeError {
    /// The store holds [`MAX_REVOCATIONS`] entries of this kind.
    #[error("{0}")]
    Full(String),
    /// The shared store did not record it (down, timed out, failed); the
    /// message holds no credential.
    #[error("{0}")]
    Unavailable(String),
}

/// A revocation being written (the shared store answers asynchronously).
pub type WriteFuture<'a> = Pin<Box<dyn Future<Output = Result<(), RevokeError>> + Send + 'a>>;

/// Where revocations are kept. Writes may wait on a shared store; the check on
/// the request path ([`RevocationStore::is_revoked`]) is always a memory lookup.
pub trait RevocationStore: Send + Sync {
    /// Revokes one token id until `until`; done when it returns `Ok`.
    fn revoke_token(&self, entry: RevokedToken, now: u64) -> WriteFuture<'_>;
    /// Revokes a subject's credentials issued before `entry.before`; done when
    /// it returns `Ok`.
    fn revoke_subject(&self, entry: RevokedSubject, now: u64) -> WriteFuture<'_>;
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

    /// Revokes one token id until `until` (at once: memory only).
    pub fn revoke_token(&self, e: RevokedToken, now: u64) -> Result<(), String> {
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

    /// Revokes a subject's credentials issued before `entry.before` (at once:
    /// memory only).
    pub fn revoke_subject(&self, e: RevokedSubject, now: u64) -> Result<(), String> {
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

    /// Adds every entry of `r` (a shared store's copy) at once, keeping the
    /// later time of an entry held twice; expired entries are dropped first and
    /// new ones beyond [`MAX_REVOCATIONS`] ignored.
    pub fn merge(&self, r: &Revocations, now: u64) {
        let mut inner = self.write();
        inner.tokens.retain(|_, until| *until > now);
        inner.subjects.retain(|_, (_, until)| *until > now);
        for t in r.tokens.iter().filter(|t| t.until > now) {
            let key = (t.issuer.clone(), t.jti.clone());
            if let Some(slot) = inner.tokens.get_mut(&key) {
                *slot = (*slot).max(t.until);
            } else if inner.tokens.len() < MAX_REVOCATIONS {
                inner.tokens.insert(key, t.until);
            }
        }
        for s in r.subjects.iter().filter(|s| s.until > now) {
            let key = (s.issuer.clone().unwrap_or_default(), s.subject.clone());
            if let Some(slot) = inner.subjects.get_mut(&key) {
                *slot = (slot.0.max(s.before), slot.1.max(s.until));
            } else if inner.subjects.len() < MAX_REVOCATIONS {
                inner.subjects.insert(key, (s.before, s.until));
            }
        }
        if !inner.tokens.is_empty() || !inner.subjects.is_empty() {
            self.any.store(true, Ordering::Release);
        }
    }
}

impl RevocationStore for MemoryRevocations {
    fn revoke_token(&self, e: RevokedToken, now: u64) -> WriteFuture<'_> {
        let r = MemoryRevocations::revoke_token(self, e, now).map_err(RevokeError::Full);
        Box::pin(std::future::ready(r))
    }

    fn revoke_subject(&self, e: RevokedSubject, now: u64) -> WriteFuture<'_> {
        let r = MemoryRevocations::revoke_subject(self, e, now).map_err(RevokeError::Full);
        Box::pin(std::future::ready(r))
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

    #[test]
    fn a_merge_keeps_the_later_times_and_skips_expired_entries() {
        let s = MemoryRevocations::default();
        let tok = |jti: &str, until| RevokedToken {
            issuer: "https://idp".into(),
            jti: jti.into(),
            until,
        };
        s.revoke_token(tok("t1", 500), 100).unwrap();
        let bob = RevokedSubject {
            issuer: Some("https://idp".into()),
            subject: "bob".into(),
            before: 200,
            until: 900,
        };
        s.merge(
            &Revocations {
                tokens: vec![tok("t1", 300), tok("t2", 400), tok("t3", 50)],
                subjects: vec![bob.clone()],
            },
            100,
        );
        let l = s.list(100);
        assert_eq!(l.tokens, [tok("t1", 500), tok("t2", 400)]);
        assert_eq!(l.subjects, [bob]);
        assert!(s.is_revoked(&principal("bob", None, Some(150)), 100));
        assert!(!s.is_revoked(&principal("bob", None, Some(250)), 100));
    }
}
