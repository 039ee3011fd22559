//! Criterion benchmarks of the contract stages: request validation against the
//! spec plus injection inspection, for a typical 1 KB JSON order and a 64 KB
//! one (`bench/bodies/`), as the gateway runs them on a request.
//!
//! Run with `cargo bench -p portcullis-gateway --bench contract`; results in
//! `bench/CONTRACT.md`. The target: validation + inspection together cost ≤ 10%
//! of passthrough throughput on the typical body (a passthrough request costs
//! ~20 µs of CPU on the bench machine, so ≤ ~2 µs here).
//!
//! The fixture goes through the public API: the bench spec (`bench/openapi.yaml`)
//! and a config with validation (strict) and inspection on are written to a
//! temporary directory and parsed with `config::parse`, exactly as the gateway
//! loads them.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use portcullis_gateway::config;
use portcullis_gateway::inspect;

const CONFIG: &str = r#"
listeners:
  - address: 127.0.0.1:0
upstreams:
  main:
    targets: [http://127.0.0.1:9]
apis:
  - name: bench
    spec: openapi.yaml
    upstream: main
    validation:
      strict: true
      limits: { max_array_items: 1000 }
      # The benchmark binds no identity provider: the one secured path goes.
      overlays: [{ target: "/paths/~1secure~1items~1{id}", remove: true }]
"#;

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        root.join("bench/openapi.yaml"),
        dir.path().join("openapi.yaml"),
    )
    .expect("spec");
    let path = dir.path().join("portcullis.yaml");
    let cfg = config::parse(CONFIG, &path).expect("config");
    let api = &cfg.apis[0];
    let contracts = api.contracts.as_deref().expect("contracts");
    let contract = contracts.for_requests("createOrder").expect("createOrder");
    let inspection = api.inspection.as_deref().expect("inspection");

    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    let mut group = c.benchmark_group("contract");
    for name in ["order-1k", "order-64k"] {
        let body = std::fs::read(root.join(format!("bench/bodies/{name}.json"))).expect("body");
        let req = portcullis_openapi::validate::Request {
            path_params: &[],
            query: None,
            headers: &headers,
            body: Some(&body),
        };
        let ireq = inspect::Request {
            operation: "createOrder",
            path_params: &[],
            query: None,
            headers: &headers,
            body: Some(&body),
        };
        // Both must accept the body: the benchmark measures the whole work.
        let validated = contract.validate(&req).expect("the bench body is valid");
        assert!(
            inspection.check(&ireq, Some(&validated)).is_none(),
            "the bench body is benign"
        );
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(format!("{name}/validate"), |b| {
            b.iter(|| black_box(contract.validate(black_box(&req)).is_ok()))
        });
        group.bench_function(format!("{name}/inspect"), |b| {
            b.iter(|| black_box(inspection.check(black_box(&ireq), Some(&validated))))
        });
        group.bench_function(format!("{name}/validate+inspect"), |b| {
            b.iter(|| {
                let v = contract.validate(black_box(&req)).ok();
                black_box(inspection.check(black_box(&ireq), v.as_ref()))
            })
        });
        // The reference: parsing the same body with serde_json, as any JSON-aware
        // proxy must at least do.
        group.bench_function(format!("{name}/serde_json parse (reference)"), |b| {
            b.iter(|| {
                black_box(serde_json::from_slice::<serde_json::Value>(black_box(&body)).is_ok())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
