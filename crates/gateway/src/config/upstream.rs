//! `upstreams.<name>` as written to a validated `UpstreamConfig`.

use std::time::Duration;

use super::UpstreamConfig;
use super::check::Checker;
use super::raw::RawUpstream;
use crate::tls;

/// Checks one upstream group (`name` is its key under `upstreams`).
pub(super) fn upstream(c: &mut Checker<'_>, name: &str, u: &RawUpstream) -> Option<UpstreamConfig> {
    let field = format!("upstreams.{name}");
    let mut targets = Vec::new();
    for (i, t) in u.targets.iter().enumerate() {
        match t.value.parse::<http::Uri>() {
            Ok(uri)
                if matches!(uri.scheme_str(), Some("http" | "https"))
                    && uri.host().is_some()
                    && uri.query().is_none() =>
            {
                targets.push(uri)
            }
            _ => c.error(
                Some(t),
                format!("{field}.targets[{i}]"),
                "not an http:// or https:// URL with a host (and no query)",
            ),
        }
    }
    if u.targets.is_empty() {
        c.error::<()>(
            None,
            format!("{field}.targets"),
            "an upstream needs at least one target",
        );
    }
    let ca_bundle = match &u.ca_bundle {
        None => None,
        Some(p) => {
            let path = c.path(&p.value);
            match tls::read_certs(&path) {
                Ok(certs) => Some(certs),
                Err(e) => {
                    c.error(Some(p), format!("{field}.ca_bundle"), e);
                    None
                }
            }
        }
    };
    Some(UpstreamConfig {
        name: name.to_owned(),
        targets,
        ca_bundle,
        http2: u.http2.unwrap_or(false),
        connect_timeout: u.connect_timeout.map_or(Duration::from_secs(2), |s| s.0),
        timeout: u.timeout.map_or(Duration::from_secs(30), |s| s.0),
        retries: u.retries.unwrap_or(1).min(5),
        max_failures: u.max_failures.unwrap_or(3).max(1),
        failure_cooldown: u.failure_cooldown.map_or(Duration::from_secs(10), |s| s.0),
        preserve_host: u.preserve_host.unwrap_or(false),
        pool_idle_timeout: u.pool_idle_timeout.map_or(Duration::from_secs(90), |s| s.0),
        pool_max_idle: u.pool_max_idle.unwrap_or(256),
        concurrency: u.concurrency.as_ref().and_then(|k| {
            if k.max.value == 0 {
                c.error(
                    Some(&k.max),
                    format!("{field}.concurrency.max"),
                    "must be at least 1",
                );
                return None;
            }
            Some(crate::limit::config::gate_config(k.max.value, k.queue))
        }),
    })
}
