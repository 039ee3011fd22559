//! Credential-stuffing and brute-force defence for login operations.
//!
//! For each configured login operation, failed attempts are counted per
//! username (kept only as a SHA-256 of the normalised name) and per client
//! address, in the shared [`Store`] (Redis when configured, else this
//! process). An attempt is:
//!
//! 1. refused at once with the uniform failure when its username or address
//!    is locked;
//! 2. charged to its username *before* it is forwarded (a success clears the
//!    charge), so that many attempts sent in parallel cannot all pass the
//!    lock check: past the threshold, the surplus is refused as locked;
//! 3. held for its progressive delay (`base · 2^(n-1)` after `n` failures);
//! 4. checked against the breached-password list (refused or flagged);
//! 5. forwarded; the upstream's answer is a failure by its status or body
//!    text. A failure is counted per address, locks what reached its
//!    threshold, and is replaced by the uniform failure.
//!
//! Every failure answer, whatever its reason (wrong password, unknown user,
//! locked username or address, a body without a username), is the same 401
//! `login-failed` problem, released at the end of a timing bucket counted from
//! the attempt's arrival, so neither its body nor its timing says which.

mod config;
mod outcome;
mod subject;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Response};
use serde::Deserialize;
use serde_saphyr::Spanned;
use tokio::time::Instant;

use self::config::{Action, Failure, Threshold};
use self::outcome::Outcome;
use super::Store;
use super::breached::Breached;
use crate::body::Body;
use crate::config::Checker;
use crate::config::units::Span;
use crate::metrics::Metrics;
use crate::problem::Reject;

/// The header that tells the upstream the password is in the breached list
/// (`breached_passwords.action: flag`).
pub const BREACHED_HEADER: &str = "x-portcullis-password-breached";

/// `apis[].login` as written: one entry per login operation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogin {
    /// The login operation's `operationId`.
    pub operation: Spanned<String>,
    /// JSON pointer of the username in the request body.
    #[serde(default)]
    pub(crate) username: Option<Spanned<String>>,
    /// JSON pointer of the password (for the breached-password check).
    #[serde(default)]
    pub(crate) password: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) failure: Option<config::RawFailure>,
    #[serde(default)]
    pub(crate) per_username: Option<config::RawThreshold>,
    #[serde(default)]
    pub(crate) per_ip: Option<config::RawThreshold>,
    #[serde(default)]
    pub(crate) delay: Option<config::RawDelay>,
    #[serde(default)]
    pub(crate) lockout: Option<Spanned<Span>>,
    #[serde(default)]
    pub(crate) uniform: Option<config::RawUniform>,
    #[serde(default)]
    pub(crate) breached_passwords: Option<config::RawBreached>,
}

/// The API's login rules, by operation.
#[derive(Debug)]
pub struct Logins {
    rules: Vec<LoginRule>,
}

/// One login operation's defence.
#[derive(Debug)]
pub struct LoginRule {
    /// The operation (its `operationId`).
    pub operation: String,
    username: String,
    password: Option<String>,
    failure: Failure,
    per_username: Threshold,
    per_ip: Threshold,
    /// The progressive delay: base and cap.
    delay: (Duration, Duration),
    lockout: Duration,
    bucket: Duration,
    breached: Option<(Arc<Breached>, Action)>,
}

/// Compiles `apis[].login` (`field` is `apis[i]`).
pub(crate) fn build(
    c: &mut Checker<'_>,
    field: &str,
    raw: &[RawLogin],
    spec: Option<&portcullis_openapi::Spec>,
) -> Option<Arc<Logins>> {
    config::build(c, field, raw, spec)
}

impl Logins {
    /// The rule of a login operation.
    pub fn rule(&self, operation: &str) -> Option<&LoginRule> {
        self.rules.iter().find(|r| r.operation == operation)
    }
}

/// A login attempt in progress, between `before` and `after`.
#[derive(Debug)]
pub struct Attempt {
    /// When it arrived: the origin of its timing buckets.
    start: Instant,
    api: String,
    /// The username's failure counter and lock marker, and the counter's
    /// value with this attempt charged.
    user: Option<(Keys, u64)>,
    ip: Keys,
    /// The password is in the breached list (`action: flag`).
    flagged: bool,
    /// The upstream's body will be searched for the failure text: it is asked
    /// for uncompressed.
    identity: bool,
}

/// A failure counter and its lock marker.
#[derive(Debug, Clone)]
struct Keys {
    count: String,
    lock: String,
}

/// Who is attempting: the facts `before` needs.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    /// The API's name (metrics).
    pub api: &'a str,
    /// The client address.
    pub client_ip: IpAddr,
    /// The whole request body (the username and password are in it).
    pub body: &'a [u8],
}

impl LoginRule {
    /// Before the attempt is forwarded: a locked user or address gets the
    /// uniform failure (after the same delay and in the same timing bucket as
    /// a failed password); otherwise the attempt is held for its progressive
    /// delay, and the password checked against the breached list.
    /// Headers to add to the forwarded request come back in the attempt.
    pub async fn before(
        &self,
        store: &Store,
        who: Who<'_>,
        metrics: &Metrics,
    ) -> Result<Attempt, Reject> {
        let start = Instant::now();
        let creds = subject::credentials(who.body, &self.username, self.password.as_deref());
        let prefix = format!("login:{}:{}", who.api, self.operation);
        let keys = |kind: &str, id: &str| Keys {
            count: format!("{prefix}:{kind}:{id}"),
            lock: format!("{prefix}:{kind}:{id}:lock"),
        };
        let ip = keys("ip", &super::ip_key(who.client_ip));
        let user = creds.user.as_deref().map(|u| keys("u", u));
        let mut attempt = Attempt {
            start,
            api: who.api.to_owned(),
            user: None,
            ip,
            flagged: false,
            identity: self.failure.body_contains.is_some(),
        };
        let event = |e: &str| metrics.login(who.api, &self.operation, e);

        let mut names = vec![attempt.ip.count.as_str(), attempt.ip.lock.as_str()];
        if let Some(u) = &user {
            names.extend([u.count.as_str(), u.lock.as_str()]);
        }
        let got = store.get(&names).await;
        let value = |i: usize| got.get(i).map_or(0, |c| c.value);
        let (ip_failures, ip_locked) = (value(0), value(1) > 0);
        let (user_failures, user_locked) = (value(2), value(3) > 0);
        if user_locked || ip_locked {
            event("refused_locked");
            self.hold(ip_failures.max(user_failures), &event).await;
            let reason = if user_locked {
                "locked-user"
            } else {
                "locked-ip"
            };
            return Err(self.uniform(start, reason).await);
        }
        let Some(user) = user else {
            // No username to count: a failure of the address.
            self.hold(ip_failures, &event).await;
            self.failed(store, &attempt, &event).await;
            return Err(self.uniform(start, "failed").await);
        };
        // Charged now, before the upstream decides: parallel attempts cannot
        // all slip past the threshold. A success removes the charge.
        let charged = store
            .incr(&user.count, micros(self.per_username.window))
            .await
            .value;
        attempt.user = Some((user, charged));
        self.hold(ip_failures.max(charged.saturating_sub(1)), &event)
            .await;
        if charged > self.per_username.failures {
            // The threshold's worth of attempts is already in flight.
            event("refused_locked");
            return Err(self.uniform(start, "locked-user").await);
        }
        if let (Some((list, action)), Some(password)) = (&self.breached, creds.password) {
            let list = Arc::clone(list);
            match tokio::task::spawn_blocking(move || list.contains(&password)).await {
                Ok(Ok(true)) if *action == Action::Refuse => {
                    event("breached_refused");
                    return Err(Reject::PasswordBreached);
                }
                Ok(Ok(true)) => {
                    event("breached_flagged");
                    attempt.flagged = true;
                }
                Ok(Ok(false)) => {}
                Ok(Err(e)) => {
                    event("breached_error");
                    tracing::warn!(
                        api = who.api,
                        operation = %self.operation,
                        error = %e,
                        "the breached-password lookup failed; the login goes on unchecked"
                    );
                }
                Err(_) => event("breached_error"),
            }
        }
        Ok(attempt)
    }

    /// After the upstream answered: a failure is counted (per username and
    /// per address, locking past the thresholds) and replaced by the uniform
    /// failure, released at the end of its timing bucket; a success clears the
    /// username's failures.
    pub async fn after(
        &self,
        store: &Store,
        attempt: Attempt,
        resp: Response<Body>,
        metrics: &Metrics,
    ) -> Result<Response<Body>, Reject> {
        let event = |e: &str| metrics.login(&attempt.api, &self.operation, e);
        match outcome::classify(resp, &self.failure).await {
            Outcome::Failure => {
                self.failed(store, &attempt, &event).await;
                Err(self.uniform(attempt.start, "failed").await)
            }
            Outcome::Success(resp) => {
                if let Some((user, _)) = &attempt.user {
                    store.remove(&[user.count.as_str()]).await;
                }
                event("success");
                Ok(resp)
            }
            Outcome::Inconclusive(resp) => {
                // The charge stays; at the threshold it locks, as a failure would.
                self.lock_user(store, &attempt, &event).await;
                event("inconclusive");
                Ok(resp)
            }
        }
    }

    /// Records a failure: the address's counter goes up (the username's was
    /// charged in `before`), and whatever reached its threshold is locked.
    async fn failed(&self, store: &Store, attempt: &Attempt, event: &impl Fn(&str)) {
        event("failure");
        let ip = store
            .incr(&attempt.ip.count, micros(self.per_ip.window))
            .await;
        if ip.value >= self.per_ip.failures {
            lock(store, &attempt.ip, self.lockout).await;
            event("locked");
        }
        self.lock_user(store, attempt, event).await;
    }

    /// Locks the username when its charged attempts reached the threshold.
    async fn lock_user(&self, store: &Store, attempt: &Attempt, event: &impl Fn(&str)) {
        if let Some((user, charged)) = &attempt.user
            && *charged >= self.per_username.failures
        {
            lock(store, user, self.lockout).await;
            event("locked");
        }
    }

    /// Sleeps the progressive delay after `failures` failures.
    async fn hold(&self, failures: u64, event: &impl Fn(&str)) {
        let d = progressive(self.delay.0, self.delay.1, failures);
        if !d.is_zero() {
            event("delayed");
            tokio::time::sleep(d).await;
        }
    }

    /// The uniform failure, once the timing bucket the answer falls in has ended.
    async fn uniform(&self, start: Instant, reason: &'static str) -> Reject {
        tokio::time::sleep_until(release_at(start, Instant::now(), self.bucket)).await;
        Reject::LoginFailed { reason }
    }
}

impl Attempt {
    /// Headers for the forwarded request, to be set (replacing any of the
    /// same name): the breached-password flag, and `accept-encoding: identity`
    /// when the answer's body will be searched for the failure text.
    pub fn upstream_headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        let mut out = Vec::new();
        if self.flagged {
            out.push((
                HeaderName::from_static(BREACHED_HEADER),
                HeaderValue::from_static("true"),
            ));
        }
        if self.identity {
            out.push((
                http::header::ACCEPT_ENCODING,
                HeaderValue::from_static("identity"),
            ));
        }
        out
    }
}

/// Sets a lock marker for `lockout` and starts its counter afresh, so that
/// once the lock ends the full threshold applies again.
async fn lock(store: &Store, keys: &Keys, lockout: Duration) {
    store.set(&keys.lock, 1, micros(lockout)).await;
    store.remove(&[keys.count.as_str()]).await;
}

/// The delay after `failures` failures: none for 0, else `base · 2^(failures-1)`,
/// at most `max`.
pub(crate) fn progressive(base: Duration, max: Duration, failures: u64) -> Duration {
    if failures == 0 || base.is_zero() {
        return Duration::ZERO;
    }
    let doublings = u32::try_from(failures - 1).unwrap_or(u32::MAX);
    match 1u32.checked_shl(doublings) {
        Some(factor) if doublings < 32 => base.saturating_mul(factor).min(max),
        _ => max,
    }
}

/// When an answer started at `start` may leave: `start + k·bucket` for the
/// smallest `k ≥ 1` not before `now`.
pub(crate) fn release_at(start: Instant, now: Instant, bucket: Duration) -> Instant {
    let bucket_ns = bucket.as_nanos().max(1);
    let elapsed = now.saturating_duration_since(start).as_nanos();
    let k = elapsed.div_ceil(bucket_ns).max(1);
    let wait = u64::try_from(k * bucket_ns).unwrap_or(u64::MAX);
    start + Duration::from_nanos(wait)
}

/// A duration in store units (microseconds), at least 1.
fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

#[cfg(test)]
mod tests;
