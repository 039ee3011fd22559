use super::*;
use serde_json::json;

fn rules() -> ResponseRules {
    let doc = json!({"components": {"schemas": {
        "User": {"type": "object", "properties": {
            "name": {"type": "string"},
            "password": {"type": "string", "writeOnly": true},
            "manager": {"$ref": "#/components/schemas/User"},
            "meta": {"type": "object", "additionalProperties": {"type": "object", "properties": {"k": {"type": "string"}}}},
            "free": {"type": "object"},
        }},
        "Admin": {"allOf": [{"$ref": "#/components/schemas/User"}, {"properties": {"roles": {"type": "array"}, "secret": {"writeOnly": true}}}]},
    }}, "op": {"responses": {
        "200": {"description": "", "content": {"application/json": {"schema": {"type": "object", "properties": {
            "users": {"type": "array", "items": {"$ref": "#/components/schemas/User"}},
            "admin": {"$ref": "#/components/schemas/Admin"},
        }}}}},
        "204": {"description": ""},
        "4XX": {"description": "", "content": {"application/problem+json": {}, "text/*": {}}},
    }}});
    ResponseRules::compile(&doc, &doc["op"])
}

#[test]
fn content_types_per_status() {
    let r = rules();
    assert_eq!(
        r.check_content_type(200, Some("application/json; charset=utf-8")),
        ContentType::Declared
    );
    assert_eq!(
        r.check_content_type(200, Some("text/html")),
        ContentType::Contradicts
    );
    assert_eq!(r.check_content_type(200, None), ContentType::Declared);
    assert_eq!(r.check_content_type(204, None), ContentType::Declared);
    assert_eq!(
        r.check_content_type(204, Some("text/html")),
        ContentType::Undocumented
    );
    assert_eq!(
        r.check_content_type(404, Some("Text/Plain")),
        ContentType::Declared
    );
    assert_eq!(
        r.check_content_type(404, Some("application/json")),
        ContentType::Contradicts
    );
    assert_eq!(
        r.check_content_type(500, Some("text/html")),
        ContentType::Undocumented
    );
    assert!(r.has_schema(200, Some("application/json")));
    assert!(!r.has_schema(404, Some("text/plain")));
    assert!(!r.has_schema(500, Some("application/json")));
}

#[test]
fn strips_write_only_always_and_undocumented_on_request() {
    let r = rules();
    let body = json!({
        "users": [{"name": "a", "password": "p", "x": 1, "manager": {"name": "b", "password": "q", "y": 2}}],
        "admin": {"name": "c", "roles": [], "secret": "s", "password": "p", "z": 3,
                  "meta": {"any": {"k": "v", "extra": 1}}, "free": {"whatever": 1}},
        "top": true,
    });
    let mut v = body.clone();
    // Sorted: property order depends on serde_json's `preserve_order` feature.
    let mut removed = r.strip(200, Some("application/json"), &mut v, false);
    removed.sort();
    assert_eq!(
        removed,
        [
            "/admin/password",
            "/admin/secret",
            "/users/0/manager/password",
            "/users/0/password"
        ]
    );
    assert_eq!(v["users"][0]["x"], 1);
    let mut v = body;
    let mut removed = r.strip(200, Some("application/json"), &mut v, true);
    removed.sort();
    assert_eq!(
        removed,
        [
            "/admin/meta/any/extra",
            "/admin/password",
            "/admin/secret",
            "/admin/z",
            "/top",
            "/users/0/manager/password",
            "/users/0/manager/y",
            "/users/0/password",
            "/users/0/x"
        ]
    );
    assert_eq!(
        v,
        json!({
            "users": [{"name": "a", "manager": {"name": "b"}}],
            "admin": {"name": "c", "roles": [], "meta": {"any": {"k": "v"}}, "free": {"whatever": 1}},
        })
    );
    let mut other = json!({"x": 1});
    assert!(
        r.strip(404, Some("text/plain"), &mut other, true)
            .is_empty()
    );
}
