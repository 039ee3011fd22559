//! Config errors name the file, the line and the field, and every problem is reported.

use crate::support::*;

fn load(text: &str) -> Result<portcullis_gateway::config::Config, String> {
    let dir = tempfile::tempdir().unwrap();
    write_base_files(dir.path());
    let path = dir.path().join("portcullis.yaml");
    std::fs::write(&path, text).unwrap();
    portcullis_gateway::config::load(&path).map_err(|e| {
        e.to_string()
            .replace(&format!("{}/", dir.path().display()), "")
    })
}

#[test]
fn the_test_config_is_valid() {
    let cfg = load(&config("http://127.0.0.1:1", "")).unwrap();
    assert_eq!(cfg.apis[0].spec.as_ref().unwrap().operations.len(), 9);
    assert_eq!(format!("{:?}", cfg.admin.token), "Some([redacted])");
}

#[test]
fn unknown_fields_are_named_with_their_line() {
    let text = config("http://127.0.0.1:1", "").replace(
        "    connect_timeout: 500ms\n",
        "    conect_timeout: 500ms\n",
    );
    let err = load(&text).unwrap_err();
    let line = text
        .lines()
        .position(|l| l.contains("conect_timeout"))
        .unwrap()
        + 1;
    assert!(
        err.starts_with(&format!("portcullis.yaml:{line}:")),
        "{err}"
    );
    assert!(err.contains("conect_timeout"), "{err}");
}

#[test]
fn syntax_errors_have_a_position() {
    let err = load("listeners: [\n  - address: 1\n").unwrap_err();
    assert!(err.starts_with("portcullis.yaml:"), "{err}");
    assert!(
        err.split(':').nth(1).unwrap().parse::<u32>().is_ok(),
        "a line number: {err}"
    );
}

#[test]
fn every_semantic_problem_is_reported_with_line_and_field() {
    let text = r#"
listeners:
  - address: not-an-address
upstreams:
  main:
    targets: [ftp://example]
trusted_proxies: [10.0.0.0/33]
admin:
  token: hunter2
apis:
  - name: a
    spec: missing.yaml
    upstream: main
  - name: b
    without_spec: true
    upstream: nowhere
    mode: sometimes
"#;
    let err = load(text).unwrap_err();
    let lines: Vec<&str> = err.lines().collect();
    let expect = [
        ("portcullis.yaml:3:", "listeners[0].address"),
        ("portcullis.yaml:6:", "upstreams.main.targets[0]"),
        ("portcullis.yaml:7:", "trusted_proxies[0]"),
        ("portcullis.yaml:9:", "admin.token"),
        ("portcullis.yaml:12:", "apis[0].spec"),
        ("portcullis.yaml:16:", "apis[1].upstream"),
        ("portcullis.yaml:17:", "apis[1].mode"),
    ];
    for (at, field) in expect {
        assert!(
            lines.iter().any(|l| l.starts_with(at) && l.contains(field)),
            "missing {at} {field} in:\n{err}"
        );
    }
    assert!(!err.contains("hunter2"), "secrets are never echoed");
}

#[test]
fn spec_errors_name_the_spec_file_and_position() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spec.yaml"), "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        '200': {$ref: 'http://evil.example/x'}\n").unwrap();
    let path = dir.path().join("portcullis.yaml");
    std::fs::write(
        &path,
        config("http://127.0.0.1:1", "").replace("  token: file:admin-token\n", ""),
    )
    .unwrap();
    let err = portcullis_gateway::config::load(&path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("apis[0].spec")
            && err.contains("spec.yaml")
            && err.contains("http://evil.example/x"),
        "{err}"
    );
}
