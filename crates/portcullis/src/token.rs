//! `portcullis token`: local signing keys and JWTs for development and tests.
//!
//! `keygen` writes a private key (PKCS#8 PEM, mode 0600) and prints its public
//! JWK set; `jwks` prints the JWK set of existing keys; `mint` signs one JWT.
//! The private key is only ever written to the `keygen` output file.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use portcullis_gateway::authn::mint::{Minter, alg_name, algorithm_from_name, random_id};
use serde_json::{Map, Value, json};

/// Arguments of `portcullis token`.
#[derive(Debug, Args)]
#[command(after_long_help = EXAMPLE)]
pub(crate) struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
}

const EXAMPLE: &str = "\
Example: a key, its JWKS for the gateway's `jwks_file`, and a token to call an API with:

  portcullis token keygen --out dev-signing.pem > dev-jwks.json
  TOKEN=$(portcullis token mint --key dev-signing.pem --iss https://idp.dev.test \\
            --aud bank-api --sub alice --roles teller --scope \"accounts:read\" --mfa)
  curl -H \"Authorization: Bearer $TOKEN\" http://127.0.0.1:8080/v2/accounts";

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a signing key: writes the private key (PKCS#8 PEM, mode 0600) to
    /// --out and prints its public JWK set on stdout.
    #[command(after_long_help = "\
Example:
  portcullis token keygen --out dev-signing.pem > dev-jwks.json
  portcullis token keygen --out rsa.pem --alg RS256")]
    Keygen {
        /// Where to write the private key. It is secret: keep it out of version control.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// The algorithm, which decides the key type: ES256 (EC P-256), ES384 (EC P-384),
        /// RS256 (RSA 2048) or EdDSA (Ed25519).
        #[arg(long, default_value = "ES256", value_parser = ["ES256", "ES384", "RS256", "EdDSA"])]
        alg: String,
        /// Replace --out if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Print the public JWK set of one or more private keys, e.g. to paste into a
    /// `jwks_file` or to serve; repeat --key to publish several (key rotation).
    #[command(after_long_help = "\
Example:
  portcullis token jwks --key dev-signing.pem > dev-jwks.json
  portcullis token jwks --key old.pem --key new.pem > jwks.json")]
    Jwks {
        /// A private key file (PKCS#8 PEM: EC P-256/P-384, RSA or Ed25519).
        #[arg(long, value_name = "FILE", required = true)]
        key: Vec<PathBuf>,
    },
    /// Sign one JWT and print it. Sets iss, sub, aud, iat, nbf, exp, jti and amr;
    /// the header has alg, typ JWT and the key's kid (its RFC 7638 thumbprint).
    #[command(after_long_help = "\
Example:
  portcullis token mint --key dev-signing.pem --iss https://idp.dev.test --aud bank-api \\
      --sub alice --roles teller,auditor --scope \"accounts:read payments:write\" \\
      --tenant acme --ttl 1h --mfa --claim department=retail

Claims: {\"iss\", \"sub\", \"aud\", \"iat\": now, \"nbf\": now, \"exp\": now + ttl,
\"jti\": random unless --jti, \"amr\": [\"pwd\"] or [\"pwd\",\"mfa\"] with --mfa,
\"roles\": [..] with --roles, \"scope\": \"..\" with --scope, \"tenant\" with --tenant},
then every --claim.")]
    Mint(MintArgs),
}

/// The claims and key of `portcullis token mint`.
#[derive(Debug, Args)]
struct MintArgs {
    /// The private key to sign with (PKCS#8 PEM, e.g. from `portcullis token keygen`).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Issuer (`iss`), as the gateway's identity provider expects it.
    #[arg(long, value_name = "ISS")]
    iss: String,
    /// Audience (`aud`); repeat for several (then `aud` is an array).
    #[arg(long, value_name = "AUD", required = true)]
    aud: Vec<String>,
    /// Subject (`sub`): who the token is for.
    #[arg(long, value_name = "SUB")]
    sub: String,
    /// Roles, comma-separated or repeated; become the array claim `roles`.
    #[arg(long, value_name = "ROLE,...", value_delimiter = ',')]
    roles: Vec<String>,
    /// OAuth scopes, space-separated (`scope`), e.g. "accounts:read payments:write".
    #[arg(long, value_name = "SCOPES")]
    scope: Option<String>,
    /// Tenant (`tenant` claim).
    #[arg(long, value_name = "TENANT")]
    tenant: Option<String>,
    /// Lifetime: `exp` is now plus this (e.g. 30s, 15m, 1h).
    #[arg(long, value_name = "DURATION", default_value = "15m")]
    ttl: String,
    /// Say the user passed multi-factor authentication: `amr` is ["pwd","mfa"]
    /// instead of ["pwd"].
    #[arg(long)]
    mfa: bool,
    /// Token id (`jti`); random by default.
    #[arg(long, value_name = "ID")]
    jti: Option<String>,
    /// An extra claim NAME=VALUE; repeatable. VALUE is taken as JSON when it is valid
    /// JSON (42, true, ["a","b"], {"k":1}, "quoted"), else as a string. Applied last,
    /// so it can replace any claim above (e.g. --claim exp=1 for an expired token).
    #[arg(long = "claim", value_name = "NAME=VALUE")]
    claims: Vec<String>,
}

/// Runs `portcullis token ...`.
pub(crate) fn run(args: TokenArgs) -> anyhow::Result<()> {
    match args.command {
        TokenCommand::Keygen { out, alg, force } => keygen(&out, &alg, force),
        TokenCommand::Jwks { key } => jwks(&key),
        TokenCommand::Mint(args) => mint(&args),
    }
}

fn keygen(out: &Path, alg: &str, force: bool) -> anyhow::Result<()> {
    let alg = algorithm_from_name(alg).map_err(anyhow::Error::msg)?;
    let minter = Minter::generate_for(alg).map_err(anyhow::Error::msg)?;
    write_secret(out, &minter.to_pem(), force)?;
    eprintln!(
        "wrote a {} private key to {} (kid {}); keep it secret",
        alg_name(alg),
        out.display(),
        minter.kid()
    );
    print_json(&minter.jwks())
}

fn jwks(keys: &[PathBuf]) -> anyhow::Result<()> {
    let mut set = Vec::new();
    for path in keys {
        let minter = load(path)?;
        if let Some(keys) = minter.jwks()["keys"].as_array() {
            set.extend(keys.iter().cloned());
        }
    }
    print_json(&json!({ "keys": set }))
}

fn mint(args: &MintArgs) -> anyhow::Result<()> {
    let minter = load(&args.key)?;
    let claims = claims(args, portcullis_gateway::authn::now_secs())?;
    let token = minter.sign(&claims).map_err(anyhow::Error::msg)?;
    println!("{token}");
    Ok(())
}

/// The claims of `mint`, issued at `now` (Unix seconds).
fn claims(args: &MintArgs, now: u64) -> anyhow::Result<Value> {
    let ttl = portcullis_gateway::config::units::parse_duration(&args.ttl)
        .map_err(|e| anyhow::anyhow!("--ttl: {e}"))?;
    if ttl.as_secs() == 0 {
        bail!("--ttl: `{}` is less than a second", args.ttl);
    }
    let jti = match &args.jti {
        Some(jti) => jti.clone(),
        None => random_id().map_err(anyhow::Error::msg)?,
    };
    let aud = match args.aud.as_slice() {
        [one] => json!(one),
        many => json!(many),
    };
    let amr = if args.mfa {
        json!(["pwd", "mfa"])
    } else {
        json!(["pwd"])
    };
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(args.iss));
    claims.insert("sub".into(), json!(args.sub));
    claims.insert("aud".into(), aud);
    claims.insert("iat".into(), json!(now));
    claims.insert("nbf".into(), json!(now));
    claims.insert("exp".into(), json!(now.saturating_add(ttl.as_secs())));
    claims.insert("jti".into(), json!(jti));
    claims.insert("amr".into(), amr);
    let roles: Vec<&str> = args
        .roles
        .iter()
        .map(|r| r.trim())
        .filter(|r| !r.is_empty())
        .collect();
    if !roles.is_empty() {
        claims.insert("roles".into(), json!(roles));
    }
    if let Some(scope) = &args.scope {
        let scope: Vec<&str> = scope.split_whitespace().collect();
        claims.insert("scope".into(), json!(scope.join(" ")));
    }
    if let Some(tenant) = &args.tenant {
        claims.insert("tenant".into(), json!(tenant));
    }
    for claim in &args.claims {
        let Some((name, value)) = claim.split_once('=') else {
            bail!("--claim `{claim}`: write NAME=VALUE");
        };
        let name = name.trim();
        if name.is_empty() {
            bail!("--claim `{claim}`: the name is empty");
        }
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
        claims.insert(name.to_owned(), value);
    }
    Ok(Value::Object(claims))
}

fn load(path: &Path) -> anyhow::Result<Minter> {
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the key file {}", path.display()))?;
    Minter::from_pem(&pem).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Writes `text` to a new file only its owner can read (mode 0600 on Unix).
fn write_secret(path: &Path, text: &str, force: bool) -> anyhow::Result<()> {
    if force {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("cannot replace {}", path.display()));
            }
            _ => {}
        }
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!(
                "{} exists; pass --force to replace it (the old key is lost)",
                path.display()
            )
        }
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
    };
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn print_json(value: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: TokenCommand,
    }

    fn mint_args(extra: &[&str]) -> MintArgs {
        let mut argv = vec![
            "token",
            "mint",
            "--key",
            "k.pem",
            "--iss",
            "https://i",
            "--aud",
            "api",
            "--sub",
            "alice",
        ];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).unwrap().command {
            TokenCommand::Mint(args) => args,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let c = claims(&mint_args(&[]), 1000).unwrap();
        assert_eq!(c["iss"], "https://i");
        assert_eq!(c["aud"], "api");
        assert_eq!(c["sub"], "alice");
        assert_eq!(c["iat"], 1000);
        assert_eq!(c["nbf"], 1000);
        assert_eq!(c["exp"], 1000 + 15 * 60);
        assert_eq!(c["amr"], json!(["pwd"]));
        assert_eq!(c["jti"].as_str().unwrap().len(), 22);
        for absent in ["roles", "scope", "tenant"] {
            assert!(c.get(absent).is_none(), "{absent}");
        }
    }

    #[test]
    fn every_option() {
        let c = claims(
            &mint_args(&[
                "--roles",
                "teller, auditor",
                "--roles",
                "admin",
                "--scope",
                " a:read  b:write ",
                "--tenant",
                "acme",
                "--ttl",
                "1h",
                "--mfa",
                "--jti",
                "id-1",
                "--aud",
                "other",
                "--claim",
                "level=3",
                "--claim",
                "flags=[\"x\"]",
                "--claim",
                "note=a=b",
                "--claim",
                "exp=1",
            ]),
            1000,
        )
        .unwrap();
        assert_eq!(c["roles"], json!(["teller", "auditor", "admin"]));
        assert_eq!(c["scope"], "a:read b:write");
        assert_eq!(c["tenant"], "acme");
        assert_eq!(c["amr"], json!(["pwd", "mfa"]));
        assert_eq!(c["jti"], "id-1");
        assert_eq!(c["aud"], json!(["api", "other"]));
        assert_eq!(c["level"], 3);
        assert_eq!(c["flags"], json!(["x"]));
        assert_eq!(c["note"], "a=b");
        assert_eq!(c["exp"], 1, "--claim replaces a standard claim");
    }

    #[test]
    fn bad_values() {
        for (extra, want) in [
            (&["--ttl", "soon"][..], "--ttl"),
            (&["--ttl", "0s"][..], "less than a second"),
            (&["--claim", "novalue"][..], "NAME=VALUE"),
            (&["--claim", "=x"][..], "name is empty"),
        ] {
            let err = claims(&mint_args(extra), 0).unwrap_err().to_string();
            assert!(err.contains(want), "{extra:?}: {err}");
        }
    }

    #[test]
    fn keygen_rejects_unknown_algorithms() {
        assert!(Cli::try_parse_from(["t", "keygen", "--out", "x", "--alg", "HS256"]).is_err());
    }
}
