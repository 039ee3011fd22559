//! Authorization: after authentication, the API's Cedar policies (and the
//! shortcuts compiled into them) decide whether this principal may call this
//! operation on this object. See `portcullis_policy` for the model.

use std::fmt;
use std::sync::Arc;

use portcullis_policy::{Mode, Policies, PrincipalFacts};
use serde::de::{Deserialize, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::authn::Principal;
use crate::config;

/// What one request's authorization decided, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The policies allowed it.
    pub allowed: bool,
    /// The decision was enforced (false: monitor mode, a denial let through).
    pub enforced: bool,
    /// The policies that determined it.
    pub policies: Vec<Arc<str>>,
}

/// The principal as the policies see it (borrowed, nothing copied).
pub fn facts_of(p: &Principal) -> PrincipalFacts<'_> {
    PrincipalFacts {
        method: p.method.as_str(),
        subject: &p.subject,
        issuer: &p.issuer,
        roles: &p.roles,
        scopes: &p.scopes,
        tenant: p.tenant.as_deref(),
        mfa: p.mfa,
        issued_at: p.issued_at,
        claims: &p.claims,
    }
}

/// Whether the API's decisions are enforced: the authorization section's own
/// mode, else the API's.
pub fn enforced(policies: &Policies, api_mode: config::Mode) -> bool {
    match policies.mode() {
        Some(Mode::Enforce) => true,
        Some(Mode::Monitor) => false,
        None => api_mode == config::Mode::Enforce,
    }
}

/// A request body as the policies read it: JSON in which no object repeats a
/// key. Parsers disagree on which of two equal keys counts (serde_json keeps
/// the last, others the first), so a decision on one of them could let the
/// upstream act on the other (`{"from": "victim", "from": "mine"}`).
pub fn json_body(bytes: &[u8]) -> Result<Value, &'static str> {
    json_unique(bytes).map_err(|e| match e {
        BadJson::RepeatedKey => "the request body repeats a JSON key",
        BadJson::Invalid => "the request body is not JSON",
    })
}

/// Why bytes are not JSON the gateway decides on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadJson {
    /// Well-formed, but an object repeats a key.
    RepeatedKey,
    /// Not JSON at all.
    Invalid,
}

/// JSON in which no object repeats a key (requests the policies read,
/// responses whose owner is checked: what is decided on must be what the other
/// side reads).
pub fn json_unique(bytes: &[u8]) -> Result<Value, BadJson> {
    match serde_json::from_slice::<Unique>(bytes) {
        Ok(Unique(value)) => Ok(value),
        // Syntax and end-of-input errors are the parser's; the only data error
        // on well-formed JSON is ours.
        Err(e) if e.classify() == serde_json::error::Category::Data => Err(BadJson::RepeatedKey),
        Err(_) => Err(BadJson::Invalid),
    }
}

/// A JSON value whose objects have no repeated key.
struct Unique(Value);

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Unique, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Unique;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Unique, E> {
        Ok(Unique(Value::Null))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Unique, E> {
        Ok(Unique(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Unique, E> {
        Ok(Unique(Value::Number(v.into())))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Unique, E> {
        Ok(Unique(Value::Number(v.into())))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Unique, E> {
        // JSON numbers are finite.
        Ok(Unique(
            Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_str<E>(self, v: &str) -> Result<Unique, E> {
        Ok(Unique(Value::String(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Unique, E> {
        Ok(Unique(Value::String(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
        let mut items = Vec::new();
        while let Some(Unique(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Unique(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(A::Error::custom("duplicate key"));
            }
            let Unique(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Unique(Value::Object(object)))
    }
}

/// The authorize stage: decides, counts and records; a denial is a 403 unless
/// the API is in monitor mode.
#[allow(clippy::too_many_arguments)]
pub(crate) fn stage(
    gw: &crate::Gateway,
    policies: &portcullis_policy::Policies,
    enforced: bool,
    api: &crate::runtime::ApiRuntime,
    op: &crate::route::Operation,
    path: &str,
    path_params: &[(&str, &str)],
    parts: &http::request::Parts,
    body: Option<&[u8]>,
    conn: &crate::pipeline::Connection,
    ex: &mut crate::exchange::Exchange,
) -> Result<(), crate::problem::Reject> {
    let json = match body {
        Some(b) if !b.is_empty() => match json_body(b) {
            Ok(v) => Some(v),
            Err(why) if enforced => return Err(crate::problem::Reject::Malformed(why)),
            Err(_) => None,
        },
        _ => None,
    };
    let facts = portcullis_policy::Facts {
        operation: &op.id,
        path,
        principal: ex.principal.as_deref().map(facts_of),
        path_params,
        query: parts.uri.query(),
        headers: &parts.headers,
        body: json.as_ref(),
        client_ip: ex.client_ip,
        tls: conn.tls,
        mtls: conn.client_cert.is_some(),
        now: ex.time,
    };
    let decision = policies.decide(&facts);
    op.metrics.authz(decision.allowed, enforced);
    if !decision.errors.is_empty() {
        tracing::warn!(api = %api.name, operation = %op.id, errors = ?decision.errors, "policy evaluation errors");
    }
    if decision.allowed {
        ex.authz = Some(Outcome {
            allowed: true,
            enforced,
            policies: decision.policies,
        });
        return Ok(());
    }
    // Bounded label values: policy ids come from config.
    gw.metrics
        .denial(&api.name, &op.id, &decision.policies, enforced);
    ex.authz = Some(Outcome {
        allowed: false,
        enforced,
        policies: decision.policies.clone(),
    });
    let reject = crate::problem::Reject::Denied {
        policies: decision.policies,
    };
    if enforced {
        Err(reject)
    } else {
        ex.monitored.get_or_insert(reject);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_anywhere_is_refused() {
        let parsed = json_body(br#"{"a": [1, -2, 2.5, null, true, "x"], "b": {"c": "d"}}"#);
        assert_eq!(
            parsed,
            Ok(serde_json::json!({"a": [1, -2, 2.5, null, true, "x"], "b": {"c": "d"}}))
        );
        assert_eq!(
            json_body(br#"{"from": "b1", "from": "a1"}"#),
            Err("the request body repeats a JSON key")
        );
        assert_eq!(
            json_body(br#"{"x": [{"k": 1, "k": 2}]}"#),
            Err("the request body repeats a JSON key")
        );
        assert_eq!(json_body(b"from=a1"), Err("the request body is not JSON"));
        assert_eq!(
            json_body(br#"{"a": 1} x"#),
            Err("the request body is not JSON")
        );
    }
}
