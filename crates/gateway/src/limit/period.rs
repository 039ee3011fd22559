//! Calendar periods for quotas: the day or month that contains an instant, in a
//! time zone.
//!
//! A period begins at the start of its first civil day in the zone (usually
//! midnight; the first instant of the day when a DST change skips midnight) and
//! ends where the next begins, so periods tile time with no gap or overlap and
//! DST days last 23 or 25 hours.

#[cfg(test)]
mod tests;

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// A quota's period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// A calendar day.
    Day,
    /// A calendar month.
    Month,
}

impl FromStr for Period {
    type Err = String;

    /// `day` or `month`.
    fn from_str(s: &str) -> Result<Period, String> {
        match s {
            "day" => Ok(Period::Day),
            "month" => Ok(Period::Month),
            _ => Err(format!(
                "unknown quota period `{s}`: expected `day` or `month`"
            )),
        }
    }
}

/// The period that contains an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Names the period in store keys: `2026-11-26` or `2026-11`.
    pub id: String,
    /// When it began.
    pub start: SystemTime,
    /// When it ends (the next one's start).
    pub end: SystemTime,
}

/// The `period` containing `now` in time zone `tz`. An instant exactly at a
/// boundary belongs to the period that begins there.
///
/// Only an instant outside the calendar's range (beyond the years -9999 to
/// 9999, i.e. a broken clock) has no period; it gets a window
/// `out-of-range` of one day from `now`, so a quota still counts.
pub fn window(now: SystemTime, period: Period, tz: &TimeZone) -> Window {
    civil_window(now, period, tz).unwrap_or_else(|_| Window {
        id: "out-of-range".to_owned(),
        start: now,
        end: now.checked_add(Duration::from_secs(86_400)).unwrap_or(now),
    })
}

/// A time zone from config: an IANA name (`Europe/Paris`) or `UTC`, from the
/// time zone database built into the gateway.
pub fn parse_zone(name: &str) -> Result<TimeZone, String> {
    if name == "UTC" {
        return Ok(TimeZone::UTC);
    }
    TimeZone::get(name).map_err(|_| {
        format!(
            "unknown time zone `{name}`: expected an IANA name such as `Europe/Paris`, or `UTC`"
        )
    })
}

fn civil_window(now: SystemTime, period: Period, tz: &TimeZone) -> Result<Window, jiff::Error> {
    let here = Timestamp::try_from(now)?.to_zoned_datetime(tz.clone());
    let date = here.date();
    let (id, first, next) = match period {
        Period::Day => (
            format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day()),
            date,
            date.tomorrow()?,
        ),
        Period::Month => {
            let first = date.first_of_month();
            (
                format!("{:04}-{:02}", date.year(), date.month()),
                first,
                first.checked_add(1.month())?,
            )
        }
    };
    Ok(Window {
        id,
        start: start_of(first, tz)?,
        end: start_of(next, tz)?,
    })
}

/// The first instant of civil day `date` in `tz`: midnight, or when midnight
/// does not exist there that day (a DST gap), the instant the gap ends.
fn start_of(date: Date, tz: &TimeZone) -> Result<SystemTime, jiff::Error> {
    let start = date.to_zoned_datetime(tz.clone())?.start_of_day()?;
    SystemTime::try_from(start.timestamp())
}
