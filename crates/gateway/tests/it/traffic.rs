//! Traffic control through the gateway: rate limits, quotas, throttling,
//! concurrency, the flood guard, the login defence, and the Redis store shared
//! by several instances.

mod concurrency;
mod distributed;
mod failover;
mod login;
mod quotas;
mod rates;

use crate::support::{self, Gateway, Upstream};

/// A gateway in front of `up` with `api` appended to the test API's config
/// (indented as its keys) and `top` appended at the top level.
pub(crate) async fn gateway(up: &Upstream, api: &str, top: &str) -> Gateway {
    let text = format!("{}{top}\n", support::config(&up.url(), api));
    support::gateway_with(&text, &[]).await
}

/// Sends `n` GETs one after the other; the statuses, in order.
pub(crate) async fn statuses(gw: &Gateway, path: &str, n: usize) -> Vec<u16> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(gw.get_status(path).await);
    }
    out
}
