//! The one error type of spec loading: every variant names the file and where in it.

use std::fmt;
use std::path::PathBuf;

/// Why a spec could not be loaded.
///
/// Every variant carries the file it came from; the rest of the context is in
/// typed fields so callers (`portcullis check`, tests) can inspect it. The
/// `Display` form is one line: `file:line:column: …` when the position in the
/// text is known, `file: at /json/pointer: …` when the place is a JSON pointer.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read (missing, unreadable, not UTF-8).
    #[error("{}: cannot read the spec: {source}", path.display())]
    Io {
        /// The spec file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The file is larger than [`MAX_SPEC_BYTES`](crate::MAX_SPEC_BYTES).
    #[error("{}: the spec is {size} bytes; the limit is {limit}", path.display())]
    TooLarge {
        /// The spec file.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },

    /// The text is not valid YAML or JSON, or a YAML parser budget (alias
    /// expansion, nesting, node count …) was exceeded.
    #[error("{}{}: {message}", path.display(), LineColumn(*line, *column))]
    Syntax {
        /// The spec file.
        path: PathBuf,
        /// 1-based line, when known.
        line: Option<u64>,
        /// 1-based column, when known.
        column: Option<u64>,
        /// The parser's description of the problem.
        message: String,
    },

    /// The `openapi` field is missing or is not a 3.0.x / 3.1.x version.
    #[error(
        "{}: {}: only OpenAPI 3.0.x and 3.1.x are supported",
        path.display(),
        match found { Some(v) => format!("`openapi` is {v}"), None => "no `openapi` field".to_owned() }
    )]
    Version {
        /// The spec file.
        path: PathBuf,
        /// The `openapi` value as written (JSON text, so strings are quoted),
        /// or `None` when the field is missing.
        found: Option<String>,
    },

    /// The document is a Swagger 2.0 (or older) document.
    #[error(
        "{}: this is a Swagger {found} document; only OpenAPI 3.0.x and 3.1.x are supported \
         (convert it first, e.g. with swagger2openapi)",
        path.display()
    )]
    Swagger {
        /// The spec file.
        path: PathBuf,
        /// The `swagger` value as written.
        found: String,
    },

    /// A `$ref` names a URL (`http:`, `https:`, `file:`, `//host/…`, any
    /// scheme). Refused: fetching it would let a spec make the gateway send
    /// requests of its choosing (SSRF).
    #[error(
        "{}: {}$ref `{reference}` is a URL; remote references are refused \
         (fetching them would be SSRF): bundle the spec into one file",
        path.display(), At(pointer.as_deref())
    )]
    RemoteRef {
        /// The spec file.
        path: PathBuf,
        /// JSON pointer of the object holding the `$ref`, when known.
        pointer: Option<String>,
        /// The `$ref` value.
        reference: String,
    },

    /// A `$ref` names another file. Only references inside the document
    /// (`#/…`) are supported; bundle multi-file specs into one file first.
    #[error(
        "{}: {}$ref `{reference}` points to another file; only references inside \
         the document (`#/...`) are supported: bundle the spec into one file \
         (e.g. `redocly bundle`)",
        path.display(), At(pointer.as_deref())
    )]
    ExternalRef {
        /// The spec file.
        path: PathBuf,
        /// JSON pointer of the object holding the `$ref`, when known.
        pointer: Option<String>,
        /// The `$ref` value.
        reference: String,
    },

    /// A `$ref` that is local but of a form this crate does not follow
    /// (empty, a plain-name `#anchor` fragment, bad percent-encoding, not a
    /// string).
    #[error("{}: {}$ref `{reference}`: {reason}", path.display(), At(pointer.as_deref()))]
    UnsupportedRef {
        /// The spec file.
        path: PathBuf,
        /// JSON pointer of the object holding the `$ref`, when known.
        pointer: Option<String>,
        /// The `$ref` value (JSON text when it is not a string).
        reference: String,
        /// Why it is not followed.
        reason: &'static str,
    },

    /// A local `$ref` whose target does not exist in the document.
    #[error(
        "{}: {}$ref `{reference}` points to nothing in this document",
        path.display(), At(pointer.as_deref())
    )]
    DanglingRef {
        /// The spec file.
        path: PathBuf,
        /// JSON pointer of the object holding the `$ref`, when known.
        pointer: Option<String>,
        /// The `$ref` value.
        reference: String,
    },

    /// A chain of `$ref`s that loops (or is longer than
    /// [`MAX_REF_HOPS`](crate::MAX_REF_HOPS)) and so never reaches a value.
    #[error(
        "{}: {}$ref `{reference}` starts a chain of references that loops or is \
         longer than {} hops",
        path.display(), At(pointer.as_deref()), crate::MAX_REF_HOPS
    )]
    RefCycle {
        /// The spec file.
        path: PathBuf,
        /// JSON pointer of the object holding the first `$ref`, when known.
        pointer: Option<String>,
        /// The first `$ref` of the chain.
        reference: String,
    },

    /// A structural problem: a field of the wrong type, a bad path template,
    /// an unknown key in a path item, a duplicate `operationId` …
    #[error("{}: {}{message}", path.display(), At(Some(pointer)))]
    Invalid {
        /// The spec file.
        path: PathBuf,
        /// JSON pointer of the offending value (`""` is the root).
        pointer: String,
        /// What is wrong.
        message: String,
    },
}

/// Displays `:line:column` when both are known, nothing otherwise.
struct LineColumn(Option<u64>, Option<u64>);

impl fmt::Display for LineColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, self.1) {
            (Some(line), Some(column)) => write!(f, ":{line}:{column}"),
            (Some(line), None) => write!(f, ":{line}"),
            _ => Ok(()),
        }
    }
}

/// Displays `at /pointer: ` (naming the root in words), nothing when unknown.
struct At<'a>(Option<&'a str>);

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some("") => f.write_str("at the document root: "),
            Some(pointer) => write!(f, "at {pointer}: "),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_and_line_column() {
        let err = SpecError::Syntax {
            path: "bank/openapi.yaml".into(),
            line: Some(12),
            column: Some(5),
            message: "did not find expected key".into(),
        };
        assert_eq!(
            err.to_string(),
            "bank/openapi.yaml:12:5: did not find expected key"
        );
    }

    #[test]
    fn display_names_file_and_pointer() {
        let err = SpecError::Invalid {
            path: "bank/openapi.yaml".into(),
            pointer: "/paths/~1a/get".into(),
            message: "an operation must be an object".into(),
        };
        assert_eq!(
            err.to_string(),
            "bank/openapi.yaml: at /paths/~1a/get: an operation must be an object"
        );
        let err = SpecError::DanglingRef {
            path: "a.yaml".into(),
            pointer: None,
            reference: "#/x".into(),
        };
        assert_eq!(
            err.to_string(),
            "a.yaml: $ref `#/x` points to nothing in this document"
        );
    }
}
