//! Decisions: a request's facts mapped to a Cedar request (principal,
//! resource and action entities, context) and decided against the policies
//! that can apply to its operation.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use cedar_policy::{
    ActionConstraint, AuthorizationError, Authorizer, Context, Effect, Entities, Entity, EntityId,
    EntityTypeName, EntityUid, Policy, PolicyId, PolicySet, Request, Response,
    RestrictedExpression,
};
use http::HeaderName;
use serde_json::Value;

mod by_role;
mod memo;
mod values;

use by_role::ByRole;
use values::{describe, ip_value, json_value, query_param, text_value};

use crate::load::{Loaded, Reads, without_action_scope};
use crate::schema::{AttrType, Model, OpModel, PRINCIPAL_BASE, PRINCIPAL_TYPES, ROLE, Source};
use crate::{Decision, Facts, PrincipalFacts};

/// Everything decisions need, prebuilt at compile time so that a request
/// only builds its own principal, resource and context.
#[derive(Debug)]
pub(crate) struct Engine {
    authorizer: Authorizer,
    operations: HashMap<String, Plan>,
    /// `User`, `ApiKey`, `Service`, `Signer`, `Anonymous`, in that order.
    principal_types: Vec<EntityTypeName>,
    role_type: EntityTypeName,
    /// The principal of unauthenticated requests (always the same).
    anonymous: Entity,
    anonymous_uid: EntityUid,
    headers: Vec<(HeaderName, String)>,
    /// Every policy's id (shared by decisions) and effect, in order.
    policies: Vec<(Arc<str>, Effect)>,
    index: HashMap<PolicyId, usize>,
    /// Decisions already taken, by the facts they depended on.
    memo: memo::Memo,
}

/// One operation's constant part of a decision.
#[derive(Debug)]
struct Plan {
    action: EntityUid,
    resource_type: EntityTypeName,
    /// Only the policies whose action scope matches this operation, with
    /// that scope removed (it holds for every request of the operation).
    policies: PolicySet,
    /// The action and its groups when a condition names an action (so that
    /// `action in Action::"tag:x"` works), their hierarchy computed once.
    actions: Entities,
    attrs: Vec<PlanAttr>,
    needs_body: bool,
    /// What the policies read: only that is built. Built-in principal
    /// attributes (in `PRINCIPAL_BASE` order), declared claims, context
    /// attributes (in `CONTEXT` order).
    principal_base: [bool; PRINCIPAL_BASE.len()],
    claims: Vec<(String, AttrType)>,
    context: [bool; CONTEXT.len()],
    /// The roles the policies name (`Role::"admin"`): the only `Role`
    /// parents a principal needs.
    roles: HashSet<String>,
    /// The policies again, by the role their principal scope requires (none
    /// when no policy is scoped to a role).
    by_role: Option<ByRole>,
}

/// The context's attributes (the schema declares the same).
const CONTEXT: [&str; 11] = [
    "ip",
    "tls",
    "mtls",
    "mfa",
    "authenticated",
    "tokenAge",
    "time",
    "hour",
    "weekday",
    "scopes",
    "headers",
];

/// A resource attribute and how to fill it.
#[derive(Debug)]
struct PlanAttr {
    name: String,
    ty: AttrType,
    source: PlanSource,
    /// Some policy reads it (otherwise it is checked but not built).
    read: bool,
}

#[derive(Debug)]
enum PlanSource {
    RequestPath,
    Path(String),
    Query(String),
    Body(String),
    Static(RestrictedExpression),
}

impl Plan {
    /// The operation's slice of the policies and what they need: only the
    /// policies whose action scope matches it, without that scope (it holds
    /// for every request of the operation, and costs a lookup in the action
    /// hierarchy per policy and request), and only the attributes, role
    /// parents and action entities they can see.
    fn new(
        op: &OpModel,
        model: &Model,
        loaded: &[Loaded],
        action_type: &EntityTypeName,
        role_type: &EntityTypeName,
    ) -> Result<Plan, String> {
        let action_uid =
            |id: &str| EntityUid::from_type_name_and_id(action_type.clone(), EntityId::new(id));
        let action = action_uid(&op.action);
        let groups: Vec<EntityUid> = op.groups().iter().map(|g| action_uid(g)).collect();
        let sliced: Vec<Policy> = loaded
            .iter()
            .filter(|l| match l.policy.action_constraint() {
                ActionConstraint::Any => true,
                ActionConstraint::Eq(uid) => uid == action,
                ActionConstraint::In(list) => {
                    list.iter().any(|u| *u == action || groups.contains(u))
                }
            })
            .map(|l| without_action_scope(&l.policy))
            .collect();
        // Without action scopes, the action entities matter only when a
        // condition names an action (`action in …`). Likewise a `Role` parent
        // matters only when a policy names that role: nothing else in the
        // model refers to roles as entities, and each parent costs in Cedar's
        // transitive closure on every request.
        let literals: Vec<EntityUid> = sliced.iter().flat_map(Policy::entity_literals).collect();
        let actions = if literals.iter().any(|uid| uid.type_name() == action_type) {
            let mut actions = vec![Entity::new_no_attrs(
                action.clone(),
                groups.iter().cloned().collect(),
            )];
            actions.extend(
                groups
                    .into_iter()
                    .map(|g| Entity::new_no_attrs(g, HashSet::new())),
            );
            Entities::from_entities(actions, None).map_err(|e| e.to_string())?
        } else {
            Entities::empty()
        };
        let roles = literals
            .iter()
            .filter(|uid| uid.type_name() == role_type)
            .map(|uid| uid.id().unescaped().to_owned())
            .collect();
        let reads = Reads::of(&sliced);
        let by_role = ByRole::new(&sliced, role_type);
        Ok(Plan {
            action,
            resource_type: op
                .type_name
                .parse()
                .map_err(|e| format!("entity type `{}`: {e}", op.type_name))?,
            policies: PolicySet::from_policies(sliced).map_err(|e| e.to_string())?,
            actions,
            attrs: plan_attrs(op, &reads)?,
            needs_body: op.attrs.iter().any(|a| matches!(a.source, Source::Body(_))),
            principal_base: PRINCIPAL_BASE.map(|(name, _, _)| reads.entity_attr(name)),
            claims: model
                .claims
                .iter()
                .filter(|(name, _)| reads.entity_attr(name))
                .map(|(name, ty)| (name.clone(), *ty))
                .collect(),
            context: CONTEXT.map(|name| reads.context_attr(name)),
            roles,
            by_role,
        })
    }
}

impl Engine {
    /// Prebuilds type names, the anonymous principal and one plan per operation.
    pub(crate) fn new(model: &Model, loaded: &[Loaded]) -> Result<Engine, String> {
        let type_name = |name: &str| {
            name.parse::<EntityTypeName>()
                .map_err(|e| format!("entity type `{name}`: {e}"))
        };
        let principal_types = PRINCIPAL_TYPES
            .iter()
            .map(|t| type_name(t))
            .collect::<Result<Vec<_>, _>>()?;
        let action_type = type_name("Action")?;
        let role_type = type_name(ROLE)?;
        let operations = model
            .operations
            .iter()
            .map(|op| {
                let plan = Plan::new(op, model, loaded, &action_type, &role_type)?;
                Ok((op.action.clone(), plan))
            })
            .collect::<Result<_, String>>()?;
        let anonymous_type = principal_types[4].clone();
        let anonymous_uid = EntityUid::from_type_name_and_id(anonymous_type, EntityId::new(""));
        let anonymous = Entity::new_with_tags(
            anonymous_uid.clone(),
            [
                ("sub", RestrictedExpression::new_string(String::new())),
                ("iss", RestrictedExpression::new_string(String::new())),
                (
                    "method",
                    RestrictedExpression::new_string("anonymous".to_owned()),
                ),
                ("roles", RestrictedExpression::new_set([])),
                ("scopes", RestrictedExpression::new_set([])),
                ("mfa", RestrictedExpression::new_bool(false)),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
            [],
            [],
        )
        .map_err(|e| e.to_string())?;
        let headers = model
            .headers
            .iter()
            .map(|h| {
                HeaderName::from_bytes(h.as_bytes())
                    .map(|name| (name, h.clone()))
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<_, _>>()?;
        Ok(Engine {
            authorizer: Authorizer::new(),
            operations,
            principal_types,
            role_type,
            anonymous,
            anonymous_uid,
            headers,
            policies: loaded
                .iter()
                .map(|l| (Arc::from(l.id.as_str()), l.policy.effect()))
                .collect(),
            index: loaded
                .iter()
                .enumerate()
                .map(|(i, l)| (l.policy.id().clone(), i))
                .collect(),
            memo: memo::Memo::default(),
        })
    }

    /// Whether any policy is a `permit` (without one, everything is denied).
    pub(crate) fn has_permit(&self) -> bool {
        self.policies.iter().any(|(_, e)| *e == Effect::Permit)
    }

    /// Whether the operation selects body fields.
    pub(crate) fn needs_body(&self, operation: &str) -> bool {
        self.operations.get(operation).is_some_and(|p| p.needs_body)
    }

    /// Decides one request; anything that cannot be built or evaluated denies.
    pub(crate) fn decide(&self, facts: &Facts<'_>) -> Decision {
        let Some(plan) = self.operations.get(facts.operation) else {
            return refuse(format!(
                "operation `{}` is not in the spec",
                facts.operation
            ));
        };
        self.memo
            .get_or(self, plan, facts, || self.evaluate(plan, facts))
    }

    /// Decides without the memo (for measuring what a decision costs).
    pub(crate) fn decide_uncached(&self, facts: &Facts<'_>) -> Decision {
        match self.operations.get(facts.operation) {
            Some(plan) => self.evaluate(plan, facts),
            None => refuse(format!(
                "operation `{}` is not in the spec",
                facts.operation
            )),
        }
    }

    /// Builds the Cedar request and evaluates the operation's policies.
    fn evaluate(&self, plan: &Plan, facts: &Facts<'_>) -> Decision {
        let (request, entities) = match self.request(plan, facts) {
            Ok(built) => built,
            Err(message) => return refuse(message),
        };
        let held = facts.principal.as_ref().map_or(&[][..], |p| p.roles);
        let cut = plan.by_role.as_ref().and_then(|b| b.set(held));
        let policies = cut.as_deref().unwrap_or(&plan.policies);
        self.explain(&self.authorizer.is_authorized(&request, policies, &entities))
    }

    /// The Cedar request and its entities. No schema is passed: the data is
    /// built to conform, and checking it again would cost on every request.
    fn request(&self, plan: &Plan, facts: &Facts<'_>) -> Result<(Request, Entities), String> {
        let (principal_uid, principal) = match &facts.principal {
            Some(p) => self.principal(plan, p)?,
            None => (self.anonymous_uid.clone(), self.anonymous.clone()),
        };
        let resource = self.resource(plan, facts)?;
        let resource_uid = resource.uid();
        let context = self.context(plan, facts)?;
        let request = Request::new(
            principal_uid,
            plan.action.clone(),
            resource_uid,
            context,
            None,
        )
        .map_err(|e| e.to_string())?;
        let entities = plan
            .actions
            .clone()
            .add_entities([principal, resource], None)
            .map_err(|e| e.to_string())?;
        Ok((request, entities))
    }

    /// The principal entity: its type from the authentication method, `Role`
    /// parents, the built-in attributes and the declared claims present
    /// (those the operation's policies read).
    fn principal(
        &self,
        plan: &Plan,
        p: &PrincipalFacts<'_>,
    ) -> Result<(EntityUid, Entity), String> {
        let kind = match p.method {
            "jwt" | "introspection" => 0,
            "api_key" => 1,
            "mtls" => 2,
            "signature" => 3,
            other => return Err(format!("unknown authentication method `{other}`")),
        };
        let uid = EntityUid::from_type_name_and_id(
            self.principal_types[kind].clone(),
            EntityId::new(p.subject),
        );
        let string = |s: &str| RestrictedExpression::new_string(s.to_owned());
        let strings =
            |items: &[Arc<str>]| RestrictedExpression::new_set(items.iter().map(|s| string(s)));
        let mut attrs = Vec::with_capacity(PRINCIPAL_BASE.len() + plan.claims.len());
        let read = PRINCIPAL_BASE.iter().zip(plan.principal_base);
        for ((name, _, _), _) in read.filter(|(_, read)| *read) {
            let value = match *name {
                "sub" => string(p.subject),
                "iss" => string(p.issuer),
                "method" => string(p.method),
                "roles" => strings(p.roles),
                "scopes" => strings(p.scopes),
                "mfa" => RestrictedExpression::new_bool(p.mfa),
                "tenant" => match p.tenant {
                    Some(tenant) => string(tenant),
                    None => continue,
                },
                _ => continue,
            };
            attrs.push(((*name).to_owned(), value));
        }
        for (name, ty) in &plan.claims {
            if let Some(value) = p.claims.get(name).and_then(|v| json_value(*ty, v)) {
                attrs.push((name.clone(), value));
            }
        }
        let parents = p
            .roles
            .iter()
            .filter(|role| {
                let role: &str = role;
                plan.roles.contains(role)
            })
            .map(|role| {
                EntityUid::from_type_name_and_id(self.role_type.clone(), EntityId::new(role))
            });
        let entity =
            Entity::new_with_tags(uid.clone(), attrs, parents, []).map_err(|e| e.to_string())?;
        Ok((uid, entity))
    }

    /// The resource entity: id the request path, attributes from the request.
    /// A value that does not fit its declared type denies (fail closed), read
    /// or not.
    fn resource(&self, plan: &Plan, facts: &Facts<'_>) -> Result<Entity, String> {
        let mut attrs = Vec::with_capacity(plan.attrs.len());
        for attr in &plan.attrs {
            let value = match &attr.source {
                PlanSource::RequestPath => {
                    Some(RestrictedExpression::new_string(facts.path.to_owned()))
                }
                PlanSource::Path(name) => {
                    let raw = facts
                        .path_params
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| *v)
                        .ok_or_else(|| format!("path parameter `{name}` is missing"))?;
                    Some(text_value(attr.ty, raw).ok_or_else(|| {
                        format!(
                            "path parameter `{name}`: `{raw}` is not {}",
                            describe(attr.ty)
                        )
                    })?)
                }
                PlanSource::Query(name) => match query_param(facts.query, name)? {
                    None => None,
                    Some(raw) => Some(text_value(attr.ty, &raw).ok_or_else(|| {
                        format!(
                            "query parameter `{name}`: `{raw}` is not {}",
                            describe(attr.ty)
                        )
                    })?),
                },
                PlanSource::Body(pointer) => match facts.body.and_then(|b| b.pointer(pointer)) {
                    None | Some(Value::Null) => None,
                    Some(value) => Some(json_value(attr.ty, value).ok_or_else(|| {
                        format!("body field `{pointer}` is not {}", describe(attr.ty))
                    })?),
                },
                PlanSource::Static(value) => Some(value.clone()),
            };
            if let (Some(value), true) = (value, attr.read) {
                attrs.push((attr.name.clone(), value));
            }
        }
        let uid =
            EntityUid::from_type_name_and_id(plan.resource_type.clone(), EntityId::new(facts.path));
        Entity::new_with_tags(uid, attrs, [], []).map_err(|e| e.to_string())
    }

    /// The context record (what the operation's policies read of it):
    /// connection, authentication, time and headers.
    fn context(&self, plan: &Plan, facts: &Facts<'_>) -> Result<Context, String> {
        let now = facts
            .now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let long = |n: u64| RestrictedExpression::new_long(i64::try_from(n).unwrap_or(i64::MAX));
        let principal = facts.principal.as_ref();
        let mut pairs = Vec::with_capacity(CONTEXT.len());
        for (name, _) in CONTEXT.iter().zip(plan.context).filter(|(_, read)| *read) {
            let value = match *name {
                "ip" => ip_value(facts.client_ip.to_canonical()),
                "tls" => RestrictedExpression::new_bool(facts.tls),
                "mtls" => RestrictedExpression::new_bool(facts.mtls),
                "mfa" => RestrictedExpression::new_bool(principal.is_some_and(|p| p.mfa)),
                "authenticated" => RestrictedExpression::new_bool(principal.is_some()),
                "tokenAge" => match principal.and_then(|p| p.issued_at) {
                    Some(iat) => long(now.saturating_sub(iat)),
                    None => continue,
                },
                "time" => long(now),
                "hour" => long(now % 86_400 / 3_600),
                // 1970-01-01 was a Thursday (4).
                "weekday" => long((now / 86_400 + 3) % 7 + 1),
                "scopes" => RestrictedExpression::new_set(
                    principal
                        .map_or(&[][..], |p| p.scopes)
                        .iter()
                        .map(|s| RestrictedExpression::new_string(s.to_string())),
                ),
                "headers" => {
                    let headers = self.headers.iter().filter_map(|(name, key)| {
                        let value = facts.headers.get(name)?.to_str().ok()?;
                        Some((
                            key.clone(),
                            RestrictedExpression::new_string(value.to_owned()),
                        ))
                    });
                    RestrictedExpression::new_record(headers).map_err(|e| e.to_string())?
                }
                _ => continue,
            };
            pairs.push(((*name).to_owned(), value));
        }
        Context::from_pairs(pairs).map_err(|e| e.to_string())
    }

    /// Cedar's answer with our rule on top: a forbid that failed denies.
    fn explain(&self, response: &Response) -> Decision {
        let mut errors = Vec::new();
        let mut failed_forbids = Vec::new();
        for error in response.diagnostics().errors() {
            let AuthorizationError::PolicyEvaluationError(error) = error;
            let id = error.policy_id();
            errors.push(format!("{id}: {}", error.inner()));
            match self.index.get(id) {
                Some(&i) if self.policies[i].1 == Effect::Forbid => failed_forbids.push(i),
                Some(_) => {}
                // Not ours: treat as a failing forbid, to fail closed.
                None => failed_forbids.push(usize::MAX),
            }
        }
        let cedar_allows = response.decision() == cedar_policy::Decision::Allow;
        let allowed = cedar_allows && failed_forbids.is_empty();
        let reasons = response
            .diagnostics()
            .reason()
            .filter_map(|id| self.index.get(id).copied());
        let mut chosen: Vec<usize> = match (allowed, cedar_allows) {
            (true, _) => reasons.collect(),
            (false, true) => failed_forbids,
            (false, false) => reasons.chain(failed_forbids).collect(),
        };
        chosen.sort_unstable();
        chosen.dedup();
        Decision {
            allowed,
            policies: chosen
                .into_iter()
                .filter_map(|i| self.policies.get(i).map(|(id, _)| id.clone()))
                .collect(),
            errors,
        }
    }
}

/// A denial that no policy made: the request could not be put to Cedar.
fn refuse(message: String) -> Decision {
    Decision {
        allowed: false,
        policies: Vec::new(),
        errors: vec![message],
    }
}

/// How each of an operation's resource attributes is filled.
fn plan_attrs(op: &OpModel, reads: &Reads) -> Result<Vec<PlanAttr>, String> {
    op.attrs
        .iter()
        .map(|attr| {
            let source = match &attr.source {
                Source::RequestPath => PlanSource::RequestPath,
                Source::Path(name) => PlanSource::Path(name.clone()),
                Source::Query(name) => PlanSource::Query(name.clone()),
                Source::Body(pointer) => PlanSource::Body(pointer.clone()),
                Source::Static(value) => {
                    PlanSource::Static(json_value(attr.ty, value).ok_or_else(|| {
                        format!("static attribute `{}` does not fit its type", attr.name)
                    })?)
                }
            };
            Ok(PlanAttr {
                name: attr.name.clone(),
                ty: attr.ty,
                source,
                read: reads.entity_attr(&attr.name),
            })
        })
        .collect()
}
