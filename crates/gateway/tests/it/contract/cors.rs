//! CORS through the real gateway: preflights answered (or refused) by the
//! gateway before authentication, an explicit origin allow-list on every
//! response of the API, and `*` never with credentials.

use crate::support::*;

const APP: &str = "https://app.example.com";
const EVIL: &str = "https://evil.example";

/// CORS for the test API: one origin, credentials, an exposed header.
const CORS: &str = "    cors:
      origins: [https://app.example.com, 'http://localhost:3000']
      headers: [authorization, content-type, x-trace]
      expose_headers: [x-request-id]
      credentials: true
      max_age: 1h";

async fn cors_gateway(up: &Upstream, cors: &str) -> Gateway {
    gateway_with(&config(&up.url(), cors), &[]).await
}

/// A preflight for `method` on `path` from `origin`, asking for `headers`.
async fn preflight(
    gw: &Gateway,
    path: &str,
    origin: &str,
    method: &str,
    headers: Option<&str>,
) -> reqwest::Response {
    let mut req = client()
        .request(reqwest::Method::OPTIONS, format!("{}{path}", gw.url))
        .header("origin", origin)
        .header("access-control-request-method", method);
    if let Some(h) = headers {
        req = req.header("access-control-request-headers", h);
    }
    req.send().await.unwrap()
}

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    resp.headers().get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn an_allowed_preflight_is_answered_by_the_gateway() {
    let up = upstream().await;
    let gw = cors_gateway(&up, CORS).await;
    // `/secure` requires a bearer token: the preflight carries none, and needs none.
    let resp = preflight(&gw, "/secure", APP, "GET", Some("Authorization, X-Trace")).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(header(&resp, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        header(&resp, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(header(&resp, "access-control-allow-methods"), Some("GET"));
    assert_eq!(
        header(&resp, "access-control-allow-headers"),
        Some("authorization, content-type, x-trace")
    );
    assert_eq!(header(&resp, "access-control-max-age"), Some("3600"));
    let vary: Vec<_> = resp
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(vary.iter().any(|v| v == "origin"), "{vary:?}");
    // Origins compare as browsers send them.
    let resp = preflight(&gw, "/items", "http://localhost:3000", "POST", None).await;
    assert_eq!(resp.status(), 204);
    assert!(
        up.requests().is_empty(),
        "preflights never reach the upstream"
    );
}

#[tokio::test]
async fn preflights_from_other_origins_methods_or_headers_are_refused() {
    let up = upstream().await;
    let gw = cors_gateway(&up, &format!("{CORS}\n      methods: [GET]")).await;
    let cases = [
        (EVIL, "GET", None, "origin not allowed"),
        (
            "https://app.example.com.evil.example",
            "GET",
            None,
            "origin not allowed",
        ),
        ("null", "GET", None, "origin not allowed"),
        (APP, "POST", None, "method not allowed"),
        (APP, "GET", Some("x-admin"), "header not allowed"),
        // Not documented for the path at all.
        (APP, "DELETE", None, "method not allowed"),
    ];
    for (origin, method, headers, _) in cases {
        let resp = preflight(&gw, "/items", origin, method, headers).await;
        let allow_origin = header(&resp, "access-control-allow-origin").map(str::to_owned);
        assert_problem(resp, 403, "cors-refused").await;
        if origin != APP {
            assert_eq!(allow_origin, None, "{origin}");
        }
    }
    let preflights = || {
        gw.audit_lines()
            .into_iter()
            .filter(|e| e["method"] == "OPTIONS")
            .collect::<Vec<_>>()
    };
    eventually("the audit events", || preflights().len() >= cases.len()).await;
    let reasons: Vec<String> = preflights()
        .iter()
        .map(|e| e["reason"].as_str().unwrap_or_default().to_owned())
        .collect();
    let expected: Vec<String> = cases
        .iter()
        .map(|(.., why)| format!("cors-refused: {why}"))
        .collect();
    assert_eq!(reasons, expected);
    assert!(up.requests().is_empty());
    let metrics = gw.admin_text("/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l.contains("check=\"cors\"") && l.contains("outcome=\"origin\"")),
        "{metrics}"
    );
}

#[tokio::test]
async fn responses_to_allowed_origins_carry_cors_headers_problems_included() {
    let up = upstream().await;
    let gw = cors_gateway(&up, CORS).await;
    let resp = client()
        .get(format!("{}/status/200", gw.url))
        .header("origin", APP)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        header(&resp, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(
        header(&resp, "access-control-expose-headers"),
        Some("x-request-id")
    );
    assert_eq!(header(&resp, "vary"), Some("origin"));

    // A refusal must be readable by the page too (a 401 it can act on).
    let resp = client()
        .get(format!("{}/secure", gw.url))
        .header("origin", APP)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&resp, "access-control-allow-origin"), Some(APP));
    assert_problem(resp, 401, "unauthenticated").await;

    // Another origin: served (CORS is the browser's to enforce), no CORS headers.
    let resp = client()
        .get(format!("{}/status/200", gw.url))
        .header("origin", EVIL)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "access-control-allow-origin"), None);
    assert_eq!(header(&resp, "access-control-allow-credentials"), None);
    assert_eq!(header(&resp, "vary"), Some("origin"));
}

#[tokio::test]
async fn any_origin_without_credentials_is_a_plain_star() {
    let up = upstream().await;
    let gw = cors_gateway(&up, "    cors: { origins: ['*'] }").await;
    let resp = client()
        .get(format!("{}/status/200", gw.url))
        .header("origin", EVIL)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&resp, "access-control-allow-origin"), Some("*"));
    assert_eq!(header(&resp, "access-control-allow-credentials"), None);
    let resp = preflight(&gw, "/items", EVIL, "POST", Some("content-type")).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(header(&resp, "access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn without_cors_preflights_are_not_answered() {
    let up = upstream().await;
    let gw = gateway(&up).await;
    let resp = preflight(&gw, "/items", APP, "GET", None).await;
    assert_eq!(header(&resp, "access-control-allow-origin"), None);
    // OPTIONS is not documented for /items: routing answers.
    assert_problem(resp, 405, "method-not-allowed").await;
}

fn load(text: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    write_base_files(dir.path());
    let path = dir.path().join("portcullis.yaml");
    std::fs::write(&path, text).unwrap();
    portcullis_gateway::config::load(&path)
        .map(|_| ())
        .map_err(|e| {
            e.to_string()
                .replace(&format!("{}/", dir.path().display()), "")
        })
}

#[test]
fn a_star_with_credentials_is_refused_at_load_with_its_line() {
    let text = config(
        "http://127.0.0.1:1",
        "    cors:\n      origins:\n        - '*'\n      credentials: true",
    );
    let err = load(&text).unwrap_err();
    let line = text.lines().position(|l| l.contains("- '*'")).unwrap() + 1;
    assert!(
        err.starts_with(&format!("portcullis.yaml:{line}:")),
        "{err}"
    );
    assert!(
        err.contains("apis[0].cors.origins") && err.contains("credentials"),
        "{err}"
    );
}

#[test]
fn origins_must_be_exact() {
    for bad in [
        "https://app.example.com/",
        "https://*.example.com",
        "app.example.com",
        "null",
        "ftp://files.example.com",
        "https://user@app.example.com",
    ] {
        let text = config(
            "http://127.0.0.1:1",
            &format!("    cors:\n      origins: ['{bad}']"),
        );
        let err = load(&text).unwrap_err();
        assert!(err.contains("apis[0].cors.origins[0]"), "{bad}: {err}");
    }
    let ok = config(
        "http://127.0.0.1:1",
        "    cors:\n      origins: ['HTTPS://App.Example.com:443', 'http://localhost:8080']",
    );
    assert_eq!(load(&ok), Ok(()));
}
