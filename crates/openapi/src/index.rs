//! Builds the operation index: every (path, method) of `paths`, with its security.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::load::invalid;
use crate::refs::{self, escape};
use crate::{Method, Operation, SecurityRequirement, SpecError, template};

/// Keys of a path item that are not methods.
const PATH_ITEM_FIELDS: &[&str] = &["$ref", "summary", "description", "servers", "parameters"];

/// Every operation under `paths`, after following path-item `$ref`s, in the
/// document's path order and [`Method::ALL`] order within a path.
pub(crate) fn operations(
    doc: &Value,
    version: &str,
    source: &Path,
) -> Result<Vec<Operation>, SpecError> {
    let paths = match doc.get("paths") {
        Some(Value::Object(paths)) => paths,
        Some(_) => return Err(invalid(source, "/paths", "`paths` must be an object")),
        None if version.starts_with("3.0.") => {
            return Err(invalid(
                source,
                "",
                "an OpenAPI 3.0 document must have `paths`",
            ));
        }
        None => return Ok(Vec::new()),
    };
    let root_security = match doc.get("security") {
        Some(value) => Some(security(doc, value, "/security", source)?),
        None => None,
    };
    let mut index = Index {
        doc,
        source,
        root_security,
        ops: Vec::new(),
        ids: HashMap::new(),
    };
    let mut shapes: HashMap<String, &str> = HashMap::new();
    for (path, item) in paths {
        if path.starts_with("x-") {
            continue;
        }
        let pointer = format!("/paths/{}", escape(path));
        let shape = template::check(path).map_err(|m| invalid(source, &pointer, m))?;
        if let Some(other) = shapes.insert(shape, path) {
            let message = format!(
                "path `{path}` is the same template as `{other}` (only parameter names differ)"
            );
            return Err(invalid(source, &pointer, message));
        }
        index.path_item(path, item, &pointer)?;
    }
    Ok(index.ops)
}

/// What building the index needs and accumulates.
struct Index<'a> {
    doc: &'a Value,
    source: &'a Path,
    root_security: Option<Vec<SecurityRequirement>>,
    ops: Vec<Operation>,
    /// operationId → pointer of the operation that has it.
    ids: HashMap<String, String>,
}

impl Index<'_> {
    /// Adds the operations of one path item, its own and those of its `$ref`.
    fn path_item(&mut self, path: &str, item: &Value, pointer: &str) -> Result<(), SpecError> {
        let Some(local) = item.as_object() else {
            return Err(invalid(
                self.source,
                pointer,
                "a path item must be an object",
            ));
        };
        let own = self.methods(local, pointer)?;
        let mut found: Vec<(Method, &Value, String)> = own;
        if local.contains_key("$ref") {
            let resolved = refs::follow(self.doc, item, Some(pointer.to_owned()), self.source)?;
            let target = resolved.pointer.unwrap_or_default();
            let Some(target_map) = resolved.value.as_object() else {
                return Err(invalid(
                    self.source,
                    &target,
                    "a path item must be an object",
                ));
            };
            for (method, op, op_pointer) in self.methods(target_map, &target)? {
                if found.iter().any(|(m, ..)| *m == method) {
                    let message = format!(
                        "`{}` is defined both here and in the referenced path item",
                        method.as_str().to_ascii_lowercase()
                    );
                    return Err(invalid(self.source, pointer, message));
                }
                found.push((method, op, op_pointer));
            }
        }
        found.sort_by_key(|(m, ..)| *m);
        for (method, op, op_pointer) in found {
            self.operation(path, method, op, op_pointer)?;
        }
        Ok(())
    }

    /// The methods of a path item object; an unknown key is an error.
    fn methods<'v>(
        &self,
        item: &'v Map<String, Value>,
        pointer: &str,
    ) -> Result<Vec<(Method, &'v Value, String)>, SpecError> {
        let mut found = Vec::new();
        for (key, value) in item {
            if let Some(method) = Method::from_spec_key(key) {
                found.push((method, value, format!("{pointer}/{key}")));
            } else if !PATH_ITEM_FIELDS.contains(&key.as_str()) && !key.starts_with("x-") {
                let message = format!(
                    "unknown field `{key}` in a path item (methods are lowercase: get, put, post, \
                     delete, options, head, patch, trace)"
                );
                return Err(invalid(
                    self.source,
                    &format!("{pointer}/{}", escape(key)),
                    message,
                ));
            }
        }
        Ok(found)
    }

    /// Checks one operation object and adds it.
    fn operation(
        &mut self,
        path: &str,
        method: Method,
        op: &Value,
        pointer: String,
    ) -> Result<(), SpecError> {
        let source = self.source;
        let Some(map) = op.as_object() else {
            return Err(invalid(source, &pointer, "an operation must be an object"));
        };
        let string = |key: &str| -> Result<Option<String>, SpecError> {
            match map.get(key) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(invalid(
                    source,
                    &format!("{pointer}/{key}"),
                    format!("`{key}` must be a string"),
                )),
            }
        };
        let operation_id = string("operationId")?;
        let summary = string("summary")?;
        let tags = match map.get("tags") {
            None => Vec::new(),
            Some(Value::Array(tags)) if tags.iter().all(Value::is_string) => tags
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(_) => {
                return Err(invalid(
                    source,
                    &format!("{pointer}/tags"),
                    "`tags` must be a list of strings",
                ));
            }
        };
        let deprecated = match map.get("deprecated") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(invalid(
                    source,
                    &format!("{pointer}/deprecated"),
                    "`deprecated` must be true or false",
                ));
            }
        };
        let security = match map.get("security") {
            Some(value) => Some(security(
                self.doc,
                value,
                &format!("{pointer}/security"),
                source,
            )?),
            None => self.root_security.clone(),
        };
        if let Some(id) = &operation_id
            && let Some(first) = self.ids.insert(id.clone(), pointer.clone())
        {
            let message = format!("operationId `{id}` is also used at {first}");
            return Err(invalid(source, &format!("{pointer}/operationId"), message));
        }
        self.ops.push(Operation {
            method,
            path: path.to_owned(),
            operation_id,
            summary,
            tags,
            deprecated,
            security,
            pointer,
        });
        Ok(())
    }
}

/// Parses a `security` list; every scheme must be in `components/securitySchemes`.
fn security(
    doc: &Value,
    value: &Value,
    pointer: &str,
    source: &Path,
) -> Result<Vec<SecurityRequirement>, SpecError> {
    let Some(list) = value.as_array() else {
        return Err(invalid(
            source,
            pointer,
            "`security` must be a list of requirement objects",
        ));
    };
    let schemes = doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object);
    let mut requirements = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let item_pointer = format!("{pointer}/{i}");
        let Some(map) = item.as_object() else {
            return Err(invalid(
                source,
                &item_pointer,
                "a security requirement must be an object",
            ));
        };
        let mut requirement = SecurityRequirement::new();
        for (name, scopes) in map {
            let scheme_pointer = format!("{item_pointer}/{}", escape(name));
            if !schemes.is_some_and(|s| s.contains_key(name)) {
                let message = format!(
                    "security scheme `{name}` is not declared in components.securitySchemes"
                );
                return Err(invalid(source, &scheme_pointer, message));
            }
            let scopes = scopes
                .as_array()
                .filter(|s| s.iter().all(Value::is_string))
                .ok_or_else(|| {
                    invalid(source, &scheme_pointer, "scopes must be a list of strings")
                })?;
            let scopes = scopes
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            requirement.insert(name.clone(), scopes);
        }
        requirements.push(requirement);
    }
    Ok(requirements)
}

#[cfg(test)]
mod tests;
