//! NoSQL (MongoDB) operator injection: operator keys in JSON, and operator
//! syntax smuggled into strings and query names (`user[$ne]=x`).

use crate::{Sensitivity, Views};

/// Whether a JSON key is a MongoDB query operator (`$where`, `$ne`, `$gt` …).
pub(super) fn operator_key(key: &str) -> bool {
    let _ = key;
    false
}

/// Whether `v` carries operator injection.
pub(super) fn detect(v: &Views<'_>, level: Sensitivity) -> bool {
    let _ = (v, level);
    false
}
