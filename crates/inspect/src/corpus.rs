//! Scoring the detectors against a corpus of attack payloads and benign traffic
//! (the layout of `corpus/`: `attacks/*.txt` and `benign/*.txt`, one entry a line).
//!
//! Each attack payload is placed three ways, as the gateway would see it: as a
//! query value (percent-encoded on the wire), as a JSON string value, and as a
//! path segment (percent-encoded). A benign query-string file is split into its
//! parameters like a real query; any other benign file's lines are placed like
//! payloads. Lines that carry no attack (fragments, tool placeholders) are
//! skipped with a reason, and counted: generic rules in [`not_an_attack`], and
//! per-file lists in `skip/<attack-file-stem>.txt` (see [`Skips`]).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::{Detector, Inspector, Place};

/// What a browser or HTTP client leaves unencoded in a query value.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The three placements of a payload.
pub const PLACEMENTS: [Placement; 3] = [Placement::Query, Placement::Json, Placement::Path];

/// Where a payload is put.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// `?q=<payload, percent-encoded>`.
    Query,
    /// `{"q": "<payload>"}`.
    Json,
    /// `/items/<payload, percent-encoded>`.
    Path,
}

impl Placement {
    /// `query`, `json` or `path`.
    pub fn as_str(self) -> &'static str {
        match self {
            Placement::Query => "query",
            Placement::Json => "json",
            Placement::Path => "path",
        }
    }
}

/// Runs the inspector on `payload` placed as `placement`.
pub fn check(inspector: &Inspector, payload: &str, placement: Placement) -> Option<Detector> {
    match placement {
        Placement::Query => {
            let wire = utf8_percent_encode(payload, QUERY_VALUE).to_string();
            inspector.value(&wire, Place::Query)
        }
        Placement::Json => inspector.value(payload, Place::Json),
        Placement::Path => {
            let wire = utf8_percent_encode(payload, QUERY_VALUE).to_string();
            inspector.value(&wire, Place::Path)
        }
    }
}

/// Runs the inspector on every parameter name and value of a raw query string.
pub fn check_query_string(inspector: &Inspector, query: &str) -> Option<Detector> {
    query.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        inspector
            .value(value, Place::Query)
            .or_else(|| inspector.value(name, Place::Query))
    })
}

/// Why an attack-file line is not counted as a payload, if it is not one, by
/// the rules that hold for every file (a file's own list is [`Skips`]).
///
/// Each rule is a kind of line that carries no attack on its own; the report
/// lists every skipped line with its rule.
pub fn not_an_attack(file: &str, line: &str) -> Option<&'static str> {
    let t = line.trim();
    if t.is_empty() {
        return Some("empty");
    }
    // The libinjection files use `#` for comments; elsewhere `#` may be SQL.
    if file.contains("libinjection") && t.starts_with('#') {
        return Some("comment");
    }
    None
}

/// The lines of one attack file that are not attacks, each with the reason,
/// read from `skip/<stem>.txt` beside `attacks/`.
///
/// Format: one entry a line, the exact payload line, a TAB, the reason (the
/// last TAB separates them, so a payload may hold TABs). Lines without a TAB
/// are comments. An entry says why the line carries no attack by itself (a
/// lone quote, a comment of the payload list, a description): a line is never
/// listed because a detector misses it.
#[derive(Debug, Clone, Default)]
pub struct Skips {
    reasons: HashMap<String, String>,
}

impl Skips {
    /// No entries.
    pub fn none() -> Skips {
        Skips::default()
    }

    /// Parses a skip file's text.
    pub fn parse(text: &str) -> Skips {
        let reasons = text
            .lines()
            .filter_map(|l| l.rsplit_once('\t'))
            .map(|(payload, reason)| {
                (
                    payload.trim_end_matches('\r').to_owned(),
                    reason.trim().to_owned(),
                )
            })
            .collect();
        Skips { reasons }
    }

    /// The skip list of attack file `file_name` (e.g. `sqli-patt.txt`) under
    /// corpus `dir`; none when it has no `skip/` file.
    pub fn load(dir: &Path, file_name: &str) -> std::io::Result<Skips> {
        let stem = file_name.strip_suffix(".txt").unwrap_or(file_name);
        match std::fs::read(dir.join("skip").join(format!("{stem}.txt"))) {
            Ok(bytes) => Ok(Skips::parse(&String::from_utf8_lossy(&bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Skips::none()),
            Err(e) => Err(e),
        }
    }

    /// The reason `line` is listed, if it is.
    pub fn reason(&self, line: &str) -> Option<&str> {
        self.reasons
            .get(line.trim_end_matches('\r'))
            .map(String::as_str)
    }

    /// The entries: payload line and reason.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.reasons.iter().map(|(p, r)| (p.as_str(), r.as_str()))
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.reasons.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.reasons.is_empty()
    }
}

/// The score of one file.
#[derive(Debug, Clone)]
pub struct FileScore {
    /// The file name, e.g. `attacks/sqli-patt.txt`.
    pub name: String,
    /// Whether it holds attacks (else benign traffic).
    pub attack: bool,
    /// Lines counted (payloads, or benign entries).
    pub counted: usize,
    /// Lines skipped: line number from 1, the reason, the line.
    pub skipped: Vec<(usize, String, String)>,
    /// Per placement (same order as [`PLACEMENTS`]; one entry, `query`, for a
    /// benign query-string file): lines flagged.
    pub flagged: Vec<(Placement, usize)>,
    /// Missed payloads (attack) or flagged lines (benign): placement, line number, text, detector.
    pub notable: Vec<(Placement, usize, String, Option<Detector>)>,
}

impl FileScore {
    /// Flagged lines as a percentage of counted lines, per placement.
    pub fn rates(&self) -> Vec<(Placement, f64)> {
        self.flagged
            .iter()
            .map(|&(p, n)| (p, 100.0 * n as f64 / self.counted.max(1) as f64))
            .collect()
    }

    /// The lowest detection rate over the placements (attack files), or the
    /// highest false-positive rate (benign files).
    pub fn worst(&self) -> f64 {
        let rates = self.rates().into_iter().map(|(_, r)| r);
        if self.attack {
            rates.fold(100.0, f64::min)
        } else {
            rates.fold(0.0, f64::max)
        }
    }
}

/// Scores every `attacks/*.txt` and `benign/*.txt` file under `dir`.
pub fn score(inspector: &Inspector, dir: &Path) -> std::io::Result<Vec<FileScore>> {
    let mut out = Vec::new();
    for (sub, attack) in [("attacks", true), ("benign", false)] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(sub))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .collect();
        files.sort();
        for path in files {
            let name = format!(
                "{sub}/{}",
                path.file_name().unwrap_or_default().to_string_lossy()
            );
            let text = String::from_utf8_lossy(&std::fs::read(&path)?).into_owned();
            let skips = if attack {
                Skips::load(dir, &name[sub.len() + 1..])?
            } else {
                Skips::none()
            };
            out.push(score_file_with(inspector, &name, attack, &text, &skips));
        }
    }
    Ok(out)
}

/// Scores one file's text (with the generic skip rules only).
pub fn score_file(inspector: &Inspector, name: &str, attack: bool, text: &str) -> FileScore {
    score_file_with(inspector, name, attack, text, &Skips::none())
}

/// Scores one file's text, skipping the lines `skips` lists.
pub fn score_file_with(
    inspector: &Inspector,
    name: &str,
    attack: bool,
    text: &str,
    skips: &Skips,
) -> FileScore {
    let query_strings = !attack && name.contains("query-strings");
    let placements: &[Placement] = if query_strings {
        &[Placement::Query]
    } else {
        &PLACEMENTS
    };
    let mut s = FileScore {
        name: name.to_owned(),
        attack,
        counted: 0,
        skipped: Vec::new(),
        flagged: placements.iter().map(|&p| (p, 0)).collect(),
        notable: Vec::new(),
    };
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let skip = if attack {
            not_an_attack(name, line).or_else(|| skips.reason(line))
        } else if line.trim().is_empty() {
            Some("empty")
        } else if name.contains("libinjection") && line.starts_with('#') {
            Some("comment")
        } else {
            None
        };
        if let Some(why) = skip {
            s.skipped.push((n, why.to_owned(), line.to_owned()));
            continue;
        }
        s.counted += 1;
        for (k, &p) in placements.iter().enumerate() {
            let found = if query_strings {
                check_query_string(inspector, line)
            } else {
                check(inspector, line, p)
            };
            if found.is_some() {
                s.flagged[k].1 += 1;
            }
            if found.is_some() != attack {
                s.notable.push((p, n, line.to_owned(), found));
            }
        }
    }
    s
}

/// The scores as a Markdown table.
pub fn table(scores: &[FileScore]) -> String {
    let mut t = String::from(
        "| file | lines | skipped | query | JSON | path |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for s in scores {
        let rates = s.rates();
        let cell = |p: Placement| {
            rates
                .iter()
                .find(|(q, _)| *q == p)
                .map_or("–".to_owned(), |(_, r)| format!("{r:.2}%"))
        };
        let _ = writeln!(
            t,
            "| {} ({}) | {} | {} | {} | {} | {} |",
            s.name,
            if s.attack {
                "detected"
            } else {
                "false positives"
            },
            s.counted,
            s.skipped.len(),
            cell(Placement::Query),
            cell(Placement::Json),
            cell(Placement::Path),
        );
    }
    t
}

/// Every missed payload, flagged benign line and skipped line, for study.
pub fn details(scores: &[FileScore]) -> String {
    let mut t = String::new();
    for s in scores {
        let _ = writeln!(t, "## {}", s.name);
        for (p, n, line, d) in &s.notable {
            let what = if s.attack { "missed" } else { "flagged" };
            let by = d.map_or(String::new(), |d| format!(" by {d}"));
            let _ = writeln!(t, "{what} as {} line {n}{by}: {line}", p.as_str());
        }
        for (n, why, line) in &s.skipped {
            let _ = writeln!(t, "skipped line {n} ({why}): {line}");
        }
    }
    t
}
