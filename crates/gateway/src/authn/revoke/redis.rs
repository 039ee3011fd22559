//! Revocations shared through Redis, enforced from a local mirror.
//!
//! A write goes to Redis first (one script, atomic: expired entries dropped,
//! the bound checked, the entry merged, a version bumped) and only then to this
//! instance's mirror; the admin API answers an error when Redis did not record
//! it. Every instance reads the version every second and, when it changed,
//! merges every live entry into its mirror (plain commands, no script: the
//! checks' one `EVALSHA` each stays the only script traffic), so a revocation
//! made on one instance is enforced by all of them within about a second. The
//! request path only reads the mirror.
//!
//! Keys (under the store's prefix): `revocations:tokens`, a sorted set of
//! `["issuer","jti"]` scored by `until`; `revocations:subjects`, a sorted set of
//! `["issuer or empty","subject"]` scored by `until`, with each subject's
//! `before` in the hash `revocations:subjects:before`; `revocations:version`.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};
use std::time::Duration;

use ::redis::Script;
use tokio::task::JoinHandle;

use super::{
    MAX_REVOCATIONS, MemoryRevocations, RevocationStore, Revocations, RevokeError, RevokedSubject,
    RevokedToken, WriteFuture,
};
use crate::authn::Principal;
use crate::authn::now_secs;
use crate::limit::redis::RedisStore;

const TOKENS: &str = "revocations:tokens";
const SUBJECTS: &str = "revocations:subjects";
const BEFORE: &str = "revocations:subjects:before";
const VERSION: &str = "revocations:version";

/// How often each instance looks for revocations made elsewhere.
const REFRESH: Duration = Duration::from_secs(1);

/// Bumps the version; a missing version starts from Redis' clock (µs), so a
/// Redis that lost its data never repeats a version an instance has seen.
const BUMP: &str = "
local function bump(key)
  if redis.call('EXISTS', key) == 0 then
    local t = redis.call('TIME')
    redis.call('SET', key, string.format('%.0f', tonumber(t[1]) * 1000000 + tonumber(t[2])))
  end
  redis.call('INCR', key)
end
";

/// KEYS: tokens, version. ARGV: member, until, now, max. Returns 1, or 0 when full.
static WRITE_TOKEN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{BUMP}
         redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
         local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
         if not old then
           if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
           redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
         elseif tonumber(old) < tonumber(ARGV[2]) then
           redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
         end
         bump(KEYS[2])
         return 1"
    ))
});

/// KEYS: subjects, before, version. ARGV: member, before, until, now, max.
/// Returns 1, or 0 when full.
static WRITE_SUBJECT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{BUMP}
         local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
         for i = 1, #expired, 1000 do
           redis.call('HDEL', KEYS[2], unpack(expired, i, math.min(i + 999, #expired)))
         end
         redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
         local before, untl = tonumber(ARGV[2]), tonumber(ARGV[3])
         local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
         if not old then
           if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[5]) then return 0 end
         else
           before = math.max(before, tonumber(redis.call('HGET', KEYS[2], ARGV[1])) or 0)
           untl = math.max(untl, tonumber(old))
         end
         redis.call('ZADD', KEYS[1], string.format('%.0f', untl), ARGV[1])
         redis.call('HSET', KEYS[2], ARGV[1], string.format('%.0f', before))
         bump(KEYS[3])
         return 1"
    ))
});

/// Revocations kept in Redis, checked against a local mirror.
pub struct RedisRevocations {
    store: Arc<RedisStore>,
    mirror: MemoryRevocations,
    /// The version the mirror last merged.
    seen: Mutex<String>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for RedisRevocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRevocations")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl RedisRevocations {
    /// Starts the mirror's refresh (at once, then every second) in the
    /// background (inside the current Tokio runtime).
    pub fn start(store: Arc<RedisStore>) -> Arc<RedisRevocations> {
        let this = Arc::new(RedisRevocations {
            store,
            mirror: MemoryRevocations::default(),
            seen: Mutex::new(String::new()),
            task: Mutex::new(None),
        });
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                let task = rt.spawn(refresh_loop(Arc::downgrade(&this)));
                *this.task.lock().unwrap_or_else(PoisonError::into_inner) = Some(task);
            }
            Err(_) => tracing::error!(
                "revocations started outside a runtime: revocations made on other \
                 instances are not seen"
            ),
        }
        this
    }

    /// Merges what Redis holds into the mirror if it changed since last time
    /// (one `GET` of the version; when it changed, one `MULTI` reading every
    /// live entry). Returns whether it read the entries.
    pub async fn refresh(&self) -> bool {
        let store = &self.store;
        let mut get = ::redis::cmd("GET");
        get.arg(store.key(VERSION));
        let Ok(version) = store.query::<Option<String>>(get).await else {
            return false;
        };
        let version = version.unwrap_or_else(|| "0".to_owned());
        if *self.seen.lock().unwrap_or_else(PoisonError::into_inner) == version {
            return false;
        }
        let now = now_secs();
        let live = format!("({now}");
        let mut pipe = ::redis::pipe();
        pipe.atomic();
        for key in [TOKENS, SUBJECTS] {
            pipe.cmd("ZRANGEBYSCORE")
                .arg(store.key(key))
                .arg(&live)
                .arg("+inf")
                .arg("WITHSCORES")
                .arg("LIMIT")
                .arg(0)
                .arg(MAX_REVOCATIONS);
        }
        pipe.cmd("HGETALL").arg(store.key(BEFORE));
        let Ok((tokens, subjects, befores)) = store
            .query_pipeline::<(Vec<String>, Vec<String>, HashMap<String, String>)>(pipe)
            .await
        else {
            return false;
        };
        self.mirror
            .merge(&decode(&tokens, &subjects, &befores), now);
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = version;
        true
    }

    /// Stops the refresh.
    pub fn stop(&self) {
        if let Some(t) = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            t.abort();
        }
    }

    async fn write(
        &self,
        script: &'static Script,
        keys: &[&str],
        args: &[&[u8]],
    ) -> Result<(), RevokeError> {
        match self.store.eval::<i64>(script, keys, args).await {
            Ok(1) => Ok(()),
            Ok(_) => Err(RevokeError::Full(format!(
                "the shared store holds {MAX_REVOCATIONS} revocations of this kind"
            ))),
            Err(e) => Err(RevokeError::Unavailable(format!(
                "the revocation was not recorded: {e}"
            ))),
        }
    }
}

impl Drop for RedisRevocations {
    fn drop(&mut self) {
        self.stop();
    }
}

impl RevocationStore for RedisRevocations {
    fn revoke_token(&self, e: RevokedToken, now: u64) -> WriteFuture<'_> {
        Box::pin(async move {
            let member = member(&e.issuer, &e.jti);
            let (until, now_s) = (e.until.to_string(), now.to_string());
            let max = MAX_REVOCATIONS.to_string();
            let args: [&[u8]; 4] = [
                member.as_bytes(),
                until.as_bytes(),
                now_s.as_bytes(),
                max.as_bytes(),
            ];
            self.write(&WRITE_TOKEN, &[TOKENS, VERSION], &args).await?;
            self.mirror.revoke_token(e, now).map_err(RevokeError::Full)
        })
    }

    fn revoke_subject(&self, e: RevokedSubject, now: u64) -> WriteFuture<'_> {
        Box::pin(async move {
            let member = member(e.issuer.as_deref().unwrap_or(""), &e.subject);
            let (before, until) = (e.before.to_string(), e.until.to_string());
            let (now_s, max) = (now.to_string(), MAX_REVOCATIONS.to_string());
            let args: [&[u8]; 5] = [
                member.as_bytes(),
                before.as_bytes(),
                until.as_bytes(),
                now_s.as_bytes(),
                max.as_bytes(),
            ];
            self.write(&WRITE_SUBJECT, &[SUBJECTS, BEFORE, VERSION], &args)
                .await?;
            self.mirror
                .revoke_subject(e, now)
                .map_err(RevokeError::Full)
        })
    }

    fn is_revoked(&self, principal: &Principal, now: u64) -> bool {
        self.mirror.is_revoked(principal, now)
    }

    fn list(&self, now: u64) -> Revocations {
        self.mirror.list(now)
    }
}

async fn refresh_loop(this: Weak<RedisRevocations>) {
    loop {
        let Some(r) = this.upgrade() else { return };
        r.refresh().await;
        drop(r);
        tokio::time::sleep(REFRESH).await;
    }
}

/// An unambiguous member for a pair of strings: a JSON array.
fn member(a: &str, b: &str) -> String {
    serde_json::to_string(&(a, b)).unwrap_or_default()
}

fn unmember(m: &str) -> Option<(String, String)> {
    serde_json::from_str(m).ok()
}

/// A score (`until`, seconds) as Redis writes it.
fn score(s: &str) -> u64 {
    s.parse::<u64>()
        .or_else(|_| s.parse::<f64>().map(|f| f as u64))
        .unwrap_or(0)
}

fn decode(
    tokens: &[String],
    subjects: &[String],
    befores: &HashMap<String, String>,
) -> Revocations {
    let tokens = tokens
        .chunks_exact(2)
        .filter_map(|c| {
            let (issuer, jti) = unmember(&c[0])?;
            Some(RevokedToken {
                issuer,
                jti,
                until: score(&c[1]),
            })
        })
        .collect();
    let subjects = subjects
        .chunks_exact(2)
        .filter_map(|c| {
            let (issuer, subject) = unmember(&c[0])?;
            Some(RevokedSubject {
                issuer: (!issuer.is_empty()).then_some(issuer),
                subject,
                before: befores.get(&c[0]).map_or(0, |b| score(b)),
                until: score(&c[1]),
            })
        })
        .collect();
    Revocations { tokens, subjects }
}

#[cfg(test)]
mod tests;
