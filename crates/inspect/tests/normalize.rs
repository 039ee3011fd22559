//! Property tests of the decoder: encodings round-trip, decoding never grows a
//! value, never panics, and is idempotent once it has settled.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use portcullis_inspect::normalize::{decode, escapes, html_entities, percent_decode};
use portcullis_inspect::{Inspector, Place, Settings, Views};
use proptest::prelude::*;

/// Characters that are not themselves the start of an encoding.
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 <>'\"=();:/.,_-]{0,40}"
}

/// Anything, with the encodings' special characters over-represented.
fn hostile() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("%".to_owned()),
            Just("%25".to_owned()),
            Just("%u0027".to_owned()),
            Just("&#".to_owned()),
            Just("&#x".to_owned()),
            Just("&lt;".to_owned()),
            Just("\\u".to_owned()),
            Just("\\u{".to_owned()),
            Just("\\x".to_owned()),
            Just("\0".to_owned()),
            Just("ﷺ".to_owned()),
            Just("％２７".to_owned()),
            "[0-9a-fA-F;}+]{1,3}",
            any::<char>().prop_map(String::from),
        ],
        0..24,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn percent_encoding_round_trips(x in "\\PC{0,40}") {
        let enc = utf8_percent_encode(&x, NON_ALPHANUMERIC).to_string();
        let back = percent_decode(&enc, false).unwrap_or_else(|| enc.clone());
        prop_assert_eq!(back, x);
    }

    #[test]
    fn html_references_round_trip(x in text()) {
        let enc: String = x.chars().map(|c| format!("&#x{:x};", u32::from(c))).collect();
        prop_assert_eq!(html_entities(&enc).unwrap_or(enc.clone()), x.clone());
        let dec: String = x.chars().map(|c| format!("&#{};", u32::from(c))).collect();
        prop_assert_eq!(html_entities(&dec).unwrap_or(dec.clone()), x);
    }

    #[test]
    fn escapes_round_trip(x in text()) {
        let u: String = x.chars().map(|c| format!("\\u{:04x}", u32::from(c))).collect();
        prop_assert_eq!(escapes(&u).unwrap_or(u.clone()), x.clone());
        let braced: String = x.chars().map(|c| format!("\\u{{{:x}}}", u32::from(c))).collect();
        prop_assert_eq!(escapes(&braced).unwrap_or(braced.clone()), x);
    }

    #[test]
    fn double_and_triple_encoding_decode_to_the_text(x in text()) {
        let once = utf8_percent_encode(&x, NON_ALPHANUMERIC).to_string();
        let twice = utf8_percent_encode(&once, NON_ALPHANUMERIC).to_string();
        let thrice = utf8_percent_encode(&twice, NON_ALPHANUMERIC).to_string();
        prop_assert_eq!(decode(&thrice, Place::Path).0, x.as_str());
    }

    #[test]
    fn decoding_never_grows_and_never_panics(x in hostile(), place in prop_oneof![
        Just(Place::Query), Just(Place::Path), Just(Place::Json), Just(Place::Header)
    ]) {
        let v = Views::new(&x, place);
        prop_assert!(v.decoded.len() <= x.len());
        prop_assert!(v.folded.len() <= v.decoded.len());
        let _ = Inspector::new(Settings::default()).value(&x, place);
    }

    #[test]
    fn settled_decoding_is_idempotent(x in hostile()) {
        let (d, settled) = decode(&x, Place::Json);
        if settled {
            let (again, settled_again) = decode(&d, Place::Json);
            prop_assert!(settled_again);
            prop_assert_eq!(again.as_ref(), d.as_ref());
        }
    }
}

#[test]
fn full_width_percent_escapes_are_decoded() {
    assert_eq!(decode("％２７ or 1=1", Place::Json).0, "' or 1=1");
}

#[test]
fn ligatures_that_would_grow_are_kept() {
    let (d, _) = decode("ﷺ", Place::Json);
    assert!(d.len() <= "ﷺ".len());
}
