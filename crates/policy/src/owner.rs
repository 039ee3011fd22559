//! Ownership checked on the response, for when only the data knows the owner.
//!
//! The owner value (at `pointer`) and the claim are compared as identifiers:
//! - a string is its own text; an integer (fits `i64` or `u64`) is its canonical
//!   decimal text, so the claim `"42"` matches the owner `42` and the claim `42`
//!   matches the owner `"42"`, but `"042"`, `"+42"` or `"42.0"` match neither;
//! - a float is never an identifier (above 2^53 it is not exact, so two distinct
//!   ids could compare equal): it matches nothing;
//! - the empty string is never an identifier (an owner field left blank must not
//!   be "owned" by a principal whose claim happens to be blank);
//! - null, booleans, objects and arrays are not owner values: not owned.
//!
//! An array claim (say `accounts: ["a1", 7]`) means "the owner is one of these";
//! its elements follow the same rules, the others are ignored. A claim of any
//! other type counts as missing.

use std::borrow::Cow;

use crate::PrincipalFacts;

/// A compiled `response_owner` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseOwner {
    /// For lists: pointer to the array of items.
    pub items: Option<String>,
    /// Pointer to the owner value (inside each item, for lists).
    pub pointer: String,
    /// The claim the owner must match (`sub`: the subject).
    pub claim: String,
    /// For lists: drop items not owned (true) or refuse the whole response (false).
    pub filter: bool,
}

/// What a response-ownership check concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerVerdict {
    /// Everything in it belongs to the caller: send it as it is.
    Owned,
    /// Items not owned were removed (how many); send the changed body.
    Filtered(usize),
    /// Not the caller's (or no owner found, or no principal): refuse with 403.
    Refused,
}

impl ResponseOwner {
    /// Checks (and for a filtering list rule, edits) a parsed JSON response body.
    /// A missing owner value, a missing or non-array `items`, or no principal refuses.
    pub fn check(
        &self,
        body: &mut serde_json::Value,
        principal: Option<&PrincipalFacts<'_>>,
    ) -> OwnerVerdict {
        let Some(claim) = principal.and_then(|p| Claim::of(p, &self.claim)) else {
            return OwnerVerdict::Refused;
        };
        let owns = |v: &serde_json::Value| v.pointer(&self.pointer).is_some_and(|o| claim.owns(o));
        let Some(items) = &self.items else {
            return if owns(body) {
                OwnerVerdict::Owned
            } else {
                OwnerVerdict::Refused
            };
        };
        let Some(serde_json::Value::Array(list)) = body.pointer_mut(items) else {
            return OwnerVerdict::Refused;
        };
        if !self.filter {
            return if list.iter().all(owns) {
                OwnerVerdict::Owned
            } else {
                OwnerVerdict::Refused
            };
        }
        let before = list.len();
        list.retain(owns);
        match before - list.len() {
            0 => OwnerVerdict::Owned,
            removed => OwnerVerdict::Filtered(removed),
        }
    }
}

/// The principal's side of the comparison.
enum Claim<'a> {
    /// One identifier (the subject, or a string or number claim).
    One(Id<'a>),
    /// Any of these (an array claim).
    AnyOf(Vec<Id<'a>>),
}

impl<'a> Claim<'a> {
    /// The claim named `name` of `p`: `sub` is the subject. `None`: missing, or of
    /// a type that cannot name an owner.
    fn of(p: &PrincipalFacts<'a>, name: &str) -> Option<Claim<'a>> {
        if name == "sub" {
            return Id::text(p.subject).map(Claim::One);
        }
        match p.claims.get(name)? {
            serde_json::Value::Array(all) => Some(Claim::AnyOf(
                all.iter().filter_map(Id::of).collect::<Vec<_>>(),
            )),
            one => Id::of(one).map(Claim::One),
        }
    }

    /// Whether the owner value `owner` is (one of) the claim's identifiers.
    fn owns(&self, owner: &serde_json::Value) -> bool {
        let Some(owner) = Id::of(owner) else {
            return false;
        };
        match self {
            Claim::One(id) => *id == owner,
            Claim::AnyOf(ids) => ids.contains(&owner),
        }
    }
}

/// An identifier in its canonical text: a non-empty string as it is, an integer
/// in decimal.
#[derive(Debug, PartialEq, Eq)]
struct Id<'a>(Cow<'a, str>);

impl<'a> Id<'a> {
    /// The identifier a JSON value names, if it names one.
    fn of(v: &'a serde_json::Value) -> Option<Id<'a>> {
        match v {
            serde_json::Value::String(s) => Id::text(s),
            serde_json::Value::Number(n) => {
                let decimal = match n.as_u64() {
                    Some(u) => u.to_string(),
                    None => n.as_i64()?.to_string(),
                };
                Some(Id(Cow::Owned(decimal)))
            }
            _ => None,
        }
    }

    /// A string identifier (never empty).
    fn text(s: &'a str) -> Option<Id<'a>> {
        (!s.is_empty()).then_some(Id(Cow::Borrowed(s)))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{Value, json};

    use super::*;

    /// Checks `body` against `rule` for a principal with `subject` and `claims`.
    fn check(rule: &ResponseOwner, body: &mut Value, subject: &str, claims: Value) -> OwnerVerdict {
        let claims = match claims {
            Value::Object(m) => m,
            other => panic!("claims must be an object, not {other}"),
        };
        let roles: Vec<Arc<str>> = vec!["user".into()];
        let p = PrincipalFacts {
            method: "jwt",
            subject,
            issuer: "https://idp.example",
            roles: &roles,
            scopes: &[],
            tenant: None,
            mfa: false,
            issued_at: None,
            claims: &claims,
        };
        rule.check(body, Some(&p))
    }

    fn one(pointer: &str, claim: &str) -> ResponseOwner {
        ResponseOwner {
            items: None,
            pointer: pointer.into(),
            claim: claim.into(),
            filter: false,
        }
    }

    fn list(items: &str, pointer: &str, claim: &str, filter: bool) -> ResponseOwner {
        ResponseOwner {
            items: Some(items.into()),
            pointer: pointer.into(),
            claim: claim.into(),
            filter,
        }
    }

    #[test]
    fn the_subject_owns_its_object() {
        let rule = one("/owner", "sub");
        let mut body = json!({"id": 1, "owner": "alice"});
        assert_eq!(
            check(&rule, &mut body, "alice", json!({})),
            OwnerVerdict::Owned
        );
        assert_eq!(
            check(&rule, &mut body, "bob", json!({})),
            OwnerVerdict::Refused
        );
    }

    #[test]
    fn sub_is_the_subject_not_a_claim_named_sub() {
        let rule = one("/owner", "sub");
        let mut body = json!({"owner": "alice"});
        let claims = json!({"sub": "alice"});
        assert_eq!(
            check(&rule, &mut body, "bob", claims),
            OwnerVerdict::Refused
        );
    }

    #[test]
    fn no_principal_is_refused() {
        let rule = one("/owner", "sub");
        let mut body = json!({"owner": "alice"});
        assert_eq!(rule.check(&mut body, None), OwnerVerdict::Refused);
    }

    #[test]
    fn a_missing_claim_is_refused() {
        let rule = one("/customer", "customer_id");
        let mut body = json!({"customer": "c1"});
        let v = check(&rule, &mut body, "alice", json!({}));
        assert_eq!(v, OwnerVerdict::Refused);
        let v = check(&rule, &mut body, "alice", json!({"customer_id": null}));
        assert_eq!(v, OwnerVerdict::Refused);
        let v = check(
            &rule,
            &mut body,
            "alice",
            json!({"customer_id": {"id": "c1"}}),
        );
        assert_eq!(v, OwnerVerdict::Refused);
    }

    #[test]
    fn a_missing_or_unusable_owner_is_not_owned() {
        let rule = one("/owner", "sub");
        for mut body in [
            json!({"id": 1}),
            json!({"owner": null}),
            json!({"owner": {"id": "alice"}}),
            json!({"owner": ["alice"]}),
            json!({"owner": true}),
            json!({"owner": ""}),
            json!("alice"),
        ] {
            let v = check(&rule, &mut body, "alice", json!({}));
            assert_eq!(v, OwnerVerdict::Refused, "{body}");
        }
    }

    #[test]
    fn an_empty_subject_owns_nothing() {
        let rule = one("/owner", "sub");
        let mut body = json!({"owner": ""});
        assert_eq!(
            check(&rule, &mut body, "", json!({})),
            OwnerVerdict::Refused
        );
    }

    #[test]
    fn the_empty_pointer_is_the_whole_body() {
        let rule = one("", "sub");
        let mut body = json!("alice");
        assert_eq!(
            check(&rule, &mut body, "alice", json!({})),
            OwnerVerdict::Owned
        );
    }

    #[test]
    fn pointers_follow_rfc_6901() {
        let rule = one("/meta/owner~1id/0", "sub");
        let mut body = json!({"meta": {"owner/id": ["alice"]}});
        assert_eq!(
            check(&rule, &mut body, "alice", json!({})),
            OwnerVerdict::Owned
        );
    }

    #[test]
    fn numbers_match_numbers_and_their_decimal_text() {
        let rule = one("/customer_id", "cid");
        let mut body = json!({"customer_id": 42});
        for (claim, want) in [
            (json!(42), OwnerVerdict::Owned),
            (json!("42"), OwnerVerdict::Owned),
            (json!(43), OwnerVerdict::Refused),
            (json!("042"), OwnerVerdict::Refused),
            (json!("+42"), OwnerVerdict::Refused),
            (json!("42.0"), OwnerVerdict::Refused),
            (json!(42.0), OwnerVerdict::Refused),
        ] {
            let v = check(&rule, &mut body, "alice", json!({"cid": claim}));
            assert_eq!(v, want, "claim {claim}");
        }
        let mut body = json!({"customer_id": "42"});
        let v = check(&rule, &mut body, "alice", json!({"cid": 42}));
        assert_eq!(v, OwnerVerdict::Owned);
        let mut body = json!({"customer_id": -7});
        let v = check(&rule, &mut body, "alice", json!({"cid": "-7"}));
        assert_eq!(v, OwnerVerdict::Owned);
    }

    #[test]
    fn floats_are_never_identifiers() {
        let rule = one("/id", "cid");
        let mut body = json!({"id": 1.5});
        let v = check(&rule, &mut body, "alice", json!({"cid": 1.5}));
        assert_eq!(v, OwnerVerdict::Refused);
        let mut body: Value = serde_json::from_str(r#"{"id": 12345678901234567890123}"#).unwrap();
        let claims: Value = serde_json::from_str(r#"{"cid": 12345678901234567890124}"#).unwrap();
        assert_eq!(
            check(&rule, &mut body, "alice", claims),
            OwnerVerdict::Refused
        );
    }

    #[test]
    fn an_array_claim_means_one_of() {
        let rule = one("/account", "accounts");
        let claims = json!({"accounts": ["a1", 7, null, {"x": 1}]});
        for (owner, want) in [
            (json!("a1"), OwnerVerdict::Owned),
            (json!(7), OwnerVerdict::Owned),
            (json!("7"), OwnerVerdict::Owned),
            (json!("a2"), OwnerVerdict::Refused),
            (json!(null), OwnerVerdict::Refused),
        ] {
            let mut body = json!({"account": owner});
            let v = check(&rule, &mut body, "alice", claims.clone());
            assert_eq!(v, want, "owner {owner}");
        }
        let mut body = json!({"account": "a1"});
        let v = check(&rule, &mut body, "alice", json!({"accounts": []}));
        assert_eq!(v, OwnerVerdict::Refused);
    }

    #[test]
    fn a_filtering_list_drops_what_belongs_to_someone_else() {
        let rule = list("/data", "/owner", "sub", true);
        let mut body = json!({"data": [
            {"id": 1, "owner": "alice"},
            {"id": 2, "owner": "mallory"},
            {"id": 3, "owner": "alice"},
            {"id": 4},
        ], "next": null});
        let v = check(&rule, &mut body, "alice", json!({}));
        assert_eq!(v, OwnerVerdict::Filtered(2));
        assert_eq!(
            body,
            json!({"data": [
                {"id": 1, "owner": "alice"},
                {"id": 3, "owner": "alice"},
            ], "next": null})
        );
    }

    #[test]
    fn a_filtering_list_all_owned_is_owned_and_unchanged() {
        let rule = list("/data", "/owner", "sub", true);
        let original = json!({"data": [{"owner": "alice"}, {"owner": "alice"}]});
        let mut body = original.clone();
        let v = check(&rule, &mut body, "alice", json!({}));
        assert_eq!(v, OwnerVerdict::Owned);
        assert_eq!(body, original);
        let mut empty = json!({"data": []});
        let v = check(&rule, &mut empty, "alice", json!({}));
        assert_eq!(v, OwnerVerdict::Owned);
    }

    #[test]
    fn a_refusing_list_refuses_one_foreign_item() {
        let rule = list("/data", "/owner", "sub", false);
        let original = json!({"data": [{"owner": "alice"}, {"owner": "mallory"}]});
        let mut body = original.clone();
        let v = check(&rule, &mut body, "alice", json!({}));
        assert_eq!(v, OwnerVerdict::Refused);
        assert_eq!(body, original, "a refusing rule does not edit");
        let mut body = json!({"data": [{"owner": "alice"}]});
        let v = check(&rule, &mut body, "alice", json!({}));
        assert_eq!(v, OwnerVerdict::Owned);
    }

    #[test]
    fn a_list_without_its_array_is_refused() {
        for filter in [true, false] {
            let rule = list("/data", "/owner", "sub", filter);
            for mut body in [
                json!({"items": []}),
                json!({"data": {"owner": "alice"}}),
                json!({"data": null}),
            ] {
                let v = check(&rule, &mut body, "alice", json!({}));
                assert_eq!(v, OwnerVerdict::Refused, "{body}");
            }
        }
    }

    #[test]
    fn a_top_level_list_of_ids_with_empty_pointers() {
        let rule = list("", "", "accounts", true);
        let mut body = json!([1, "2", 3, [1]]);
        let v = check(&rule, &mut body, "alice", json!({"accounts": [1, 2]}));
        assert_eq!(v, OwnerVerdict::Filtered(2));
        assert_eq!(body, json!([1, "2"]));
    }

    #[test]
    fn a_list_without_principal_is_refused() {
        let rule = list("/data", "/owner", "sub", true);
        let mut body = json!({"data": []});
        assert_eq!(rule.check(&mut body, None), OwnerVerdict::Refused);
    }
}
