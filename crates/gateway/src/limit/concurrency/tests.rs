//! Real (not paused) tokio time, with short waits: the crate's tokio has no
//! `test-util` feature.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use super::*;

fn cfg(max: usize, queue: usize, max_wait_ms: u64) -> GateConfig {
    GateConfig {
        max,
        queue,
        max_wait: Duration::from_millis(max_wait_ms),
    }
}

/// Polls a future once (enough for an `enter` to join the queue).
async fn poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> Option<F::Output> {
    let mut f = f;
    poll_fn(|cx| {
        Poll::Ready(match f.as_mut().poll(cx) {
            Poll::Ready(v) => Some(v),
            Poll::Pending => None,
        })
    })
    .await
}

/// Waits (briefly) until `cond` holds.
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[test]
fn a_permit_is_send_and_static() {
    fn send_static<T: Send + 'static>() {}
    send_static::<Permit>();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_maximum_in_flight_is_never_exceeded() {
    let gate = Arc::new(Gate::new(cfg(3, 100, 10_000)));
    let now = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..24)
        .map(|_| {
            let (gate, now, peak) = (Arc::clone(&gate), Arc::clone(&now), Arc::clone(&peak));
            tokio::spawn(async move {
                let permit = gate.enter().await?;
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(3)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                drop(permit);
                Ok::<(), Full>(())
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.expect("a task"), Ok(()));
    }
    assert_eq!(peak.load(Ordering::SeqCst), 3);
    assert_eq!(gate.load(), (0, 0));
}

#[tokio::test]
async fn a_full_queue_refuses_at_once() {
    let gate = Arc::new(Gate::new(cfg(1, 1, 10_000)));
    let held = gate.enter().await.expect("a free slot");
    let waiter = tokio::spawn({
        let gate = Arc::clone(&gate);
        async move { gate.enter().await.map(drop) }
    });
    until("one waiting", || gate.load() == (1, 1)).await;
    let start = Instant::now();
    assert_eq!(gate.enter().await.err(), Some(Full::Queue));
    assert!(start.elapsed() < Duration::from_millis(100));
    assert_eq!(gate.load(), (1, 1), "the refused request took no place");
    drop(held);
    assert_eq!(waiter.await.expect("the waiter"), Ok(()));

    let no_queue = Gate::new(cfg(1, 0, 10_000));
    let _held = no_queue.enter().await.expect("a free slot");
    assert_eq!(no_queue.enter().await.err(), Some(Full::Queue));
    assert_eq!(no_queue.load(), (1, 0));
}

#[tokio::test]
async fn a_request_that_waits_too_long_times_out() {
    let gate = Gate::new(cfg(1, 4, 50));
    let _held = gate.enter().await.expect("a free slot");
    let start = Instant::now();
    assert_eq!(gate.enter().await.err(), Some(Full::Timeout));
    assert!(start.elapsed() >= Duration::from_millis(50));
    assert_eq!(gate.load(), (1, 0), "the place is given back");
}

#[tokio::test]
async fn queued_requests_get_released_slots_in_order() {
    let gate = Arc::new(Gate::new(cfg(1, 2, 10_000)));
    let held = gate.enter().await.expect("a free slot");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for n in 1..=2 {
        let (g, tx) = (Arc::clone(&gate), tx.clone());
        tokio::spawn(async move {
            let permit = g.enter().await;
            let _ = tx.send((n, permit.is_ok()));
            tokio::time::sleep(Duration::from_millis(20)).await;
        });
        until("queued", || gate.load() == (1, n)).await;
    }
    assert!(
        rx.try_recv().is_err(),
        "nobody got in while the slot was held"
    );
    drop(held);
    assert_eq!(rx.recv().await, Some((1, true)), "first come, first served");
    assert_eq!(rx.recv().await, Some((2, true)));
    until("all released", || gate.load() == (0, 0)).await;
}

#[tokio::test]
async fn a_cancelled_waiter_frees_its_place_and_leaks_no_slot() {
    let gate = Gate::new(cfg(1, 1, 10_000));
    let held = gate.enter().await.expect("a free slot");
    // Cancelled while waiting: its queue place is free again.
    let cancelled = tokio::time::timeout(Duration::from_millis(10), gate.enter()).await;
    assert!(cancelled.is_err());
    assert_eq!(gate.load(), (1, 0));
    {
        let mut waiter = pin!(gate.enter());
        assert!(poll_once(waiter.as_mut()).await.is_none(), "it waits");
        assert_eq!(gate.load(), (1, 1));
        assert_eq!(gate.enter().await.err(), Some(Full::Queue));
        // The slot is handed to the waiter, which is dropped before it runs.
        drop(held);
    }
    assert_eq!(gate.load(), (0, 0), "the slot came back");
    let a = gate.enter().await.expect("the slot");
    assert_eq!(gate.load(), (1, 0));
    drop(a);
}

#[tokio::test]
async fn a_permit_is_released_on_another_task() {
    let gate = Gate::new(cfg(1, 0, 0));
    let permit = gate.enter().await.expect("a free slot");
    tokio::spawn(async move { drop(permit) })
        .await
        .expect("the task");
    assert_eq!(gate.load(), (0, 0));
}

#[tokio::test]
async fn keys_are_independent_and_removed_when_idle() {
    let keyed = Keyed::new(cfg(1, 0, 10_000), 10);
    let a = keyed.enter("alice").await.expect("alice's slot");
    assert_eq!(keyed.enter("alice").await.err(), Some(Full::Queue));
    let b = keyed.enter("bob").await.expect("bob's slot is his own");
    assert_eq!(keyed.keys(), 2);
    assert_eq!(keyed.load("alice"), Some((1, 0)));
    drop(a);
    assert_eq!(keyed.keys(), 1);
    assert_eq!(keyed.load("alice"), None);
    drop(b);
    assert_eq!(keyed.keys(), 0);
    let a = keyed.enter("alice").await.expect("alice again");
    assert_eq!(keyed.load("alice"), Some((1, 0)));
    drop(a);
    assert_eq!(keyed.keys(), 0);
}

#[tokio::test]
async fn waiting_keeps_a_key_and_cancelling_or_timing_out_removes_it() {
    let keyed = Keyed::new(cfg(1, 1, 30), 10);
    let held = keyed.enter("k").await.expect("a free slot");
    assert_eq!(keyed.enter("k").await.err(), Some(Full::Timeout));
    let cancelled = tokio::time::timeout(Duration::from_millis(5), keyed.enter("k")).await;
    assert!(cancelled.is_err());
    {
        let mut waiter = pin!(keyed.enter("k"));
        assert!(poll_once(waiter.as_mut()).await.is_none());
        assert_eq!(keyed.load("k"), Some((1, 1)));
        drop(held);
        assert_eq!(keyed.keys(), 1, "the waiter still holds the key");
    }
    assert_eq!(keyed.keys(), 0, "no holder, no waiter: removed");
    assert!(keyed.enter("k").await.is_ok());
    assert_eq!(keyed.keys(), 0);
}

#[tokio::test]
async fn past_max_keys_a_new_key_is_refused() {
    let keyed = Keyed::new(cfg(2, 0, 10_000), 2);
    let a = keyed.enter("a").await.expect("a");
    let _b = keyed.enter("b").await.expect("b");
    assert_eq!(keyed.enter("c").await.err(), Some(Full::TooManyKeys));
    let a2 = keyed.enter("a").await.expect("a known key still enters");
    assert_eq!(keyed.keys(), 2);
    drop((a, a2));
    let _c = keyed.enter("c").await.expect("a place for c");
    assert_eq!(keyed.keys(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_on_few_keys_respect_each_limit_and_leave_nothing() {
    let keyed = Arc::new(Keyed::new(cfg(2, 50, 10_000), 8));
    let counts: Arc<Vec<AtomicUsize>> = Arc::new((0..4).map(|_| AtomicUsize::new(0)).collect());
    let peaks: Arc<Vec<AtomicUsize>> = Arc::new((0..4).map(|_| AtomicUsize::new(0)).collect());
    let tasks: Vec<_> = (0..40usize)
        .map(|i| {
            let (keyed, counts, peaks) =
                (Arc::clone(&keyed), Arc::clone(&counts), Arc::clone(&peaks));
            tokio::spawn(async move {
                let k = i % 4;
                let permit = keyed.enter(&format!("consumer-{k}")).await?;
                let n = counts[k].fetch_add(1, Ordering::SeqCst) + 1;
                peaks[k].fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2)).await;
                counts[k].fetch_sub(1, Ordering::SeqCst);
                drop(permit);
                Ok::<(), Full>(())
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.expect("a task"), Ok(()));
    }
    let peaks: Vec<usize> = peaks.iter().map(|p| p.load(Ordering::SeqCst)).collect();
    assert!(peaks.iter().all(|&p| p == 2), "{peaks:?}");
    assert_eq!(keyed.keys(), 0);
}
