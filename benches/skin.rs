//! Criterion benchmark of the whole skin engine on 2048² and 4096² portraits (the stubble portrait from
//! `shared/samples` upscaled with Lanczos3 when present, otherwise the synthetic test face), with the
//! engine's own face detection and with faces handed over by the profiler; and on three small
//! faces on a 4096 px canvas (their skin is worked out on a finer copy), when the samples are there.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use image::DynamicImage;
use realskin::face::FaceBox;
use realskin::pipeline::skin::classify::{Classification, PictureKind};
use realskin::pipeline::skin::{SkinConfig, SkinContext, SkinOutcome, apply};
use std::hint::black_box;

#[path = "common/scenes.rs"]
mod scenes;

fn portrait(size: u32) -> (DynamicImage, Option<Vec<FaceBox>>) {
    let sample = ["../shared/samples", "/work/shared/samples"]
        .iter()
        .map(|r| std::path::Path::new(r).join("portraits/flux-dev_man-stubble_1024.png"))
        .find(|p| p.exists());
    if let Some(p) = sample {
        let img = image::open(p).expect("sample decodes");
        let img = img.resize_exact(size, size, image::imageops::FilterType::Lanczos3);
        return (DynamicImage::ImageRgb8(img.to_rgb8()), None);
    }
    // Synthetic fallback: a smooth face with its box (the detector does not see drawn faces).
    let s = size as f32;
    let (bx, by, bw) = (s * 0.275, s * 0.22, s * 0.45);
    let img = image::RgbImage::from_fn(size, size, |x, y| {
        let (u, v) = ((x as f32 - bx) / bw, (y as f32 - by) / bw);
        let d = ((u - 0.5) / 0.52).powi(2) + ((v - 0.55) / 0.72).powi(2);
        if d < 1.0 {
            image::Rgb([219, 170, 140])
        } else {
            image::Rgb([110, 120, 140])
        }
    });
    (
        DynamicImage::ImageRgb8(img),
        Some(vec![FaceBox {
            x: bx,
            y: by,
            w: bw,
            h: bw,
            score: 20.0,
        }]),
    )
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("skin");
    g.sample_size(10);
    for size in [2048u32, 4096] {
        let (img, faces) = portrait(size);
        let cfg = SkinConfig::default();
        let own = SkinContext {
            faces: faces.clone(),
            ..SkinContext::default()
        };
        // What the profiler would hand over: the faces and the verdict, detected once.
        let first = apply(&img, &cfg, &own);
        assert!(
            matches!(first, SkinOutcome::Applied { .. }),
            "bench portrait must be treated"
        );
        let r = first.report();
        let given = SkinContext {
            preset_hint: None,
            classification: Some(Classification {
                kind: PictureKind::Photo,
                confidence: 0.9,
                reasons: vec![],
            }),
            faces: Some(r.faces.clone()),
            found: None,
            verdicts: None,
            ..SkinContext::default()
        };
        g.throughput(Throughput::Elements(size as u64 * size as u64));
        g.bench_function(format!("{size}x{size}/detect"), |b| {
            b.iter(|| black_box(apply(black_box(&img), &cfg, &own)))
        });
        g.bench_function(format!("{size}x{size}/faces-given"), |b| {
            b.iter(|| black_box(apply(black_box(&img), &cfg, &given)))
        });
    }
    if let Some(img) = scenes::small_faces() {
        let cfg = SkinConfig::default();
        let own = SkinContext::default();
        assert!(
            matches!(apply(&img, &cfg, &own), SkinOutcome::Applied { .. }),
            "the small faces must be treated"
        );
        g.throughput(Throughput::Elements(u64::from(img.width() * img.height())));
        g.bench_function("4096x2731/three-small-faces", |b| {
            b.iter(|| black_box(apply(black_box(&img), &cfg, &own)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
