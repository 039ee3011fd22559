//! The parts of one `apis[].login` entry, each checked with its field named.

use std::sync::Arc;
use std::time::Duration;

use serde_saphyr::Spanned;

use super::{
    Action, Failure, MAX_NEEDLE, RawBreached, RawFailure, RawThreshold, Threshold, WINDOW,
};
use crate::config::Checker;
use crate::config::units::Span;
use crate::limit::breached::Breached;
use crate::limit::login::outcome::Needle;

/// The operation's id as routes know it (its `operationId`, or `METHOD /path`
/// for one without), when it exists and takes a JSON body; with the other
/// media types its body may have.
pub(super) fn operation(
    spec: &portcullis_openapi::Spec,
    name: &str,
) -> Result<(String, Vec<String>), String> {
    let op = spec
        .operations
        .iter()
        .find(|o| match &o.operation_id {
            Some(id) => id == name,
            None => format!("{} {}", o.method.as_str(), o.path) == name,
        })
        .ok_or_else(|| format!("the spec has no operation `{name}` (give its operationId)"))?;
    let types: Vec<&String> = spec
        .document
        .pointer(&op.pointer)
        .and_then(|o| o.get("requestBody"))
        .and_then(|b| spec.resolve(b).ok())
        .and_then(|b| b.get("content"))
        .and_then(serde_json::Value::as_object)
        .map(|types| types.keys().collect())
        .unwrap_or_default();
    let (json, others): (Vec<&String>, Vec<&String>) = types
        .into_iter()
        .partition(|t| crate::respond::is_json_type(t.as_bytes()));
    if json.is_empty() {
        return Err(format!(
            "operation `{name}` takes no JSON request body: login defence reads the \
             username from one"
        ));
    }
    Ok((name.to_owned(), others.into_iter().cloned().collect()))
}

/// A JSON pointer (RFC 6901) into the request body.
pub(super) fn json_pointer(c: &mut Checker<'_>, at: &str, p: &Spanned<String>) -> Option<String> {
    let text = &p.value;
    let why = if !text.starts_with('/') {
        Some("a JSON pointer (RFC 6901) starts with `/`, e.g. `/username`")
    } else if text[1..]
        .split('/')
        .any(|t| portcullis_openapi::pointer::unescape(t).is_none())
    {
        Some("in a JSON pointer, `~` is followed by `0` (for `~`) or `1` (for `/`)")
    } else {
        None
    };
    match why {
        Some(why) => {
            c.error(Some(p), at, why);
            None
        }
        None => Some(text.clone()),
    }
}

pub(super) fn failure(
    c: &mut Checker<'_>,
    at: &str,
    raw: Option<&RawFailure>,
    ok: &mut bool,
) -> Option<Failure> {
    let mut status = vec![401];
    if let Some(list) = raw.and_then(|f| f.status.as_ref()) {
        status.clear();
        for (i, s) in list.iter().enumerate() {
            if (100..=599).contains(&s.value) {
                status.push(s.value);
            } else {
                *ok = false;
                c.error(Some(s), format!("{at}.status[{i}]"), "not an HTTP status");
            }
        }
        if list.is_empty() {
            *ok = false;
            c.error::<()>(
                None,
                format!("{at}.status"),
                "list the statuses of a failed login (default [401])",
            );
        }
    }
    let body_contains = match raw.and_then(|f| f.body_contains.as_ref()) {
        Some(t) if t.value.is_empty() || t.value.len() > MAX_NEEDLE => {
            *ok = false;
            c.error(
                Some(t),
                format!("{at}.body_contains"),
                "give a text of 1 to 1024 bytes that only a failure's body contains",
            );
            None
        }
        Some(t) => Some(Needle::new(t.value.as_bytes())),
        None => None,
    };
    Some(Failure {
        status,
        body_contains,
    })
}

pub(super) fn threshold(
    c: &mut Checker<'_>,
    at: &str,
    raw: Option<&RawThreshold>,
    failures: u64,
    ok: &mut bool,
) -> Option<Threshold> {
    let f = raw.and_then(|t| t.failures.as_ref());
    let failures = match f {
        Some(n) if n.value == 0 => {
            *ok = false;
            c.error(Some(n), format!("{at}.failures"), "at least 1");
            failures
        }
        Some(n) => n.value,
        None => failures,
    };
    let window = positive(
        c,
        &format!("{at}.window"),
        raw.and_then(|t| t.window.as_ref()),
        WINDOW,
    );
    *ok &= window.is_some();
    Some(Threshold {
        failures,
        window: window?,
    })
}

/// A duration that must not be zero (its default when absent).
pub(super) fn positive(
    c: &mut Checker<'_>,
    at: &str,
    raw: Option<&Spanned<Span>>,
    default: Duration,
) -> Option<Duration> {
    match raw {
        Some(s) if s.value.0.is_zero() => {
            c.error(Some(s), at, "must be longer than 0");
            None
        }
        Some(s) => Some(s.value.0),
        None => Some(default),
    }
}

pub(super) fn breached(
    c: &mut Checker<'_>,
    at: &str,
    raw: &RawBreached,
) -> Option<(Arc<Breached>, Action)> {
    let action = match raw.action.value.as_str() {
        "refuse" => Some(Action::Refuse),
        "flag" => Some(Action::Flag),
        _ => {
            c.error(
                Some(&raw.action),
                format!("{at}.action"),
                "`refuse` (the login is refused with 400 password-breached) or `flag` (it \
                 goes on with `x-portcullis-password-breached: true`)",
            );
            None
        }
    };
    let path = c.path(&raw.file.value);
    let file = match Breached::open(&path) {
        Ok(b) => Some(Arc::new(b)),
        Err(e) => {
            c.error(
                Some(&raw.file),
                format!("{at}.file"),
                format!("{}: {e}", path.display()),
            );
            None
        }
    };
    Some((file?, action?))
}
