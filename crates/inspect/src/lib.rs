//! Injection detection: each value where it lives (path segment, query or form
//! value, header, cookie, JSON string or key, XML text) is decoded with bounded
//! effort and checked by linear-time detectors.
//!
//! ```
//! use portcullis_inspect::{Inspector, Place, Settings, Detector};
//! let inspector = Inspector::new(Settings::default());
//! assert_eq!(inspector.value("1%27%20OR%20%271%27%3D%271", Place::Query), Some(Detector::Sqli));
//! assert_eq!(inspector.value("blue shoes", Place::Query), None);
//! ```
//!
//! Matching is linear in the input: regular expressions come from the `regex`
//! crate (finite automata, no backtracking), keyword sets from `aho-corasick`,
//! and the tokenizers are hand-written single passes. Decoding is bounded: a
//! value is decoded at most [`normalize::MAX_ROUNDS`] times and never grows.

pub mod corpus;
mod detect;
pub mod normalize;
pub mod redact;

use std::fmt;

pub use normalize::Views;

/// One kind of attack a detector recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Detector {
    /// SQL injection (tokenizer and fingerprints).
    Sqli,
    /// Cross-site scripting (HTML and JavaScript contexts).
    Xss,
    /// OS command injection.
    Cmdi,
    /// Path traversal and file inclusion.
    Traversal,
    /// Server-side request forgery: URLs or hosts that point at loopback,
    /// private, link-local or cloud-metadata addresses.
    Ssrf,
    /// Server-side template injection.
    Ssti,
    /// NoSQL (MongoDB) operator injection.
    Nosql,
    /// LDAP filter injection.
    Ldap,
    /// XML external entities (a DOCTYPE or ENTITY declaration).
    Xxe,
    /// CR/LF (header splitting) injection.
    Crlf,
    /// JNDI / Log4Shell lookups.
    Jndi,
    /// Prototype pollution keys (`__proto__`, `constructor.prototype`).
    PrototypePollution,
}

impl Detector {
    /// Every detector.
    pub const ALL: [Detector; 12] = [
        Detector::Sqli,
        Detector::Xss,
        Detector::Cmdi,
        Detector::Traversal,
        Detector::Ssrf,
        Detector::Ssti,
        Detector::Nosql,
        Detector::Ldap,
        Detector::Xxe,
        Detector::Crlf,
        Detector::Jndi,
        Detector::PrototypePollution,
    ];

    /// The stable name used in config, audit records and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Detector::Sqli => "sqli",
            Detector::Xss => "xss",
            Detector::Cmdi => "cmdi",
            Detector::Traversal => "traversal",
            Detector::Ssrf => "ssrf",
            Detector::Ssti => "ssti",
            Detector::Nosql => "nosql",
            Detector::Ldap => "ldap",
            Detector::Xxe => "xxe",
            Detector::Crlf => "crlf",
            Detector::Jndi => "jndi",
            Detector::PrototypePollution => "prototype-pollution",
        }
    }

    /// The detector named `name` (as [`Detector::as_str`] spells it).
    pub fn from_name(name: &str) -> Option<Detector> {
        Detector::ALL.into_iter().find(|d| d.as_str() == name)
    }

    fn bit(self) -> u16 {
        1 << self as u16
    }
}

impl fmt::Display for Detector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of detectors (a bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetectorSet(u16);

impl DetectorSet {
    /// Every detector.
    pub const ALL: DetectorSet = DetectorSet((1 << Detector::ALL.len()) - 1);
    /// No detector.
    pub const NONE: DetectorSet = DetectorSet(0);

    /// Whether `d` is in the set.
    pub fn contains(self, d: Detector) -> bool {
        self.0 & d.bit() != 0
    }

    /// The set with `d` added.
    #[must_use]
    pub fn with(self, d: Detector) -> DetectorSet {
        DetectorSet(self.0 | d.bit())
    }

    /// The set with `d` removed.
    #[must_use]
    pub fn without(self, d: Detector) -> DetectorSet {
        DetectorSet(self.0 & !d.bit())
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl Default for DetectorSet {
    fn default() -> DetectorSet {
        DetectorSet::ALL
    }
}

/// How eagerly detectors fire.
///
/// `Medium` is the default: CRS-level detection with libinjection-level false
/// positives on the project corpus. `Low` keeps only high-confidence patterns
/// (for APIs whose free text legitimately holds code or markup); `High` also
/// flags weaker signals (e.g. bare private hosts, lone SQL keywords after a
/// quote) at the price of more false positives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Sensitivity {
    /// High-confidence patterns only.
    Low,
    /// The default.
    #[default]
    Medium,
    /// Weaker signals too.
    High,
}

impl Sensitivity {
    /// `low`, `medium` or `high`.
    pub fn from_name(name: &str) -> Option<Sensitivity> {
        match name {
            "low" => Some(Sensitivity::Low),
            "medium" => Some(Sensitivity::Medium),
            "high" => Some(Sensitivity::High),
            _ => None,
        }
    }
}

/// Where a value was found; it decides how the value is decoded (a `+` is a
/// space only in a query or form value) and which detectors apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Place {
    /// A path segment, still percent-encoded as received.
    Path,
    /// A query parameter value (or name), still percent-encoded as received.
    Query,
    /// An `application/x-www-form-urlencoded` value, still encoded.
    Form,
    /// A header value.
    Header,
    /// A cookie value.
    Cookie,
    /// A string in a JSON body (already JSON-unescaped).
    Json,
    /// A key of a JSON object (already JSON-unescaped).
    JsonKey,
    /// XML text or an attribute value (entities already expanded).
    Xml,
    /// A `multipart/form-data` text part.
    Multipart,
}

impl Place {
    /// The stable name used in audit records and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Place::Path => "path",
            Place::Query => "query",
            Place::Form => "form",
            Place::Header => "header",
            Place::Cookie => "cookie",
            Place::Json => "json",
            Place::JsonKey => "json-key",
            Place::Xml => "xml",
            Place::Multipart => "multipart",
        }
    }
}

/// What an [`Inspector`] checks and how eagerly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settings {
    /// How eagerly detectors fire.
    pub sensitivity: Sensitivity,
    /// The detectors that run.
    pub detectors: DetectorSet,
}

/// The detectors, compiled once (their automata are shared process-wide).
#[derive(Debug, Clone)]
pub struct Inspector {
    settings: Settings,
}

impl Inspector {
    /// An inspector with these settings.
    pub fn new(settings: Settings) -> Inspector {
        detect::warm();
        Inspector { settings }
    }

    /// The settings it was made with.
    pub fn settings(&self) -> Settings {
        self.settings
    }

    /// Checks one value as received at `place` (percent-encoded for a path,
    /// query or form value); the first detector that fires, if any.
    pub fn value(&self, raw: &str, place: Place) -> Option<Detector> {
        if normalize::is_plain(raw) {
            return None;
        }
        let views = Views::new(raw, place);
        detect::run(&views, self.settings)
    }

    /// Checks one JSON object key: operator keys (`$where`, `$ne` …), prototype
    /// pollution keys, and then the key as a value.
    pub fn key(&self, key: &str) -> Option<Detector> {
        detect::key(key, self.settings).or_else(|| self.value(key, Place::JsonKey))
    }

    /// Like [`Inspector::key`], for a key nested directly under `parent`: a
    /// pair that only pollutes together (`{"constructor": {"prototype": …}}`)
    /// is caught too.
    pub fn nested_key(&self, parent: &str, key: &str) -> Option<Detector> {
        if detect::nested_key(parent, key, self.settings) {
            return Some(Detector::PrototypePollution);
        }
        self.key(key)
    }

    /// Checks an XML document: a DOCTYPE or ENTITY declaration (XXE), then each
    /// text node and attribute value. The detector and the element path
    /// (e.g. `/order/item/@name`) of the first finding.
    pub fn xml(&self, body: &[u8]) -> Option<(Detector, String)> {
        detect::xml(self, body)
    }
}
