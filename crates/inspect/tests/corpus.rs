//! Guards the detection and false-positive figures on the project's corpus
//! (`corpus/`, see its README): a change that loses detection or adds false
//! positives beyond a small margin fails here. The figures are those of
//! `portcullis inspect corpus` (see docs/inspection.md).

use std::path::Path;

use portcullis_inspect::corpus::{self, FileScore};
use portcullis_inspect::{Inspector, Settings};

/// The worst placement's detection rate (percent) each attack file must keep.
/// An attack file's detector counts as done once it is listed with a floor
/// of at least 97%; files still in work are listed with the figure they have.
const DETECTION_FLOORS: &[(&str, f64)] = &[
    ("attacks/cmdi-patt.txt", 99.27),
    ("attacks/crlf-patt.txt", 100.0),
    ("attacks/ldap-patt.txt", 100.0),
    ("attacks/nosql-patt.txt", 100.0),
    ("attacks/sqli-libinjection.txt", 99.02),
    ("attacks/sqli-patt.txt", 99.21),
    ("attacks/ssti-patt.txt", 100.0),
    ("attacks/traversal-patt.txt", 99.80),
    ("attacks/xss-patt.txt", 100.0),
    ("attacks/xxe-patt.txt", 100.0),
];

/// How many lines of each benign file may be flagged (all detectors together).
const FALSE_POSITIVE_CEILINGS: &[(&str, usize)] = &[
    ("benign/query-strings-openappsec.txt", 0),
    ("benign/tricky-libinjection.txt", 0),
];

/// Percentage points of detection a change may lose before this test fails.
const MARGIN_POINTS: f64 = 0.5;
/// Flagged benign lines a change may add before this test fails.
const MARGIN_LINES: usize = 1;

fn scores() -> Vec<FileScore> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    corpus::score(&Inspector::new(Settings::default()), &dir).expect("the corpus is readable")
}

#[test]
fn detection_and_false_positives_do_not_regress() {
    let scores = scores();
    let mut failures = Vec::new();
    for &(name, floor) in DETECTION_FLOORS {
        let Some(s) = scores.iter().find(|s| s.name == name) else {
            failures.push(format!("{name}: missing from the corpus"));
            continue;
        };
        let min = if floor >= 97.0 {
            (floor - MARGIN_POINTS).max(97.0)
        } else {
            floor - MARGIN_POINTS
        };
        if s.worst() < min {
            failures.push(format!("{name}: detection {:.2}% < {min:.2}%", s.worst()));
        }
    }
    for &(name, ceiling) in FALSE_POSITIVE_CEILINGS {
        let Some(s) = scores.iter().find(|s| s.name == name) else {
            failures.push(format!("{name}: missing from the corpus"));
            continue;
        };
        // Never above 0.1% of the file, whatever the margin.
        let max = (ceiling + MARGIN_LINES).min(s.counted / 1000);
        let flagged = s.flagged.iter().map(|&(_, n)| n).max().unwrap_or(0);
        if flagged > max {
            let lines: Vec<String> = s
                .notable
                .iter()
                .map(|(p, n, _, d)| format!("{} line {n} by {d:?}", p.as_str()))
                .collect();
            failures.push(format!("{name}: {flagged} flagged > {max}: {lines:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "corpus regressions:\n{}",
        failures.join("\n")
    );
}

#[test]
fn skip_lists_name_only_lines_of_their_files() {
    // A skip entry that matches no line is stale (the file changed, or a typo):
    // it would silently stop skipping.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for entry in std::fs::read_dir(dir.join("attacks")).expect("attacks/") {
        let path = entry.expect("a directory entry").path();
        let file = path
            .file_name()
            .expect("a file name")
            .to_string_lossy()
            .into_owned();
        let text = String::from_utf8_lossy(&std::fs::read(&path).expect("readable")).into_owned();
        let lines: std::collections::HashSet<&str> =
            text.lines().map(|l| l.trim_end_matches('\r')).collect();
        let skips = corpus::Skips::load(&dir, &file).expect("readable skip list");
        for (payload, reason) in skips.entries() {
            assert!(
                lines.contains(payload),
                "{file}: stale skip entry ({reason})"
            );
            assert!(!reason.is_empty(), "{file}: a skip entry without a reason");
        }
    }
}
