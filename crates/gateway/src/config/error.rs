//! Config errors that name the file, the position and the field.

use std::fmt;
use std::path::PathBuf;

use serde_saphyr::Location;

/// One problem found in a config file or a file it references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file the problem is in.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// 1-based column, when known.
    pub column: Option<u64>,
    /// The config field, as a dotted path (`apis[0].upstream`); empty for syntax errors.
    pub field: String,
    /// What is wrong, for a human.
    pub message: String,
}

impl ConfigError {
    /// A problem at a known position (a `Location` of 0:0 means unknown).
    pub(crate) fn at(
        file: impl Into<PathBuf>,
        at: Option<Location>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = match at {
            Some(l) if l.line() > 0 => (Some(l.line()), Some(l.column())),
            _ => (None, None),
        };
        ConfigError {
            file: file.into(),
            line,
            column,
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        if self.field.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.field, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in one load; a config with any problem is not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        ConfigErrors(vec![e])
    }
}
