//! Slow and idle clients: the header timeout, silent connections, idle keep-alive.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{
    GET_ITEMS, assert_raw_problem, limited, read_response, read_until_close, responses_in,
};
use crate::support::*;

// Slow clients ----------------------------------------------------------------------

#[tokio::test]
async fn a_request_head_that_never_ends_gets_408_and_is_closed() {
    let up = upstream().await;
    let gw = limited(&up, "header_timeout: 300ms").await;
    let start = Instant::now();
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"GET /items HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let (out, closed) = read_until_close(&mut s, Duration::from_secs(3)).await;
    let took = start.elapsed();
    assert!(closed, "the connection is closed after the 408");
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_millis(1500),
        "answered after {took:?}"
    );
    let a = assert_raw_problem(&out, 408, "request-timeout");
    assert_eq!(a.header("connection").as_deref(), Some("close"));
    assert_eq!(responses_in(&out), 1);
    assert!(up.requests().is_empty());
}

#[tokio::test]
async fn trickling_header_bytes_does_not_extend_the_deadline() {
    let up = upstream().await;
    let gw = limited(&up, "header_timeout: 300ms").await;
    let start = Instant::now();
    let s = TcpStream::connect(gw.addr).await.unwrap();
    let (mut r, mut w) = s.into_split();
    let writer = tokio::spawn(async move {
        if w.write_all(b"GET /items HTTP/1.1\r\nHost: x\r\n")
            .await
            .is_err()
        {
            return;
        }
        for i in 0..60 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if w.write_all(format!("X-Drip-{i}: a\r\n").as_bytes())
                .await
                .is_err()
            {
                return;
            }
        }
    });
    let mut out = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(3), r.read_to_end(&mut out))
        .await
        .is_ok();
    let took = start.elapsed();
    writer.abort();
    assert!(closed && took < Duration::from_millis(1500), "{took:?}");
    assert_raw_problem(&String::from_utf8_lossy(&out), 408, "request-timeout");
    assert!(up.requests().is_empty());
}

#[tokio::test]
async fn a_silent_connection_is_closed_without_an_answer() {
    let up = upstream().await;
    let gw = limited(&up, "header_timeout: 300ms").await;
    let start = Instant::now();
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    let (out, closed) = read_until_close(&mut s, Duration::from_secs(3)).await;
    let took = start.elapsed();
    assert!(closed, "the gateway closed the silent connection");
    assert!(out.is_empty(), "no response to no request: {out:?}");
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_millis(1500),
        "{took:?}"
    );
    assert!(up.requests().is_empty());
}

// Idle keep-alive connections -------------------------------------------------------

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_idle_timeout() {
    let up = upstream().await;
    let gw = limited(&up, "idle_timeout: 300ms").await;
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(GET_ITEMS).await.unwrap();
    assert_eq!(read_response(&mut s).await.status, 200);
    // Within the idle time the connection is reused.
    tokio::time::sleep(Duration::from_millis(100)).await;
    s.write_all(GET_ITEMS).await.unwrap();
    assert_eq!(read_response(&mut s).await.status, 200);
    let idle_from = Instant::now();
    let (out, closed) = read_until_close(&mut s, Duration::from_secs(3)).await;
    let idle = idle_from.elapsed();
    assert!(closed, "the idle connection was closed");
    assert!(
        out.is_empty(),
        "nothing is sent to an idle connection: {out:?}"
    );
    assert!(
        idle >= Duration::from_millis(250) && idle < Duration::from_millis(1500),
        "closed after {idle:?}"
    );
    assert_eq!(up.requests().len(), 2);
}
