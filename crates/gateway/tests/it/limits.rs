//! Limits and request-smuggling defences, spoken in raw HTTP/1.1 (and HTTP/2) to a real
//! gateway: every refused request gets its status (a problem document where the gateway
//! writes the answer itself), and nothing of it reaches the upstream.
//!
//! The helpers here parse raw HTTP/1 answers and drive connections; the tests live in
//! the submodules, one per kind of limit.

mod http2;
mod sizes;
mod slow;
mod smuggling;

use std::time::Duration;

use tokio::io::AsyncReadExt;
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
