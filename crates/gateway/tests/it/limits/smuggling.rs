//! Smuggling and malformed heads: ambiguous framing, bad header values, two Hosts.

use super::{assert_raw_problem, assert_refused, responses_in};
use crate::support::*;

// Smuggling and malformed heads -----------------------------------------------------

#[tokio::test]
async fn ambiguous_framing_and_malformed_heads_are_400() {
    let up = upstream().await;
    let gw = gateway(&up).await;
    let cases: &[(&str, &[u8])] = &[
        (
            "content-length and transfer-encoding",
            b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        ),
        (
            "transfer-encoding and content-length",
            b"POST /items HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        ),
        (
            "differing content-lengths",
            b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        ),
        (
            "a content-length list",
            b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello!",
        ),
        (
            "a signed content-length",
            b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
        ),
        (
            "gzip, chunked",
            b"POST /items HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        ),
        (
            "chunked, chunked",
            b"POST /items HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
        ),
        (
            "transfer-encoding repeated",
            b"POST /items HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        ),
        (
            "xchunked",
            b"POST /items HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
        ),
        (
            "space before the colon",
            b"POST /items HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
        ),
        (
            "transfer-encoding in HTTP/1.0",
            b"POST /items HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        ),
        (
            "obs-fold",
            b"GET /items HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n",
        ),
        (
            "obs-fold with a tab",
            b"GET /items HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n\tb\r\n\r\n",
        ),
        (
            "NUL in a header value",
            b"GET /items HTTP/1.1\r\nHost: x\r\nX-Nul: a\0b\r\n\r\n",
        ),
        (
            "bare CR in a header value",
            b"GET /items HTTP/1.1\r\nHost: x\r\nX-Cr: a\rb\r\n\r\n",
        ),
        (
            "bare LF in a header value",
            b"GET /items HTTP/1.1\r\nHost: x\r\nX-Lf: a\nb\r\n\r\n",
        ),
        (
            "two Host headers",
            b"GET /items HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        ),
    ];
    for (what, bytes) in cases {
        let out = raw(gw.addr, bytes).await;
        assert_refused(&out, 400, what);
        assert!(
            up.requests().is_empty(),
            "{what} reached the upstream: {:?}",
            up.requests()
        );
    }
}

#[tokio::test]
async fn ambiguous_framing_gets_our_problem_document() {
    let up = upstream().await;
    let gw = gateway(&up).await;
    for (what, bytes) in [
        (
            "content-length and transfer-encoding",
            &b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"[..],
        ),
        (
            "gzip, chunked",
            b"POST /items HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        ),
        (
            "two Host headers",
            b"GET /items HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        ),
    ] {
        let out = raw(gw.addr, bytes).await;
        let a = assert_raw_problem(&out, 400, "ambiguous-request");
        assert_eq!(a.header("connection").as_deref(), Some("close"), "{what}");
    }
    assert!(up.requests().is_empty());
}

#[tokio::test]
async fn an_invalid_chunk_size_is_400_and_no_fault_of_the_upstream() {
    let up = upstream().await;
    let gw = gateway(&up).await;
    // More bad requests than the upstream's max_failures (3 by default).
    for _ in 0..4 {
        let out = raw(
            gw.addr,
            b"POST /items HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        )
        .await;
        assert!(
            status_of(&out) == 400 || out.is_empty(),
            "400 or closed without an answer: {out:?}"
        );
        if !out.is_empty() {
            assert_raw_problem(&out, 400, "malformed-request");
        }
    }
    // Whatever the upstream may have started to receive, it never got a whole body.
    for seen in up.requests() {
        assert!(
            seen.body.is_empty(),
            "a complete request got through: {seen:?}"
        );
    }
    // A client's broken body does not count against the upstream target.
    let ready: serde_json::Value = client()
        .get(format!("{}/readyz", gw.admin))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        ready["upstreams"]["main"]["down_targets"],
        serde_json::json!([]),
        "{ready}"
    );
}

#[tokio::test]
async fn pipelined_smuggling_never_delivers_the_hidden_request() {
    let up = upstream().await;
    let gw = gateway(&up).await;
    let hidden = "GET /items/smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    let cases = [
        (
            "CL 0 + TE, then a request",
            format!(
                "POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n{hidden}"
            ),
        ),
        (
            "CL.TE",
            format!(
                "POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{hidden}"
            ),
        ),
        (
            "TE.CL",
            format!(
                "POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{hidden}\r\n0\r\n\r\n",
                hidden.len()
            ),
        ),
        (
            "TE obfuscated, CL",
            format!(
                "POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: xchunked\r\n\r\n{:x}\r\n{hidden}\r\n0\r\n\r\n",
                hidden.len()
            ),
        ),
    ];
    for (what, bytes) in cases {
        let out = raw(gw.addr, bytes.as_bytes()).await;
        assert_refused(&out, 400, what);
        assert_eq!(responses_in(&out), 1, "{what}: {out}");
        assert!(
            up.requests().is_empty(),
            "{what}: the upstream saw {:?}",
            up.requests()
        );
    }
}

#[tokio::test]
async fn smuggling_behind_a_valid_request_on_a_kept_alive_connection_is_not_delivered() {
    let up = upstream().await;
    let gw = gateway(&up).await;
    let hidden = "GET /items/smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    let bytes = format!(
        "GET /items HTTP/1.1\r\nHost: x\r\n\r\nPOST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n{hidden}"
    );
    let out = raw(gw.addr, bytes.as_bytes()).await;
    assert_eq!(status_of(&out), 200, "{out}");
    let seen = up.requests();
    assert!(
        seen.iter().all(|s| !s.uri.contains("smuggled")),
        "the hidden request reached the upstream: {seen:?}"
    );
    assert_eq!(seen[0].uri, "/items");
    // The second request is either refused or read by its chunked framing alone (the
    // hidden request is then its malformed body): it never arrives whole.
    for s in &seen[1..] {
        assert!(s.body.is_empty(), "{s:?}");
    }
}
