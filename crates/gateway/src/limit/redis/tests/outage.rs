//! Outages: a killed, hung, absent or misconfigured Redis, and TLS.

use std::time::Instant;

use super::*;

fn items() -> [Item; 1] {
    [rate_item("rl:o", 1_000, 1_000_000, 0)]
}

#[tokio::test]
async fn a_killed_server_goes_down_once_and_the_prober_brings_it_back() {
    let mut redis = TestRedis::start();
    let metrics = Arc::new(Metrics::new());
    let s = store(&redis, &metrics).await;
    assert_eq!(s.transitions(), 0, "connecting is not a transition");
    assert_eq!(events(&metrics, "up"), 0);
    assert!(metrics.encode().contains("portcullis_store_up 1"));
    s.check(&items()).await.unwrap();

    redis.kill();
    let t = Instant::now();
    assert!(s.check(&items()).await.is_err());
    assert!(
        t.elapsed() < TIMEOUT + Duration::from_millis(200),
        "{:?}",
        t.elapsed()
    );
    assert!(!s.is_up());
    let t = Instant::now();
    for _ in 0..100 {
        assert_eq!(s.check(&items()).await, Err(StoreError::Down));
        assert_eq!(s.incr("c", 1_000_000).await, Err(StoreError::Down));
    }
    assert!(
        t.elapsed() < Duration::from_millis(100),
        "no network while down"
    );
    assert!(events(&metrics, "skipped_down") >= 200);
    tokio::time::sleep(Duration::from_millis(800)).await; // failed probes
    assert_eq!(s.transitions(), 1, "down once");
    assert_eq!(events(&metrics, "down"), 1);
    let status = s.status();
    assert_eq!(status["state"], "down");
    assert_eq!(status["server"], format!("127.0.0.1:{}", redis.port()));
    assert!(status["last_error"].is_string());
    assert!(metrics.encode().contains("portcullis_store_up 0"));

    redis.restart();
    wait_up(&s).await;
    assert!(s.check(&items()).await.unwrap().admitted);
    assert_eq!(s.transitions(), 2);
    assert_eq!(events(&metrics, "up"), 1);
    assert_eq!(s.status()["state"], "up");
    let since = s.status()["since"].as_str().unwrap().to_owned();
    assert!(
        since.parse::<jiff::Timestamp>().is_ok(),
        "RFC 3339: {since}"
    );
}

#[tokio::test]
async fn a_hung_server_costs_one_timeout_then_nothing() {
    let redis = TestRedis::start();
    let metrics = Arc::new(Metrics::new());
    let s = store(&redis, &metrics).await;
    redis.pause();
    let t = Instant::now();
    assert_eq!(s.check(&items()).await, Err(StoreError::Timeout));
    let took = t.elapsed();
    assert!(
        took >= TIMEOUT - Duration::from_millis(20) && took < TIMEOUT + Duration::from_millis(250),
        "{took:?}"
    );
    let t = Instant::now();
    assert_eq!(s.get(&["c"]).await, Err(StoreError::Down));
    assert!(t.elapsed() < Duration::from_millis(50), "no second timeout");
    assert_eq!(events(&metrics, "call_timeout"), 1);
    assert_eq!(s.status()["last_error"], "timeout");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!s.is_up());
    redis.resume();
    wait_up(&s).await;
    assert!(s.check(&items()).await.unwrap().admitted);
    assert_eq!(s.transitions(), 2);
}

#[tokio::test]
async fn start_neither_fails_nor_waits_while_redis_is_absent() {
    let mut redis = TestRedis::start();
    redis.kill();
    let metrics = Arc::new(Metrics::new());
    let t = Instant::now();
    let s = RedisStore::start(redis.config(&redis.url(), Duration::from_secs(2)), metrics);
    assert_eq!(s.check(&items()).await, Err(StoreError::Down));
    assert!(
        t.elapsed() < Duration::from_millis(200),
        "no waiting for Redis"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(s.status()["state"], "down");
    assert_eq!(s.transitions(), 0);
    redis.restart();
    wait_up(&s).await;
    assert!(s.check(&items()).await.unwrap().admitted);
    assert_eq!(s.transitions(), 0, "the first connection, however late");
    s.stop();
    assert_eq!(s.check(&items()).await, Err(StoreError::Down), "stopped");
}

#[tokio::test]
async fn a_password_is_used_and_never_shown() {
    let redis = TestRedis::start_with(&["--requirepass".into(), "hunter2-pw".into()]);
    let metrics = Arc::new(Metrics::new());
    let url = format!("redis://:hunter2-pw@127.0.0.1:{}/0", redis.port());
    let s = RedisStore::start(redis.config(&url, TIMEOUT), metrics.clone());
    wait_up(&s).await;
    assert!(s.check(&items()).await.unwrap().admitted);
    assert!(!s.status().to_string().contains("hunter2"));
    assert!(!format!("{s:?}").contains("hunter2"));

    let wrong = format!("redis://:hunter2-wrong@127.0.0.1:{}", redis.port());
    let bad = RedisStore::start(redis.config(&wrong, TIMEOUT), metrics.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!bad.is_up());
    let status = bad.status().to_string();
    assert!(!status.contains("hunter2"), "{status}");
    assert!(bad.status()["last_error"].is_string(), "{status}");
    assert!(!metrics.encode().contains("hunter2"));
    let e = check_url("redis://:hunter2-pw@h:notaport").unwrap_err();
    assert!(!e.contains("hunter2") && e.contains("redis://"), "{e}");
    check_url(&url).unwrap();
}

#[tokio::test]
async fn rediss_connects_over_tls() {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "test redis ca");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, pem: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, pem).unwrap();
        p.display().to_string()
    };
    let (cert, key, ca_file) = (
        file("cert.pem", leaf.pem()),
        file("key.pem", leaf_key.serialize_pem()),
        file("ca.pem", ca.pem()),
    );
    let tls_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let redis = TestRedis::start_with(&[
        "--tls-port".into(),
        tls_port.to_string(),
        "--tls-cert-file".into(),
        cert,
        "--tls-key-file".into(),
        key,
        "--tls-ca-cert-file".into(),
        ca_file,
        "--tls-auth-clients".into(),
        "no".into(),
    ]);
    let metrics = Arc::new(Metrics::new());
    let url = format!("rediss://localhost:{tls_port}");
    let cfg = redis.config(&url, Duration::from_secs(2));
    let s = RedisStore::start_with_ca(cfg.clone(), metrics.clone(), Some(ca.pem().into_bytes()));
    wait_up(&s).await;
    assert!(s.check(&items()).await.unwrap().admitted);
    assert_eq!(s.status()["server"], format!("localhost:{tls_port}"));
    assert_eq!(redis.cmd(&["EXISTS", "test:rl:o"]).unwrap(), "1");

    // Without the CA the server is not trusted: the store stays down.
    let untrusted = RedisStore::start(cfg, metrics);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(!untrusted.is_up(), "{}", untrusted.status());
}
