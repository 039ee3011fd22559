use std::time::{Duration, SystemTime};

use super::*;

fn at(s: &str) -> SystemTime {
    SystemTime::try_from(s.parse::<Timestamp>().unwrap()).unwrap()
}

fn zone(name: &str) -> TimeZone {
    parse_zone(name).unwrap()
}

fn hours(w: &Window) -> u64 {
    w.end.duration_since(w.start).unwrap().as_secs() / 3_600
}

#[test]
fn a_utc_day() {
    let w = window(at("2026-11-26T13:45:10Z"), Period::Day, &TimeZone::UTC);
    assert_eq!(
        w,
        Window {
            id: "2026-11-26".into(),
            start: at("2026-11-26T00:00:00Z"),
            end: at("2026-11-27T00:00:00Z"),
        }
    );
}

#[test]
fn a_utc_month_and_december_into_january() {
    let w = window(at("2026-11-26T13:45:10Z"), Period::Month, &TimeZone::UTC);
    assert_eq!(
        w,
        Window {
            id: "2026-11".into(),
            start: at("2026-11-01T00:00:00Z"),
            end: at("2026-12-01T00:00:00Z"),
        }
    );
    let w = window(
        at("2026-12-31T23:59:59.999999Z"),
        Period::Month,
        &TimeZone::UTC,
    );
    assert_eq!(
        w,
        Window {
            id: "2026-12".into(),
            start: at("2026-12-01T00:00:00Z"),
            end: at("2027-01-01T00:00:00Z"),
        }
    );
    let w = window(at("2026-12-31T12:00:00Z"), Period::Day, &TimeZone::UTC);
    assert_eq!(
        (w.id.as_str(), w.end),
        ("2026-12-31", at("2027-01-01T00:00:00Z"))
    );
}

#[test]
fn february_in_a_leap_year_and_not() {
    let w = window(at("2028-02-10T08:00:00Z"), Period::Month, &TimeZone::UTC);
    assert_eq!((w.id.as_str(), hours(&w)), ("2028-02", 29 * 24));
    assert_eq!(w.end, at("2028-03-01T00:00:00Z"));
    let w = window(at("2028-02-29T08:00:00Z"), Period::Day, &TimeZone::UTC);
    assert_eq!(
        (w.id.as_str(), w.end),
        ("2028-02-29", at("2028-03-01T00:00:00Z"))
    );
    let w = window(at("2026-02-10T08:00:00Z"), Period::Month, &TimeZone::UTC);
    assert_eq!((w.id.as_str(), hours(&w)), ("2026-02", 28 * 24));
}

#[test]
fn paris_days_around_dst_changes_last_23_and_25_hours() {
    let paris = zone("Europe/Paris");
    let w = window(at("2026-03-29T12:00:00Z"), Period::Day, &paris);
    assert_eq!(
        w,
        Window {
            id: "2026-03-29".into(),
            start: at("2026-03-28T23:00:00Z"),
            end: at("2026-03-29T22:00:00Z"),
        }
    );
    assert_eq!(hours(&w), 23);
    let w = window(at("2026-10-25T12:00:00Z"), Period::Day, &paris);
    assert_eq!((w.id.as_str(), hours(&w)), ("2026-10-25", 25));
    // 23:30 UTC on the 28th is already the 29th in Paris.
    let w = window(at("2026-03-28T23:30:00Z"), Period::Day, &paris);
    assert_eq!(w.id, "2026-03-29");
    let w = window(at("2026-03-15T00:00:00Z"), Period::Month, &paris);
    assert_eq!(
        w,
        Window {
            id: "2026-03".into(),
            start: at("2026-02-28T23:00:00Z"),
            end: at("2026-03-31T22:00:00Z"),
        }
    );
}

#[test]
fn new_york_days_and_months() {
    let ny = zone("America/New_York");
    // 03:00 UTC on the 26th is 22:00 on the 25th in New York.
    let w = window(at("2026-11-26T03:00:00Z"), Period::Day, &ny);
    assert_eq!(
        w,
        Window {
            id: "2026-11-25".into(),
            start: at("2026-11-25T05:00:00Z"),
            end: at("2026-11-26T05:00:00Z"),
        }
    );
    let w = window(at("2026-03-01T02:00:00Z"), Period::Month, &ny);
    assert_eq!(w.id, "2026-02");
    assert_eq!(w.end, at("2026-03-01T05:00:00Z"));
    let w = window(at("2026-03-08T12:00:00Z"), Period::Day, &ny);
    assert_eq!((w.id.as_str(), hours(&w)), ("2026-03-08", 23));
}

#[test]
fn a_day_whose_midnight_does_not_exist_starts_when_it_does() {
    // São Paulo moved its clocks from 00:00 to 01:00 on 2018-11-04.
    let sp = zone("America/Sao_Paulo");
    let w = window(at("2018-11-04T15:00:00Z"), Period::Day, &sp);
    assert_eq!(
        w,
        Window {
            id: "2018-11-04".into(),
            start: at("2018-11-04T03:00:00Z"),
            end: at("2018-11-05T02:00:00Z"),
        }
    );
    assert_eq!(hours(&w), 23);
    let before = window(at("2018-11-03T15:00:00Z"), Period::Day, &sp);
    assert_eq!(before.end, w.start);
}

#[test]
fn an_instant_at_a_boundary_belongs_to_the_new_period() {
    for (tz, period) in [
        (TimeZone::UTC, Period::Day),
        (TimeZone::UTC, Period::Month),
        (zone("Europe/Paris"), Period::Day),
        (zone("Europe/Paris"), Period::Month),
        (zone("America/New_York"), Period::Day),
    ] {
        let mut w = window(at("2026-01-15T10:00:00Z"), period, &tz);
        for _ in 0..400 {
            let next = window(w.end, period, &tz);
            assert_eq!(next.start, w.end, "{period:?} in {tz:?}");
            assert_ne!(next.id, w.id);
            assert_eq!(window(next.start, period, &tz), next);
            let last = w.end - Duration::from_micros(1);
            assert_eq!(window(last, period, &tz), w);
            w = next;
        }
    }
}

#[test]
fn zones_and_periods_parse_with_helpful_errors() {
    assert_eq!(parse_zone("UTC"), Ok(TimeZone::UTC));
    assert_eq!(zone("Europe/Paris").iana_name(), Some("Europe/Paris"));
    let e = parse_zone("Mars/Olympus_Mons").unwrap_err();
    assert!(
        e.contains("Mars/Olympus_Mons") && e.contains("Europe/Paris"),
        "{e}"
    );
    assert!(parse_zone("").is_err());
    assert_eq!("day".parse(), Ok(Period::Day));
    assert_eq!("month".parse(), Ok(Period::Month));
    let e = "week".parse::<Period>().unwrap_err();
    assert!(
        e.contains("week") && e.contains("`day`") && e.contains("`month`"),
        "{e}"
    );
}
