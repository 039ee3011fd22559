//! Request validation through the public API: parameters in their styles,
//! bodies by media type, limits, and the bank example spec.

use std::path::Path;

use http::{HeaderMap, HeaderValue};
use portcullis_openapi::validate::{
    ContentType, Contract, Invalid, Limits, Options, Request, Validated,
};
use portcullis_openapi::{Spec, parse};

const SPEC: &str = r##"
openapi: 3.1.0
info: {title: t, version: '1'}
paths:
  /items/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer}}
      - {name: trace, in: header, schema: {type: string}}
    get:
      operationId: getItem
      parameters:
        - {name: trace, in: header, schema: {type: string, format: uuid}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 100}}
        - {name: tags, in: query, schema: {type: array, items: {type: string, enum: [a, b, c]}}}
        - {name: ids, in: query, style: pipeDelimited, explode: false, schema: {type: array, items: {type: integer}}}
        - {name: filter, in: query, style: deepObject, schema: {type: object, properties: {min: {type: number}, q: {type: string}}}}
        - {name: q, in: query, required: true, schema: {type: string, maxLength: 20}}
        - {name: flag, in: query, allowEmptyValue: true, schema: {type: boolean}}
        - {name: session, in: cookie, required: true, schema: {type: string, pattern: '^[a-f0-9]{8}$'}}
        - {name: where, in: query, content: {application/json: {schema: {type: object, required: [a], properties: {a: {type: integer}}}}}}
        - $ref: '#/components/parameters/Color'
      responses:
        '200': {description: ok}
  /things:
    post:
      operationId: postThing
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Thing'}
          application/x-www-form-urlencoded:
            schema: {$ref: '#/components/schemas/Form'}
          multipart/form-data:
            schema: {$ref: '#/components/schemas/Upload'}
          text/*: {}
      responses:
        '201': {description: ok}
  /any:
    put:
      operationId: putAny
      requestBody:
        content:
          application/*:
            schema: {type: object, required: [x]}
      responses:
        '204': {description: ok}
components:
  parameters:
    Color:
      {name: color, in: header, schema: {type: array, items: {type: string}}}
  schemas:
    Thing:
      type: object
      required: [name]
      properties:
        id: {type: string, readOnly: true}
        name: {type: string}
        kind: {type: string, enum: [x, y]}
        when: {type: string, format: date-time}
        parts: {type: array, items: {$ref: '#/components/schemas/Thing'}}
    Form:
      type: object
      required: [n]
      properties:
        n: {type: integer}
        tag: {type: array, items: {type: string}}
        note: {type: string}
    Upload:
      type: object
      required: [title, file]
      properties:
        title: {type: string}
        count: {type: integer}
        file: {type: string, format: binary}
"##;

fn spec() -> Spec {
    parse(SPEC, Path::new("t.yaml")).unwrap_or_else(|e| panic!("{e}"))
}

fn contract(spec: &Spec, id: &str, options: &Options) -> Contract {
    let op = spec
        .operations
        .iter()
        .find(|o| o.operation_id.as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no {id}"));
    Contract::compile(spec, op, options).unwrap_or_else(|e| panic!("{e}"))
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.append(
            *k,
            HeaderValue::from_str(v).unwrap_or_else(|e| panic!("{e}")),
        );
    }
    map
}

fn violations(result: Result<Validated, Invalid>) -> Vec<(String, String)> {
    match result {
        Err(Invalid::Violations(v)) => v.into_iter().map(|v| (v.pointer, v.reason)).collect(),
        other => panic!("expected violations, got {other:?}"),
    }
}

fn get(c: &Contract, id: &str, query: &str, h: &HeaderMap) -> Result<Validated, Invalid> {
    let path = [("id", id)];
    c.validate(&Request {
        path_params: &path,
        query: Some(query),
        headers: h,
        body: None,
    })
}

fn v(pointer: &str, reason: &str) -> (String, String) {
    (pointer.into(), reason.into())
}

fn texts(ok: &Validated) -> Vec<(&str, &str, bool)> {
    ok.values
        .iter()
        .map(|v| (v.pointer.as_str(), v.text.as_str(), v.typed))
        .collect()
}

#[test]
fn parameters_in_their_styles_are_coerced_and_validated() {
    let s = spec();
    let c = contract(&s, "getItem", &Options::default());
    let h = headers(&[
        ("cookie", "a=1; session=deadbeef"),
        ("trace", "6f1c9b5e-2a7d-4d3e-9f0a-1b2c3d4e5f60"),
        ("color", "red, blue"),
    ]);
    let query = "q=hello+world&limit=10&tags=a&tags=b&ids=1|2&filter[min]=1.5&filter[q]=x&flag=&where=%7B%22a%22%3A1%7D";
    let ok = get(&c, "42", query, &h).unwrap_or_else(|e| panic!("{e:?}"));
    let got = texts(&ok);
    for expected in [
        ("/path/id", "42", true),
        (
            "/header/trace",
            "6f1c9b5e-2a7d-4d3e-9f0a-1b2c3d4e5f60",
            true,
        ),
        ("/query/limit", "10", true),
        ("/query/tags/1", "b", true),
        ("/query/ids/1", "2", true),
        ("/query/filter/min", "1.5", true),
        ("/query/filter/q", "x", false),
        ("/query/q", "hello world", false),
        ("/cookie/session", "deadbeef", false),
        ("/query/where", "{\"a\":1}", false),
        ("/header/color/1", "blue", false),
    ] {
        assert!(got.contains(&expected), "{expected:?} not in {got:?}");
    }

    let bad = get(
        &c,
        "x1",
        "limit=abc&tags=d&ids=1|zz&filter[min]=low&q=ok&where=%7B%7D",
        &headers(&[("trace", "nope")]),
    );
    assert_eq!(
        violations(bad),
        [
            v("/path/id", "must be an integer"),
            v("/header/trace", "must be a valid uuid"),
            v("/query/limit", "must be an integer"),
            v("/query/tags/0", "must be one of the allowed values"),
            v("/query/ids/1", "must be an integer"),
            v("/query/filter/min", "must be a number"),
            v("/cookie/session", "is required"),
            v("/query/where/a", "is required"),
        ]
    );
    let h = headers(&[("cookie", "session=deadbeef")]);
    assert_eq!(
        violations(get(&c, "1", "limit=0", &h)),
        [
            v("/query/limit", "must be at least 1"),
            v("/query/q", "is required")
        ]
    );
    assert_eq!(
        violations(get(&c, "1", "q=a&q=b", &h)),
        [v("/query/q", "is repeated")]
    );
}

#[test]
fn unknown_query_parameters() {
    let s = spec();
    let h = headers(&[("cookie", "session=deadbeef")]);
    let lenient = contract(&s, "getItem", &Options::default());
    let ok = get(&lenient, "1", "q=a&debug=1%27", &h).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(texts(&ok).contains(&("/query/debug", "1'", false)));
    let strict = contract(
        &s,
        "getItem",
        &Options {
            reject_unknown_query: true,
            ..Options::default()
        },
    );
    assert_eq!(
        violations(get(&strict, "1", "q=a&debug=1&%3Cscript%3E=1", &h)),
        [
            v("/query/debug", "is not a parameter of this operation"),
            v("/query/*", "is not a parameter of this operation"),
        ]
    );
}

fn post(c: &Contract, content_type: Option<&str>, body: &[u8]) -> Result<Validated, Invalid> {
    let mut h = HeaderMap::new();
    if let Some(ct) = content_type {
        h.insert(
            "content-type",
            HeaderValue::from_str(ct).unwrap_or_else(|e| panic!("{e}")),
        );
    }
    c.validate(&Request {
        path_params: &[],
        query: None,
        headers: &h,
        body: Some(body),
    })
}

const JSON: Option<&str> = Some("application/json");

#[test]
fn json_bodies() {
    let s = spec();
    let c = contract(&s, "postThing", &Options::default());
    assert!(c.needs_body());
    let ok = post(
        &c,
        Some("application/json; charset=utf-8"),
        br#"{"name":"n","kind":"x","parts":[{"name":"p"}]}"#,
    );
    let ok = ok.unwrap_or_else(|e| panic!("{e:?}"));
    let shape = ok.json_shape.clone().unwrap_or_else(|| panic!("no shape"));
    assert!(shape.property("kind").is_typed());
    assert!(shape.property("when").is_typed());
    assert!(!shape.property("name").is_typed());
    assert!(shape.property("parts").item().property("kind").is_typed());
    assert_eq!(
        ok.json.map(|j| j["parts"][0]["name"].clone()),
        Some("p".into())
    );

    let marked = post(&c, JSON, br#"{"id":"x","name":"n","when":"MARKER"}"#);
    assert_eq!(
        violations(marked),
        [
            v("/body/id", "is read-only"),
            v("/body/when", "must be a valid date-time")
        ]
    );
    assert_eq!(
        violations(post(&c, JSON, br#"{"name":"a","name":"b"}"#)),
        [v("/body", "has an object with a duplicate key")]
    );
    assert_eq!(
        violations(post(&c, JSON, b"{\"name\": MARKER}")),
        [v("/body", "is not valid JSON (line 1, column 10)")]
    );
    assert_eq!(violations(post(&c, None, b"")), [v("/body", "is required")]);
}

#[test]
fn media_types_outside_the_spec_are_415() {
    let s = spec();
    let c = contract(&s, "postThing", &Options::default());
    let unsupported = |r: Result<Validated, Invalid>| matches!(r, Err(Invalid::UnsupportedMediaType { accepted }) if accepted.contains(&"text/*".to_owned()));
    assert!(unsupported(post(&c, Some("application/xml"), b"<a/>")));
    assert!(unsupported(post(&c, None, b"{}")));
    assert!(post(&c, Some("TEXT/Plain; charset=x"), b"anything").is_ok());
    let any = contract(&s, "putAny", &Options::default());
    assert!(post(&any, Some("application/vnd.x+json"), br#"{"x":1}"#).is_ok());
    assert_eq!(
        violations(post(&any, Some("application/merge-patch+json"), b"{}")),
        [v("/body/x", "is required")]
    );
    assert!(matches!(
        post(&any, Some("text/plain"), b"{}"),
        Err(Invalid::UnsupportedMediaType { .. })
    ));
    let h = HeaderMap::new();
    assert!(
        any.validate(&Request {
            path_params: &[],
            query: None,
            headers: &h,
            body: None
        })
        .is_ok()
    );
}

#[test]
fn form_bodies() {
    let s = spec();
    let c = contract(&s, "postThing", &Options::default());
    let ct = Some("application/x-www-form-urlencoded");
    let ok = post(&c, ct, b"n=5&tag=a&tag=b+c&note=hi%21").unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        texts(&ok),
        [
            ("/body/n", "5", true),
            ("/body/tag", "a", false),
            ("/body/tag", "b c", false),
            ("/body/note", "hi!", false)
        ]
    );
    assert_eq!(
        violations(post(&c, ct, b"n=five")),
        [v("/body/n", "must be an integer")]
    );
    assert_eq!(
        violations(post(&c, ct, b"n=1&note=a&note=b")),
        [v("/body/note", "is repeated")]
    );
    assert_eq!(
        violations(post(&c, ct, b"note=a")),
        [v("/body/n", "is required")]
    );
}

#[test]
fn multipart_bodies() {
    let s = spec();
    let c = contract(&s, "postThing", &Options::default());
    let ct = Some("multipart/form-data; boundary=XX");
    let body = b"--XX\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nHello\r\n--XX\r\n\
Content-Disposition: form-data; name=\"count\"\r\n\r\n3\r\n--XX\r\n\
Content-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n\xff\xfe\r\n--XX--\r\n";
    let ok = post(&c, ct, body).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        texts(&ok),
        [("/body/title", "Hello", false), ("/body/count", "3", true)]
    );
    let bad = b"--XX\r\nContent-Disposition: form-data; name=\"count\"\r\n\r\nmany\r\n--XX--";
    assert_eq!(
        violations(post(&c, ct, bad)),
        [v("/body/count", "must be an integer")]
    );
    assert_eq!(
        violations(post(&c, Some("multipart/form-data"), bad)),
        [v("/body", "has no multipart boundary")]
    );
}

#[test]
fn limits_are_enforced_while_parsing() {
    let s = spec();
    let limits = Limits {
        max_depth: 4,
        max_string_bytes: 16,
        max_array_items: 3,
        max_properties: 4,
        max_parts: 1,
    };
    let c = contract(
        &s,
        "postThing",
        &Options {
            limits,
            ..Options::default()
        },
    );
    let deep = br#"{"name":"n","parts":[{"parts":[{"parts":[{}]}]}]}"#;
    assert_eq!(
        violations(post(&c, JSON, deep)),
        [v("/body", "nests deeper than 4")]
    );
    assert_eq!(
        violations(post(&c, JSON, br#"{"name":"01234567890123456"}"#)),
        [v("/body", "has a string longer than 16 bytes")]
    );
    assert_eq!(
        violations(post(&c, JSON, br#"{"name":"n","parts":[{},{},{},{}]}"#)),
        [v("/body", "has an array of more than 3 items")]
    );
    assert_eq!(
        violations(post(&c, JSON, br#"{"a":1,"b":2,"c":3,"d":4,"e":5}"#)),
        [v("/body", "has an object of more than 4 properties")]
    );
    let two = b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n1\r\n--b--";
    assert_eq!(
        violations(post(&c, Some("multipart/form-data; boundary=b"), two)),
        [v("/body", "has too many parts")]
    );
}

#[test]
fn strict_mode_refuses_mass_assignment() {
    let s = spec();
    let c = contract(
        &s,
        "postThing",
        &Options {
            strict: true,
            ..Options::default()
        },
    );
    assert_eq!(
        violations(post(&c, JSON, br#"{"name":"n","isAdmin":true}"#)),
        [v("/body/isAdmin", "is not allowed by the schema")]
    );
    assert_eq!(
        violations(post(
            &c,
            JSON,
            br#"{"name":"n","parts":[{"name":"m","role":1}]}"#
        )),
        [v("/body/parts/0/role", "is not allowed by the schema")]
    );
}

#[test]
fn the_bank_spec() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/bank/openapi.yaml");
    let s = portcullis_openapi::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let options = Options {
        strict: true,
        ..Options::default()
    };
    for op in &s.operations {
        Contract::compile(&s, op, &options).unwrap_or_else(|e| panic!("{e}"));
    }
    let transfer = contract(&s, "createTransfer", &options);
    assert!(
        post(
            &transfer,
            JSON,
            br#"{"from":"acc-0001","to":"acc-0002","amount_cents":100}"#
        )
        .is_ok()
    );
    let mut got = violations(post(
        &transfer,
        JSON,
        br#"{"from":"acc-1","to":"acc-0002","amount_cents":0,"x":1}"#,
    ));
    got.sort();
    assert_eq!(
        got,
        [
            v("/body/amount_cents", "must be at least 1"),
            v("/body/from", "must match the pattern `^acc-[0-9]{4}$`"),
            v("/body/x", "is not allowed by the schema"),
        ]
    );
    let account = contract(&s, "getAccount", &options);
    let h = HeaderMap::new();
    let path = [("accountId", "acc-12")];
    assert_eq!(
        violations(account.validate(&Request {
            path_params: &path,
            query: None,
            headers: &h,
            body: None
        })),
        [v(
            "/path/accountId",
            "must match the pattern `^acc-[0-9]{4}$`"
        )]
    );
    let rules = account.responses();
    assert_eq!(
        rules.check_content_type(200, Some("application/json")),
        ContentType::Declared
    );
    assert_eq!(
        rules.check_content_type(200, Some("text/html")),
        ContentType::Contradicts
    );
    let mut account_json = serde_json::json!({"id": "acc-0001", "owner": "u-1", "type": "checking",
        "iban": "x", "balance_cents": 1, "currency": "EUR", "pin": "1234"});
    assert_eq!(
        rules.strip(200, Some("application/json"), &mut account_json, true),
        ["/pin"]
    );
}

#[test]
fn contracts_are_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Contract>();
}
