//! Response rules from the spec: declared content types per status, and the
//! properties that must not leave (`writeOnly`, and optionally undocumented ones).

/// The response rules of one operation.
#[derive(Debug, Clone, Default)]
pub struct ResponseRules {}

/// What [`ResponseRules::check_content_type`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    /// Declared for this status (or the status has no content declared at all
    /// and the response has no body type).
    Declared,
    /// The spec declares other media types for this status.
    Contradicts,
    /// The spec says nothing about this status (no `default` either).
    Undocumented,
}

impl ResponseRules {
    /// Whether a response of `status` with this `Content-Type` agrees with the spec.
    pub fn check_content_type(&self, status: u16, content_type: Option<&str>) -> ContentType {
        let _ = (status, content_type);
        ContentType::Declared
    }

    /// Whether responses of `status` / `content_type` have a JSON schema
    /// (so [`ResponseRules::strip`] can do something).
    pub fn has_schema(&self, status: u16, content_type: Option<&str>) -> bool {
        let _ = (status, content_type);
        false
    }

    /// Removes from a JSON response the `writeOnly` properties and, when
    /// `undocumented`, the properties its schema does not declare (objects
    /// with `additionalProperties` allowed keep theirs). The JSON pointers of
    /// what was removed (property names, never values).
    pub fn strip(
        &self,
        status: u16,
        content_type: Option<&str>,
        value: &mut serde_json::Value,
        undocumented: bool,
    ) -> Vec<String> {
        let _ = (status, content_type, value, undocumented);
        Vec::new()
    }
}
