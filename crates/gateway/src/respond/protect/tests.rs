//! Unit tests of response protection: field pointers, redaction walks, the
//! capped body.

use bytes::Bytes;
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use serde_json::{Value, json};

use super::capped::Capped;
use super::redact::{Action, FieldPattern, Redaction};
use crate::body;

fn fields(action: Action, pointers: &[&str]) -> Redaction {
    Redaction {
        redactor: None,
        fields: pointers
            .iter()
            .map(|p| FieldPattern::parse(p).unwrap())
            .collect(),
        action,
    }
}

fn apply(r: &Redaction, mut v: Value) -> (Value, Vec<(&'static str, String)>) {
    let mut found = Vec::new();
    let changed = r.apply(&mut v, &mut found);
    assert_eq!(changed, !found.is_empty());
    (v, found)
}

#[test]
fn pointers_parse_with_wildcards_and_escapes() {
    assert!(FieldPattern::parse("/a/*/b").is_ok());
    assert!(FieldPattern::parse("a/b").is_err());
    assert!(FieldPattern::parse("/a~2").is_err());
    let r = fields(Action::Remove, &["/a~1b/c~0d"]);
    let (v, found) = apply(&r, json!({"a/b": {"c~d": 1, "e": 2}}));
    assert_eq!(v, json!({"a/b": {"e": 2}}));
    assert_eq!(found, [("redact:field", "/a~1b/c~0d".to_owned())]);
}

#[test]
fn wildcards_match_array_items_and_object_keys() {
    let r = fields(Action::Remove, &["/accounts/*/iban", "/by_id/*/secret"]);
    let (v, found) = apply(
        &r,
        json!({
            "accounts": [{"iban": "X", "id": 1}, {"id": 2}, {"iban": "Y"}],
            "by_id": {"a": {"secret": 1, "k": 2}, "b": {"secret": 3}},
            "iban": "top-level stays"
        }),
    );
    assert_eq!(
        v,
        json!({
            "accounts": [{"id": 1}, {"id": 2}, {}],
            "by_id": {"a": {"k": 2}, "b": {}},
            "iban": "top-level stays"
        })
    );
    let pointers: Vec<&str> = found.iter().map(|(_, p)| p.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "/accounts/0/iban",
            "/accounts/2/iban",
            "/by_id/a/secret",
            "/by_id/b/secret"
        ]
    );
}

#[test]
fn masking_replaces_any_value_and_removal_of_array_items_keeps_the_rest_in_order() {
    let r = fields(Action::Mask, &["/card", "/nested/obj"]);
    let (v, _) = apply(
        &r,
        json!({"card": 4111, "nested": {"obj": {"a": 1}}, "x": 1}),
    );
    assert_eq!(
        v,
        json!({"card": "[redacted]", "nested": {"obj": "[redacted]"}, "x": 1})
    );
    let r = fields(Action::Remove, &["/list/1", "/list/3"]);
    let (v, found) = apply(&r, json!({"list": ["a", "b", "c", "d", "e"]}));
    assert_eq!(v, json!({"list": ["a", "c", "e"]}));
    assert_eq!(found.len(), 2);
}

#[test]
fn nothing_configured_matches_nothing() {
    let r = fields(Action::Remove, &["/a/b"]);
    let original = json!({"a": [{"b": 1}], "b": 2, "c": {"a": {"b": 3}}});
    let (v, found) = apply(&r, original.clone());
    assert_eq!(v, original);
    assert!(found.is_empty());
}

#[tokio::test]
async fn a_capped_body_fails_past_the_limit_and_counts_once() {
    let counted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = (0..4)
        .map(|_| Ok(Frame::data(Bytes::from_static(&[b'x'; 100]))))
        .collect();
    let inner = body::boxed(StreamBody::new(futures_util::stream::iter(frames)));
    let c = counted.clone();
    let capped = Capped::new(
        inner,
        250,
        true,
        Box::new(move || {
            c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }),
    );
    let mut b = body::boxed(capped);
    let mut passed = 0;
    let mut failed = false;
    while let Some(f) = b.frame().await {
        match f {
            Ok(f) => passed += f.data_ref().map_or(0, Bytes::len),
            Err(e) => {
                assert_eq!(e.to_string(), "response too large");
                failed = true;
                break;
            }
        }
    }
    assert!(failed);
    assert_eq!(passed, 200);
    assert_eq!(counted.load(std::sync::atomic::Ordering::Relaxed), 1);
}

#[tokio::test]
async fn a_capped_body_in_monitor_mode_passes_everything_and_counts_once() {
    let counted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = (0..4)
        .map(|_| Ok(Frame::data(Bytes::from_static(&[b'x'; 100]))))
        .collect();
    let inner = body::boxed(StreamBody::new(futures_util::stream::iter(frames)));
    let c = counted.clone();
    let capped = Capped::new(
        inner,
        150,
        false,
        Box::new(move || {
            c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }),
    );
    let all = body::boxed(capped).collect().await.unwrap().to_bytes();
    assert_eq!(all.len(), 400);
    assert_eq!(counted.load(std::sync::atomic::Ordering::Relaxed), 1);
}
