//! `bank`: runs the naive demo bank on a loopback address.

use std::net::SocketAddr;
use std::process::ExitCode;

use portcullis_bank::{BankOptions, IdentityCheck};
use tokio::net::TcpListener;

const USAGE: &str = "\
bank — a deliberately naive banking API (the upstream of the Portcullis demo)

Usage: bank [--listen ADDR] [--allow-remote]
            [--identity-jwks URL [--identity-issuer ISS] [--identity-audience AUD]]

Options:
  --listen ADDR             address to listen on [default: 127.0.0.1:8081]
  --allow-remote            allow a non-loopback address (the bank is insecure on purpose)
  --identity-jwks URL       require the gateway-signed X-Portcullis-Identity token on every
                            route but /healthz, /v2/branches and /v2/rates/{code}, verified
                            with the JWK set at URL (plain http://, e.g. the gateway admin API's
                            http://127.0.0.1:9901/.well-known/jwks.json); the caller is the
                            token's subject and X-Portcullis-Subject is ignored
  --identity-issuer ISS     the token's required `iss` [default: portcullis]
  --identity-audience AUD   the token's required `aud` [default: bank]
  -h, --help                print this help
";

const DEFAULT_LISTEN: &str = "127.0.0.1:8081";

/// Command-line options, parsed by hand.
#[derive(Debug, PartialEq, Eq)]
struct Options {
    listen: SocketAddr,
    allow_remote: bool,
    /// `Some` with `--identity-jwks`: verify identity tokens.
    identity: Option<IdentityCheck>,
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Run(Options),
    Help,
}

fn main() -> ExitCode {
    let command = match parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("bank: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let options = match command {
        Command::Help => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Command::Run(options) => options,
    };
    if !options.listen.ip().is_loopback() && !options.allow_remote {
        eprintln!(
            "bank: refusing to listen on non-loopback address {}: the bank is insecure on \
             purpose; pass --allow-remote if you really mean it",
            options.listen
        );
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("bank: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let bank = BankOptions {
        identity: options.identity,
    };
    match runtime.block_on(run(options.listen, bank)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bank: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Binds, announces the address, and serves until Ctrl-C.
async fn run(listen: SocketAddr, options: BankOptions) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    println!("bank listening on http://{}", listener.local_addr()?);
    if let Some(check) = &options.identity {
        println!(
            "bank requires X-Portcullis-Identity (iss {}, aud {}), keys from {}",
            check.issuer, check.audience, check.jwks_url
        );
    }
    tokio::select! {
        served = portcullis_bank::serve_with(listener, options) => served,
        signal = tokio::signal::ctrl_c() => signal,
    }
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut listen = None;
    let mut allow_remote = false;
    let (mut jwks, mut issuer, mut audience) = (None, None, None);
    while let Some(arg) = args.next() {
        // `--flag value` or `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = |what: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .filter(|value| !value.is_empty())
                .ok_or(format!("{flag} needs {what}"))
        };
        match flag {
            "-h" | "--help" => return Ok(Command::Help),
            "--allow-remote" if inline.is_none() => allow_remote = true,
            "--listen" => {
                let value = value("an address")?;
                let addr = value.parse().map_err(|_| {
                    format!("invalid address `{value}` (expected e.g. {DEFAULT_LISTEN})")
                })?;
                listen = Some(addr);
            }
            "--identity-jwks" => jwks = Some(value("a URL")?),
            "--identity-issuer" => issuer = Some(value("an issuer")?),
            "--identity-audience" => audience = Some(value("an audience")?),
            _ => return Err(format!("unexpected argument `{arg}`")),
        }
    }
    let identity = match jwks {
        Some(url) => {
            let mut check = IdentityCheck::new(url);
            check.issuer = issuer.unwrap_or(check.issuer);
            check.audience = audience.unwrap_or(check.audience);
            check
                .validate()
                .map_err(|e| format!("--identity-jwks: {e}"))?;
            Some(check)
        }
        None if issuer.is_some() || audience.is_some() => {
            return Err(
                "--identity-issuer and --identity-audience need --identity-jwks".to_owned(),
            );
        }
        None => None,
    };
    let default = DEFAULT_LISTEN.parse().map_err(|_| "bad default address")?;
    Ok(Command::Run(Options {
        listen: listen.unwrap_or(default),
        allow_remote,
        identity,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Command, String> {
        parse(list.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn defaults_to_loopback_8081() {
        let expected = Options {
            listen: "127.0.0.1:8081".parse().expect("valid"),
            allow_remote: false,
            identity: None,
        };
        assert_eq!(args(&[]), Ok(Command::Run(expected)));
    }

    #[test]
    fn parses_listen_and_allow_remote() {
        let expected = Options {
            listen: "0.0.0.0:9000".parse().expect("valid"),
            allow_remote: true,
            identity: None,
        };
        let spaced = args(&["--listen", "0.0.0.0:9000", "--allow-remote"]);
        assert_eq!(spaced, Ok(Command::Run(expected)));
        let joined = args(&["--allow-remote", "--listen=0.0.0.0:9000"]);
        assert!(matches!(joined, Ok(Command::Run(o)) if o.allow_remote));
    }

    #[test]
    fn rejects_bad_input_and_prints_help() {
        assert_eq!(args(&["--help"]), Ok(Command::Help));
        assert!(args(&["--listen"]).is_err());
        assert!(args(&["--listen", "localhost"]).is_err());
        assert!(args(&["--verbose"]).is_err());
        assert!(args(&["--allow-remote=yes"]).is_err());
        assert!(args(&["--listen="]).is_err());
    }

    const JWKS: &str = "http://127.0.0.1:9901/.well-known/jwks.json";

    fn identity(list: &[&str]) -> Option<IdentityCheck> {
        match args(list) {
            Ok(Command::Run(options)) => options.identity,
            other => panic!("{list:?} → {other:?}"),
        }
    }

    #[test]
    fn parses_identity_flags() {
        assert_eq!(
            identity(&["--identity-jwks", JWKS]),
            Some(IdentityCheck::new(JWKS))
        );
        let mut expected = IdentityCheck::new(JWKS);
        expected.issuer = "https://gw.example".to_owned();
        expected.audience = "payments".to_owned();
        let spaced = [
            "--identity-audience",
            "payments",
            "--identity-jwks",
            JWKS,
            "--identity-issuer",
            "https://gw.example",
        ];
        assert_eq!(identity(&spaced), Some(expected.clone()));
        let jwks = format!("--identity-jwks={JWKS}");
        let joined = [
            jwks.as_str(),
            "--identity-issuer=https://gw.example",
            "--identity-audience=payments",
        ];
        assert_eq!(identity(&joined), Some(expected));
    }

    #[test]
    fn rejects_bad_identity_flags() {
        assert!(args(&["--identity-jwks"]).is_err());
        assert!(args(&["--identity-jwks", "https://gw/jwks.json"]).is_err());
        assert!(args(&["--identity-jwks", "not a url"]).is_err());
        assert!(args(&["--identity-issuer", "portcullis"]).is_err());
        assert!(args(&["--identity-audience=bank"]).is_err());
        assert!(args(&["--identity-jwks", JWKS, "--identity-audience="]).is_err());
    }
}
