//! The algorithm list and the key source of a JWT issuer.

use std::path::Path;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, AlgorithmFamily};

use super::super::config::{KeySource, RawJwt};
use crate::authn::fetch::endpoint as endpoint_uri;
use crate::authn::jwks::KeySet;
use crate::config::Checker;

/// The pinned algorithms: known, never `none`, HS* only with a secret and never mixed.
pub(super) fn algorithms(c: &mut Checker<'_>, field: &str, raw: &RawJwt) -> Option<Vec<Algorithm>> {
    let name = format!("{field}.algorithms");
    let list = match &raw.algorithms {
        Some(list) if !list.is_empty() => list,
        _ => {
            c.error(
                Some(&raw.issuer),
                name,
                "required: the algorithms this issuer signs with, e.g. [RS256] (a token's `alg` never chooses)",
            );
            return None;
        }
    };
    let mut out = Vec::new();
    let mut ok = true;
    for (i, a) in list.iter().enumerate() {
        let at = format!("{name}[{i}]");
        match a.value.parse::<Algorithm>() {
            _ if a.value.eq_ignore_ascii_case("none") => {
                c.error(
                    Some(a),
                    at,
                    "`none` is never accepted: an unsigned token proves nothing",
                );
                ok = false;
            }
            Ok(alg) if alg.family() == AlgorithmFamily::Hmac && raw.secret.is_none() => {
                c.error(
                    Some(a),
                    at,
                    format!("{alg:?} needs `secret` (env:NAME or file:PATH); asymmetric algorithms need no secret"),
                );
                ok = false;
            }
            Ok(alg) => {
                if !out.contains(&alg) {
                    out.push(alg);
                }
            }
            Err(_) => {
                c.error(
                    Some(a),
                    at,
                    format!(
                        "`{}` is not one of RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA HS256 HS384 HS512",
                        a.value.chars().take(40).collect::<String>()
                    ),
                );
                ok = false;
            }
        }
    }
    let hmac = out.iter().any(|a| a.family() == AlgorithmFamily::Hmac);
    if hmac && out.iter().any(|a| a.family() != AlgorithmFamily::Hmac) {
        c.error(
            list.first(),
            name.clone(),
            "HS* cannot be mixed with asymmetric algorithms: a public key would pass as an HMAC secret (key confusion)",
        );
        ok = false;
    }
    if let Some(s) = &raw.secret
        && !hmac
        && ok
    {
        c.error(
            Some(s),
            format!("{field}.secret"),
            "a secret is only for HS256, HS384 or HS512",
        );
        ok = false;
    }
    ok.then_some(out)
}

/// Exactly one key source; static keys are loaded now so `check` finds their faults.
pub(super) fn key_source(
    c: &mut Checker<'_>,
    field: &str,
    raw: &RawJwt,
    algs: &[Algorithm],
    max_bytes: usize,
) -> Option<KeySource> {
    let given: Vec<&str> = [
        ("jwks_file", raw.jwks_file.is_some()),
        ("pem_files", raw.pem_files.is_some()),
        ("jwks_url", raw.jwks_url.is_some()),
        ("discovery", raw.discovery.as_ref().is_some_and(|d| d.value)),
        ("secret", raw.secret.is_some()),
    ]
    .into_iter()
    .filter_map(|(n, on)| on.then_some(n))
    .collect();
    if given.len() != 1 {
        let found = if given.is_empty() {
            "none".to_owned()
        } else {
            given.join(", ")
        };
        c.error(
            Some(&raw.issuer),
            field.to_owned(),
            format!("give exactly one key source: jwks_file, pem_files, jwks_url, discovery: true or secret (found: {found})"),
        );
        return None;
    }
    if let Some(p) = &raw.jwks_file {
        let name = format!("{field}.jwks_file");
        let bytes = read(c, &p.value, max_bytes)
            .map_err(|e| c.error(Some(p), name.clone(), e))
            .ok()?;
        let (set, skipped) = KeySet::from_jwks(&bytes, algs)
            .map_err(|e| c.error(Some(p), name.clone(), e))
            .ok()?;
        for why in skipped {
            c.warn(Some(p), name.clone(), format!("skipped {why}"));
        }
        return Some(KeySource::Static(Arc::new(set)));
    }
    if let Some(files) = &raw.pem_files {
        let name = format!("{field}.pem_files");
        if files.is_empty() {
            c.error(
                Some(&raw.issuer),
                name,
                "list at least one PEM public key file",
            );
            return None;
        }
        let mut pems = Vec::new();
        for (i, p) in files.iter().enumerate() {
            let loaded = read(c, &p.value, max_bytes).and_then(|b| {
                let text = String::from_utf8(b).map_err(|_| "not a PEM text file".to_owned())?;
                let stem = Path::new(&p.value)
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned());
                let pem = (stem.unwrap_or_default(), text);
                KeySet::from_pems(std::slice::from_ref(&pem), algs).map(|_| pem)
            });
            match loaded {
                Ok(pem) => pems.push(pem),
                Err(e) => c.error(Some(p), format!("{name}[{i}]"), e),
            }
        }
        if pems.len() != files.len() {
            return None;
        }
        return KeySet::from_pems(&pems, algs)
            .map_err(|e| c.error(files.first(), name, e))
            .ok()
            .map(|set| KeySource::Static(Arc::new(set)));
    }
    if let Some(u) = &raw.jwks_url {
        return endpoint_uri(&u.value)
            .map_err(|e| c.error(Some(u), format!("{field}.jwks_url"), e))
            .ok()
            .map(KeySource::Url);
    }
    if let Some(s) = &raw.secret {
        let secret = c.secret(s, format!("{field}.secret"))?;
        let want = algs
            .iter()
            .map(|a| match a {
                Algorithm::HS384 => 48,
                Algorithm::HS512 => 64,
                _ => 32,
            })
            .max()
            .unwrap_or(32);
        if let Some(why) = guessable(secret.expose()) {
            c.warn(
                Some(s),
                format!("{field}.secret"),
                format!("the secret looks guessable ({why}): use random bytes"),
            );
        }
        if secret.expose().len() < want {
            c.warn(
                Some(s),
                format!("{field}.secret"),
                format!(
                    "the secret is {} bytes, shorter than {want}: any captured token lets it be brute-forced offline; use {want}+ random bytes",
                    secret.expose().len()
                ),
            );
        }
        return Some(KeySource::Static(Arc::new(KeySet::from_secret(
            secret.expose(),
        ))));
    }
    // discovery: true
    let url = format!(
        "{}/.well-known/openid-configuration",
        raw.issuer.value.trim_end_matches('/')
    );
    endpoint_uri(&url)
        .map_err(|e| {
            c.error(
                Some(&raw.issuer),
                format!("{field}.issuer"),
                format!("discovery needs the issuer as an https URL: {e}"),
            )
        })
        .ok()
        .map(|_| KeySource::Discovery)
}

/// Why a secret looks guessable, if it does: few distinct characters or a
/// word every dictionary attack tries first.
fn guessable(secret: &[u8]) -> Option<&'static str> {
    let lower = secret.to_ascii_lowercase();
    let words: [&[u8]; 6] = [
        b"secret",
        b"password",
        b"changeme",
        b"example",
        b"jwt",
        b"123456",
    ];
    if words
        .iter()
        .any(|w| lower.windows(w.len()).any(|x| x == *w))
    {
        return Some("it holds a common word");
    }
    let mut seen = [false; 256];
    for b in secret {
        seen[usize::from(*b)] = true;
    }
    (seen.iter().filter(|x| **x).count() < 10).then_some("few distinct characters")
}

/// Reads a file referenced by the config (relative to it), at most `max` bytes.
fn read(c: &mut Checker<'_>, rel: &str, max: usize) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let path = c.path(rel);
    let cannot = |e: std::io::Error| format!("cannot read `{}`: {e}", path.display());
    // Read at most one byte past the cap: a path to a device must not hang `check`.
    let mut bytes = Vec::new();
    std::fs::File::open(&path)
        .and_then(|f| f.take(max as u64 + 1).read_to_end(&mut bytes))
        .map_err(cannot)?;
    if bytes.len() > max {
        return Err(format!(
            "`{}` is larger than max_jwks_bytes ({max} bytes)",
            path.display()
        ));
    }
    Ok(bytes)
}
