//! Decisions remembered: a decision is a pure function of the facts its
//! operation's policies can see, so an identical request (the same caller
//! reading the same object again) need not be evaluated again.
//!
//! The key is a 128-bit hash, under two random per-process keys, of a superset
//! of everything [`Engine::request`] reads for the operation: the principal's
//! identity, roles, scopes, tenant, MFA and the declared claims its policies
//! read; the path, path parameters, whole query string, the selected body
//! fields and exposed headers; the client address and connection; and, only
//! when a policy reads them, the clock-derived context values (so a policy on
//! `context.hour` is re-evaluated when the hour changes). Anything not hashed is
//! not read. Bounded: a shard that fills up is emptied.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Mutex, PoisonError};
use std::time::UNIX_EPOCH;

use serde_json::Value;

use super::{CONTEXT, Engine, Plan, PlanSource};
use crate::{Decision, Facts};

const SHARDS: usize = 16;
/// Decisions kept per shard (16 × 1024 in all, a few MB at most).
const PER_SHARD: usize = 1024;

/// The remembered decisions of one compiled policy set.
#[derive(Debug)]
pub(super) struct Memo {
    keys: (RandomState, RandomState),
    shards: [Mutex<HashMap<u128, Decision>>; SHARDS],
}

impl Default for Memo {
    fn default() -> Self {
        Memo {
            keys: (RandomState::new(), RandomState::new()),
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
        }
    }
}

impl Memo {
    /// The remembered decision for these facts, or `decide`'s, remembered.
    pub(super) fn get_or(
        &self,
        engine: &Engine,
        plan: &Plan,
        facts: &Facts<'_>,
        decide: impl FnOnce() -> Decision,
    ) -> Decision {
        let mut a = self.keys.0.build_hasher();
        let mut b = self.keys.1.build_hasher();
        feed(&mut Both(&mut a, &mut b), engine, plan, facts);
        let key = (u128::from(a.finish()) << 64) | u128::from(b.finish());
        let shard = &self.shards[(key as usize) % SHARDS];
        if let Some(hit) = shard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return hit.clone();
        }
        let decision = decide();
        let mut map = shard.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= PER_SHARD {
            map.clear();
        }
        map.insert(key, decision.clone());
        decision
    }
}

/// Two hashers fed the same bytes.
struct Both<'a, A, B>(&'a mut A, &'a mut B);

impl<A: Hasher, B: Hasher> Hasher for Both<'_, A, B> {
    fn finish(&self) -> u64 {
        self.0.finish()
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.write(bytes);
        self.1.write(bytes);
    }
}

/// Everything the operation's decision can depend on (see the module docs).
fn feed(h: &mut impl Hasher, engine: &Engine, plan: &Plan, facts: &Facts<'_>) {
    facts.operation.hash(h);
    facts.path.hash(h);
    facts.path_params.hash(h);
    facts.query.hash(h);
    for attr in &plan.attrs {
        if let PlanSource::Body(pointer) = &attr.source {
            json(h, facts.body.and_then(|b| b.pointer(pointer)));
        }
    }
    for (name, _) in &engine.headers {
        facts.headers.get(name).map(|v| v.as_bytes()).hash(h);
    }
    facts.client_ip.to_canonical().hash(h);
    facts.tls.hash(h);
    facts.mtls.hash(h);
    match &facts.principal {
        None => 0u8.hash(h),
        Some(p) => {
            1u8.hash(h);
            p.method.hash(h);
            p.subject.hash(h);
            p.issuer.hash(h);
            p.roles.hash(h);
            p.scopes.hash(h);
            p.tenant.hash(h);
            p.mfa.hash(h);
            for (name, _) in &plan.claims {
                name.hash(h);
                json(h, p.claims.get(name));
            }
        }
    }
    let now = facts
        .now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for (name, read) in CONTEXT.iter().zip(plan.context) {
        if !read {
            continue;
        }
        match *name {
            "time" => now.hash(h),
            "hour" => (now / 3_600).hash(h),
            "weekday" => (now / 86_400).hash(h),
            "tokenAge" => {
                now.hash(h);
                facts.principal.as_ref().and_then(|p| p.issued_at).hash(h);
            }
            _ => {}
        }
    }
}

/// A JSON value, unambiguously (a tag per kind, lengths before contents).
fn json(h: &mut impl Hasher, value: Option<&Value>) {
    match value {
        None => 0u8.hash(h),
        Some(Value::Null) => 1u8.hash(h),
        Some(Value::Bool(b)) => (2u8, b).hash(h),
        Some(Value::Number(n)) => (3u8, n.to_string()).hash(h),
        Some(Value::String(s)) => (4u8, s).hash(h),
        Some(Value::Array(items)) => {
            (5u8, items.len()).hash(h);
            for item in items {
                json(h, Some(item));
            }
        }
        Some(Value::Object(map)) => {
            (6u8, map.len()).hash(h);
            for (k, v) in map {
                k.hash(h);
                json(h, Some(v));
            }
        }
    }
}
