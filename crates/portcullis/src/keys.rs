//! `portcullis keys`: API key management. `keys new` generates a key, prints it
//! once, and prints the config entry that holds only its hash.

use std::path::Path;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use portcullis_gateway::authn::apikey::{self, KeyEntry};
use portcullis_gateway::authn::now_secs;
use portcullis_gateway::config::Secret;

/// `portcullis keys …`.
#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Generate a new API key: prints the key (once; it is stored nowhere) and the
    /// entry to paste under `identity_providers.<name>.api_keys.keys`, which holds
    /// only the key's hash.
    ///
    /// The key looks like `pck_<prefix>_<secret>`: the 8-character prefix finds the
    /// entry, the secret is 32 random bytes. With `--pepper-env VAR` the hash is
    /// HMAC-SHA-256 keyed with the pepper read from the environment variable VAR (the
    /// provider then needs `pepper: env:VAR`, or the same value from a file);
    /// without it, SHA-256.
    New(NewKey),
}

/// Arguments of `keys new`.
#[derive(Debug, Args)]
pub(crate) struct NewKey {
    /// The key's id: the audit log and revocations name the key by it.
    #[arg(long, value_name = "NAME")]
    id: String,
    /// Who the key belongs to: the authenticated subject (default: the id).
    #[arg(long, value_name = "CONSUMER")]
    consumer: Option<String>,
    /// Roles granted, comma-separated.
    #[arg(long, value_name = "ROLE,...", value_delimiter = ',')]
    roles: Vec<String>,
    /// OAuth2-style scopes granted, comma-separated.
    #[arg(long, value_name = "SCOPE,...", value_delimiter = ',')]
    scopes: Vec<String>,
    /// The consumer's tenant.
    #[arg(long, value_name = "TENANT")]
    tenant: Option<String>,
    /// When the key stops working, RFC 3339 (e.g. 2026-12-31T23:59:59Z).
    #[arg(long, value_name = "RFC3339")]
    expires: Option<String>,
    /// Hash with HMAC-SHA-256, keyed with the pepper in this environment variable.
    #[arg(long, value_name = "VAR")]
    pepper_env: Option<String>,
}

/// Runs a `keys` command.
pub(crate) fn run(cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::New(args) => new(args),
    }
}

fn new(args: NewKey) -> anyhow::Result<()> {
    if args.id.trim().is_empty() {
        bail!("--id must not be empty");
    }
    let expires = match &args.expires {
        Some(text) => {
            let at = apikey::parse_expiry(text).map_err(|e| anyhow::anyhow!("--expires: {e}"))?;
            if at <= now_secs() {
                bail!("--expires: `{text}` is already past");
            }
            Some(at)
        }
        None => None,
    };
    let pepper = match &args.pepper_env {
        Some(var) => Some(
            Secret::resolve(&format!("env:{var}"), Path::new("."))
                .map_err(|e| anyhow::anyhow!("--pepper-env: {e}"))?,
        ),
        None => None,
    };
    let list = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let key = apikey::generate()
        .map_err(anyhow::Error::msg)
        .context("cannot generate a key")?;
    let entry = KeyEntry {
        consumer: args.consumer.unwrap_or_else(|| args.id.clone()),
        id: args.id,
        prefix: key.prefix.clone(),
        hash: apikey::hash_key(&key.key, pepper.as_ref().map(Secret::expose)),
        roles: list(args.roles),
        scopes: list(args.scopes),
        tenant: args.tenant,
        expires,
        revoked: false,
    };
    let hashing = match &args.pepper_env {
        Some(var) => format!(
            "hmac-sha256 with the pepper from ${var}: the provider needs `pepper: env:{var}`"
        ),
        None => "sha256".to_owned(),
    };
    println!(
        "API key `{}` (shown only now: it is stored nowhere and cannot be shown again):",
        entry.id
    );
    println!();
    println!("    {}", key.key);
    println!();
    println!("Give it to its owner over a secure channel. Its config entry ({hashing}),");
    println!("to add under identity_providers.<name>.api_keys.keys:");
    println!();
    print!("{}", entry.to_yaml());
    Ok(())
}
