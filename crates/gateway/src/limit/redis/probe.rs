//! The prober: connects in the background and pings, so the store's state
//! follows Redis without any request paying for it.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;

use super::Inner;
use super::health::classify;

/// How often the prober pings while the store is down.
const PROBE_DOWN: Duration = Duration::from_millis(250);
/// How often the prober pings while the store is up.
const PROBE_UP: Duration = Duration::from_secs(1);

/// The prober: connects, then pings (and, coming up, loads the scripts); marks
/// the store up when Redis answers and down when it does not. A failed probe replaces the connection, so a
/// connection that hangs (rather than fails) cannot outlive an outage.
pub(super) async fn run(inner: Arc<Inner>) {
    loop {
        let conn = match inner.conn.load_full() {
            Some(c) => Some(c),
            None => inner.connect(),
        };
        let result = match conn {
            None => Err("invalid client configuration"),
            Some(c) => {
                let mut c = (*c).clone();
                let was_up = inner.health.is_up();
                let work = async {
                    redis::cmd("PING").query_async::<String>(&mut c).await?;
                    if !was_up {
                        // Loaded before the first check, so no check pays for
                        // a NOSCRIPT round trip (nor counts a failed EVALSHA).
                        for script in super::scripts() {
                            script.load_async(&mut c).await?;
                        }
                    }
                    Ok::<(), redis::RedisError>(())
                };
                match tokio::time::timeout(inner.timeout, work).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(classify(&e).0),
                    Err(_) => Err("timeout"),
                }
            }
        };
        match result {
            Ok(()) => inner.health.up(),
            Err(kind) => {
                inner.health.down(kind);
                inner.connect();
            }
        }
        let pause = if inner.health.is_up() {
            PROBE_UP
        } else {
            PROBE_DOWN
        };
        tokio::time::sleep(pause).await;
    }
}

impl Inner {
    /// A fresh (lazy) connection, replacing the current one.
    fn connect(&self) -> Option<Arc<ConnectionManager>> {
        let client = self.client.clone()?;
        match ConnectionManager::new_lazy_with_config(client, self.manager.clone()) {
            Ok(m) => {
                let m = Arc::new(m);
                self.conn.store(Some(m.clone()));
                Some(m)
            }
            Err(e) => {
                self.health.down(classify(&e).0);
                None
            }
        }
    }
}
