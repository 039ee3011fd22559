//! One key from its published forms: a JWK, or a PEM public key. Each yields
//! the key's kind, its verifier and its RFC 7638 thumbprint.

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use super::{Key, KeyKind};

/// RSA moduli below 2048 bits are refused (NIST SP 800-131A).
const MIN_RSA_MODULUS_BYTES: usize = 256;

/// A JWK as published; every member optional so that odd keys are skipped, not fatal.
#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    kid: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

/// One JWK to a key, or why it is skipped.
pub(super) fn jwk(
    value: serde_json::Value,
    algorithms: &[Algorithm],
) -> Result<(Option<String>, Key), String> {
    let raw: RawJwk = serde_json::from_value(value).map_err(|e| format!("not a JWK: {e}"))?;
    let label = raw
        .kid
        .as_deref()
        .map(|k| format!(" (kid `{}`)", clip(k)))
        .unwrap_or_default();
    if let Some(u) = raw.use_.as_deref().filter(|u| *u != "sig") {
        return Err(format!("use `{}`{label}, not `sig`", clip(u)));
    }
    if let Some(ops) = &raw.key_ops
        && !ops.iter().any(|o| o == "verify")
    {
        return Err(format!("key_ops without `verify`{label}"));
    }
    let alg = match raw.alg.as_deref() {
        None => None,
        Some(a) => match a.parse::<Algorithm>() {
            Ok(alg) if algorithms.contains(&alg) => Some(alg),
            _ => {
                return Err(format!(
                    "alg `{}`{label} is not a configured algorithm",
                    clip(a)
                ));
            }
        },
    };
    let b64 = |field: &str, v: &Option<String>| -> Result<Vec<u8>, String> {
        let text = v.as_deref().ok_or_else(|| format!("no `{field}`{label}"))?;
        URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| format!("`{field}`{label} is not base64url"))
    };
    let (kind, decoding, thumbprint) = match (raw.kty.as_str(), raw.crv.as_deref()) {
        ("RSA", _) => {
            let (n, e) = (b64("n", &raw.n)?, b64("e", &raw.e)?);
            rsa_key(&n, &e).map_err(|e| format!("{e}{label}"))?
        }
        ("EC", Some(crv @ ("P-256" | "P-384"))) => {
            let (x, y) = (b64("x", &raw.x)?, b64("y", &raw.y)?);
            let (kind, len) = if crv == "P-256" {
                (KeyKind::P256, 32)
            } else {
                (KeyKind::P384, 48)
            };
            if x.len() != len || y.len() != len {
                return Err(format!("{crv} coordinates of the wrong length{label}"));
            }
            ec_key(kind, &x, &y)
        }
        ("OKP", Some("Ed25519")) => {
            let x = b64("x", &raw.x)?;
            if x.len() != 32 {
                return Err(format!("Ed25519 key of the wrong length{label}"));
            }
            ed_key(&x)
        }
        ("oct", _) => {
            return Err(format!(
                "a symmetric key{label}: never taken from a key set"
            ));
        }
        (kty, crv) => {
            return Err(format!(
                "unsupported key type `{}`{}{label}",
                clip(kty),
                crv.map(|c| format!(" / `{}`", clip(c))).unwrap_or_default()
            ));
        }
    };
    let key = Key {
        alg,
        kind,
        decoding,
        thumbprint,
    };
    if !algorithms.iter().any(|a| key.accepts(*a)) {
        return Err(format!(
            "a {kind:?} key{label}{} that no configured algorithm uses",
            alg.map(|a| format!(" for {a:?}")).unwrap_or_default()
        ));
    }
    Ok((raw.kid, key))
}

/// A public key from PEM (SPKI `PUBLIC KEY`, or PKCS#1 `RSA PUBLIC KEY`).
pub(super) fn pem_key(text: &str) -> Result<Key, String> {
    if text.contains("PRIVATE KEY") {
        return Err("holds a private key: give the issuer's public key only".into());
    }
    if text.contains("CERTIFICATE") {
        return Err(
            "holds a certificate: give the public key (`openssl x509 -pubkey -noout`)".into(),
        );
    }
    let pem = text.as_bytes();
    let (kind, decoding, thumbprint) = if let Ok(k) = DecodingKey::from_ec_pem(pem) {
        let point = k.try_get_as_bytes().map_err(|e| e.to_string())?;
        let (kind, len) = match point.len() {
            65 => (KeyKind::P256, 32),
            97 => (KeyKind::P384, 48),
            _ => return Err("an EC key on a curve other than P-256 or P-384".into()),
        };
        let (x, y) = point.get(1..).unwrap_or_default().split_at(len);
        ec_key(kind, x, y)
    } else if let Ok(k) = DecodingKey::from_ed_pem(pem) {
        let x = k.try_get_as_bytes().map_err(|e| e.to_string())?;
        if x.len() != 32 {
            return Err("not an Ed25519 key".into());
        }
        ed_key(x)
    } else if let Ok(k) = DecodingKey::from_rsa_pem(pem) {
        let der = k.try_get_as_bytes().map_err(|e| e.to_string())?;
        let public = aws_lc_rs::rsa::PublicKey::from_der(der)
            .map_err(|_| "not a valid RSA public key".to_owned())?;
        let parts = aws_lc_rs::signature::RsaPublicKeyComponents::<Vec<u8>>::from(&public);
        rsa_key(&parts.n, &parts.e)?
    } else {
        return Err("no PEM public key (RSA, EC P-256/P-384 or Ed25519) found".into());
    };
    Ok(Key {
        alg: None,
        kind,
        decoding,
        thumbprint,
    })
}

fn rsa_key(n: &[u8], e: &[u8]) -> Result<(KeyKind, DecodingKey, String), String> {
    let n = strip_zeros(n);
    let e = strip_zeros(e);
    if n.len() < MIN_RSA_MODULUS_BYTES {
        return Err(format!(
            "an RSA key of {} bits (2048 at least)",
            n.len() * 8
        ));
    }
    let tp = thumbprint(&format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(e),
        URL_SAFE_NO_PAD.encode(n)
    ));
    Ok((KeyKind::Rsa, DecodingKey::from_rsa_raw_components(n, e), tp))
}

fn ec_key(kind: KeyKind, x: &[u8], y: &[u8]) -> (KeyKind, DecodingKey, String) {
    let crv = if kind == KeyKind::P256 {
        "P-256"
    } else {
        "P-384"
    };
    let tp = thumbprint(&format!(
        r#"{{"crv":"{crv}","kty":"EC","x":"{}","y":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(x),
        URL_SAFE_NO_PAD.encode(y)
    ));
    // The verifier takes the uncompressed point (0x04 || x || y), as
    // `DecodingKey::from_ec_components` would build it.
    let point = [&[4u8][..], x, y].concat();
    (kind, DecodingKey::from_ec_der(&point), tp)
}

fn ed_key(x: &[u8]) -> (KeyKind, DecodingKey, String) {
    let tp = thumbprint(&format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(x)
    ));
    // The verifier takes the raw 32-byte key, as `from_ed_components` builds it.
    (KeyKind::Ed25519, DecodingKey::from_ed_der(x), tp)
}

/// RFC 7638: SHA-256 over the required members in lexicographic order.
fn thumbprint(canonical: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, canonical.as_bytes()))
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    b.get(start..).unwrap_or_default()
}

/// Values from a key set go into messages: keep them short.
fn clip(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((i, _)) => s.get(..i).unwrap_or(s),
        None => s,
    }
}
