//! Decoding an image from its bytes, with the limits that keep a bad file from hurting
//! the daemon: the format is sniffed from the content (not the extension), the size is
//! checked from the header before any pixel is decoded (decompression bombs), and
//! truncated files are refused rather than half-filled.
//!
//! The colour profile, EXIF and XMP are read here so the output can carry them.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use serde::Serialize;

use crate::error::JobError;

/// The formats realskin reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// PNG, 8 or 16 bit.
    Png,
    /// JPEG.
    Jpeg,
    /// WebP.
    Webp,
    /// TIFF.
    Tiff,
}

impl Format {
    /// The usual file extension.
    pub const fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Webp => "webp",
            Self::Tiff => "tif",
        }
    }

    /// The `image` crate's name for it.
    pub const fn image_format(self) -> ImageFormat {
        match self {
            Self::Png => ImageFormat::Png,
            Self::Jpeg => ImageFormat::Jpeg,
            Self::Webp => ImageFormat::WebP,
            Self::Tiff => ImageFormat::Tiff,
        }
    }
}

/// A decoded image and the metadata the output must keep.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The container it came in.
    pub format: Format,
    /// The pixels, as stored (the EXIF orientation is not applied).
    pub image: DynamicImage,
    /// The embedded ICC colour profile.
    pub icc: Option<Vec<u8>>,
    /// The EXIF block (TIFF header onwards).
    pub exif: Option<Vec<u8>>,
    /// The XMP packet.
    pub xmp: Option<Vec<u8>>,
    /// How the pixels must be turned for display.
    pub orientation: Orientation,
    /// Bits per channel in the file (8 or 16; float TIFFs are read as 16).
    pub bit_depth: u8,
}

/// The format from the first bytes; extensions are not trusted.
pub fn sniff(bytes: &[u8]) -> Result<Format, JobError> {
    if bytes.is_empty() {
        return Err(JobError::input(
            "empty",
            "The file is empty (0 bytes).",
            "The copy into the hotfolder probably failed or was cancelled; copy the image again.",
        ));
    }
    match image::guess_format(bytes) {
        Ok(ImageFormat::Png) => Ok(Format::Png),
        Ok(ImageFormat::Jpeg) => Ok(Format::Jpeg),
        Ok(ImageFormat::WebP) => Ok(Format::Webp),
        Ok(ImageFormat::Tiff) => Ok(Format::Tiff),
        Ok(other) => Err(JobError::input(
            "unsupported-format",
            format!(
                "{} images are not supported.",
                other
                    .extensions_str()
                    .first()
                    .map(|e| e.to_uppercase())
                    .unwrap_or_else(|| format!("{other:?}"))
            ),
            "Export the image as PNG, JPEG, WebP or TIFF and drop it in again.",
        )),
        Err(_) => Err(JobError::input(
            "not-an-image",
            "The file is not an image: its content is not PNG, JPEG, WebP or TIFF, whatever its name says.",
            "Check that it opens in an image viewer; if it does not, export or download it again.",
        )),
    }
}

/// Width and height from the header alone, for memory planning; `None` if unreadable.
pub fn header_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()?
        .into_dimensions()
        .ok()
}

/// Decodes `bytes`, refusing images above `max_megapixels` before decoding them.
pub fn decode(bytes: &[u8], max_megapixels: f64) -> Result<Decoded, JobError> {
    let format = sniff(bytes)?;
    if format == Format::Jpeg && jpeg_is_truncated(bytes) {
        return Err(corrupt("the JPEG data ends before the end-of-image marker"));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(format.image_format());
    let mut limits = Limits::default();
    // The pixel limit is checked below with a clear message; this only stops a decoder
    // from allocating far beyond what the image needs.
    let max_pixels = (max_megapixels * 1e6) as u64;
    limits.max_alloc = Some(max_pixels.saturating_mul(16).max(64 << 20));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| corrupt(&e.to_string()))?;

    let (w, h) = decoder.dimensions();
    let megapixels = f64::from(w) * f64::from(h) / 1e6;
    if megapixels > max_megapixels {
        return Err(JobError::input(
            "too-large",
            format!(
                "The image is {w}×{h} pixels ({megapixels:.0} megapixels), above the limit of {max_megapixels} megapixels."
            ),
            "Downscale it before dropping it in, or raise `max_megapixels` under [daemon] in the config if the machine has the memory.",
        ));
    }
    if w == 0 || h == 0 {
        return Err(corrupt("the header says the image has no pixels"));
    }
    let icc = decoder.icc_profile().ok().flatten();
    let exif = decoder.exif_metadata().ok().flatten();
    let xmp = decoder.xmp_metadata().ok().flatten();
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let bits =
        decoder.color_type().bits_per_pixel() / u16::from(decoder.color_type().channel_count());

    let image = DynamicImage::from_decoder(decoder).map_err(|e| corrupt(&e.to_string()))?;
    let image = normalize_layout(image);
    Ok(Decoded {
        format,
        bit_depth: if bits > 8 { 16 } else { 8 },
        image,
        icc,
        exif,
        xmp,
        orientation,
    })
}

fn corrupt(detail: &str) -> JobError {
    JobError::input(
        "corrupt",
        format!("The image data is damaged or incomplete ({detail})."),
        "The file was probably cut short by a failed download or copy; export or download it again.",
    )
}

/// Float images (some TIFFs) become 16-bit: every stage works on 8- or 16-bit data.
fn normalize_layout(image: DynamicImage) -> DynamicImage {
    match image {
        DynamicImage::ImageRgb32F(_) => DynamicImage::ImageRgb16(image.to_rgb16()),
        DynamicImage::ImageRgba32F(_) => DynamicImage::ImageRgba16(image.to_rgba16()),
        other => other,
    }
}

/// A JPEG whose last scan has no end-of-image marker after it was cut short; the
/// decoder would otherwise fill the missing part with grey and call it a success.
fn jpeg_is_truncated(bytes: &[u8]) -> bool {
    let last_scan = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    match last_scan {
        Some(pos) => !bytes[pos..].windows(2).any(|w| w == [0xFF, 0xD9]),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder, RgbImage};

    fn png_bytes(w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 128]));
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
            .unwrap();
        out
    }

    fn jpeg_bytes(w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 128]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
            .unwrap();
        out
    }

    #[test]
    fn decodes_png_and_jpeg() {
        let d = decode(&png_bytes(40, 30), 100.0).unwrap();
        assert_eq!(
            (d.format, d.image.width(), d.image.height()),
            (Format::Png, 40, 30)
        );
        let d = decode(&jpeg_bytes(40, 30), 100.0).unwrap();
        assert_eq!(d.format, Format::Jpeg);
    }

    #[test]
    fn refuses_oversized_images_from_the_header() {
        let err = decode(&png_bytes(2000, 1000), 1.0).unwrap_err();
        assert_eq!(err.kind(), "too-large");
        assert!(err.to_string().contains("2000×1000"), "{err}");
    }

    #[test]
    fn refuses_empty_truncated_and_non_images() {
        assert_eq!(decode(b"", 100.0).unwrap_err().kind(), "empty");
        assert_eq!(
            decode(b"hello, this is text", 100.0).unwrap_err().kind(),
            "not-an-image"
        );
        let png = png_bytes(64, 64);
        assert_eq!(
            decode(&png[..png.len() / 2], 100.0).unwrap_err().kind(),
            "corrupt"
        );
        let jpg = jpeg_bytes(64, 64);
        assert_eq!(
            decode(&jpg[..jpg.len() - 40], 100.0).unwrap_err().kind(),
            "corrupt"
        );
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        assert_eq!(decode(gif, 100.0).unwrap_err().kind(), "unsupported-format");
    }
}
