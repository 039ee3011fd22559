//! `portcullis`: the command line of the Portcullis API security gateway.

mod demo;
mod inspect;
mod keys;
mod policy;
mod token;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

// A proxy allocates and frees small buffers on every request; mimalloc does that
// markedly cheaper than glibc's allocator (see bench/RESULTS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Portcullis: an API security gateway that lets through only what your OpenAPI
/// contracts and security policies allow.
#[derive(Debug, Parser)]
#[command(name = "portcullis", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway with a config file until SIGTERM/SIGINT (SIGHUP reloads).
    ///
    /// The config names the listeners, the APIs (each an OpenAPI spec and an upstream),
    /// limits, TLS and the audit log. The config and every file it references are
    /// watched: a valid change is applied without dropping a request, an invalid one is
    /// logged and the running config kept.
    Run {
        /// The gateway config (YAML), e.g. examples/bank/portcullis.yaml.
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Validate a config and everything it references (specs, certificates, secrets,
    /// upstream URLs) without starting; prints every problem with file, line and field.
    /// Exit code 0 when valid, 1 when not.
    Check {
        /// The gateway config (YAML).
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Start the example bank API and the gateway in front of it, and print requests to
    /// try. Everything binds 127.0.0.1 only; Ctrl-C stops both.
    Demo {
        /// Port of the gateway.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Port of the admin API.
        #[arg(long, default_value_t = 9901)]
        admin_port: u16,
    },
    /// Make signing keys and JWTs for development and tests: `keygen` writes a key,
    /// `jwks` prints its public JWK set, `mint` signs a token with it.
    Token(token::TokenArgs),
    /// Manage API keys: `keys new` generates one, prints it once and prints the config
    /// entry that holds only its hash.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// Work with an API's authorization policies without running the gateway:
    /// `policy test FILE` decides test cases and compares them with what they
    /// expect (for CI), `policy schema` prints the Cedar schema policies are
    /// written against.
    Policy {
        #[command(subcommand)]
        command: policy::PolicyCommand,
    },
    /// Work with the injection detectors without running the gateway:
    /// `inspect corpus` scores them on the attack and benign corpus and prints
    /// the table (see docs/inspection.md).
    Inspect {
        #[command(subcommand)]
        command: inspect::InspectCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Run { config } => run(&config),
        Command::Check { config } => return check(&config),
        Command::Demo { port, admin_port } => demo::run(port, admin_port),
        Command::Token(args) => token::run(args),
        Command::Keys { command } => keys::run(command),
        Command::Policy { command } => return policy::run(command),
        Command::Inspect { command } => inspect::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn run(config: &std::path::Path) -> anyhow::Result<()> {
    // Read once for the process-level settings (the gateway itself loads it again).
    let cfg = portcullis_gateway::config::load(config).map_err(|e| anyhow::anyhow!("{e}"))?;
    // One worker: a current-thread scheduler does the same work without the
    // cross-thread queues and wake-ups of the work-stealing one.
    let mut builder = match cfg.runtime.worker_threads {
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n.max(1));
            b
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    let rt = builder
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let running = portcullis_gateway::server::start(config).await?;
        running.until_signalled().await.context("signal handling")?;
        Ok(())
    })
}

fn check(config: &std::path::Path) -> ExitCode {
    let loaded = portcullis_gateway::config::load(config).and_then(|cfg| {
        let metrics = std::sync::Arc::new(portcullis_gateway::metrics::Metrics::new());
        let auth = portcullis_gateway::authn::Shared::new(metrics.clone());
        portcullis_gateway::runtime::Runtime::build(cfg, &metrics, &auth)
    });
    match loaded {
        Ok(rt) => {
            for w in &rt.config.warnings {
                eprintln!("warning: {w}");
            }
            let ops: usize = rt
                .config
                .apis
                .iter()
                .filter_map(|a| a.spec.as_ref())
                .map(|s| s.operations.len())
                .sum();
            println!(
                "{}: ok — {} listener(s), {} API(s), {} operation(s), version {}",
                config.display(),
                rt.config.listeners.len(),
                rt.config.apis.len(),
                ops,
                &rt.config.version[..12]
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("{e}");
            }
            eprintln!(
                "{}: {} problem(s); not valid",
                config.display(),
                errors.0.len()
            );
            ExitCode::FAILURE
        }
    }
}
