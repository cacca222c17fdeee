//! Entry points for the fuzz targets in `fuzz/` (one per container parser, XMP, and the
//! whole profiler). Each asserts the invariants a fuzzer should check beyond "no panic".

use crate::meta::{self, EmbedMetadata};
use crate::profile::{self, EditInfo, ProfileOptions, provenance, xmp};

/// A container reader: `magic` is prepended so the fuzzer explores the chunk or segment
/// walk instead of the sniffing. The streaming reader must agree with the in-memory one,
/// and embedding must not panic on whatever was read.
pub fn container(magic: &[u8], data: &[u8]) {
    let mut bytes = magic.to_vec();
    bytes.extend_from_slice(data);
    if bytes.starts_with(b"RIFF") && bytes.len() >= 8 {
        // A RIFF size that matches the input, or the WebP walk would stop at once.
        let size = u32::try_from(bytes.len() - 8).unwrap_or(u32::MAX);
        bytes[4..8].copy_from_slice(&size.to_le_bytes());
    }
    let mem = meta::read(&bytes);
    let streamed = meta::read_from(std::io::Cursor::new(&bytes)).expect("cursor never fails");
    assert_eq!(mem, streamed, "streaming and in-memory readers disagree");
    let carry = EmbedMetadata::from(&mem);
    if let Ok(out) = meta::embed_lossy(&bytes, &carry) {
        // What was embedded reads back.
        let again = meta::read(&out.bytes);
        if out.skipped.is_empty() {
            assert_eq!(again.icc.is_some(), carry.icc.is_some(), "ICC lost");
            assert_eq!(again.xmp.is_some(), carry.xmp.is_some(), "XMP lost");
        }
    }
}

/// The XMP reader and the provenance editor.
pub fn xmp(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (x, _) = xmp::parse(text);
    let _ = provenance::realskin_edit(&x);
    let raw = meta::RawMetadata {
        xmp: Some(text.to_string()),
        ..meta::read(b"")
    };
    let verdict = profile::evidence::verdict(Vec::new());
    let edit = EditInfo {
        version: "0".into(),
        changed: "fuzz".into(),
        when: None,
        pixels_upright: false,
    };
    let out = profile::output_provenance(&raw, &verdict, &edit);
    // Whatever came in, the output's XMP is well-formed and names the edit.
    let (parsed, warning) = xmp::parse(out.embed.xmp.as_deref().unwrap_or(""));
    assert!(warning.is_none(), "edited XMP is malformed: {warning:?}");
    assert!(
        provenance::realskin_edit(&parsed).is_some(),
        "edit not recorded"
    );
}

/// The whole profiler, C2PA off.
pub fn profile(data: &[u8]) {
    let opts = ProfileOptions {
        read_c2pa: false,
        ..ProfileOptions::default()
    };
    let p = profile::profile_bytes_with("fuzz.png", data, None, &opts);
    let _ = serde_json::to_string(&p).expect("profiles always serialise");
}
