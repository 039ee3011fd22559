//! Limits and request-smuggling defences, spoken in raw HTTP/1.1 (and HTTP/2) to a real
//! gateway: every refused request gets its status (a problem document where the gateway
//! writes the answer itself), and nothing of it reaches the upstream.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

/// A gateway in front of `up` with `limits: { <limits> }`.
async fn limited(up: &Upstream, limits: &str) -> Gateway {
    gateway_with(&config(&up.url(), &format!("limits: {{ {limits} }}")), &[]).await
}

/// One HTTP/1 response, split.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The first complete response in `buf` and its length on the wire, if it has arrived.
fn first_response(buf: &[u8]) -> Option<(Answer, usize)> {
    let head_end = find(buf, b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status = status_of(&head);
    let mut a = Answer {
        status,
        head,
        body: Vec::new(),
    };
    let rest = &buf[head_end..];
    if let Some(len) = a.header("content-length") {
        let len: usize = len.parse().expect("a numeric content-length");
        a.body = rest.get(..len)?.to_vec();
        return Some((a, head_end + len));
    }
    if a.header("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        let mut at = 0;
        loop {
            let line_end = find(&rest[at..], b"\r\n")?;
            let size_text = String::from_utf8_lossy(&rest[at..at + line_end]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            at += line_end + 2;
            if size == 0 {
                let trailer_end = find(&rest[at..], b"\r\n")?;
                return Some((a, head_end + at + trailer_end + 2));
            }
            a.body.extend_from_slice(rest.get(at..at + size)?);
            at += size + 2;
        }
    }
    Some((a, head_end))
}

/// Parses the first response of a raw answer (panics if there is none).
fn answer_of(raw: &str) -> Answer {
    first_response(raw.as_bytes())
        .unwrap_or_else(|| panic!("no complete response in {raw:?}"))
        .0
}

/// How many responses a raw answer holds.
fn responses_in(raw: &str) -> usize {
    let mut buf = raw.as_bytes();
    let mut n = 0;
    while let Some((_, len)) = first_response(buf) {
        n += 1;
        buf = &buf[len..];
    }
    n
}

/// Asserts a raw answer is a problem document of the given status and kind.
fn assert_raw_problem(raw: &str, status: u16, kind: &str) -> Answer {
    let a = answer_of(raw);
    assert_eq!(a.status, status, "{raw}");
    assert_eq!(
        a.header("content-type").as_deref(),
        Some("application/problem+json"),
        "{raw}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&a.body).expect("a JSON problem body");
    assert_eq!(
        doc["type"],
        format!("urn:portcullis:problem:{kind}"),
        "{raw}"
    );
    assert_eq!(doc["status"], status);
    assert!(doc["request_id"].is_string() && doc["title"].is_string());
    a
}

/// Asserts the status; if there is a body at all it must be our problem document
/// (hyper answers some malformed input itself with an empty body).
fn assert_refused(raw: &str, status: u16, what: &str) {
    let a = first_response(raw.as_bytes())
        .unwrap_or_else(|| panic!("{what}: no complete response in {raw:?}"))
        .0;
    assert_eq!(a.status, status, "{what}: {raw}");
    if !a.body.is_empty() {
        assert_eq!(
            a.header("content-type").as_deref(),
            Some("application/problem+json"),
            "{what}: {raw}"
        );
        let doc: serde_json::Value = serde_json::from_slice(&a.body).expect("a JSON problem");
        assert_eq!(doc["status"], status, "{what}");
    }
}

/// Reads until the peer closes (EOF or reset) or `limit` passes; says whether it closed.
async fn read_until_close(s: &mut TcpStream, limit: Duration) -> (String, bool) {
    let mut out = Vec::new();
    let closed = tokio::time::timeout(limit, s.read_to_end(&mut out))
        .await
        .is_ok();
    (String::from_utf8_lossy(&out).into_owned(), closed)
}

/// Reads exactly one response from a kept-alive connection.
async fn read_response(s: &mut TcpStream) -> Answer {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some((a, _)) = first_response(&buf) {
            return a;
        }
        let n = tokio::time::timeout(Duration::from_secs(3), s.read(&mut chunk))
            .await
            .expect("a response in time")
            .expect("a readable connection");
        assert!(
            n > 0,
            "closed before a whole response: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    }
}

const GET_ITEMS: &[u8] = b"GET /items HTTP/1.1\r\nHost: x\r\n\r\n";

/// Sends a request that asks for `Connection: close` (so a served request does not
/// hold the connection open) and returns the status of its answer.
async fn status_closing(addr: std::net::SocketAddr, req: &[u8]) -> u16 {
    let at = find(req, b"\r\n").expect("a request line");
    let mut bytes = req[..at + 2].to_vec();
    bytes.extend_from_slice(b"Connection: close\r\n");
    bytes.extend_from_slice(&req[at + 2..]);
    status_of(&raw(addr, &bytes).await)
}

// 1. Slow clients -------------------------------------------------------------------

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

// 2. Header size and count ----------------------------------------------------------

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

// 3. Request-target length ----------------------------------------------------------

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

// 4. Body size ----------------------------------------------------------------------

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

// 5. Smuggling and malformed heads --------------------------------------------------

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

// 7. Connection limit ---------------------------------------------------------------

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

// 8. Idle keep-alive connections ----------------------------------------------------

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

// 9. HTTP/2 -------------------------------------------------------------------------

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

// 10. Defaults ----------------------------------------------------------------------

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
