//! Which strings of a JSON document a schema already pins down.

use std::collections::BTreeMap;

/// The shape of a schema, as far as injection inspection cares: which strings
/// are typed (enum, const, format …) and need no inspection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Shape {
    /// Anything (no schema, or one too loose to say): strings are inspected.
    #[default]
    Free,
    /// A value whose schema pins it down: no inspection needed.
    Typed,
    /// An object: the shapes of its declared properties, and of any other.
    Object {
        /// Declared properties.
        properties: BTreeMap<String, Shape>,
        /// Any other property (`additionalProperties`).
        other: Box<Shape>,
    },
    /// An array of items of one shape.
    Array(Box<Shape>),
}

static FREE: Shape = Shape::Free;

impl Shape {
    /// The shape of property `key` of an object of this shape.
    pub fn property(&self, key: &str) -> &Shape {
        match self {
            Shape::Object { properties, other } => properties.get(key).unwrap_or(other),
            Shape::Typed => self,
            _ => &FREE,
        }
    }

    /// The shape of the items of an array of this shape.
    pub fn item(&self) -> &Shape {
        match self {
            Shape::Array(item) => item,
            Shape::Typed => self,
            _ => &FREE,
        }
    }

    /// Whether a string of this shape needs no inspection.
    pub fn is_typed(&self) -> bool {
        matches!(self, Shape::Typed)
    }
}
