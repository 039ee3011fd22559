//! The body parsers (the bounded JSON parser, form and multipart) on arbitrary
//! bytes: an error or a parsed body, never a panic or a hang. The first byte
//! picks the `Content-Type` (one of [`TYPES`], or, from `0xf0` up, the first
//! line of the rest); the rest is the body. Small limits make the depth,
//! string, array, property and part limits reachable within libFuzzer's
//! default input size; the default limits are checked too.
#![no_main]

use std::sync::LazyLock;

use http::{HeaderMap, HeaderValue, header::CONTENT_TYPE};
use libfuzzer_sys::fuzz_target;
use portcullis_openapi::validate::{Contract, Invalid, Limits, Options, Request};

const TYPES: [&str; 10] = [
    "application/json",
    "application/json; charset=utf-8",
    "application/vnd.fuzz+json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=XyZ",
    "multipart/form-data; boundary=\"a b\"",
    "multipart/form-data",
    "text/plain",
    "application/xml",
    "APPLICATION/JSON",
];

static DEFAULT: LazyLock<Contract> =
    LazyLock::new(|| portcullis_fuzz::contract("body", &Options::default()));
static SMALL: LazyLock<Contract> = LazyLock::new(|| {
    let limits = Limits {
        max_depth: 4,
        max_string_bytes: 64,
        max_array_items: 8,
        max_properties: 8,
        max_parts: 4,
    };
    portcullis_fuzz::contract(
        "body",
        &Options {
            strict: true,
            limits,
            ..Options::default()
        },
    )
});

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (content_type, body): (&[u8], &[u8]) = if selector >= 0xf0 {
        match rest.iter().position(|&b| b == b'\n') {
            Some(at) => (&rest[..at], &rest[at + 1..]),
            None => (rest, &[]),
        }
    } else {
        (TYPES[usize::from(selector) % TYPES.len()].as_bytes(), rest)
    };
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(content_type) {
        headers.insert(CONTENT_TYPE, value);
    }
    let req = Request {
        path_params: &[],
        query: None,
        headers: &headers,
        body: Some(body),
    };
    for contract in [&*DEFAULT, &*SMALL] {
        let first = contract.validate(&req);
        assert_eq!(first, contract.validate(&req), "not deterministic");
        if let Err(Invalid::Violations(violations)) = &first {
            assert!(!violations.is_empty(), "refused without a violation");
        }
    }
});
