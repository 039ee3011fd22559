//! Signing JWTs with a local key: for `portcullis token`, tests and demos.
//!
//! A [`Minter`] holds one private key (EC P-256 → ES256, EC P-384 → ES384,
//! RSA → RS256, Ed25519 → EdDSA), read from or written as PKCS#8 PEM. Its key id
//! is the RFC 7638 JWK thumbprint of the public key, so the same key always gets
//! the same `kid`, and [`Minter::jwks`] gives the public half as a JWK set that a
//! `jwt` identity provider can trust. Signing is done with aws-lc-rs directly; the
//! tokens are plain compact JWS that any JOSE library verifies.

use std::fmt;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
    KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

/// The PEM label of an unencrypted PKCS#8 private key.
const PKCS8_LABEL: &str = "PRIVATE KEY";

/// The algorithms a [`Minter`] can sign with, one per key type.
pub const SUPPORTED: [Algorithm; 4] = [
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::RS256,
    Algorithm::EdDSA,
];

/// A private signing key and its public JWK.
pub struct Minter {
    key: SigningKey,
    alg: Algorithm,
    /// The private key as PKCS#8 DER (for [`Minter::to_pem`]); wiped on drop.
    pkcs8: Vec<u8>,
    /// The public JWK, with `kid`, `alg` and `use`.
    jwk: Value,
    kid: String,
}

enum SigningKey {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
    Ed(Ed25519KeyPair),
}

impl fmt::Debug for Minter {
    // Never the private key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Minter")
            .field("alg", &alg_name(self.alg))
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Drop for Minter {
    fn drop(&mut self) {
        self.pkcs8.fill(0);
        std::hint::black_box(&self.pkcs8);
    }
}

impl Minter {
    /// A new random ES256 (P-256) key.
    pub fn generate() -> Result<Minter, String> {
        Minter::generate_for(Algorithm::ES256)
    }

    /// A new random key for `alg`: ES256 (P-256), ES384 (P-384), RS256 (RSA 2048)
    /// or EdDSA (Ed25519).
    pub fn generate_for(alg: Algorithm) -> Result<Minter, String> {
        let rng = SystemRandom::new();
        let failed = |_| format!("cannot generate a {} key", alg_name(alg));
        let pkcs8: Vec<u8> = match alg {
            Algorithm::ES256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(failed)?
                    .as_ref()
                    .to_vec()
            }
            Algorithm::ES384 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng)
                    .map_err(failed)?
                    .as_ref()
                    .to_vec()
            }
            Algorithm::RS256 => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(failed)?;
                let der: Pkcs8V1Der<'static> = pair.as_der().map_err(failed)?;
                der.as_ref().to_vec()
            }
            // PKCS#8 v1 (private key only), as `openssl genpkey` writes it.
            Algorithm::EdDSA => Ed25519KeyPair::generate_pkcs8v1(&rng)
                .map_err(failed)?
                .as_ref()
                .to_vec(),
            other => return Err(unsupported(other)),
        };
        Minter::from_pkcs8(pkcs8)
    }

    /// A key from PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`): EC P-256 (ES256),
    /// EC P-384 (ES384), RSA 2048–8192 bits (RS256) or Ed25519 (EdDSA); the
    /// algorithm follows the key.
    pub fn from_pem(pem: &str) -> Result<Minter, String> {
        Minter::from_pkcs8(pem_to_der(pem)?)
    }

    fn from_pkcs8(pkcs8: Vec<u8>) -> Result<Minter, String> {
        let (key, alg, members) = if let Ok(pair) = Ed25519KeyPair::from_pkcs8(&pkcs8) {
            let x = b64(pair.public_key().as_ref());
            let members = json!({ "kty": "OKP", "crv": "Ed25519", "x": x });
            (SigningKey::Ed(pair), Algorithm::EdDSA, members)
        } else if let Ok(pair) = RsaKeyPair::from_pkcs8(&pkcs8) {
            let public = pair.public_key();
            let n = b64(public.modulus().big_endian_without_leading_zero());
            let e = b64(public.exponent().big_endian_without_leading_zero());
            let members = json!({ "kty": "RSA", "n": n, "e": e });
            (SigningKey::Rsa(pair), Algorithm::RS256, members)
        } else if let Ok(pair) = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8)
        {
            let members = ec_members("P-256", pair.public_key().as_ref())?;
            (SigningKey::Ec(pair), Algorithm::ES256, members)
        } else if let Ok(pair) = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &pkcs8)
        {
            let members = ec_members("P-384", pair.public_key().as_ref())?;
            (SigningKey::Ec(pair), Algorithm::ES384, members)
        } else {
            return Err(
                "not a supported private key (want PKCS#8: EC P-256, EC P-384, \
                        RSA of 2048 to 8192 bits, or Ed25519)"
                    .into(),
            );
        };
        let kid = thumbprint(&members)?;
        let mut jwk = members;
        if let Some(map) = jwk.as_object_mut() {
            map.insert("kid".into(), Value::String(kid.clone()));
            map.insert("alg".into(), Value::String(alg_name(alg).into()));
            map.insert("use".into(), Value::String("sig".into()));
        }
        Ok(Minter {
            key,
            alg,
            pkcs8,
            jwk,
            kid,
        })
    }

    /// The key id (RFC 7638 JWK thumbprint, SHA-256, base64url).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JWS algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Signs the claims (a JSON object) into a compact JWS whose header has
    /// `alg`, `typ: JWT` and `kid`.
    pub fn sign(&self, claims: &Value) -> Result<String, String> {
        if !claims.is_object() {
            return Err("the claims must be a JSON object".into());
        }
        let header = json!({ "alg": alg_name(self.alg), "typ": "JWT", "kid": self.kid });
        let header = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
        let payload = serde_json::to_vec(claims).map_err(|e| e.to_string())?;
        let mut token = format!("{}.{}", b64(&header), b64(&payload));
        let failed = |_| format!("{} signing failed", alg_name(self.alg));
        let signature = match &self.key {
            SigningKey::Ec(pair) => pair
                .sign(&SystemRandom::new(), token.as_bytes())
                .map_err(failed)?
                .as_ref()
                .to_vec(),
            SigningKey::Rsa(pair) => {
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    token.as_bytes(),
                    &mut sig,
                )
                .map_err(failed)?;
                sig
            }
            SigningKey::Ed(pair) => pair.sign(token.as_bytes()).as_ref().to_vec(),
        };
        token.push('.');
        token.push_str(&b64(&signature));
        Ok(token)
    }

    /// The public key as a JWK set: `{"keys": [{kty, crv/n/e/x/y, kid, alg, use}]}`.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk.clone()] })
    }

    /// The private key as PKCS#8 PEM, for writing a key file. Secret: keep it out
    /// of logs and output.
    pub fn to_pem(&self) -> String {
        let body = STANDARD.encode(&self.pkcs8);
        let mut pem = format!("-----BEGIN {PKCS8_LABEL}-----\n");
        for line in body.as_bytes().chunks(64) {
            // Base64 output is ASCII, so every chunk is valid UTF-8.
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str(&format!("-----END {PKCS8_LABEL}-----\n"));
        pem
    }
}

/// A random identifier (128 bits, base64url), e.g. for `jti`.
pub fn random_id() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| "no randomness available".to_string())?;
    Ok(b64(&bytes))
}

/// The JOSE name of an algorithm (`ES256`, `EdDSA`, ...).
pub fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
        // `Algorithm` is non-exhaustive.
        _ => "(unknown algorithm)",
    }
}

/// The supported algorithm named `name` (`ES256`, `ES384`, `RS256` or `EdDSA`).
pub fn algorithm_from_name(name: &str) -> Result<Algorithm, String> {
    SUPPORTED
        .into_iter()
        .find(|alg| alg_name(*alg) == name)
        .ok_or_else(|| {
            let names: Vec<&str> = SUPPORTED.iter().map(|a| alg_name(*a)).collect();
            format!(
                "unknown algorithm `{name}` (supported: {})",
                names.join(", ")
            )
        })
}

fn unsupported(alg: Algorithm) -> String {
    let names: Vec<&str> = SUPPORTED.iter().map(|a| alg_name(*a)).collect();
    format!(
        "cannot make a key for {} (supported: {})",
        alg_name(alg),
        names.join(", ")
    )
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The JWK members of an EC public key given as the uncompressed point 0x04||x||y.
fn ec_members(crv: &str, point: &[u8]) -> Result<Value, String> {
    match point.split_first() {
        Some((0x04, xy)) if !xy.is_empty() && xy.len() % 2 == 0 => {
            let (x, y) = xy.split_at(xy.len() / 2);
            Ok(json!({ "kty": "EC", "crv": crv, "x": b64(x), "y": b64(y) }))
        }
        _ => Err("unexpected EC public key encoding".into()),
    }
}

/// The RFC 7638 thumbprint of a JWK: SHA-256 over the required members, in
/// lexicographic order, without whitespace, base64url.
fn thumbprint(jwk: &Value) -> Result<String, String> {
    let member = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("the JWK has no `{name}`"))
    };
    // The values are key types, curve names and base64url: nothing to escape, but
    // serialize them as JSON strings all the same.
    let s = |v: &str| Value::String(v.to_owned()).to_string();
    let canonical = match member("kty")? {
        "EC" => format!(
            r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
            s(member("crv")?),
            s(member("x")?),
            s(member("y")?)
        ),
        "RSA" => format!(
            r#"{{"e":{},"kty":"RSA","n":{}}}"#,
            s(member("e")?),
            s(member("n")?)
        ),
        "OKP" => format!(
            r#"{{"crv":{},"kty":"OKP","x":{}}}"#,
            s(member("crv")?),
            s(member("x")?)
        ),
        other => return Err(format!("no thumbprint for key type `{other}`")),
    };
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
    Ok(b64(digest.as_ref()))
}

/// The DER inside a PKCS#8 PEM, with a hint for the usual wrong kinds of file.
fn pem_to_der(pem: &str) -> Result<Vec<u8>, String> {
    let mut lines = pem.lines().map(str::trim);
    let label = lines
        .by_ref()
        .find_map(|l| l.strip_prefix("-----BEGIN ")?.strip_suffix("-----"))
        .ok_or("not a PEM file (no `-----BEGIN ...-----` line)")?;
    match label {
        PKCS8_LABEL => {}
        "RSA PRIVATE KEY" | "EC PRIVATE KEY" => {
            return Err(format!(
                "a `{label}` (PKCS#1/SEC1) key; convert it to PKCS#8 with \
                 `openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8.pem`"
            ));
        }
        "ENCRYPTED PRIVATE KEY" => {
            return Err("an encrypted private key; decrypt it with \
                        `openssl pkcs8 -in KEY -out KEY.plain.pem`"
                .into());
        }
        other => return Err(format!("a `{other}`, not a PKCS#8 private key")),
    }
    let end = format!("-----END {PKCS8_LABEL}-----");
    let mut body = String::new();
    let mut ended = false;
    for line in lines {
        if line == end {
            ended = true;
            break;
        }
        body.push_str(line);
    }
    if !ended {
        return Err(format!("the PEM has no `{end}` line"));
    }
    STANDARD
        .decode(body)
        .map_err(|_| "the PEM body is not valid base64".to_string())
}

#[cfg(test)]
mod tests;
