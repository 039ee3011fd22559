//! The contract enforced through the real gateway: requests validated against
//! the spec, injection detected where the spec leaves values loose, responses
//! protected, CORS answered — and the example bank's lessons end to end.

mod bank;
mod cors;
mod inspection;
mod responses;
mod validation;

use crate::support::*;

/// A spec with every kind of parameter, JSON, form and XML bodies, readOnly and
/// typed fields, for the validation and inspection tests.
pub(crate) const CONTRACT_SPEC: &str = r#"
openapi: 3.1.0
info: { title: Contract, version: "1" }
security: []
paths:
  /notes/{noteId}:
    parameters:
      - { name: noteId, in: path, required: true, schema: { type: string, pattern: '^n-[0-9]{1,6}$' } }
    get:
      operationId: getNote
      parameters:
        - { name: limit, in: query, schema: { type: integer, minimum: 1, maximum: 100 } }
        - { name: sort, in: query, schema: { type: string, enum: [asc, desc] } }
        - { name: q, in: query, schema: { type: string, maxLength: 200 } }
        - { name: tags, in: query, style: form, explode: false, schema: { type: array, items: { type: string } } }
        - { name: X-Purpose, in: header, schema: { type: string } }
        - { name: X-Trace, in: header, schema: { type: string, format: uuid } }
        - { name: theme, in: cookie, schema: { type: string } }
      responses: { "200": { description: ok } }
  /notes:
    post:
      operationId: createNote
      requestBody:
        required: true
        content:
          application/json:
            schema: { $ref: '#/components/schemas/Note' }
          application/x-www-form-urlencoded:
            schema:
              type: object
              properties:
                title: { type: string }
                stars: { type: integer }
          application/xml:
            schema: { type: object }
      responses: { "201": { description: created } }
  /search/{term}:
    get:
      operationId: search
      parameters:
        - { name: term, in: path, required: true, schema: { type: string } }
      responses: { "200": { description: ok } }
components:
  securitySchemes:
    bearer: { type: http, scheme: bearer }
  schemas:
    Note:
      type: object
      required: [title]
      properties:
        id: { type: string, readOnly: true }
        owner: { type: string, readOnly: true }
        title: { type: string, maxLength: 100 }
        body: { type: string }
        kind: { type: string, enum: [memo, todo] }
        due: { type: string, format: date-time }
        stars: { type: integer, minimum: 0, maximum: 5 }
        tags: { type: array, items: { type: string } }
        meta:
          type: object
          properties:
            source: { type: string }
"#;

/// A gateway in front of `upstream` for the contract spec; `api_extra` is
/// appended to the API's block (indent 4), `extra` at the top level.
pub(crate) async fn contract_gateway(upstream: &Upstream, api_extra: &str) -> Gateway {
    let text = config(&upstream.url(), api_extra).replace("spec: spec.yaml", "spec: contract.yaml");
    gateway_with(&text, &[("contract.yaml", CONTRACT_SPEC)]).await
}

/// The audit events of routed requests, newest last.
pub(crate) fn request_events(gw: &Gateway) -> Vec<serde_json::Value> {
    gw.audit_lines()
        .into_iter()
        .filter(|e| e["operation"].is_string())
        .collect()
}
