use super::*;
use crate::Place;

fn hit(raw: &str, place: Place, level: Sensitivity) -> bool {
    detect(&Views::new(raw, place), level)
}

fn json(raw: &str) -> bool {
    hit(raw, Place::Json, Sensitivity::Medium)
}

#[test]
fn parent_steps() {
    for a in [
        "../../../../etc/passwd",
        "..\\..\\windows\\win.ini",
        "....//....//etc/hosts",
        "/..;/admin",
        "..",
        "x/../y",
        "..2f..2fetc2fpasswd",
        "/.../.../.../",
    ] {
        assert!(json(a), "{a}");
    }
    assert!(hit(
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        Place::Query,
        Sensitivity::Medium
    ));
    assert!(hit("%252e%252e%252f", Place::Path, Sensitivity::Medium));
    assert!(hit(
        "..%c0%af..%c0%afetc",
        Place::Query,
        Sensitivity::Medium
    ));
    assert!(hit(
        "/%c0%ae%c0%ae/%c0%ae%c0%ae/x",
        Place::Path,
        Sensitivity::Medium
    ));
}

#[test]
fn sensitive_paths_and_files() {
    for a in [
        "/etc/passwd",
        "/./././etc/shadow",
        "file=/etc/hostname.ce0",
        "/proc/self/environ",
        "/var/log/apache2/access_log",
        "/usr/local/etc/php.ini",
        "/logs/error.log",
        "c:\\windows\\system32\\drivers\\etc\\hosts",
        "C:/boot.ini",
        "c:WINDOWS/system32/",
        "/home/bob/.ssh/id_rsa",
        "/root/.bash_history",
        ".htpasswd",
        "members/.htpasswd",
        "type %SYSTEMROOT%\\repair\\SAM",
        "/Program Files\\Apache Group\\Apache\\conf\\httpd.conf",
    ] {
        assert!(json(a), "{a}");
    }
}

#[test]
fn wrappers_nul_and_base64() {
    for a in [
        "php://filter/convert.base64-encode/resource=index.php",
        "expect://id",
        "phar://uploads/x.jpg",
        "data://text/plain;base64,PD9waHA=",
        "file:///etc/passwd",
    ] {
        assert!(json(a), "{a}");
    }
    assert!(hit("passwd%00.jpg", Place::Json, Sensitivity::Medium));
    assert!(hit("x.php%2500", Place::Query, Sensitivity::Medium));
    assert!(json("Li4vLi4vLi4vZXRjL3Bhc3N3ZA=="));
    assert!(json("L2V0Yy9zaGFkb3c="));
}

#[test]
fn benign_paths_and_prose() {
    for b in [
        "a/b",
        "report-v1.2.pdf",
        "v1.2.3",
        "wait.. what?",
        "so ... what",
        "https://example.com/etc/clientlibs/site.css",
        "/api/v1/users/42",
        "/home",
        "/admin/settings",
        "see the etc. section",
        "apples, pears, etc/misc",
        "C:\\fakepath\\photo.jpg",
        "data:image/png;base64,iVBORw0KGgo=",
        "100%",
        "the shadow of a doubt",
        "my passwd is secret",
        "VGhpcyBpcyBmaW5l",
        "abc.def/ghi..jkl",
        "i.e. the /var route",
    ] {
        assert!(!json(b), "{b}");
    }
    assert!(!hit("a%2Fb%2Fc", Place::Query, Sensitivity::Medium));
}

#[test]
fn low_keeps_only_strong_signals() {
    assert!(hit("../../etc/passwd", Place::Json, Sensitivity::Low));
    assert!(hit("php://input", Place::Json, Sensitivity::Low));
    assert!(!hit("../images/a.png", Place::Json, Sensitivity::Low));
    assert!(hit("../images/a.png", Place::Json, Sensitivity::Medium));
}

/// Found by the `detect_traversal` fuzz target: Low flagged two `..` steps
/// glued to names, Medium did not. A higher level never flags less.
#[test]
fn levels_are_monotonic() {
    let s = "/fil../confei.profil../confeig.php";
    let v = Views::new(s, Place::Path);
    assert!(detect(&v, Sensitivity::Low));
    assert!(detect(&v, Sensitivity::Medium));
    assert!(detect(&v, Sensitivity::High));
}
