//! Profiling a ~20 MB PNG against decoding it: the profiler reads chunk headers and the
//! metadata chunks only, so it should take a small fraction of a full decode.
//!
//! The PNG (noise, so it does not compress, written with default compression and adaptive
//! filters so the decoder really inflates and unfilters; ComfyUI-style text chunks and an ICC profile
//! for realistic metadata) is generated here into the target folder.

use std::hint::black_box;
use std::io::Cursor;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use realskin::meta::{self, EmbedMetadata, TextEntry, TextKind};
use realskin::profile::{self, ProfileOptions};

fn big_png() -> (PathBuf, Vec<u8>) {
    let (w, h) = (2900u32, 2300u32);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let img = image::RgbImage::from_fn(w, h, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        image::Rgb([state as u8, (state >> 8) as u8, (state >> 16) as u8])
    });
    let mut encoded = Vec::new();
    let enc = image::codecs::png::PngEncoder::new_with_quality(
        Cursor::new(&mut encoded),
        image::codecs::png::CompressionType::Default,
        image::codecs::png::FilterType::Adaptive,
    );
    image::DynamicImage::ImageRgb8(img)
        .write_with_encoder(enc)
        .expect("encode");
    let prompt =
        r#"{"12": {"inputs": {"unet_name": "flux1-dev.safetensors"}, "class_type": "UNETLoader"}}"#;
    let meta_in = EmbedMetadata {
        icc: Some(vec![7u8; 3144]),
        text: vec![
            TextEntry {
                kind: TextKind::Text,
                key: "prompt".into(),
                value: prompt.into(),
            },
            TextEntry {
                kind: TextKind::Text,
                key: "workflow".into(),
                value: format!("{{\"nodes\": [], \"pad\": \"{}\"}}", "x".repeat(20_000)),
            },
        ],
        ..EmbedMetadata::default()
    };
    let bytes = meta::embed(&encoded, &meta_in).expect("embed");
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-20mb.png");
    std::fs::write(&path, &bytes).expect("write bench PNG");
    (path, bytes)
}

fn bench(c: &mut Criterion) {
    let (path, bytes) = big_png();
    eprintln!("bench PNG: {} bytes at {}", bytes.len(), path.display());
    let opts = ProfileOptions::default();
    let mut g = c.benchmark_group("png-20mb");
    g.sample_size(10);
    g.bench_function("profile_path (streaming, seeks over IDAT)", |b| {
        b.iter(|| black_box(profile::profile_path(&path, None, &opts).unwrap()))
    });
    g.bench_function("profile_metadata (file already in memory)", |b| {
        b.iter(|| black_box(profile::profile_metadata("bench.png", &bytes, None)))
    });
    g.bench_function("decode (image::load_from_memory)", |b| {
        b.iter(|| black_box(image::load_from_memory(&bytes).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
