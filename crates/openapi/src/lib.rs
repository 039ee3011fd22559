//! OpenAPI 3.0/3.1 spec loading: parsing, local `$ref` resolution and the operation index.
//!
//! ```no_run
//! let spec = portcullis_openapi::load(std::path::Path::new("bank/openapi.yaml"))?;
//! for op in &spec.operations {
//!     println!("{} {}", op.method, op.path);
//! }
//! # Ok::<(), portcullis_openapi::SpecError>(())
//! ```
//!
//! Loading checks the whole document up front, so `portcullis check` can
//! report problems before the gateway starts: the version (3.0.x or 3.1.x
//! only; Swagger 2.0 is refused), every `$ref` (local only: URLs are refused
//! because fetching them would be SSRF, and other files are refused until
//! bundling is supported), path templates, path items, operations,
//! `security` and unique `operationId`s. YAML is parsed with budgets, so
//! alias bombs and absurd nesting are refused.

mod error;
mod index;
mod load;
mod operation;
pub mod pointer;
mod refs;
mod scheme;
mod template;
pub mod validate;

use std::path::PathBuf;

pub use error::SpecError;
pub use load::{MAX_SPEC_BYTES, load, parse};
pub use operation::{Method, Operation, SecurityRequirement};
pub use refs::MAX_REF_HOPS;
pub use scheme::{ApiKeyLocation, SecurityScheme};

/// A loaded, checked OpenAPI document.
#[derive(Debug, Clone)]
pub struct Spec {
    /// `info.title`.
    pub title: String,
    /// The `openapi` field, e.g. `"3.1.0"`.
    pub openapi_version: String,
    /// Every (path, method) of `paths`, after following path-item `$ref`s:
    /// paths in the document map's order, methods in [`Method::ALL`] order.
    pub operations: Vec<Operation>,
    /// `components/securitySchemes` by name.
    pub security_schemes: std::collections::BTreeMap<String, SecurityScheme>,
    /// The root document as JSON (YAML converted; YAML keys such as `200:`
    /// become strings). Its `$ref`s are kept; use [`Spec::resolve`].
    pub document: serde_json::Value,
    /// The file it came from.
    pub source: PathBuf,
}

impl Spec {
    /// Follows `value`'s `$ref` chain inside the document and returns the
    /// value it ends at (`value` itself when it is not a reference).
    ///
    /// Only local references (`#/json/pointer`) are followed; a chain that
    /// loops or is longer than [`MAX_REF_HOPS`] is an error. Every `$ref` of
    /// the document was checked at load, so errors only come from values that
    /// are not part of [`Spec::document`].
    pub fn resolve<'a>(
        &'a self,
        value: &'a serde_json::Value,
    ) -> Result<&'a serde_json::Value, SpecError> {
        refs::follow(&self.document, value, None, &self.source).map(|r| r.value)
    }
}
