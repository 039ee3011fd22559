//! The check script's arguments and reply (see `check.lua`).
//!
//! `KEYS` are the items' keys with the prefix; `ARGV` holds four decimal
//! arguments per item: `r interval_us burst max_delay_us` or
//! `q limit ttl_us 0`. Every number is clamped below 2^52 so that Lua's doubles
//! compute exactly: the clamps only bite beyond 142 years of microseconds, where
//! no limit is meaningful.

use super::super::{Decision, Item, ItemState, Rule};

/// The largest number sent to the script (2^52), and the largest product
/// `burst × interval` it computes.
pub(crate) const MAX_EXACT: u64 = 1 << 52;

/// One item's four script arguments.
pub(crate) fn args(item: &Item) -> [String; 4] {
    match item.rule {
        Rule::Rate(r) => {
            let interval = r.interval_us.clamp(1, MAX_EXACT);
            let burst = r.burst.clamp(1, MAX_EXACT / interval);
            let delay = r.max_delay_us.min(MAX_EXACT);
            [
                "r".to_owned(),
                interval.to_string(),
                burst.to_string(),
                delay.to_string(),
            ]
        }
        Rule::Quota(q) => [
            "q".to_owned(),
            q.limit.min(MAX_EXACT).to_string(),
            q.ttl_us.min(MAX_EXACT).to_string(),
            "0".to_owned(),
        ],
    }
}

/// The script's reply as a decision, for `n` items; `None` when malformed.
pub(crate) fn decision(reply: &[i64], n: usize) -> Option<Decision> {
    if reply.len() != 2 + 4 * n {
        return None;
    }
    let num = |v: i64| u64::try_from(v).unwrap_or(0);
    let items = reply[2..]
        .chunks_exact(4)
        .map(|c| ItemState {
            admitted: c[0] == 1,
            remaining: num(c[1]),
            reset_us: num(c[2]),
            retry_us: num(c[3]),
        })
        .collect();
    Some(Decision {
        admitted: reply[0] == 1,
        delay_us: num(reply[1]),
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limit::{Quota, Rate};

    #[test]
    fn arguments_are_four_decimals_per_item_clamped_to_exact_doubles() {
        let rate = Item {
            key: "k".into(),
            rule: Rule::Rate(Rate {
                interval_us: 100_000,
                burst: 3,
                max_delay_us: 250_000,
            }),
        };
        assert_eq!(args(&rate), ["r", "100000", "3", "250000"]);
        let huge = Item {
            key: "k".into(),
            rule: Rule::Rate(Rate {
                interval_us: u64::MAX,
                burst: u64::MAX,
                max_delay_us: u64::MAX,
            }),
        };
        let a = args(&huge);
        let product: u128 = a[1].parse::<u128>().unwrap() * a[2].parse::<u128>().unwrap();
        assert!(product <= u128::from(MAX_EXACT), "{a:?}");
        let quota = Item {
            key: "k".into(),
            rule: Rule::Quota(Quota {
                limit: 1000,
                ttl_us: 3_600_000_000,
            }),
        };
        assert_eq!(args(&quota), ["q", "1000", "3600000000", "0"]);
    }

    #[test]
    fn a_reply_of_the_wrong_length_is_refused() {
        assert!(decision(&[1, 0, 1, 2, 3], 1).is_none());
        let d = decision(&[1, 5, 1, 2, 3, 0], 1).unwrap();
        assert!(d.admitted && d.items[0].admitted);
        assert_eq!(
            (d.delay_us, d.items[0].remaining, d.items[0].reset_us),
            (5, 2, 3)
        );
    }
}
