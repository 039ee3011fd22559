use std::io::Write;
use std::path::Path;

use serde_json::json;

use crate::{SpecError, load, parse};

fn src() -> &'static Path {
    Path::new("bank/openapi.yaml")
}

const PETS_JSON: &str = r##"{
  "openapi": "3.0.3",
  "info": {"title": "Pets", "version": "1.0.0"},
  "paths": {
    "/pets/{petId}": {
      "parameters": [{"$ref": "#/components/parameters/PetId"}],
      "get": {
        "operationId": "showPet",
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}}}
      },
      "put": {"operationId": "updatePet", "responses": {"204": {"description": "ok"}}}
    }
  },
  "components": {
    "parameters": {"PetId": {"name": "petId", "in": "path", "required": true, "schema": {"type": "integer"}}},
    "schemas": {"Pet": {"type": "object", "properties": {"name": {"type": "string"}}}}
  }
}"##;

#[test]
fn loads_a_3_0_json_spec_from_a_file() {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(PETS_JSON.as_bytes()).expect("write");
    let spec = load(file.path()).expect("pets spec loads");
    assert_eq!(spec.openapi_version, "3.0.3");
    assert_eq!(spec.title, "Pets");
    assert_eq!(spec.source, file.path());
    let ops: Vec<_> = spec
        .operations
        .iter()
        .map(|o| (o.method.as_str(), o.path.as_str()))
        .collect();
    assert_eq!(ops, [("GET", "/pets/{petId}"), ("PUT", "/pets/{petId}")]);
    assert_eq!(spec.operations[0].path_params(), ["petId"]);
}

#[test]
fn missing_file_is_an_io_error() {
    let err = load(Path::new("/nonexistent/openapi.yaml")).expect_err("missing file");
    assert!(matches!(err, SpecError::Io { .. }), "{err}");
    assert!(
        err.to_string().starts_with("/nonexistent/openapi.yaml: "),
        "{err}"
    );
}

#[test]
fn yaml_syntax_error_reports_line_and_column() {
    let text = "openapi: 3.1.0\ninfo:\n  title: t\n   version: 1\npaths: {}\n";
    let err = parse(text, src()).expect_err("bad yaml");
    assert_eq!(
        err.to_string(),
        "bank/openapi.yaml:4:11: mapping values are not allowed in this context"
    );
    assert!(matches!(
        err,
        SpecError::Syntax {
            line: Some(4),
            column: Some(11),
            ..
        }
    ));
}

#[test]
fn json_syntax_error_reports_line_and_column() {
    let text = "{\n  \"openapi\": \"3.1.0\",\n  \"info\": {\"title\": \"t\",}\n}";
    let err = parse(text, src()).expect_err("bad json");
    let SpecError::Syntax {
        line,
        column,
        ref message,
        ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!((line, column), (Some(3), Some(25)), "{message}");
    assert_eq!(
        err.to_string(),
        format!("bank/openapi.yaml:3:25: {message}")
    );
    assert!(!message.contains("line"), "{message}");
}

#[test]
fn duplicate_yaml_keys_are_refused() {
    let text = "openapi: 3.1.0\ninfo: {title: t}\npaths:\n  /a: {}\n  /a: {}\n";
    let err = parse(text, src()).expect_err("duplicate key");
    assert!(
        matches!(err, SpecError::Syntax { line: Some(5), .. }),
        "{err}"
    );
}

#[test]
fn yaml_alias_bomb_is_refused_by_the_budget() {
    let mut text = String::from(
        "openapi: 3.1.0\ninfo: {title: t}\nx-a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..10 {
        let prev = format!("*a{}", i - 1);
        let list = [prev.as_str(); 10].join(", ");
        text.push_str(&format!("x-a{i}: &a{i} [{list}]\n"));
    }
    let err = parse(&text, src()).expect_err("alias bomb");
    assert!(
        matches!(&err, SpecError::Syntax { message, .. } if message.contains("too large or too complex")),
        "{err}"
    );
}

#[test]
fn swagger_2_is_refused_clearly() {
    let err = parse("swagger: \"2.0\"\ninfo: {title: t}\npaths: {}\n", src()).expect_err("swagger");
    assert!(
        matches!(&err, SpecError::Swagger { found, .. } if found == "2.0"),
        "{err}"
    );
    assert!(err.to_string().contains("Swagger 2.0 document"), "{err}");
}

#[test]
fn unsupported_or_missing_versions_are_refused() {
    for (text, expected) in [
        ("openapi: 3.2.0\ninfo: {title: t}\n", Some("\"3.2.0\"")),
        ("openapi: 3.0\ninfo: {title: t}\n", Some("3.0")),
        ("info: {title: t}\n", None),
    ] {
        let err = parse(text, src()).expect_err("bad version");
        assert!(
            matches!(&err, SpecError::Version { found, .. } if found.as_deref() == expected),
            "{err}"
        );
    }
}

#[test]
fn remote_ref_is_refused_naming_the_pointer() {
    let text = PETS_JSON.replace("#/components/schemas/Pet", "https://evil.example/pet.json");
    let err = parse(&text, src()).expect_err("remote ref");
    let pointer = "/paths/~1pets~1{petId}/get/responses/200/content/application~1json/schema";
    assert!(
        matches!(&err, SpecError::RemoteRef { pointer: Some(p), reference, .. }
            if p == pointer && reference == "https://evil.example/pet.json"),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("bank/openapi.yaml: at {pointer}: ")),
        "{err}"
    );
}

#[test]
fn external_file_ref_is_refused() {
    let text = PETS_JSON.replace("#/components/parameters/PetId", "common.yaml#/PetId");
    let err = parse(&text, src()).expect_err("external ref");
    assert!(
        matches!(&err, SpecError::ExternalRef { pointer: Some(p), .. } if p == "/paths/~1pets~1{petId}/parameters/0"),
        "{err}"
    );
}

#[test]
fn dangling_ref_is_reported() {
    let text = PETS_JSON.replace("#/components/schemas/Pet", "#/components/schemas/Cat");
    let err = parse(&text, src()).expect_err("dangling ref");
    assert!(
        matches!(&err, SpecError::DanglingRef { reference, .. } if reference == "#/components/schemas/Cat"),
        "{err}"
    );
}

#[test]
fn ref_cycle_is_reported() {
    let text = PETS_JSON.replace(
        r##""Pet": {"type": "object""##,
        r##""Loop": {"$ref": "#/components/schemas/Pet"}, "Pet": {"$ref": "#/components/schemas/Loop"}, "X": {"type": "object""##,
    );
    let err = parse(&text, src()).expect_err("ref cycle");
    assert!(matches!(err, SpecError::RefCycle { .. }), "{err}");
}

#[test]
fn info_title_is_required() {
    let err = parse("openapi: 3.1.0\ninfo: {version: \"1\"}\n", src()).expect_err("no title");
    assert!(
        matches!(&err, SpecError::Invalid { pointer, .. } if pointer == "/info/title"),
        "{err}"
    );
}

#[test]
fn yaml_1_2_booleans_and_document_values() {
    let text = "openapi: 3.1.0\ninfo: {title: t}\ncomponents:\n  schemas:\n    A: {enum: [yes, no, true]}\n";
    let spec = parse(text, src()).expect("loads");
    assert_eq!(
        spec.document["components"]["schemas"]["A"]["enum"],
        json!(["yes", "no", true])
    );
}
