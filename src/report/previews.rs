//! Small JPEG pictures of a job for people: the whole image before and after at the same
//! display size (for a comparison slider), a thumbnail, and, when the skin engine found a
//! face, the largest face at 100 % before and after and the skin mask over the image.
//!
//! "Before" is the input brought to the output's size with plain Lanczos, so a comparison
//! shows what realskin added beyond enlarging. Made once per job; the dashboard serves
//! them from the state folder and the HTML report embeds them.

use image::{DynamicImage, RgbImage};

use crate::pipeline::upscale::lanczos;

/// Long edge of the whole-image comparison.
pub const DISPLAY_EDGE: u32 = 1200;
/// Long edge of the thumbnail.
pub const THUMB_EDGE: u32 = 240;
/// Long edge of the icon in daily indexes.
pub const ICON_EDGE: u32 = 96;
/// Largest face crop edge (pixels at 100 %).
pub const FACE_EDGE: u32 = 900;

/// A face box in output pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceRect {
    /// Left.
    pub x: f32,
    /// Top.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
}

/// The pictures, JPEG-encoded, by name (`before`, `after`, `thumb`, `icon`,
/// `face-before`, `face-after`, `mask`).
#[derive(Debug, Clone, Default)]
pub struct Previews {
    /// `(name, jpeg bytes)`, in display order.
    pub images: Vec<(&'static str, Vec<u8>)>,
}

impl Previews {
    /// One picture's bytes.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.images
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| b.as_slice())
    }
}

fn fit(w: u32, h: u32, edge: u32) -> [u32; 2] {
    let long = w.max(h).max(1);
    if long <= edge {
        return [w.max(1), h.max(1)];
    }
    let s = f64::from(edge) / f64::from(long);
    [
        ((f64::from(w) * s).round() as u32).max(1),
        ((f64::from(h) * s).round() as u32).max(1),
    ]
}

fn to_rgb8(img: &DynamicImage) -> DynamicImage {
    match img {
        DynamicImage::ImageRgb8(_) => img.clone(),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    }
}

fn jpeg(img: &DynamicImage) -> Vec<u8> {
    let rgb = img.to_rgb8();
    let mut out = Vec::new();
    let _ = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).encode_image(&rgb);
    out
}

/// Makes the pictures from the input as decoded, the final image, an optional face box
/// (in final-image pixels) and an optional skin mask overlay.
pub fn make(
    input: &DynamicImage,
    output: &DynamicImage,
    face: Option<FaceRect>,
    mask_overlay: Option<&RgbImage>,
) -> Previews {
    let input = to_rgb8(input);
    let output = to_rgb8(output);
    let (ow, oh) = (output.width(), output.height());
    let display = fit(ow, oh, DISPLAY_EDGE);
    let mut images = vec![
        ("before", jpeg(&lanczos(&input, display))),
        ("after", jpeg(&lanczos(&output, display))),
        ("thumb", jpeg(&lanczos(&output, fit(ow, oh, THUMB_EDGE)))),
        ("icon", jpeg(&lanczos(&output, fit(ow, oh, ICON_EDGE)))),
    ];
    if let Some(f) = face {
        // The face with a margin, at 100 %, clamped to the image and to FACE_EDGE.
        let cx = f.x + f.w / 2.0;
        let cy = f.y + f.h / 2.0;
        let side = (f.w.max(f.h) * 1.4).min(FACE_EDGE as f32).max(16.0);
        let x0 = (cx - side / 2.0).clamp(0.0, (ow as f32 - side).max(0.0)) as u32;
        let y0 = (cy - side / 2.0).clamp(0.0, (oh as f32 - side).max(0.0)) as u32;
        let cw = (side as u32).min(ow - x0);
        let ch = (side as u32).min(oh - y0);
        let before_full = if (input.width(), input.height()) == (ow, oh) {
            input.clone()
        } else {
            lanczos(&input, [ow, oh])
        };
        images.push(("face-before", jpeg(&before_full.crop_imm(x0, y0, cw, ch))));
        images.push(("face-after", jpeg(&output.crop_imm(x0, y0, cw, ch))));
    }
    if let Some(m) = mask_overlay {
        images.push(("mask", jpeg(&DynamicImage::ImageRgb8(m.clone()))));
    }
    Previews { images }
}

/// Base64 (standard alphabet, padded), for embedding pictures in a self-contained page.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn before_and_after_share_a_display_size_and_faces_are_cropped_at_full_size() {
        let input =
            DynamicImage::ImageRgb8(RgbImage::from_pixel(400, 300, image::Rgb([120, 90, 80])));
        let output =
            DynamicImage::ImageRgb8(RgbImage::from_pixel(1600, 1200, image::Rgb([125, 92, 81])));
        let p = make(
            &input,
            &output,
            Some(FaceRect {
                x: 700.0,
                y: 400.0,
                w: 200.0,
                h: 260.0,
            }),
            None,
        );
        let dims = |n: &str| {
            let img = image::load_from_memory(p.get(n).unwrap()).unwrap();
            (img.width(), img.height())
        };
        assert_eq!(dims("before"), (1200, 900));
        assert_eq!(dims("after"), (1200, 900));
        assert_eq!(dims("thumb"), (240, 180));
        assert_eq!(dims("face-before"), dims("face-after"));
        assert_eq!(dims("face-after"), (364, 364));
    }
}
