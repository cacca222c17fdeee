//! The upscale stage: images below `min_long_edge` are enlarged to `target_long_edge`,
//! because pores need pixels. The engine is a closed choice:
//!
//! - **Lanczos3** (fast_image_resize, SIMD), built in: it keeps alpha (resized
//!   premultiplied, so edges do not fringe) and 16-bit depth;
//! - **ONNX** ([`onnx`]): a super-resolution model run by ONNX Runtime ([`runtime`],
//!   loaded only when configured), in tiles ([`tiles`]), sessions cached per model
//!   ([`model`]), then Lanczos3 to the exact size. It reads its model file; nothing else
//!   in the stage touches the filesystem.

pub mod model;
pub mod onnx;
pub mod runtime;
pub mod tiles;

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::DynamicImage;
use serde::Serialize;

use crate::config::{UpscaleConfig, UpscaleEngine};
use crate::error::JobError;

/// What the stage did, for the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpscaleDetails {
    /// The engine that ran.
    pub engine: &'static str,
    /// Size before.
    pub from: [u32; 2],
    /// Size after.
    pub to: [u32; 2],
    /// to / from along the long edge.
    pub factor: f64,
    /// What the ONNX engine did (model, provider, passes, finish).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub onnx: Option<onnx::OnnxDetails>,
}

impl UpscaleDetails {
    /// The stage's one-line summary.
    pub fn summary(&self) -> String {
        match &self.onnx {
            None => format!(
                "{} {}×{} → {}×{} (×{})",
                self.engine, self.from[0], self.from[1], self.to[0], self.to[1], self.factor
            ),
            Some(o) => {
                let n = o.passes.len();
                let reached = o.passes.last().map_or(self.to, |p| p.to);
                let fallback = if o.provider_fallback.is_some() {
                    " (requested GPU failed)"
                } else {
                    ""
                };
                let finish = match o.finish.split_whitespace().nth(1) {
                    Some(dir) if o.finish.starts_with("lanczos3") => {
                        format!(", lanczos3 {dir} to {}×{}", self.to[0], self.to[1])
                    }
                    _ => String::new(),
                };
                format!(
                    "onnx {} ×{} on {}{fallback}: {}×{} → {}×{} ({n} pass{}){finish}",
                    o.model,
                    o.scale,
                    o.provider,
                    self.from[0],
                    self.from[1],
                    reached[0],
                    reached[1],
                    if n == 1 { "" } else { "es" }
                )
            }
        }
    }
}

/// Whether the stage applies to an image of this size, and why (for the plan).
pub fn decide(width: u32, height: u32, cfg: &UpscaleConfig) -> Result<[u32; 2], String> {
    let long = width.max(height);
    if long >= cfg.min_long_edge {
        return Err(format!(
            "the long edge is {long} px, at or above min_long_edge ({} px)",
            cfg.min_long_edge
        ));
    }
    let target = target_size(width, height, cfg.target_long_edge);
    if target[0].max(target[1]) <= long {
        return Err(format!(
            "target_long_edge ({} px) is not larger than the image ({long} px)",
            cfg.target_long_edge
        ));
    }
    Ok(target)
}

/// The size with the long edge at `target_long`, the aspect ratio kept.
pub fn target_size(width: u32, height: u32, target_long: u32) -> [u32; 2] {
    let long = width.max(height).max(1);
    let scale = f64::from(target_long) / f64::from(long);
    let w = ((f64::from(width) * scale).round() as u32).max(1);
    let h = ((f64::from(height) * scale).round() as u32).max(1);
    if width >= height {
        [target_long, h]
    } else {
        [w, target_long]
    }
}

/// Resizes `img` to `to` with the configured engine. Only the ONNX engine can fail
/// (its model, or the model on this image); the error says what to do.
pub fn apply(
    img: &DynamicImage,
    to: [u32; 2],
    cfg: &UpscaleConfig,
) -> Result<(DynamicImage, UpscaleDetails), JobError> {
    let (out, engine, onnx) = match cfg.engine {
        UpscaleEngine::Lanczos => (lanczos(img, to), "lanczos3", None),
        UpscaleEngine::Onnx => {
            let (out, d) = onnx::upscale(img, to, cfg)?;
            (out, "onnx", Some(d))
        }
    };
    let details = UpscaleDetails {
        engine,
        from: [img.width(), img.height()],
        to,
        factor: (f64::from(to[0].max(to[1])) / f64::from(img.width().max(img.height())) * 1000.0)
            .round()
            / 1000.0,
        onnx,
    };
    Ok((out, details))
}

/// The memory a job may need at its peak for a `width`×`height` input, in bytes: the
/// decoded image, the upscaled one and the encoder's buffer at 16 bits per channel, and
/// for the ONNX engine its float buffers (see [`onnx::peak_bytes`]).
pub fn peak_bytes(width: u32, height: u32, cfg: &UpscaleConfig) -> u64 {
    let src = u64::from(width) * u64::from(height);
    let (dst, extra) = match decide(width, height, cfg) {
        Ok(to) => {
            let extra = match cfg.engine {
                UpscaleEngine::Lanczos => 0,
                UpscaleEngine::Onnx => onnx::peak_bytes(width, height, to),
            };
            (u64::from(to[0]) * u64::from(to[1]), extra)
        }
        Err(_) => (src, 0),
    };
    (src + 2 * dst) * 8 + extra
}

/// Lanczos3 resize of any 8- or 16-bit layout.
pub fn lanczos(img: &DynamicImage, to: [u32; 2]) -> DynamicImage {
    let mut dst = DynamicImage::new(to[0], to[1], img.color());
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    match Resizer::new().resize(img, &mut dst, &options) {
        Ok(()) => dst,
        // Layouts fast_image_resize lacks (none after decode's normalisation) fall
        // back to the image crate's slower Lanczos3, never to a failure.
        Err(_) => img.resize_exact(to[0], to[1], image::imageops::FilterType::Lanczos3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgba, RgbaImage};

    #[test]
    fn decides_from_the_long_edge() {
        let cfg = UpscaleConfig::default();
        assert_eq!(decide(1024, 768, &cfg), Ok([2048, 1536]));
        assert_eq!(decide(768, 1344, &cfg), Ok([1170, 2048]));
        assert!(decide(2048, 1000, &cfg).is_err());
    }

    #[test]
    fn keeps_alpha_and_16_bit() {
        let img = RgbaImage::from_fn(32, 16, |x, _| {
            Rgba([200, 100, 50, if x < 16 { 0 } else { 255 }])
        });
        let out = apply(
            &DynamicImage::ImageRgba8(img),
            [64, 32],
            &UpscaleConfig::default(),
        )
        .unwrap()
        .0;
        let out = out.as_rgba8().expect("still RGBA8");
        assert_eq!(out.get_pixel(2, 10)[3], 0, "transparent stays transparent");
        assert_eq!(out.get_pixel(60, 10).0, [200, 100, 50, 255]);

        let img16 = DynamicImage::ImageRgb16(image::ImageBuffer::from_pixel(
            10,
            10,
            image::Rgb([40000u16, 1000, 65535]),
        ));
        let out = apply(&img16, [20, 20], &UpscaleConfig::default())
            .unwrap()
            .0;
        assert_eq!(
            out.as_rgb16().unwrap().get_pixel(10, 10).0,
            [40000, 1000, 65535]
        );
    }
}
