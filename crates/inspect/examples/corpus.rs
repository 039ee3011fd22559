//! Scores the detectors on the corpus: `cargo run --release -p portcullis-inspect --example corpus [DIR] [DETAILS_FILE]`.

use std::path::PathBuf;

use portcullis_inspect::{Inspector, Settings, corpus};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus"),
        PathBuf::from,
    );
    let details = args
        .next()
        .map_or_else(|| PathBuf::from("target/corpus-details.txt"), PathBuf::from);
    let inspector = Inspector::new(Settings::default());
    let scores = corpus::score(&inspector, &dir)?;
    print!("{}", corpus::table(&scores));
    std::fs::write(&details, corpus::details(&scores))?;
    println!("details: {}", details.display());
    Ok(())
}
