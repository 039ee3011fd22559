//! `apis[].login` as written, checked and compiled into [`LoginRule`]s.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use self::fields::{breached, failure, json_pointer, operation, positive, threshold};
use super::outcome::Needle;
use super::{LoginRule, Logins, RawLogin};
use crate::config::Checker;
use crate::config::units::Span;

mod fields;

/// Failures per username before it is locked, by default.
const USER_FAILURES: u64 = 5;
/// Failures per address before it is locked, by default.
const IP_FAILURES: u64 = 20;
/// How long failures are remembered (and locks last), by default.
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// The first progressive delay, by default.
const DELAY_BASE: Duration = Duration::from_millis(200);
/// The longest progressive delay, by default.
const DELAY_MAX: Duration = Duration::from_secs(3);
/// The timing bucket of failure answers, by default.
const BUCKET: Duration = Duration::from_millis(500);
/// A delay longer than this holds connections for nothing.
const DELAY_LIMIT: Duration = Duration::from_secs(60);
/// A failure text longer than this is a config mistake.
const MAX_NEEDLE: usize = 1024;

/// `failure`: how a failed login shows in the upstream's response.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFailure {
    #[serde(default)]
    status: Option<Vec<Spanned<u16>>>,
    #[serde(default)]
    body_contains: Option<Spanned<String>>,
}

/// `per_username` / `per_ip`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawThreshold {
    #[serde(default)]
    failures: Option<Spanned<u64>>,
    #[serde(default)]
    window: Option<Spanned<Span>>,
}

/// `delay`: the progressive delay.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDelay {
    #[serde(default)]
    base: Option<Spanned<Span>>,
    #[serde(default)]
    max: Option<Spanned<Span>>,
}

/// `uniform`: the timing grid of failure answers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUniform {
    #[serde(default)]
    bucket: Option<Spanned<Span>>,
}

/// `breached_passwords`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBreached {
    file: Spanned<String>,
    action: Spanned<String>,
}

/// How a failure is recognised.
#[derive(Debug)]
pub(super) struct Failure {
    /// Statuses that are failures.
    pub(super) status: Vec<u16>,
    /// Text whose presence in a 2xx/4xx body makes a failure.
    pub(super) body_contains: Option<Needle>,
}

/// Failures allowed in a window before a lock.
#[derive(Debug, Clone, Copy)]
pub(super) struct Threshold {
    pub(super) failures: u64,
    pub(super) window: Duration,
}

/// What a breached password leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    /// The attempt is refused (400 `password-breached`).
    Refuse,
    /// The attempt goes on, flagged to the upstream.
    Flag,
}

/// Compiles `apis[].login` (`field` is `apis[i]`).
pub(super) fn build(
    c: &mut Checker<'_>,
    field: &str,
    raw: &[RawLogin],
    spec: Option<&portcullis_openapi::Spec>,
) -> Option<Arc<Logins>> {
    if raw.is_empty() {
        return None;
    }
    let mut rules: Vec<LoginRule> = Vec::new();
    let mut failed = false;
    for (i, r) in raw.iter().enumerate() {
        let at = format!("{field}.login[{i}]");
        match rule(c, &at, r, spec) {
            Some(rule) if rules.iter().any(|o| o.operation == rule.operation) => {
                failed = true;
                c.error(
                    Some(&r.operation),
                    format!("{at}.operation"),
                    "this operation already has a login rule",
                );
            }
            Some(rule) => rules.push(rule),
            None => failed = true,
        }
    }
    (!failed).then(|| Arc::new(Logins { rules }))
}

/// One entry; `None` after recording its errors.
fn rule(
    c: &mut Checker<'_>,
    at: &str,
    r: &RawLogin,
    spec: Option<&portcullis_openapi::Spec>,
) -> Option<LoginRule> {
    let mut ok = true;
    let op_at = Some(&r.operation);
    let operation = match spec {
        None => {
            c.error(
                op_at,
                format!("{at}.operation"),
                "login defence needs the API's spec (it finds the operation by its operationId)",
            );
            None
        }
        Some(spec) => match operation(spec, &r.operation.value) {
            Ok((id, others)) => {
                if !others.is_empty() {
                    c.warn(
                        op_at,
                        format!("{at}.operation"),
                        format!(
                            "the operation also accepts {}: such bodies have no username \
                             the defence can read, so they are refused as failed logins",
                            others.join(", ")
                        ),
                    );
                }
                Some(id)
            }
            Err(why) => {
                c.error(op_at, format!("{at}.operation"), why);
                None
            }
        },
    };
    ok &= operation.is_some();
    let username = match &r.username {
        Some(p) => json_pointer(c, &format!("{at}.username"), p),
        None => {
            c.error(
                op_at,
                format!("{at}.username"),
                "required: the JSON pointer of the username in the request body, e.g. `/username`",
            );
            None
        }
    };
    ok &= username.is_some();
    let password = match &r.password {
        Some(p) => {
            let ptr = json_pointer(c, &format!("{at}.password"), p);
            ok &= ptr.is_some();
            ptr
        }
        None => None,
    };
    let failure = failure(c, &format!("{at}.failure"), r.failure.as_ref(), &mut ok);
    let per_username = threshold(
        c,
        &format!("{at}.per_username"),
        r.per_username.as_ref(),
        USER_FAILURES,
        &mut ok,
    );
    let per_ip = threshold(
        c,
        &format!("{at}.per_ip"),
        r.per_ip.as_ref(),
        IP_FAILURES,
        &mut ok,
    );
    let base = r.delay.as_ref().and_then(|d| d.base.as_ref());
    let max = r.delay.as_ref().and_then(|d| d.max.as_ref());
    let delay = (
        base.map_or(DELAY_BASE, |s| s.value.0),
        max.map_or(DELAY_MAX, |s| s.value.0),
    );
    if delay.1 > DELAY_LIMIT {
        ok = false;
        c.error(
            max.or(base),
            format!("{at}.delay.max"),
            "at most 60s: a longer delay only holds connections open",
        );
    }
    if delay.0 > delay.1 {
        ok = false;
        c.error(
            base.or(max),
            format!("{at}.delay.base"),
            "the base delay is longer than `delay.max`",
        );
    }
    let lockout = positive(c, &format!("{at}.lockout"), r.lockout.as_ref(), WINDOW);
    let bucket_at = r.uniform.as_ref().and_then(|u| u.bucket.as_ref());
    let bucket = positive(c, &format!("{at}.uniform.bucket"), bucket_at, BUCKET);
    ok &= lockout.is_some() && bucket.is_some();
    if bucket.is_some_and(|b| b > Duration::from_secs(10)) {
        ok = false;
        c.error(
            bucket_at,
            format!("{at}.uniform.bucket"),
            "at most 10s: every failure answer waits up to one bucket",
        );
    }
    let breached = match &r.breached_passwords {
        Some(b) => {
            let compiled = breached(c, &format!("{at}.breached_passwords"), b);
            if password.is_none() {
                c.error(
                    Some(&b.file),
                    format!("{at}.password"),
                    "checking breached passwords needs `password`: the JSON pointer of the \
                     password in the request body",
                );
            }
            ok &= compiled.is_some() && password.is_some();
            compiled
        }
        None => None,
    };
    if !ok {
        return None;
    }
    Some(LoginRule {
        operation: operation?,
        username: username?,
        password,
        failure: failure?,
        per_username: per_username?,
        per_ip: per_ip?,
        delay,
        lockout: lockout?,
        bucket: bucket?,
        breached,
    })
}
