//! body

/// The compiled rules of one request body media type.
#[derive(Debug)]
pub(crate) struct BodyRule {}
