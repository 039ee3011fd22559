//! The config checker: collects every error and warning of one load, with file,
//! position and field, and remembers the files the config depends on.

use std::path::{Path, PathBuf};

use serde_saphyr::Spanned;

use super::{ConfigError, Secret, Stamp, stamp};

/// Collects errors (and warnings) while walking the raw config; the stages'
/// config checkers (`authn::*::check`) receive it too.
pub(crate) struct Checker<'a> {
    pub(crate) file: &'a Path,
    /// The config file's directory: relative paths resolve from here.
    pub(crate) base: PathBuf,
    pub(super) errors: Vec<ConfigError>,
    /// Things that are allowed but probably wrong (`portcullis check` prints them).
    pub(crate) warnings: Vec<ConfigError>,
    pub(super) files: Vec<PathBuf>,
    pub(super) stamps: Vec<Stamp>,
}

impl Checker<'_> {
    /// Records an error at a value's position.
    pub(crate) fn error<T>(
        &mut self,
        at: Option<&Spanned<T>>,
        field: impl Into<String>,
        msg: impl Into<String>,
    ) {
        let loc = at.map(|s| s.referenced);
        self.errors
            .push(ConfigError::at(self.file, loc, field, msg));
    }

    /// Records a warning at a value's position.
    pub(crate) fn warn<T>(
        &mut self,
        at: Option<&Spanned<T>>,
        field: impl Into<String>,
        msg: impl Into<String>,
    ) {
        let loc = at.map(|s| s.referenced);
        self.warnings
            .push(ConfigError::at(self.file, loc, field, msg));
    }

    /// Resolves a secret reference (`env:`/`file:`), recording an error on failure.
    pub(crate) fn secret(
        &mut self,
        at: &Spanned<String>,
        field: impl Into<String>,
    ) -> Option<Secret> {
        match Secret::resolve(&at.value, &self.base) {
            Ok(s) => {
                if let Some(file) = at.value.strip_prefix("file:") {
                    let p = self.base.join(file);
                    self.stamps.push(stamp(&p));
                    self.files.push(p);
                }
                Some(s)
            }
            Err(e) => {
                self.error(Some(at), field, e);
                None
            }
        }
    }

    /// A path from config, relative to the config file's directory; remembered for watching.
    pub(crate) fn path(&mut self, rel: &str) -> PathBuf {
        let p = self.base.join(rel);
        self.stamps.push(stamp(&p));
        self.files.push(p.clone());
        p
    }
}
