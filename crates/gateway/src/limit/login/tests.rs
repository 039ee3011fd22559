//! Login defence against scripted attacks, on a real in-process store with
//! real time: lockouts per username and per address, one uniform answer,
//! progressive delays, timing buckets, the breached-password check, and how
//! the upstream's answer is read.

mod answers;
mod config_check;
mod timing;

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use http::Response;

use super::{LoginRule, Who};
use crate::body::{self, Body};
use crate::config::Config;
use crate::limit::local::LocalStore;
use crate::limit::{Clock, Store};
use crate::metrics::Metrics;
use crate::problem::Reject;

/// The spec of the test API: a JSON login, one that also takes forms, and an
/// operation without a body.
pub(crate) const SPEC: &str = "openapi: 3.1.0\n\
info: {title: t, version: '1'}\n\
paths:\n\
\x20 /login:\n\
\x20   post:\n\
\x20     operationId: login\n\
\x20     security: []\n\
\x20     requestBody:\n\
\x20       content:\n\
\x20         application/json:\n\
\x20           schema: {type: object}\n\
\x20     responses:\n\
\x20       '200': {description: ok}\n\
\x20 /login-form:\n\
\x20   post:\n\
\x20     operationId: loginForm\n\
\x20     security: []\n\
\x20     requestBody:\n\
\x20       content:\n\
\x20         application/json:\n\
\x20           schema: {type: object}\n\
\x20         application/x-www-form-urlencoded:\n\
\x20           schema: {type: object}\n\
\x20     responses:\n\
\x20       '200': {description: ok}\n\
\x20 /status:\n\
\x20   get:\n\
\x20     operationId: status\n\
\x20     security: []\n\
\x20     responses:\n\
\x20       '200': {description: ok}\n";

/// Passwords in the test breached list.
pub(crate) const BREACHED: [&str; 3] = ["hunter2", "password", "123456"];

/// Parses a config whose API `bank` has this `login` list (indented by 6),
/// beside the spec and a breached-password file `pwned.txt`.
pub(crate) fn parse(dir: &Path, login: &str) -> Result<Config, String> {
    std::fs::write(dir.join("openapi.yaml"), SPEC).unwrap();
    let mut hashes: Vec<String> = BREACHED
        .iter()
        .map(|p| {
            String::from_utf8(super::super::breached::sha1_hex(p.as_bytes()).to_vec()).unwrap()
        })
        .collect();
    hashes.sort();
    let list: String = hashes.iter().map(|h| format!("{h}:10\n")).collect();
    std::fs::write(dir.join("pwned.txt"), list).unwrap();
    let text = format!(
        "listeners:\n  - address: 127.0.0.1:0\nupstreams:\n  main:\n    targets: [http://127.0.0.1:1]\n\
         apis:\n  - name: bank\n    spec: openapi.yaml\n    upstream: main\n    login:\n{login}"
    );
    let path = dir.join("portcullis.yaml");
    std::fs::write(&path, &text).unwrap();
    crate::config::parse(&text, &path).map_err(|e| e.to_string())
}

/// A test fixture: the compiled rule, a fresh store and metrics.
pub(crate) struct Fixture {
    _dir: tempfile::TempDir,
    cfg: Config,
    pub(crate) store: Store,
    pub(crate) metrics: Metrics,
}

impl Fixture {
    /// The `login` rule of a config with this `login` list.
    pub(crate) fn new(login: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let cfg = parse(dir.path(), login).unwrap();
        Fixture {
            _dir: dir,
            cfg,
            store: Store {
                local: LocalStore::new(10_000),
                redis: None,
                clock: Arc::new(Clock::default()),
            },
            metrics: Metrics::new(),
        }
    }

    pub(crate) fn rule(&self) -> &LoginRule {
        self.cfg.apis[0]
            .logins
            .as_ref()
            .and_then(|l| l.rule("login"))
            .unwrap()
    }

    /// One attempt from `ip` with this body; the upstream (when reached)
    /// answers `upstream`. `Ok(status)` when the upstream's answer went to
    /// the client, with whether it was forwarded at all.
    pub(crate) async fn attempt(
        &self,
        ip: &str,
        body: &str,
        upstream: impl FnOnce() -> Response<Body>,
    ) -> (Result<u16, Reject>, bool) {
        let who = Who {
            api: "bank",
            client_ip: ip.parse::<IpAddr>().unwrap(),
            body: body.as_bytes(),
        };
        let attempt = match self.rule().before(&self.store, who, &self.metrics).await {
            Ok(a) => a,
            Err(r) => return (Err(r), false),
        };
        // The upstream's round trip: other attempts run meanwhile.
        tokio::task::yield_now().await;
        let resp = self
            .rule()
            .after(&self.store, attempt, upstream(), &self.metrics)
            .await;
        (resp.map(|r| r.status().as_u16()), true)
    }

    /// A login of `user` from `ip` that the upstream answers with `status`.
    pub(crate) async fn login(
        &self,
        ip: &str,
        user: &str,
        status: u16,
    ) -> (Result<u16, Reject>, bool) {
        let body = serde_json::json!({"username": user, "password": "guess"}).to_string();
        self.attempt(ip, &body, || answer(status, "upstream's own words"))
            .await
    }

    /// How many times a login event was counted.
    pub(crate) fn events(&self, event: &str) -> u64 {
        let needle = format!("event=\"{event}\"}}");
        self.metrics
            .encode()
            .lines()
            .find(|l| l.starts_with("portcullis_login_events") && l.contains(&needle))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0)
    }
}

/// An attempt's facts: API `bank`, from 192.0.2.1.
pub(crate) fn who(body: &str) -> Who<'_> {
    Who {
        api: "bank",
        client_ip: "192.0.2.1".parse().unwrap(),
        body: body.as_bytes(),
    }
}

/// An upstream answer.
pub(crate) fn answer(status: u16, text: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .body(body::full(text.to_owned()))
        .unwrap()
}

const FAILED: Reject = Reject::LoginFailed { reason: "failed" };
const LOCKED_USER: Reject = Reject::LoginFailed {
    reason: "locked-user",
};
const LOCKED_IP: Reject = Reject::LoginFailed {
    reason: "locked-ip",
};

/// Fast rules: no delay, a small bucket.
const FAST: &str = "      - operation: login\n        username: /username\n        password: /password\n\
                    \x20       delay: {base: 0ms, max: 0ms}\n        uniform: {bucket: 10ms}\n";

#[tokio::test]
async fn a_guessing_attack_on_one_user_is_locked_after_five_failures() {
    let f = Fixture::new(FAST);
    let mut forwarded = 0;
    let mut answers = Vec::new();
    for i in 0..12 {
        // The same user, however it is spelled.
        let user = ["alice", " Alice", "ALICE ", "aLiCe"][i % 4];
        let (r, fwd) = f.login("192.0.2.1", user, 401).await;
        forwarded += usize::from(fwd);
        answers.push(r.unwrap_err());
    }
    assert_eq!(
        forwarded, 5,
        "only the first five guesses reach the upstream"
    );
    assert_eq!(answers[..5], [FAILED; 5]);
    assert_eq!(answers[5..], [LOCKED_USER; 7]);
    // One answer for all: the same status and problem document.
    let doc = crate::problem::document(&FAILED, "r");
    for a in &answers {
        assert_eq!(a.status(), 401);
        assert_eq!(crate::problem::document(a, "r"), doc);
    }
    // Another user from the same address is not locked.
    assert_eq!(f.login("192.0.2.1", "bob", 200).await, (Ok(200), true));
    // Nor is alice from elsewhere … but her lock holds from anywhere.
    assert_eq!(
        f.login("198.51.100.7", "alice", 200).await.0,
        Err(LOCKED_USER)
    );
    assert_eq!(f.events("failure"), 5);
    assert_eq!(f.events("locked"), 1);
    assert_eq!(f.events("refused_locked"), 8);
    assert_eq!(f.events("success"), 1);
}

#[tokio::test]
async fn an_address_trying_many_usernames_is_locked() {
    let f = Fixture::new(&format!(
        "{FAST}        per_ip: {{failures: 4, window: 1m}}\n"
    ));
    for i in 0..4 {
        let (r, fwd) = f.login("2001:db8::1", &format!("user{i}"), 401).await;
        assert_eq!((r, fwd), (Err(FAILED), true), "attempt {i}");
    }
    // Its whole /64 is locked, for a new username too; a success would not
    // have been reached.
    for ip in ["2001:db8::1", "2001:db8::ffff:2"] {
        assert_eq!(
            f.login(ip, "someone-new", 200).await,
            (Err(LOCKED_IP), false)
        );
    }
    // Another /64 and another IPv4 address are not.
    assert_eq!(
        f.login("2001:db8:0:1::1", "user0", 200).await,
        (Ok(200), true)
    );
    assert_eq!(f.login("192.0.2.9", "user1", 200).await, (Ok(200), true));
}

#[tokio::test]
async fn a_success_clears_the_usernames_failures_not_the_addresss() {
    let f = Fixture::new(&format!(
        "{FAST}        per_ip: {{failures: 8, window: 1m}}\n"
    ));
    for _ in 0..4 {
        assert_eq!(f.login("192.0.2.1", "carol", 401).await.0, Err(FAILED));
    }
    assert_eq!(f.login("192.0.2.1", "carol", 200).await.0, Ok(200));
    // Four more failures: carol starts from zero, so none of them locks her.
    for _ in 0..4 {
        assert_eq!(
            f.login("192.0.2.1", "carol", 401).await,
            (Err(FAILED), true)
        );
    }
    // The address has 8 failures: locked.
    assert_eq!(f.login("192.0.2.1", "carol", 200).await.0, Err(LOCKED_IP));
    assert_eq!(f.login("192.0.2.2", "carol", 200).await.0, Ok(200));
}

#[tokio::test]
async fn parallel_guesses_cannot_all_pass_the_lock_check() {
    let f = Fixture::new(FAST);
    let slow = || {
        // Every guess is in flight at once: the upstream has not answered any.
        answer(401, "no")
    };
    let body = r#"{"username":"dave","password":"x"}"#;
    let tries = (0..20).map(|_| f.attempt("192.0.2.1", body, slow));
    let results = futures_util::future::join_all(tries).await;
    let forwarded = results.iter().filter(|(_, fwd)| *fwd).count();
    assert!(forwarded <= 5, "{forwarded} guesses reached the upstream");
    assert!(
        results
            .iter()
            .all(|(r, _)| matches!(r, Err(Reject::LoginFailed { .. })))
    );
}

#[tokio::test]
async fn bodies_without_a_username_count_against_the_address() {
    let f = Fixture::new(&format!(
        "{FAST}        per_ip: {{failures: 3, window: 1m}}\n"
    ));
    for body in [
        "not json",
        r#"{"user": "x"}"#,
        // Two usernames: the gateway and the upstream could read different ones.
        r#"{"username": "eve", "username": "alice"}"#,
    ] {
        let (r, fwd) = f.attempt("192.0.2.1", body, || answer(200, "")).await;
        assert_eq!((r, fwd), (Err(FAILED), false), "{body}");
    }
    assert_eq!(f.login("192.0.2.1", "frank", 200).await.0, Err(LOCKED_IP));
}

#[tokio::test]
async fn breached_passwords_are_refused_or_flagged() {
    let rules = |action: &str| {
        format!("{FAST}        breached_passwords: {{file: pwned.txt, action: {action}}}\n")
    };
    let f = Fixture::new(&rules("refuse"));
    let with = |pw: &str| serde_json::json!({"username": "judy", "password": pw}).to_string();
    for pw in BREACHED {
        let (r, fwd) = f.attempt("192.0.2.1", &with(pw), || answer(200, "")).await;
        assert_eq!((r, fwd), (Err(Reject::PasswordBreached), false), "{pw}");
    }
    assert_eq!(f.events("breached_refused"), 3);
    let (r, fwd) = f
        .attempt("192.0.2.1", &with("a long unguessable one"), || {
            answer(200, "")
        })
        .await;
    assert_eq!((r, fwd), (Ok(200), true));

    let f = Fixture::new(&rules("flag"));
    let body = with("hunter2");
    let a = f
        .rule()
        .before(&f.store, who(&body), &f.metrics)
        .await
        .unwrap();
    let headers = a.upstream_headers();
    assert_eq!(headers.len(), 1);
    assert_eq!(headers[0].0, super::BREACHED_HEADER);
    assert_eq!(headers[0].1, "true");
    assert_eq!(f.events("breached_flagged"), 1);
    let body = with("a long unguessable one");
    let a = f
        .rule()
        .before(&f.store, who(&body), &f.metrics)
        .await
        .unwrap();
    assert!(a.upstream_headers().is_empty());
    // A password that is not a string is not looked up.
    let a = f
        .rule()
        .before(
            &f.store,
            who(r#"{"username":"judy","password":123456}"#),
            &f.metrics,
        )
        .await
        .unwrap();
    assert!(a.upstream_headers().is_empty());
}

#[tokio::test]
async fn no_username_is_kept_in_store_keys_or_the_attempt() {
    let f = Fixture::new(FAST);
    let who = Who {
        api: "bank",
        client_ip: "192.0.2.1".parse().unwrap(),
        body: br#"{"username":"Mallory.Secret@example.com","password":"hunter2-ish"}"#,
    };
    let a = f.rule().before(&f.store, who, &f.metrics).await.unwrap();
    let shown = format!("{a:?}");
    assert!(!shown.to_lowercase().contains("mallory"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
    // The key holds the SHA-256 of the normalised name.
    let hash = crate::hex(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"mallory.secret@example.com")
            .as_ref(),
    );
    assert!(
        shown.contains(&format!("login:bank:login:u:{hash}")),
        "{shown}"
    );
}

#[test]
fn usernames_and_addresses_are_normalised() {
    use super::subject::{MAX_USERNAME, normalise};
    use crate::limit::ip_key as address;
    assert_eq!(normalise("  ÅSA@Example.COM \t"), "åsa@example.com");
    let long = "é".repeat(300);
    let cut = normalise(&long);
    assert!(cut.len() <= MAX_USERNAME && cut.len() >= MAX_USERNAME - 1);
    assert_eq!(address("192.0.2.1".parse().unwrap()), "192.0.2.1");
    assert_eq!(address("::ffff:192.0.2.1".parse().unwrap()), "192.0.2.1");
    assert_eq!(
        address("2001:db8:a:b:1:2:3:4".parse().unwrap()),
        address("2001:db8:a:b:ffff::".parse().unwrap())
    );
    assert_eq!(
        address("2001:db8:a:b::1".parse().unwrap()),
        "2001:db8:a:b::/64"
    );
}
