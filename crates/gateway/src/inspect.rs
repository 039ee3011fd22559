//! The inspect stage: injection detection on the request's decoded values,
//! skipping what validation already pinned down.
//!
//! Each value is taken where it lives — a path parameter, a query parameter
//! (name and value), a declared or configured header, a cookie, every key and
//! string of a JSON body (with its JSON pointer), a form or multipart field,
//! the text and attributes of an XML body — and handed to the detectors of
//! `portcullis-inspect`. A value the spec already pins down (an integer, an
//! enum, a `uuid` …: `typed`) is not inspected again: the main lever against
//! false positives. A finding names the detector and the location, never the
//! value.

use std::sync::Arc;

use http::HeaderName;
use portcullis_inspect::{Detector, DetectorSet, Inspector, Place, Sensitivity, Settings};
use portcullis_openapi::validate::{Shape, Validated};
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::config::{Checker, Mode};

/// `apis[].inspection` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInspection {
    /// Inspect requests (default true).
    #[serde(default)]
    enabled: Option<bool>,
    /// `enforce` or `monitor` (default: the API's mode).
    #[serde(default)]
    mode: Option<Spanned<String>>,
    /// `low`, `medium` (default) or `high`.
    #[serde(default)]
    sensitivity: Option<Spanned<String>>,
    /// Detectors switched off for the whole API.
    #[serde(default)]
    disable: Vec<Spanned<String>>,
    /// Headers inspected besides those the spec declares as parameters.
    #[serde(default)]
    headers: Vec<Spanned<String>>,
    /// Values not inspected (or not by some detectors).
    #[serde(default)]
    exclude: Vec<RawExclusion>,
}

/// An exclusion: some detectors (default all) off for some operations (default
/// all) at some locations (JSON pointer prefixes, default everywhere).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExclusion {
    #[serde(default)]
    operations: Vec<Spanned<String>>,
    #[serde(default)]
    locations: Vec<Spanned<String>>,
    #[serde(default)]
    detectors: Vec<Spanned<String>>,
}

/// An exclusion, compiled.
#[derive(Debug)]
struct Exclusion {
    /// Operation ids; empty: every operation.
    operations: Vec<String>,
    /// Location prefixes (`/query/q`, `/body/notes`); empty: everywhere.
    locations: Vec<String>,
    /// The detectors it switches off.
    detectors: DetectorSet,
}

/// An API's compiled inspection settings.
#[derive(Debug)]
pub struct Inspection {
    /// The detectors with the API's settings.
    pub inspector: Inspector,
    /// Findings refuse the request (else they are recorded only).
    pub enforced: bool,
    /// Headers inspected besides declared header parameters.
    pub headers: Vec<HeaderName>,
    exclusions: Vec<Exclusion>,
}

/// Compiles an API's inspection settings.
pub(crate) fn build(
    c: &mut Checker<'_>,
    field: &str,
    raw: Option<&RawInspection>,
    mode: Mode,
) -> Option<Arc<Inspection>> {
    let default = RawInspection::default();
    let raw = raw.unwrap_or(&default);
    if raw.enabled == Some(false) {
        return None;
    }
    let field = format!("{field}.inspection");
    let enforced = match raw.mode.as_ref().map(|m| m.value.as_str()) {
        None => mode == Mode::Enforce,
        Some("enforce") => true,
        Some("monitor") => false,
        Some(other) => {
            c.error(
                raw.mode.as_ref(),
                format!("{field}.mode"),
                format!("`{other}` is not enforce or monitor"),
            );
            true
        }
    };
    let sensitivity = match &raw.sensitivity {
        None => Sensitivity::Medium,
        Some(s) => Sensitivity::from_name(&s.value).unwrap_or_else(|| {
            c.error(
                Some(s),
                format!("{field}.sensitivity"),
                format!("`{}` is not low, medium or high", s.value),
            );
            Sensitivity::Medium
        }),
    };
    let detectors = |c: &mut Checker<'_>, names: &[Spanned<String>], at: &str| {
        names.iter().fold(DetectorSet::NONE, |set, n| {
            match Detector::from_name(&n.value) {
                Some(d) => set.with(d),
                None => {
                    let known: Vec<&str> = Detector::ALL.iter().map(|d| d.as_str()).collect();
                    c.error(
                        Some(n),
                        at.to_owned(),
                        format!("no detector `{}` (known: {})", n.value, known.join(", ")),
                    );
                    set
                }
            }
        })
    };
    let off = detectors(c, &raw.disable, &format!("{field}.disable"));
    let mut on = DetectorSet::ALL;
    for d in Detector::ALL {
        if off.contains(d) {
            on = on.without(d);
        }
    }
    let mut headers = Vec::new();
    for h in &raw.headers {
        match HeaderName::try_from(h.value.as_str()) {
            Ok(name) => headers.push(name),
            Err(_) => c.error(
                Some(h),
                format!("{field}.headers"),
                format!("`{}` is not a header name", h.value),
            ),
        }
    }
    let mut exclusions = Vec::new();
    for (i, e) in raw.exclude.iter().enumerate() {
        let at = format!("{field}.exclude[{i}]");
        let mut set = detectors(c, &e.detectors, &format!("{at}.detectors"));
        if e.detectors.is_empty() {
            set = DetectorSet::ALL;
        }
        for l in &e.locations {
            if !l.value.starts_with('/') {
                c.error(
                    Some(l),
                    format!("{at}.locations"),
                    "a location is a JSON pointer such as /query/q or /body/notes",
                );
            }
        }
        exclusions.push(Exclusion {
            operations: e.operations.iter().map(|o| o.value.clone()).collect(),
            locations: e.locations.iter().map(|l| l.value.clone()).collect(),
            detectors: set,
        });
    }
    Some(Arc::new(Inspection {
        inspector: Inspector::new(Settings {
            sensitivity,
            detectors: on,
        }),
        enforced,
        headers,
        exclusions,
    }))
}

/// What the request brings, for inspection.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The route operation id.
    pub operation: &'a str,
    /// The path parameters as matched (still percent-encoded).
    pub path_params: &'a [(&'a str, &'a str)],
    /// The raw query string.
    pub query: Option<&'a str>,
    /// The request headers.
    pub headers: &'a http::HeaderMap,
    /// The body, when it was read.
    pub body: Option<&'a [u8]>,
}

/// The first finding: the detector and the location (a JSON pointer such as
/// `/query/q` or `/body/items/0/name`; never the value).
pub type Finding = (Detector, String);

impl Inspection {
    /// Inspects a request. `validated` is what validation decoded (when the
    /// API validates): values it found typed are skipped, and its parsed JSON
    /// body is walked instead of parsing it again.
    pub fn check(&self, req: &Request<'_>, validated: Option<&Validated>) -> Option<Finding> {
        let mut scan = Scan {
            inspection: self,
            rules: self
                .exclusions
                .iter()
                .filter(|e| {
                    e.operations.is_empty() || e.operations.iter().any(|o| o == req.operation)
                })
                .collect(),
        };
        scan.run(req, validated)
    }
}

/// One request's inspection: the exclusions that apply to its operation.
struct Scan<'a> {
    inspection: &'a Inspection,
    rules: Vec<&'a Exclusion>,
}

impl Scan<'_> {
    fn run(&mut self, req: &Request<'_>, validated: Option<&Validated>) -> Option<Finding> {
        // Values validation decoded (parameters, form and multipart fields): typed
        // ones are pinned down by the spec.
        let mut covered: Vec<&str> = Vec::new();
        if let Some(v) = validated {
            for value in &v.values {
                covered.push(&value.pointer);
                if value.typed {
                    continue;
                }
                let place = place_of(&value.pointer);
                if let Some(f) = self.value(&value.text, place, || value.pointer.clone()) {
                    return Some(f);
                }
            }
        }
        let seen = |p: &str| covered.contains(&p);
        if validated.is_none() {
            for (name, raw) in req.path_params {
                if let Some(f) = self.value(raw, Place::Path, || format!("/path/{name}")) {
                    return Some(f);
                }
            }
        }
        if let Some(q) = req.query {
            for pair in q.split('&').filter(|p| !p.is_empty()) {
                let (name, raw) = pair.split_once('=').unwrap_or((pair, ""));
                let pointer = || format!("/query/{}", pointer_token(name));
                if let Some(f) = self.value(name, Place::Query, pointer) {
                    return Some(f);
                }
                if validated.is_some() && seen(&pointer()) {
                    continue;
                }
                if let Some(f) = self.value(raw, Place::Query, pointer) {
                    return Some(f);
                }
            }
        }
        for name in &self.inspection.headers {
            for v in req.headers.get_all(name) {
                let pointer = || format!("/header/{name}");
                if validated.is_some() && seen(&pointer()) {
                    continue;
                }
                let text = String::from_utf8_lossy(v.as_bytes());
                if let Some(f) = self.value(&text, Place::Header, pointer) {
                    return Some(f);
                }
            }
        }
        for v in req.headers.get_all(http::header::COOKIE) {
            let Ok(cookies) = v.to_str() else { continue };
            for c in cookies.split(';') {
                let (name, raw) = c.trim().split_once('=').unwrap_or((c.trim(), ""));
                let pointer = || format!("/cookie/{}", pointer_token(name));
                if validated.is_some() && seen(&pointer()) {
                    continue;
                }
                if let Some(f) = self.value(raw, Place::Cookie, pointer) {
                    return Some(f);
                }
            }
        }
        let body = req.body.filter(|b| !b.is_empty())?;
        match validated.and_then(|v| v.json.as_ref().map(|j| (j, v.json_shape.as_deref()))) {
            Some((json, shape)) => {
                let mut pointer = String::from("/body");
                self.json(json, shape.unwrap_or(&Shape::Free), &mut pointer, None)
            }
            None => self.body(req, body, validated.is_some_and(|v| !v.values.is_empty())),
        }
    }

    /// A body validation did not parse: JSON walked, XML scanned, a form's fields.
    fn body(&self, req: &Request<'_>, body: &[u8], fields_seen: bool) -> Option<Finding> {
        let essence = media_essence(req.headers);
        if essence.ends_with("json") {
            // Malformed JSON is the validator's to refuse; here only what parses.
            let json: serde_json::Value = serde_json::from_slice(body).ok()?;
            let mut pointer = String::from("/body");
            return self.json(&json, &Shape::Free, &mut pointer, None);
        }
        if essence.ends_with("xml") {
            let (d, at) = self.inspection.inspector.xml(body)?;
            let location = format!("/body{}", if at == "/" { "" } else { &at });
            return self.allowed(d, &location).then_some((d, location));
        }
        if essence == "application/x-www-form-urlencoded" && !fields_seen {
            let text = String::from_utf8_lossy(body);
            for pair in text.split('&').filter(|p| !p.is_empty()) {
                let (name, raw) = pair.split_once('=').unwrap_or((pair, ""));
                let pointer = || format!("/body/{}", pointer_token(name));
                if let Some(f) = self
                    .value(name, Place::Form, pointer)
                    .or_else(|| self.value(raw, Place::Form, pointer))
                {
                    return Some(f);
                }
            }
        }
        None
    }

    /// Walks a JSON value: every key, and every string its shape does not pin
    /// down. `parent` is the key `v` is the value of, if any.
    fn json(
        &self,
        v: &serde_json::Value,
        shape: &Shape,
        pointer: &mut String,
        parent: Option<&str>,
    ) -> Option<Finding> {
        match v {
            serde_json::Value::String(s) if !shape.is_typed() => {
                self.value(s, Place::Json, || pointer.clone())
            }
            serde_json::Value::Array(items) => {
                let item = shape.item();
                for (i, x) in items.iter().enumerate() {
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&i.to_string());
                    let found = self.json(x, item, pointer, None);
                    pointer.truncate(len);
                    if found.is_some() {
                        return found;
                    }
                }
                None
            }
            serde_json::Value::Object(map) => {
                for (k, x) in map {
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&pointer_token(k));
                    let found = self
                        .key(parent, k, pointer)
                        .or_else(|| self.json(x, shape.property(k), pointer, Some(k)));
                    pointer.truncate(len);
                    if found.is_some() {
                        return found;
                    }
                }
                None
            }
            _ => None,
        }
    }

    fn key(&self, parent: Option<&str>, key: &str, pointer: &str) -> Option<Finding> {
        let inspector = &self.inspection.inspector;
        let d = match parent {
            Some(p) => inspector.nested_key(p, key)?,
            None => inspector.key(key)?,
        };
        self.allowed(d, pointer).then(|| (d, pointer.to_owned()))
    }

    /// Inspects one value; the location is only built for a finding.
    fn value(&self, text: &str, place: Place, location: impl Fn() -> String) -> Option<Finding> {
        let d = self.inspection.inspector.value(text, place)?;
        let at = location();
        if self.allowed(d, &at) {
            return Some((d, at));
        }
        // Excluded here: the other detectors still look at the value.
        let mut settings = self.inspection.inspector.settings();
        for rule in &self.rules {
            if covers(rule, &at) {
                for x in Detector::ALL {
                    if rule.detectors.contains(x) {
                        settings.detectors = settings.detectors.without(x);
                    }
                }
            }
        }
        let d = Inspector::new(settings).value(text, place)?;
        Some((d, at))
    }

    /// Whether a finding of `d` at `location` stands (no exclusion covers it).
    fn allowed(&self, d: Detector, location: &str) -> bool {
        !self
            .rules
            .iter()
            .any(|r| r.detectors.contains(d) && covers(r, location))
    }
}

/// Whether an exclusion's locations cover `location` (a prefix ending at a
/// pointer token boundary).
fn covers(rule: &Exclusion, location: &str) -> bool {
    rule.locations.is_empty()
        || rule.locations.iter().any(|l| {
            location == l
                || (location.starts_with(l.as_str())
                    && location.as_bytes().get(l.len()) == Some(&b'/'))
        })
}

/// How a decoded value from validation is inspected, by its pointer's part.
fn place_of(pointer: &str) -> Place {
    let part = pointer.split('/').nth(1).unwrap_or("");
    match part {
        "path" => Place::Path,
        "query" => Place::Query,
        "header" => Place::Header,
        "cookie" => Place::Cookie,
        _ => Place::Form,
    }
}

/// The lowercase media type essence of the request's `Content-Type`.
fn media_essence(headers: &http::HeaderMap) -> String {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|e| e.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// A JSON pointer token (RFC 6901 escaping), bounded in length: locations name
/// where a value was, and a client-chosen key must not make them unbounded.
fn pointer_token(name: &str) -> String {
    const MAX: usize = 64;
    let mut out = String::with_capacity(name.len().min(MAX));
    for c in name.chars() {
        if out.len() >= MAX {
            out.push('…');
            break;
        }
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c if c.is_control() => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// Whether inspecting this request needs its body read (a body the detectors
/// can parse: JSON, XML or a form).
pub fn wants_body(headers: &http::HeaderMap) -> bool {
    let e = media_essence(headers);
    e.ends_with("json")
        || e.ends_with("xml")
        || e == "application/x-www-form-urlencoded"
        || e == "multipart/form-data"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inspection(exclusions: Vec<Exclusion>) -> Inspection {
        Inspection {
            inspector: Inspector::new(Settings::default()),
            enforced: true,
            headers: vec![HeaderName::from_static("user-agent")],
            exclusions,
        }
    }

    #[test]
    fn pointer_tokens_are_escaped_and_bounded() {
        assert_eq!(pointer_token("a/b~c"), "a~1b~0c");
        assert!(pointer_token(&"x".repeat(500)).len() < 80);
        assert_eq!(pointer_token("a\nb"), "a?b");
    }

    #[test]
    fn exclusions_cover_prefixes_at_token_boundaries() {
        let rule = Exclusion {
            operations: vec![],
            locations: vec!["/body/notes".into()],
            detectors: DetectorSet::ALL,
        };
        assert!(covers(&rule, "/body/notes"));
        assert!(covers(&rule, "/body/notes/0"));
        assert!(!covers(&rule, "/body/notes2"));
        assert!(!covers(&rule, "/query/notes"));
        let _ = inspection(vec![rule]);
    }
}
