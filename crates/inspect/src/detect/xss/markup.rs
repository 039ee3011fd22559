//! The HTML tag scanner: finds tag openings the way a browser's tokenizer
//! does (`<` directly followed by a letter), reads their attributes, and
//! judges the element and each attribute.

use super::is_blank;
use crate::Sensitivity;

/// Elements that load or run content by themselves, whatever their
/// attributes (at `Medium` and above).
const DANGEROUS: &[&str] = &[
    "script",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "meta",
    "base",
    "link",
    "style",
    "svg",
    "math",
    "xml",
    "isindex",
    "bgsound",
    "layer",
    "ilayer",
    "portal",
    "xmp",
    "plaintext",
];

/// The subset that stays dangerous at `Low` (where rich-text HTML is expected).
const DANGEROUS_LOW: &[&str] = &[
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "base",
];

/// Words that start with `on` but are not event handlers (an `only=` or
/// `once=` attribute in something that looks like a tag is not a handler).
const NOT_EVENTS: &[&str] = &[
    "e", "es", "ly", "ce", "to", "line", "set", "ward", "wards", "going", "ion", "ions", "board",
    "site", "screen", "erous", "us", "tology", "tario", "going", "boarding", "stage",
];

/// Event-handler names (without `on`) and prefixes of families of them:
/// known to fire, so they count even at `Low` and outside a tag.
const EVENT_PREFIXES: &[&str] = &[
    "mouse",
    "key",
    "touch",
    "pointer",
    "drag",
    "drop",
    "animation",
    "transition",
    "before",
    "after",
    "load",
    "focus",
    "blur",
    "click",
    "dblclick",
    "error",
    "scroll",
    "wheel",
    "page",
    "pop",
    "hash",
    "message",
    "storage",
    "resize",
    "submit",
    "reset",
    "select",
    "change",
    "input",
    "invalid",
    "toggle",
    "contextmenu",
    "copy",
    "cut",
    "paste",
    "play",
    "pause",
    "ended",
    "end",
    "seek",
    "volume",
    "time",
    "rate",
    "duration",
    "canplay",
    "waiting",
    "stalled",
    "suspend",
    "abort",
    "progress",
    "emptied",
    "search",
    "show",
    "close",
    "cancel",
    "start",
    "finish",
    "bounce",
    "begin",
    "repeat",
    "propertychange",
    "readystatechange",
    "orientationchange",
    "help",
    "filterchange",
    "losecapture",
    "activate",
    "deactivate",
    "unload",
    "fullscreen",
    "cuechange",
    "formdata",
    "auxclick",
    "gotpointercapture",
    "lostpointercapture",
    "securitypolicyviolation",
    "slotchange",
    "visibilitychange",
    "row",
    "cell",
    "data",
    "move",
    "control",
    "layoutcomplete",
    "fscommand",
    "print",
    "online",
    "offline",
    "beforeunload",
    "unhandledrejection",
    "hover",
];

/// Whether `name` (lowercase, after `on`) is an event handler name.
pub(super) fn is_event(name: &[u8]) -> bool {
    EVENT_PREFIXES
        .iter()
        .any(|p| name.starts_with(p.as_bytes()))
}

/// Whether `name` (lowercase, after `on`) could be a handler: any name of
/// three letters or more that is not a common English `on…` word (browsers
/// accept made-up handler names on custom elements, and probes use `onxxx`).
fn maybe_event(name: &[u8]) -> bool {
    name.len() >= 3 && !NOT_EVENTS.iter().any(|w| name == w.as_bytes())
}

/// Whether `s` holds a dangerous tag, a tag with an event handler or a
/// dangerous attribute, or (at `Medium`+) a `</script>` break.
pub(super) fn tags(s: &str, level: Sensitivity) -> bool {
    if scan(s.as_bytes(), level) {
        return true;
    }
    // `<![CDATA[<]]>script<![CDATA[>]]>`: an XML consumer joins the pieces.
    if level >= Sensitivity::Medium && contains_ci(s.as_bytes(), b"<![cdata[") {
        let joined = s
            .replace("<![CDATA[", "")
            .replace("<![cdata[", "")
            .replace("]]>", "");
        return scan(joined.as_bytes(), level);
    }
    false
}

/// One linear scan over every tag opening. Tags are read one after another;
/// when a quoted attribute value holds a `<`, scanning resumes there (an
/// attacker may hide a tag in a value), within a work budget that keeps
/// the whole scan linear.
fn scan(b: &[u8], level: Sensitivity) -> bool {
    let mut budget = 4 * b.len() + 4096;
    let mut i = 0;
    while let Some(off) = b[i..].iter().position(|&c| c == b'<') {
        let p = i + off;
        let (hit, resume) = tag(b, p, level);
        if hit {
            return true;
        }
        let work = resume.end - p;
        budget = budget.saturating_sub(work);
        i = match resume.inner_lt {
            Some(q) if budget > 0 => q,
            _ => resume.end,
        }
        .max(p + 1);
        if i >= b.len() {
            break;
        }
    }
    false
}

/// Where to go on after a tag.
struct Resume {
    /// The byte after the tag.
    end: usize,
    /// The first `<` inside a quoted attribute value, if any.
    inner_lt: Option<usize>,
}

/// Reads the tag opening at `b[p] == '<'`: whether it is dangerous, and
/// where to resume.
fn tag(b: &[u8], p: usize, level: Sensitivity) -> (bool, Resume) {
    let not_a_tag = Resume {
        end: p + 1,
        inner_lt: None,
    };
    let mut j = p + 1;
    let closing = b.get(j) == Some(&b'/');
    if closing {
        j += 1;
    }
    // `<?import …>` (IE HTML components) loads script; other processing
    // instructions (`<?xml …?>`) are not tags.
    if !closing && b.get(j) == Some(&b'?') {
        let hit = level >= Sensitivity::Medium
            && b.len() >= j + 7
            && b[j + 1..j + 7].eq_ignore_ascii_case(b"import");
        return (hit, not_a_tag);
    }
    if !b.get(j).is_some_and(u8::is_ascii_alphabetic) {
        return (false, not_a_tag);
    }
    let name_start = j;
    while j < b.len() && !is_blank(b[j]) && b[j] != b'/' && b[j] != b'>' {
        j += 1;
    }
    let name = &b[name_start..j];
    if closing {
        let hit = level >= Sensitivity::Medium && eq_ci(name, b"script");
        return (
            hit,
            Resume {
                end: j,
                inner_lt: None,
            },
        );
    }
    let list = if level >= Sensitivity::Medium {
        DANGEROUS
    } else {
        DANGEROUS_LOW
    };
    if list.iter().any(|d| eq_ci(name, d.as_bytes())) {
        return (true, not_a_tag);
    }
    attributes(b, j, level)
}

/// Reads attributes from `j` to the end of the tag (`>` or the end of the
/// value), judging each.
fn attributes(b: &[u8], mut j: usize, level: Sensitivity) -> (bool, Resume) {
    let mut inner_lt = None;
    loop {
        while j < b.len() && (is_blank(b[j]) || b[j] == b'/') {
            j += 1;
        }
        if j >= b.len() || b[j] == b'>' {
            return (
                false,
                Resume {
                    end: (j + 1).min(b.len()),
                    inner_lt,
                },
            );
        }
        let name_start = j;
        j += 1;
        while j < b.len() && !is_blank(b[j]) && !matches!(b[j], b'/' | b'>' | b'=') {
            j += 1;
        }
        let name = &b[name_start..j];
        let mut k = j;
        while k < b.len() && is_blank(b[k]) {
            k += 1;
        }
        let mut value: Option<&[u8]> = None;
        if b.get(k) == Some(&b'=') {
            k += 1;
            while k < b.len() && is_blank(b[k]) {
                k += 1;
            }
            let (v, next) = attribute_value(b, k);
            if inner_lt.is_none() {
                inner_lt = v.iter().position(|&c| c == b'<').map(|q| k + q);
            }
            value = Some(v);
            j = next;
        }
        if attribute(name, value, level) {
            return (true, Resume { end: j, inner_lt });
        }
    }
}

/// An attribute value starting at `k`: quoted (`"`, `'`, or a backtick as old
/// IE accepts) up to its closing quote, or up to the next `>` when the quote
/// is never closed; unquoted up to whitespace or `>`. The value and the index
/// after it.
fn attribute_value(b: &[u8], k: usize) -> (&[u8], usize) {
    match b.get(k) {
        Some(&q @ (b'"' | b'\'' | b'`')) => {
            let rest = &b[k + 1..];
            if let Some(e) = rest.iter().position(|&c| c == q) {
                (&rest[..e], k + 1 + e + 1)
            } else {
                let e = rest.iter().position(|&c| c == b'>').unwrap_or(rest.len());
                (&rest[..e], k + 1 + e)
            }
        }
        _ => {
            let e = b[k..]
                .iter()
                .position(|&c| is_blank(c) || c == b'>')
                .unwrap_or(b.len() - k);
            (&b[k..k + e], k + e)
        }
    }
}

/// Whether one attribute makes the tag dangerous: an event handler, or an
/// IE data-binding / `srcdoc` attribute that renders markup.
fn attribute(name: &[u8], value: Option<&[u8]>, level: Sensitivity) -> bool {
    // Quote debris before a name (`'onerror=`, `"onload=`) is skipped.
    let start = name
        .iter()
        .position(u8::is_ascii_alphabetic)
        .unwrap_or(name.len());
    let name = &name[start..];
    let letters = name.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    if letters > 2 && name[..2].eq_ignore_ascii_case(b"on") {
        let ev = name[2..letters].to_ascii_lowercase();
        if is_event(&ev) {
            return true;
        }
        if value.is_some() && level >= Sensitivity::Medium && maybe_event(&ev) {
            return true;
        }
    }
    if level >= Sensitivity::Medium {
        if eq_ci(name, b"srcdoc") {
            return true;
        }
        if eq_ci(name, b"dataformatas") && value.is_some_and(|v| eq_ci(v, b"html")) {
            return true;
        }
    }
    false
}

fn eq_ci(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Whether `hay` contains `needle` (lowercase ASCII), ignoring ASCII case.
pub(super) fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}
