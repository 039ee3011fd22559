//! Unit tests of CORS: origins as browsers serialize them, preflight answers,
//! the headers of other responses.

use http::Method;
use http::header::{self, HeaderMap, HeaderValue};

use super::config::origin;
use super::{Cors, Origins, add_vary, strip_upstream};

fn cors(origins: Origins, credentials: bool, methods: Option<Vec<Method>>) -> Cors {
    Cors {
        origins,
        allow_methods: methods
            .as_ref()
            .map(|m| HeaderValue::from_static(if m.len() == 1 { "GET" } else { "GET, POST" })),
        methods,
        headers: vec!["authorization".into(), "content-type".into()],
        allow_headers: Some(HeaderValue::from_static("authorization, content-type")),
        expose_headers: Some(HeaderValue::from_static("x-request-id")),
        credentials,
        max_age: HeaderValue::from_static("600"),
    }
}

fn app() -> Origins {
    Origins::List(vec!["https://app.example.com".into()])
}

fn asking(headers: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        header::ACCESS_CONTROL_REQUEST_HEADERS,
        HeaderValue::from_str(headers).unwrap(),
    );
    h
}

#[test]
fn origins_are_canonical() {
    assert_eq!(
        origin("HTTPS://App.Example.COM:443").unwrap(),
        "https://app.example.com"
    );
    assert_eq!(
        origin("http://localhost:3000").unwrap(),
        "http://localhost:3000"
    );
    assert_eq!(origin("http://a.example:80").unwrap(), "http://a.example");
    assert_eq!(origin("https://[::1]:8443").unwrap(), "https://[::1]:8443");
    for bad in [
        "https://a.example/",
        "https://a.example/app",
        "https://*.example.com",
        "https://u:p@a.example",
        "a.example",
        "null",
        "file://x",
        "https://",
        "https://a.example?x",
    ] {
        assert!(origin(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_preflight_from_an_allowed_origin_is_answered() {
    let c = cors(app(), true, None);
    let o = HeaderValue::from_static("https://app.example.com");
    let resp = c
        .answer(&o, &Method::DELETE, &asking("Content-Type , authorization"))
        .unwrap();
    let h = resp.headers();
    assert_eq!(resp.status(), 204);
    assert_eq!(
        h[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example.com"
    );
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_METHODS], "DELETE");
    assert_eq!(h[header::ACCESS_CONTROL_MAX_AGE], "600");
    assert_eq!(h.get_all(header::VARY).iter().count(), 3);
}

#[test]
fn preflights_outside_the_rules_are_refused() {
    let c = cors(app(), true, Some(vec![Method::GET]));
    let app = HeaderValue::from_static("https://app.example.com");
    let evil = HeaderValue::from_static("https://evil.example");
    let none = HeaderMap::new();
    assert_eq!(
        c.answer(&evil, &Method::GET, &none).unwrap_err(),
        "origin not allowed"
    );
    assert_eq!(
        c.answer(&app, &Method::POST, &none).unwrap_err(),
        "method not allowed"
    );
    assert_eq!(
        c.answer(&app, &Method::GET, &asking("authorization, x-admin"))
            .unwrap_err(),
        "header not allowed"
    );
    let many = vec!["authorization"; 65].join(",");
    assert_eq!(
        c.answer(&app, &Method::GET, &asking(&many)).unwrap_err(),
        "header not allowed"
    );
    assert!(c.answer(&app, &Method::GET, &asking(" , ")).is_ok());
}

#[test]
fn other_responses_get_the_origin_only_when_allowed() {
    let c = cors(app(), true, None);
    let mut h = HeaderMap::new();
    c.finish(
        &mut h,
        Some(&HeaderValue::from_static("https://evil.example")),
    );
    assert!(h.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    assert!(h.get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS).is_none());
    assert_eq!(h[header::VARY], "origin");

    let mut h = HeaderMap::new();
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept-Encoding, Origin"),
    );
    let o = HeaderValue::from_static("https://app.example.com");
    c.finish(&mut h, Some(&o));
    c.finish(&mut h, Some(&o));
    assert_eq!(
        h[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example.com"
    );
    assert_eq!(h[header::ACCESS_CONTROL_EXPOSE_HEADERS], "x-request-id");
    assert_eq!(
        h.get_all(header::VARY).iter().count(),
        1,
        "Origin is there already"
    );

    let any = cors(Origins::Any, false, None);
    let mut h = HeaderMap::new();
    any.finish(&mut h, Some(&o));
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert!(h.get(header::VARY).is_none());
    assert!(h.get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS).is_none());
}

#[test]
fn the_upstreams_cors_headers_are_dropped() {
    let mut h = HeaderMap::new();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    strip_upstream(&mut h);
    assert_eq!(h.len(), 1);
    let mut v = HeaderMap::new();
    v.insert(header::VARY, HeaderValue::from_static("*"));
    add_vary(&mut v, "origin");
    assert_eq!(v.len(), 1);
}
