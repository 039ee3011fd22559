//! `apis[].login` checks: the defaults, and every refusal naming its field
//! (and its line).

use std::time::Duration;

use super::parse;

#[test]
fn defaults_apply() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = parse(
        dir.path(),
        "      - operation: login\n        username: /user~1name\n",
    )
    .unwrap();
    let logins = cfg.apis[0].logins.as_ref().unwrap();
    assert!(logins.rule("status").is_none());
    let r = logins.rule("login").unwrap();
    assert_eq!(r.operation, "login");
    assert_eq!(r.username, "/user~1name");
    assert_eq!(r.failure.status, [401]);
    assert!(r.failure.body_contains.is_none());
    assert_eq!((r.per_username.failures, r.per_ip.failures), (5, 20));
    let m15 = Duration::from_secs(900);
    assert_eq!(
        (r.per_username.window, r.per_ip.window, r.lockout),
        (m15, m15, m15)
    );
    assert_eq!(
        r.delay,
        (Duration::from_millis(200), Duration::from_secs(3))
    );
    assert_eq!(r.bucket, Duration::from_millis(500));
    assert!(r.breached.is_none() && r.password.is_none());
}

#[test]
fn everything_can_be_set() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = parse(
        dir.path(),
        "      - operation: login\n        username: /creds/user\n        password: /creds/pass\n\
         \x20       failure: {status: [401, 403], body_contains: invalid}\n\
         \x20       per_username: {failures: 3, window: 10m}\n\
         \x20       per_ip: {failures: 50, window: 1h}\n\
         \x20       delay: {base: 100ms, max: 2s}\n        lockout: 30m\n\
         \x20       uniform: {bucket: 250ms}\n\
         \x20       breached_passwords: {file: pwned.txt, action: flag}\n",
    )
    .unwrap();
    let r = cfg.apis[0].logins.as_ref().unwrap().rule("login").unwrap();
    assert_eq!(r.failure.status, [401, 403]);
    assert!(
        r.failure
            .body_contains
            .as_ref()
            .unwrap()
            .found_in(b"an invalid one")
    );
    assert_eq!((r.per_username.failures, r.per_ip.failures), (3, 50));
    assert_eq!(r.per_ip.window, Duration::from_secs(3600));
    assert_eq!(r.lockout, Duration::from_secs(1800));
    assert_eq!(r.bucket, Duration::from_millis(250));
    assert_eq!(
        r.breached.as_ref().unwrap().1,
        super::super::config::Action::Flag
    );
    // The breached-password file is watched like every file the config names.
    assert!(cfg.files.iter().any(|f| f.ends_with("pwned.txt")));
}

#[test]
fn every_refusal_names_its_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("words.txt"), "password\n").unwrap();
    let cases: &[(&str, &str, &str)] = &[
        (
            "      - operation: signin\n        username: /username\n",
            "apis[0].login[0].operation",
            "no operation `signin`",
        ),
        (
            "      - operation: status\n        username: /username\n",
            "apis[0].login[0].operation",
            "takes no JSON request body",
        ),
        (
            "      - operation: login\n",
            "apis[0].login[0].username",
            "required",
        ),
        (
            "      - operation: login\n        username: username\n",
            "apis[0].login[0].username",
            "starts with `/`",
        ),
        (
            "      - operation: login\n        username: /user~2name\n",
            "apis[0].login[0].username",
            "`~` is followed by",
        ),
        (
            "      - operation: login\n        username: /u\n        password: pass\n",
            "apis[0].login[0].password",
            "starts with `/`",
        ),
        (
            "      - operation: login\n        username: /u\n\
             \x20       breached_passwords: {file: pwned.txt, action: refuse}\n",
            "apis[0].login[0].password",
            "needs `password`",
        ),
        (
            "      - operation: login\n        username: /u\n        password: /p\n\
             \x20       breached_passwords: {file: words.txt, action: refuse}\n",
            "apis[0].login[0].breached_passwords.file",
            "first line",
        ),
        (
            "      - operation: login\n        username: /u\n        password: /p\n\
             \x20       breached_passwords: {file: missing.txt, action: refuse}\n",
            "apis[0].login[0].breached_passwords.file",
            "cannot open",
        ),
        (
            "      - operation: login\n        username: /u\n        password: /p\n\
             \x20       breached_passwords: {file: pwned.txt, action: block}\n",
            "apis[0].login[0].breached_passwords.action",
            "`refuse`",
        ),
        (
            "      - operation: login\n        username: /u\n        failure: {status: [401, 999]}\n",
            "apis[0].login[0].failure.status[1]",
            "not an HTTP status",
        ),
        (
            "      - operation: login\n        username: /u\n        failure: {body_contains: ''}\n",
            "apis[0].login[0].failure.body_contains",
            "1 to 1024 bytes",
        ),
        (
            "      - operation: login\n        username: /u\n        per_username: {failures: 0}\n",
            "apis[0].login[0].per_username.failures",
            "at least 1",
        ),
        (
            "      - operation: login\n        username: /u\n        per_ip: {window: 0s}\n",
            "apis[0].login[0].per_ip.window",
            "longer than 0",
        ),
        (
            "      - operation: login\n        username: /u\n        delay: {base: 5s, max: 1s}\n",
            "apis[0].login[0].delay.base",
            "longer than `delay.max`",
        ),
        (
            "      - operation: login\n        username: /u\n        delay: {max: 5m}\n",
            "apis[0].login[0].delay.max",
            "at most 60s",
        ),
        (
            "      - operation: login\n        username: /u\n        uniform: {bucket: 0ms}\n",
            "apis[0].login[0].uniform.bucket",
            "longer than 0",
        ),
        (
            "      - operation: login\n        username: /u\n        lockout: 0s\n",
            "apis[0].login[0].lockout",
            "longer than 0",
        ),
        (
            "      - operation: login\n        username: /u\n\
             \x20     - operation: login\n        username: /v\n",
            "apis[0].login[1].operation",
            "already has a login rule",
        ),
    ];
    for (block, field, words) in cases {
        let err = parse(dir.path(), block).expect_err(block);
        let line = err
            .lines()
            .find(|l| l.contains(&format!(" {field}: ")))
            .unwrap_or_else(|| panic!("{block}\n→ {err}\nshould name {field}"));
        assert!(line.contains(words), "{block}\n→ {err}\nshould say {words}");
        let at = line.split("portcullis.yaml:").nth(1).unwrap_or_default();
        assert!(
            at.starts_with(|c: char| c.is_ascii_digit()),
            "{line}: should give the line"
        );
    }
}

#[test]
fn a_login_that_also_takes_forms_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = parse(
        dir.path(),
        "      - operation: loginForm\n        username: /username\n",
    )
    .unwrap();
    let w: Vec<String> = cfg.warnings.iter().map(ToString::to_string).collect();
    assert!(
        w.iter().any(|w| w.contains("apis[0].login[0].operation")
            && w.contains("application/x-www-form-urlencoded")),
        "{w:?}"
    );
    assert!(
        cfg.apis[0]
            .logins
            .as_ref()
            .unwrap()
            .rule("loginForm")
            .is_some()
    );
}

#[test]
fn unknown_fields_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = parse(
        dir.path(),
        "      - operation: login\n        username: /u\n        max_attempts: 3\n",
    )
    .unwrap_err();
    assert!(err.contains("max_attempts"), "{err}");
}
