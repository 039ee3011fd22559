//! HTTP/2 limits: the header list size and the number of concurrent streams.

use std::time::{Duration, Instant};

use super::limited;
use crate::support::*;

// HTTP/2 ----------------------------------------------------------------------------

fn h2_client() -> reqwest::Client {
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_h2_header_list_over_max_header_bytes_is_refused() {
    let up = upstream().await;
    let gw = limited(&up, "max_header_bytes: 2KiB, max_uri_bytes: 1KiB").await;
    let c = h2_client();
    let resp = c.get(format!("{}/items", gw.url)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    up.seen.lock().unwrap().clear();
    let big = "a".repeat(3 * 1024);
    match c
        .get(format!("{}/items", gw.url))
        .header("x-big", &big)
        .send()
        .await
    {
        Ok(resp) => assert_eq!(resp.status(), 431),
        Err(e) => assert!(!e.is_timeout(), "refused, not hung: {e}"),
    }
    // Many headers whose sum passes the limit.
    let mut req = c.get(format!("{}/items", gw.url));
    for i in 0..30 {
        req = req.header(format!("x-part-{i}"), "b".repeat(90));
    }
    match req.send().await {
        Ok(resp) => assert_eq!(resp.status(), 431),
        Err(e) => assert!(!e.is_timeout(), "refused, not hung: {e}"),
    }
    assert!(up.requests().is_empty(), "{:?}", up.requests());
}

#[tokio::test]
async fn h2_streams_beyond_max_concurrent_streams_wait_their_turn() {
    let up = upstream().await;
    let gw = limited(&up, "max_concurrent_streams: 2").await;
    let c = h2_client();
    // One request first, so the client has the server's SETTINGS before the burst.
    let resp = c.get(format!("{}/items", gw.url)).send().await.unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    let start = Instant::now();
    let burst = (0..6).map(|_| {
        let c = c.clone();
        let url = format!("{}/slow/300", gw.url);
        async move { c.get(url).send().await.map(|r| r.status().as_u16()) }
    });
    let statuses = futures_util::future::join_all(burst).await;
    let took = start.elapsed();
    for s in &statuses {
        assert_eq!(s.as_ref().ok(), Some(&200), "{statuses:?}");
    }
    // Six 300 ms requests, two at a time: at least three rounds.
    assert!(
        took >= Duration::from_millis(850),
        "{took:?}: more than 2 streams ran at once"
    );
}
