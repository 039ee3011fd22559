//! params

/// One compiled parameter.
#[derive(Debug)]
pub(crate) struct Param {}
