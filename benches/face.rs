//! Criterion benchmark of face analysis (detection in tiles, two-pass landmarks, and the person
//! segmentation the skin mask uses) and of the per-face gate, on 2 threads, on a one-face and a
//! two-face portrait from `shared/samples` at 2048 px (the difference between the two is the
//! cost of one more face), on a 2048 px picture without people, and on three small faces on a
//! 4096 px canvas (the finer search).
//! Skipped when the samples are not there (the models need real faces to do their full work).

use criterion::{Criterion, criterion_group, criterion_main};
use image::DynamicImage;
use std::hint::black_box;

#[path = "common/scenes.rs"]
mod scenes;

fn sample(rel: &str) -> Option<DynamicImage> {
    let p = ["../shared/samples", "/work/shared/samples"]
        .iter()
        .map(|r| std::path::Path::new(r).join(rel))
        .find(|p| p.exists())?;
    let img = image::open(p).expect("sample decodes");
    let s = 2048.0 / img.width().max(img.height()) as f32;
    let (w, h) = (
        (img.width() as f32 * s) as u32,
        (img.height() as f32 * s) as u32,
    );
    Some(DynamicImage::ImageRgb8(
        img.resize_exact(w, h, image::imageops::FilterType::Lanczos3)
            .to_rgb8(),
    ))
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("face");
    g.sample_size(20);
    for (name, rel, want) in [
        ("one-face", "dev/ai-photo/nanobanana_id-photo.png", 1),
        (
            "two-faces",
            "dev/ai-photo/nanobanana-pro_selfie-two-men.png",
            2,
        ),
    ] {
        let Some(img) = sample(rel) else {
            eprintln!("shared/samples not found: face bench skipped");
            return;
        };
        let faces = realskin::face::analyse(&img, 2);
        assert_eq!(faces.len(), want, "{rel}");
        g.bench_function(format!("analyse-2048/{name}"), |b| {
            b.iter(|| black_box(realskin::face::analyse(black_box(&img), 2)))
        });
        if want == 1 {
            // The per-face gate (steps and irises), once per face.
            g.bench_function("gate-per-face", |b| {
                b.iter(|| {
                    black_box(realskin::pipeline::skin::gate::judge(
                        black_box(&img),
                        &faces[0],
                        realskin::pipeline::skin::space::Space::srgb(),
                    ))
                })
            });
        }
    }
    // Without people (a product shot): what looking closer at the detector's weak hints costs
    // where there is nothing to find.
    if let Some(img) = sample("dev/not-photo/noperson_real_berry-bowl.jpg") {
        assert!(realskin::face::analyse(&img, 2).is_empty());
        g.bench_function("analyse-2048/no-face", |b| {
            b.iter(|| black_box(realskin::face::analyse(black_box(&img), 2)))
        });
    }
    // Three faces of 90, 128 and 180 px on a 4096 px canvas, below the coarse search's
    // 256 px: found by looking closer.
    if let Some(img) = scenes::small_faces() {
        assert_eq!(realskin::face::analyse(&img, 2).len(), 3);
        g.bench_function("analyse-4096/three-small-faces", |b| {
            b.iter(|| black_box(realskin::face::analyse(black_box(&img), 2)))
        });
    }
    if let Some(img) = sample("dev/ai-photo/nanobanana_id-photo.png") {
        let copy = img
            .resize(512, 512, image::imageops::FilterType::Triangle)
            .to_rgb8();
        g.bench_function("people-segmentation", |b| {
            b.iter(|| black_box(realskin::face::people(black_box(&copy))))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
