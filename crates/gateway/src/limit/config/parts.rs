//! The small grammars of limit config: key parts, `clients`,
//! `on_store_error` and rates (`100/min`).

use std::time::Duration;

use serde_saphyr::Spanned;

use super::{Clients, KeyList, KeyPart, OnStoreError};
use crate::config::Checker;

pub(super) fn clients(
    c: &mut Checker<'_>,
    at: &str,
    raw: Option<&Spanned<String>>,
) -> Option<Clients> {
    match raw.map(|s| s.value.as_str()) {
        None | Some("all") => Some(Clients::All),
        Some("authenticated") => Some(Clients::Authenticated),
        Some("anonymous") => Some(Clients::Anonymous),
        Some(other) => {
            c.error(
                raw,
                format!("{at}.clients"),
                format!("`{other}` is not all, authenticated or anonymous"),
            );
            None
        }
    }
}

pub(super) fn on_store_error(
    c: &mut Checker<'_>,
    at: &str,
    raw: Option<&Spanned<String>>,
) -> Option<OnStoreError> {
    match raw.map(|s| s.value.as_str()) {
        None | Some("local") => Some(OnStoreError::Local),
        Some("fail_open") => Some(OnStoreError::Open),
        Some("fail_closed") => Some(OnStoreError::Closed),
        Some(other) => {
            c.error(
                raw,
                format!("{at}.on_store_error"),
                format!("`{other}` is not fail_open, fail_closed or local"),
            );
            None
        }
    }
}

pub(super) fn key_parts(
    c: &mut Checker<'_>,
    at: &str,
    raw: &Spanned<KeyList>,
) -> Option<Vec<KeyPart>> {
    let list: Vec<&str> = match &raw.value {
        KeyList::One(s) => vec![s.as_str()],
        KeyList::Many(v) => v.iter().map(String::as_str).collect(),
    };
    if list.is_empty() {
        c.error(
            Some(raw),
            at,
            "list at least one key part (e.g. `ip` or `principal`)",
        );
        return None;
    }
    let mut out = Vec::new();
    for part in list {
        out.push(key_part(c, at, raw, part)?);
    }
    Some(out)
}

pub(super) fn key_part<T>(
    c: &mut Checker<'_>,
    at: &str,
    span: &Spanned<T>,
    part: &str,
) -> Option<KeyPart> {
    let parsed = match part.trim() {
        "ip" => Ok(KeyPart::Ip),
        "principal" | "consumer" => Ok(KeyPart::Principal),
        "api_key" => Ok(KeyPart::ApiKey),
        "tenant" => Ok(KeyPart::Tenant),
        "operation" => Ok(KeyPart::Operation),
        p => {
            if let Some(h) = p.strip_prefix("header:") {
                http::HeaderName::from_bytes(h.trim().as_bytes())
                    .map(KeyPart::Header)
                    .map_err(|_| format!("`{h}` is not a header name"))
            } else if let Some(claim) = p.strip_prefix("claim:").filter(|c| !c.trim().is_empty()) {
                Ok(KeyPart::Claim(claim.trim().to_owned()))
            } else {
                Err(format!(
                    "`{p}` is not a key part: use ip, principal, api_key, tenant, operation, \
                     header:<name> or claim:<name>"
                ))
            }
        }
    };
    match parsed {
        Ok(k) => Some(k),
        Err(e) => {
            c.error(Some(span), at, e);
            None
        }
    }
}

/// Parses `100/s`, `6000/min`, `100/10s`, `50000/h`, `1000000/day` into
/// (count, window).
pub fn parse_rate(text: &str) -> Result<(u64, Duration), String> {
    let bad = || {
        format!(
            "`{text}` is not a rate: write `<count>/<unit>` such as `100/s`, `6000/min`, `100/10s`"
        )
    };
    let (count, per) = text.split_once('/').ok_or_else(bad)?;
    let count: u64 = count.trim().parse().map_err(|_| bad())?;
    let per = match per.trim() {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "m" | "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        "d" | "day" => Duration::from_secs(86_400),
        other => crate::config::units::parse_duration(other).map_err(|_| bad())?,
    };
    if count == 0 || per.is_zero() {
        return Err(format!(
            "`{text}`: the count and the window must be above zero"
        ));
    }
    if per.as_micros() / u128::from(count) == 0 {
        return Err(format!("`{text}` is more than one request per microsecond"));
    }
    Ok((count, per))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        assert_eq!(parse_rate("100/s"), Ok((100, Duration::from_secs(1))));
        assert_eq!(parse_rate("6000/min"), Ok((6000, Duration::from_secs(60))));
        assert_eq!(parse_rate("100/10s"), Ok((100, Duration::from_secs(10))));
        assert_eq!(parse_rate("5/day"), Ok((5, Duration::from_secs(86_400))));
        assert!(parse_rate("100").is_err());
        assert!(parse_rate("0/s").is_err());
        assert!(parse_rate("x/s").is_err());
        assert!(parse_rate("10/fortnight").is_err());
        assert!(parse_rate("2000000/s").is_err());
    }
}
