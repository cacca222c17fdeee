//! The upscale stage: images below `min_long_edge` are enlarged to `target_long_edge`,
//! because pores need pixels. Lanczos3 (fast_image_resize, SIMD) is built in; it keeps
//! alpha (resized premultiplied, so edges do not fringe) and 16-bit depth.

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::DynamicImage;
use serde::Serialize;

use crate::config::{UpscaleConfig, UpscaleEngine};

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

/// Resizes `img` to `to` with the configured engine.
pub fn apply(
    img: &DynamicImage,
    to: [u32; 2],
    cfg: &UpscaleConfig,
) -> (DynamicImage, UpscaleDetails) {
    let out = match cfg.engine {
        UpscaleEngine::Lanczos => lanczos(img, to),
    };
    let details = UpscaleDetails {
        engine: "lanczos3",
        from: [img.width(), img.height()],
        to,
        factor: (f64::from(to[0].max(to[1])) / f64::from(img.width().max(img.height())) * 1000.0)
            .round()
            / 1000.0,
    };
    (out, details)
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
        .0;
        let out = out.as_rgba8().expect("still RGBA8");
        assert_eq!(out.get_pixel(2, 10)[3], 0, "transparent stays transparent");
        assert_eq!(out.get_pixel(60, 10).0, [200, 100, 50, 255]);

        let img16 = DynamicImage::ImageRgb16(image::ImageBuffer::from_pixel(
            10,
            10,
            image::Rgb([40000u16, 1000, 65535]),
        ));
        let out = apply(&img16, [20, 20], &UpscaleConfig::default()).0;
        assert_eq!(
            out.as_rgb16().unwrap().get_pixel(10, 10).0,
            [40000, 1000, 65535]
        );
    }
}
