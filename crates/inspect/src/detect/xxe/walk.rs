//! A linear, hand-written XML scan: refuses declarations, and hands every
//! text node and attribute value to the inspector with its element path.
//!
//! It is deliberately not a validating parser: it never expands entities
//! (the normalizer decodes `&lt;` and numeric references in each value), it
//! tolerates malformed markup (an attacker's body need not be well formed
//! to reach a lenient upstream parser), and its memory is bounded: the path
//! keeps at most [`MAX_DEPTH`] names of at most [`MAX_NAME`] bytes.

use crate::{Detector, Inspector, Place};

/// Element names kept in the path; deeper elements are still scanned.
const MAX_DEPTH: usize = 64;

/// Bytes of an element or attribute name kept in the path.
const MAX_NAME: usize = 64;

/// The scan's state.
pub(super) struct Walker<'i> {
    inspector: &'i Inspector,
    /// The element path, `/a/b/c`.
    path: String,
    /// `path`'s length before each named element was pushed.
    marks: Vec<usize>,
    /// Elements open below the named ones.
    unnamed: usize,
    /// Text (and CDATA) of the current element since the last tag.
    text: String,
    /// Whether declarations are refused (the XXE detector is on).
    refuse_declarations: bool,
}

impl<'i> Walker<'i> {
    pub(super) fn new(inspector: &'i Inspector) -> Walker<'i> {
        Walker {
            inspector,
            path: String::new(),
            marks: Vec::new(),
            unnamed: 0,
            text: String::new(),
            refuse_declarations: inspector.settings().detectors.contains(Detector::Xxe),
        }
    }

    /// Scans `s`; the first finding and where it is.
    pub(super) fn run(mut self, s: &str) -> Option<Finding> {
        self.scan(s).err()
    }

    fn scan(&mut self, s: &str) -> Result<(), Finding> {
        let mut i = 0;
        while i < s.len() {
            let Some(off) = s[i..].find('<') else {
                self.text.push_str(&s[i..]);
                break;
            };
            let p = i + off;
            self.text.push_str(&s[i..p]);
            let rest = &s[p..];
            i = p + if rest.starts_with("<!--") {
                // Comments do not end a text node's content for detection:
                // `java<!-- -->script:` must read as one.
                skip_past(rest, "-->")
            } else if let Some(cdata) = rest.strip_prefix("<![CDATA[") {
                let e = cdata.find("]]>").unwrap_or(cdata.len());
                self.text.push_str(&cdata[..e]);
                skip_past(rest, "]]>")
            } else if rest.starts_with("<!") {
                if self.refuse_declarations {
                    return Err((Detector::Xxe, "/".to_owned()));
                }
                skip_declaration(rest)
            } else if rest.starts_with("<?") {
                skip_past(rest, "?>")
            } else if rest.starts_with("</") {
                self.flush()?;
                self.pop();
                skip_past(rest, ">")
            } else if rest[1..].starts_with(|c: char| c.is_alphabetic() || c == '_' || c == ':') {
                self.flush()?;
                self.start_tag(rest)?
            } else {
                // A lone `<` in text (malformed): keep it as text.
                self.text.push('<');
                1
            };
        }
        self.flush()
    }

    /// Checks the text gathered since the last tag (unless blank) at the
    /// current element's path, and starts gathering anew.
    fn flush(&mut self) -> Result<(), Finding> {
        if !self.text.trim().is_empty()
            && let Some(d) = self.inspector.value(&self.text, Place::Xml)
        {
            return Err((d, self.location()));
        }
        self.text.clear();
        Ok(())
    }

    /// Reads a start tag (`rest` starts with `<` and a name character),
    /// checking each attribute value; the bytes it used.
    fn start_tag(&mut self, rest: &str) -> Result<usize, Finding> {
        let b = rest.as_bytes();
        let mut j = 1;
        while j < b.len() && !is_space(b[j]) && b[j] != b'>' && b[j] != b'/' {
            j += 1;
        }
        self.push(&rest[1..j]);
        loop {
            while j < b.len() && is_space(b[j]) {
                j += 1;
            }
            match b.get(j) {
                None => return Ok(b.len()),
                Some(b'>') => return Ok(j + 1),
                Some(b'/') => {
                    if b.get(j + 1) == Some(&b'>') {
                        self.pop();
                        return Ok(j + 2);
                    }
                    j += 1;
                    continue;
                }
                Some(_) => {}
            }
            let name_start = j;
            while j < b.len() && !is_space(b[j]) && !matches!(b[j], b'=' | b'>' | b'/') {
                j += 1;
            }
            let name = &rest[name_start..j];
            while j < b.len() && is_space(b[j]) {
                j += 1;
            }
            if b.get(j) != Some(&b'=') {
                continue;
            }
            j += 1;
            while j < b.len() && is_space(b[j]) {
                j += 1;
            }
            let (value, next) = match b.get(j) {
                Some(&q @ (b'"' | b'\'')) => {
                    let e = rest[j + 1..].find(q as char).map_or(b.len(), |e| j + 1 + e);
                    (&rest[j + 1..e], (e + 1).min(b.len()))
                }
                _ => {
                    let e = rest[j..]
                        .find(|c: char| c.is_ascii_whitespace() || c == '>')
                        .map_or(b.len(), |e| j + e);
                    (&rest[j..e], e)
                }
            };
            j = next;
            if !value.trim().is_empty()
                && let Some(d) = self.inspector.value(value, Place::Xml)
            {
                let at = format!("{}/@{}", self.path, truncate(name, MAX_NAME));
                return Err((d, at));
            }
        }
    }

    /// The current element's path, `/` at the top.
    fn location(&self) -> String {
        if self.path.is_empty() {
            "/".to_owned()
        } else {
            self.path.clone()
        }
    }

    fn pop(&mut self) {
        if self.unnamed > 0 {
            self.unnamed -= 1;
        } else if let Some(m) = self.marks.pop() {
            self.path.truncate(m);
        }
    }

    fn push(&mut self, name: &str) {
        if self.marks.len() >= MAX_DEPTH {
            self.unnamed += 1;
            return;
        }
        self.marks.push(self.path.len());
        self.path.push('/');
        self.path.push_str(truncate(name, MAX_NAME));
    }
}

/// A detector and where in the document it fired.
type Finding = (Detector, String);

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// Bytes from the start of `rest` to just past `end` (or all of it).
fn skip_past(rest: &str, end: &str) -> usize {
    rest.find(end).map_or(rest.len(), |e| e + end.len())
}

/// Bytes of a declaration (`<!DOCTYPE … [ … ]>`), internal subset included.
fn skip_declaration(rest: &str) -> usize {
    let gt = rest.find('>').unwrap_or(rest.len());
    match rest[..gt].find('[') {
        Some(_) => skip_past(rest, "]>"),
        None => (gt + 1).min(rest.len()),
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
