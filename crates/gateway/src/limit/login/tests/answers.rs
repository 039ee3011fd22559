//! How the upstream's answer is read: failure statuses, the failure text in a
//! body (searched within 64 KiB, in linear time), bodies passed on intact, and
//! answers that say neither.

use bytes::Bytes;
use http::{HeaderMap, Response};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};

use super::{FAILED, Fixture, LOCKED_USER, Who, answer};
use crate::body::{self, Body};
use crate::limit::login::outcome::{MAX_READ, Needle};
use crate::problem::Reject;

const RULES: &str = "      - operation: login\n        username: /username\n\
                     \x20       delay: {base: 0ms, max: 0ms}\n        uniform: {bucket: 10ms}\n\
                     \x20       per_username: {failures: 2, window: 1m}\n\
                     \x20       failure: {status: [401, 403], body_contains: invalid credentials}\n";

/// Sends one attempt of `user` and answers it with `resp`.
async fn through(f: &Fixture, user: &str, resp: Response<Body>) -> Result<Response<Body>, Reject> {
    let body = format!(r#"{{"username":"{user}"}}"#);
    let who = Who {
        api: "bank",
        client_ip: "192.0.2.1".parse().unwrap(),
        body: body.as_bytes(),
    };
    let a = f.rule().before(&f.store, who, &f.metrics).await?;
    f.rule().after(&f.store, a, resp, &f.metrics).await
}

/// A body sent in chunks, with trailers.
fn chunked(chunks: Vec<Bytes>, trailers: Option<HeaderMap>) -> Body {
    let frames = chunks
        .into_iter()
        .map(Frame::data)
        .chain(trailers.map(Frame::trailers))
        .map(Ok::<_, std::convert::Infallible>);
    body::boxed(StreamBody::new(futures_util::stream::iter(frames)))
}

#[tokio::test]
async fn statuses_and_body_text_make_failures() {
    let f = Fixture::new(RULES);
    assert_eq!(through(&f, "a", answer(403, "")).await.unwrap_err(), FAILED);
    let r = through(&f, "b", answer(200, r#"{"error":"invalid credentials"}"#)).await;
    assert_eq!(r.unwrap_err(), FAILED, "a 200 that says so is a failure");
    let r = through(&f, "c", answer(400, "invalid credentials for this user")).await;
    assert_eq!(r.unwrap_err(), FAILED);
    // The text in another status class is not looked for.
    let r = through(&f, "d", answer(302, "invalid credentials"))
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let ok = through(&f, "e", answer(200, r#"{"token":"t"}"#))
        .await
        .unwrap();
    assert_eq!(
        ok.into_body().collect().await.unwrap().to_bytes(),
        r#"{"token":"t"}"#
    );
    assert_eq!(f.events("failure"), 3);
    assert_eq!(f.events("success"), 2);
}

#[tokio::test]
async fn the_body_to_search_is_asked_for_uncompressed() {
    let f = Fixture::new(RULES);
    let body = r#"{"username":"a"}"#;
    let a = f
        .rule()
        .before(&f.store, super::who(body), &f.metrics)
        .await
        .unwrap();
    let headers = a.upstream_headers();
    assert_eq!(headers.len(), 1);
    assert_eq!(headers[0].0, http::header::ACCEPT_ENCODING);
    assert_eq!(headers[0].1, "identity");
}

#[tokio::test]
async fn a_body_read_for_the_text_is_passed_on_whole_with_its_trailers() {
    let f = Fixture::new(RULES);
    let mut t = HeaderMap::new();
    t.insert("x-checksum", "abc".parse().unwrap());
    let parts = vec![
        Bytes::from_static(b"{\"wel"),
        Bytes::from_static(b"come\":true}"),
    ];
    let resp = Response::new(chunked(parts, Some(t)));
    let collected = through(&f, "a", resp)
        .await
        .unwrap()
        .into_body()
        .collect()
        .await
        .unwrap();
    assert_eq!(collected.trailers().unwrap()["x-checksum"], "abc");
    assert_eq!(collected.to_bytes(), "{\"welcome\":true}");
}

#[tokio::test]
async fn a_body_over_64_kib_is_no_match_and_goes_on_intact() {
    let f = Fixture::new(RULES);
    // The failure text sits past the first 64 KiB: not searched for.
    let mut whole = vec![b'x'; MAX_READ + 100];
    whole.extend_from_slice(b"invalid credentials");
    whole.extend(std::iter::repeat_n(b'y', 50_000));
    let chunks: Vec<Bytes> = whole.chunks(7000).map(Bytes::copy_from_slice).collect();
    let resp = through(&f, "a", Response::new(chunked(chunks, None)))
        .await
        .unwrap();
    assert_eq!(resp.into_body().collect().await.unwrap().to_bytes(), whole);
    // A declared length over the limit is not read at all.
    let resp = Response::builder()
        .header("content-length", whole.len())
        .body(body::full(whole.clone()))
        .unwrap();
    let resp = through(&f, "b", resp).await.unwrap();
    assert_eq!(resp.into_body().collect().await.unwrap().to_bytes(), whole);
}

#[tokio::test]
async fn answers_that_cannot_be_told_stay_counted_and_lock_at_the_threshold() {
    let f = Fixture::new(RULES);
    // A compressed body cannot be searched for the text; a 5xx is no verdict.
    let gzip = || {
        Response::builder()
            .header("content-encoding", "gzip")
            .body(body::full("\x1f\u{8b}..."))
            .unwrap()
    };
    assert_eq!(through(&f, "a", gzip()).await.unwrap().status(), 200);
    assert_eq!(
        through(&f, "a", answer(502, "")).await.unwrap().status(),
        502
    );
    // Two attempts charged to `a`, none cleared: it is locked.
    assert_eq!(
        through(&f, "a", answer(200, "")).await.unwrap_err(),
        LOCKED_USER
    );
    assert_eq!(f.events("inconclusive"), 2);
    assert_eq!(f.events("locked"), 1);
}

#[tokio::test]
async fn the_upstreams_failure_words_never_reach_the_client() {
    let f = Fixture::new(RULES);
    let a = through(&f, "a", answer(401, "no such user"))
        .await
        .unwrap_err();
    let b = through(&f, "b", answer(401, "wrong password for b"))
        .await
        .unwrap_err();
    assert_eq!(a, b);
    let doc = crate::problem::document(&a, "r");
    assert!(!doc.contains("no such user") && !doc.contains("wrong password"));
}

#[test]
fn the_text_search_agrees_with_a_naive_one() {
    // Every needle and haystack over a two-letter alphabet up to a length:
    // overlapping prefixes are where a hand-written search goes wrong.
    let words = |max: usize| {
        let mut all = vec![Vec::new()];
        for len in 1..=max {
            for bits in 0..(1u32 << len) {
                all.push(
                    (0..len)
                        .map(|i| if bits >> i & 1 == 1 { b'a' } else { b'b' })
                        .collect(),
                );
            }
        }
        all
    };
    let needles = words(5);
    let hays = words(9);
    for n in needles.iter().filter(|n| !n.is_empty()) {
        let needle = Needle::new(n);
        for h in &hays {
            let naive = h.windows(n.len()).any(|w| w == n.as_slice());
            assert_eq!(needle.found_in(h), naive, "{n:?} in {h:?}");
        }
    }
    // Long and adversarial: linear, so this is quick.
    let needle = Needle::new(&[b"a".repeat(1000), b"b".to_vec()].concat());
    assert!(!needle.found_in(&b"a".repeat(MAX_READ)));
}
