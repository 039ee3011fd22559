//! The `cmdi` detector alone on arbitrary text, in every place and at every
//! sensitivity (see `portcullis_fuzz::check_detector` for the properties).
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_inspect::Detector;

fuzz_target!(|data: &[u8]| portcullis_fuzz::check_detector(Detector::Cmdi, data));
