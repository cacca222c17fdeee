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

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
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

/// Resizes `img` to `to` with the configured engine, Lanczos3 on up to `threads` threads
/// (the bytes do not depend on it). Only the ONNX engine can fail (its model, or the model
/// on this image); the error says what to do.
pub fn apply(
    img: &DynamicImage,
    to: [u32; 2],
    cfg: &UpscaleConfig,
    threads: usize,
) -> Result<(DynamicImage, UpscaleDetails), JobError> {
    let (out, engine, onnx) = match cfg.engine {
        UpscaleEngine::Lanczos => (lanczos_on(img, to, threads), "lanczos3", None),
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

/// Lanczos3 resize of any 8- or 16-bit layout, on one thread. The bytes are those of
/// [`lanczos_on`] at any thread count.
pub fn lanczos(img: &DynamicImage, to: [u32; 2]) -> DynamicImage {
    lanczos_on(img, to, 1)
}

/// The fewest output rows in a band of [`lanczos_on`], and the most bands. The bands depend
/// on the picture's height alone, so they, and the bytes, are the same whatever the number
/// of threads. Each band computes its own filter weights (about 0.8 ms for a 4096 px wide
/// output), so a 4096² output on one thread takes 9 % longer in four bands than in one
/// resize, and on two threads 0.6 of the time.
const BAND_MIN_ROWS: u32 = 1024;
const MAX_BANDS: u32 = 8;

/// Output rows per band for an output `h` rows high.
fn band_rows(h: u32) -> u32 {
    BAND_MIN_ROWS.max(h.div_ceil(MAX_BANDS))
}

/// Lanczos3 resize of any 8- or 16-bit layout, in horizontal bands of the output on up to
/// `threads` threads. Each band is resized from the whole source with the crop that maps
/// onto it, so the filter reads the same source rows as one resize of the whole picture.
pub fn lanczos_on(img: &DynamicImage, to: [u32; 2], threads: usize) -> DynamicImage {
    let mut dst = DynamicImage::new(to[0], to[1], img.color());
    let whole = |dst: &mut DynamicImage| {
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
        Resizer::new().resize(img, dst, &options).is_ok()
    };
    let done = match band_buffer(&mut dst) {
        Some((buf, pixel)) if to[1] > BAND_MIN_ROWS => resize_bands(img, to, buf, pixel, threads),
        _ => whole(&mut dst),
    };
    if done {
        dst
    } else {
        // Layouts fast_image_resize lacks (none after decode's normalisation) fall back to
        // the image crate's slower Lanczos3, never to a failure.
        img.resize_exact(to[0], to[1], image::imageops::FilterType::Lanczos3)
    }
}

/// The output's bytes and fast_image_resize's name for their layout (8- and 16-bit only).
fn band_buffer(dst: &mut DynamicImage) -> Option<(&mut [u8], PixelType)> {
    fn bytes16(v: &mut [u16]) -> &mut [u8] {
        // SAFETY: u8 has no alignment or validity requirement, and the length covers
        // exactly the u16s' bytes, borrowed mutably for as long as `v` is.
        unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<u8>(), v.len() * 2) }
    }
    Some(match dst {
        DynamicImage::ImageLuma8(b) => (&mut **b, PixelType::U8),
        DynamicImage::ImageLumaA8(b) => (&mut **b, PixelType::U8x2),
        DynamicImage::ImageRgb8(b) => (&mut **b, PixelType::U8x3),
        DynamicImage::ImageRgba8(b) => (&mut **b, PixelType::U8x4),
        DynamicImage::ImageLuma16(b) => (bytes16(b), PixelType::U16),
        DynamicImage::ImageLumaA16(b) => (bytes16(b), PixelType::U16x2),
        DynamicImage::ImageRgb16(b) => (bytes16(b), PixelType::U16x3),
        DynamicImage::ImageRgba16(b) => (bytes16(b), PixelType::U16x4),
        _ => return None,
    })
}

/// Resizes `img` into `buf` (the `to`-sized output) band by band; false when
/// fast_image_resize refused a band.
fn resize_bands(
    img: &DynamicImage,
    to: [u32; 2],
    buf: &mut [u8],
    pixel: PixelType,
    threads: usize,
) -> bool {
    let row_bytes = to[0] as usize * pixel.size();
    let k = f64::from(img.height()) / f64::from(to[1]);
    let rows = band_rows(to[1]);
    let bands: Vec<(u32, &mut [u8])> = buf
        .chunks_mut(rows as usize * row_bytes)
        .enumerate()
        .map(|(i, b)| (i as u32 * rows, b))
        .collect();
    let threads = threads.clamp(1, bands.len());
    let queue = std::sync::Mutex::new(bands.into_iter());
    let band = |resizer: &mut Resizer, (r0, rows): (u32, &mut [u8])| {
        let n = (rows.len() / row_bytes) as u32;
        let options = ResizeOptions::new()
            .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
            .crop(
                0.0,
                f64::from(r0) * k,
                f64::from(img.width()),
                f64::from(n) * k,
            );
        Image::from_slice_u8(to[0], n, rows, pixel)
            .is_ok_and(|mut view| resizer.resize(img, &mut view, &options).is_ok())
    };
    let work = || {
        let mut resizer = Resizer::new();
        let mut ok = true;
        while let Some(b) = queue.lock().map_or(None, |mut q| q.next()) {
            ok &= band(&mut resizer, b);
        }
        ok
    };
    std::thread::scope(|s| {
        let helpers: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        let mine = work();
        helpers
            .into_iter()
            .fold(mine, |ok, h| ok & h.join().unwrap_or(false))
    })
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

    /// The bands give the same bytes at any thread count, and within two levels the values of
    /// one resize of the whole picture: up and down, 8- and 16-bit, with and without alpha.
    #[test]
    fn bands_match_one_whole_resize_at_any_thread_count() {
        let rgb = image::RgbImage::from_fn(301, 203, |x, y| {
            let v = (x * 7 + y * 13 + (x * y) % 17) as u8;
            image::Rgb([v, v.wrapping_mul(3), 255 - v])
        });
        let rgba = RgbaImage::from_fn(160, 120, |x, y| {
            Rgba([(x * 3) as u8, (y * 2) as u8, (x ^ y) as u8, (x + y) as u8])
        });
        let rgb16 = image::ImageBuffer::<image::Rgb<u16>, _>::from_fn(97, 150, |x, y| {
            let v = (x * 611 + y * 257) as u16;
            image::Rgb([v, v ^ 0x5a5a, 65535 - v])
        });
        let tall = image::RgbImage::from_fn(120, 2600, |x, y| {
            image::Rgb([(x * 2) as u8, (y % 251) as u8, ((x * y) % 253) as u8])
        });
        // Outputs above BAND_MIN_ROWS, so they are made in bands.
        let cases = [
            (DynamicImage::ImageRgb8(rgb), [1204, 2436]),
            (DynamicImage::ImageRgb8(tall), [60, 1300]),
            (DynamicImage::ImageRgba8(rgba), [640, 1177]),
            (DynamicImage::ImageRgb16(rgb16), [388, 1300]),
        ];
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
        for (img, to) in cases {
            let mut whole = DynamicImage::new(to[0], to[1], img.color());
            Resizer::new().resize(&img, &mut whole, &options).unwrap();
            let one = lanczos_on(&img, to, 1);
            assert_eq!(one.color(), img.color());
            assert!(
                one.as_bytes() == lanczos_on(&img, to, 3).as_bytes(),
                "{:?} to {to:?}: 1 and 3 threads differ",
                img.color()
            );
            // fast_image_resize does not round a band's rows exactly as the same rows of the
            // whole picture (here at most 2 levels of 255, on 0.3 % of the values at ×12).
            let (a, b) = (one.as_bytes(), whole.as_bytes());
            let off: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
            assert!(
                off.len() * 100 < a.len(),
                "{:?} to {to:?}: {} of {} values differ from the whole resize",
                img.color(),
                off.len(),
                a.len()
            );
            let step = |i: usize| match img.color().bytes_per_pixel() / img.color().channel_count()
            {
                1 => a[i].abs_diff(b[i]) as u32,
                // 16-bit: the low byte may carry over into the high one.
                _ => {
                    let v = |x: &[u8]| u16::from_ne_bytes([x[i & !1], x[i | 1]]);
                    v(a).abs_diff(v(b)) as u32
                }
            };
            let worst = off.iter().map(|&i| step(i)).max().unwrap_or(0);
            assert!(
                worst <= 2,
                "{:?} to {to:?}: {worst} levels off",
                img.color()
            );
        }
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
            1,
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
        let out = apply(&img16, [20, 20], &UpscaleConfig::default(), 1)
            .unwrap()
            .0;
        assert_eq!(
            out.as_rgb16().unwrap().get_pixel(10, 10).0,
            [40000, 1000, 65535]
        );
    }
}
