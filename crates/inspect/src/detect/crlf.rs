//! The crlf detector.

use crate::{Sensitivity, Views};

/// Builds the detector's automata.
/// Whether `v` carries a crlf attack.
pub(super) fn detect(v: &Views<'_>, level: Sensitivity) -> bool {
    let _ = (v, level);
    false
}
