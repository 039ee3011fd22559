//! Size and count limits: header section, request target, body, connections, defaults.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::{
    GET_ITEMS, assert_raw_problem, assert_refused, limited, read_response, read_until_close,
    responses_in, status_closing,
};
use crate::support::*;

// Header size and count -------------------------------------------------------------

#[tokio::test]
async fn a_header_section_over_max_header_bytes_is_431() {
    let up = upstream().await;
    let gw = limited(&up, "max_header_bytes: 2KiB, max_uri_bytes: 1KiB").await;
    // Within the limit: served.
    let ok = format!(
        "GET /items HTTP/1.1\r\nHost: x\r\nX-Fits: {}\r\n\r\n",
        "a".repeat(1024)
    );
    assert_eq!(status_closing(gw.addr, ok.as_bytes()).await, 200);
    assert_eq!(up.requests().len(), 1);
    up.seen.lock().unwrap().clear();
    // A 3 KiB header, all at once.
    let big = format!(
        "GET /items HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(3 * 1024)
    );
    let out = raw(gw.addr, big.as_bytes()).await;
    assert_raw_problem(&out, 431, "header-fields-too-large");
    // Many headers that together pass the limit.
    let mut many = String::from("GET /items HTTP/1.1\r\nHost: x\r\n");
    for i in 0..30 {
        many.push_str(&format!("X-Part-{i}: {}\r\n", "b".repeat(90)));
    }
    many.push_str("\r\n");
    let out = raw(gw.addr, many.as_bytes()).await;
    assert_raw_problem(&out, 431, "header-fields-too-large");
    assert!(up.requests().is_empty());
}

#[tokio::test]
async fn a_header_section_that_grows_without_end_is_431_before_it_completes() {
    let up = upstream().await;
    let gw = limited(
        &up,
        "max_header_bytes: 2KiB, max_uri_bytes: 1KiB, header_timeout: 2s",
    )
    .await;
    let start = Instant::now();
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    let mut head = String::from("GET /items HTTP/1.1\r\nHost: x\r\n");
    for i in 0..40 {
        head.push_str(&format!("X-More-{i}: {}\r\n", "c".repeat(80)));
    }
    // No blank line: the head never completes.
    let _ = s.write_all(head.as_bytes()).await;
    let (out, closed) = read_until_close(&mut s, Duration::from_secs(3)).await;
    assert!(closed, "closed after the 431");
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "refused on size, not on time"
    );
    assert_raw_problem(&out, 431, "header-fields-too-large");
    assert!(up.requests().is_empty());
}

#[tokio::test]
async fn more_headers_than_max_headers_is_431() {
    let up = upstream().await;
    let gw = limited(&up, "max_headers: 10").await;
    let mut req = String::from("GET /items HTTP/1.1\r\nHost: x\r\n");
    for i in 0..20 {
        req.push_str(&format!("X-H{i}: v\r\n"));
    }
    req.push_str("\r\n");
    let out = raw(gw.addr, req.as_bytes()).await;
    assert_refused(&out, 431, "20 headers over a limit of 10");
    assert!(up.requests().is_empty());
    // At the limit (Host, 8 more and the Connection header added): served.
    let mut req = String::from("GET /items HTTP/1.1\r\nHost: x\r\n");
    for i in 0..8 {
        req.push_str(&format!("X-H{i}: v\r\n"));
    }
    req.push_str("\r\n");
    assert_eq!(status_closing(gw.addr, req.as_bytes()).await, 200);
}

// Request-target length -------------------------------------------------------------

#[tokio::test]
async fn a_request_target_over_max_uri_bytes_is_414() {
    let up = upstream().await;
    let gw = limited(&up, "max_uri_bytes: 1KiB").await;
    let req = format!(
        "GET /items?q={} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(2000)
    );
    let out = raw(gw.addr, req.as_bytes()).await;
    assert_raw_problem(&out, 414, "uri-too-long");
    // A request line that never ends is refused on its length, before any timeout.
    let start = Instant::now();
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    let _ = s
        .write_all(format!("GET /items?q={}", "a".repeat(3000)).as_bytes())
        .await;
    let (out, closed) = read_until_close(&mut s, Duration::from_secs(3)).await;
    assert!(closed && start.elapsed() < Duration::from_secs(1));
    assert_raw_problem(&out, 414, "uri-too-long");
    // Just within: served.
    let req = format!(
        "GET /items?q={} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(900)
    );
    assert!(up.requests().is_empty());
    assert_eq!(status_closing(gw.addr, req.as_bytes()).await, 200);
}

// Body size -------------------------------------------------------------------------

#[tokio::test]
async fn a_declared_body_over_max_body_bytes_is_413_and_never_forwarded() {
    let up = upstream().await;
    let gw = limited(&up, "max_body_bytes: 1KiB").await;
    let body = "z".repeat(2048);
    let req = format!(
        "POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let out = raw(gw.addr, req.as_bytes()).await;
    assert_raw_problem(&out, 413, "payload-too-large");
    // Declared but not (yet) sent: refused on the header alone.
    let out = raw(
        gw.addr,
        b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n",
    )
    .await;
    assert_raw_problem(&out, 413, "payload-too-large");
    assert!(up.requests().is_empty());
    // Within the limit: forwarded whole.
    let req = format!(
        "POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 512\r\n\r\n{}",
        "y".repeat(512)
    );
    assert_eq!(status_closing(gw.addr, req.as_bytes()).await, 200);
    assert_eq!(up.last().body.len(), 512);
}

#[tokio::test]
async fn a_refusal_closes_the_connection_so_pipelined_requests_are_never_served() {
    let up = upstream().await;
    let gw = limited(&up, "max_body_bytes: 1KiB").await;
    let cases: [(&str, Vec<u8>); 2] = [
        (
            "body too large",
            format!(
                "POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n{}GET /items/after HTTP/1.1\r\nHost: x\r\n\r\n",
                "z".repeat(2048)
            )
            .into_bytes(),
        ),
        (
            "two hosts",
            b"GET /items HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\nGET /items/after HTTP/1.1\r\nHost: x\r\n\r\n"
                .to_vec(),
        ),
    ];
    for (what, bytes) in cases {
        let out = raw(gw.addr, &bytes).await;
        assert_eq!(responses_in(&out), 1, "{what}: {out}");
        assert!(matches!(status_of(&out), 400 | 413), "{what}: {out}");
        assert!(up.requests().is_empty(), "{what}: {:?}", up.requests());
    }
}

// Connection limit ------------------------------------------------------------------

#[tokio::test]
async fn past_max_connections_a_new_connection_gets_503_with_retry_after() {
    let up = upstream().await;
    let gw = limited(&up, "max_connections: 2").await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(gw.addr).await.unwrap();
        s.write_all(GET_ITEMS).await.unwrap();
        assert_eq!(read_response(&mut s).await.status, 200);
        held.push(s);
    }
    let out = raw(gw.addr, GET_ITEMS).await;
    let a = assert_raw_problem(&out, 503, "overloaded");
    assert!(a.header("retry-after").is_some(), "{out}");
    assert_eq!(
        up.requests().len(),
        2,
        "the third request was not forwarded"
    );
    // Kept-alive connections still work at the limit.
    held[0].write_all(GET_ITEMS).await.unwrap();
    assert_eq!(read_response(&mut held[0]).await.status, 200);
    // Closing one frees its slot.
    drop(held.remove(1));
    let mut served = false;
    for _ in 0..40 {
        if status_closing(gw.addr, GET_ITEMS).await == 200 {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(served, "a closed connection gives its slot back");
}

// Defaults --------------------------------------------------------------------------

#[tokio::test]
async fn without_a_limits_section_the_defaults_hold() {
    let up = upstream().await;
    let gw = gateway(&up).await;
    let big = format!(
        "GET /items HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20 * 1024)
    );
    assert_refused(&raw(gw.addr, big.as_bytes()).await, 431, "a 20 KiB header");
    let long = format!(
        "GET /items?q={} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(9 * 1024)
    );
    assert_raw_problem(&raw(gw.addr, long.as_bytes()).await, 414, "uri-too-long");
    let mut many = String::from("GET /items HTTP/1.1\r\nHost: x\r\n");
    for i in 0..150 {
        many.push_str(&format!("X-H{i}: v\r\n"));
    }
    many.push_str("\r\n");
    assert_refused(&raw(gw.addr, many.as_bytes()).await, 431, "150 headers");
    let huge = raw(
        gw.addr,
        b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 20000000\r\n\r\n",
    )
    .await;
    assert_raw_problem(&huge, 413, "payload-too-large");
    assert!(up.requests().is_empty());
    // Ordinary requests with sizeable heads pass.
    let fine = format!(
        "GET /items?q={} HTTP/1.1\r\nHost: x\r\nX-Fine: {}\r\n\r\n",
        "a".repeat(2000),
        "b".repeat(8 * 1024)
    );
    assert_eq!(status_closing(gw.addr, fine.as_bytes()).await, 200);
}
