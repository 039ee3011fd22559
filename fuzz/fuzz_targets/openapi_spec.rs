//! The OpenAPI loader on arbitrary documents: an error or a spec, never a panic or a
//! hang; every operation it indexes points at an object in the document.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(spec) = portcullis_openapi::parse(text, std::path::Path::new("fuzz.yaml")) {
            for op in &spec.operations {
                let found = spec.document.pointer(&op.pointer);
                assert!(found.is_some_and(serde_json_is_object), "{}", op.pointer);
            }
        }
    }
});

fn serde_json_is_object(v: &serde_json::Value) -> bool {
    v.is_object()
}
