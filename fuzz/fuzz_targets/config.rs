//! The config loader on arbitrary YAML: an error or a config, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = portcullis_gateway::config::parse(text, std::path::Path::new("/nonexistent/fuzz.yaml"));
    }
});
