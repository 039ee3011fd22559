use super::detect;
use crate::{Place, Sensitivity, Views};

fn ssti(raw: &str, level: Sensitivity) -> bool {
    detect(&Views::new(raw, Place::Json), level)
}

fn medium(raw: &str) -> bool {
    ssti(raw, Sensitivity::Medium)
}

#[test]
fn template_expressions() {
    for attack in [
        "{{7*7}}",
        "{{7*'7'}}",
        "${3*3}",
        "${{7*7}}",
        "#{ 7 * 7 }",
        "*{7*7}",
        "<%= 7 * 7 %>",
        "@(1+2)",
        "[[5*5]]",
        "{{ request }}",
        "{{self}}",
        "{{ key|e }}",
        "{{config.items()}}",
        "{{ ''.__class__.__mro__[2].__subclasses__() }}",
        "{{request|attr(\"__class__\")}}",
        "${T(java.lang.Runtime).getRuntime().exec('id')}",
        "${self.module.cache.util.os.system(\"id\")}",
        "{% for x in ().__class__.__base__.__subclasses__() %}{% endfor %}",
        "{% import os %}",
        "<%= File.open('/etc/passwd').read %>",
        "<#assign ex = \"freemarker.template.utility.Execute\"?new()>",
        "[#assign ex = 'x'?new()]",
        "{php}echo `id`;{/php}",
        "{$smarty.version}",
        "%7B%7B7*7%7D%7D",
    ] {
        assert!(medium(attack), "missed {attack:?}");
    }
}

#[test]
fn placeholders_and_prose_pass() {
    for benign in [
        "Hello {name}, your total is {total}",
        "Dear {{first_name}}, welcome",
        "{{user.name}} ordered {{item.title}}",
        "The price is ${price} per month",
        "costs ${amount} (plus tax)",
        "see [[Main Page]] and [[2020-01-01]]",
        "{x | x > 0}",
        "f(x) = {x^2 : x in R}",
        "email me @(home) or at work",
        "50% off, {% not a tag",
        "{{#each items}}{{this}}{{/each}}",
        "a {{ 50% }} discount",
        "#{id} and *{field}",
        "[[Foo-Bar]] is linked",
        "C++ {{ c++ }}",
    ] {
        assert!(!medium(benign), "flagged {benign:?}");
    }
}

#[test]
fn sensitivity_levels() {
    // The 7*7 probe and sandbox escapes are high-confidence.
    assert!(ssti("{{7*7}}", Sensitivity::Low));
    assert!(ssti("{{''.__class__}}", Sensitivity::Low));
    assert!(!ssti("{{ key|e }}", Sensitivity::Low));
    // High flags any placeholder-looking content.
    assert!(ssti("${price}", Sensitivity::High));
    assert!(ssti("{{user.name}}", Sensitivity::High));
    assert!(!ssti("{{user.name}}", Sensitivity::Medium));
}

#[test]
fn many_openings_stay_linear() {
    let s = "{{".repeat(50_000) + &"${".repeat(50_000);
    let start = std::time::Instant::now();
    assert!(!medium(&s));
    let s = format!("{}7*7}}}}", "{{".repeat(50_000));
    assert!(medium(&s));
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
}
