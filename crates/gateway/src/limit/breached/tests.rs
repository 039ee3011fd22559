//! Breached-password lookups against real files: every known password found,
//! absent ones not, both ends of the file, CRLF and lower-case files, tiny and
//! malformed files, and a number of reads that grows with the log of the size.

use std::io::Write;
use std::path::Path;

use super::{Breached, sha1_hex};

/// Passwords put in every generated file.
const KNOWN: [&str; 6] = [
    "password",
    "123456",
    "hunter2",
    "correct horse battery staple",
    "Pa$$w0rd!",
    "pässwörd",
];

/// `n` pseudo-random hashes plus the known passwords' hashes, sorted, one
/// `HASH:COUNT` line each.
fn lines(n: usize) -> Vec<String> {
    let mut hashes: Vec<[u8; 40]> = (0..n)
        .map(|i| sha1_hex(format!("random-{i}").as_bytes()))
        .chain(KNOWN.iter().map(|p| sha1_hex(p.as_bytes())))
        .collect();
    hashes.sort_unstable();
    hashes
        .iter()
        .enumerate()
        .map(|(i, h)| format!("{}:{}", std::str::from_utf8(h).unwrap(), i % 9000 + 1))
        .collect()
}

fn write(
    dir: &Path,
    name: &str,
    lines: &[String],
    end: &str,
    last_end: bool,
) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for (i, l) in lines.iter().enumerate() {
        f.write_all(l.as_bytes()).unwrap();
        if i + 1 < lines.len() || last_end {
            f.write_all(end.as_bytes()).unwrap();
        }
    }
    f.flush().unwrap();
    path
}

fn hash_of(line: &str) -> [u8; 40] {
    line.as_bytes()[..40].try_into().unwrap()
}

#[test]
fn a_large_file_finds_every_known_password_and_no_absent_one_in_log_reads() {
    let dir = tempfile::tempdir().unwrap();
    let all = lines(100_000);
    let path = write(dir.path(), "pwned.txt", &all, "\n", true);
    let b = Breached::open(&path).unwrap();
    let mut most = 0;
    for p in KNOWN {
        let l = b.lookup(&sha1_hex(p.as_bytes())).unwrap();
        assert!(l.found, "{p} is in the file");
        most = most.max(l.reads);
        assert!(b.contains(p.as_bytes()).unwrap());
    }
    for i in 0..1000 {
        let l = b
            .lookup(&sha1_hex(format!("absent-{i}").as_bytes()))
            .unwrap();
        assert!(!l.found, "absent-{i} is not in the file");
        most = most.max(l.reads);
    }
    for line in [
        &all[0],
        &all[1],
        &all[all.len() / 2],
        &all[all.len() - 2],
        &all[all.len() - 1],
    ] {
        let l = b.lookup(&hash_of(line)).unwrap();
        assert!(l.found, "{line} is in the file");
        most = most.max(l.reads);
    }
    // 100k lines of ~47 bytes: 4.7 MB, log2(4.7 MB / 4 KiB) ≈ 10 halvings.
    assert!(most <= 20, "at most 20 reads per lookup, took {most}");
    assert!(
        most >= 8,
        "a 4.7 MB file is not read in one go ({most} reads)"
    );
}

#[test]
fn hashes_outside_the_files_range_are_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "p.txt", &lines(20_000), "\n", true);
    let b = Breached::open(&path).unwrap();
    assert!(!b.lookup(&[b'0'; 40]).unwrap().found);
    assert!(!b.lookup(&[b'F'; 40]).unwrap().found);
}

#[test]
fn crlf_and_lower_case_files_are_searched_alike() {
    let dir = tempfile::tempdir().unwrap();
    let all = lines(30_000);
    let lower: Vec<String> = all.iter().map(|l| l.to_ascii_lowercase()).collect();
    for (name, ls, end, last_end) in [
        ("crlf.txt", &all, "\r\n", true),
        ("crlf-no-last.txt", &all, "\r\n", false),
        ("lower.txt", &lower, "\n", true),
        ("lower-crlf.txt", &lower, "\r\n", false),
    ] {
        let path = write(dir.path(), name, ls, end, last_end);
        let b = Breached::open(&path).unwrap();
        for p in KNOWN {
            assert!(b.contains(p.as_bytes()).unwrap(), "{name}: {p}");
        }
        for line in [&all[0], &all[all.len() - 1]] {
            assert!(b.lookup(&hash_of(line)).unwrap().found, "{name}: {line}");
        }
        for i in 0..200 {
            assert!(
                !b.contains(format!("absent-{i}").as_bytes()).unwrap(),
                "{name}"
            );
        }
    }
}

#[test]
fn a_one_line_file_is_searched() {
    let dir = tempfile::tempdir().unwrap();
    let line = format!("{}:42", std::str::from_utf8(&sha1_hex(b"hunter2")).unwrap());
    for (name, end) in [("one.txt", true), ("one-no-newline.txt", false)] {
        let path = write(dir.path(), name, std::slice::from_ref(&line), "\n", end);
        let b = Breached::open(&path).unwrap();
        assert!(b.contains(b"hunter2").unwrap(), "{name}");
        assert!(!b.contains(b"hunter3").unwrap(), "{name}");
        assert_eq!(b.lookup(&sha1_hex(b"hunter2")).unwrap().reads, 1);
    }
    // A line of a bare hash (no count) is accepted too.
    let bare = write(dir.path(), "bare.txt", &[line[..40].to_owned()], "\n", true);
    assert!(Breached::open(&bare).unwrap().contains(b"hunter2").unwrap());
}

#[test]
fn open_refuses_missing_empty_and_malformed_files() {
    let dir = tempfile::tempdir().unwrap();
    let err = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        Breached::open(&path).unwrap_err()
    };
    let e = Breached::open(&dir.path().join("nope.txt")).unwrap_err();
    assert!(e.contains("cannot open"), "{e}");
    let e = Breached::open(dir.path()).unwrap_err();
    assert!(
        e.contains("not a regular file") || e.contains("cannot"),
        "{e}"
    );
    // An empty file is refused by `open` (a lookup in it would find nothing).
    assert!(err("empty.txt", "").contains("empty"));
    let e = err("words.txt", "password\n123456\n");
    assert!(e.contains("first line") && e.contains("HASH:COUNT"), "{e}");
    let e = err("short.txt", "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD:3\n");
    assert!(e.contains("first line"), "{e}");
    let e = err("count.txt", "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8 3\n");
    assert!(e.contains("followed by something else"), "{e}");
    let e = err("nothex.txt", "ZBAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:3\n");
    assert!(e.contains("40 hex digits"), "{e}");
    let e = err("long.txt", &"A".repeat(500));
    assert!(e.contains("longer than"), "{e}");
    // NTLM hashes are 32 hex digits.
    let e = err("ntlm.txt", "8846F7EAEE8FB117AD06BDD830B7586C:12\n");
    assert!(e.contains("NTLM"), "{e}");
    let e = err(
        "unsorted.txt",
        "FFFF61E4C9B93F3F0682250B6CF8331B7EE68FD8:3\n0000000000000000000000000000000000000000:1\n",
    );
    assert!(e.contains("not sorted"), "{e}");
    let e = err(
        "blank-end.txt",
        "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:3\n\n",
    );
    assert!(e.contains("last line"), "{e}");
}

#[test]
fn a_malformed_line_inside_the_file_is_an_error_not_an_answer() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = lines(20_000);
    let target = all[10_000].clone();
    // Every line but the ends is garbled, so the search meets one.
    for l in all.iter_mut().skip(1).take(19_999) {
        *l = "not a hash line at all".into();
    }
    let path = write(dir.path(), "bad.txt", &all, "\n", true);
    let b = Breached::open(&path).unwrap();
    let e = b.lookup(&hash_of(&target)).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    assert!(
        !e.to_string().contains(&target[..40]),
        "no hash in the error"
    );
}

#[test]
fn sha1_is_the_well_known_one() {
    // SHA-1("password"), as Have I Been Pwned lists it.
    assert_eq!(
        &sha1_hex(b"password"),
        b"5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8"
    );
}
