use super::*;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;

fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

fn prim(s: &str) -> Decoded {
    Decoded::Primitive(s.into())
}

fn arr(items: &[&str]) -> Decoded {
    Decoded::Array(items.iter().map(|s| (*s).to_owned()).collect())
}

fn obj(pairs: &[(&str, &str)]) -> Decoded {
    Decoded::Object(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

/// Serializes `value` the way the OpenAPI style examples do (RFC 6570).
fn serialize_path(style: Style, explode: bool, name: &str, value: &Decoded) -> String {
    let (prefix, sep) = match (style, explode) {
        (Style::Label, false) => (".".to_owned(), ","),
        (Style::Label, true) => (".".to_owned(), "."),
        (Style::Matrix, _) => (format!(";{name}="), ","),
        _ => (String::new(), ","),
    };
    match value {
        Decoded::Primitive(v) => format!("{prefix}{}", enc(v)),
        Decoded::Array(items) if style == Style::Matrix && explode => items
            .iter()
            .map(|v| format!(";{name}={}", enc(v)))
            .collect(),
        Decoded::Array(items) => {
            format!(
                "{prefix}{}",
                items.iter().map(|v| enc(v)).collect::<Vec<_>>().join(sep)
            )
        }
        Decoded::Object(pairs) if explode => {
            let sep = if style == Style::Matrix { ";" } else { sep };
            let prefix = if style == Style::Matrix {
                ";".to_owned()
            } else {
                prefix
            };
            let body: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
                .collect();
            format!("{prefix}{}", body.join(sep))
        }
        Decoded::Object(pairs) => {
            let body: Vec<String> = pairs.iter().flat_map(|(k, v)| [enc(k), enc(v)]).collect();
            format!("{prefix}{}", body.join(","))
        }
    }
}

fn serialize_query(style: Style, explode: bool, name: &str, value: &Decoded) -> String {
    let sep = match style {
        Style::SpaceDelimited => "%20",
        Style::PipeDelimited => "|",
        _ => ",",
    };
    match value {
        Decoded::Primitive(v) => format!("{name}={}", enc(v)),
        Decoded::Array(items) if explode => items
            .iter()
            .map(|v| format!("{name}={}", enc(v)))
            .collect::<Vec<_>>()
            .join("&"),
        Decoded::Array(items) => {
            format!(
                "{name}={}",
                items.iter().map(|v| enc(v)).collect::<Vec<_>>().join(sep)
            )
        }
        Decoded::Object(pairs) if style == Style::DeepObject => pairs
            .iter()
            .map(|(k, v)| format!("{name}[{k}]={}", enc(v)))
            .collect::<Vec<_>>()
            .join("&"),
        Decoded::Object(pairs) if explode => pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect::<Vec<_>>()
            .join("&"),
        Decoded::Object(pairs) => {
            let body: Vec<String> = pairs.iter().flat_map(|(k, v)| [enc(k), enc(v)]).collect();
            format!("{name}={}", body.join(sep))
        }
    }
}

fn layout_of(value: &Decoded) -> Layout {
    match value {
        Decoded::Primitive(_) => Layout::Primitive,
        Decoded::Array(_) => Layout::Array,
        Decoded::Object(_) => Layout::Object,
    }
}

#[test]
fn path_styles_from_the_spec_examples() {
    let color = |style, explode, layout, raw| path(style, explode, layout, "color", raw);
    let rgb = obj(&[("R", "100"), ("G", "200"), ("B", "150")]);
    let list = arr(&["blue", "black", "brown"]);
    assert_eq!(
        color(Style::Simple, false, Layout::Primitive, "blue"),
        Ok(prim("blue"))
    );
    assert_eq!(
        color(Style::Simple, false, Layout::Array, "blue,black,brown"),
        Ok(list.clone())
    );
    assert_eq!(
        color(Style::Simple, false, Layout::Object, "R,100,G,200,B,150"),
        Ok(rgb.clone())
    );
    assert_eq!(
        color(Style::Simple, true, Layout::Object, "R=100,G=200,B=150"),
        Ok(rgb.clone())
    );
    assert_eq!(
        color(Style::Label, false, Layout::Primitive, ".blue"),
        Ok(prim("blue"))
    );
    assert_eq!(
        color(Style::Label, false, Layout::Array, ".blue,black,brown"),
        Ok(list.clone())
    );
    assert_eq!(
        color(Style::Label, true, Layout::Array, ".blue.black.brown"),
        Ok(list.clone())
    );
    assert_eq!(
        color(Style::Label, true, Layout::Object, ".R=100.G=200.B=150"),
        Ok(rgb.clone())
    );
    assert_eq!(
        color(Style::Matrix, false, Layout::Primitive, ";color=blue"),
        Ok(prim("blue"))
    );
    assert_eq!(
        color(
            Style::Matrix,
            false,
            Layout::Array,
            ";color=blue,black,brown"
        ),
        Ok(list.clone())
    );
    assert_eq!(
        color(
            Style::Matrix,
            true,
            Layout::Array,
            ";color=blue;color=black;color=brown"
        ),
        Ok(list)
    );
    assert_eq!(
        color(
            Style::Matrix,
            false,
            Layout::Object,
            ";color=R,100,G,200,B,150"
        ),
        Ok(rgb.clone())
    );
    assert_eq!(
        color(Style::Matrix, true, Layout::Object, ";R=100;G=200;B=150"),
        Ok(rgb)
    );
    assert!(color(Style::Label, false, Layout::Primitive, "blue").is_err());
    assert!(color(Style::Matrix, false, Layout::Primitive, ";other=blue").is_err());
    assert!(color(Style::Simple, false, Layout::Object, "R,100,G").is_err());
    assert_eq!(
        color(Style::Simple, false, Layout::Array, "a%2Cb,c"),
        Ok(arr(&["a,b", "c"]))
    );
    assert!(color(Style::Simple, false, Layout::Primitive, "%FF").is_err());
}

#[test]
fn query_styles_from_the_spec_examples() {
    let read = |q: &str, style, explode, layout| {
        let props = ["R".to_owned(), "G".to_owned(), "B".to_owned()];
        Pairs::parse(q, 100).and_then(|mut p| p.query(style, explode, layout, "color", &props))
    };
    let list = Some(arr(&["blue", "black", "brown"]));
    let rgb = Some(obj(&[("R", "100"), ("G", "200"), ("B", "150")]));
    assert_eq!(
        read("color=blue", Style::Form, true, Layout::Primitive),
        Ok(Some(prim("blue")))
    );
    assert_eq!(
        read("color=a+b%2B", Style::Form, true, Layout::Primitive),
        Ok(Some(prim("a b+")))
    );
    assert_eq!(read("x=1", Style::Form, true, Layout::Primitive), Ok(None));
    assert_eq!(
        read(
            "color=blue&color=black&color=brown",
            Style::Form,
            true,
            Layout::Array
        ),
        Ok(list.clone())
    );
    assert_eq!(
        read("color=blue,black,brown", Style::Form, false, Layout::Array),
        Ok(list.clone())
    );
    assert_eq!(
        read("R=100&G=200&B=150", Style::Form, true, Layout::Object),
        Ok(rgb.clone())
    );
    assert_eq!(
        read(
            "color=R,100,G,200,B,150",
            Style::Form,
            false,
            Layout::Object
        ),
        Ok(rgb.clone())
    );
    assert_eq!(
        read(
            "color=blue%20black%20brown",
            Style::SpaceDelimited,
            false,
            Layout::Array
        ),
        Ok(list.clone())
    );
    assert_eq!(
        read(
            "color=blue|black|brown",
            Style::PipeDelimited,
            false,
            Layout::Array
        ),
        Ok(list.clone())
    );
    assert_eq!(
        read(
            "color=blue%7Cblack%7Cbrown",
            Style::PipeDelimited,
            false,
            Layout::Array
        ),
        Ok(list)
    );
    assert_eq!(
        read(
            "color[R]=100&color[G]=200&color[B]=150",
            Style::DeepObject,
            true,
            Layout::Object
        ),
        Ok(rgb)
    );
    // Parameter pollution: one value expected, two sent.
    assert_eq!(
        read("color=a&color=b", Style::Form, true, Layout::Primitive),
        Err("is repeated")
    );
    assert_eq!(
        read(
            "color[R]=1&color[R]=2",
            Style::DeepObject,
            true,
            Layout::Object
        ),
        Err("is repeated")
    );
    assert!(Pairs::parse(&"a=1&".repeat(101), 100).is_err());
}

#[test]
fn headers_and_cookies() {
    assert_eq!(
        header(false, Layout::Array, " a, b ,c"),
        Ok(arr(&["a", "b", "c"]))
    );
    assert_eq!(
        header(true, Layout::Object, "R=1,G=2"),
        Ok(obj(&[("R", "1"), ("G", "2")]))
    );
    let jar: Vec<_> = cookies("a=1; b=\"x y\";c").collect();
    assert_eq!(jar, [("a", "1"), ("b", "x y")]);
    assert_eq!(
        cookie(false, Layout::Array, "1,2%2C3"),
        Ok(arr(&["1", "2,3"]))
    );
}

fn text() -> impl Strategy<Value = String> {
    // Any text but empty; delimiters and reserved characters are encoded by the serializer.
    "[a-zA-Z0-9 ,;.=|&%+/?#\\[\\]é😀-]{1,8}"
}

fn key() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_]{1,6}"
}

fn unique_pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::btree_map(key(), text(), 1..4).prop_map(|m| m.into_iter().collect())
}

fn value() -> impl Strategy<Value = Decoded> {
    prop_oneof![
        text().prop_map(Decoded::Primitive),
        proptest::collection::vec(text(), 1..5).prop_map(Decoded::Array),
        unique_pairs().prop_map(Decoded::Object),
    ]
}

proptest! {
    #[test]
    fn path_styles_round_trip(value in value(), style in prop_oneof![Just(Style::Simple), Just(Style::Label), Just(Style::Matrix)], explode: bool) {
        let raw = serialize_path(style, explode, "p", &value);
        prop_assert_eq!(path(style, explode, layout_of(&value), "p", &raw), Ok(value));
    }

    #[test]
    fn query_styles_round_trip(
        value in value(),
        style in prop_oneof![Just(Style::Form), Just(Style::SpaceDelimited), Just(Style::PipeDelimited), Just(Style::DeepObject)],
        explode: bool,
    ) {
        let layout = layout_of(&value);
        // deepObject is for objects; exploded space/pipe arrays are form arrays.
        prop_assume!(style != Style::DeepObject || layout == Layout::Object);
        let explode = explode || style == Style::DeepObject;
        // A delimiter inside an item cannot be told from a delimiter.
        let delimiter = match style { Style::SpaceDelimited => ' ', Style::PipeDelimited => '|', _ => '\u{0}' };
        let texts: Vec<&String> = match &value {
            Decoded::Primitive(v) => vec![v],
            Decoded::Array(items) => items.iter().collect(),
            Decoded::Object(pairs) => pairs.iter().flat_map(|(k, v)| [k, v]).collect(),
        };
        prop_assume!(texts.iter().all(|t| !t.contains(delimiter)));
        let raw = serialize_query(style, explode, "p", &value);
        let properties: Vec<String> = match &value {
            Decoded::Object(pairs) => pairs.iter().map(|(k, _)| k.clone()).collect(),
            _ => Vec::new(),
        };
        let mut pairs = Pairs::parse(&raw, 1000).map_err(TestCaseError::fail)?;
        prop_assert_eq!(pairs.query(style, explode, layout, "p", &properties), Ok(Some(value)));
        prop_assert_eq!(pairs.unclaimed().count(), 0);
    }

    #[test]
    fn header_values_round_trip(items in proptest::collection::vec("[a-zA-Z0-9_.-]{1,8}", 1..5)) {
        let raw = items.join(",");
        prop_assert_eq!(header(false, Layout::Array, &raw), Ok(Decoded::Array(items)));
    }
}
