//! CORS per API: an explicit origin allow-list (never a reflected wildcard
//! with credentials), preflights answered by the gateway.

use std::sync::Arc;

use serde::Deserialize;

use crate::config::Checker;

/// `apis[].cors` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCors {}

/// An API's compiled CORS rules.
#[derive(Debug)]
pub struct Cors {}

/// Compiles an API's CORS rules.
pub(crate) fn build(
    c: &mut Checker<'_>,
    field: &str,
    raw: Option<&RawCors>,
    spec: Option<&portcullis_openapi::Spec>,
) -> Option<Arc<Cors>> {
    let _ = (c, field, raw, spec);
    None
}
