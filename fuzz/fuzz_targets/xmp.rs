//! Fuzz target: the XMP property reader and the provenance XMP editor.
#![no_main]

use libfuzzer_sys::fuzz_target;
use realskin::fuzzing;

fuzz_target!(|data: &[u8]| {
    fuzzing::xmp(data);
});
