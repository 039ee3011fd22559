//! Patching a spec from config without editing it: actions modelled on the
//! OpenAPI Overlay specification, with JSON pointers as targets.

use serde_json::Value;

/// One overlay action.
#[derive(Debug, Clone, PartialEq)]
pub struct OverlayAction {
    /// A JSON pointer into the spec document (e.g.
    /// `/components/schemas/Account/properties/balance`).
    pub target: String,
    /// Merged into the target (RFC 7396 JSON Merge Patch: `null` removes a key).
    pub update: Option<Value>,
    /// Removes the target.
    pub remove: bool,
}

/// Applies the actions in order; the error names the action (index) and why.
///
/// `remove` takes the target out of its parent object or array; `update`
/// is merged into the target (RFC 7396). An action with both removes. The
/// document is changed in place: on error, the actions before the failing
/// one have been applied (callers load a fresh document per attempt).
pub fn apply_overlay(doc: &mut Value, actions: &[OverlayAction]) -> Result<(), String> {
    for (i, action) in actions.iter().enumerate() {
        let not_found = || format!("action {i}: target {} not found", action.target);
        if !action.target.is_empty() && !action.target.starts_with('/') {
            return Err(format!(
                "action {i}: target {} is not a JSON pointer",
                action.target
            ));
        }
        if action.remove {
            let Some((parent, last)) = action.target.rsplit_once('/') else {
                return Err(format!("action {i}: the document root cannot be removed"));
            };
            let key = last.replace("~1", "/").replace("~0", "~");
            let removed = match doc.pointer_mut(parent) {
                Some(Value::Object(map)) => map.remove(&key).is_some(),
                Some(Value::Array(items)) => match key.parse::<usize>() {
                    Ok(index) if index < items.len() && key == index.to_string() => {
                        items.remove(index);
                        true
                    }
                    _ => false,
                },
                _ => false,
            };
            if !removed {
                return Err(not_found());
            }
        } else if let Some(update) = &action.update {
            let target = doc.pointer_mut(&action.target).ok_or_else(not_found)?;
            merge_patch(target, update);
        } else {
            return Err(format!("action {i}: neither `update` nor `remove`"));
        }
    }
    Ok(())
}

/// RFC 7396: objects merge key by key (`null` removes), anything else replaces.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(map) = target {
        for (key, value) in patch {
            if value.is_null() {
                map.remove(key);
            } else {
                merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn action(target: &str, update: Option<Value>, remove: bool) -> OverlayAction {
        OverlayAction {
            target: target.into(),
            update,
            remove,
        }
    }

    #[test]
    fn updates_and_removes() {
        let mut doc = json!({"components": {"schemas": {"A": {"type": "object", "properties": {
            "a/b": {"type": "string", "description": "x"}, "c": {"type": "integer"}}}}}, "list": [1, 2, 3]});
        let actions = [
            action(
                "/components/schemas/A/properties/a~1b",
                Some(json!({"readOnly": true, "description": null, "maxLength": 3})),
                false,
            ),
            action("/components/schemas/A/properties/c", None, true),
            action("/list/1", None, true),
            action(
                "/components/schemas/A",
                Some(json!({"additionalProperties": false})),
                false,
            ),
        ];
        assert_eq!(apply_overlay(&mut doc, &actions), Ok(()));
        assert_eq!(
            doc,
            json!({"components": {"schemas": {"A": {"type": "object", "additionalProperties": false, "properties": {
                "a/b": {"type": "string", "readOnly": true, "maxLength": 3}}}}}, "list": [1, 3]})
        );
    }

    #[test]
    fn missing_targets_are_errors_naming_the_action() {
        let mut doc = json!({"a": {"b": 1}, "l": [0]});
        let err = apply_overlay(
            &mut doc,
            &[
                action("/a", Some(json!({"c": 1})), false),
                action("/x/y", Some(json!(1)), false),
            ],
        );
        assert_eq!(err, Err("action 1: target /x/y not found".into()));
        assert_eq!(
            apply_overlay(&mut doc, &[action("/a/zz", None, true)]),
            Err("action 0: target /a/zz not found".into())
        );
        assert_eq!(
            apply_overlay(&mut doc, &[action("/l/01", None, true)]),
            Err("action 0: target /l/01 not found".into())
        );
        assert!(apply_overlay(&mut doc, &[action("a", Some(json!(1)), false)]).is_err());
        assert!(apply_overlay(&mut doc, &[action("/a", None, false)]).is_err());
    }
}
