//! Fuzz target: the whole profiler on arbitrary bytes (container sniffed from the input;
//! C2PA reading off), covering the tool-format parsers through the text it finds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use realskin::fuzzing;

fuzz_target!(|data: &[u8]| {
    fuzzing::profile(data);
});
