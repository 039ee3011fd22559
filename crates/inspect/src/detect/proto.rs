//! Prototype pollution: `__proto__`, `constructor` + `prototype` as keys or paths.

use crate::{Sensitivity, Views};

/// Whether a JSON key pollutes a prototype.
pub(super) fn key(key: &str) -> bool {
    let _ = key;
    false
}

/// Whether a value (e.g. a query name or a dotted path) carries a polluting path.
pub(super) fn detect(v: &Views<'_>, level: Sensitivity) -> bool {
    let _ = (v, level);
    false
}
