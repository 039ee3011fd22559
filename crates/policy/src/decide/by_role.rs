//! An operation's policies cut again by the roles the principal holds.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use cedar_policy::{EntityTypeName, Policy, PolicySet, PrincipalConstraint};

/// Cedar rebuilds and evaluates every policy of the set it is given, scope
/// first; a policy scoped `principal in Role::"x"` can never apply to a
/// principal without role `x` (roles have no parents in this model), permit or
/// forbid alike. So each operation's slice is cut again by the scope roles the
/// principal holds: one set per combination seen, built on first use.
#[derive(Debug)]
pub(super) struct ByRole {
    /// The roles principal scopes require (at most 64: a bit each).
    roles: Vec<String>,
    /// Each policy with the bit of the role its scope requires (`None`: any principal).
    policies: Vec<(Policy, Option<u32>)>,
    /// The sets per combination of held scope roles (bounded).
    sets: RwLock<HashMap<u64, Arc<PolicySet>>>,
}

/// Role combinations kept per operation; past this, the whole slice is used.
const MAX_ROLE_SETS: usize = 256;

impl ByRole {
    pub(super) fn new(policies: &[Policy], role_type: &EntityTypeName) -> Option<ByRole> {
        let mut roles: Vec<String> = Vec::new();
        let mut scoped = Vec::with_capacity(policies.len());
        for policy in policies {
            let role = match policy.principal_constraint() {
                PrincipalConstraint::In(uid) | PrincipalConstraint::IsIn(_, uid)
                    if uid.type_name() == role_type =>
                {
                    Some(uid.id().unescaped().to_owned())
                }
                _ => None,
            };
            let bit = role.map(|r| match roles.iter().position(|known| *known == r) {
                Some(i) => i,
                None => {
                    roles.push(r);
                    roles.len() - 1
                }
            });
            scoped.push((policy.clone(), bit));
        }
        if roles.is_empty() || roles.len() > 64 {
            return None;
        }
        Some(ByRole {
            roles,
            policies: scoped
                .into_iter()
                .map(|(p, bit)| (p, bit.map(|b| b as u32)))
                .collect(),
            sets: RwLock::new(HashMap::new()),
        })
    }

    /// The policies that can apply to a principal holding `held` roles.
    pub(super) fn set(&self, held: &[Arc<str>]) -> Option<Arc<PolicySet>> {
        let mut mask = 0u64;
        for role in held {
            if let Some(i) = self.roles.iter().position(|r| **r == **role) {
                mask |= 1 << i;
            }
        }
        if let Some(set) = self
            .sets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&mask)
        {
            return Some(set.clone());
        }
        let set = PolicySet::from_policies(
            self.policies
                .iter()
                .filter(|(_, bit)| bit.is_none_or(|b| mask & (1 << b) != 0))
                .map(|(p, _)| p.clone()),
        )
        .ok()
        .map(Arc::new)?;
        let mut sets = self.sets.write().unwrap_or_else(PoisonError::into_inner);
        if sets.len() < MAX_ROLE_SETS {
            sets.insert(mask, set.clone());
        }
        Some(set)
    }
}
