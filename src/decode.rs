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
    /// Set when the pixels were converted from the file's colour space (a CMYK JPEG becomes
    /// sRGB through its own profile, and `icc` is then the sRGB profile): what was done.
    pub converted: Option<String>,
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

    // A CMYK JPEG: the decoder's own RGB is a naive ink inversion and the CMYK profile
    // would make the output an invalid file (an RGB image that claims to be CMYK), so its
    // inks are decoded and converted through the profile instead (one decode, not two).
    let mut icc = icc;
    let mut converted = None;
    let image = match icc.take_if(|p| format == Format::Jpeg && is_cmyk_profile(p)) {
        Some(profile) => {
            let (rgb, srgb) = cmyk_jpeg_to_srgb(bytes, &profile, w, h).map_err(|e| {
                JobError::input(
                    "colour",
                    format!("The CMYK picture could not be converted to RGB through its colour profile ({e})."),
                    "Convert it to RGB (sRGB or Display P3) in the program that made it, then drop it in again.",
                )
            })?;
            icc = Some(srgb);
            converted = Some(format!(
                "CMYK converted to sRGB through its profile{}; the output carries the sRGB profile",
                crate::profile::icc::icc_facts(&profile)
                    .and_then(|f| f.description)
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ));
            DynamicImage::ImageRgb8(rgb)
        }
        None => normalize_layout(
            DynamicImage::from_decoder(decoder).map_err(|e| corrupt(&e.to_string()))?,
        ),
    };
    Ok(Decoded {
        format,
        bit_depth: if bits > 8 { 16 } else { 8 },
        image,
        icc,
        exif,
        xmp,
        orientation,
        converted,
    })
}

/// The colour space a PNG's gAMA and cHRM chunks describe, as an ICC profile, for a PNG
/// without iCCP, sRGB or cICP: `Ok(None)` when it is sRGB in all but name (gamma 1/2.2, the
/// default libpng writes, with sRGB's primaries or none, read as sRGB by every browser).
/// The profile travels with the picture: the skin engine reads the pixels through it, and
/// the output carries it as iCCP, which every viewer honours (gAMA and cHRM are often
/// ignored), so the picture looks the same as its original.
pub fn png_gamma_profile(gama: u32, chrm: Option<[u32; 8]>) -> Result<Option<Vec<u8>>, String> {
    use moxcms::{
        Chromaticity, ColorPrimaries, LocalizableString, ProfileText, ToneReprCurve, XyY,
    };
    const SRGB_CHRM: [u32; 8] = [31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000];
    if gama == 0 {
        return Err("its gAMA chunk is 0".into());
    }
    let unit = |v: u32| f64::from(v) / 100_000.0;
    let gamma = 100_000.0 / f64::from(gama);
    let srgb_primaries = chrm.is_none_or(|c| {
        c.iter()
            .zip(SRGB_CHRM)
            .all(|(a, b)| (unit(*a) - unit(b)).abs() < 0.005)
    });
    if srgb_primaries && (gamma - 2.2).abs() < 0.05 {
        return Ok(None);
    }
    let mut p = moxcms::ColorProfile::new_srgb();
    if let Some(c) = chrm {
        let xy = |i: usize| Chromaticity {
            x: unit(c[i]) as f32,
            y: unit(c[i + 1]) as f32,
        };
        if c.contains(&0) {
            return Err("its cHRM chunk has a zero chromaticity".into());
        }
        p.update_rgb_colorimetry(
            XyY {
                x: unit(c[0]),
                y: unit(c[1]),
                yb: 1.0,
            },
            ColorPrimaries {
                red: xy(2),
                green: xy(4),
                blue: xy(6),
            },
        );
    }
    let trc = ToneReprCurve::Parametric(vec![gamma as f32]);
    p.red_trc = Some(trc.clone());
    p.green_trc = Some(trc.clone());
    p.blue_trc = Some(trc);
    let name = format!(
        "PNG gamma 1/{gamma:.2}{}",
        if srgb_primaries {
            ", sRGB primaries"
        } else {
            ", cHRM primaries"
        }
    );
    p.description = Some(ProfileText::Localizable(vec![LocalizableString::new(
        "en".into(),
        "US".into(),
        name,
    )]));
    stable_icc(&p).map(Some)
}

/// A profile moxcms writes, made byte-stable and strictly valid: its header carries the time
/// it was written (a fixed date instead, so the same input gives the same output bytes) and
/// an illuminant a hair off the ICC's D50 (the exact D50, or Little CMS based tools such as
/// libvips refuse the profile).
fn stable_icc(p: &moxcms::ColorProfile) -> Result<Vec<u8>, String> {
    let mut icc = p.encode().map_err(|e| e.to_string())?;
    if icc.len() < 128 {
        return Err("the profile is too short".into());
    }
    // Date and time (bytes 24–35): 2024-01-01 00:00:00.
    let date: [u16; 6] = [2024, 1, 1, 0, 0, 0];
    for (k, v) in date.iter().enumerate() {
        icc[24 + 2 * k..26 + 2 * k].copy_from_slice(&v.to_be_bytes());
    }
    // PCS illuminant (bytes 68–79), s15Fixed16: X 0.9642, Y 1.0, Z 0.8249.
    for (k, v) in [0x0000_F6D6u32, 0x0001_0000, 0x0000_D32D]
        .iter()
        .enumerate()
    {
        icc[68 + 4 * k..72 + 4 * k].copy_from_slice(&v.to_be_bytes());
    }
    align_tags(&icc).ok_or_else(|| "the profile's tag table is malformed".to_string())
}

/// Rewrites an ICC profile so every tag's data starts on a 4-byte boundary, as the ICC
/// specification requires (moxcms packs them; libvips refuses such a profile). Tags that
/// share data keep sharing it.
fn align_tags(icc: &[u8]) -> Option<Vec<u8>> {
    let be32 =
        |i: usize| -> Option<u32> { Some(u32::from_be_bytes(icc.get(i..i + 4)?.try_into().ok()?)) };
    let count = be32(128)? as usize;
    let table_end = 132usize.checked_add(count.checked_mul(12)?)?;
    let mut out = icc.get(..table_end)?.to_vec();
    let mut placed: Vec<(u32, u32, u32)> = Vec::new(); // (old offset, size, new offset)
    for t in 0..count {
        let entry = 132 + 12 * t;
        let (off, size) = (be32(entry + 4)?, be32(entry + 8)?);
        let new = match placed.iter().find(|p| p.0 == off && p.1 == size) {
            Some(p) => p.2,
            None => {
                out.resize(out.len().next_multiple_of(4), 0);
                let at = u32::try_from(out.len()).ok()?;
                out.extend_from_slice(
                    icc.get(off as usize..(off as usize).checked_add(size as usize)?)?,
                );
                placed.push((off, size, at));
                at
            }
        };
        out[entry + 4..entry + 8].copy_from_slice(&new.to_be_bytes());
    }
    out.resize(out.len().next_multiple_of(4), 0);
    let len = u32::try_from(out.len()).ok()?;
    out[..4].copy_from_slice(&len.to_be_bytes());
    Some(out)
}

/// Whether a JPEG has an Adobe APP14 segment before its first scan.
fn has_adobe_segment(bytes: &[u8]) -> bool {
    let mut i = 2;
    while i + 4 <= bytes.len() && bytes[i] == 0xFF {
        let marker = bytes[i + 1];
        if marker == 0xDA {
            return false;
        }
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        if marker == 0xEE && bytes.get(i + 4..i + 9) == Some(b"Adobe") {
            return true;
        }
        i += 2 + len;
    }
    false
}

/// An ICC profile whose data colour space (header bytes 16–19) is CMYK.
pub fn is_cmyk_profile(icc: &[u8]) -> bool {
    icc.get(16..20) == Some(b"CMYK")
}

/// Decodes a CMYK JPEG's ink values and converts them to 8-bit sRGB through its profile
/// (perceptual intent), with the sRGB profile to embed.
fn cmyk_jpeg_to_srgb(
    bytes: &[u8],
    profile: &[u8],
    w: u32,
    h: u32,
) -> Result<(image::RgbImage, Vec<u8>), String> {
    use moxcms::{ColorProfile, Layout, RenderingIntent, TransformOptions};
    use zune_core::bytestream::ZCursor;
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::DecoderOptions;

    let opts = DecoderOptions::default()
        .set_max_width(w as usize)
        .set_max_height(h as usize)
        .jpeg_set_out_colorspace(ColorSpace::CMYK);
    let mut dec = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), opts);
    let mut cmyk = dec.decode().map_err(|e| format!("{e:?}"))?;
    let n = w as usize * h as usize;
    if cmyk.len() != 4 * n {
        return Err(format!("{} ink samples for {w}×{h} pixels", cmyk.len()));
    }
    // Photoshop's convention, which every CMYK JPEG with an Adobe segment follows: the
    // samples are stored inverted (255 = no ink).
    if has_adobe_segment(bytes) {
        for v in &mut cmyk {
            *v = 255 - *v;
        }
    }
    let src = ColorProfile::new_from_slice(profile).map_err(|e| e.to_string())?;
    let dst = ColorProfile::new_srgb();
    let options = TransformOptions {
        rendering_intent: RenderingIntent::Perceptual,
        ..TransformOptions::default()
    };
    let t = src
        .create_transform_8bit(Layout::Rgba, &dst, Layout::Rgb, options)
        .map_err(|e| e.to_string())?;
    let mut rgb = vec![0u8; 3 * n];
    t.transform(&cmyk, &mut rgb).map_err(|e| e.to_string())?;
    let srgb = stable_icc(&dst)?;
    let img = image::RgbImage::from_raw(w, h, rgb).ok_or("buffer size")?;
    Ok((img, srgb))
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

    /// libpng's default gAMA (1/2.2) with sRGB's primaries or none is sRGB in all but name;
    /// a 1/1.8 gamma, or P3 primaries in cHRM, become a profile the engine reads exactly.
    #[test]
    fn png_gamma_and_chromaticities_become_a_profile() {
        use crate::pipeline::skin::space::Space;
        const SRGB: [u32; 8] = [31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000];
        const P3: [u32; 8] = [31270, 32900, 68000, 32000, 26500, 69000, 15000, 6000];
        assert_eq!(png_gamma_profile(45455, None), Ok(None));
        assert_eq!(png_gamma_profile(45455, Some(SRGB)), Ok(None));
        assert!(png_gamma_profile(0, None).is_err());

        let mac = png_gamma_profile(55556, None)
            .unwrap()
            .expect("gamma 1.8 is not sRGB");
        let facts = crate::profile::icc::icc_facts(&mac).unwrap();
        assert_eq!(
            facts.description.as_deref(),
            Some("PNG gamma 1/1.80, sRGB primaries")
        );
        let space = Space::from_icc(&mac).unwrap().expect("not sRGB");
        assert!(!space.has_matrix(), "sRGB primaries need no matrix");
        assert!((space.lin16()[32768] - 0.5f32.powf(1.8)).abs() < 2e-3);

        // cHRM with Display P3's primaries reads like the Display P3 profile itself.
        let p3_chrm = png_gamma_profile(45455, Some(P3)).unwrap().unwrap();
        let p3_chrm = Space::from_icc(&p3_chrm).unwrap().unwrap();
        let p3 = moxcms::ColorProfile::new_display_p3().encode().unwrap();
        let p3 = Space::from_icc(&p3).unwrap().unwrap();
        let red = [1.0, 0.0, 0.0];
        let (a, b) = (p3_chrm.to_srgb(red), p3.to_srgb(red));
        assert!((0..3).all(|k| (a[k] - b[k]).abs() < 0.01), "{a:?} vs {b:?}");
    }
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
