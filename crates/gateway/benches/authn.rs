//! Criterion benchmarks of the authentication stage: JWT verification with and
//! without the verified-token cache, and the whole `authenticate()` stage for a
//! bearer-protected and a public operation.
//!
//! Run with `cargo bench -p portcullis-gateway --bench authn` (release
//! profile); results and their reading are in `bench/AUTHN.md`. The target they
//! answer: "with the verified-token cache, JWT authentication costs ≤ 5% of
//! passthrough throughput".
//!
//! The fixture goes through the public API only: a config (one JWT issuer whose
//! `jwks.json` holds an ES256 and an RS256 key), a spec and the key set are
//! written to a temporary directory, parsed with `config::parse` and compiled
//! with `Runtime::build`, exactly as the gateway does at start. The `jwt/*`
//! benchmarks build their own `JwtProvider`s from `JwtConfig::new` with the key
//! set that config loaded (`KeySet` has no public constructor).

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use http::request::Parts;
use http::{Method, Request, header};
use jsonwebtoken::Algorithm;
use portcullis_gateway::authn::jwt::{JwtConfig, JwtProvider, KeySource};
use portcullis_gateway::authn::mint::Minter;
use portcullis_gateway::authn::{self, ProviderConfig, Shared, now_secs};
use portcullis_gateway::config;
use portcullis_gateway::metrics::Metrics;
use portcullis_gateway::pipeline::Connection;
use portcullis_gateway::route::Security;
use portcullis_gateway::runtime::Runtime;
use serde_json::json;

const ISSUER: &str = "https://idp.bench";
const AUDIENCE: &str = "bench";
const API: &str = "bench";

const SPEC: &str = r#"
openapi: 3.1.0
info: { title: Bench API, version: "1" }
paths:
  /public:
    get: { operationId: pub, security: [], responses: { "200": { description: ok } } }
  /me:
    get: { operationId: me, security: [{ bearer: [] }], responses: { "200": { description: ok } } }
components:
  securitySchemes:
    bearer: { type: http, scheme: bearer }
"#;

fn config_text() -> String {
    format!(
        r#"
listeners:
  - address: 127.0.0.1:0
upstreams:
  main:
    targets: [http://127.0.0.1:9]
identity_providers:
  idp:
    jwt:
      issuer: {ISSUER}
      audiences: [{AUDIENCE}]
      algorithms: [ES256, RS256]
      jwks_file: jwks.json
apis:
  - name: {API}
    spec: spec.yaml
    upstream: main
    security: {{ bearer: idp }}
"#
    )
}

/// Everything the benchmarks run against, built once.
struct Fixture {
    /// The compiled gateway runtime (schemes bound to the `idp` provider).
    runtime: Runtime,
    /// Authentication state (revocations, metrics), as the `Gateway` owns it.
    shared: Shared,
    /// The key set `jwks.json` was loaded into.
    keys: KeySource,
    /// Valid tokens, signed with each key.
    es256: String,
    rs256: String,
}

fn fixture(rt: &tokio::runtime::Runtime) -> Fixture {
    let es = Minter::generate_for(Algorithm::ES256).expect("an ES256 key");
    let rs = Minter::generate_for(Algorithm::RS256).expect("an RS256 key");
    let jwks = json!({ "keys": [es.jwks()["keys"][0], rs.jwks()["keys"][0]] });

    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("spec.yaml"), SPEC).expect("spec.yaml written");
    std::fs::write(dir.path().join("jwks.json"), jwks.to_string()).expect("jwks.json written");
    let path = dir.path().join("portcullis.yaml");
    let text = config_text();
    std::fs::write(&path, &text).expect("portcullis.yaml written");
    let cfg = config::parse(&text, &path).unwrap_or_else(|e| panic!("the bench config: {e}"));
    let keys = match cfg.identity_providers.get("idp") {
        Some(ProviderConfig::Jwt(j)) => j.keys.clone(),
        other => panic!("`idp` is not a JWT provider: {other:?}"),
    };

    let metrics = Arc::new(Metrics::new());
    let shared = Shared::new(Arc::clone(&metrics));
    // Providers may start background tasks while they are built.
    let _guard = rt.enter();
    let runtime =
        Runtime::build(cfg, &metrics, &shared).unwrap_or_else(|e| panic!("the bench runtime: {e}"));

    // A typical access token: the registered claims, a scope, roles.
    let claims = |sub: &str| {
        let now = now_secs();
        json!({
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": sub,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "jti": format!("bench-{sub}"),
            "scope": "accounts:read accounts:write",
            "roles": ["teller"],
        })
    };
    Fixture {
        runtime,
        shared,
        keys,
        es256: es.sign(&claims("alice")).expect("an ES256 token"),
        rs256: rs.sign(&claims("bob")).expect("an RS256 token"),
    }
}

/// A JWT provider for the bench issuer; `token_cache_size: 0` disables the
/// verified-token cache.
fn provider(name: &str, f: &Fixture, token_cache_size: usize) -> JwtProvider {
    let cfg = JwtConfig {
        token_cache_size,
        ..JwtConfig::new(
            ISSUER,
            &[AUDIENCE],
            &[Algorithm::ES256, Algorithm::RS256],
            f.keys.clone(),
        )
    };
    JwtProvider::new(name, &cfg, &f.shared).unwrap_or_else(|e| panic!("provider `{name}`: {e}"))
}

/// The head of `GET path`, with a bearer token if given, as the pipeline hands
/// it to `authenticate()`.
fn request(path: &str, token: Option<&str>) -> Parts {
    let mut req = Request::builder()
        .method(Method::GET)
        .uri(path)
        .header(header::HOST, "api.bench")
        .header(header::USER_AGENT, "bench/1")
        .header(header::ACCEPT, "application/json");
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    req.body(()).expect("a request").into_parts().0
}

/// The route's `Security`, as the router compiled it from the spec.
fn security(f: &Fixture, path: &str) -> Security {
    f.runtime
        .router
        .route(&Method::GET, path)
        .unwrap_or_else(|e| panic!("no route for {path}: {e:?}"))
        .security
        .clone()
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let f = fixture(&rt);

    let mut jwt = c.benchmark_group("jwt");
    {
        let cached = provider("cached", &f, 10_000);
        let cold = provider("cold", &f, 0);
        for (p, token) in [(&cached, &f.es256), (&cold, &f.es256), (&cold, &f.rs256)] {
            rt.block_on(p.verify(token))
                .unwrap_or_else(|e| panic!("the bench token must verify: {e:?}"));
        }

        // Purpose: the steady state of a client reusing its access token: the
        // token is hashed (SHA-256) and found in the verified-token cache; no
        // signature check, no claim parsing. This is what the target is about.
        let (p, token) = (&cached, f.es256.as_str());
        jwt.bench_function("cached/es256", |b| {
            b.to_async(&rt)
                .iter(|| async move { p.verify(black_box(token)).await })
        });

        // Purpose: the cost of a token seen for the first time (or any token
        // with the cache disabled): header parsing, key lookup, an ECDSA P-256
        // signature verification, claim parsing and checks.
        let (p, token) = (&cold, f.es256.as_str());
        jwt.bench_function("cold/es256", |b| {
            b.to_async(&rt)
                .iter(|| async move { p.verify(black_box(token)).await })
        });

        // Purpose: the same with an RSA-2048 PKCS#1 v1.5 signature (RS256), the
        // most common IdP default.
        let (p, token) = (&cold, f.rs256.as_str());
        jwt.bench_function("cold/rs256", |b| {
            b.to_async(&rt)
                .iter(|| async move { p.verify(black_box(token)).await })
        });
    }
    jwt.finish();

    let mut stage = c.benchmark_group("stage");
    {
        let api = &f.runtime.apis[0];
        let public_by_default = api.cfg.public_by_default;
        let conn = Connection::new(SocketAddr::from(([127, 0, 0, 1], 40_000)), false);
        let (me, public) = (security(&f, "/me"), security(&f, "/public"));
        assert!(
            matches!(me, Security::Required(_)),
            "/me requires bearer: {me:?}"
        );
        assert_eq!(public, Security::Public);
        let with_token = request("/me", Some(&f.es256));
        let anonymous = request("/public", None);
        let verified = rt
            .block_on(authn::authenticate(
                API,
                &api.schemes,
                &me,
                public_by_default,
                &with_token,
                &conn,
                &f.shared,
            ))
            .unwrap_or_else(|e| panic!("the bench request must authenticate: {e:?}"));
        assert!(verified.principal.is_some(), "a principal for /me");

        // Purpose: the whole authentication stage of a request to a
        // bearer-protected operation with a cached token, as the pipeline runs
        // it: evaluating the `security` alternatives, taking the token from
        // `Authorization`, the cached JWT verification, the revocation check
        // and the `portcullis_auth_*` metric. The figure compared with the
        // per-request budget in bench/AUTHN.md.
        let (schemes, shared, conn) = (&api.schemes, &f.shared, &conn);
        let (op_security, parts) = (&me, &with_token);
        stage.bench_function("cached/es256", |b| {
            b.to_async(&rt).iter(|| async move {
                authn::authenticate(
                    API,
                    schemes,
                    op_security,
                    public_by_default,
                    black_box(parts),
                    conn,
                    shared,
                )
                .await
            })
        });

        // Purpose: the floor: a public operation, for which the stage only
        // looks at the operation's `Security` and returns. Also shows what the
        // async call and the benchmark loop themselves cost.
        let (op_security, parts) = (&public, &anonymous);
        stage.bench_function("public", |b| {
            b.to_async(&rt).iter(|| async move {
                authn::authenticate(
                    API,
                    schemes,
                    op_security,
                    public_by_default,
                    black_box(parts),
                    conn,
                    shared,
                )
                .await
            })
        });
    }
    stage.finish();
}

criterion_group!(authn_benches, benches);
criterion_main!(authn_benches);
