//! Reads the Cedar policy files: parses them, gives every policy its id and
//! source position, and turns Cedar's diagnostics into positioned errors.
//! Also what a parsed policy needs at decision time (its scope, the
//! attributes it reads), so decisions build no more than that.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use cedar_policy::{ActionConstraint, Policy, PolicyId, PolicySet};
use miette::Diagnostic;
use serde_json::{Value, json};
use serde_saphyr::Spanned;

use crate::{Error, Resolve};

/// Where a policy was written.
#[derive(Debug)]
pub(crate) enum Origin {
    /// In a Cedar file (the `field` entry of the config), starting at byte
    /// `offset` of `source`.
    File {
        path: PathBuf,
        source: Arc<str>,
        offset: usize,
        field: String,
    },
    /// Compiled from a shortcut of the gateway config.
    Config {
        line: Option<u64>,
        column: Option<u64>,
        field: String,
    },
}

/// One policy ready for the set: its final id, the parsed policy (already
/// carrying that id), its source text and where it came from.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) id: String,
    pub(crate) policy: Policy,
    pub(crate) text: String,
    pub(crate) origin: Origin,
}

impl Origin {
    /// Where, for a human: `file:line` or the config field.
    pub(crate) fn describe(&self) -> String {
        match self {
            Origin::File {
                path,
                source,
                offset,
                ..
            } => format!("{}:{}", path.display(), position(source, *offset).0),
            Origin::Config { field, .. } => field.clone(),
        }
    }
}

impl Loaded {
    /// An error Cedar reports about this policy, at its first label.
    pub(crate) fn error(&self, diagnostic: &dyn Diagnostic) -> Error {
        self.error_at(label_offset(diagnostic), message(diagnostic))
    }

    /// An error about this policy: at byte `offset` of its file when known
    /// (and it comes from a file), else where the policy starts.
    pub(crate) fn error_at(&self, offset: Option<usize>, message: String) -> Error {
        let named = format!("policy `{}`", self.id);
        let message = if message.contains(&named) {
            message
        } else {
            format!("{named}: {message}")
        };
        match &self.origin {
            Origin::File {
                path,
                source,
                offset: start,
                field,
            } => {
                let at = offset.filter(|o| *o <= source.len()).unwrap_or(*start);
                let (line, column) = position(source, at);
                Error {
                    file: Some(path.clone()),
                    line: Some(line),
                    column: Some(column),
                    field: field.clone(),
                    message,
                }
            }
            Origin::Config {
                line,
                column,
                field,
            } => Error {
                file: None,
                line: *line,
                column: *column,
                field: field.clone(),
                message,
            },
        }
    }
}

/// Reads and parses every file of `policies`, in order. Returns the files
/// (resolved) and their policies; problems go to `errors`.
pub(crate) fn files(
    policies: &[Spanned<String>],
    resolve: Resolve<'_>,
    errors: &mut Vec<Error>,
) -> (Vec<PathBuf>, Vec<Loaded>) {
    let mut paths = Vec::new();
    let mut loaded = Vec::new();
    for (i, entry) in policies.iter().enumerate() {
        let path = resolve(&entry.value);
        paths.push(path.clone());
        let field = format!("authorization.policies[{i}]");
        match std::fs::read_to_string(&path) {
            Ok(text) => loaded.extend(parse_file(&path, &text, &field, errors)),
            Err(e) => errors.push(yaml_error(
                entry,
                field,
                format!("cannot read policy file {}: {e}", path.display()),
            )),
        }
    }
    (paths, loaded)
}

/// An error at a YAML value of the gateway config.
pub(crate) fn yaml_error<T>(at: &Spanned<T>, field: String, message: String) -> Error {
    let (line, column) = yaml_position(at);
    Error {
        file: None,
        line,
        column,
        field,
        message,
    }
}

/// A YAML value's line and column (`None` when unknown).
pub(crate) fn yaml_position<T>(at: &Spanned<T>) -> (Option<u64>, Option<u64>) {
    let known = |n: u64| (n != 0).then_some(n);
    (known(at.referenced.line()), known(at.referenced.column()))
}

/// Parses one file's text into its policies, each with its final id:
/// `@id("…")` when given, else `<file name>:<line>`.
fn parse_file(path: &Path, text: &str, field: &str, errors: &mut Vec<Error>) -> Vec<Loaded> {
    let source: Arc<str> = Arc::from(text);
    let file_error = |offset: Option<usize>, message: String| {
        let (line, column) = offset.map(|o| position(&source, o)).unzip();
        Error {
            file: Some(path.to_path_buf()),
            line,
            column,
            field: field.to_owned(),
            message,
        }
    };
    let set = match PolicySet::from_str(text) {
        Ok(set) => set,
        Err(parse) => {
            for e in parse.iter() {
                errors.push(file_error(label_offset(e), message(e)));
            }
            return Vec::new();
        }
    };
    let statements = statements(text);
    // Cedar names the n-th statement `policy<n>`, templates included.
    let index = |id: &PolicyId| {
        let n = AsRef::<str>::as_ref(id).strip_prefix("policy")?;
        n.parse::<usize>().ok()
    };
    let span = |id: &PolicyId| {
        index(id)
            .and_then(|n| statements.get(n).copied())
            .unwrap_or((0, 0))
    };
    for template in set.templates() {
        errors.push(file_error(
            Some(span(template.id()).0),
            "templates (`?principal`, `?resource`) are not supported".to_owned(),
        ));
    }
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut policies: Vec<&Policy> = set.policies().collect();
    policies.sort_by_key(|p| index(p.id()));
    policies
        .into_iter()
        .map(|policy| {
            let (offset, end) = span(policy.id());
            let (line, _) = position(&source, offset);
            let id = policy
                .annotation("id")
                .map_or_else(|| format!("{name}:{line}"), str::to_owned);
            Loaded {
                policy: policy.new_id(PolicyId::new(&id)),
                id,
                text: text.get(offset..end).unwrap_or_default().to_owned(),
                origin: Origin::File {
                    path: path.to_path_buf(),
                    source: source.clone(),
                    offset,
                    field: field.to_owned(),
                },
            }
        })
        .collect()
}

/// The byte range of each top-level statement: from its first character
/// (past whitespace and `//` comments) through its `;`. Strings are skipped so
/// that a `;` or `//` inside one does not count. Cedar numbers policies in
/// the same order (`policy0`, `policy1`, …).
fn statements(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b if b.is_ascii_whitespace() => {}
            b';' => {
                out.push((start.take().unwrap_or(i), i + 1));
            }
            b => {
                start.get_or_insert(i);
                if b == b'"' {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                }
            }
        }
        i += 1;
    }
    out
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn position(text: &str, offset: usize) -> (u64, u64) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    let column = before[line_start..].chars().count() + 1;
    (line as u64, column as u64)
}

/// The byte offset of a diagnostic's first label.
fn label_offset(diagnostic: &dyn Diagnostic) -> Option<usize> {
    diagnostic.labels()?.next().map(|label| label.offset())
}

/// A diagnostic's message, with its help when it has one.
fn message(diagnostic: &dyn Diagnostic) -> String {
    match diagnostic.help() {
        Some(help) => format!("{diagnostic} ({help})"),
        None => diagnostic.to_string(),
    }
}

/// The policy without its action scope (`action`), same id and annotations;
/// the policy itself when that cannot be done. For the policies of one
/// operation the scope always holds, and evaluating it costs a lookup in the
/// action hierarchy per policy and request.
pub(crate) fn without_action_scope(policy: &Policy) -> Policy {
    if matches!(policy.action_constraint(), ActionConstraint::Any) {
        return policy.clone();
    }
    let Ok(mut json) = policy.to_json() else {
        return policy.clone();
    };
    if let Some(scope) = json.get_mut("action") {
        *scope = json!({"op": "All"});
    }
    Policy::from_json(Some(policy.id().clone()), json).unwrap_or_else(|_| policy.clone())
}

/// What some policies can see of a request. Cedar has no dynamic attribute
/// access, so an attribute whose name no policy writes (`.a`, `["a"]`,
/// `has a`) cannot change a decision, and need not be built.
#[derive(Debug)]
pub(crate) struct Reads {
    /// The attribute names read; `None`: unknown, so every one.
    names: Option<HashSet<String>>,
    /// A policy uses `context` as a whole (compares it, say), so every
    /// context attribute matters.
    whole_context: bool,
}

impl Reads {
    /// What `policies` read, from their JSON form.
    pub(crate) fn of(policies: &[Policy]) -> Reads {
        let mut names = HashSet::new();
        let mut whole_context = false;
        for policy in policies {
            let Ok(json) = policy.to_json() else {
                return Reads {
                    names: None,
                    whole_context: true,
                };
            };
            walk(&json, false, &mut names, &mut whole_context);
        }
        Reads {
            names: Some(names),
            whole_context,
        }
    }

    /// Whether an entity attribute called `name` may be read.
    pub(crate) fn entity_attr(&self, name: &str) -> bool {
        self.names.as_ref().is_none_or(|names| names.contains(name))
    }

    /// Whether the context attribute `name` may be read.
    pub(crate) fn context_attr(&self, name: &str) -> bool {
        self.whole_context || self.entity_attr(name)
    }
}

/// Collects the attribute names of a policy's JSON (EST) form (every `attr`:
/// a name, or a list of them for `has a.b`), and notes a `context` variable
/// that is not the object of an attribute access (`.` or `has`).
fn walk(value: &Value, accessed: bool, names: &mut HashSet<String>, whole_context: &mut bool) {
    match value {
        Value::Object(map) => {
            record(map.get("attr"), names);
            for (key, inner) in map {
                if key == "Var" && inner == "context" {
                    *whole_context |= !accessed;
                } else if let ("." | "has", Some(left)) = (key.as_str(), inner.get("left")) {
                    record(inner.get("attr"), names);
                    walk(left, true, names, whole_context);
                } else {
                    walk(inner, false, names, whole_context);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, false, names, whole_context);
            }
        }
        _ => {}
    }
}

/// Adds an `attr` field's name (or names) to `names`.
fn record(attr: Option<&Value>, names: &mut HashSet<String>) {
    let Some(attr) = attr else { return };
    let listed = attr.as_array().map_or(&[][..], Vec::as_slice);
    for name in std::iter::once(attr)
        .chain(listed)
        .filter_map(Value::as_str)
    {
        names.insert(name.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_skip_comments_and_strings() {
        let text = "// a; comment\npermit(principal, action, resource)\n when { \"a;//\\\"b\" == \"x\" };\n\n  @id(\"x\")\nforbid(principal, action, resource);";
        let found = statements(text);
        assert_eq!(found.len(), 2);
        assert_eq!(position(text, found[0].0), (2, 1));
        assert_eq!(position(text, found[1].0), (5, 3));
        assert!(text[found[1].0..found[1].1].ends_with("resource);"));
    }

    #[test]
    fn reads_find_every_attribute_access() {
        let set = PolicySet::from_str(
            r#"permit(principal, action, resource) when {
                 principal.a.b == resource["c d"] && context has e && context.f.contains(1)
               };
               forbid(principal, action == Action::"x", resource) unless { principal has g.h };"#,
        )
        .expect("policies");
        let policies: Vec<Policy> = set.policies().cloned().collect();
        let reads = Reads::of(&policies);
        for name in ["a", "b", "c d", "e", "f", "g", "h"] {
            assert!(reads.entity_attr(name), "{name}: {reads:?}");
        }
        assert!(!reads.entity_attr("roles"));
        assert!(!reads.context_attr("ip"));

        let whole = PolicySet::from_str(
            "permit(principal, action, resource) when { context == {\"a\": 1} };",
        )
        .expect("policy");
        let whole: Vec<Policy> = whole.policies().cloned().collect();
        assert!(Reads::of(&whole).context_attr("ip"));
        assert!(!Reads::of(&whole).entity_attr("ip"));
    }

    #[test]
    fn action_scope_is_removed_keeping_id_and_annotations() {
        let policy = Policy::parse(
            Some(PolicyId::new("p")),
            "@id(\"p\") permit(principal, action in [Action::\"a\"], resource) when { true };",
        )
        .expect("policy");
        let bare = without_action_scope(&policy);
        assert!(matches!(bare.action_constraint(), ActionConstraint::Any));
        assert_eq!(bare.id(), policy.id());
        assert_eq!(bare.annotation("id"), Some("p"));
    }

    #[test]
    fn positions_count_characters() {
        assert_eq!(position("ab\ncé d", 7), (2, 4));
        assert_eq!(position("x", 0), (1, 1));
    }
}
