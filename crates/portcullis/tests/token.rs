//! `portcullis token` end to end (the real binary), checked with an independent
//! verifier (jsonwebtoken); and the PyJWT fixtures in
//! `crates/gateway/tests/fixtures/jwt/` checked to be what their manifest says.

// A panic is how a test fails; helpers unwrap for the same reason.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use portcullis_gateway::authn::mint::Minter;
use serde_json::Value;

fn portcullis(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run portcullis")
}

fn ok(args: &[&str]) -> String {
    let out = portcullis(args);
    assert!(
        out.status.success(),
        "portcullis {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn fails(args: &[&str]) -> String {
    let out = portcullis(args);
    assert!(!out.status.success(), "portcullis {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Verifies `token` against `jwks` (the key named by the header's kid), checking
/// signature, exp, nbf, iss and aud, as a relying party would.
fn verify(
    token: &str,
    jwks: &JwkSet,
    iss: &str,
    aud: &str,
) -> Result<Value, jsonwebtoken::errors::Error> {
    let header = decode_header(token)?;
    let kid = header.kid.as_deref().unwrap_or_default();
    let jwk = jwks
        .find(kid)
        .ok_or(jsonwebtoken::errors::ErrorKind::InvalidKeyFormat)?;
    let mut validation = Validation::new(jwk_alg(jwk));
    validation.set_issuer(&[iss]);
    validation.set_audience(&[aud]);
    validation.validate_nbf = true;
    validation.leeway = 0;
    let key = DecodingKey::from_jwk(jwk)?;
    Ok(decode::<Value>(token, &key, &validation)?.claims)
}

/// The algorithm the JWK is for: a verifier takes it from the key, never the token.
fn jwk_alg(jwk: &Jwk) -> Algorithm {
    let alg = jwk.common.key_algorithm.expect("the JWK has `alg`");
    alg.to_string().parse().expect("a signing algorithm")
}

#[test]
fn keygen_mint_and_verify_for_every_algorithm() {
    let dir = tempfile::tempdir().unwrap();
    for alg in ["ES256", "ES384", "RS256", "EdDSA"] {
        let key = dir.path().join(format!("{alg}.pem"));
        let printed = ok(&["token", "keygen", "--out", path(&key), "--alg", alg]);
        let jwks: JwkSet = serde_json::from_str(&printed).unwrap();
        assert_eq!(jwks.keys.len(), 1);
        let jwk = &jwks.keys[0];
        assert_eq!(jwk_alg(jwk), alg.parse::<Algorithm>().unwrap());

        // The key file: PKCS#8 PEM, owner-only.
        let pem = std::fs::read_to_string(&key).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{alg}: mode {mode:o}");
        }
        // No private key material on stdout.
        let body = pem.lines().nth(1).unwrap();
        assert!(!printed.contains(&body[..16]));
        for private in ["\"d\"", "\"p\"", "\"q\""] {
            assert!(!printed.contains(private), "{alg}: {printed}");
        }

        // `jwks` prints the same set.
        let again: JwkSet =
            serde_json::from_str(&ok(&["token", "jwks", "--key", path(&key)])).unwrap();
        assert_eq!(again, jwks);

        let token = ok(&[
            "token",
            "mint",
            "--key",
            path(&key),
            "--iss",
            "https://idp.dev.test",
            "--aud",
            "bank-api",
            "--sub",
            "alice",
        ]);
        let token = token.trim();
        let header = decode_header(token).unwrap();
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(header.kid.as_ref(), jwk.common.key_id.as_ref());
        let claims = verify(token, &jwks, "https://idp.dev.test", "bank-api").unwrap();
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
        let (iat, exp) = (
            claims["iat"].as_u64().unwrap(),
            claims["exp"].as_u64().unwrap(),
        );
        assert_eq!(claims["nbf"].as_u64(), Some(iat));
        assert_eq!(exp - iat, 15 * 60, "default ttl");
    }
}

#[test]
fn mint_sets_every_claim() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    let jwks: JwkSet =
        serde_json::from_str(&ok(&["token", "keygen", "--out", path(&key)])).unwrap();
    let mint = |extra: &[&str]| {
        let mut args = vec![
            "token",
            "mint",
            "--key",
            path(&key),
            "--iss",
            "https://i.test",
            "--aud",
            "api",
            "--sub",
            "bob",
        ];
        args.extend_from_slice(extra);
        ok(&args).trim().to_owned()
    };
    let token = mint(&[
        "--roles",
        "teller,auditor",
        "--scope",
        "accounts:read payments:write",
        "--tenant",
        "acme",
        "--ttl",
        "1h",
        "--mfa",
        "--jti",
        "fixed-id",
        "--claim",
        "level=3",
        "--claim",
        "department=retail",
    ]);
    let claims = verify(&token, &jwks, "https://i.test", "api").unwrap();
    assert_eq!(claims["roles"], serde_json::json!(["teller", "auditor"]));
    assert_eq!(claims["scope"], "accounts:read payments:write");
    assert_eq!(claims["tenant"], "acme");
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "mfa"]));
    assert_eq!(claims["jti"], "fixed-id");
    assert_eq!(claims["level"], 3);
    assert_eq!(claims["department"], "retail");
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap(),
        claims["exp"].as_u64().unwrap(),
    );
    assert_eq!(exp - iat, 3600);

    // Random jti by default: two tokens differ.
    let a = verify(&mint(&[]), &jwks, "https://i.test", "api").unwrap();
    let b = verify(&mint(&[]), &jwks, "https://i.test", "api").unwrap();
    assert_ne!(a["jti"], b["jti"]);

    // --claim exp=... makes an expired token, which a verifier rejects.
    let expired = mint(&["--claim", "exp=1700000000"]);
    let err = verify(&expired, &jwks, "https://i.test", "api").unwrap_err();
    assert!(matches!(
        err.kind(),
        jsonwebtoken::errors::ErrorKind::ExpiredSignature
    ));
}

#[test]
fn jwks_of_several_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old.pem"), dir.path().join("new.pem"));
    ok(&["token", "keygen", "--out", path(&old), "--alg", "RS256"]);
    ok(&["token", "keygen", "--out", path(&new)]);
    let set: JwkSet = serde_json::from_str(&ok(&[
        "token",
        "jwks",
        "--key",
        path(&old),
        "--key",
        path(&new),
    ]))
    .unwrap();
    assert_eq!(set.keys.len(), 2);
    assert_ne!(set.keys[0].common.key_id, set.keys[1].common.key_id);
}

#[test]
fn errors_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    ok(&["token", "keygen", "--out", path(&key)]);

    // keygen does not overwrite a key unless told to.
    let before = std::fs::read_to_string(&key).unwrap();
    assert!(fails(&["token", "keygen", "--out", path(&key)]).contains("--force"));
    assert_eq!(std::fs::read_to_string(&key).unwrap(), before);
    ok(&["token", "keygen", "--out", path(&key), "--force"]);
    assert_ne!(std::fs::read_to_string(&key).unwrap(), before);

    let missing = dir.path().join("nope.pem");
    assert!(
        fails(&["token", "jwks", "--key", path(&missing)]).contains("cannot read the key file")
    );

    let public = dir.path().join("pub.pem");
    std::fs::write(
        &public,
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    )
    .unwrap();
    assert!(fails(&["token", "jwks", "--key", path(&public)]).contains("not a PKCS#8 private key"));

    let base = [
        "token",
        "mint",
        "--key",
        path(&key),
        "--iss",
        "i",
        "--aud",
        "a",
        "--sub",
        "s",
    ];
    for (extra, want) in [
        (["--ttl", "forever"], "--ttl"),
        (["--claim", "x"], "NAME=VALUE"),
    ] {
        let args: Vec<&str> = base.iter().chain(extra.iter()).copied().collect();
        assert!(fails(&args).contains(want), "{extra:?}");
    }
    // Missing required options are clap usage errors.
    assert!(fails(&["token", "mint", "--key", path(&key)]).contains("--iss"));
    assert!(fails(&["token", "keygen", "--out", "x.pem", "--alg", "HS256"]).contains("ES256"));
}

#[test]
fn help_has_examples() {
    let help = ok(&["token", "mint", "--help"]);
    for want in ["Example", "--roles", "--scope", "--ttl", "--mfa", "--claim"] {
        assert!(help.contains(want), "{want}: {help}");
    }
    assert!(ok(&["token", "keygen", "--help"]).contains("Example"));
    assert!(ok(&["token", "--help"]).contains("keygen"));
}

// ---- The PyJWT fixtures --------------------------------------------------------

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../gateway/tests/fixtures/jwt")
}

fn fixture_json(name: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn fixture_token(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(name))
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn fixtures_are_what_the_manifest_says() {
    let manifest = fixture_json("manifest.json");
    let jwks: JwkSet = serde_json::from_value(fixture_json("jwks.json")).unwrap();
    let iss = manifest["issuer"].as_str().unwrap();
    let aud = manifest["audience"].as_str().unwrap();
    let tokens = manifest["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 15);
    let mut accepted = 0;
    for entry in tokens {
        let file = entry["file"].as_str().unwrap();
        let token = fixture_token(file);
        let result = verify(&token, &jwks, iss, aud);
        match entry["expect"].as_str().unwrap() {
            "accept" => {
                let claims = result.unwrap_or_else(|e| panic!("{file}: {e}"));
                assert_eq!(claims["sub"], manifest["subject"], "{file}");
                assert_eq!(claims["scope"], "accounts:read", "{file}");
                assert_eq!(claims["roles"], serde_json::json!(["customer"]), "{file}");
                assert_eq!(claims["exp"], 4_102_444_800_u64, "{file}");
                accepted += 1;
            }
            "reject" => assert!(result.is_err(), "{file} verified but should not"),
            other => panic!("{file}: expect `{other}`"),
        }
    }
    assert_eq!(accepted, 5);
}

#[test]
fn attack_fixtures_fail_for_the_stated_reason() {
    use jsonwebtoken::errors::ErrorKind;
    let jwks: JwkSet = serde_json::from_value(fixture_json("jwks.json")).unwrap();
    let (iss, aud) = ("https://idp.fixtures.test", "portcullis-fixtures");
    let kind = |file: &str| {
        verify(&fixture_token(file), &jwks, iss, aud)
            .unwrap_err()
            .into_kind()
    };
    assert!(
        matches!(kind("expired.jwt"), ErrorKind::ExpiredSignature),
        "expired.jwt"
    );
    assert!(
        matches!(kind("not-yet-valid.jwt"), ErrorKind::ImmatureSignature),
        "not-yet-valid.jwt"
    );
    assert!(
        matches!(kind("wrong-issuer.jwt"), ErrorKind::InvalidIssuer),
        "wrong-issuer.jwt"
    );
    assert!(
        matches!(kind("wrong-audience.jwt"), ErrorKind::InvalidAudience),
        "wrong-audience.jwt"
    );
    assert!(
        matches!(kind("bad-signature.jwt"), ErrorKind::InvalidSignature),
        "bad-signature.jwt"
    );
    // No such kid in the set.
    assert!(
        matches!(kind("kid-traversal.jwt"), ErrorKind::InvalidKeyFormat),
        "kid-traversal.jwt"
    );
    assert!(
        matches!(kind("jku-elsewhere.jwt"), ErrorKind::InvalidKeyFormat),
        "jku-elsewhere.jwt"
    );
    // The token names HS256 but the key is for RS256.
    assert!(
        matches!(kind("hs256-key-confusion.jwt"), ErrorKind::InvalidAlgorithm),
        "hs256-key-confusion.jwt"
    );
    // `none` is not an algorithm jsonwebtoken knows: the header does not parse.
    assert!(decode_header(fixture_token("alg-none.jwt")).is_err());
    assert!(verify(&fixture_token("stripped-signature.jwt"), &jwks, iss, aud).is_err());

    // The header parts are as described.
    let header = decode_header(fixture_token("jku-elsewhere.jwt")).unwrap();
    assert_eq!(header.jku.as_deref(), Some("http://127.0.0.1:9/jwks.json"));
    assert!(header.x5u.is_some());
    assert_eq!(
        decode_header(fixture_token("kid-traversal.jwt"))
            .unwrap()
            .kid
            .as_deref(),
        Some("../../../../dev/null")
    );

    // The key-confusion token really is HMAC'd with the public key PEM: a verifier
    // that let the token choose HS256 would accept it.
    let pem = std::fs::read(fixtures().join("py-rsa.pub.pem")).unwrap();
    let mut naive = Validation::new(Algorithm::HS256);
    naive.set_audience(&[aud]);
    assert!(
        decode::<Value>(
            &fixture_token("hs256-key-confusion.jwt"),
            &DecodingKey::from_secret(&pem),
            &naive
        )
        .is_ok()
    );

    // The jku token is well signed, only by a key nobody trusts.
    let attacker: JwkSet = serde_json::from_value(fixture_json("attacker-jwks.json")).unwrap();
    assert!(verify(&fixture_token("jku-elsewhere.jwt"), &attacker, iss, aud).is_ok());
    // The flipped byte is the only thing wrong with bad-signature.jwt... and the
    // stripped token had a valid signature before: both carry the py-p256 kid.
    for file in ["bad-signature.jwt", "stripped-signature.jwt"] {
        let header = decode_header(fixture_token(file)).unwrap();
        assert_eq!(header.kid.as_deref(), Some("py-p256"), "{file}");
        assert_eq!(header.alg, Algorithm::ES256, "{file}");
    }
}

#[test]
fn portcullis_reads_keys_made_by_python_and_agrees_on_thumbprints() {
    let jwks: JwkSet = serde_json::from_value(fixture_json("jwks.json")).unwrap();
    let thumbprints = fixture_json("thumbprints.json");
    let claims = serde_json::json!({
        "iss": "https://idp.fixtures.test",
        "aud": "portcullis-fixtures",
        "sub": "minted-by-portcullis",
        "iat": 1_700_000_000_u64,
        "nbf": 1_700_000_000_u64,
        "exp": 4_102_444_800_u64,
    });
    // py-rsa-pss is for PS256, which Minter does not sign; its key still loads.
    for kid in ["py-rsa", "py-rsa-pss", "py-p256", "py-p384", "py-ed25519"] {
        let pem = std::fs::read_to_string(fixtures().join(format!("private/{kid}.pem"))).unwrap();
        let minter = Minter::from_pem(&pem).unwrap_or_else(|e| panic!("{kid}: {e}"));
        assert_eq!(minter.kid(), thumbprints[kid], "{kid}: RFC 7638 thumbprint");
        // Same public key as PyJWT published (n/e or crv/x/y).
        let ours = &minter.jwks()["keys"][0];
        let theirs = serde_json::to_value(jwks.find(kid).unwrap()).unwrap();
        for member in ["kty", "crv", "x", "y", "n", "e"] {
            assert_eq!(ours.get(member), theirs.get(member), "{kid}: {member}");
        }
        if kid == "py-rsa-pss" {
            continue;
        }
        // A token from Portcullis verifies with the key as PyJWT published it.
        let token = minter.sign(&claims).unwrap();
        let header = decode_header(&token).unwrap();
        let mut validation = Validation::new(header.alg);
        validation.set_audience(&["portcullis-fixtures"]);
        let key = DecodingKey::from_jwk(jwks.find(kid).unwrap()).unwrap();
        decode::<Value>(&token, &key, &validation).unwrap_or_else(|e| panic!("{kid}: {e}"));
    }
}
