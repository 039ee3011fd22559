use std::path::PathBuf;

use super::*;
use crate::metrics::Metrics;

/// Collects problems as `field: message` lines; secrets resolve from `base`.
#[derive(Default)]
struct Problems {
    base: PathBuf,
    errors: Vec<String>,
    warnings: Vec<String>,
}

impl Report for Problems {
    fn error(&mut self, _at: Option<&Spanned<String>>, field: String, msg: String) {
        self.errors.push(format!("{field}: {msg}"));
    }
    fn warn(&mut self, _at: Option<&Spanned<String>>, field: String, msg: String) {
        self.warnings.push(format!("{field}: {msg}"));
    }
    fn secret(&mut self, at: &Spanned<String>, field: String) -> Option<Secret> {
        Secret::resolve(&at.value, &self.base)
            .map_err(|e| self.errors.push(format!("{field}: {e}")))
            .ok()
    }
}

fn shared() -> Shared {
    Shared::new(Arc::new(Metrics::new()))
}

fn entry(id: &str, key: &NewKey, pepper: Option<&[u8]>) -> KeyEntry {
    KeyEntry {
        id: id.into(),
        prefix: key.prefix.clone(),
        hash: hash_key(&key.key, pepper),
        consumer: format!("{id}-owner"),
        roles: vec!["reader".into()],
        scopes: vec!["accounts:read".into()],
        tenant: Some("acme".into()),
        expires: None,
        revoked: false,
    }
}

fn table(entries: Vec<KeyEntry>, pepper: Option<Secret>) -> ApiKeys {
    let cfg = ApiKeysConfig {
        pepper,
        keys: entries,
    };
    ApiKeys::new("keys", &cfg, &shared()).unwrap()
}

fn pepper_secret(dir: &tempfile::TempDir, value: &str) -> Secret {
    std::fs::write(dir.path().join("pepper"), value).unwrap();
    Secret::resolve("file:pepper", dir.path()).unwrap()
}

fn parse(yaml: &str, base: PathBuf) -> (Option<ApiKeysConfig>, Problems) {
    let raw: RawApiKeys = serde_saphyr::from_str(yaml).unwrap();
    let mut p = Problems {
        base,
        ..Problems::default()
    };
    let cfg = check_with(&mut p, "identity_providers.k.api_keys", &raw);
    (cfg, p)
}

#[test]
fn a_good_key_gives_its_principal() {
    let k = generate().unwrap();
    let keys = table(vec![entry("ci", &k, None)], None);
    let p = keys.verify(&k.key).unwrap();
    assert_eq!(&*p.subject, "ci-owner");
    assert_eq!(&*p.issuer, "keys");
    assert_eq!(p.method, AuthMethod::ApiKey);
    assert_eq!(p.credential_id.as_deref(), Some("ci"));
    assert_eq!(p.roles, vec![Arc::<str>::from("reader")]);
    assert!(p.has_scopes(&["accounts:read".into()]));
    assert_eq!(p.tenant.as_deref(), Some("acme"));
}

#[test]
fn a_wrong_secret_or_unknown_prefix_is_inactive() {
    let k = generate().unwrap();
    let other = generate().unwrap();
    let keys = table(vec![entry("ci", &k, None)], None);
    let forged = format!("{KEY_MARKER}{}_{}", k.prefix, &other.key[13..]);
    assert_eq!(key_prefix(&forged), Some(k.prefix.as_str()));
    assert_eq!(keys.verify(&forged), Err(Failure::Inactive));
    assert_eq!(keys.verify(&other.key), Err(Failure::Inactive));
}

#[test]
fn revoked_and_expired_keys_are_told_apart_only_with_the_right_secret() {
    let a = generate().unwrap();
    let b = generate().unwrap();
    let mut revoked = entry("a", &a, None);
    revoked.revoked = true;
    let mut expiring = entry("b", &b, None);
    expiring.expires = Some(1_000);
    let keys = table(vec![revoked, expiring], None);
    assert_eq!(keys.verify(&a.key), Err(Failure::Revoked));
    assert_eq!(
        keys.verify_at(&b.key, 999).map(|p| p.expires_at),
        Ok(Some(1_000))
    );
    assert_eq!(keys.verify_at(&b.key, 1_000), Err(Failure::KeyExpired));
    let forged = format!("{}{}", &a.key[..13], &b.key[13..]);
    assert_eq!(keys.verify(&forged), Err(Failure::Inactive));
}

#[test]
fn malformed_keys_are_refused_before_any_lookup() {
    let k = generate().unwrap();
    let keys = table(vec![entry("ci", &k, None)], None);
    let short = format!("{}_{}", &k.key[..12], "abc");
    let upper = k.key.replacen(&k.prefix, &k.prefix.to_uppercase(), 1);
    let bad_char = format!("{}!", &k.key[..k.key.len() - 1]);
    for bad in [
        "",
        "pck_",
        "Bearer x",
        &k.key[4..],
        &short,
        &upper,
        &bad_char,
        &format!("{} ", k.key),
    ] {
        assert_eq!(keys.verify(bad), Err(Failure::Malformed), "{bad:?}");
    }
}

#[test]
fn hmac_hashes_need_the_pepper() {
    let dir = tempfile::tempdir().unwrap();
    let pepper = pepper_secret(&dir, "pepper-of-at-least-some-length");
    let k = generate().unwrap();
    let e = entry("ci", &k, Some(pepper.expose()));
    assert!(e.hash.is_hmac());
    assert_ne!(e.hash, hash_key(&k.key, None));
    let keys = table(vec![e.clone()], Some(pepper));
    assert_eq!(
        keys.verify(&k.key).map(|p| p.subject.clone()),
        Ok("ci-owner".into())
    );

    let other = pepper_secret(&dir, "another-pepper");
    let keys = table(vec![e.clone()], Some(other));
    assert_eq!(keys.verify(&k.key), Err(Failure::Inactive), "wrong pepper");

    let cfg = ApiKeysConfig {
        pepper: None,
        keys: vec![e],
    };
    assert!(ApiKeys::new("keys", &cfg, &shared()).is_err());
}

#[test]
fn hashes_print_and_parse_back() {
    let k = generate().unwrap();
    for h in [hash_key(&k.key, None), hash_key(&k.key, Some(b"pepper"))] {
        assert_eq!(KeyHash::parse(&h.to_string()), Ok(h));
    }
    let sha = hash_key("abc", None).to_string();
    assert_eq!(
        sha,
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert!(
        KeyHash::parse(&sha.to_uppercase()).is_err(),
        "the kind is lower case"
    );
    assert!(KeyHash::parse(&sha.replace("sha256:", "sha256:+")[..71]).is_err());
    assert!(KeyHash::parse("md5:00").is_err());
    assert!(KeyHash::parse(&sha[..70]).is_err());
}

#[test]
fn generated_keys_are_well_formed_and_distinct() {
    let a = generate().unwrap();
    let b = generate().unwrap();
    assert_ne!(a.key, b.key);
    assert_eq!(key_prefix(&a.key), Some(a.prefix.as_str()));
    assert!(a.key.len() >= KEY_MARKER.len() + PREFIX_LEN + 1 + 43);
    assert!(
        !format!("{a:?}").contains(&a.key[13..]),
        "Debug hides the key"
    );
}

#[test]
fn a_config_entry_round_trips_through_its_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let pepper = pepper_secret(&dir, "pepper");
    let k = generate().unwrap();
    let mut e = entry("ci \"bot\"", &k, Some(pepper.expose()));
    e.expires = Some(parse_expiry("2999-01-02T03:04:05Z").unwrap());
    let yaml = format!(
        "pepper: file:pepper\nkeys:\n{}",
        e.to_yaml()
            .lines()
            .map(|l| format!("  {l}\n"))
            .collect::<String>()
    );
    let (cfg, problems) = parse(&yaml, dir.path().into());
    assert!(problems.errors.is_empty(), "{:?}", problems.errors);
    let cfg = cfg.unwrap();
    assert_eq!(cfg.keys, vec![e]);
    let keys = ApiKeys::new("keys", &cfg, &shared()).unwrap();
    assert_eq!(
        keys.verify(&k.key).map(|p| p.credential_id.clone()),
        Ok(Some("ci \"bot\"".into()))
    );
}

#[test]
fn config_errors_name_the_field() {
    let k = generate().unwrap();
    let h = hash_key(&k.key, None);
    let yaml = format!(
        "keys:
  - {{id: a, prefix: {p}, hash: \"{h}\"}}
  - {{id: a, prefix: {p}, hash: \"{h}\"}}
  - {{id: c, prefix: ABC, hash: \"sha256:xyz\"}}
  - {{id: d, prefix: dddddddd, hash: \"hmac-sha256:{hex}\"}}
  - {{id: e, prefix: eeeeeeee, hash: \"{h}\", expires: tomorrow}}
",
        p = k.prefix,
        hex = &h.to_string()[7..],
    );
    let (cfg, problems) = parse(&yaml, PathBuf::from("."));
    assert!(cfg.is_none());
    let errors = problems.errors.join("\n");
    for expected in [
        "keys[1].id: two keys have the id `a`",
        &format!("keys[1].prefix: two keys have the prefix `{}`", k.prefix),
        "keys[2].prefix: a prefix is 8",
        "keys[2].hash: the hash is not 64 hexadecimal digits",
        "keys[3].hash: an `hmac-sha256:` hash needs the provider's `pepper`",
        "keys[4].expires: `tomorrow` is not an RFC 3339 time",
    ] {
        assert!(errors.contains(expected), "{expected}\n in\n{errors}");
    }
    assert_eq!(problems.errors.len(), 6, "{errors}");

    let (cfg, problems) = parse("keys: []\n", PathBuf::from("."));
    assert!(cfg.is_some_and(|c| c.keys.is_empty()));
    assert_eq!(problems.warnings.len(), 1);

    let (cfg, problems) = parse("pepper: hunter2\nkeys: []\n", PathBuf::from("."));
    assert!(cfg.is_none());
    assert!(
        problems.errors[0].contains("by reference"),
        "{:?}",
        problems.errors
    );
    assert!(!problems.errors[0].contains("hunter2"));
}

#[test]
fn unknown_fields_are_refused() {
    let r = serde_saphyr::from_str::<RawApiKeys>("keys: []\nkey: pck_x\n");
    assert!(r.is_err());
}
