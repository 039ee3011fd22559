//! Reload on change: watches the directories of the config and every file it references
//! (directories, because Kubernetes swaps ConfigMap files through symlinks).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch};

use crate::Gateway;

/// Changes closer together than this are one reload.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// Watches files until `stopped` flips; a change triggers `Gateway::reload`.
pub async fn watch(gw: Arc<Gateway>, mut stopped: watch::Receiver<bool>) {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let handler = move |event: notify::Result<notify::Event>| {
        if let Ok(e) = event
            && !e.kind.is_access()
        {
            let _ = tx.try_send(());
        }
    };
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "file watching unavailable; reload with SIGHUP or POST /reload");
            return;
        }
    };
    let mut watched = BTreeSet::new();
    loop {
        let dirs = directories(&gw);
        for d in dirs.difference(&watched) {
            if let Err(e) = watcher.watch(d, RecursiveMode::NonRecursive) {
                tracing::warn!(dir = %d.display(), error = %e, "cannot watch");
            }
        }
        for d in watched.difference(&dirs) {
            let _ = watcher.unwatch(d);
        }
        watched = dirs;
        tokio::select! {
            _ = stopped.changed() => return,
            got = rx.recv() => if got.is_none() { return },
        }
        tokio::time::sleep(DEBOUNCE).await;
        while rx.try_recv().is_ok() {}
        let gw2 = gw.clone();
        let _ = tokio::task::spawn_blocking(move || gw2.reload("watch")).await;
    }
}

fn directories(gw: &Gateway) -> BTreeSet<PathBuf> {
    gw.runtime()
        .config
        .files
        .iter()
        .filter_map(|f| {
            let dir = f.parent()?;
            Some(if dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                dir.to_path_buf()
            })
        })
        .collect()
}
