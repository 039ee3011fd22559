use super::*;
use jsonwebtoken::jwk::{Jwk, JwkSet, ThumbprintHash};
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};

fn claims() -> Value {
    let now = crate::authn::now_secs();
    json!({
        "iss": "https://issuer.test",
        "aud": "portcullis-test",
        "sub": "alice",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "roles": ["teller"],
    })
}

/// Verifies `token` with jsonwebtoken against the minter's published JWKS.
fn verify(minter: &Minter, token: &str) -> Value {
    let header = decode_header(token).unwrap();
    assert_eq!(header.alg, minter.algorithm());
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    assert_eq!(header.kid.as_deref(), Some(minter.kid()));
    let set: JwkSet = serde_json::from_value(minter.jwks()).unwrap();
    let jwk = set.find(minter.kid()).unwrap();
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(minter.algorithm());
    validation.set_issuer(&["https://issuer.test"]);
    validation.set_audience(&["portcullis-test"]);
    decode::<Value>(token, &key, &validation).unwrap().claims
}

#[test]
fn every_key_type_signs_a_token_that_jsonwebtoken_verifies() {
    for alg in SUPPORTED {
        let minter = Minter::generate_for(alg).unwrap();
        assert_eq!(minter.algorithm(), alg);
        let token = minter.sign(&claims()).unwrap();
        let got = verify(&minter, &token);
        assert_eq!(got["sub"], "alice", "{alg:?}");
        assert_eq!(got["roles"], json!(["teller"]), "{alg:?}");
    }
}

#[test]
fn generate_is_es256() {
    let minter = Minter::generate().unwrap();
    assert_eq!(minter.algorithm(), Algorithm::ES256);
    assert_eq!(minter.jwks()["keys"][0]["crv"], "P-256");
}

#[test]
fn a_tampered_token_does_not_verify() {
    let minter = Minter::generate().unwrap();
    let token = minter.sign(&claims()).unwrap();
    let other = Minter::generate().unwrap();
    let set: JwkSet = serde_json::from_value(other.jwks()).unwrap();
    let key = DecodingKey::from_jwk(&set.keys[0]).unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&["portcullis-test"]);
    assert!(decode::<Value>(&token, &key, &validation).is_err());
}

#[test]
fn pem_round_trips_to_the_same_key() {
    for alg in SUPPORTED {
        let minter = Minter::generate_for(alg).unwrap();
        let pem = minter.to_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
        assert!(pem.lines().all(|l| l.len() <= 64));
        let again = Minter::from_pem(&pem).unwrap();
        assert_eq!(again.algorithm(), alg);
        assert_eq!(again.kid(), minter.kid());
        assert_eq!(again.jwks(), minter.jwks());
        // A token from the reloaded key verifies against the original JWKS.
        verify(&minter, &again.sign(&claims()).unwrap());
    }
}

#[test]
fn jwks_has_the_public_members_and_no_private_ones() {
    for alg in SUPPORTED {
        let minter = Minter::generate_for(alg).unwrap();
        let jwks = minter.jwks();
        let key = jwks["keys"][0].as_object().unwrap();
        assert_eq!(key["use"], "sig");
        assert_eq!(key["alg"], alg_name(alg));
        assert_eq!(key["kid"], minter.kid());
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(!key.contains_key(private), "{alg:?} leaks `{private}`");
        }
        let names: Vec<&str> = key.keys().map(String::as_str).collect();
        let expected: &[&str] = match alg {
            Algorithm::RS256 => &["alg", "e", "kid", "kty", "n", "use"],
            Algorithm::EdDSA => &["alg", "crv", "kid", "kty", "use", "x"],
            _ => &["alg", "crv", "kid", "kty", "use", "x", "y"],
        };
        let mut names = names;
        names.sort_unstable();
        assert_eq!(names, expected, "{alg:?}");
    }
    let rsa = Minter::generate_for(Algorithm::RS256).unwrap();
    assert_eq!(rsa.jwks()["keys"][0]["e"], "AQAB");
    let p384 = Minter::generate_for(Algorithm::ES384).unwrap();
    let x = p384.jwks()["keys"][0]["x"].as_str().unwrap().to_owned();
    assert_eq!(URL_SAFE_NO_PAD.decode(x).unwrap().len(), 48);
}

#[test]
fn kid_is_the_rfc7638_thumbprint() {
    for alg in SUPPORTED {
        let minter = Minter::generate_for(alg).unwrap();
        let jwk: Jwk = serde_json::from_value(minter.jwks()["keys"][0].clone()).unwrap();
        // jsonwebtoken's own RFC 7638 implementation agrees.
        assert_eq!(
            minter.kid(),
            jwk.thumbprint(ThumbprintHash::SHA256).unwrap(),
            "{alg:?}"
        );
    }
}

#[test]
fn rfc7638_example_thumbprint() {
    // RFC 7638 §3.1.
    let jwk = json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFx\
              uhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_R\
              N5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL\
              5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBn\
              iIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    });
    assert_eq!(
        thumbprint(&jwk).unwrap(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

#[test]
fn sign_wants_an_object() {
    let minter = Minter::generate().unwrap();
    assert!(minter.sign(&json!(["not", "claims"])).is_err());
    let token = minter.sign(&json!({})).unwrap();
    assert_eq!(token.split('.').count(), 3);
}

#[test]
fn generate_refuses_other_algorithms() {
    for alg in [Algorithm::HS256, Algorithm::PS256, Algorithm::RS512] {
        let err = Minter::generate_for(alg).unwrap_err();
        assert!(
            err.contains("supported: ES256, ES384, RS256, EdDSA"),
            "{err}"
        );
    }
}

#[test]
fn from_pem_explains_wrong_files() {
    let cases = [
        ("", "not a PEM file"),
        ("hello", "not a PEM file"),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
            "openssl pkcs8 -topk8",
        ),
        (
            "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
            "openssl pkcs8 -topk8",
        ),
        (
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
            "encrypted",
        ),
        (
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            "not a PKCS#8 private key",
        ),
        (
            "-----BEGIN PRIVATE KEY-----\nAAAA\n",
            "no `-----END PRIVATE KEY-----`",
        ),
        (
            "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n",
            "not valid base64",
        ),
        (
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "not a supported private key",
        ),
    ];
    for (pem, want) in cases {
        let err = Minter::from_pem(pem).unwrap_err();
        assert!(err.contains(want), "{pem:?}: {err}");
    }
}

#[test]
fn from_pem_accepts_crlf_and_surrounding_text() {
    let minter = Minter::generate_for(Algorithm::EdDSA).unwrap();
    let pem = format!("key for tests\r\n{}", minter.to_pem().replace('\n', "\r\n"));
    assert_eq!(Minter::from_pem(&pem).unwrap().kid(), minter.kid());
}

#[test]
fn debug_shows_no_key_material() {
    let minter = Minter::generate_for(Algorithm::RS256).unwrap();
    let debug = format!("{minter:?}");
    assert!(
        debug.contains("RS256") && debug.contains(minter.kid()),
        "{debug}"
    );
    let body: String = minter
        .to_pem()
        .lines()
        .nth(1)
        .unwrap()
        .chars()
        .take(16)
        .collect();
    assert!(!debug.contains(&body));
}

#[test]
fn algorithm_names() {
    for alg in SUPPORTED {
        assert_eq!(algorithm_from_name(alg_name(alg)).unwrap(), alg);
    }
    assert!(algorithm_from_name("HS256").is_err());
    assert!(algorithm_from_name("es256").is_err());
}

#[test]
fn random_ids_differ() {
    let a = random_id().unwrap();
    assert_eq!(a.len(), 22);
    assert_ne!(a, random_id().unwrap());
}
