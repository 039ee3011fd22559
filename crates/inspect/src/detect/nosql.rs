//! NoSQL (MongoDB) operator injection: operator keys in JSON, and operator
//! syntax smuggled into strings and query names (`user[$ne]=x`), plus the
//! JavaScript that a `$where` clause or `mapReduce` would run
//! (`'; return true; var x='`, `this.password.match(/.*/)`, `db.users.find(`).

use std::sync::LazyLock;

use regex::Regex;

use crate::{Sensitivity, Views};

/// Keys starting with `$` that are not query operators: JSON Schema
/// (`$schema`, `$id`, `$ref`, `$defs`, `$comment` …) and MongoDB's own DBRef
/// fields (`$ref`, `$id`, `$db`), which API bodies carry legitimately.
const NOT_OPERATORS: [&str; 10] = [
    "$schema",
    "$id",
    "$ref",
    "$defs",
    "$anchor",
    "$comment",
    "$db",
    "$dynamicref",
    "$dynamicanchor",
    "$vocabulary",
];

/// Whether a JSON key is a MongoDB query operator (`$where`, `$ne`, `$gt` …).
///
/// Any `$` followed only by ASCII letters counts (MongoDB adds operators
/// often, and an API's own fields never start with `$`), except the JSON
/// Schema and DBRef keywords in [`NOT_OPERATORS`].
pub(super) fn operator_key(key: &str) -> bool {
    let Some(name) = key.strip_prefix('$') else {
        return false;
    };
    name.len() >= 2
        && name.len() <= 32
        && name.bytes().all(|b| b.is_ascii_alphabetic())
        && !NOT_OPERATORS.iter().any(|n| key.eq_ignore_ascii_case(n))
}

/// Operators written inside a string or a query name.
const OPERATORS: &str = "where|ne|eq|gt|gte|lt|lte|in|nin|or|and|not|nor|regex|exists|expr|function|accumulator|lookup|elemmatch|size|all|type|mod|text|jsonschema|options|comment";

static IN_STRING: LazyLock<Regex> = LazyLock::new(|| {
    let patterns = [
        // `user[$ne]=1`, `[$regex]`: PHP/Express bracket syntax.
        r"\[\s*\$[a-z]{2,}\s*\]".to_owned(),
        // `{ $ne: 1 }`, `{"$gt": ""}`.
        r#"\{\s*["']?\$[a-z]{2,}["']?\s*:"#.to_owned(),
        // `, $where: '1 == 1'`, `$or: [`.
        format!(r#"(?:^|[\s,'"(\[{{])\$(?:{OPERATORS})["']?\s*:"#),
        // JavaScript run by `$where`: `this.password.match(`, `db.x.find(`.
        r"\bthis\.\w+\.(?:match|test|indexof|startswith|length)\b".to_owned(),
        r"\bdb\.\w+\.(?:find|findone|insert|insertone|update|remove|drop|mapreduce|aggregate|count)\s*\(".to_owned(),
        r"\bmapreduce\s*\(\s*function\b|\bemit\s*\(".to_owned(),
        // Breaking out of a JS string: `'; return true; var x='`, `";return(true)`.
        r#"['";]\s*;?\s*return\s*\(?\s*(?:true|false|\d|'|")"#.to_owned(),
        r#"['"]\s*;\s*(?:sleep\s*\(\s*\d|\w+\s*=\s*new\s+date\s*\()"#.to_owned(),
        r"\bdo\s*\{[^}]*\}\s*while\s*\(".to_owned(),
        // `|| 1==1`, `' && ''=='`: a JavaScript tautology.
        r#"(?:\|\||&&)\s*(?:\d+|'[^']*'|"[^"]*"|true)\s*===?\s*(?:\d+|'|"|true)"#.to_owned(),
    ];
    Regex::new(&format!("(?i){}", patterns.join("|"))).expect("static pattern compiles")
});

/// Builds the detector's automata.
pub(super) fn warm() {
    LazyLock::force(&IN_STRING);
}

/// Whether `v` carries operator injection.
pub(super) fn detect(v: &Views<'_>, level: Sensitivity) -> bool {
    let d: &str = &v.decoded;
    let trigger = d
        .bytes()
        .any(|b| matches!(b, b'$' | b'.' | b'\'' | b'"' | b'|' | b'&' | b'{' | b';'));
    if !trigger {
        return false;
    }
    if level == Sensitivity::Low {
        // Only operator syntax, not the JavaScript heuristics.
        return d.contains('$') && (d.contains('[') || d.contains('{')) && IN_STRING.is_match(d);
    }
    IN_STRING.is_match(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Place;

    fn hit(raw: &str) -> bool {
        detect(&Views::new(raw, Place::Json), Sensitivity::Medium)
    }

    #[test]
    fn operator_keys() {
        for k in [
            "$where",
            "$ne",
            "$gt",
            "$regex",
            "$expr",
            "$function",
            "$accumulator",
            "$lookup",
            "$nin",
            "$NE",
        ] {
            assert!(operator_key(k), "{k}");
        }
        for k in [
            "$schema", "$id", "$ref", "$defs", "$comment", "price", "$", "$1", "a$ne", "$ne-x",
        ] {
            assert!(!operator_key(k), "{k}");
        }
    }

    #[test]
    fn operator_syntax_in_strings() {
        for a in [
            "[$ne]=1",
            "user[$regex]=.*",
            "{ $ne: 1 }",
            "{\"$gt\": \"\"}",
            "', $where: '1 == 1'",
            "true, $where: '1 == 1'",
            "', $or: [ {}, { 'a':'a",
            "' && this.password.match(/.*/)//",
            "db.injection.insert({success:1});",
            "';return 'a'=='a' && ''=='",
            "\";return(true);var xyz='a",
            "0;return true",
            "';sleep(5000);",
            "';it=new Date();do{pt=new Date();}while(pt-it<5000);",
            "|| 1==1",
        ] {
            assert!(hit(a), "{a}");
        }
        assert!(detect(
            &Views::new("user[$ne]=x", Place::Query),
            Sensitivity::Low
        ));
        assert!(!detect(
            &Views::new("0;return true", Place::Json),
            Sensitivity::Low
        ));
    }

    #[test]
    fn prose_and_prices_stay_clean() {
        for b in [
            "costs $5 (incl. tax)",
            "Item damaged; return within 30 days",
            "Price: $10 | $20",
            "R&D; sales",
            "this.value is fine",
            "the db.example.com host",
            "{\"name\": \"a\"}",
            "array[0]",
            "$ne is an operator name",
            "a || b",
        ] {
            assert!(!hit(b), "{b}");
        }
    }
}
