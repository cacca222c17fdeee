//! Encoding the finished image's pixels in the output format. Metadata (ICC, EXIF, XMP,
//! IPTC, provenance) is spliced into the encoded file afterwards by [`crate::meta`].
//!
//! Each format holds only some layouts: JPEG has no alpha and no 16-bit, WebP (lossless
//! here) no 16-bit, TIFF no grey+alpha. A conversion a format forces is written down in
//! `notes` so the report says what changed and why.

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::codecs::tiff::TiffEncoder;
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ImageEncoder};
use serde::Serialize;

use super::{OutputConfig, OutputFormat, PngCompression};
use crate::decode::Format;

/// An encoded output, ready to write.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// Its format.
    pub format: Format,
    /// What the output holds, for the report.
    pub facts: OutputFacts,
}

/// What was written, for the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputFacts {
    /// Format written.
    pub format: Format,
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
    /// Bits per channel.
    pub bit_depth: u8,
    /// Whether alpha was kept.
    pub alpha: bool,
    /// File size in bytes.
    pub bytes: u64,
    /// Metadata carried from the original (`icc`, `exif`, `xmp`, `iptc`).
    pub metadata_kept: Vec<&'static str>,
    /// Conversions the format forced, in sentences.
    pub notes: Vec<String>,
}

/// Which format an input of `input` format is written as.
pub fn output_format(input: Format, cfg: &OutputConfig) -> Format {
    match cfg.format {
        OutputFormat::Same => input,
        OutputFormat::Png => Format::Png,
        OutputFormat::Jpeg => Format::Jpeg,
        OutputFormat::Webp => Format::Webp,
        OutputFormat::Tiff => Format::Tiff,
    }
}

/// Encodes `image` as `format`. Fails only on an encoder bug or an impossible layout.
pub fn encode(image: &DynamicImage, format: Format, cfg: &OutputConfig) -> Result<Encoded, String> {
    let mut notes = Vec::new();
    // Borrowed unless the format needs another layout.
    let mut image = std::borrow::Cow::Borrowed(image);
    let color = image.color();

    // Layouts each format can hold.
    match format {
        Format::Jpeg => {
            if color.has_alpha() {
                image = std::borrow::Cow::Owned(flatten_on_white(&image));
                notes.push("JPEG has no transparency: alpha was flattened onto white.".into());
            }
            if color.bytes_per_pixel() / color.channel_count() > 1 {
                notes.push(
                    "JPEG holds 8 bits per channel: the 16-bit result was reduced to 8 bits."
                        .into(),
                );
            }
            // Already 8-bit RGB or grey: encoded as it is, without a full-size copy.
            if !matches!(image.color(), image::ColorType::Rgb8 | image::ColorType::L8) {
                image = std::borrow::Cow::Owned(if image.color().has_color() {
                    DynamicImage::ImageRgb8(image.to_rgb8())
                } else {
                    DynamicImage::ImageLuma8(image.to_luma8())
                });
            }
        }
        Format::Webp => {
            if color.bytes_per_pixel() / color.channel_count() > 1 {
                notes.push(
                    "WebP holds 8 bits per channel: the 16-bit result was reduced to 8 bits."
                        .into(),
                );
            }
            if color.bytes_per_pixel() / color.channel_count() > 1 {
                image = std::borrow::Cow::Owned(match (color.has_color(), color.has_alpha()) {
                    (true, true) => DynamicImage::ImageRgba8(image.to_rgba8()),
                    (true, false) => DynamicImage::ImageRgb8(image.to_rgb8()),
                    (false, true) => DynamicImage::ImageLumaA8(image.to_luma_alpha8()),
                    (false, false) => DynamicImage::ImageLuma8(image.to_luma8()),
                });
            }
        }
        Format::Tiff => {
            if matches!(*image, DynamicImage::ImageLumaA8(_)) {
                image = std::borrow::Cow::Owned(DynamicImage::ImageRgba8(image.to_rgba8()));
            } else if matches!(*image, DynamicImage::ImageLumaA16(_)) {
                image = std::borrow::Cow::Owned(DynamicImage::ImageRgba16(image.to_rgba16()));
            }
        }
        Format::Png => {}
    }

    let (w, h) = (image.width(), image.height());
    let color = image.color();
    // Room for the worst case (stored deflate blocks, one filter byte per row), so the buffer
    // never grows by copying: on a 36 MP picture a doubling would hold both halves at once.
    // Capacity never written is never resident.
    let raw = w as usize * h as usize * color.bytes_per_pixel() as usize;
    let mut bytes = Vec::with_capacity(raw + raw / 64 + h as usize + 65_536);
    let result = match format {
        Format::Png => {
            let compression = match cfg.png_compression {
                PngCompression::Fast => CompressionType::Fast,
                PngCompression::Default => CompressionType::Default,
                PngCompression::Best => CompressionType::Best,
            };
            let enc = PngEncoder::new_with_quality(&mut bytes, compression, FilterType::Adaptive);
            enc.write_image(image.as_bytes(), w, h, color.into())
        }
        Format::Jpeg => {
            let enc = JpegEncoder::new_with_quality(&mut bytes, cfg.quality.clamp(1, 100));
            enc.write_image(image.as_bytes(), w, h, color.into())
        }
        Format::Webp => {
            let enc = WebPEncoder::new_lossless(&mut bytes);
            enc.write_image(image.as_bytes(), w, h, color.into())
        }
        Format::Tiff => {
            let enc = TiffEncoder::new(std::io::Cursor::new(&mut bytes));
            enc.write_image(image.as_bytes(), w, h, color.into())
        }
    };
    result.map_err(|e| format!("encoding {format:?} failed: {e}"))?;

    Ok(Encoded {
        facts: OutputFacts {
            format,
            width: w,
            height: h,
            bit_depth: (color.bytes_per_pixel() / color.channel_count()) * 8,
            alpha: color.has_alpha(),
            bytes: bytes.len() as u64,
            metadata_kept: Vec::new(),
            notes,
        },
        bytes,
        format,
    })
}

/// Composites over white, for formats without alpha.
fn flatten_on_white(image: &DynamicImage) -> DynamicImage {
    let rgba = image.to_rgba16();
    let out = image::ImageBuffer::from_fn(rgba.width(), rgba.height(), |x, y| {
        let p = rgba.get_pixel(x, y).0;
        let a = u32::from(p[3]);
        let mix = |c: u16| ((u32::from(c) * a + 65535 * (65535 - a) + 32767) / 65535) as u16;
        image::Rgb([mix(p[0]), mix(p[1]), mix(p[2])])
    });
    DynamicImage::ImageRgb16(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;

    fn rgba16() -> DynamicImage {
        DynamicImage::ImageRgba16(image::ImageBuffer::from_fn(8, 4, |x, _| {
            image::Rgba([50000u16, 20000, 1000, if x < 4 { 0 } else { 65535 }])
        }))
    }

    #[test]
    fn png_keeps_16_bit_and_alpha() {
        let enc = encode(&rgba16(), Format::Png, &OutputConfig::default()).unwrap();
        assert_eq!(enc.facts.bit_depth, 16);
        assert!(enc.facts.alpha);
        let back = decode(&enc.bytes, 100.0).unwrap();
        assert_eq!(back.image, rgba16());
    }

    #[test]
    fn jpeg_flattens_alpha_and_says_so() {
        let enc = encode(&rgba16(), Format::Jpeg, &OutputConfig::default()).unwrap();
        assert!(!enc.facts.alpha);
        assert_eq!(enc.facts.bit_depth, 8);
        assert_eq!(enc.facts.notes.len(), 2, "{:?}", enc.facts.notes);
        let back = decode(&enc.bytes, 100.0).unwrap().image.to_rgb8();
        assert!(
            back.get_pixel(0, 0).0.iter().all(|&c| c > 240),
            "transparent became white"
        );
    }
}
