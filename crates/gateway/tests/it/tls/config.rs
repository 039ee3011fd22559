//! Bad TLS config: missing or mismatched key and certificate files.

use super::{Ca, tls_config};
use crate::support::*;

// ---------------------------------------------------------------------------------------
// 8. Bad TLS config

fn load_with(server_cert: &str, server_key: Option<&str>) -> String {
    let dir = tempfile::tempdir().unwrap();
    write_base_files(dir.path());
    std::fs::write(dir.path().join("server.pem"), server_cert).unwrap();
    if let Some(key) = server_key {
        std::fs::write(dir.path().join("server.key"), key).unwrap();
    }
    let path = dir.path().join("portcullis.yaml");
    std::fs::write(&path, tls_config("http://127.0.0.1:9", "", "")).unwrap();
    let err = portcullis_gateway::config::load(&path).expect_err("the config is refused");
    assert_eq!(err.0.len(), 1, "{err}");
    assert_eq!(err.0[0].field, "listeners[0].tls");
    assert!(err.0[0].line.is_some(), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with(&path.display().to_string()),
        "names the config file: {text}"
    );
    assert!(text.contains(": listeners[0].tls: "), "{text}");
    text
}

#[tokio::test]
async fn a_missing_private_key_file_is_a_config_error_naming_it() {
    let ca = Ca::new("Test CA");
    let text = load_with(&ca.server().cert, None);
    assert!(text.contains("server.key"), "{text}");
}

#[tokio::test]
async fn a_key_that_does_not_match_the_certificate_is_a_config_error() {
    let ca = Ca::new("Test CA");
    let (a, b) = (ca.server(), ca.server());
    let text = load_with(&a.cert, Some(&b.key));
    assert!(
        text.contains("server.pem") && text.contains("server.key"),
        "names both files: {text}"
    );
}

#[tokio::test]
async fn a_file_without_a_certificate_is_a_config_error() {
    let ca = Ca::new("Test CA");
    let a = ca.server();
    let text = load_with(&a.key, Some(&a.key));
    assert!(text.contains("server.pem"), "{text}");
}
