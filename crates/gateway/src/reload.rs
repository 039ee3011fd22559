//! Reload on change: polls the config and every file it references.
//!
//! Polling (stat, following symlinks) rather than inotify: directory watches wake on
//! every write to anything beside the config — an audit log in the same directory
//! woke the watcher thousands of times a second — while a stat of a handful of files
//! once a second costs nothing. Following symlinks catches Kubernetes ConfigMap swaps.

use std::sync::Arc;

use tokio::sync::watch;

use crate::Gateway;
use crate::config::{Stamp, stamp};

/// Polls until `stopped` flips; a change triggers `Gateway::reload`.
pub async fn watch(gw: Arc<Gateway>, mut stopped: watch::Receiver<bool>) {
    // Stamps already acted on without a swap (rejected, or same content): not retried
    // until the files change again.
    let mut settled: Option<Vec<Stamp>> = None;
    loop {
        let rt = gw.runtime();
        let (every, files, loaded) = (
            rt.config.runtime.watch_interval,
            rt.config.files.clone(),
            rt.config.stamps.clone(),
        );
        drop(rt);
        tokio::select! {
            _ = stopped.changed() => return,
            () = tokio::time::sleep(every) => {}
        }
        let Ok(now) =
            tokio::task::spawn_blocking(move || files.iter().map(|f| stamp(f)).collect::<Vec<_>>())
                .await
        else {
            return;
        };
        if now == loaded || settled.as_ref() == Some(&now) {
            continue;
        }
        let gw2 = gw.clone();
        settled = match tokio::task::spawn_blocking(move || gw2.reload("watch")).await {
            Ok(Ok(Some(_))) => None,
            _ => Some(now),
        };
    }
}
