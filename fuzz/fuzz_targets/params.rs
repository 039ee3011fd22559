//! The parameter deserializers (path, query, header and cookie; every `style`
//! and `explode`) on arbitrary values: an error or decoded values, never a
//! panic. The input is split on `\n` into the twelve path values of the fuzz
//! spec's template, then the query string, the `X-Int`, `X-Arr`, `X-Obj` and
//! `X-Str` headers and the `Cookie` header (missing fields are empty or absent;
//! a header value that HTTP forbids is left out, as hyper would refuse it).
#![no_main]

use std::sync::LazyLock;

use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use portcullis_openapi::validate::{Contract, Invalid, Options, Request};

const PATH: [&str; 12] = [
    "s", "i", "a", "ae", "o", "oe", "la", "lo", "ma", "mo", "mae", "moe",
];
const HEADERS: [&str; 5] = ["x-int", "x-arr", "x-obj", "x-str", "cookie"];

static LAX: LazyLock<Contract> =
    LazyLock::new(|| portcullis_fuzz::contract("params", &Options::default()));
static STRICT: LazyLock<Contract> = LazyLock::new(|| {
    let options = Options {
        strict: true,
        reject_unknown_query: true,
        ..Options::default()
    };
    portcullis_fuzz::contract("params", &options)
});

fuzz_target!(|data: &[u8]| {
    let mut fields = data.split(|&b| b == b'\n');
    let path: Vec<String> = PATH
        .iter()
        .map(|_| String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned())
        .collect();
    let path_params: Vec<(&str, &str)> = PATH
        .iter()
        .copied()
        .zip(path.iter().map(String::as_str))
        .collect();
    let query = fields.next().map(String::from_utf8_lossy);
    let mut headers = HeaderMap::new();
    for (name, value) in HEADERS.into_iter().zip(fields) {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(HeaderName::from_static(name), value);
        }
    }
    let req = Request {
        path_params: &path_params,
        query: query.as_deref(),
        headers: &headers,
        body: None,
    };
    for contract in [&*LAX, &*STRICT] {
        let first = contract.validate(&req);
        assert_eq!(first, contract.validate(&req), "not deterministic");
        match first {
            Ok(valid) => {
                for v in &valid.values {
                    assert!(v.pointer.starts_with('/'), "pointer {:?}", v.pointer);
                }
            }
            Err(Invalid::Violations(violations)) => {
                assert!(!violations.is_empty(), "refused without a violation");
            }
            Err(Invalid::UnsupportedMediaType { .. }) => panic!("no body was sent"),
        }
    }
});
