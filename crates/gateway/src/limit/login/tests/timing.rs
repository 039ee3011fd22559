//! Timing: the progressive delay, measured, and failure answers released on
//! the bucket grid, whatever their reason.

use std::time::Duration;

use super::{FAILED, Fixture, LOCKED_USER, answer, who};

#[tokio::test]
async fn the_delay_grows_with_failures_and_is_capped() {
    use crate::limit::login::progressive;
    let ms = Duration::from_millis;
    let delays: Vec<Duration> = (0..8).map(|n| progressive(ms(200), ms(3000), n)).collect();
    assert_eq!(
        delays,
        [0, 200, 400, 800, 1600, 3000, 3000, 3000].map(ms),
        "base · 2^(n-1), capped"
    );
    assert_eq!(progressive(ms(200), ms(3000), u64::MAX), ms(3000));
    assert_eq!(progressive(ms(0), ms(3000), 9), ms(0));

    // Measured: `before` holds the attempt that long.
    let f = Fixture::new(
        "      - operation: login\n        username: /username\n\
         \x20       delay: {base: 60ms, max: 150ms}\n        uniform: {bucket: 10ms}\n\
         \x20       per_username: {failures: 10, window: 1m}\n",
    );
    let body = r#"{"username":"grace"}"#;
    let mut held = Vec::new();
    for _ in 0..5 {
        let t = tokio::time::Instant::now();
        let attempt = f
            .rule()
            .before(&f.store, who(body), &f.metrics)
            .await
            .unwrap();
        held.push(t.elapsed());
        let r = f
            .rule()
            .after(&f.store, attempt, answer(401, ""), &f.metrics)
            .await;
        assert_eq!(r.unwrap_err(), FAILED);
    }
    for (n, (h, want)) in held.iter().zip([0, 60, 120, 150, 150]).enumerate() {
        let want = ms(want);
        assert!(*h >= want, "after {n} failures held {h:?}, want {want:?}");
        assert!(
            *h < want + ms(100),
            "after {n} failures held {h:?}, want {want:?}"
        );
    }
    assert_eq!(f.events("delayed"), 4);
}

#[test]
fn answers_are_released_on_the_bucket_grid() {
    use crate::limit::login::release_at;
    let start = tokio::time::Instant::now();
    let ms = Duration::from_millis;
    let b = ms(500);
    assert_eq!(
        release_at(start, start, b),
        start + b,
        "never before one bucket"
    );
    assert_eq!(release_at(start, start + ms(1), b), start + b);
    assert_eq!(release_at(start, start + b, b), start + b);
    assert_eq!(release_at(start, start + ms(501), b), start + ms(1000));
    assert_eq!(release_at(start, start + ms(2750), b), start + ms(3000));
}

#[tokio::test]
async fn failed_and_locked_answers_land_in_the_same_timing_bucket() {
    let bucket = Duration::from_millis(150);
    let f = Fixture::new(
        "      - operation: login\n        username: /username\n\
         \x20       delay: {base: 0ms, max: 0ms}\n        uniform: {bucket: 150ms}\n\
         \x20       per_username: {failures: 2, window: 1m}\n",
    );
    let timed = |user: &'static str, upstream_ms: u64| {
        let f = &f;
        async move {
            let t = tokio::time::Instant::now();
            let body = format!(r#"{{"username":"{user}"}}"#);
            let (r, _) = f
                .attempt("192.0.2.1", &body, || {
                    // A slow upstream answer.
                    std::thread::sleep(Duration::from_millis(upstream_ms));
                    answer(401, "wrong password")
                })
                .await;
            (r.unwrap_err(), t.elapsed())
        }
    };
    let (r1, t1) = timed("heidi", 0).await; // failed, fast upstream
    let (r2, t2) = timed("heidi", 40).await; // failed (and now locked), slower
    let (r3, t3) = timed("heidi", 0).await; // locked: never forwarded
    assert_eq!([r1, r2, r3], [FAILED, FAILED, LOCKED_USER]);
    for t in [t1, t2, t3] {
        assert!(
            t >= bucket && t < 2 * bucket,
            "{t:?} is in the first bucket"
        );
    }
    // An upstream slower than a bucket: the answer waits for the next edge.
    let (_, t4) = timed("ivan", 200).await;
    assert!(
        t4 >= 2 * bucket && t4 < 3 * bucket,
        "{t4:?} is in the second bucket"
    );
}
