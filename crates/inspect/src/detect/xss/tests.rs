use super::detect;
use crate::{Place, Sensitivity, Views};

fn xss(raw: &str, level: Sensitivity) -> bool {
    detect(&Views::new(raw, Place::Json), level)
}

fn medium(raw: &str) -> bool {
    xss(raw, Sensitivity::Medium)
}

#[test]
fn dangerous_elements_and_handlers() {
    for attack in [
        "<script>alert(1)</script>",
        "<ScRiPt src=//evil.example/x.js>",
        "<svg/onload=alert(1)>",
        "<img src=x onerror=alert(1)>",
        "<img src=xxx:x \\x27onerror=javascript:alert(1)>",
        "<x onclick=alert(1)>click this!",
        "<x%0Aonxxx=1",
        "<body onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert(\"XSS\")>",
        "<iframe src=https://evil.example>",
        "<meta http-equiv=refresh content=0;url=https://evil.example>",
        "<object data=x.swf>",
        "<IMG SRC=\"jav&#x0D;ascript:alert('XSS');\">",
        "<a href=\"javascript&colon;\\u0061&#x6C;&#101%72t&lpar;1&rpar;\">x</a>",
        "<SPAN DATASRC=#I DATAFLD=C DATAFORMATAS=HTML></SPAN>",
        "<a title=\"<script>\">",
        "'>alert(1)</script><script/1='",
        "<foo><![CDATA[<]]>SCRIPT<![CDATA[>]]>x<![CDATA[<]]>/SCRIPT<![CDATA[>]]></foo>",
        "<HTML xmlns:xss><?import namespace=\"xss\" implementation=\"http://x/xss.htc\">",
        "¼script¾x¼/script¾",
        "+ADw-script+AD4-x+ADw-/script+AD4-",
    ] {
        assert!(medium(attack), "missed {attack:?}");
    }
}

#[test]
fn script_urls_and_css() {
    for attack in [
        "javascript:alert(1)",
        "java\tscript:alert(1)",
        "javascript: alert(document.domain)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHN2Zy9vbmxvYWQ9YWxlcnQoMik+",
        "data:;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "style=xss:expression(alert(1))",
        "xss:ex/**/pression(alert(1))",
        "width:\\65xpression(alert(1))",
        "<DIV STYLE=\"background-image:\\0075\\0072\\006C\\0028'\\006a\\0061\\0076\\0061\\0073\\0063\\0072\\0069\\0070\\0074\\003a\\0061\\006c\\0065\\0072\\0074\\0028.1027\\0058.1053\\0053\\0027\\0029'\\0029\">",
        "BODY{-moz-binding:url(\"http://x/xss.xml#xss\")}",
    ] {
        assert!(medium(attack), "missed {attack:?}");
    }
}

#[test]
fn quote_breaks_and_javascript_context() {
    for attack in [
        "\" onmouseover=alert(1)//",
        "\"autofocus/onfocus=alert(1)//",
        " onmouseover=\"document.cookie=true;\">",
        "';alert(String.fromCharCode(88,83,83))//",
        "\\\";alert('XSS');//",
        "'-alert(1)-'",
        "alert`1`",
        "(alert)(1)",
        "[1].find(alert)",
        "a=alert,a(1)",
        "top[\"al\"+\"ert\"](1)",
        "top[8680439..toString(30)](1)",
        "al\\u0065rt(1)",
    ] {
        assert!(medium(attack), "missed {attack:?}");
    }
}

#[test]
fn benign_text_passes() {
    for benign in [
        "a < b",
        "x<y and y>z",
        "I <3 this product",
        "if (a<b) { return c>d; }",
        "<b>bold</b> and <i>italic</i> and <p class=\"lead\">text</p>",
        "<a href=\"https://example.com/?q=1&lang=en\">link</a>",
        "<img src=\"https://cdn.example.com/a.png\" alt=\"cat\">",
        "Contact: John <john@example.com>",
        "JavaScript: The Good Parts",
        "<a href=\"javascript:void(0)\">menu</a>",
        "{\"destination\":\"javascript:;\",\"id\":\"\"}",
        "javascript is fun",
        "Learn regular expression(s) today",
        "set onload=true in the config",
        "<div only=\"1\" once>",
        "Please confirm your e-mail address",
        "data:image/png;base64,iVBORw0KGgo=",
        "https://example.com/a?b=c&onclick=track",
        "price: 5 (incl. VAT) = 6",
        "we evaluate options, then decide",
        "Subject: hi\nThe meeting is at 10:00.",
        "{\"a\": [1, 2, 3]}",
        "C++ is a language; so is C#",
        "1/4 of the time, 3/4 of the place",
        "**bold** _italic_ `code` [link](https://x.y/z)",
    ] {
        assert!(!medium(benign), "flagged {benign:?}");
        assert!(
            !xss(benign, Sensitivity::High),
            "flagged at high {benign:?}"
        );
    }
}

#[test]
fn low_keeps_only_strong_signals() {
    assert!(xss("<script>alert(1)</script>", Sensitivity::Low));
    assert!(xss("<img src=x onerror=alert(1)>", Sensitivity::Low));
    assert!(xss("javascript:alert(1)", Sensitivity::Low));
    assert!(xss("';alert(1)//", Sensitivity::Low));
    // Rich text with an SVG icon or a style sheet is acceptable at Low.
    assert!(!xss("<svg viewBox=\"0 0 1 1\"></svg>", Sensitivity::Low));
    assert!(!xss("<style>p { color: red }</style>", Sensitivity::Low));
    assert!(!xss("alert(1)", Sensitivity::Low));
}

#[test]
fn percent_encoded_in_a_query() {
    let v = Views::new("%3Cscript%3Ealert(1)%3C%2Fscript%3E", Place::Query);
    assert!(detect(&v, Sensitivity::Medium));
}

#[test]
fn long_hostile_values_stay_linear() {
    let nested = "<a x='".repeat(20_000);
    let start = std::time::Instant::now();
    assert!(!medium(&nested));
    let colons = "java:".repeat(40_000);
    assert!(!medium(&colons));
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
}
