//! Redaction of a JSON response: configured fields (JSON pointers with `*`)
//! and strings or numbers in which a detector finds sensitive data, masked or
//! removed. One walk over the document, linear in its size times the number
//! of configured field pointers.

use portcullis_inspect::redact::Redactor;
use portcullis_openapi::pointer::{escape, unescape};
use serde_json::Value;

/// What happens to sensitive data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Replaced: a detector's match by its mask (a card keeps its last four
    /// digits, the rest becomes `[redacted]`); a configured field by `"[redacted]"`.
    Mask,
    /// The property (or array item) is removed.
    Remove,
}

/// What a configured field is replaced by when masked.
pub(super) const MASK: &str = "[redacted]";

/// One segment of a field pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// `*`: any array index or object key.
    Any,
    /// A property name or array index, unescaped (`~1` → `/`, `~0` → `~`).
    Key(String),
}

impl Segment {
    fn matches(&self, key: &str) -> bool {
        match self {
            Segment::Any => true,
            Segment::Key(k) => k == key,
        }
    }
}

/// A configured field: a JSON pointer whose `*` segments match anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FieldPattern {
    segments: Vec<Segment>,
}

impl FieldPattern {
    /// Parses `/accounts/*/iban`.
    pub(super) fn parse(text: &str) -> Result<FieldPattern, String> {
        let Some(rest) = text.strip_prefix('/') else {
            return Err(
                "a field is a JSON pointer starting with `/`, e.g. `/accounts/*/iban`".into(),
            );
        };
        let mut segments = Vec::new();
        for raw in rest.split('/') {
            if raw == "*" {
                segments.push(Segment::Any);
                continue;
            }
            segments.push(Segment::Key(unescape(raw).ok_or_else(|| {
                format!("`{raw}` has a `~` that is not `~0` or `~1` (JSON pointer escapes)")
            })?));
        }
        Ok(FieldPattern { segments })
    }
}

/// An API's compiled redaction.
#[derive(Debug)]
pub(super) struct Redaction {
    /// Detectors and custom patterns, when some are configured.
    pub(super) redactor: Option<Redactor>,
    pub(super) fields: Vec<FieldPattern>,
    pub(super) action: Action,
}

/// The audit action for what a detector (or custom pattern) named `name` found.
fn action_of(name: &str) -> &'static str {
    match name {
        "card" => "redact:card",
        "iban" => "redact:iban",
        "ssn" => "redact:ssn",
        "email" => "redact:email",
        "secret" => "redact:secret",
        // Custom pattern names come from config; the audit action is static.
        _ => "redact:pattern",
    }
}

/// What happens to one child of a container.
enum Verdict {
    Keep,
    Replace(Value),
    Remove,
}

impl Redaction {
    /// Redacts `value` in place; each redaction is pushed onto `found` as
    /// (action, JSON pointer). Whether anything changed.
    pub(super) fn apply(&self, value: &mut Value, found: &mut Vec<(&'static str, String)>) -> bool {
        let alive: Vec<usize> = (0..self.fields.len()).collect();
        let mut path = Vec::new();
        let before = found.len();
        match self.verdict(value, &alive, &path, found) {
            Verdict::Keep => {}
            Verdict::Replace(v) => *value = v,
            // The document itself cannot go: it becomes its mask.
            Verdict::Remove => *value = Value::String(MASK.to_owned()),
        }
        if matches!(value, Value::Array(_) | Value::Object(_)) {
            self.walk(value, &mut path, &alive, found);
        }
        found.len() > before
    }

    /// Redacts the children of a container at `path`; `alive` are the field
    /// patterns whose first `path.len()` segments match the path.
    fn walk(
        &self,
        value: &mut Value,
        path: &mut Vec<String>,
        alive: &[usize],
        found: &mut Vec<(&'static str, String)>,
    ) {
        let depth = path.len();
        match value {
            Value::Object(map) => {
                let mut removed = Vec::new();
                for (key, child) in map.iter_mut() {
                    let next = self.advance(alive, depth, key);
                    path.push(escape(key));
                    match self.verdict(child, &next, path, found) {
                        Verdict::Keep => self.descend(child, path, &next, found),
                        Verdict::Replace(v) => *child = v,
                        Verdict::Remove => removed.push(key.clone()),
                    }
                    path.pop();
                }
                for key in removed {
                    map.remove(&key);
                }
            }
            Value::Array(items) => {
                let mut removed = Vec::new();
                for (i, child) in items.iter_mut().enumerate() {
                    let index = i.to_string();
                    let next = self.advance(alive, depth, &index);
                    path.push(index);
                    match self.verdict(child, &next, path, found) {
                        Verdict::Keep => self.descend(child, path, &next, found),
                        Verdict::Replace(v) => *child = v,
                        Verdict::Remove => removed.push(i),
                    }
                    path.pop();
                }
                for i in removed.into_iter().rev() {
                    items.remove(i);
                }
            }
            _ => {}
        }
    }

    fn descend(
        &self,
        child: &mut Value,
        path: &mut Vec<String>,
        next: &[usize],
        found: &mut Vec<(&'static str, String)>,
    ) {
        if matches!(child, Value::Array(_) | Value::Object(_)) {
            self.walk(child, path, next, found);
        }
    }

    /// The patterns of `alive` whose segment at `depth` matches `key`.
    fn advance(&self, alive: &[usize], depth: usize, key: &str) -> Vec<usize> {
        alive
            .iter()
            .copied()
            .filter(|&p| {
                self.fields[p]
                    .segments
                    .get(depth)
                    .is_some_and(|s| s.matches(key))
            })
            .collect()
    }

    /// What happens to `value` at `path`: a configured field ends there (among
    /// `next`, the patterns that matched down to it), or a detector finds
    /// something in it.
    fn verdict(
        &self,
        value: &Value,
        next: &[usize],
        path: &[String],
        found: &mut Vec<(&'static str, String)>,
    ) -> Verdict {
        let depth = path.len();
        if next.iter().any(|&p| self.fields[p].segments.len() == depth) {
            found.push(("redact:field", pointer(path)));
            return match self.action {
                Action::Mask => Verdict::Replace(Value::String(MASK.to_owned())),
                Action::Remove => Verdict::Remove,
            };
        }
        let Some(redactor) = &self.redactor else {
            return Verdict::Keep;
        };
        let text = match value {
            Value::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
            // A card number sent as a JSON number is a card number.
            Value::Number(n) => std::borrow::Cow::Owned(n.to_string()),
            _ => return Verdict::Keep,
        };
        let Some((masked, names)) = redactor.mask(&text) else {
            return Verdict::Keep;
        };
        let at = pointer(path);
        for name in names {
            found.push((action_of(name), at.clone()));
        }
        match self.action {
            Action::Mask => Verdict::Replace(Value::String(masked)),
            Action::Remove => Verdict::Remove,
        }
    }

    /// The redactor, to mask what an audit pointer might carry (an object key
    /// that is an e-mail address …).
    pub(super) fn redactor(&self) -> Option<&Redactor> {
        self.redactor.as_ref()
    }
}

fn pointer(path: &[String]) -> String {
    let mut s = String::new();
    for seg in path {
        s.push('/');
        s.push_str(seg);
    }
    s
}
