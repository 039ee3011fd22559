use super::host::{Verdict, judge};
use super::*;
use crate::Place;

fn hit(raw: &str, level: Sensitivity) -> bool {
    detect(&Views::new(raw, Place::Json), level)
}

#[test]
fn internal_urls() {
    for a in [
        "http://127.0.0.1/admin",
        "http://localhost:8080/",
        "https://api.localhost/x",
        "http://10.0.0.5/",
        "http://172.16.3.4:9000",
        "http://192.168.1.1",
        "http://100.64.0.1/",
        "http://[::1]/",
        "http://[fe80::1%25eth0]/",
        "http://[fc00::1]/",
        "http://0.0.0.0:22",
        "//127.0.0.1/x",
        "url=//localhost/",
        "http:\\\\127.0.0.1\\x",
        "http://evil.com@127.0.0.1/",
        "http://127.0.0.1#@evil.com/",
        "http://evil.com#@127.0.0.1/",
        "http://localhost./",
        "http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/",
    ] {
        assert!(hit(a, Sensitivity::Medium), "{a}");
    }
}

#[test]
fn odd_spellings_and_metadata_fire_even_at_low() {
    for a in [
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://0x7f.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[::127.0.0.1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://metadata/computeMetadata/v1/",
        "http://100.100.100.200/latest/meta-data/",
        "http://127.0.0.1.nip.io/",
        "http://10-0-0-1.sslip.io/",
        "http://customer1.app.localtest.me/",
        "gopher://example.com:25/_HELO",
        "dict://example.com:11211/stats",
    ] {
        assert!(hit(a, Sensitivity::Low), "{a}");
    }
    assert!(!hit("http://127.0.0.1/", Sensitivity::Low));
}

#[test]
fn public_and_plain_data_stay_clean() {
    for b in [
        "https://example.com/a?b=c",
        "http://8.8.8.8/",
        "https://172.32.0.1/",
        "http://[2001:db8::1]/",
        "10.0.0.1",
        "192.168.1.10 is the printer",
        "ratio 3:2",
        "https://127.0.0.1.example.com/",
        "see //comments",
        "time 10:30//",
        "https://docs.rs/regex/latest",
    ] {
        assert!(!hit(b, Sensitivity::Medium), "{b}");
    }
}

#[test]
fn bare_hosts_only_at_high() {
    assert!(hit("10.0.0.1", Sensitivity::High));
    assert!(hit("localhost:6379", Sensitivity::High));
    assert!(!hit("2130706433", Sensitivity::High));
    assert!(!hit("8.8.8.8", Sensitivity::High));
}

#[test]
fn host_judgement() {
    assert_eq!(judge("127.0.0.1"), Verdict::Internal);
    assert_eq!(judge("2130706433"), Verdict::Obfuscated);
    assert_eq!(judge("017700000001"), Verdict::Obfuscated);
    assert_eq!(judge("1.2.3.4"), Verdict::External);
    assert_eq!(judge("256.1.1.1"), Verdict::External);
    assert_eq!(judge("example.com"), Verdict::External);
    assert_eq!(judge("[2002:7f00:1::]"), Verdict::Obfuscated);
    assert_eq!(judge("[64:ff9b::a00:1]"), Verdict::Obfuscated);
    assert_eq!(host::strip_port("[::1]:80"), "[::1]");
    assert_eq!(host::strip_port("a:80"), "a");
}

#[test]
fn many_url_starts_stay_bounded() {
    let s = "a:\\".repeat(20_000);
    assert!(!hit(&s, Sensitivity::High));
}
