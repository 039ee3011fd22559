//! Request validation cost: three parameters plus a JSON body of about
//! 1 KB and 64 KB, against an order schema (refs, patterns, formats, enums).

#![allow(missing_docs)]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use portcullis_openapi::validate::{Contract, Options, Request};

const SPEC: &str = r#"
openapi: 3.1.0
info: {title: bench, version: '1'}
paths:
  /orders/{orderId}:
    post:
      operationId: createOrder
      parameters:
        - {name: orderId, in: path, required: true, schema: {type: string, pattern: '^ord-[0-9]{6}$'}}
        - {name: dryRun, in: query, schema: {type: boolean}}
        - {name: X-Request-Id, in: header, schema: {type: string, format: uuid}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Order'}
      responses:
        '201': {description: ok}
components:
  schemas:
    Order:
      type: object
      additionalProperties: false
      required: [customer, items]
      properties:
        id: {type: string, readOnly: true}
        customer: {$ref: '#/components/schemas/Customer'}
        items: {type: array, maxItems: 1000, items: {$ref: '#/components/schemas/Item'}}
        notes: {type: string, maxLength: 500}
    Customer:
      type: object
      required: [name, email]
      properties:
        name: {type: string, maxLength: 100}
        email: {type: string, format: email}
        address:
          type: object
          properties:
            street: {type: string}
            city: {type: string}
            zip: {type: string, pattern: '^[0-9]{5}$'}
    Item:
      type: object
      required: [sku, qty, price]
      properties:
        sku: {type: string, pattern: '^[A-Z]{3}-[0-9]{4}$'}
        qty: {type: integer, minimum: 1, maximum: 99}
        price: {type: number, exclusiveMinimum: 0}
        kind: {type: string, enum: [physical, digital]}
        note: {type: string, maxLength: 80}
"#;

fn body(items: usize) -> Vec<u8> {
    let item =
        r#"{"sku":"ABC-1234","qty":2,"price":19.99,"kind":"physical","note":"gift wrap please"}"#;
    let items: Vec<&str> = std::iter::repeat_n(item, items).collect();
    format!(
        r#"{{"customer":{{"name":"Ada Lovelace","email":"ada@example.com","address":{{"street":"1 Main St","city":"London","zip":"12345"}}}},"items":[{}],"notes":"leave at the door"}}"#,
        items.join(",")
    )
    .into_bytes()
}

fn bench(c: &mut Criterion) {
    let spec = portcullis_openapi::parse(SPEC, Path::new("bench.yaml")).expect("spec");
    let options = Options {
        strict: true,
        ..Options::default()
    };
    let contract = Contract::compile(&spec, &spec.operations[0], &options).expect("contract");
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        "x-request-id",
        http::HeaderValue::from_static("6f1c9b5e-2a7d-4d3e-9f0a-1b2c3d4e5f60"),
    );
    let mut group = c.benchmark_group("validate");
    for (name, items) in [("1KB", 9), ("64KB", 760)] {
        let body = body(items);
        let path = [("orderId", "ord-123456")];
        let req = Request {
            path_params: &path,
            query: Some("dryRun=false"),
            headers: &headers,
            body: Some(&body),
        };
        assert!(
            contract.validate(&req).is_ok(),
            "the bench request must be valid"
        );
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(format!("{name} ({} bytes)", body.len()), |b| {
            b.iter(|| black_box(contract.validate(black_box(&req))).is_ok())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
