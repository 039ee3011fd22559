use super::*;

fn all() -> &'static Redactor {
    static ALL: std::sync::LazyLock<Redactor> =
        std::sync::LazyLock::new(|| Redactor::new(&Kind::ALL, &[]).expect("no custom patterns"));
    &ALL
}

fn masked(s: &str) -> Option<String> {
    all().mask(s).map(|(m, _)| m)
}

#[test]
fn cards_keep_last_four() {
    let (m, names) = all().mask("card 4111111111111111 ok").expect("visa");
    assert_eq!(m, "card ************1111 ok");
    assert_eq!(names, ["card"]);
    assert_eq!(
        masked("4111 1111 1111 1111").as_deref(),
        Some("***************1111")
    );
    assert_eq!(
        masked("5555-5555-5555-4444").as_deref(),
        Some("***************4444")
    );
    assert_eq!(
        masked("378282246310005").as_deref(),
        Some("***********0005"),
        "amex"
    );
    assert_eq!(
        masked("6011111111111117").as_deref(),
        Some("************1117"),
        "discover"
    );
    assert_eq!(
        masked("3530111333300000").as_deref(),
        Some("************0000"),
        "jcb"
    );
    assert_eq!(
        masked("2223003122003222").as_deref(),
        Some("************3222"),
        "mc 2-series"
    );
    assert_eq!(
        masked("{\"pan\":\"4012888888881881\"}").as_deref(),
        Some("{\"pan\":\"************1881\"}")
    );
}

#[test]
fn card_lookalikes_stay() {
    for s in [
        "4111111111111112",        // Luhn-invalid
        "1700000000000",           // a timestamp in ms
        "order 1234567812345670",  // Luhn-valid, no issuer starts with 1
        "+1 555 123 4567",         // a phone number
        "41111111111111111111111", // too long
        "4111  1111 1111 1111",    // double space breaks the number
        "x4111111111111111",       // glued to a word
        "2024-01-15 10:30:00",     // a date
        "9780306406157",           // an ISBN-13
    ] {
        assert_eq!(masked(s), None, "{s}");
    }
}

#[test]
fn ibans_need_valid_check_digits() {
    assert_eq!(
        masked("IBAN DE89370400440532013000.").as_deref(),
        Some("IBAN [redacted].")
    );
    assert_eq!(
        masked("GB82 WEST 1234 5698 7654 32").as_deref(),
        Some("[redacted]")
    );
    assert_eq!(masked("NO9386011117947").as_deref(), Some("[redacted]"));
    assert_eq!(masked("DE88370400440532013000"), None, "wrong check digits");
    assert_eq!(masked("DE8937040044053201300"), None, "too short for DE");
    assert_eq!(masked("ZZ89370400440532013000"), None, "no such country");
    assert_eq!(masked("SKU AB12 3456"), None);
}

#[test]
fn ssns_exclude_invalid_ranges() {
    let (m, names) = all().mask("ssn: 123-45-6789").expect("ssn");
    assert_eq!(m, "ssn: [redacted]");
    assert_eq!(names, ["ssn"]);
    for s in [
        "000-12-3456",
        "666-12-3456",
        "900-12-3456",
        "123-00-4567",
        "123-45-0000",
        "1123-45-6789",
        "123-45-67890",
        "2024-05-1234",
    ] {
        assert_eq!(masked(s), None, "{s}");
    }
    assert_eq!(
        masked("a 123-45-6789, b 234-56-7890").as_deref(),
        Some("a [redacted], b [redacted]")
    );
}

#[test]
fn emails() {
    assert_eq!(
        masked("mail jane.doe+x@example.co.uk now").as_deref(),
        Some("mail [redacted] now")
    );
    assert_eq!(masked("@handle"), None);
    assert_eq!(masked("a@b"), None);
    assert_eq!(masked("user@localhost"), None);
}

#[test]
fn secrets() {
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    assert_eq!(masked(jwt).as_deref(), Some("[redacted]"));
    assert_eq!(
        masked("Authorization: Bearer abcdef0123456789abcdef").as_deref(),
        Some("Authorization: Bearer [redacted]")
    );
    assert_eq!(
        masked("key AKIAIOSFODNN7EXAMPLE").as_deref(),
        Some("key [redacted]")
    );
    assert_eq!(
        masked("ghp_abcdefghijklmnopqrstuvwxyz0123456789").as_deref(),
        Some("[redacted]")
    );
    assert_eq!(
        masked("xoxb-123456789012-abcdefghij").as_deref(),
        Some("[redacted]")
    );
    assert_eq!(
        masked("sk_live_4eC39HqLyjWDarjtT1zdp7dc").as_deref(),
        Some("[redacted]")
    );
    assert_eq!(
        masked("api_key=abcd1234efgh5678").as_deref(),
        Some("api_key=[redacted]")
    );
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----";
    assert_eq!(
        masked(&format!("k: {pem}!")).as_deref(),
        Some("k: [redacted]!")
    );
    for s in [
        "bearer of bad news",
        "ghp_short",
        "AKIA lowercase",
        "the key is short: abc",
        "eyJ alone",
    ] {
        assert_eq!(masked(s), None, "{s}");
    }
}

#[test]
fn custom_patterns_and_names() {
    let r = Redactor::new(
        &[Kind::Card],
        &[("employee-id".to_owned(), r"EMP-\d{6}".to_owned())],
    )
    .expect("valid pattern");
    let (m, names) = r
        .mask("EMP-123456 paid with 4111111111111111")
        .expect("both");
    assert_eq!(m, "[redacted] paid with ************1111");
    assert_eq!(names, ["employee-id", "card"], "in order of appearance");
    assert!(r.mask("jane@example.com").is_none(), "e-mail not enabled");
    let bad = Redactor::new(&[], &[("x".to_owned(), "(".to_owned())]).expect_err("unbalanced");
    assert_eq!(bad.name, "x");
    assert!(
        Redactor::new(&[], &[("bt".to_owned(), r"(a+)+\1".to_owned())]).is_err(),
        "backreferences refused"
    );
}

#[test]
fn duplicates_reported_once_and_overlaps_resolved() {
    let (m, names) = all().mask("a@example.com b@example.com").expect("emails");
    assert_eq!(m, "[redacted] [redacted]");
    assert_eq!(names, ["email"]);
    // A card number inside a labelled key value is masked once.
    let (m, _) = all().mask("api_key=4111111111111111").expect("one");
    assert_eq!(
        m.matches("[redacted]").count() + m.matches("1111").count(),
        1
    );
}

#[test]
fn nothing_to_find() {
    assert!(all().mask("").is_none());
    assert!(all().mask("plain words only").is_none());
    assert!(all().mask(&"x".repeat(100_000)).is_none());
    assert!(all().mask(&"1-".repeat(50_000)).is_none());
}
