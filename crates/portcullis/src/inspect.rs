//! `portcullis inspect`: work with the injection detectors outside the gateway.
//!
//! `inspect corpus` scores them on a corpus of attack payloads and benign
//! traffic (see `crates/inspect/corpus/README.md`): each payload is placed as a
//! query value, a JSON string and a path segment; the Markdown table goes to
//! stdout, and every missed payload, flagged benign line and skipped line to
//! a details file for study.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use portcullis_inspect::{Inspector, Sensitivity, Settings, corpus};

/// Where the project keeps its corpus, from the workspace root.
const DEFAULT_DIR: &str = "crates/inspect/corpus";
/// Where the details go unless `--details` says otherwise.
const DEFAULT_DETAILS: &str = "target/inspect-corpus-details.txt";

#[derive(Debug, Subcommand)]
pub(crate) enum InspectCommand {
    /// Score the detectors on a corpus: detection per attack file and placement,
    /// false positives per benign file (a Markdown table on stdout).
    Corpus {
        /// The corpus: `attacks/*.txt`, `benign/*.txt` and `skip/*.txt`
        /// [default: crates/inspect/corpus, from the current directory].
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Where to write the missed payloads, flagged benign lines and skipped
        /// lines [default: target/inspect-corpus-details.txt].
        #[arg(long, value_name = "FILE")]
        details: Option<PathBuf>,
        /// How eagerly the detectors fire.
        #[arg(long, value_enum, default_value_t = Level::Medium)]
        sensitivity: Level,
    },
}

/// `--sensitivity`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Level {
    Low,
    Medium,
    High,
}

impl From<Level> for Sensitivity {
    fn from(l: Level) -> Sensitivity {
        match l {
            Level::Low => Sensitivity::Low,
            Level::Medium => Sensitivity::Medium,
            Level::High => Sensitivity::High,
        }
    }
}

pub(crate) fn run(command: InspectCommand) -> anyhow::Result<()> {
    match command {
        InspectCommand::Corpus {
            dir,
            details,
            sensitivity,
        } => score_corpus(dir, details, sensitivity),
    }
}

fn score_corpus(
    dir: Option<PathBuf>,
    details: Option<PathBuf>,
    level: Level,
) -> anyhow::Result<()> {
    let dir = dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DIR));
    if !dir.join("attacks").is_dir() || !dir.join("benign").is_dir() {
        anyhow::bail!(
            "{} is not a corpus (it needs attacks/ and benign/); run from the workspace root or pass --dir",
            dir.display()
        );
    }
    let inspector = Inspector::new(Settings {
        sensitivity: level.into(),
        ..Settings::default()
    });
    let started = Instant::now();
    let scores = corpus::score(&inspector, &dir)
        .with_context(|| format!("cannot read the corpus in {}", dir.display()))?;
    let took = started.elapsed();
    print!("{}", corpus::table(&scores));
    let details = details.unwrap_or_else(|| PathBuf::from(DEFAULT_DETAILS));
    write_details(&details, &corpus::details(&scores))?;
    println!(
        "\nsensitivity {level:?}, scored in {:.2} s; missed payloads, flagged benign lines and skipped lines: {}",
        took.as_secs_f64(),
        details.display()
    );
    Ok(())
}

fn write_details(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
