//! The upscale stage, because pores need pixels: an image with a photographed face is
//! enlarged until the largest face reaches `face_px_per_mm` (within `max_factor` and
//! `max_output_megapixels`), and any image below `min_long_edge` reaches
//! `target_long_edge` ([`decide`] says which rule set the size). The engine is a closed
//! choice:
//!
//! - **Lanczos3** (fast_image_resize, SIMD), built in: it keeps alpha (resized
//!   premultiplied, so edges do not fringe) and 16-bit depth;
//! - **ONNX** ([`onnx`]): a super-resolution model run by ONNX Runtime ([`runtime`],
//!   loaded only when configured), in tiles ([`tiles`]), sessions cached per model
//!   ([`session`]), then Lanczos3 to the exact size. It reads its model file; nothing else
//!   in the stage touches the filesystem.

pub mod onnx;
pub mod runtime;
pub mod session;
pub mod settings;
pub mod tiles;

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::DynamicImage;
use serde::Serialize;

use crate::error::JobError;
pub use settings::{Device, UpscaleConfig, UpscaleEngine, model_is_path};

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

/// Which rule set the output size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SizeRule {
    /// The long edge was below `min_long_edge`: enlarged to `target_long_edge`.
    MinLongEdge,
    /// The largest photographed face reaches `face_px_per_mm`.
    FaceScale,
    /// The face rule wanted more; `max_factor` stopped it.
    MaxFactor,
    /// The face rule wanted more; `max_output_megapixels` stopped it.
    MaxMegapixels,
}

/// The size an image is enlarged to, the rule that set it and why, in a sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub to: [u32; 2],
    pub rule: SizeRule,
    pub reason: String,
}

/// Whether the stage applies to an image of this size, and to which size (for the plan).
///
/// `face_px_per_mm` is the scale of the largest photographed face, when one was found: the
/// image is then enlarged until that face reaches `[upscale] face_px_per_mm` (pores need
/// about 2 px), at most `max_factor` times and to `max_output_megapixels`. Whatever the
/// face asks, an image below `min_long_edge` still reaches `target_long_edge`.
pub fn decide(
    width: u32,
    height: u32,
    cfg: &UpscaleConfig,
    face_px_per_mm: Option<f32>,
) -> Result<Decision, String> {
    let long = width.max(height).max(1);
    let by_size = (long < cfg.min_long_edge).then_some(cfg.target_long_edge);
    let mut best: Option<(u32, SizeRule, String)> = by_size.map(|t| {
        (
            t,
            SizeRule::MinLongEdge,
            format!(
                "the long edge is {long} px, below min_long_edge ({} px)",
                cfg.min_long_edge
            ),
        )
    });
    let mut face_note = String::new();
    if let Some(ppm) = face_px_per_mm.filter(|p| *p > 0.0 && cfg.face_px_per_mm > 0.0) {
        let want = f64::from(cfg.face_px_per_mm) / f64::from(ppm);
        let by_factor = cfg.max_factor;
        let by_mp =
            (cfg.max_output_megapixels * 1e6 / (f64::from(width) * f64::from(height))).sqrt();
        let (factor, rule) = if want <= by_factor && want <= by_mp {
            (want, SizeRule::FaceScale)
        } else if by_factor <= by_mp {
            (by_factor, SizeRule::MaxFactor)
        } else {
            (by_mp, SizeRule::MaxMegapixels)
        };
        // Floor, so the caps hold after rounding.
        let t = (f64::from(long) * factor).floor().min(32768.0) as u32;
        let reached = f64::from(ppm) * f64::from(t) / f64::from(long);
        let why = match rule {
            SizeRule::FaceScale => format!(
                "the largest photographed face is at {ppm:.1} px/mm; ×{factor:.2} brings it to face_px_per_mm ({} px/mm, a 0.25 mm pore is {:.0} px)",
                cfg.face_px_per_mm,
                0.25 * cfg.face_px_per_mm
            ),
            SizeRule::MaxFactor => format!(
                "the largest photographed face is at {ppm:.1} px/mm and would need ×{want:.2} to reach face_px_per_mm ({} px/mm); max_factor (×{}) holds it at {reached:.1} px/mm",
                cfg.face_px_per_mm, cfg.max_factor
            ),
            _ => format!(
                "the largest photographed face is at {ppm:.1} px/mm and would need ×{want:.2} to reach face_px_per_mm ({} px/mm); max_output_megapixels ({} MP) holds it at {reached:.1} px/mm",
                cfg.face_px_per_mm, cfg.max_output_megapixels
            ),
        };
        if t > long && best.as_ref().is_none_or(|b| t > b.0) {
            best = Some((t, rule, why));
        } else if want <= 1.0 {
            face_note = format!(
                "; the largest photographed face is already at {ppm:.1} px/mm (face_px_per_mm is {})",
                cfg.face_px_per_mm
            );
        }
    }
    match best {
        Some((t, rule, why)) if t > long => {
            let to = target_size(width, height, t);
            Ok(Decision {
                to,
                rule,
                reason: format!(
                    "{why}: upscaling to {}×{} so skin detail has pixels to live in",
                    to[0], to[1]
                ),
            })
        }
        Some(_) => Err(format!(
            "target_long_edge ({} px) is not larger than the image ({long} px)",
            cfg.target_long_edge
        )),
        None => Err(format!(
            "the long edge is {long} px, at or above min_long_edge ({} px){face_note}",
            cfg.min_long_edge
        )),
    }
}

/// The largest size [`decide`] can choose for this image before its faces are known: what
/// admission control must reserve memory for.
pub fn largest_target(width: u32, height: u32, cfg: &UpscaleConfig) -> Option<[u32; 2]> {
    let tiny = (cfg.face_px_per_mm > 0.0).then_some(1e-3);
    decide(width, height, cfg, tiny).ok().map(|d| d.to)
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
    let (dst, extra) = match largest_target(width, height, cfg) {
        Some(to) => {
            let extra = match cfg.engine {
                UpscaleEngine::Lanczos => 0,
                UpscaleEngine::Onnx => onnx::peak_bytes(width, height, to),
            };
            (u64::from(to[0]) * u64::from(to[1]), extra)
        }
        None => (src, 0),
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
        let to = |w, h| decide(w, h, &cfg, None).map(|d| (d.to, d.rule));
        assert_eq!(to(1024, 768), Ok(([2048, 1536], SizeRule::MinLongEdge)));
        assert_eq!(to(768, 1344), Ok(([1170, 2048], SizeRule::MinLongEdge)));
        assert!(to(2048, 1000).is_err());
    }

    #[test]
    fn a_face_sets_the_size_within_the_caps() {
        let cfg = UpscaleConfig::default();
        let to = |w, h, ppm| decide(w, h, &cfg, Some(ppm)).map(|d| (d.to, d.rule));
        // 1024 px with a face at 2.5 px/mm: ×3.2 reaches 8 px/mm.
        assert_eq!(to(1024, 768, 2.5), Ok(([3276, 2457], SizeRule::FaceScale)));
        // A face at 1 px/mm would need ×8: max_factor holds it at ×4.
        assert_eq!(to(1024, 768, 1.0), Ok(([4096, 3072], SizeRule::MaxFactor)));
        // 3000×3000 with a face at 4 px/mm: ×2 would be 36 MP exactly; at 3.5 px/mm the
        // megapixel cap holds it.
        let (size, rule) = to(3000, 3000, 3.5).unwrap();
        assert_eq!(rule, SizeRule::MaxMegapixels);
        assert!(u64::from(size[0]) * u64::from(size[1]) <= 36_000_000);
        // A face the size rule already serves well: the size rule stands.
        assert_eq!(
            to(1024, 768, 7.0),
            Ok(([2048, 1536], SizeRule::MinLongEdge))
        );
        // Large enough and a face at 9 px/mm: nothing to do, and the plan says why.
        let why = decide(4000, 3000, &cfg, Some(9.0)).unwrap_err();
        assert!(why.contains("already at 9.0 px/mm"), "{why}");
        // The caps never push below target_long_edge.
        let small = decide(400, 300, &cfg, Some(0.5)).unwrap();
        assert_eq!(small.to, [2048, 1536]);
        // The face rule can be turned off.
        let off = UpscaleConfig {
            face_px_per_mm: 0.0,
            ..UpscaleConfig::default()
        };
        assert!(decide(4000, 3000, &off, Some(1.0)).is_err());
    }

    #[test]
    fn memory_is_reserved_for_the_largest_choice() {
        let cfg = UpscaleConfig::default();
        assert_eq!(largest_target(1024, 768, &cfg), Some([4096, 3072]));
        let big = largest_target(5000, 5000, &cfg).unwrap();
        assert!(u64::from(big[0]) * u64::from(big[1]) <= 36_000_000);
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
