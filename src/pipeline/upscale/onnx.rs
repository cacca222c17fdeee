//! The ONNX super-resolution engine: runs a model (once, or again for large factors)
//! in overlapping, feathered tiles, then Lanczos3 to the exact target size.
//!
//! How an image goes through:
//! 1. its colour goes to float RGB in [0, 1] (grey is spread to RGB and folded back at
//!    the end); its alpha is set aside and resized with Lanczos3 alone, since models
//!    know nothing of transparency;
//! 2. the passes are planned ([`plan_passes`]): one model pass, or more while the model
//!    alone falls short by more than [`LANCZOS_FINISH_MAX`], so Lanczos never does what
//!    another model pass would do better. Before the last of several passes, the
//!    intermediate (model output, never the original) is brought down to the target
//!    divided by the scale, so that pass lands on the target instead of far beyond it;
//! 3. each pass runs tile by tile ([`tiles`]), the input padded by edge
//!    replication to the model's alignment (or fixed size), the output blended;
//! 4. Lanczos3 takes the result to the exact target (down when the model overshoots),
//!    and it goes back to the input's layout and depth: 16-bit stays 16-bit.
//!
//! The report records the model, the provider that ran it, every pass and the finish.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use image::{DynamicImage, ImageBuffer, Luma, LumaA, Rgb, Rgb32FImage, Rgba};
use serde::Serialize;

use super::UpscaleConfig;
use super::session::{self, SrModel};
use super::tiles;
use crate::diagnostics::Severity;
use crate::error::JobError;
use crate::pipeline::millis;

/// The most Lanczos may enlarge a model's output to reach the target; beyond it another
/// model pass runs.
pub const LANCZOS_FINISH_MAX: f64 = 1.1;

/// The most model passes for one image.
pub const MAX_PASSES: usize = 3;

/// What the ONNX engine did, for the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OnnxDetails {
    /// The model as configured (manifest name or file name).
    pub model: String,
    /// Its file.
    pub file: String,
    /// Its scale, from the probe.
    pub scale: u32,
    /// `float32` or `float16`.
    pub precision: &'static str,
    /// `dynamic`, or `fixed W×H`.
    pub input: String,
    /// The execution provider that ran it (`cpu`, `cuda`...).
    pub provider: &'static str,
    /// Why the requested provider did not run it, when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_fallback: Option<String>,
    /// Intra-op threads of its session.
    pub threads: usize,
    /// Each model pass.
    pub passes: Vec<PassRecord>,
    /// How the exact size was reached after the passes.
    pub finish: String,
    /// How alpha was handled, when there was alpha.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha: Option<&'static str>,
}

/// One model pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassRecord {
    /// Input size of the model pass.
    pub from: [u32; 2],
    /// Its output size.
    pub to: [u32; 2],
    /// Set when the intermediate was brought down first (from this size), so the pass
    /// lands on the target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reduced_from: Option<[u32; 2]>,
    /// Tile size (width, height) in input pixels.
    pub tile: [u32; 2],
    /// Number of tiles.
    pub tiles: u32,
    /// Wall time in milliseconds.
    pub ms: f64,
}

/// One planned model pass: optionally bring the input to `reduce_to` first, then run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedPass {
    /// Resize the pass input to this first (only ever down, only for an intermediate).
    pub reduce_to: Option<[u32; 2]>,
    /// The pass's input size.
    pub input: [u32; 2],
    /// Its output size.
    pub output: [u32; 2],
}

/// The model passes from `from` to `to` for a model of `scale`.
pub fn plan_passes(from: [u32; 2], to: [u32; 2], scale: u32) -> Vec<PlannedPass> {
    let long = |s: [u32; 2]| f64::from(s[0].max(s[1]).max(1));
    let factor = long(to) / long(from);
    let s = f64::from(scale.max(2));
    let mut count = 1;
    while count < MAX_PASSES && s.powi(count as i32) * LANCZOS_FINISH_MAX < factor {
        count += 1;
    }
    let mut cur = from;
    let mut passes = Vec::with_capacity(count);
    for i in 0..count {
        let mut reduce_to = None;
        if i > 0 && i + 1 == count {
            let need = [to[0].div_ceil(scale).max(1), to[1].div_ceil(scale).max(1)];
            if need[0] < cur[0] && need[1] < cur[1] {
                reduce_to = Some(need);
                cur = need;
            }
        }
        let output = [cur[0] * scale, cur[1] * scale];
        passes.push(PlannedPass {
            reduce_to,
            input: cur,
            output,
        });
        cur = output;
    }
    passes
}

/// Upscales `img` to exactly `to` with the configured model.
pub fn upscale(
    img: &DynamicImage,
    to: [u32; 2],
    cfg: &UpscaleConfig,
) -> Result<(DynamicImage, OnnxDetails), JobError> {
    let resolved = crate::models::resolve(&cfg.model, &cfg.models_dir)
        .map_err(|e| JobError::input("upscale-model", e.what, e.hint))?;
    let model = session::cached(&resolved.path, cfg.device, &cfg.onnxruntime, None)
        .map_err(|e| JobError::input("upscale-model", e.what, e.hint))?;
    let (out, mut details) = upscale_with(&model, img, to, cfg.tile).map_err(|e| {
        JobError::input(
            "upscale",
            format!(
                "The super-resolution model {} failed on this image: {e}.",
                resolved.path.display()
            ),
            "If it ran out of memory, set a smaller [upscale] tile (or device = \"cpu\"); otherwise drop the image in again, or switch to engine = \"lanczos\" for now.",
        )
    })?;
    details.model = resolved.name;
    Ok((out, details))
}

/// Upscales with an already loaded model; `tile` 0 picks the tile size from memory.
pub fn upscale_with(
    model: &SrModel,
    img: &DynamicImage,
    to: [u32; 2],
    tile: u32,
) -> Result<(DynamicImage, OnnxDetails), String> {
    let from = [img.width(), img.height()];
    let alpha = alpha_of(img);
    let mut rgb = img.to_rgb32f();
    let max_tile = if tile > 0 { tile } else { auto_tile(model) };
    let mut passes = Vec::new();
    for planned in plan_passes(from, to, model.scale) {
        let t = Instant::now();
        let reduced_from = planned.reduce_to.map(|size| {
            let before = [rgb.width(), rgb.height()];
            rgb = resize_f32(&rgb, size);
            before
        });
        let (out, tile_wh, count) = infer(model, &rgb, max_tile)?;
        passes.push(PassRecord {
            from: [rgb.width(), rgb.height()],
            to: [out.width(), out.height()],
            reduced_from,
            tile: tile_wh,
            tiles: count,
            ms: millis(t),
        });
        rgb = out;
    }
    let reached = [rgb.width(), rgb.height()];
    let finish = if reached == to {
        "none: the model output is the target size".to_string()
    } else {
        let dir = if reached[0] > to[0] { "down" } else { "up" };
        rgb = resize_f32(&rgb, to);
        format!(
            "lanczos3 {dir} {}×{} → {}×{}",
            reached[0], reached[1], to[0], to[1]
        )
    };
    let alpha = alpha.map(|a| super::lanczos(&a, to));
    let has_alpha = alpha.is_some();
    let out = rebuild(img, &rgb, alpha);
    let details = OnnxDetails {
        model: model_file_name(&model.path),
        file: model.path.display().to_string(),
        scale: model.scale,
        precision: model.precision.name(),
        input: model.input_kind(),
        provider: model.provider,
        provider_fallback: model.fallback.clone(),
        threads: model.threads,
        passes,
        finish,
        alpha: has_alpha.then_some("lanczos3, separately from the colour"),
    };
    Ok((out, details))
}

fn model_file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Tile edge for `tile = 0`: a GPU gets 512 (its memory is not visible from here); the
/// CPU gets what a quarter of the free memory, shared by the parallel jobs, holds.
fn auto_tile(model: &SrModel) -> u32 {
    if model.provider != "cpu" {
        return 512;
    }
    let free = sysinfo::System::new()
        .ok()
        .map(|mut s| {
            s.refresh_memory();
            s.available_memory()
        })
        .filter(|m| *m > 0)
        .unwrap_or(4 << 30);
    let budget = free / 4 / session::parallel_jobs() as u64;
    // Per input pixel: input and output tiles in ORT and here (float32, RGB), and the
    // activations of a 64-feature network, a few layers alive at once.
    let s2 = u64::from(model.scale * model.scale);
    let per_pixel = 4 * 3 * (1 + s2) * 2 + 64 * 4 * 4;
    let edge = ((budget / per_pixel) as f64).sqrt() as u32;
    (edge.clamp(128, 1024) / 16) * 16
}

/// Runs `model` over `img` in tiles of at most `max_tile`; returns the result, the tile
/// size used (width, height) and the number of tiles.
fn infer(
    model: &SrModel,
    img: &Rgb32FImage,
    max_tile: u32,
) -> Result<(Rgb32FImage, [u32; 2], u32), String> {
    let (w, h) = img.dimensions();
    let s = model.scale;
    // Per axis (0 = height, 1 = width): padded length, tile length, overlap.
    let axis = |len: u32, fixed: Option<u32>| -> (u32, u32, u32) {
        match fixed {
            Some(f) => (len.max(f), f, tiles::overlap_for(f)),
            None => {
                let align = model.align;
                let padded = len.div_ceil(align) * align;
                let max_tile = max_tile.div_ceil(align).max(1) * align;
                (
                    padded,
                    tiles::balanced_tile(padded, max_tile, align),
                    tiles::overlap_for(max_tile),
                )
            }
        }
    };
    let (ph, th, oh) = axis(h, model.fixed[0]);
    let (pw, tw, ow) = axis(w, model.fixed[1]);
    let ys = tiles::spans(ph, th, oh);
    let xs = tiles::spans(pw, tw, ow);
    let wy = tiles::weights(&ys, s);
    let wx = tiles::weights(&xs, s);
    let (out_w, out_h) = (w * s, h * s);
    let mut out = vec![0f32; out_w as usize * out_h as usize * 3];
    let src = img.as_raw();
    for (sy, wy) in ys.iter().zip(&wy) {
        for (sx, wx) in xs.iter().zip(&wx) {
            let (tile_h, tile_w) = (sy.len, sx.len);
            let plane = (tile_h * tile_w) as usize;
            let mut data = vec![0f32; 3 * plane];
            for y in 0..tile_h {
                let iy = (sy.start + y).min(h - 1) as usize;
                for x in 0..tile_w {
                    let ix = (sx.start + x).min(w - 1) as usize;
                    let p = (iy * w as usize + ix) * 3;
                    let t = (y * tile_w + x) as usize;
                    for c in 0..3 {
                        data[c * plane + t] = src[p + c].clamp(0.0, 1.0);
                    }
                }
            }
            let result = model.run(data, tile_h, tile_w)?;
            let (rh, rw) = (tile_h * s, tile_w * s);
            let rplane = (rh * rw) as usize;
            for y in 0..rh {
                let gy = sy.start * s + y;
                if gy >= out_h {
                    break;
                }
                let fy = wy[y as usize];
                if fy == 0.0 {
                    continue;
                }
                for x in 0..rw {
                    let gx = sx.start * s + x;
                    if gx >= out_w {
                        break;
                    }
                    let f = fy * wx[x as usize];
                    if f == 0.0 {
                        continue;
                    }
                    let o = (gy as usize * out_w as usize + gx as usize) * 3;
                    let r = (y * rw + x) as usize;
                    for c in 0..3 {
                        out[o + c] += result[c * rplane + r] * f;
                    }
                }
            }
        }
    }
    let image = Rgb32FImage::from_raw(out_w, out_h, out).ok_or("internal: output buffer size")?;
    Ok((image, [tw, th], (ys.len() * xs.len()) as u32))
}

/// Lanczos3 on float RGB.
fn resize_f32(img: &Rgb32FImage, to: [u32; 2]) -> Rgb32FImage {
    let src = DynamicImage::ImageRgb32F(img.clone());
    match super::lanczos(&src, to) {
        DynamicImage::ImageRgb32F(out) => out,
        other => other.to_rgb32f(),
    }
}

/// The alpha channel alone (as grey of the same depth), when the image has one.
fn alpha_of(img: &DynamicImage) -> Option<DynamicImage> {
    match img {
        DynamicImage::ImageLumaA8(i) => Some(DynamicImage::ImageLuma8(ImageBuffer::from_fn(
            i.width(),
            i.height(),
            |x, y| Luma([i.get_pixel(x, y)[1]]),
        ))),
        DynamicImage::ImageRgba8(i) => Some(DynamicImage::ImageLuma8(ImageBuffer::from_fn(
            i.width(),
            i.height(),
            |x, y| Luma([i.get_pixel(x, y)[3]]),
        ))),
        DynamicImage::ImageLumaA16(i) => Some(DynamicImage::ImageLuma16(ImageBuffer::from_fn(
            i.width(),
            i.height(),
            |x, y| Luma([i.get_pixel(x, y)[1]]),
        ))),
        DynamicImage::ImageRgba16(i) => Some(DynamicImage::ImageLuma16(ImageBuffer::from_fn(
            i.width(),
            i.height(),
            |x, y| Luma([i.get_pixel(x, y)[3]]),
        ))),
        _ => None,
    }
}

/// The result in the input's layout and depth, with the resized alpha put back.
fn rebuild(
    original: &DynamicImage,
    rgb: &Rgb32FImage,
    alpha: Option<DynamicImage>,
) -> DynamicImage {
    let (w, h) = rgb.dimensions();
    let q8 = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    let q16 = |v: f32| (v.clamp(0.0, 1.0) * 65535.0).round() as u16;
    let luma = |p: &Rgb<f32>| 0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2];
    let a8 = |x: u32, y: u32| match &alpha {
        Some(DynamicImage::ImageLuma8(a)) => a.get_pixel(x, y)[0],
        _ => 255,
    };
    let a16 = |x: u32, y: u32| match &alpha {
        Some(DynamicImage::ImageLuma16(a)) => a.get_pixel(x, y)[0],
        _ => 65535,
    };
    match original {
        DynamicImage::ImageLuma8(_) => {
            DynamicImage::ImageLuma8(ImageBuffer::from_fn(w, h, |x, y| {
                Luma([q8(luma(rgb.get_pixel(x, y)))])
            }))
        }
        DynamicImage::ImageLumaA8(_) => {
            DynamicImage::ImageLumaA8(ImageBuffer::from_fn(w, h, |x, y| {
                LumaA([q8(luma(rgb.get_pixel(x, y))), a8(x, y)])
            }))
        }
        DynamicImage::ImageLuma16(_) => {
            DynamicImage::ImageLuma16(ImageBuffer::from_fn(w, h, |x, y| {
                Luma([q16(luma(rgb.get_pixel(x, y)))])
            }))
        }
        DynamicImage::ImageLumaA16(_) => {
            DynamicImage::ImageLumaA16(ImageBuffer::from_fn(w, h, |x, y| {
                LumaA([q16(luma(rgb.get_pixel(x, y))), a16(x, y)])
            }))
        }
        DynamicImage::ImageRgba8(_) => {
            DynamicImage::ImageRgba8(ImageBuffer::from_fn(w, h, |x, y| {
                let p = rgb.get_pixel(x, y);
                Rgba([q8(p[0]), q8(p[1]), q8(p[2]), a8(x, y)])
            }))
        }
        DynamicImage::ImageRgb16(_) => {
            DynamicImage::ImageRgb16(ImageBuffer::from_fn(w, h, |x, y| {
                let p = rgb.get_pixel(x, y);
                Rgb([q16(p[0]), q16(p[1]), q16(p[2])])
            }))
        }
        DynamicImage::ImageRgba16(_) => {
            DynamicImage::ImageRgba16(ImageBuffer::from_fn(w, h, |x, y| {
                let p = rgb.get_pixel(x, y);
                Rgba([q16(p[0]), q16(p[1]), q16(p[2]), a16(x, y)])
            }))
        }
        _ => DynamicImage::ImageRgb8(ImageBuffer::from_fn(w, h, |x, y| {
            let p = rgb.get_pixel(x, y);
            Rgb([q8(p[0]), q8(p[1]), q8(p[2])])
        })),
    }
}

/// The bytes an ONNX job may hold at its peak for a `w`×`h` input going to `to`: the
/// float images before and after the largest pass, the final image and a tile's worth
/// of runtime buffers. The model's scale is taken from the cache when loaded, else 4.
pub fn peak_bytes(w: u32, h: u32, to: [u32; 2]) -> u64 {
    let scale = session::loaded_scale().unwrap_or(4);
    let passes = plan_passes([w, h], to, scale);
    let biggest = passes
        .iter()
        .map(|p| {
            u64::from(p.input[0]) * u64::from(p.input[1])
                + u64::from(p.output[0]) * u64::from(p.output[1])
        })
        .max()
        .unwrap_or(0);
    let target = u64::from(to[0]) * u64::from(to[1]);
    biggest * 12 + target * 16 + (256 << 20)
}

/// A problem [`check`] found in one `[upscale]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// Which of the sections given (their order).
    pub section: usize,
    /// The key under it: `onnxruntime` or `model`.
    pub key: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// Start-up check of ONNX `[upscale]` sections (named by `names`, for messages): the
/// library loads, each model resolves, loads, is a super-resolution model, and matches
/// the manifest's scale. Loaded models stay in the cache, so the first job does not pay
/// for them; call [`session::set_parallel_jobs`] first so they are made for that many jobs.
pub fn check(sections: &[(String, &UpscaleConfig)], state_dir: &Path) -> Vec<Finding> {
    let mut found = Vec::new();
    let Some((first, first_cfg)) = sections.first() else {
        return found;
    };
    for (i, (_, u)) in sections.iter().enumerate() {
        if u.onnxruntime != first_cfg.onnxruntime {
            found.push(Finding {
                severity: Severity::Error,
                section: i,
                key: "onnxruntime",
                message: format!(
                    "differs from `{first}.onnxruntime` ({}); one process loads one ONNX Runtime: set `onnxruntime` under the global [upscale] only",
                    first_cfg.onnxruntime.display()
                ),
            });
        }
    }
    if let Err(e) = super::runtime::runtime(&first_cfg.onnxruntime, Some(state_dir)) {
        found.push(Finding {
            severity: Severity::Error,
            section: 0,
            key: "onnxruntime",
            message: sentence(&e.what, &e.hint),
        });
        return found;
    }
    for (i, (_, u)) in sections.iter().enumerate() {
        let mut problem = |severity, message| {
            found.push(Finding {
                severity,
                section: i,
                key: "model",
                message,
            })
        };
        let resolved = match crate::models::resolve(&u.model, &u.models_dir) {
            Ok(r) => r,
            Err(e) => {
                problem(Severity::Error, sentence(&e.what, &e.hint));
                continue;
            }
        };
        let m = match session::cached(&resolved.path, u.device, &u.onnxruntime, Some(state_dir)) {
            Ok(m) => m,
            Err(e) => {
                problem(Severity::Error, sentence(&e.what, &e.hint));
                continue;
            }
        };
        if let Some(why) = &m.fallback {
            problem(
                Severity::Warning,
                format!(
                    "device = \"{}\" did not start for {} ({why}); it runs on the CPU instead. `realskin models doctor` shows the providers this ONNX Runtime offers",
                    serde_json::to_value(u.device)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default(),
                    resolved.path.display()
                ),
            );
        }
        if let Some(expected) = resolved.expected_scale
            && expected != m.scale
        {
            problem(
                Severity::Error,
                format!(
                    "{}: the models manifest says `{}` upscales ×{expected}, but the file upscales ×{}; it is not the model of that name. Reinstall it with `realskin models install {} --force`, or set `model` to the file's path",
                    resolved.path.display(),
                    resolved.name,
                    m.scale,
                    resolved.name
                ),
            );
        }
    }
    found
}

/// `what` and `hint` as one message.
fn sentence(what: &str, hint: &str) -> String {
    let what = what.trim_end();
    if what.ends_with('.') || hint.is_empty() {
        format!("{what} {hint}").trim_end().to_string()
    } else {
        format!("{what}. {hint}")
    }
}

/// Loads the model of `cfg` (the runtime from `state_dir`'s search too) and returns it,
/// for `realskin models bench` and `doctor`.
pub fn load_for(
    cfg: &UpscaleConfig,
    state_dir: &Path,
) -> Result<(crate::models::Resolved, Arc<SrModel>), String> {
    let resolved = crate::models::resolve(&cfg.model, &cfg.models_dir)
        .map_err(|e| sentence(&e.what, &e.hint))?;
    let m = session::cached(
        &resolved.path,
        cfg.device,
        &cfg.onnxruntime,
        Some(state_dir),
    )
    .map_err(|e| sentence(&e.what, &e.hint))?;
    Ok((resolved, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_then_lanczos_down_when_the_model_overshoots() {
        let p = plan_passes([500, 400], [1000, 800], 4);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].output, [2000, 1600]);
        assert_eq!(p[0].reduce_to, None);
    }

    #[test]
    fn a_small_shortfall_is_left_to_lanczos() {
        // ×4.2 with a ×4 model: Lanczos finishes the last 5 %.
        let p = plan_passes([500, 500], [2100, 2100], 4);
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn large_factors_run_the_model_again_landing_on_the_target() {
        // ×3 with a ×2 model: 2 passes; the second starts from the target / 2.
        let p = plan_passes([100, 50], [300, 150], 2);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].output, [200, 100]);
        assert_eq!(p[1].reduce_to, Some([150, 75]));
        assert_eq!(p[1].output, [300, 150]);
        // ×16 with a ×4 model: exactly two passes, nothing reduced.
        let p = plan_passes([64, 64], [1024, 1024], 4);
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].reduce_to, None);
        assert_eq!(p[1].output, [1024, 1024]);
    }

    #[test]
    fn passes_are_capped() {
        assert_eq!(plan_passes([10, 10], [10000, 10000], 2).len(), MAX_PASSES);
    }
}
