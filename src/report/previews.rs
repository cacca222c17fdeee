//! Small JPEG pictures of a job for people: the whole image before and after at the same
//! display size (for a comparison slider), a thumbnail, and, when the skin engine found a
//! face, the largest face at 100 % before and after and the skin mask over the image.
//!
//! "Before" is the input brought to the output's size with plain Lanczos, so a comparison
//! shows what realskin added beyond enlarging. Made once per job; the dashboard serves
//! them from the state folder and the HTML report embeds them.

use image::{DynamicImage, RgbImage};
use std::borrow::Cow;

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};

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

/// The picture as 8-bit RGB, borrowed when it already is (no full-size copy: the output can
/// be 36 MP).
fn to_rgb8(img: &DynamicImage) -> Cow<'_, DynamicImage> {
    match img {
        DynamicImage::ImageRgb8(_) => Cow::Borrowed(img),
        other => Cow::Owned(DynamicImage::ImageRgb8(other.to_rgb8())),
    }
}

/// Quality 85 baseline JPEG (jpeg-encoder, AVX2 where the CPU has it: about 4× quicker
/// than the image crate's encoder, which matters because previews are made per job).
fn jpeg(img: &DynamicImage) -> Vec<u8> {
    let rgb;
    let rgb = match img {
        DynamicImage::ImageRgb8(b) => b,
        other => {
            rgb = other.to_rgb8();
            &rgb
        }
    };
    let (Ok(w), Ok(h)) = (u16::try_from(rgb.width()), u16::try_from(rgb.height())) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let enc = jpeg_encoder::Encoder::new(&mut out, 85);
    match enc.encode(rgb.as_raw(), w, h, jpeg_encoder::ColorType::Rgb) {
        Ok(()) => out,
        Err(_) => Vec::new(),
    }
}

/// Reduction from which a preview is an area average (a box filter) rather than Lanczos3:
/// beyond 3× the two differ by about 0.1 of a level on average, and the box reads each
/// source pixel a few times instead of twenty (8 ms instead of 17 for a 4096² output to
/// 1200², on the preview's one thread, beside the encoder).
const BOX_FROM: u32 = 3;

/// The picture reduced to `to`: an area average from [`BOX_FROM`]× down, Lanczos3 otherwise.
fn shrink(img: &DynamicImage, to: [u32; 2]) -> DynamicImage {
    if img.width() < BOX_FROM * to[0] || img.height() < BOX_FROM * to[1] {
        return lanczos(img, to);
    }
    let mut dst = DynamicImage::new(to[0], to[1], img.color());
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Box));
    match Resizer::new().resize(img, &mut dst, &options) {
        Ok(()) => dst,
        Err(_) => lanczos(img, to),
    }
}

/// Lanczos3 of the region `(x, y, w, h)` of `img` (source pixels, fractional) to `to`:
/// the same pixels as enlarging the whole image and cropping, at the cost of the crop.
fn lanczos_region(img: &DynamicImage, region: [f64; 4], to: [u32; 2]) -> DynamicImage {
    let mut dst = DynamicImage::new(to[0], to[1], img.color());
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(region[0], region[1], region[2], region[3]);
    match Resizer::new().resize(img, &mut dst, &options) {
        Ok(()) => dst,
        Err(_) => lanczos(img, [img.width(), img.height()]).crop_imm(
            region[0] as u32,
            region[1] as u32,
            region[2] as u32,
            region[3] as u32,
        ),
    }
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
    // Each smaller picture comes from the one above it, not from the full image.
    let after = shrink(&output, display);
    let thumb = lanczos(&after, fit(ow, oh, THUMB_EDGE));
    let icon = lanczos(&thumb, fit(ow, oh, ICON_EDGE));
    let mut images = vec![
        ("before", jpeg(&lanczos(&input, display))),
        ("after", jpeg(&after)),
        ("thumb", jpeg(&thumb)),
        ("icon", jpeg(&icon)),
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
        let before = if (input.width(), input.height()) == (ow, oh) {
            input.crop_imm(x0, y0, cw, ch)
        } else {
            // Only the face's region of the input is enlarged.
            let sx = f64::from(input.width()) / f64::from(ow);
            let sy = f64::from(input.height()) / f64::from(oh);
            let region = [
                f64::from(x0) * sx,
                f64::from(y0) * sy,
                f64::from(cw) * sx,
                f64::from(ch) * sy,
            ];
            lanczos_region(&input, region, [cw, ch])
        };
        images.push(("face-before", jpeg(&before)));
        images.push(("face-after", jpeg(&output.crop_imm(x0, y0, cw, ch))));
    }
    if let Some(m) = mask_overlay {
        images.push(("mask", jpeg(&DynamicImage::ImageRgb8(m.clone()))));
    }
    Previews { images }
}

/// Base64 (standard alphabet, padded), for embedding pictures in a self-contained page.
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
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
