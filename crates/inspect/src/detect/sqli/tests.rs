use super::*;
use crate::Place;

fn hit(s: &str) -> bool {
    detect(&Views::new(s, Place::Json), Sensitivity::Medium)
}

#[test]
fn flags_classic_injections() {
    for s in [
        "' or '1'='1",
        "1' or 1=1--",
        "admin'--",
        "1 union select 1,2,3",
        "1/**/UNION/**/SELECT/**/password/**/FROM/**/users",
        "-1 union/*!50000select*/ version()",
        "'; drop table users--",
        "1 and sleep(5)",
        "') or ('x')=('x",
        "ascii(substring(version() from 1 for 1))",
        "1; waitfor delay '0:0:5'",
        "' order by 3--",
        "\" or \"\"=\"",
        "'='",
        "1 exec master..xp_cmdshell 'dir'",
        "-1%0aunion%0aselect 1",
        "1 or benchmark(10000000,md5(1))",
        "x' AND extractvalue(1,concat(0x7e,version()))--",
        "1' || pg_sleep(5)--",
    ] {
        assert!(hit(s), "missed {s}: {:?}", fingerprints(s));
    }
}

#[test]
fn leaves_keyword_prose_alone() {
    for s in [
        "7 AND A HALF",
        "WHERE IS GEORGE",
        "Y'ALL COME BACK NOW",
        "1950' AND 60'S WOMEN'S COATS",
        "FOO BAR'# BLAH",
        "\"LIKE\" STAMP",
        "1 AND 1/2\" BUTTON",
        "DO OR NOT DO, THERE IS NO",
        "select your size",
        "O'Brien",
        "rock 'n' roll",
        "(NEW AND UNIQUE) --",
        "Don't or won't",
        "jane.doe+news@example.com",
        "It's 5 o'clock",
        "\"*\"",
        "7\" #2 CIRCULAR NEEDLE",
        "select x from y where",
    ] {
        assert!(!hit(s), "flagged {s}: {:?}", fingerprints(s));
    }
}

#[test]
fn sensitivity_orders_the_shapes() {
    let v = Views::new("x' or 1=1", Place::Json);
    assert!(detect(&v, Sensitivity::Low));
    let v = Views::new("admin'--", Place::Json);
    assert!(!detect(&v, Sensitivity::Low));
    assert!(detect(&v, Sensitivity::Medium));
    let v = Views::new("1 or 1", Place::Json);
    assert!(!detect(&v, Sensitivity::Medium));
    assert!(detect(&v, Sensitivity::High));
}

/// Prints the fingerprints of every line of the file named by `SQLI_FP_FILE`
/// (for studying misses): `SQLI_FP_FILE=… cargo test -p portcullis-inspect --lib fingerprint_dump -- --ignored --nocapture`.
#[test]
#[ignore = "a study aid, not a check"]
fn fingerprint_dump() {
    let Ok(path) = std::env::var("SQLI_FP_FILE") else {
        return;
    };
    let text = std::fs::read_to_string(path).unwrap_or_default();
    for line in text.lines() {
        let v = Views::new(line, Place::Json);
        let hit = detect(&v, Sensitivity::Medium);
        println!(
            "{}\t{:?}\t{}",
            u8::from(hit),
            fingerprints(&v.decoded),
            line
        );
    }
}
