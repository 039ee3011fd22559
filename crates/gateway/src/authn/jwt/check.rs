//! Checks `identity_providers.<name>.jwt`: every problem reported at once,
//! with its field and line; static keys are loaded here so that
//! `portcullis check` finds their faults.

mod keys;

use std::time::Duration;

use serde_saphyr::Spanned;

use self::keys::{algorithms, key_source};
use super::config::{CaBundle, JwtConfig, KeySource, RawJwt, normalize_typ};
use crate::config::Checker;
use crate::config::units::Span;

/// Checks `identity_providers.<name>.jwt` (`field` is that dotted path).
pub(crate) fn check(c: &mut Checker<'_>, field: &str, raw: &RawJwt) -> Option<JwtConfig> {
    let at = Some(&raw.issuer);
    let f = |name: &str| format!("{field}.{name}");
    let issuer = raw.issuer.value.clone();
    let mut ok = true;
    if issuer.is_empty() {
        c.error(
            at,
            f("issuer"),
            "must not be empty: it is compared with `iss` exactly",
        );
        ok = false;
    }
    let audiences = strings(c, &f("audiences"), raw.audiences.as_deref());
    if raw.audiences.as_ref().is_none_or(Vec::is_empty) {
        c.error(
            at,
            f("audiences"),
            "required: the audiences (`aud`) this gateway accepts",
        );
        ok = false;
    }
    let algorithms = algorithms(c, field, raw);
    let max_jwks_bytes = match &raw.max_jwks_bytes {
        None => 256 << 10,
        Some(b) if (1 << 10..=16 << 20).contains(&b.value.0) => b.value.0 as usize,
        Some(b) => {
            c.error(
                Some(b),
                f("max_jwks_bytes"),
                "must be between 1KiB and 16MiB",
            );
            ok = false;
            256 << 10
        }
    };
    let keys = algorithms
        .as_deref()
        .and_then(|algs| key_source(c, field, raw, algs, max_jwks_bytes));
    let static_keys = matches!(keys, Some(KeySource::Static(_)));
    let mut span =
        |v: &Option<Spanned<Span>>, name: &str, default: u64, min: Duration, max: Duration| {
            let Some(s) = v else {
                return Some(Duration::from_secs(default));
            };
            if static_keys && name != "leeway" && name != "token_cache_ttl_max" {
                c.warn(Some(s), f(name), "has no effect: the keys are not fetched");
            }
            if s.value.0 < min || s.value.0 > max {
                c.error(
                    Some(s),
                    f(name),
                    format!("must be between {min:?} and {max:?}"),
                );
                return None;
            }
            Some(s.value.0)
        };
    let secs = Duration::from_secs;
    let leeway = span(&raw.leeway, "leeway", 30, Duration::ZERO, secs(300));
    let refresh_min = span(
        &raw.refresh_min,
        "refresh_min",
        300,
        secs(1),
        secs(24 * 3600),
    );
    let refresh_max = span(
        &raw.refresh_max,
        "refresh_max",
        24 * 3600,
        secs(1),
        secs(7 * 24 * 3600),
    );
    let cooldown = span(
        &raw.unknown_kid_cooldown,
        "unknown_kid_cooldown",
        30,
        secs(1),
        secs(3600),
    );
    let fetch_timeout = span(
        &raw.fetch_timeout,
        "fetch_timeout",
        5,
        Duration::from_millis(100),
        secs(60),
    );
    let cache_ttl = span(
        &raw.token_cache_ttl_max,
        "token_cache_ttl_max",
        300,
        secs(1),
        secs(3600),
    );
    if let (Some(min), Some(max)) = (refresh_min, refresh_max)
        && max < min
    {
        c.error(
            raw.refresh_max.as_ref(),
            f("refresh_max"),
            "must not be shorter than refresh_min",
        );
        ok = false;
    }
    let token_cache_size = match &raw.token_cache_size {
        None => 10_000,
        Some(n) if n.value <= 1_000_000 => n.value as usize,
        Some(n) => {
            c.error(
                Some(n),
                f("token_cache_size"),
                "must be at most 1000000 (0 disables the cache)",
            );
            ok = false;
            0
        }
    };
    let ca_bundle = raw.ca_bundle.as_ref().and_then(|p| {
        if static_keys {
            c.warn(
                Some(p),
                f("ca_bundle"),
                "has no effect: the keys are not fetched",
            );
        }
        let path = c.path(&p.value);
        match crate::tls::read_certs(&path) {
            Ok(certs) => Some(CaBundle {
                path,
                certs: certs.into(),
            }),
            Err(e) => {
                c.error(Some(p), f("ca_bundle"), e);
                ok = false;
                None
            }
        }
    });
    let typ = match &raw.typ {
        None => Some(None),
        Some(t) if normalize_typ(&t.value).is_empty() => {
            c.error(Some(t), f("typ"), "must not be empty (e.g. `at+jwt`)");
            None
        }
        Some(t) => Some(Some(normalize_typ(&t.value))),
    };
    let claim =
        |c: &mut Checker<'_>, v: &Option<Spanned<String>>, name: &str, default: &str| match v {
            Some(s) if s.value.is_empty() || s.value.split('.').any(str::is_empty) => {
                c.error(
                    Some(s),
                    f(name),
                    "must be a claim name or a dotted path such as `realm_access.roles`",
                );
                None
            }
            Some(s) => Some(s.value.clone()),
            None => Some(default.to_owned()),
        };
    let roles_claim = claim(c, &raw.roles_claim, "roles_claim", "roles");
    let scopes_claim = claim(c, &raw.scopes_claim, "scopes_claim", "scope");
    let tenant_claim = match &raw.tenant_claim {
        None => Some(None),
        some => claim(c, some, "tenant_claim", "").map(Some),
    };
    let required_claims = strings(c, &f("required_claims"), Some(&raw.required_claims));
    let mfa_acr_values = strings(c, &f("mfa_acr_values"), Some(&raw.mfa_acr_values));
    if !ok || issuer.is_empty() {
        return None;
    }
    Some(JwtConfig {
        issuer,
        audiences: audiences?,
        algorithms: algorithms?,
        keys: keys?,
        leeway: leeway?,
        required_claims: required_claims?,
        typ: typ?,
        roles_claim: roles_claim?,
        scopes_claim: scopes_claim?,
        tenant_claim: tenant_claim?,
        mfa_acr_values: mfa_acr_values?,
        refresh_min: refresh_min?,
        refresh_max: refresh_max?,
        unknown_kid_cooldown: cooldown?,
        fetch_timeout: fetch_timeout?,
        max_jwks_bytes,
        ca_bundle,
        token_cache_size,
        token_cache_ttl_max: cache_ttl?,
    })
}

/// A list of non-empty strings, deduplicated.
fn strings(
    c: &mut Checker<'_>,
    field: &str,
    list: Option<&[Spanned<String>]>,
) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut ok = true;
    for (i, s) in list.unwrap_or_default().iter().enumerate() {
        if s.value.is_empty() {
            c.error(Some(s), format!("{field}[{i}]"), "must not be empty");
            ok = false;
        } else if !out.contains(&s.value) {
            out.push(s.value.clone());
        }
    }
    ok.then_some(out)
}
