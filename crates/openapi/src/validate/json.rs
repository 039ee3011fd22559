//! A bounded JSON parser: builds a `serde_json::Value` while enforcing the
//! [`Limits`] (nesting, string length, array items, object properties) and
//! refusing duplicate keys, failing as soon as a limit is crossed, before
//! anything more is allocated for the offending part.
//!
//! It is a [`DeserializeSeed`] driven by `serde_json`'s deserializer, so the
//! tokenizer is serde_json's; only the building of the value is ours. A
//! duplicate key is refused because parsers disagree on which of the two
//! wins (the gateway would check one value and the upstream use the other).

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::Limits;

/// Parses `bytes` as one JSON document within `limits`.
///
/// The error is a reason for a violation at `/body` (or the parameter); it
/// never quotes the input.
pub(crate) fn parse(bytes: &[u8], limits: &Limits) -> Result<Value, String> {
    let refusal = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let seed = Seed {
        limits,
        depth: 0,
        refusal: &refusal,
    };
    let result = seed
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
    result.map_err(|error| match refusal.into_inner() {
        Some(reason) => reason,
        None => describe(&error),
    })
}

/// serde_json's error in words of our own (its messages can name the
/// unexpected token, which is client text).
fn describe(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match error.classify() {
        Category::Eof => "is not valid JSON: it ends too early".into(),
        Category::Syntax | Category::Data | Category::Io => format!(
            "is not valid JSON (line {}, column {})",
            error.line(),
            error.column()
        ),
    }
}

/// Builds a value at nesting `depth`; the first refusal is recorded in
/// `refusal` (the serde error carrying it loses its text on the way up).
#[derive(Clone, Copy)]
struct Seed<'a> {
    limits: &'a Limits,
    depth: usize,
    refusal: &'a RefCell<Option<String>>,
}

impl Seed<'_> {
    fn refuse<E: de::Error>(&self, reason: String) -> E {
        let mut slot = self.refusal.borrow_mut();
        if slot.is_none() {
            *slot = Some(reason);
        }
        E::custom("refused")
    }

    fn deeper<E: de::Error>(&self) -> Result<Self, E> {
        if self.depth >= self.limits.max_depth {
            return Err(self.refuse(format!("nests deeper than {}", self.limits.max_depth)));
        }
        Ok(Seed {
            depth: self.depth + 1,
            ..*self
        })
    }

    fn string<E: de::Error>(&self, text: &str) -> Result<String, E> {
        if text.len() > self.limits.max_string_bytes {
            return Err(self.refuse(format!(
                "has a string longer than {} bytes",
                self.limits.max_string_bytes
            )));
        }
        Ok(text.to_owned())
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.string(v).map(Value::String)
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.string(&v)?;
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.deeper()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(inner)? {
            if items.len() >= self.limits.max_array_items {
                return Err(self.refuse(format!(
                    "has an array of more than {} items",
                    self.limits.max_array_items
                )));
            }
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let inner = self.deeper()?;
        let mut map = Map::new();
        while let Some(key) = access.next_key_seed(KeySeed(self))? {
            if map.len() >= self.limits.max_properties {
                return Err(self.refuse(format!(
                    "has an object of more than {} properties",
                    self.limits.max_properties
                )));
            }
            if map.contains_key(&key) {
                return Err(self.refuse("has an object with a duplicate key".into()));
            }
            let value = access.next_value_seed(inner)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

/// An object key, held to the string limit.
struct KeySeed<'a>(Seed<'a>);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = String;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        self.0.string(v)
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        self.0.string(&v)?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_depth: 3,
            max_string_bytes: 8,
            max_array_items: 4,
            max_properties: 3,
            max_parts: 2,
        }
    }

    #[test]
    fn parses_within_limits() {
        let v = parse(
            br#"{"a": [1, -2, 3.5, null], "b": {"c": "\u00e9t\u00e9"}}"#,
            &limits(),
        );
        assert_eq!(
            v,
            Ok(serde_json::json!({"a": [1, -2, 3.5, null], "b": {"c": "été"}}))
        );
    }

    #[test]
    fn refuses_what_crosses_a_limit() {
        let l = limits();
        assert_eq!(parse(b"[[[[1]]]]", &l), Err("nests deeper than 3".into()));
        assert_eq!(parse(b"[[[1]]]", &l).map(|_| ()), Ok(()));
        assert_eq!(
            parse(br#"["123456789"]"#, &l),
            Err("has a string longer than 8 bytes".into())
        );
        assert_eq!(
            parse(br#"{"123456789": 1}"#, &l),
            Err("has a string longer than 8 bytes".into())
        );
        assert_eq!(
            parse(b"[1,2,3,4,5]", &l),
            Err("has an array of more than 4 items".into())
        );
        assert_eq!(
            parse(br#"{"a":1,"b":2,"c":3,"d":4}"#, &l),
            Err("has an object of more than 3 properties".into())
        );
        assert_eq!(
            parse(br#"{"a":1,"a":2}"#, &l),
            Err("has an object with a duplicate key".into())
        );
    }

    #[test]
    fn a_huge_array_fails_at_the_first_item_too_many() {
        // A million items: refused after max_array_items, not after building them.
        let mut body = b"[".to_vec();
        body.extend(std::iter::repeat_n(b"1,".as_slice(), 1_000_000).flatten());
        body.extend(b"1]");
        assert_eq!(
            parse(&body, &limits()),
            Err("has an array of more than 4 items".into())
        );
    }

    #[test]
    fn syntax_errors_do_not_quote_the_input() {
        for bad in [
            &b"{\"a\": tru"[..],
            b"[1,]",
            b"{\"a\" 1}",
            b"1 SECRET",
            b"\"\\q\"",
        ] {
            let reason = parse(bad, &limits()).err().unwrap_or_default();
            assert!(reason.starts_with("is not valid JSON"), "{reason}");
            assert!(
                !reason.contains("SECRET") && !reason.contains("tru"),
                "{reason}"
            );
        }
    }
}
