//! The cost of inspecting one value: `cargo bench -p portcullis-inspect --bench inspect`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use portcullis_inspect::{Inspector, Place, Settings, Views};

fn values(c: &mut Criterion) {
    let inspector = Inspector::new(Settings::default());
    let cases = [
        ("plain alphanumeric", "blueshoes42", Place::Query),
        ("benign 20 bytes", "blue%20shoes%2C%20size", Place::Query),
        ("benign words", "7 AND A HALF", Place::Json),
        ("benign e-mail", "jane.doe+news@example.com", Place::Json),
        (
            "benign url",
            "https%3A%2F%2Fshop.example.com%2Fcart%3Fid%3D12",
            Place::Query,
        ),
        ("sqli tautology", "1%27%20OR%20%271%27%3D%271", Place::Query),
        ("sqli union", "-1 union select 1,version(),3--", Place::Json),
        ("xss", "%3Cscript%3Ealert(1)%3C%2Fscript%3E", Place::Query),
    ];
    let mut group = c.benchmark_group("value");
    for (name, value, place) in cases {
        group.bench_function(name, |b| {
            b.iter(|| inspector.value(black_box(value), place))
        });
    }
    group.finish();
}

fn decoding(c: &mut Criterion) {
    let mut group = c.benchmark_group("views");
    for (name, value, place) in [
        ("benign 20 bytes", "blue%20shoes%2C%20size", Place::Query),
        ("benign words", "7 AND A HALF", Place::Json),
        (
            "triple encoded",
            "%252527%252520or%2525201%25253D1",
            Place::Query,
        ),
    ] {
        group.bench_function(name, |b| b.iter(|| Views::new(black_box(value), place)));
    }
    group.finish();
}

criterion_group!(benches, values, decoding);
criterion_main!(benches);
