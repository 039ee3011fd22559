#![allow(clippy::needless_pass_by_value)] // Test helpers take `json!` values.

use super::*;
use std::path::Path;

fn spec(version: &str, schemas: Value) -> Spec {
    let doc = json!({"openapi": version, "info": {"title": "t", "version": "1"}, "paths": {},
        "components": {"schemas": schemas}});
    crate::parse(&doc.to_string(), Path::new("t.json")).unwrap_or_else(|e| panic!("{e}"))
}

fn check(spec: &Spec, schema: &Value, strict: bool, value: Value) -> Vec<Violation> {
    let options = Options {
        strict,
        ..Options::default()
    };
    let compiled = compile(spec, schema, "/x", &options).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    compiled.check(&value, "/body", &mut out, 32);
    out
}

/// The violations as (pointer, reason), sorted: the order of an object's
/// properties depends on serde_json's `preserve_order` feature, which another
/// crate of the workspace may switch on.
fn reasons(v: &[Violation]) -> Vec<(String, String)> {
    let mut r: Vec<(String, String)> = v
        .iter()
        .map(|v| (v.pointer.clone(), v.reason.clone()))
        .collect();
    r.sort();
    r
}

#[test]
fn openapi_30_nullable_and_boolean_exclusive_bounds() {
    let s = spec(
        "3.0.3",
        json!({
            "N": {"type": "integer", "nullable": true, "minimum": 0, "exclusiveMinimum": true, "example": "not-an-int"},
            "E": {"type": "string", "enum": ["a"], "nullable": true},
            "R": {"$ref": "#/components/schemas/N", "nullable": true, "maximum": 1},
        }),
    );
    let n = json!({"$ref": "#/components/schemas/N"});
    assert!(check(&s, &n, false, json!(null)).is_empty());
    assert!(check(&s, &n, false, json!(1)).is_empty());
    assert_eq!(
        reasons(&check(&s, &n, false, json!(0))),
        [("/body".into(), "must be greater than 0".into())]
    );
    let e = json!({"$ref": "#/components/schemas/E"});
    assert!(check(&s, &e, false, json!(null)).is_empty());
    assert_eq!(check(&s, &e, false, json!("b")).len(), 1);
    // 3.0: `$ref` siblings are ignored (maximum: 1 does not apply); nullable is honoured.
    let r = json!({"$ref": "#/components/schemas/R"});
    assert!(check(&s, &r, false, json!(5)).is_empty());
    assert!(
        check(
            &s,
            &json!({"$ref": "#/components/schemas/N", "nullable": true}),
            false,
            json!(null)
        )
        .is_empty()
    );
}

#[test]
fn openapi_31_type_arrays_and_recursive_refs() {
    let s = spec(
        "3.1.0",
        json!({
            "Tree": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": ["string", "null"]},
                "children": {"type": "array", "items": {"$ref": "#/components/schemas/Tree"}},
            }},
        }),
    );
    let tree = json!({"$ref": "#/components/schemas/Tree"});
    assert!(
        check(
            &s,
            &tree,
            false,
            json!({"name": null, "children": [{"name": "a", "children": []}]})
        )
        .is_empty()
    );
    assert_eq!(
        reasons(&check(
            &s,
            &tree,
            false,
            json!({"name": "x", "children": [{"children": [{"name": 1}]}]})
        )),
        [
            (
                "/body/children/0/children/0/name".into(),
                "must be of type null or string".into()
            ),
            ("/body/children/0/name".into(), "is required".into()),
        ]
    );
}

#[test]
fn read_only_properties_are_refused_and_not_required() {
    let s = spec(
        "3.1.0",
        json!({
            "Id": {"type": "string", "readOnly": true},
            "A": {"type": "object", "required": ["id", "name"], "properties": {
                "id": {"$ref": "#/components/schemas/Id"},
                "balance": {"type": "integer", "readOnly": true},
                "name": {"type": "string"},
            }},
        }),
    );
    let a = json!({"$ref": "#/components/schemas/A"});
    assert!(check(&s, &a, false, json!({"name": "n"})).is_empty());
    assert_eq!(
        reasons(&check(
            &s,
            &a,
            false,
            json!({"name": "n", "id": "x", "balance": 5})
        )),
        [
            ("/body/balance".into(), "is read-only".into()),
            ("/body/id".into(), "is read-only".into())
        ]
    );
}

#[test]
fn strict_mode_closes_objects_but_keeps_all_of_working() {
    let s = spec(
        "3.1.0",
        json!({
            "Base": {"type": "object", "properties": {"id": {"type": "string"}}},
            "Ext": {"allOf": [{"$ref": "#/components/schemas/Base"}, {"type": "object", "properties": {"name": {"type": "string"}}}]},
            "Open": {"type": "object", "additionalProperties": true, "properties": {"a": {"type": "object", "properties": {}}}},
        }),
    );
    let ext = json!({"$ref": "#/components/schemas/Ext"});
    assert!(check(&s, &ext, true, json!({"id": "1", "name": "n"})).is_empty());
    assert!(check(&s, &ext, false, json!({"id": "1", "isAdmin": true})).is_empty());
    assert_eq!(
        reasons(&check(&s, &ext, true, json!({"id": "1", "isAdmin": true}))),
        [(
            "/body/isAdmin".into(),
            "is not allowed by the schema".into()
        )]
    );
    let base = json!({"$ref": "#/components/schemas/Base"});
    assert_eq!(check(&s, &base, true, json!({"id": "1", "x": 1})).len(), 1);
    let open = json!({"$ref": "#/components/schemas/Open"});
    assert!(check(&s, &open, true, json!({"zz": 1})).is_empty());
    // Nested objects are closed too.
    assert_eq!(
        reasons(&check(&s, &open, true, json!({"a": {"role": "admin"}}))),
        [("/body/a/role".into(), "is not allowed by the schema".into())]
    );
}

#[test]
fn reasons_never_quote_the_value() {
    let s = spec(
        "3.1.0",
        json!({
            "A": {"type": "object", "additionalProperties": false, "properties": {
                "p": {"type": "string", "pattern": "^acc-[0-9]{4}$"},
                "e": {"enum": ["x"]},
                "d": {"type": "string", "format": "date-time"},
                "n": {"type": "integer", "maximum": 100},
                "l": {"type": "string", "maxLength": 3},
                "m": {"type": "object", "additionalProperties": {"type": "integer"}},
            }},
        }),
    );
    let a = json!({"$ref": "#/components/schemas/A"});
    let marker = "MARKER<script>";
    let out = check(
        &s,
        &a,
        false,
        json!({"p": marker, "e": marker, "d": marker, "n": 101, "l": marker,
        "m": {marker: marker}, marker: 1}),
    );
    for v in &out {
        assert!(
            !v.reason.contains("MARKER") && !v.pointer.contains("MARKER"),
            "{v:?}"
        );
    }
    let got = reasons(&out);
    for expected in [
        ("/body/p", "must match the pattern `^acc-[0-9]{4}$`"),
        ("/body/e", "must be one of the allowed values"),
        ("/body/d", "must be a valid date-time"),
        ("/body/n", "must be at most 100"),
        ("/body/l", "must be at most 3 characters long"),
        ("/body/m/*", "must be an integer"),
        ("/body", "has a property the schema does not allow"),
    ] {
        assert!(
            got.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} not in {got:?}"
        );
    }
}

#[test]
fn compile_errors_name_the_file_and_pointer() {
    let s = spec("3.1.0", json!({}));
    let err = compile(
        &s,
        &json!({"type": "string", "pattern": "(unclosed"}),
        "/components/schemas/X",
        &Options::default(),
    );
    let text = err
        .map(|_| ())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        text.starts_with("t.json: at /components/schemas/X: the schema cannot be compiled"),
        "{text}"
    );
}
