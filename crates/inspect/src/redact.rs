//! Sensitive data in responses: payment card numbers (with the Luhn check),
//! IBANs (with the mod-97 check), US social security numbers, e-mail
//! addresses, bearer tokens and API keys, and patterns from config.
//!
//! Every finder is linear: hand-written scanners for cards and IBANs,
//! `regex` automata for the rest. A string with no digit, no `@` and none of
//! the secret formats' marker substrings costs one pass of a small
//! Aho-Corasick automaton (plus the custom patterns, if any).

mod card;
mod iban;
mod text;

/// A built-in kind of sensitive data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A payment card number (13–19 digits, spaces or dashes allowed, Luhn-valid).
    Card,
    /// An IBAN (country code, check digits, mod-97 valid).
    Iban,
    /// A US social security number (`AAA-GG-SSSS`, invalid ranges excluded).
    Ssn,
    /// An e-mail address.
    Email,
    /// A bearer token, JWT or well-known API key format (AWS, GitHub, Slack, Stripe, private keys …).
    Secret,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 5] = [Kind::Card, Kind::Iban, Kind::Ssn, Kind::Email, Kind::Secret];

    /// The stable name used in config, audit records and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Card => "card",
            Kind::Iban => "iban",
            Kind::Ssn => "ssn",
            Kind::Email => "email",
            Kind::Secret => "secret",
        }
    }

    /// The kind named `name`.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Appends the byte spans of this kind's matches in `s`.
    fn find(self, s: &str, out: &mut Vec<(usize, usize)>) {
        let has_digit = || s.bytes().any(|b| b.is_ascii_digit());
        match self {
            Kind::Card if has_digit() => card::find(s, out),
            Kind::Iban if has_digit() => iban::find(s, out),
            Kind::Ssn if s.contains('-') && has_digit() => text::ssn(s, out),
            Kind::Email => text::email(s, out),
            Kind::Secret => text::secret(s, out),
            _ => {}
        }
    }
}

/// Finds sensitive data in strings and masks it.
#[derive(Debug, Clone)]
pub struct Redactor {
    kinds: Vec<Kind>,
    patterns: Vec<(String, regex::Regex)>,
}

/// A pattern from config that is not a valid (linear-time) regular expression.
#[derive(Debug)]
pub struct BadPattern {
    /// The pattern's name.
    pub name: String,
    /// Why the `regex` crate refused it.
    pub reason: String,
}

/// One match: its byte span and who found it.
struct Hit<'a> {
    start: usize,
    end: usize,
    name: &'a str,
    card: bool,
}

impl Redactor {
    /// A redactor for these built-in kinds and named custom patterns.
    pub fn new(kinds: &[Kind], patterns: &[(String, String)]) -> Result<Redactor, BadPattern> {
        let patterns = patterns
            .iter()
            .map(|(name, p)| {
                regex::Regex::new(p)
                    .map(|r| (name.clone(), r))
                    .map_err(|e| BadPattern {
                        name: name.clone(),
                        reason: e.to_string(),
                    })
            })
            .collect::<Result<_, _>>()?;
        text::warm();
        Ok(Redactor {
            kinds: kinds.to_vec(),
            patterns,
        })
    }

    /// Masks every match in `s` (each matched character but the last four of
    /// a card number becomes `*`; other kinds are replaced by `[redacted]`).
    /// `None` when nothing matched; else the new string and the names of what
    /// matched (kinds' names, custom patterns' names), without duplicates.
    ///
    /// Where matches overlap, the one that starts first wins (the longer one
    /// at the same start).
    pub fn mask(&self, s: &str) -> Option<(String, Vec<&str>)> {
        let mut hits: Vec<Hit<'_>> = Vec::new();
        let mut spans = Vec::new();
        for &kind in &self.kinds {
            spans.clear();
            kind.find(s, &mut spans);
            hits.extend(spans.iter().map(|&(start, end)| Hit {
                start,
                end,
                name: kind.as_str(),
                card: kind == Kind::Card,
            }));
        }
        for (name, re) in &self.patterns {
            hits.extend(re.find_iter(s).filter(|m| !m.is_empty()).map(|m| Hit {
                start: m.start(),
                end: m.end(),
                name: name.as_str(),
                card: false,
            }));
        }
        if hits.is_empty() {
            return None;
        }
        hits.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
        let mut out = String::with_capacity(s.len());
        let mut names: Vec<&str> = Vec::new();
        let mut last = 0;
        for h in hits {
            if h.start < last {
                continue;
            }
            out.push_str(&s[last..h.start]);
            if h.card {
                mask_card(&s[h.start..h.end], &mut out);
            } else {
                out.push_str("[redacted]");
            }
            if !names.contains(&h.name) {
                names.push(h.name);
            }
            last = h.end;
        }
        out.push_str(&s[last..]);
        Some((out, names))
    }
}

/// A card number with every character but the last four digits as `*`.
fn mask_card(m: &str, out: &mut String) {
    let keep_from = m
        .char_indices()
        .rev()
        .filter(|(_, c)| c.is_ascii_digit())
        .nth(3)
        .map_or(0, |(i, _)| i);
    for (i, c) in m.char_indices() {
        out.push(if i < keep_from { '*' } else { c });
    }
}

#[cfg(test)]
mod tests;
