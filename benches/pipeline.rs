//! The basic job, in process: decode a 1024×1024 photo-like PNG, Lanczos3 2× to
//! 2048×2048, encode PNG (fast and zlib-default compression) and JPEG q92.
//! `bench/vs-vips.sh` runs the same job beside libvips in one run for the ratio.

use criterion::{Criterion, criterion_group, criterion_main};
use realskin::config::{OutputConfig, OutputFormat, PngCompression, SkinConfig, UpscaleConfig};
use realskin::job::{JobSettings, render};
use realskin::pipeline::StageSettings;
use realskin::report::Report;

#[path = "../tests/common/fixtures.rs"]
mod fixtures;

fn settings(format: OutputFormat, png: PngCompression) -> JobSettings {
    JobSettings {
        profile: realskin::profile::ProfileOptions::default(),
        stages: StageSettings {
            upscale: UpscaleConfig {
                min_long_edge: 2048,
                target_long_edge: 2048,
                ..UpscaleConfig::default()
            },
            // The basic job compared with libvips: decode, resize, encode.
            skin: SkinConfig {
                enabled: false,
                ..SkinConfig::default()
            },
        },
        output: OutputConfig {
            format,
            png_compression: png,
            ..OutputConfig::default()
        },
        max_megapixels: 100.0,
    }
}

fn basic_job(c: &mut Criterion) {
    let mut png = Vec::new();
    fixtures::photo(1024, 1024, 1)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let mut group = c.benchmark_group("decode+lanczos2x+encode 1024->2048");
    group.sample_size(20);
    for (name, s) in [
        (
            "png-fast",
            settings(OutputFormat::Png, PngCompression::Fast),
        ),
        (
            "png-zlib6",
            settings(OutputFormat::Png, PngCompression::Default),
        ),
        (
            "jpeg-q92",
            settings(OutputFormat::Jpeg, PngCompression::Fast),
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut report = Report::new("in.png".as_ref(), "in.png".as_ref());
                // In memory: the file is not written (`realskin process` streams it).
                render("in.png", &png, &s, None, &mut report)
                    .unwrap()
                    .encoded
            })
        });
    }
    group.finish();
}

criterion_group!(benches, basic_job);
criterion_main!(benches);
