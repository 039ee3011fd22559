//! OpenAPI parameter serialization styles, read back: `simple`, `label`,
//! `matrix` (path), `form`, `spaceDelimited`, `pipeDelimited`, `deepObject`
//! (query), `simple` (header), `form` (cookie), each with `explode`.
//!
//! Delimiters are found in the raw (still percent-encoded) text and each
//! piece is decoded afterwards, as RFC 6570 expansion produces them: a
//! comma inside an array item arrives as `%2C` and stays in the item.

use std::borrow::Cow;

/// A parameter's serialization style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Simple,
    Label,
    Matrix,
    Form,
    SpaceDelimited,
    PipeDelimited,
    DeepObject,
}

impl Style {
    /// The style named in the spec (`None` for an unknown name).
    pub(crate) fn parse(name: &str) -> Option<Style> {
        Some(match name {
            "simple" => Style::Simple,
            "label" => Style::Label,
            "matrix" => Style::Matrix,
            "form" => Style::Form,
            "spaceDelimited" => Style::SpaceDelimited,
            "pipeDelimited" => Style::PipeDelimited,
            "deepObject" => Style::DeepObject,
            _ => return None,
        })
    }
}

/// What a parameter's schema makes of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    Primitive,
    Array,
    Object,
}

/// A parameter value after deserialization, before type coercion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decoded {
    Primitive(String),
    Array(Vec<String>),
    Object(Vec<(String, String)>),
}

/// Why a value could not be deserialized (a violation reason).
pub(crate) type Malformed = &'static str;

const NOT_UTF8: Malformed = "is not valid UTF-8 text once percent-decoded";
const ODD_PAIRS: Malformed = "must list names and values in pairs";

/// Percent-decodes `raw` (and `+` as a space when `plus`).
pub(crate) fn decode(raw: &str, plus: bool) -> Result<String, Malformed> {
    if !(raw.contains('%') || plus && raw.contains('+')) {
        return Ok(raw.to_owned());
    }
    let replaced: Cow<'_, str> = if plus {
        Cow::Owned(raw.replace('+', " "))
    } else {
        Cow::Borrowed(raw)
    };
    percent_encoding::percent_decode_str(&replaced)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| NOT_UTF8)
}

/// Splits `raw` on any of `delimiters` and decodes each piece.
fn split(raw: &str, delimiters: &[&str], plus: bool) -> Result<Vec<String>, Malformed> {
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    let mut pieces = Vec::new();
    let mut rest = raw;
    loop {
        let next = delimiters
            .iter()
            .filter_map(|d| rest.find(d).map(|i| (i, d.len())))
            .min();
        match next {
            Some((i, len)) => {
                pieces.push(decode(&rest[..i], plus)?);
                rest = &rest[i + len..];
            }
            None => {
                pieces.push(decode(rest, plus)?);
                return Ok(pieces);
            }
        }
    }
}

/// `k,v,k,v` pieces as pairs.
fn pairs(pieces: Vec<String>) -> Result<Vec<(String, String)>, Malformed> {
    if !pieces.len().is_multiple_of(2) {
        return Err(ODD_PAIRS);
    }
    let mut out = Vec::with_capacity(pieces.len() / 2);
    let mut it = pieces.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    Ok(out)
}

/// `k=v` pieces as pairs (a piece without `=` has an empty value).
fn assignments(raw: &[&str], plus: bool) -> Result<Vec<(String, String)>, Malformed> {
    raw.iter()
        .map(|piece| {
            let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
            Ok((decode(k, plus)?, decode(v, plus)?))
        })
        .collect()
}

/// `raw` (the text between delimiters, percent-encoded when `encoded`)
/// read as `layout`, items separated by `sep` (exploded objects: `k=v` items).
fn items(
    raw: &str,
    layout: Layout,
    explode: bool,
    sep: &str,
    encoded: bool,
) -> Result<Decoded, Malformed> {
    let dec = |s: &str| {
        if encoded {
            decode(s, false)
        } else {
            Ok(s.to_owned())
        }
    };
    Ok(match layout {
        Layout::Primitive => Decoded::Primitive(dec(raw)?),
        Layout::Array => Decoded::Array(if encoded {
            split(raw, &[sep], false)?
        } else if raw.is_empty() {
            Vec::new()
        } else {
            raw.split(sep).map(str::to_owned).collect()
        }),
        Layout::Object if explode => {
            let pieces: Vec<&str> = if raw.is_empty() {
                Vec::new()
            } else {
                raw.split(sep).collect()
            };
            if encoded {
                Decoded::Object(assignments(&pieces, false)?)
            } else {
                Decoded::Object(
                    pieces
                        .iter()
                        .map(|p| {
                            let (k, v) = p.split_once('=').unwrap_or((p, ""));
                            (k.to_owned(), v.to_owned())
                        })
                        .collect(),
                )
            }
        }
        Layout::Object => {
            let pieces = if encoded {
                split(raw, &[sep], false)?
            } else if raw.is_empty() {
                Vec::new()
            } else {
                raw.split(sep).map(str::to_owned).collect()
            };
            Decoded::Object(pairs(pieces)?)
        }
    })
}

/// A path parameter's raw value read in its style (`simple`, `label`, `matrix`).
pub(crate) fn path(
    style: Style,
    explode: bool,
    layout: Layout,
    name: &str,
    raw: &str,
) -> Result<Decoded, Malformed> {
    match style {
        Style::Label => {
            let rest = raw
                .strip_prefix('.')
                .ok_or("must start with `.` (label style)")?;
            let sep = if explode { "." } else { "," };
            items(rest, layout, explode, sep, true)
        }
        Style::Matrix => {
            let rest = raw
                .strip_prefix(';')
                .ok_or("must start with `;` (matrix style)")?;
            let prefix = format!("{name}=");
            match layout {
                Layout::Object if explode => items(rest, layout, true, ";", true),
                Layout::Array if explode => {
                    let mut out = Vec::new();
                    for piece in rest.split(';') {
                        let value = piece.strip_prefix(&prefix).ok_or(MATRIX)?;
                        out.push(decode(value, false)?);
                    }
                    Ok(Decoded::Array(out))
                }
                _ => {
                    let value = match rest.strip_prefix(&prefix) {
                        Some(value) => value,
                        None if rest == name => "",
                        None => return Err(MATRIX),
                    };
                    items(value, layout, false, ",", true)
                }
            }
        }
        _ => items(raw, layout, explode, ",", true),
    }
}

const MATRIX: Malformed = "must be `;name=value` (matrix style)";

/// A header parameter's value (`simple` style; headers are not percent-encoded).
pub(crate) fn header(explode: bool, layout: Layout, raw: &str) -> Result<Decoded, Malformed> {
    let trimmed = raw.trim();
    match layout {
        Layout::Primitive => Ok(Decoded::Primitive(trimmed.to_owned())),
        Layout::Array => Ok(Decoded::Array(if trimmed.is_empty() {
            Vec::new()
        } else {
            trimmed.split(',').map(|s| s.trim().to_owned()).collect()
        })),
        Layout::Object => items(trimmed, layout, explode, ",", false),
    }
}

/// The pairs of a query string (or a form body), raw, with which ones a
/// parameter has claimed.
#[derive(Debug)]
pub(crate) struct Pairs<'a> {
    /// (decoded name, raw value).
    pub(crate) pairs: Vec<(String, &'a str)>,
    pub(crate) claimed: Vec<bool>,
}

impl<'a> Pairs<'a> {
    /// Splits `raw` on `&` and the first `=` (names decoded, `+` = space);
    /// at most `max` pairs (`Err` beyond).
    pub(crate) fn parse(raw: &'a str, max: usize) -> Result<Pairs<'a>, Malformed> {
        let mut pairs = Vec::new();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            if pairs.len() >= max {
                return Err("has too many parameters");
            }
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            pairs.push((decode(name, true)?, value));
        }
        let claimed = vec![false; pairs.len()];
        Ok(Pairs { pairs, claimed })
    }

    /// The raw values of `name`, claiming them.
    fn take(&mut self, name: &str) -> Vec<&'a str> {
        let mut out = Vec::new();
        for (i, (n, v)) in self.pairs.iter().enumerate() {
            if n == name {
                self.claimed[i] = true;
                out.push(*v);
            }
        }
        out
    }

    /// One query parameter, read in its style; `None` when absent.
    /// `properties`: an exploded `form` object's declared property names
    /// (each is a query parameter of its own).
    pub(crate) fn query(
        &mut self,
        style: Style,
        explode: bool,
        layout: Layout,
        name: &str,
        properties: &[String],
    ) -> Result<Option<Decoded>, Malformed> {
        if style == Style::DeepObject || (layout == Layout::Object && explode) {
            let mut out = Vec::new();
            for (i, (n, v)) in self.pairs.iter().enumerate() {
                let key = if style == Style::DeepObject {
                    match n
                        .strip_prefix(name)
                        .and_then(|r| r.strip_prefix('['))
                        .and_then(|r| r.strip_suffix(']'))
                    {
                        Some(key) => key,
                        None => continue,
                    }
                } else if properties.iter().any(|p| p == n) {
                    n.as_str()
                } else {
                    continue;
                };
                if out.iter().any(|(k, _): &(String, String)| k == key) {
                    return Err(REPEATED);
                }
                self.claimed[i] = true;
                out.push((key.to_owned(), decode(v, true)?));
            }
            return Ok((!out.is_empty()).then_some(Decoded::Object(out)));
        }
        let values = self.take(name);
        if values.is_empty() {
            return Ok(None);
        }
        if layout == Layout::Array && explode {
            let items = values
                .iter()
                .map(|v| decode(v, true))
                .collect::<Result<_, _>>()?;
            return Ok(Some(Decoded::Array(items)));
        }
        let [raw] = values.as_slice() else {
            return Err(REPEATED);
        };
        let delimiters: &[&str] = match style {
            Style::SpaceDelimited => &["%20", "+"],
            Style::PipeDelimited => &["|", "%7C", "%7c"],
            _ => &[","],
        };
        Ok(Some(match layout {
            Layout::Primitive => Decoded::Primitive(decode(raw, true)?),
            Layout::Array => Decoded::Array(split(raw, delimiters, true)?),
            Layout::Object => Decoded::Object(pairs(split(raw, delimiters, true)?)?),
        }))
    }

    /// The pairs no parameter claimed: (decoded name, raw value).
    pub(crate) fn unclaimed(&self) -> impl Iterator<Item = &(String, &'a str)> {
        self.pairs
            .iter()
            .zip(&self.claimed)
            .filter(|(_, c)| !**c)
            .map(|(p, _)| p)
    }
}

const REPEATED: Malformed = "is repeated";

/// The cookies of a `Cookie` header value: (name, raw value).
pub(crate) fn cookies(header: &str) -> impl Iterator<Item = (&str, &str)> {
    header.split(';').filter_map(|c| {
        let (name, value) = c.trim().split_once('=')?;
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        Some((name.trim(), value))
    })
}

/// A cookie parameter's raw value (`form` style).
pub(crate) fn cookie(explode: bool, layout: Layout, raw: &str) -> Result<Decoded, Malformed> {
    items(raw, layout, explode, ",", true)
}

#[cfg(test)]
mod tests;
