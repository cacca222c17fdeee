//! Fuzz target: the PNG container reader (in memory and streaming must agree) and
//! embedding into whatever the bytes turn out to be.
#![no_main]

use libfuzzer_sys::fuzz_target;
use realskin::fuzzing;

fuzz_target!(|data: &[u8]| {
    fuzzing::container(b"\x89PNG\r\n\x1a\n", data);
});
