//! Secrets referenced from config (`env:NAME`, `file:PATH`), never written inline or printed.

use std::fmt;
use std::path::Path;

/// A secret value. `Debug` and `Display` print `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Resolves a reference: `env:NAME` reads an environment variable, `file:PATH` reads a
    /// file (relative to `base`, trailing newline trimmed). Inline values are refused so
    /// that secrets never sit in a config file or its diffs.
    pub fn resolve(reference: &str, base: &Path) -> Result<Secret, String> {
        let value = if let Some(name) = reference.strip_prefix("env:") {
            std::env::var(name)
                .map_err(|_| format!("environment variable `{name}` is not set or not UTF-8"))?
        } else if let Some(file) = reference.strip_prefix("file:") {
            let path = base.join(file);
            std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read secret file `{}`: {e}", path.display()))?
                .trim_end_matches(['\r', '\n'])
                .to_owned()
        } else {
            return Err(
                "secrets are given by reference: write `env:NAME` or `file:PATH`, \
                        never the value itself"
                    .to_owned(),
            );
        };
        if value.is_empty() {
            return Err("the referenced secret is empty".to_owned());
        }
        Ok(Secret(value))
    }

    /// A value written inline that is not secret by itself (a Redis URL without
    /// a password), kept as a `Secret` so that it is handled like one.
    pub(crate) fn plain(value: String) -> Secret {
        Secret(value)
    }

    /// The secret's bytes, for comparison or hashing only.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_secrets_are_refused_and_never_printed() {
        let err = Secret::resolve("hunter2", Path::new(".")).expect_err("inline refused");
        assert!(!err.contains("hunter2"));
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("t"), "s3cret\n").expect("write");
        let s = Secret::resolve("file:t", dir.path()).expect("file secret");
        assert_eq!(s.expose(), b"s3cret");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert!(Secret::resolve("file:missing", dir.path()).is_err());
    }
}
