//! Request values as Cedar values: typed conversion of path, query and body
//! values (a value that does not fit its declared type denies), query
//! decoding, and client addresses.

use std::cell::RefCell;
use std::net::IpAddr;

use cedar_policy::RestrictedExpression;
use serde_json::Value;

use crate::schema::AttrType;

/// How many client addresses each thread remembers as Cedar values.
const IP_CACHE: usize = 32;

thread_local! {
    /// Recent client addresses as Cedar `ip()` values, per thread (no lock).
    /// `RestrictedExpression::new_ip` parses the name `ip` with Cedar's full
    /// grammar on every call, a tenth of a decision; a client usually sends
    /// more than one request.
    static IPS: RefCell<(Vec<(IpAddr, RestrictedExpression)>, usize)> =
        const { RefCell::new((Vec::new(), 0)) };
}

/// `ip("<addr>")`, from the thread's cache when it has it.
pub(super) fn ip_value(ip: IpAddr) -> RestrictedExpression {
    IPS.with_borrow_mut(|(entries, next)| {
        if let Some((_, value)) = entries.iter().find(|(seen, _)| *seen == ip) {
            return value.clone();
        }
        let value = RestrictedExpression::new_ip(ip.to_string());
        if entries.len() < IP_CACHE {
            entries.push((ip, value.clone()));
        } else {
            entries[*next] = (ip, value.clone());
            *next = (*next + 1) % IP_CACHE;
        }
        value
    })
}

/// A type in words, for errors.
pub(super) fn describe(ty: AttrType) -> &'static str {
    match ty {
        AttrType::String => "a string",
        AttrType::Long => "an integer",
        AttrType::Bool => "a boolean",
        AttrType::SetString => "a list of strings",
        AttrType::SetLong => "a list of integers",
        AttrType::SetBool => "a list of booleans",
    }
}

/// A request text (path or query parameter) as a value of `ty`.
pub(super) fn text_value(ty: AttrType, text: &str) -> Option<RestrictedExpression> {
    let long = |t: &str| t.parse::<i64>().ok().map(RestrictedExpression::new_long);
    match ty {
        AttrType::String => Some(RestrictedExpression::new_string(text.to_owned())),
        AttrType::Long => long(text),
        AttrType::Bool => match text {
            "true" => Some(RestrictedExpression::new_bool(true)),
            "false" => Some(RestrictedExpression::new_bool(false)),
            _ => None,
        },
        AttrType::SetString => Some(RestrictedExpression::new_set([
            RestrictedExpression::new_string(text.to_owned()),
        ])),
        AttrType::SetLong => long(text).map(|v| RestrictedExpression::new_set([v])),
        AttrType::SetBool => None,
    }
}

/// A JSON value (claim, body field, static attribute) as a value of `ty`. A
/// single value becomes a one-element set; strings also take numbers.
pub(super) fn json_value(ty: AttrType, value: &Value) -> Option<RestrictedExpression> {
    let string = |v: &Value| match v {
        Value::String(s) => Some(RestrictedExpression::new_string(s.clone())),
        Value::Number(n) => Some(RestrictedExpression::new_string(n.to_string())),
        _ => None,
    };
    let long = |v: &Value| v.as_i64().map(RestrictedExpression::new_long);
    let set = |element: &dyn Fn(&Value) -> Option<RestrictedExpression>| match value {
        Value::Array(items) => items
            .iter()
            .map(element)
            .collect::<Option<Vec<_>>>()
            .map(RestrictedExpression::new_set),
        single => element(single).map(|v| RestrictedExpression::new_set([v])),
    };
    match ty {
        AttrType::String => string(value),
        AttrType::Long => long(value),
        AttrType::Bool => value.as_bool().map(RestrictedExpression::new_bool),
        AttrType::SetString => set(&string),
        AttrType::SetLong => set(&long),
        AttrType::SetBool => set(&|v: &Value| v.as_bool().map(RestrictedExpression::new_bool)),
    }
}

/// The first value of query parameter `name`, percent-decoded (`+` is a
/// space); an error when it does not decode to UTF-8.
pub(super) fn query_param(query: Option<&str>, name: &str) -> Result<Option<String>, String> {
    let Some(query) = query else {
        return Ok(None);
    };
    let mut found = None;
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == name || percent_decode(key).as_deref() == Some(name) {
            // Servers disagree on which of two values counts (first, last,
            // both): a policy must not decide on one while the upstream acts
            // on the other (`?accountId=mine&accountId=victim`).
            if found.is_some() {
                return Err(format!("query parameter `{name}` is repeated"));
            }
            found = Some(
                percent_decode(value)
                    .ok_or_else(|| format!("query parameter `{name}` is not UTF-8"))?,
            );
        }
    }
    Ok(found)
}

/// Percent-decodes a query component; `%` not followed by two hex digits is
/// kept as is. `None` when the bytes are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    if !text.contains(['%', '+']) {
        return Some(text.to_owned());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_decoded() {
        let q = Some("a=1&b=x%20y+z&c=%zz&d=%e9&r=mine&%72=victim");
        assert_eq!(query_param(q, "b"), Ok(Some("x y z".to_owned())));
        // Repeated (even spelt differently): which one would the upstream use?
        assert!(query_param(q, "r").is_err());
        assert_eq!(query_param(q, "c"), Ok(Some("%zz".to_owned())));
        assert_eq!(query_param(q, "e"), Ok(None));
        assert!(query_param(q, "d").is_err());
        assert_eq!(percent_decode("%41%4"), Some("A%4".to_owned()));
    }

    #[test]
    fn json_values_convert_to_declared_types() {
        let v = serde_json::json!("acc-1");
        assert!(json_value(AttrType::SetString, &v).is_some());
        assert!(json_value(AttrType::Long, &v).is_none());
        assert!(json_value(AttrType::SetLong, &serde_json::json!([1, "x"])).is_none());
    }
}
