//! The ONNX upscaler with the project's own tiny models (`tests/models/`, written by
//! `models/tools/make_test_models.py`): sizes for ×2 and ×4, tiled equal to untiled,
//! float16, fixed and dynamic inputs, wrong models refused, 16-bit and alpha kept.
//!
//! ONNX Runtime is loaded from `ORT_DYLIB_PATH`, which `./scripts/test` sets (it
//! downloads the library once into `target/`), or wherever realskin would find it.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use image::{DynamicImage, ImageBuffer, Luma, Rgb, Rgba};
use realskin::config::{Device, UpscaleConfig, UpscaleEngine};
use realskin::pipeline::upscale::{self, onnx, session};

fn test_model(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/models")
        .join(format!("{name}.onnx"))
}

fn load(name: &str) -> Arc<session::SrModel> {
    session::cached(
        &test_model(name),
        Device::Cpu,
        std::path::Path::new(""),
        None,
    )
    .unwrap_or_else(|e| {
        panic!(
            "{e} {}\n(./scripts/test fetches ONNX Runtime and sets ORT_DYLIB_PATH)",
            e.hint
        )
    })
}

fn cfg(name: &str, tile: u32) -> UpscaleConfig {
    UpscaleConfig {
        engine: UpscaleEngine::Onnx,
        model: test_model(name).to_string_lossy().into_owned(),
        device: Device::Cpu,
        tile,
        ..UpscaleConfig::default()
    }
}

fn photo16(w: u32, h: u32) -> DynamicImage {
    let p = common::photo(w, h, 3);
    DynamicImage::ImageRgb16(ImageBuffer::from_fn(w, h, |x, y| {
        let c = p.get_pixel(x, y).0;
        // Spread to 16 bits with a fine ramp, so 16-bit precision is exercised.
        Rgb(c.map(|v| u16::from(v) * 257 - ((x + y) % 200) as u16))
    }))
}

/// The largest difference between two 16-bit RGB images, in 8-bit levels.
fn max_diff_levels(a: &DynamicImage, b: &DynamicImage) -> f64 {
    let (a, b) = (a.to_rgb16(), b.to_rgb16());
    assert_eq!(a.dimensions(), b.dimensions());
    a.as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| f64::from(x.abs_diff(*y)) / 257.0)
        .fold(0.0, f64::max)
}

#[test]
fn x2_and_x4_models_reach_the_target_size() {
    let img = DynamicImage::ImageRgb8(common::photo(150, 100, 1));
    let (out, d) = upscale::apply(&img, [300, 200], &cfg("sr-x2", 0), 1).unwrap();
    assert_eq!((out.width(), out.height()), (300, 200));
    let o = d.onnx.as_ref().unwrap();
    assert_eq!((o.scale, o.provider, o.passes.len()), (2, "cpu", 1));
    assert!(o.finish.starts_with("none"), "{}", o.finish);
    assert!(out.as_rgb8().is_some(), "8-bit RGB stays 8-bit RGB");

    let (out, d) = upscale::apply(&img, [600, 400], &cfg("sr-x4", 0), 1).unwrap();
    assert_eq!((out.width(), out.height()), (600, 400));
    assert_eq!(d.onnx.as_ref().unwrap().scale, 4);

    // ×3 with a ×4 model: one pass to 600×400, then Lanczos down, as the report says.
    let (out, d) = upscale::apply(&img, [450, 300], &cfg("sr-x4", 0), 1).unwrap();
    assert_eq!((out.width(), out.height()), (450, 300));
    let o = d.onnx.as_ref().unwrap();
    assert_eq!(o.passes.len(), 1);
    assert_eq!(o.finish, "lanczos3 down 600×400 → 450×300");
    assert_eq!(
        d.summary(),
        "onnx sr-x4.onnx ×4 on cpu: 150×100 → 600×400 (1 pass), lanczos3 down to 450×300"
    );
}

#[test]
fn the_model_output_is_the_nearest_upscale_plus_detail() {
    // The test models are nearest-neighbour plus a small learned residual: the result
    // stays close to the input, so colours are not swapped or shifted.
    let img = DynamicImage::ImageRgb8(common::photo(64, 48, 2));
    let (out, _) = upscale::apply(&img, [128, 96], &cfg("sr-x2", 0), 1).unwrap();
    let (a, b) = (img.to_rgb8(), out.to_rgb8());
    let mut total = 0f64;
    for (x, y, p) in b.enumerate_pixels() {
        let q = a.get_pixel(x / 2, y / 2);
        for c in 0..3 {
            total += f64::from(p[c].abs_diff(q[c]));
        }
    }
    let mean = total / f64::from(128 * 96 * 3);
    assert!(
        mean < 40.0,
        "mean difference from the input {mean:.1} levels"
    );
}

#[test]
fn tiled_equals_untiled_within_one_level() {
    for name in ["sr-x2", "sr-x4"] {
        let m = load(name);
        let img = photo16(203, 131);
        let to = [203 * m.scale, 131 * m.scale];
        let (whole, dw) = onnx::upscale_with(&m, &img, to, 4096).unwrap();
        let (tiled, dt) = onnx::upscale_with(&m, &img, to, 64).unwrap();
        assert_eq!(dw.passes[0].tiles, 1, "one tile: the untiled reference");
        assert!(dt.passes[0].tiles >= 6, "{:?}", dt.passes[0]);
        let diff = max_diff_levels(&whole, &tiled);
        eprintln!("{name}: tiled vs untiled, max difference {diff:.4} levels of 255");
        assert!(
            diff <= 1.0,
            "{name}: tiled differs from untiled by {diff:.3} levels"
        );
        assert!(whole.as_rgb16().is_some(), "16-bit stays 16-bit");
    }
}

#[test]
fn float16_model_matches_the_float32_one() {
    let img = DynamicImage::ImageRgb8(common::photo(120, 90, 4));
    let (a, _) = upscale::apply(&img, [240, 180], &cfg("sr-x2", 0), 1).unwrap();
    let (b, d) = upscale::apply(&img, [240, 180], &cfg("sr-x2-fp16", 0), 1).unwrap();
    assert_eq!(d.onnx.as_ref().unwrap().precision, "float16");
    let diff = max_diff_levels(&a, &b);
    assert!(diff <= 2.0, "float16 differs by {diff:.2} levels");
}

#[test]
fn fixed_size_models_run_in_tiles_of_their_size_and_match_dynamic_ones() {
    let img = DynamicImage::ImageRgb8(common::photo(150, 100, 5));
    let (fixed, d) = upscale::apply(&img, [300, 200], &cfg("sr-x2-fixed64", 0), 1).unwrap();
    let o = d.onnx.as_ref().unwrap();
    assert_eq!(o.input, "fixed 64×64");
    assert_eq!(o.passes[0].tile, [64, 64]);
    assert!(o.passes[0].tiles > 1);
    let (dynamic, _) = upscale::apply(&img, [300, 200], &cfg("sr-x2", 0), 1).unwrap();
    let diff = max_diff_levels(&fixed, &dynamic);
    assert!(diff <= 1.0, "fixed vs dynamic: {diff:.3} levels");

    // An image smaller than the fixed size is padded to it, and cropped after.
    let small = DynamicImage::ImageRgb8(common::photo(40, 30, 6));
    let (out, _) = upscale::apply(&small, [80, 60], &cfg("sr-x2-fixed64", 0), 1).unwrap();
    assert_eq!((out.width(), out.height()), (80, 60));
}

#[test]
fn models_that_are_not_super_resolution_are_refused_naming_file_and_reason() {
    for (name, why) in [
        ("not-sr-rank", "rank 2"),
        ("not-sr-gray", "1 channel"),
        ("not-sr-fractional", "not a whole multiple"),
    ] {
        let path = test_model(name);
        let err =
            session::cached(&path, Device::Cpu, std::path::Path::new(""), None).expect_err(name);
        assert!(
            err.what.contains(&path.display().to_string()),
            "{name}: {}",
            err.what
        );
        assert!(err.what.contains(why), "{name}: {}", err.what);
        assert!(err.hint.contains("super-resolution"), "{}", err.hint);
    }
    let missing = test_model("no-such-model");
    let err = session::cached(&missing, Device::Cpu, std::path::Path::new(""), None).unwrap_err();
    assert!(err.what.contains("no-such-model.onnx"), "{}", err.what);
    assert!(err.hint.contains("models install"), "{}", err.hint);
}

#[test]
fn large_factors_run_the_model_again_and_land_on_the_target() {
    let img = DynamicImage::ImageRgb8(common::photo(100, 50, 7));
    let (out, d) = upscale::apply(&img, [300, 150], &cfg("sr-x2", 0), 1).unwrap();
    assert_eq!((out.width(), out.height()), (300, 150));
    let o = d.onnx.as_ref().unwrap();
    assert_eq!(o.passes.len(), 2, "{o:?}");
    assert_eq!(o.passes[1].reduced_from, Some([200, 100]));
    assert_eq!(o.passes[1].to, [300, 150]);
    assert!(o.finish.starts_with("none"));
}

#[test]
fn sixteen_bit_alpha_and_grey_keep_their_layout() {
    let rgba = DynamicImage::ImageRgba16(ImageBuffer::from_fn(80, 60, |x, y| {
        let a = if x < 40 { 0 } else { 65535 };
        Rgba([(x * 800) as u16, (y * 1000) as u16, 30000, a])
    }));
    let (out, d) = upscale::apply(&rgba, [160, 120], &cfg("sr-x2", 0), 1).unwrap();
    let o = out.as_rgba16().expect("RGBA16 stays RGBA16");
    assert_eq!(o.get_pixel(10, 60)[3], 0, "transparent stays transparent");
    assert_eq!(o.get_pixel(150, 60)[3], 65535, "opaque stays opaque");
    assert!(d.onnx.as_ref().unwrap().alpha.is_some());

    let grey = DynamicImage::ImageLuma8(ImageBuffer::from_fn(50, 40, |x, y| {
        Luma([((x + y) * 2) as u8])
    }));
    let (out, _) = upscale::apply(&grey, [100, 80], &cfg("sr-x2", 0), 1).unwrap();
    assert!(out.as_luma8().is_some(), "grey stays grey");
}
