use std::path::Path;

use serde_json::json;

use crate::{SecurityRequirement, Spec, SpecError, parse};

const BANK: &str = r##"
openapi: 3.1.0
info: {title: Bank, version: "1"}
security:
  - bearer: [accounts:read]
paths:
  /accounts/{accountId}:
    summary: One account
    description: Path-level fields are not methods.
    servers: [{url: "https://api.example.com"}]
    parameters:
      - $ref: "#/components/parameters/AccountId"
    get:
      operationId: getAccount
      tags: [accounts]
      responses:
        200:
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Account"}
        404: {description: missing}
    delete:
      operationId: closeAccount
      deprecated: true
      security:
        - bearer: [accounts:write]
          mtls: []
      responses: {204: {description: closed}}
    x-internal: true
  /health:
    get:
      operationId: health
      security: []
      responses: {default: {description: ok}}
  /transfers:
    $ref: "#/components/pathItems/Transfers"
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
    mtls: {type: mutualTLS}
  parameters:
    AccountId: {name: accountId, in: path, required: true, schema: {type: string}}
  schemas:
    Account:
      type: object
      properties:
        balance: {type: number, readOnly: true}
  pathItems:
    Transfers:
      post:
        operationId: createTransfer
        summary: Move money
        responses: {201: {description: created}}
"##;

fn load(text: &str) -> Result<Spec, SpecError> {
    parse(text, Path::new("bank/openapi.yaml"))
}

fn invalid_at(text: &str) -> (String, String) {
    match load(text) {
        Err(SpecError::Invalid {
            pointer, message, ..
        }) => (pointer, message),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn requirement(pairs: &[(&str, &[&str])]) -> SecurityRequirement {
    pairs
        .iter()
        .map(|(name, scopes)| {
            (
                name.to_string(),
                scopes.iter().map(|s| s.to_string()).collect(),
            )
        })
        .collect()
}

#[test]
fn indexes_a_3_1_yaml_spec_with_refs_and_int_response_keys() {
    let spec = load(BANK).expect("bank spec loads");
    assert_eq!(spec.title, "Bank");
    assert_eq!(spec.openapi_version, "3.1.0");
    let ops: Vec<(&str, &str, &str)> = spec
        .operations
        .iter()
        .map(|o| (o.method.as_str(), o.path.as_str(), o.pointer.as_str()))
        .collect();
    assert_eq!(
        ops,
        [
            (
                "GET",
                "/accounts/{accountId}",
                "/paths/~1accounts~1{accountId}/get"
            ),
            (
                "DELETE",
                "/accounts/{accountId}",
                "/paths/~1accounts~1{accountId}/delete"
            ),
            ("GET", "/health", "/paths/~1health/get"),
            ("POST", "/transfers", "/components/pathItems/Transfers/post"),
        ]
    );
    let get = &spec.operations[0];
    assert_eq!(get.operation_id.as_deref(), Some("getAccount"));
    assert_eq!(get.tags, ["accounts"]);
    assert!(!get.deprecated);
    assert!(spec.operations[1].deprecated);
    assert_eq!(spec.operations[3].summary.as_deref(), Some("Move money"));

    // YAML integer keys became strings.
    let responses = &spec.document["paths"]["/accounts/{accountId}"]["get"]["responses"];
    assert_eq!(responses["200"]["description"], json!("ok"));
    assert_eq!(responses["404"]["description"], json!("missing"));

    // $refs resolve inside the document.
    let param = &spec.document["paths"]["/accounts/{accountId}"]["parameters"][0];
    assert_eq!(
        spec.resolve(param).expect("resolves")["name"],
        json!("accountId")
    );
    let schema = &responses["200"]["content"]["application/json"]["schema"];
    assert_eq!(
        spec.resolve(schema).expect("resolves")["type"],
        json!("object")
    );
}

#[test]
fn security_is_inherited_overridden_or_explicitly_public() {
    let spec = load(BANK).expect("bank spec loads");
    let security = |id: &str| {
        let op = spec
            .operations
            .iter()
            .find(|o| o.operation_id.as_deref() == Some(id));
        op.expect("operation exists").security.clone()
    };
    assert_eq!(
        security("getAccount"),
        Some(vec![requirement(&[("bearer", &["accounts:read"])])])
    );
    assert_eq!(
        security("closeAccount"),
        Some(vec![requirement(&[
            ("bearer", &["accounts:write"]),
            ("mtls", &[])
        ])])
    );
    assert_eq!(security("health"), Some(vec![]));

    let no_root = BANK.replace("security:\n  - bearer: [accounts:read]\n", "");
    let spec = load(&no_root).expect("loads without root security");
    assert_eq!(spec.operations[0].security, None);
}

#[test]
fn undeclared_security_scheme_is_refused() {
    let text = BANK.replace("- bearer: [accounts:read]", "- oauth: [read]");
    let (pointer, message) = invalid_at(&text);
    assert_eq!(pointer, "/security/0/oauth");
    assert!(message.contains("`oauth` is not declared"), "{message}");
}

#[test]
fn duplicate_operation_id_is_refused() {
    let text = BANK.replace("operationId: health", "operationId: getAccount");
    let (pointer, message) = invalid_at(&text);
    assert_eq!(pointer, "/paths/~1health/get/operationId");
    assert!(
        message.contains("/paths/~1accounts~1{accountId}/get"),
        "{message}"
    );
}

#[test]
fn unknown_path_item_key_is_refused() {
    let text = BANK.replace(
        "    get:\n      operationId: health",
        "    GET:\n      operationId: health",
    );
    let (pointer, message) = invalid_at(&text);
    assert_eq!(pointer, "/paths/~1health/GET");
    assert!(message.contains("unknown field `GET`"), "{message}");
}

#[test]
fn bad_or_ambiguous_templates_are_refused() {
    let (pointer, _) = invalid_at(&BANK.replace("/health:", "/health/{id:"));
    assert_eq!(pointer, "/paths/~1health~1{id");
    let (pointer, message) = invalid_at(&BANK.replace("/health:", "/accounts/{other}:"));
    assert_eq!(pointer, "/paths/~1accounts~1{other}");
    assert!(message.contains("same template"), "{message}");
    let (_, message) = invalid_at(&BANK.replace("/health:", "/files/{name}.{ext}:"));
    assert!(message.contains("more than one parameter"), "{message}");
}

#[test]
fn operation_must_be_an_object() {
    let text = BANK.replace(
        "    get:\n      operationId: health\n      security: []\n      responses: {default: {description: ok}}",
        "    get: 42",
    );
    assert_eq!(invalid_at(&text).0, "/paths/~1health/get");
}

#[test]
fn method_both_local_and_in_referenced_path_item_is_refused() {
    let text = BANK.replace(
        "    $ref: \"#/components/pathItems/Transfers\"",
        "    $ref: \"#/components/pathItems/Transfers\"\n    post: {operationId: other, responses: {}}",
    );
    assert_eq!(invalid_at(&text).0, "/paths/~1transfers");
}

#[test]
fn paths_must_be_an_object_and_3_0_needs_paths() {
    assert_eq!(
        invalid_at("openapi: 3.1.0\ninfo: {title: t}\npaths: []\n").0,
        "/paths"
    );
    assert_eq!(invalid_at("openapi: 3.0.3\ninfo: {title: t}\n").0, "");
    let spec = load("openapi: 3.1.0\ninfo: {title: t}\nwebhooks: {}\n").expect("3.1 without paths");
    assert!(spec.operations.is_empty());
}

#[test]
fn resolve_follows_refs_and_reports_values_outside_the_document() {
    let spec = load(BANK).expect("bank spec loads");
    let plain = json!({"type": "string"});
    assert_eq!(spec.resolve(&plain).expect("not a ref"), &plain);
    let dangling = json!({"$ref": "#/components/schemas/Nope"});
    assert!(matches!(
        spec.resolve(&dangling),
        Err(SpecError::DanglingRef { pointer: None, .. })
    ));
    let remote = json!({"$ref": "http://169.254.169.254/latest"});
    assert!(matches!(
        spec.resolve(&remote),
        Err(SpecError::RemoteRef { .. })
    ));
}
