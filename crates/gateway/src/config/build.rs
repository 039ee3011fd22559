//! Raw config to validated `Config`: every check, every referenced file, all errors at once.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest;

use super::check::Checker;
use super::raw::{RawApi, RawConfig, RawListener, RawUpstream};
use super::upstream::upstream;
use super::*;
use crate::tls;

pub(super) fn build(raw: &RawConfig, text: &str, file: &Path) -> Result<Config, ConfigErrors> {
    let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut c = Checker {
        file,
        base,
        errors: Vec::new(),
        warnings: Vec::new(),
        files: vec![file.to_path_buf()],
        stamps: vec![stamp(file)],
    };

    if raw.listeners.is_empty() {
        c.error::<()>(None, "listeners", "at least one listener is needed");
    }
    let listeners: Vec<_> = raw
        .listeners
        .iter()
        .enumerate()
        .filter_map(|(i, l)| listener(&mut c, i, l))
        .collect();
    let admin = admin(&mut c, raw.admin.as_ref());
    let limits = limits(&mut c, &raw.limits);
    let normalize = NormalizeOptions {
        merge_slashes: raw.normalize.merge_slashes.unwrap_or(true),
        reject_encoded_slash: raw.normalize.reject_encoded_slash.unwrap_or(true),
        reject_backslash: raw.normalize.reject_backslash.unwrap_or(true),
    };
    let mut trusted_proxies = Vec::new();
    for (i, cidr) in raw.trusted_proxies.iter().enumerate() {
        match parse_cidr(&cidr.value) {
            Ok(net) => trusted_proxies.push(net),
            Err(e) => c.error(Some(cidr), format!("trusted_proxies[{i}]"), e),
        }
    }
    let security_headers = security_headers(&mut c, &raw.security_headers);
    let audit = AuditConfig {
        file: raw.audit.file.as_ref().map(|f| c.base.join(&f.value)),
        stdout: raw.audit.stdout.unwrap_or(false),
        queue_capacity: raw.audit.queue_capacity.unwrap_or(65_536).max(1),
    };
    let upstreams: BTreeMap<_, _> = raw
        .upstreams
        .iter()
        .filter_map(|(name, u)| upstream(&mut c, name, u).map(|u| (name.clone(), u)))
        .collect();
    let identity_providers: BTreeMap<_, _> = raw
        .identity_providers
        .iter()
        .filter_map(|(name, p)| {
            crate::authn::check_provider(&mut c, name, p).map(|p| (name.clone(), p))
        })
        .collect();
    let identity_token = identity_token(&mut c, raw.identity_token.as_ref());
    let store = crate::limit::settings::store(&mut c, raw.store.as_ref());
    let flood_guard = crate::limit::settings::flood(&mut c, raw.flood_guard.as_ref());
    if raw.apis.is_empty() {
        c.error::<()>(None, "apis", "at least one API is needed");
    }
    let mut apis = Vec::new();
    for (i, a) in raw.apis.iter().enumerate() {
        if let Some(api) = api(&mut c, i, a, &raw.upstreams, &identity_providers) {
            if apis.iter().any(|o: &ApiConfig| o.name == api.name) {
                c.error(
                    Some(&a.name),
                    format!("apis[{i}].name"),
                    "two APIs have this name",
                );
            }
            apis.push(api);
        }
    }
    if !c.errors.is_empty() {
        return Err(ConfigErrors(c.errors));
    }
    let version = version(text, &c.files);
    Ok(Config {
        source: file.to_path_buf(),
        version,
        files: c.files,
        stamps: c.stamps,
        listeners,
        admin,
        runtime: RuntimeSettings {
            worker_threads: raw.runtime.worker_threads,
            shutdown_grace: raw
                .runtime
                .shutdown_grace
                .map_or(Duration::from_secs(30), |s| s.0),
            watch_config: raw.runtime.watch_config.unwrap_or(true),
            watch_interval: raw
                .runtime
                .watch_interval
                .map_or(Duration::from_secs(1), |s| {
                    s.0.max(Duration::from_millis(50))
                }),
        },
        limits,
        normalize,
        trusted_proxies,
        security_headers,
        audit,
        upstreams,
        identity_providers,
        identity_token,
        store,
        flood_guard,
        apis,
        warnings: c.warnings,
    })
}

fn identity_token(
    c: &mut Checker<'_>,
    raw: Option<&super::raw::RawIdentityToken>,
) -> IdentityTokenConfig {
    let signing_key = raw
        .and_then(|r| r.signing_key.as_ref())
        .and_then(|k| c.secret(k, "identity_token.signing_key"));
    IdentityTokenConfig {
        signing_key,
        issuer: raw
            .and_then(|r| r.issuer.clone())
            .unwrap_or_else(|| "portcullis".to_owned()),
        lifetime: raw
            .and_then(|r| r.lifetime)
            .map_or(Duration::from_secs(60), |s| s.0),
    }
}

fn listener(c: &mut Checker<'_>, i: usize, l: &RawListener) -> Option<ListenerConfig> {
    let field = format!("listeners[{i}]");
    let address = match l.address.value.parse::<SocketAddr>() {
        Ok(a) => a,
        Err(_) => {
            c.error(
                Some(&l.address),
                format!("{field}.address"),
                "not an IP:port address",
            );
            return None;
        }
    };
    let http2 = l.http2.unwrap_or(true);
    let tls = match &l.tls {
        None => None,
        Some(t) => {
            let cert = c.path(&t.certificate.value);
            let key = c.path(&t.private_key.value);
            let ca = t.client_ca.as_ref().map(|p| c.path(&p.value));
            let auth = match t.client_auth.as_ref().map(|s| s.value.as_str()) {
                None if ca.is_some() => tls::ClientAuth::Required,
                None | Some("none") => tls::ClientAuth::None,
                Some("optional") => tls::ClientAuth::Optional,
                Some("required") => tls::ClientAuth::Required,
                Some(other) => {
                    c.error(
                        t.client_auth.as_ref(),
                        format!("{field}.tls.client_auth"),
                        format!("`{other}` is not one of none, optional, required"),
                    );
                    return None;
                }
            };
            if auth != tls::ClientAuth::None && ca.is_none() {
                c.error(
                    t.client_auth.as_ref(),
                    format!("{field}.tls.client_ca"),
                    "client certificates need a client_ca bundle to verify them",
                );
                return None;
            }
            let files = tls::Files {
                certificate: cert,
                private_key: key,
                client_ca: ca,
                client_auth: auth,
            };
            match tls::server_config(&files, http2) {
                Ok(cfg) => Some(Arc::new(cfg)),
                Err(e) => {
                    c.error(Some(&t.certificate), format!("{field}.tls"), e);
                    return None;
                }
            }
        }
    };
    Some(ListenerConfig {
        address,
        tls,
        http2,
    })
}

fn admin(c: &mut Checker<'_>, raw: Option<&super::raw::RawAdmin>) -> AdminConfig {
    let default: SocketAddr = ([127, 0, 0, 1], 9901).into();
    let Some(raw) = raw else {
        return AdminConfig {
            address: default,
            token: None,
        };
    };
    let address = match &raw.address {
        None => default,
        Some(a) => a.value.parse().unwrap_or_else(|_| {
            c.error(Some(a), "admin.address", "not an IP:port address");
            default
        }),
    };
    let token = raw.token.as_ref().and_then(|t| {
        Secret::resolve(&t.value, &c.base.clone())
            .map_err(|e| c.error(Some(t), "admin.token", e))
            .ok()
    });
    if token.is_none() && !address.ip().is_loopback() {
        c.error(
            raw.address.as_ref(),
            "admin.address",
            "the admin API listens beyond loopback only with a token (admin.token: env:NAME or file:PATH)",
        );
    }
    AdminConfig { address, token }
}

fn limits(c: &mut Checker<'_>, raw: &super::raw::RawLimits) -> Limits {
    let d = Limits::default();
    let l = Limits {
        max_header_bytes: raw
            .max_header_bytes
            .map_or(d.max_header_bytes, |b| b.0 as usize),
        max_headers: raw.max_headers.unwrap_or(d.max_headers),
        max_uri_bytes: raw.max_uri_bytes.map_or(
            d.max_uri_bytes.min(
                raw.max_header_bytes
                    .map_or(d.max_header_bytes, |b| b.0 as usize),
            ),
            |b| b.0 as usize,
        ),
        max_body_bytes: raw.max_body_bytes.map_or(d.max_body_bytes, |b| b.0),
        header_timeout: raw.header_timeout.map_or(d.header_timeout, |s| s.0),
        idle_timeout: raw.idle_timeout.map_or(d.idle_timeout, |s| s.0),
        max_connections: raw.max_connections.unwrap_or(d.max_connections),
        max_concurrent_streams: raw
            .max_concurrent_streams
            .unwrap_or(d.max_concurrent_streams),
    };
    if !(1024..=1 << 20).contains(&l.max_header_bytes) {
        c.error::<()>(
            None,
            "limits.max_header_bytes",
            "must be between 1KiB and 1MiB",
        );
    }
    if l.max_uri_bytes < 64 || l.max_uri_bytes > l.max_header_bytes {
        c.error::<()>(
            None,
            "limits.max_uri_bytes",
            "must be at least 64 and at most max_header_bytes",
        );
    }
    if l.max_headers == 0 || l.max_connections == 0 || l.max_concurrent_streams == 0 {
        c.error::<()>(
            None,
            "limits",
            "max_headers, max_connections and max_concurrent_streams must be positive",
        );
    }
    if l.header_timeout.is_zero() || l.idle_timeout.is_zero() {
        c.error::<()>(
            None,
            "limits",
            "header_timeout and idle_timeout must be positive",
        );
    }
    l
}

fn security_headers(c: &mut Checker<'_>, raw: &super::raw::RawSecurityHeaders) -> SecurityHeaders {
    let mut custom = Vec::new();
    for (name, value) in &raw.custom {
        match (
            http::HeaderName::try_from(name.as_str()),
            http::HeaderValue::try_from(value.as_str()),
        ) {
            (Ok(n), Ok(v)) => custom.push((n, v)),
            _ => c.error::<()>(
                None,
                format!("security_headers.custom.{name}"),
                "not a valid header name and value",
            ),
        }
    }
    let check = |c: &mut Checker<'_>, field: &str, v: &str| {
        if http::HeaderValue::try_from(v).is_err() {
            c.error::<()>(
                None,
                format!("security_headers.{field}"),
                "not a valid header value",
            );
        }
    };
    let hsts = raw
        .hsts
        .clone()
        .unwrap_or_else(|| "max-age=31536000; includeSubDomains".into());
    let json_csp = raw
        .json_csp
        .clone()
        .unwrap_or_else(|| "default-src 'none'; frame-ancestors 'none'".into());
    check(c, "hsts", &hsts);
    check(c, "json_csp", &json_csp);
    SecurityHeaders {
        enabled: raw.enabled.unwrap_or(true),
        hsts,
        json_csp,
        custom,
    }
}

fn api(
    c: &mut Checker<'_>,
    i: usize,
    a: &RawApi,
    upstreams: &BTreeMap<String, RawUpstream>,
    providers: &BTreeMap<String, crate::authn::ProviderConfig>,
) -> Option<ApiConfig> {
    let field = format!("apis[{i}]");
    if !upstreams.contains_key(&a.upstream.value) {
        c.error(
            Some(&a.upstream),
            format!("{field}.upstream"),
            format!("no upstream named `{}` under `upstreams`", a.upstream.value),
        );
    }
    let base_path = match &a.base_path {
        None => String::new(),
        Some(b) => match canonical_base_path(&b.value) {
            Ok(p) => p,
            Err(e) => {
                c.error(Some(b), format!("{field}.base_path"), e);
                return None;
            }
        },
    };
    let spec = match (&a.spec, a.without_spec.unwrap_or(false)) {
        (Some(s), false) => {
            let path = c.path(&s.value);
            match portcullis_openapi::load(&path) {
                Ok(spec) => Some(Arc::new(spec)),
                Err(e) => {
                    c.error(Some(s), format!("{field}.spec"), e.to_string());
                    return None;
                }
            }
        }
        (None, true) => None,
        (Some(s), true) => {
            c.error(
                Some(s),
                field.to_string(),
                "give either `spec` or `without_spec: true`, not both",
            );
            return None;
        }
        (None, false) => {
            c.error(
                Some(&a.name),
                field.to_string(),
                "an API needs a `spec`; to forward a prefix unchecked, say `without_spec: true`",
            );
            return None;
        }
    };
    // Overlays patch the spec before routes, policies and validators come from it.
    let spec = match spec {
        Some(s) => Some(crate::validate::overlay(
            c,
            &field,
            a.validation.as_ref(),
            s,
        )?),
        None => None,
    };
    let mode = match a.mode.as_ref().map(|m| m.value.as_str()) {
        None | Some("enforce") => Mode::Enforce,
        Some("monitor") => Mode::Monitor,
        Some(other) => {
            c.error(
                a.mode.as_ref(),
                format!("{field}.mode"),
                format!("`{other}` is not enforce or monitor"),
            );
            Mode::Enforce
        }
    };
    let public_by_default = a.public_by_default.unwrap_or(false);
    let security = match &spec {
        Some(spec) => {
            crate::authn::check_bindings(c, &field, spec, &a.security, providers, public_by_default)
        }
        None => {
            if let Some((_, v)) = a.security.iter().next() {
                c.error(
                    Some(v),
                    format!("{field}.security"),
                    "an API without a spec has no security schemes to bind",
                );
            }
            BTreeMap::new()
        }
    };
    let authorization = match (&a.authorization, &spec) {
        (None, _) => None,
        (Some(raw), Some(spec)) => authorization(c, &field, raw, spec),
        (Some(_), None) => {
            c.error(
                Some(&a.name),
                format!("{field}.authorization"),
                "authorization needs the API's spec (its operations are the policies' actions)",
            );
            None
        }
    };
    let contracts = crate::validate::build(c, &field, a.validation.as_ref(), spec.as_deref());
    let inspection = crate::inspect::build(c, &field, a.inspection.as_ref(), mode);
    let protection =
        crate::respond::protect::build(c, &field, a.responses.as_ref(), contracts.as_deref());
    let cors = crate::cors::build(c, &field, a.cors.as_ref(), spec.as_deref());
    let traffic = crate::limit::config::build(
        c,
        &field,
        &a.rate_limits,
        &a.quotas,
        a.concurrency.as_ref(),
        spec.as_deref(),
    );
    let logins = crate::limit::login::build(c, &field, &a.login, spec.as_deref());
    Some(ApiConfig {
        name: a.name.value.clone(),
        spec,
        base_path,
        strip_base_path: a.strip_base_path.unwrap_or(false),
        upstream: a.upstream.value.clone(),
        mode,
        replace_upstream_errors: a.replace_upstream_errors.unwrap_or(true),
        security,
        public_by_default,
        identity: IdentityOptions {
            headers: a.identity.headers.unwrap_or(true),
            token: a.identity.token.unwrap_or(false),
            forward_credentials: a.identity.forward_credentials.unwrap_or(false),
        },
        authorization,
        contracts,
        inspection,
        protection,
        cors,
        traffic,
        logins,
    })
}

/// Compiles an API's policies; their problems become config errors naming the
/// policy file (or the config file) with line and field.
fn authorization(
    c: &mut Checker<'_>,
    field: &str,
    raw: &portcullis_policy::RawAuthorization,
    spec: &portcullis_openapi::Spec,
) -> Option<Arc<portcullis_policy::Policies>> {
    let config_file = c.file.to_path_buf();
    // Stamped as resolved, just before the policy crate reads them.
    let compiled = portcullis_policy::Policies::compile(raw, spec, &mut |rel| c.path(rel));
    match compiled {
        Ok(p) => {
            if !p.has_permit() {
                c.warn(
                    raw.policies.first(),
                    format!("{field}.authorization"),
                    "no policy permits anything (no `allow` and no Cedar `permit`): \
                     every request to this API is denied",
                );
            }
            Some(Arc::new(p))
        }
        Err(errors) => {
            for e in errors {
                c.errors
                    .push(super::policies::config_error(&config_file, field, e));
            }
            None
        }
    }
}

/// `/` and `` become ``; `/bank/` becomes `/bank`; anything odd is refused.
pub(super) fn canonical_base_path(p: &str) -> Result<String, String> {
    let t = p.trim_end_matches('/');
    if !p.starts_with('/') {
        return Err("must start with `/`".into());
    }
    if t.split('/').skip(1).any(|s| {
        s.is_empty() || s == "." || s == ".." || s.contains(['{', '}', '%', '?', '#', '\\'])
    }) {
        return Err(
            "must be a plain path like `/` or `/bank` (no empty, dot or templated segments)".into(),
        );
    }
    Ok(t.to_owned())
}

fn parse_cidr(s: &str) -> Result<ipnet::IpNet, String> {
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("`{s}` is not an IP address or CIDR range"))
}

/// Hash of the config text and every referenced file, so a reload of identical content is a no-op.
fn version(text: &str, files: &[PathBuf]) -> String {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(text.as_bytes());
    for f in files.iter().skip(1) {
        ctx.update(f.to_string_lossy().as_bytes());
        if let Ok(bytes) = std::fs::read(f) {
            ctx.update(&bytes);
        }
    }
    crate::hex(ctx.finish().as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths() {
        assert_eq!(canonical_base_path("/"), Ok(String::new()));
        assert_eq!(canonical_base_path("/bank/"), Ok("/bank".into()));
        assert!(canonical_base_path("bank").is_err());
        assert!(canonical_base_path("/a/../b").is_err());
        assert!(canonical_base_path("/a//b").is_err());
    }

    #[test]
    fn cidrs() {
        assert!(parse_cidr("10.0.0.0/8").is_ok());
        assert!(parse_cidr("127.0.0.1").is_ok());
        assert!(parse_cidr("::1").is_ok());
        assert!(parse_cidr("ten").is_err());
    }
}
