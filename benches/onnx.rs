//! Lanczos3 against an SRVGGNetCompact-shaped ×4 model (random weights) on a 512×512
//! input going to 2048×2048: output megapixels per second (criterion's `Melem/s`, one
//! element per output pixel), and the cost of tiling against one untiled run.
//!
//! `scripts/bench-onnx` makes the model (`target/onnx-bench/srvgg-x4.onnx`, with
//! `models/tools/make_test_models.py`), fetches ONNX Runtime and runs this.
//! `REALSKIN_BENCH_MODEL` and `REALSKIN_BENCH_DEVICE` (`cpu`, `cuda`...) override.

use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput};
use image::DynamicImage;
use realskin::config::Device;
use realskin::pipeline::upscale::{self, onnx, session};

#[path = "../tests/common/fixtures.rs"]
mod fixtures;

const EDGE: u32 = 512;

fn main() {
    let path = std::env::var_os("REALSKIN_BENCH_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/onnx-bench/srvgg-x4.onnx")
        });
    if !path.is_file() {
        eprintln!(
            "{} is missing: run scripts/bench-onnx, which writes it with models/tools/make_test_models.py --bench target/onnx-bench",
            path.display()
        );
        std::process::exit(2);
    }
    let device = match std::env::var("REALSKIN_BENCH_DEVICE").as_deref() {
        Ok("cuda") => Device::Cuda,
        Ok("tensorrt") => Device::Tensorrt,
        Ok("auto") => Device::Auto,
        _ => Device::Cpu,
    };
    session::set_parallel_jobs(1);
    let m = session::cached(&path, device, std::path::Path::new(""), None).unwrap_or_else(|e| {
        eprintln!("{e} {}", e.hint);
        std::process::exit(2);
    });
    eprintln!(
        "model {} ×{} {} on {} ({} threads)",
        path.display(),
        m.scale,
        m.precision.name(),
        m.provider,
        m.threads
    );
    let img = DynamicImage::ImageRgb8(fixtures::photo(EDGE, EDGE, 1));
    let to = [EDGE * m.scale, EDGE * m.scale];

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group(format!("upscale {EDGE}x{EDGE} to {}x{}", to[0], to[1]));
    group.throughput(Throughput::Elements(u64::from(to[0]) * u64::from(to[1])));
    group.sample_size(10);
    group.bench_function("lanczos3", |b| b.iter(|| upscale::lanczos(&img, to)));
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(20));
    for (name, tile) in [
        ("srvgg-x4 untiled", EDGE),
        ("srvgg-x4 tiles<=256", 256),
        ("srvgg-x4 tiles<=128", 128),
    ] {
        let (_, d) = onnx::upscale_with(&m, &img, to, tile).unwrap();
        eprintln!(
            "{name}: {} tiles of {}×{}",
            d.passes[0].tiles, d.passes[0].tile[0], d.passes[0].tile[1]
        );
        group.bench_function(name, |b| {
            b.iter(|| onnx::upscale_with(&m, &img, to, tile).unwrap())
        });
    }
    group.finish();
    c.final_summary();
}
