//! `bank`: runs the naive demo bank on a loopback address.

use std::net::SocketAddr;
use std::process::ExitCode;

use tokio::net::TcpListener;

const USAGE: &str = "\
bank — a deliberately naive banking API (the upstream of the Portcullis demo)

Usage: bank [--listen ADDR] [--allow-remote]

Options:
  --listen ADDR     address to listen on [default: 127.0.0.1:8081]
  --allow-remote    allow a non-loopback address (the bank is insecure on purpose)
  -h, --help        print this help
";

const DEFAULT_LISTEN: &str = "127.0.0.1:8081";

/// Command-line options, parsed by hand.
#[derive(Debug, PartialEq, Eq)]
struct Options {
    listen: SocketAddr,
    allow_remote: bool,
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
    match runtime.block_on(run(options.listen)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bank: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Binds, announces the address, and serves until Ctrl-C.
async fn run(listen: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    println!("bank listening on http://{}", listener.local_addr()?);
    tokio::select! {
        served = portcullis_bank::serve(listener) => served,
        signal = tokio::signal::ctrl_c() => signal,
    }
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut listen = None;
    let mut allow_remote = false;
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--allow-remote" => {
                allow_remote = true;
                continue;
            }
            "--listen" => args.next().ok_or("--listen needs an address")?,
            other => match other.strip_prefix("--listen=") {
                Some(value) => value.to_owned(),
                None => return Err(format!("unexpected argument `{other}`")),
            },
        };
        let addr = value
            .parse()
            .map_err(|_| format!("invalid address `{value}` (expected e.g. {DEFAULT_LISTEN})"))?;
        listen = Some(addr);
    }
    let default = DEFAULT_LISTEN.parse().map_err(|_| "bad default address")?;
    Ok(Command::Run(Options {
        listen: listen.unwrap_or(default),
        allow_remote,
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
        };
        assert_eq!(args(&[]), Ok(Command::Run(expected)));
    }

    #[test]
    fn parses_listen_and_allow_remote() {
        let expected = Options {
            listen: "0.0.0.0:9000".parse().expect("valid"),
            allow_remote: true,
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
    }
}
