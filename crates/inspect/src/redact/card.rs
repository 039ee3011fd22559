//! Payment card numbers: 13–19 digits, single spaces or dashes allowed
//! between digits, a known issuer prefix (IIN), and a valid Luhn check digit.

/// The byte spans of the card numbers in `s`.
pub(super) fn find(s: &str, out: &mut Vec<(usize, usize)>) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || (i > 0 && b[i - 1].is_ascii_alphanumeric()) {
            i += 1;
            continue;
        }
        // A run of digits with single separators between them.
        let start = i;
        let mut digits = [0u8; 19];
        let mut n = 0;
        let mut end = i;
        let mut j = i;
        let mut too_long = false;
        while j < b.len() {
            if b[j].is_ascii_digit() {
                if n == digits.len() {
                    too_long = true;
                    break;
                }
                digits[n] = b[j] - b'0';
                n += 1;
                j += 1;
                end = j;
            } else if matches!(b[j], b' ' | b'-') && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
                j += 1;
            } else {
                break;
            }
        }
        if too_long {
            // Skip the whole run: a 20+ digit number holds no card.
            while j < b.len() && (b[j].is_ascii_digit() || matches!(b[j], b' ' | b'-')) {
                j += 1;
            }
            i = j;
            continue;
        }
        let boundary = !b.get(end).is_some_and(u8::is_ascii_alphanumeric);
        let d = &digits[..n];
        if boundary && (13..=19).contains(&n) && issuer(d) && luhn(d) {
            out.push((start, end));
        }
        i = end.max(i + 1);
    }
}

/// Whether the digits start with a known issuer prefix, at a length that
/// issuer uses.
fn issuer(d: &[u8]) -> bool {
    let p = |k: usize| d[..k].iter().fold(0u32, |a, &x| a * 10 + u32::from(x));
    let n = d.len();
    match d[0] {
        4 => matches!(n, 13 | 16 | 19), // Visa
        5 => (51..=55).contains(&p(2)) && n == 16 || matches!(p(2), 50 | 56..=59) && n >= 12, // Mastercard, Maestro
        2 => (2221..=2720).contains(&p(4)) && n == 16, // Mastercard 2-series
        3 => {
            (matches!(p(2), 34 | 37) && n == 15)                                          // Amex
                || ((3528..=3589).contains(&p(4)) && n >= 16)                            // JCB
                || ((300..=305).contains(&p(3)) || matches!(p(2), 36 | 38 | 39)) && n >= 14 // Diners
        }
        6 => n >= 16, // Discover, UnionPay, Maestro
        _ => false,
    }
}

/// The Luhn (mod 10) check.
pub(super) fn luhn(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(k, &x)| {
            let x = u32::from(x);
            if k % 2 == 1 {
                let y = x * 2;
                if y > 9 { y - 9 } else { y }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}
