//! The declarative shortcuts of the config (`allow`, `require`, `ip`) compiled
//! to Cedar text, each under a stable id, so that they are validated, decided
//! and explained exactly like the policies of the Cedar files.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use portcullis_openapi::{Method, Spec};
use serde_saphyr::Spanned;

use crate::load::{yaml_error, yaml_position};
use crate::schema::{AttrType, Model, OpModel, is_plain, is_read, pointer_tokens, quote};
use crate::{Error, RawAuthorization, RawOwner, RawRequirement};

/// A policy compiled from a shortcut, and where in the config it was written.
#[derive(Debug)]
pub(crate) struct Shortcut {
    pub(crate) id: String,
    pub(crate) text: String,
    pub(crate) line: Option<u64>,
    pub(crate) column: Option<u64>,
    pub(crate) field: String,
}

/// Compiles every shortcut of `raw`. Ownership rules may add resource
/// attributes (query parameters, body fields) and principal attributes
/// (undeclared claims, as `Set<String>`) to `model`.
pub(crate) fn compile(
    raw: &RawAuthorization,
    spec: &Spec,
    model: &mut Model,
    errors: &mut Vec<Error>,
) -> Vec<Shortcut> {
    let mut out = Vec::new();
    if let Some(first) = raw.allow.first()
        && let Some(selection) = select(model, &raw.allow, "authorization.allow", errors)
    {
        let (line, column) = yaml_position(first);
        out.push(Shortcut {
            id: "allow".to_owned(),
            text: format!("permit(principal, {}, resource);", selection.scope()),
            line,
            column,
            field: "authorization.allow".to_owned(),
        });
    }
    for (i, requirement) in raw.require.iter().enumerate() {
        out.extend(require(i, requirement, spec, model, errors));
    }
    if let Some(ip) = &raw.ip {
        for (name, list, keyword) in [("allow", &ip.allow, "unless"), ("deny", &ip.deny, "when")] {
            let Some(first) = list.first() else { continue };
            let field = format!("authorization.ip.{name}");
            let ranges: Vec<String> = list
                .iter()
                .enumerate()
                .filter_map(|(j, entry)| match canonical_range(&entry.value) {
                    Some(range) => Some(format!("context.ip.isInRange(ip({}))", quote(&range))),
                    None => {
                        errors.push(yaml_error(
                            entry,
                            format!("{field}[{j}]"),
                            format!("`{}` is not an IP address or CIDR range", entry.value),
                        ));
                        None
                    }
                })
                .collect();
            if ranges.len() != list.len() {
                continue;
            }
            let (line, column) = yaml_position(first);
            out.push(Shortcut {
                id: format!("ip.{name}"),
                text: format!(
                    "forbid(principal, action, resource) {keyword} {{ {} }};",
                    ranges.join(" || ")
                ),
                line,
                column,
                field,
            });
        }
    }
    out
}

/// One `require` entry: `forbid … unless { <every condition> }`.
fn require(
    i: usize,
    requirement: &RawRequirement,
    spec: &Spec,
    model: &mut Model,
    errors: &mut Vec<Error>,
) -> Option<Shortcut> {
    let field = format!("authorization.require[{i}]");
    let id = requirement
        .id
        .as_ref()
        .map_or_else(|| format!("require[{i}]"), |id| id.value.clone());
    let anchor = requirement
        .id
        .iter()
        .chain(&requirement.operations)
        .chain(&requirement.roles)
        .chain(requirement.owner.as_ref().map(|o| &o.claim))
        .map(yaml_position)
        .find(|(line, _)| line.is_some());
    let (line, column) = anchor.unwrap_or((None, None));
    let here = |field: String, message: String| Error {
        file: None,
        line,
        column,
        field,
        message,
    };
    if requirement.operations.is_empty() {
        errors.push(here(
            format!("{field}.operations"),
            "a requirement must list the operations it applies to".to_owned(),
        ));
        return None;
    }
    let selection = select(
        model,
        &requirement.operations,
        &format!("{field}.operations"),
        errors,
    )?;
    let mut conditions = Vec::new();
    if !requirement.roles.is_empty() {
        let roles: Vec<String> = requirement
            .roles
            .iter()
            .map(|r| format!("principal in Role::{}", quote(&r.value)))
            .collect();
        conditions.push(format!("({})", roles.join(" || ")));
    }
    if requirement.mfa == Some(true) {
        conditions.push("context.mfa".to_owned());
    }
    if let Some(owner) = &requirement.owner {
        conditions.push(owner_condition(
            owner,
            &selection.operations,
            spec,
            model,
            &format!("{field}.owner"),
            errors,
        )?);
    }
    if conditions.is_empty() {
        errors.push(here(
            field,
            "a requirement needs `roles`, `mfa: true` or `owner`".to_owned(),
        ));
        return None;
    }
    Some(Shortcut {
        id,
        text: format!(
            "forbid(principal, {}, resource) unless {{ {} }};",
            selection.scope(),
            conditions.join(" && ")
        ),
        line,
        column,
        field,
    })
}

/// The ownership condition: the request value (a resource attribute) equals
/// the principal's claim, or is contained in it when the claim is a set.
fn owner_condition(
    owner: &RawOwner,
    operations: &BTreeSet<usize>,
    spec: &Spec,
    model: &mut Model,
    field: &str,
    errors: &mut Vec<Error>,
) -> Option<String> {
    let fail = |errors: &mut Vec<Error>, at: &Spanned<String>, sub: &str, message: String| {
        errors.push(yaml_error(at, format!("{field}{sub}"), message));
        None
    };
    let (attr, required) = match (&owner.path, &owner.query, &owner.body) {
        (Some(path), None, None) => {
            for &i in operations {
                let op = &model.operations[i];
                if !op.has_path_param(&path.value) {
                    return fail(
                        errors,
                        path,
                        ".path",
                        format!(
                            "`{}` is not a path parameter of operation `{}`",
                            path.value, op.action
                        ),
                    );
                }
            }
            (path.value.clone(), true)
        }
        (None, Some(query), None) => {
            for &i in operations {
                if let Err(message) = model.ensure_query(spec, i, &query.value) {
                    return fail(errors, query, ".query", message);
                }
            }
            (query.value.clone(), false)
        }
        (None, None, Some(body)) => {
            let Some(last) = pointer_tokens(&body.value).and_then(|t| t.last().cloned()) else {
                return fail(
                    errors,
                    body,
                    ".body",
                    format!("`{}` is not a JSON pointer to a field", body.value),
                );
            };
            let name = model
                .body_attr_name(operations, &body.value)
                .unwrap_or(last);
            for &i in operations {
                if let Err(message) = model.ensure_body(spec, i, &name, &body.value) {
                    return fail(errors, body, ".body", message);
                }
            }
            (name, false)
        }
        _ => {
            return fail(
                errors,
                &owner.claim,
                "",
                "an owner rule needs exactly one of `path`, `query` and `body`".to_owned(),
            );
        }
    };
    let claim = owner.claim.value.as_str();
    let (ty, claim_required) = model.principal_attr(claim).unwrap_or_else(|| {
        model.claims.insert(claim.to_owned(), AttrType::SetString);
        (AttrType::SetString, false)
    });
    let value = access("resource", &attr);
    let owned = access("principal", claim);
    let mut parts = Vec::new();
    if !required {
        parts.push(format!("resource has {}", has_name(&attr)));
    }
    if !claim_required {
        parts.push(format!("principal has {}", has_name(claim)));
    }
    parts.push(if ty.is_set() {
        format!("{owned}.contains({value})")
    } else {
        format!("{value} == {owned}")
    });
    Some(format!("({})", parts.join(" && ")))
}

/// What a list of selectors selects.
struct Selection {
    /// Action ids for `action in [...]`; `None`: every action.
    actions: Option<Vec<String>>,
    /// The selected operations (indexes into the model).
    operations: BTreeSet<usize>,
}

impl Selection {
    /// The policy's action scope.
    fn scope(&self) -> String {
        match &self.actions {
            None => "action".to_owned(),
            Some(actions) => {
                let list: Vec<String> = actions
                    .iter()
                    .map(|a| format!("Action::{}", quote(a)))
                    .collect();
                format!("action in [{}]", list.join(", "))
            }
        }
    }
}

/// Resolves selectors; `None` (with errors) when one is unknown.
fn select(
    model: &Model,
    selectors: &[Spanned<String>],
    field: &str,
    errors: &mut Vec<Error>,
) -> Option<Selection> {
    let mut selection = Selection {
        actions: Some(Vec::new()),
        operations: BTreeSet::new(),
    };
    let mut ok = true;
    for (j, selector) in selectors.iter().enumerate() {
        match resolve_selector(model, &selector.value) {
            Some((action, operations)) => {
                selection.operations.extend(operations);
                match (&mut selection.actions, action) {
                    (Some(actions), Some(action)) if !actions.contains(&action) => {
                        actions.push(action);
                    }
                    (actions, None) => *actions = None,
                    _ => {}
                }
            }
            None => {
                ok = false;
                errors.push(yaml_error(
                    selector,
                    format!("{field}[{j}]"),
                    format!(
                        "unknown operation selector `{}`: expected an operationId of the spec, \
                         `tag:<tag>`, `method:<METHOD>`, `read`, `write` or `*`",
                        selector.value
                    ),
                ));
            }
        }
    }
    ok.then_some(selection)
}

/// One selector: its action id (`None` for `*`) and the operations it
/// selects; `None` when it names nothing in the spec.
fn resolve_selector(model: &Model, selector: &str) -> Option<(Option<String>, Vec<usize>)> {
    let ops = || model.operations.iter().enumerate();
    let matching = |keep: &dyn Fn(&OpModel) -> bool| -> Vec<usize> {
        ops().filter(|(_, op)| keep(op)).map(|(i, _)| i).collect()
    };
    let found = match selector {
        "*" => return Some((None, ops().map(|(i, _)| i).collect())),
        "read" => matching(&|op| is_read(op.method)),
        "write" => matching(&|op| !is_read(op.method)),
        _ => {
            if let Some(tag) = selector.strip_prefix("tag:") {
                let found = matching(&|op| op.tags.iter().any(|t| t == tag));
                return (!found.is_empty()).then(|| (Some(selector.to_owned()), found));
            }
            if let Some(method) = selector.strip_prefix("method:") {
                let method = Method::ALL
                    .into_iter()
                    .find(|m| m.as_str().eq_ignore_ascii_case(method))?;
                let found = matching(&|op| op.method == method);
                return (!found.is_empty())
                    .then(|| (Some(format!("method:{}", method.as_str())), found));
            }
            return model
                .position(selector)
                .map(|i| (Some(selector.to_owned()), vec![i]));
        }
    };
    Some((Some(selector.to_owned()), found))
}

/// `10.0.0.0/8` or `10.1.2.3` in the form Cedar's `ip()` reads; host bits of
/// a range are cleared.
fn canonical_range(text: &str) -> Option<String> {
    let text = text.trim();
    if let Ok(net) = IpNet::from_str(text) {
        return Some(net.trunc().to_string());
    }
    IpAddr::from_str(text).ok().map(|addr| addr.to_string())
}

/// `var.name` when `name` is a plain identifier, else `var["name"]`.
fn access(var: &str, name: &str) -> String {
    if is_plain(name) {
        format!("{var}.{name}")
    } else {
        format!("{var}[{}]", quote(name))
    }
}

/// The operand of `has`: the bare name when it is a plain identifier.
fn has_name(name: &str) -> String {
    if is_plain(name) {
        name.to_owned()
    } else {
        quote(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_canonical() {
        assert_eq!(canonical_range("10.1.2.3/8").as_deref(), Some("10.0.0.0/8"));
        assert_eq!(canonical_range("::1").as_deref(), Some("::1"));
        assert_eq!(canonical_range("10.0.0.300"), None);
    }

    #[test]
    fn access_uses_brackets_when_needed() {
        assert_eq!(access("principal", "sub"), "principal.sub");
        assert_eq!(access("resource", "x-id"), "resource[\"x-id\"]");
        assert_eq!(access("resource", "in"), "resource[\"in\"]");
    }
}
