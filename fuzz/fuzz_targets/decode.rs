//! Fuzz target: the image decoders behind `decode::decode` (PNG, JPEG, WebP, TIFF) under a
//! small pixel limit; run under the fuzzer's memory limits, it finds decoders that reserve
//! memory for what a header claims (dimension, scan and strip bombs).
#![no_main]

use libfuzzer_sys::fuzz_target;
use realskin::fuzzing;

fuzz_target!(|data: &[u8]| {
    fuzzing::decode(data);
});
