//! Encoding the finished image's pixels in the output format. Metadata (ICC, EXIF, XMP,
//! IPTC, provenance) is spliced into the encoded file afterwards by [`crate::meta`], except
//! in a PNG streamed straight into its file ([`Stream`]), which is written with it.
//!
//! Each format holds only some layouts: JPEG has no alpha and no 16-bit, WebP no 16-bit,
//! TIFF no grey+alpha. A conversion a format forces is written down in `notes` so the
//! report says what changed and why.
//!
//! Outputs are stored the way their input was ([`SourceCoding`]): a lossy input (JPEG,
//! lossy WebP) written as WebP stays lossy WebP at `webp_quality`, since a lossless copy
//! of a 60 KB picture is megabytes of stored compression artefacts; a lossless input stays
//! lossless. TIFF is always compressed: LZW when the input was, Deflate otherwise. JPEG
//! goes through jpeg-encoder with optimised Huffman tables, and keeps full-resolution
//! chroma (4:4:4) at quality 90 and above, where skin tone edges would otherwise blur.

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ImageEncoder};
use serde::Serialize;

use super::{Body, OutputConfig, OutputFormat, PngCompression, Staged};
use crate::decode::Format;
use crate::meta::{EmbedMetadata, HeaderFacts};
use std::path::Path;

/// Where a PNG goes while it is compressed: a file staged in `dir` (the output's folder),
/// carrying `embed`'s metadata ahead of the image data. The fast PNG encoder writes each
/// band as it finishes, so the file is written on the job's threads during the
/// compression instead of after it, and never held whole in memory.
#[derive(Clone, Copy)]
pub struct Stream<'a> {
    pub dir: &'a Path,
    pub embed: &'a EmbedMetadata,
}

/// Why an output could not be encoded.
#[derive(Debug)]
pub enum EncodeError {
    /// The encoder refused the picture (a bug, or an impossible layout).
    Encoder(String),
    /// The streamed file could not be written in its folder (a full disk, permissions).
    Stage(std::io::Error),
}

/// How the input stored its pixels, so that the output is stored the same way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceCoding {
    /// The input was lossy: JPEG, lossy (VP8) WebP, or JPEG-compressed TIFF.
    pub lossy: bool,
    /// The input was an LZW-compressed TIFF.
    pub lzw: bool,
}

impl SourceCoding {
    /// From the input's container and its header facts (when the header was readable).
    pub fn of(format: Format, header: Option<&HeaderFacts>) -> Self {
        let tiff = header.and_then(|h| h.tiff_compression.as_deref());
        Self {
            lossy: match format {
                Format::Jpeg => true,
                Format::Webp => header.and_then(|h| h.lossless) == Some(false),
                Format::Tiff => tiff == Some("jpeg"),
                Format::Png => false,
            },
            lzw: format == Format::Tiff && tiff == Some("lzw"),
        }
    }
}

/// An encoded output, ready to place.
#[derive(Debug)]
pub struct Encoded {
    /// The file: bytes, or (a streamed PNG) a file staged beside its destination.
    pub body: Body,
    /// Metadata blocks a streamed PNG could not carry, one sentence each (empty otherwise:
    /// the other formats get their metadata spliced in afterwards).
    pub skipped_metadata: Vec<String>,
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
    /// How the pixels are stored: `lossy, quality 92`, `lossless`, `deflate`, `lzw`.
    pub compression: String,
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

/// Encodes `image` as `format`, stored like `source` was where the format allows, on up to
/// `threads` threads (fast PNG; the other encoders use one). With `stream`, a fast PNG is
/// written straight into a staged file with its metadata; everything else is encoded in
/// memory. Fails on an encoder bug, an impossible layout, or a staged file that could not
/// be written.
pub fn encode(
    image: &DynamicImage,
    format: Format,
    cfg: &OutputConfig,
    source: SourceCoding,
    threads: usize,
    stream: Option<Stream>,
) -> Result<Encoded, EncodeError> {
    let mut notes = Vec::new();
    let mut skipped_metadata = Vec::new();
    let image = fit_layout(image, format, source, &mut notes);
    let (w, h) = (image.width(), image.height());
    let color = image.color();
    // Room for the worst case (stored deflate blocks, one filter byte per row), so the buffer
    // never grows by copying: on a 36 MP picture a doubling would hold both halves at once.
    // Capacity never written is never resident. Encoders that make their own buffer (fast PNG,
    // lossy WebP) get none.
    let raw = w as usize * h as usize * color.bytes_per_pixel() as usize;
    let buffer = || Vec::with_capacity(raw + raw / 64 + h as usize + 65_536);
    let (body, compression) = match format {
        Format::Png => {
            let (level, word) = match cfg.png_compression {
                PngCompression::Fast => (CompressionType::Fast, "deflate, fast"),
                PngCompression::Default => (CompressionType::Default, "deflate"),
                PngCompression::Best => (CompressionType::Best, "deflate, best"),
            };
            let fast = level == CompressionType::Fast && super::png::handles(color);
            let channels = color.channel_count() as usize;
            let body = match stream {
                Some(to) if fast => {
                    let ihdr = super::png::ihdr(w, h, channels);
                    let head = crate::meta::png_head(&ihdr, to.embed, &mut skipped_metadata);
                    let data = image.as_bytes();
                    Body::Staged(
                        Staged::write(to.dir, |f| {
                            super::png::encode_to(data, w, h, channels, threads, &head, f)
                        })
                        .map_err(EncodeError::Stage)?,
                    )
                }
                // The fast setting's compression, on every thread the job has.
                _ if fast => Body::Bytes(super::png::encode(
                    image.as_bytes(),
                    w,
                    h,
                    channels,
                    threads,
                )),
                _ => {
                    let mut bytes = buffer();
                    PngEncoder::new_with_quality(&mut bytes, level, FilterType::Adaptive)
                        .write_image(image.as_bytes(), w, h, color.into())
                        .map_err(|e| EncodeError::Encoder(format!("encoding PNG failed: {e}")))?;
                    Body::Bytes(bytes)
                }
            };
            (body, word.to_string())
        }
        Format::Jpeg => {
            let quality = cfg.quality.clamp(1, 100);
            let mut bytes = buffer();
            jpeg(&image, quality, cfg.jpeg_progressive, &mut bytes)?;
            (Body::Bytes(bytes), format!("lossy, quality {quality}"))
        }
        Format::Webp if source.lossy => {
            let quality = cfg.webp_quality.clamp(1, 100);
            (
                Body::Bytes(webp_lossy(&image, quality)?),
                format!("lossy, quality {quality}"),
            )
        }
        Format::Webp => {
            let mut bytes = buffer();
            WebPEncoder::new_lossless(&mut bytes)
                .write_image(image.as_bytes(), w, h, color.into())
                .map_err(|e| format!("encoding WebP failed: {e}"))?;
            (Body::Bytes(bytes), "lossless".to_string())
        }
        Format::Tiff => {
            let mut bytes = buffer();
            tiff(&image, source.lzw, &mut bytes)?;
            (
                Body::Bytes(bytes),
                if source.lzw { "lzw" } else { "deflate" }.to_string(),
            )
        }
    };

    Ok(Encoded {
        facts: OutputFacts {
            format,
            width: w,
            height: h,
            bit_depth: (color.bytes_per_pixel() / color.channel_count()) * 8,
            alpha: color.has_alpha(),
            bytes: body.len(),
            metadata_kept: Vec::new(),
            compression,
            notes,
        },
        body,
        skipped_metadata,
        format,
    })
}

impl From<String> for EncodeError {
    fn from(why: String) -> Self {
        EncodeError::Encoder(why)
    }
}

impl std::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncodeError::Encoder(why) => f.write_str(why),
            EncodeError::Stage(e) => write!(f, "writing the output failed: {e}"),
        }
    }
}

/// The image in a layout `format` can hold (borrowed when it already is one), with a
/// sentence in `notes` for each conversion the format forced.
fn fit_layout<'a>(
    image: &'a DynamicImage,
    format: Format,
    source: SourceCoding,
    notes: &mut Vec<String>,
) -> std::borrow::Cow<'a, DynamicImage> {
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
            // libwebp's lossy encoder takes RGB or RGBA only.
            let grey_ok = !source.lossy;
            if color.bytes_per_pixel() / color.channel_count() > 1
                || (!color.has_color() && !grey_ok)
            {
                image = std::borrow::Cow::Owned(
                    match (color.has_color() || !grey_ok, color.has_alpha()) {
                        (true, true) => DynamicImage::ImageRgba8(image.to_rgba8()),
                        (true, false) => DynamicImage::ImageRgb8(image.to_rgb8()),
                        (false, true) => DynamicImage::ImageLumaA8(image.to_luma_alpha8()),
                        (false, false) => DynamicImage::ImageLuma8(image.to_luma8()),
                    },
                );
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

    image
}

/// Optimised Huffman tables make the JPEG encoder hold every quantised coefficient until the
/// end (6 bytes a pixel at 4:4:4): up to this many bytes of them (11 MP at 4:4:4, 22 MP at
/// 4:2:0) the file is about 13 % smaller; above, the standard tables keep the peak memory of
/// a 36 MP output within 3× its pixels (4.6× with optimised tables).
const MAX_OPTIMISED_COEFFICIENT_BYTES: usize = 64 << 20;

/// Whether a `w`×`h` JPEG gets optimised Huffman tables: its quantised coefficients (2 bytes a
/// sample) fit [`MAX_OPTIMISED_COEFFICIENT_BYTES`].
fn optimised_tables(w: u16, h: u16, colour: jpeg_encoder::ColorType, full_chroma: bool) -> bool {
    let per_pixel = match (colour, full_chroma) {
        (jpeg_encoder::ColorType::Luma, _) => 2,
        (_, true) => 6,
        (_, false) => 3,
    };
    usize::from(w) * usize::from(h) * per_pixel <= MAX_OPTIMISED_COEFFICIENT_BYTES
}

/// Baseline (or progressive) JPEG, with optimised Huffman tables up to
/// [`MAX_OPTIMISED_COEFFICIENT_BYTES`]; 4:4:4 chroma at quality 90 and above, 4:2:0 below
/// (what libjpeg-based tools do).
fn jpeg(
    image: &DynamicImage,
    quality: u8,
    progressive: bool,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let (Ok(w), Ok(h)) = (u16::try_from(image.width()), u16::try_from(image.height())) else {
        return Err(format!(
            "JPEG holds at most 65,535 pixels a side, and the result is {}×{}",
            image.width(),
            image.height()
        ));
    };
    let colour = match image.color() {
        image::ColorType::L8 => jpeg_encoder::ColorType::Luma,
        image::ColorType::Rgb8 => jpeg_encoder::ColorType::Rgb,
        other => return Err(format!("JPEG cannot hold {other:?} pixels")),
    };
    let full_chroma = quality >= 90;
    let mut enc = jpeg_encoder::Encoder::new(out, quality);
    enc.set_optimized_huffman_tables(optimised_tables(w, h, colour, full_chroma));
    enc.set_progressive(progressive);
    enc.set_sampling_factor(if full_chroma {
        jpeg_encoder::SamplingFactor::R_4_4_4
    } else {
        jpeg_encoder::SamplingFactor::R_4_2_0
    });
    enc.encode(image.as_bytes(), w, h, colour)
        .map_err(|e| format!("encoding JPEG failed: {e}"))
}

/// Lossy WebP through libwebp (RGB or RGBA, 8-bit), with its threads on, and without the
/// deblocking filter, which would soften pores; alpha is stored losslessly beside.
fn webp_lossy(image: &DynamicImage, quality: u8) -> Result<Vec<u8>, String> {
    let (w, h) = (image.width(), image.height());
    let encoder = match image {
        DynamicImage::ImageRgb8(b) => webp::Encoder::from_rgb(b.as_raw(), w, h),
        DynamicImage::ImageRgba8(b) => webp::Encoder::from_rgba(b.as_raw(), w, h),
        other => return Err(format!("lossy WebP cannot hold {:?} pixels", other.color())),
    };
    if w > 16_383 || h > 16_383 {
        return Err(format!(
            "WebP holds at most 16,383 pixels a side, and the result is {w}×{h}"
        ));
    }
    let mut config = webp::WebPConfig::new().map_err(|()| "libwebp refused its own defaults")?;
    config.quality = f32::from(quality);
    config.method = 4;
    config.thread_level = 1;
    config.alpha_compression = 1;
    // No loop filter: at quality 90 blocking is invisible, and libwebp's default
    // deblocking smooths away a third of the pore texture the skin engine added (fine-band
    // gain 1.53 lossless, 1.31 filtered, 1.51 unfiltered, at the same file size).
    config.filter_strength = 0;
    encoder
        .encode_advanced(&config)
        .map(|m| m.to_vec())
        .map_err(|e| format!("encoding WebP failed: {e:?}"))
}

/// TIFF with horizontal prediction and LZW (when the input had it) or Deflate.
fn tiff(image: &DynamicImage, lzw: bool, out: &mut Vec<u8>) -> Result<(), String> {
    use tiff::encoder::{Compression, DeflateLevel, Predictor, TiffEncoder, colortype};
    let (w, h) = (image.width(), image.height());
    let compression = if lzw {
        Compression::Lzw
    } else {
        Compression::Deflate(DeflateLevel::Fast)
    };
    let mut enc = TiffEncoder::new(std::io::Cursor::new(out))
        .map_err(|e| e.to_string())?
        .with_compression(compression)
        .with_predictor(Predictor::Horizontal);
    let written = match image {
        DynamicImage::ImageLuma8(b) => enc.write_image::<colortype::Gray8>(w, h, b),
        DynamicImage::ImageRgb8(b) => enc.write_image::<colortype::RGB8>(w, h, b),
        DynamicImage::ImageRgba8(b) => enc.write_image::<colortype::RGBA8>(w, h, b),
        DynamicImage::ImageLuma16(b) => enc.write_image::<colortype::Gray16>(w, h, b),
        DynamicImage::ImageRgb16(b) => enc.write_image::<colortype::RGB16>(w, h, b),
        DynamicImage::ImageRgba16(b) => enc.write_image::<colortype::RGBA16>(w, h, b),
        other => {
            return Err(format!(
                "TIFF output cannot hold {:?} pixels",
                other.color()
            ));
        }
    };
    written.map_err(|e| format!("encoding TIFF failed: {e}"))
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

    /// The settings a lossy input brings.
    const LOSSY: SourceCoding = SourceCoding {
        lossy: true,
        lzw: false,
    };

    /// Encoded with the default settings, as from a lossless input.
    fn plain(image: &DynamicImage, format: Format) -> Encoded {
        encode(
            image,
            format,
            &OutputConfig::default(),
            SourceCoding::default(),
            1,
            None,
        )
        .unwrap()
    }

    /// An in-memory output's bytes.
    fn bytes(e: &Encoded) -> &[u8] {
        match &e.body {
            Body::Bytes(b) => b,
            Body::Staged(_) => panic!("encoded in memory"),
        }
    }

    fn rgba16() -> DynamicImage {
        DynamicImage::ImageRgba16(image::ImageBuffer::from_fn(8, 4, |x, _| {
            image::Rgba([50000u16, 20000, 1000, if x < 4 { 0 } else { 65535 }])
        }))
    }

    #[test]
    fn a_streamed_png_is_the_file_spliced_in_memory_with_its_metadata() {
        let img = DynamicImage::ImageRgb8(image::ImageBuffer::from_fn(300, 200, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x * y) % 251) as u8])
        }));
        let embed = EmbedMetadata {
            xmp: Some("<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"/>".into()),
            xmp_extended: Some("extended".into()),
            exif: Some(b"MM\0\x2a\0\0\0\x08\0\0".to_vec()),
            ..EmbedMetadata::default()
        };
        let cfg = OutputConfig::default();
        let in_memory = plain(&img, Format::Png);
        let spliced = crate::meta::embed_lossy_owned(bytes(&in_memory).to_vec(), &embed).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let stream = Stream {
            dir: dir.path(),
            embed: &embed,
        };
        let streamed = encode(
            &img,
            Format::Png,
            &cfg,
            SourceCoding::default(),
            2,
            Some(stream),
        );
        let streamed = streamed.unwrap();
        let Body::Staged(file) = &streamed.body else {
            panic!("a fast PNG with a folder is streamed");
        };
        assert!(file.path().starts_with(dir.path()));
        assert_eq!(std::fs::read(file.path()).unwrap(), spliced.bytes);
        assert_eq!(streamed.facts.bytes, spliced.bytes.len() as u64);
        assert_eq!(streamed.skipped_metadata, spliced.skipped);
        assert_eq!(
            streamed.skipped_metadata.len(),
            1,
            "extended XMP is JPEG-only"
        );
        let path = file.path().to_path_buf();
        drop(streamed);
        assert!(!path.exists(), "an unplaced staged file is removed");
    }

    #[test]
    fn png_keeps_16_bit_and_alpha() {
        let enc = plain(&rgba16(), Format::Png);
        assert_eq!(enc.facts.bit_depth, 16);
        assert!(enc.facts.alpha);
        let back = decode(bytes(&enc), 100.0).unwrap();
        assert_eq!(back.image, rgba16());
    }

    #[test]
    fn jpeg_flattens_alpha_and_says_so() {
        let enc = plain(&rgba16(), Format::Jpeg);
        assert!(!enc.facts.alpha);
        assert_eq!(enc.facts.bit_depth, 8);
        assert_eq!(enc.facts.notes.len(), 2, "{:?}", enc.facts.notes);
        let back = decode(bytes(&enc), 100.0).unwrap().image.to_rgb8();
        assert!(
            back.get_pixel(0, 0).0.iter().all(|&c| c > 240),
            "transparent became white"
        );
    }

    /// A photo-like 8-bit RGB picture: smooth gradients and a little texture.
    fn photo(w: u32, h: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(image::ImageBuffer::from_fn(w, h, |x, y| {
            let t = ((x * 7 + y * 13) % 11) as u8;
            image::Rgb([
                (x * 255 / w) as u8 / 2 + t,
                (y * 255 / h) as u8 / 2 + t,
                120 + t,
            ])
        }))
    }

    fn riff_kind(bytes: &[u8]) -> &[u8] {
        // RIFF, size, WEBP, then the first chunk's tag.
        &bytes[12..16]
    }

    #[test]
    fn lossy_input_gives_lossy_webp_and_lossless_stays_lossless() {
        let img = photo(256, 192);
        let small = encode(&img, Format::Webp, &OutputConfig::default(), LOSSY, 1, None).unwrap();
        assert_eq!(riff_kind(bytes(&small)), b"VP8 ");
        assert_eq!(small.facts.compression, "lossy, quality 90");
        let exact = plain(&img, Format::Webp);
        assert_eq!(riff_kind(bytes(&exact)), b"VP8L");
        assert_eq!(exact.facts.compression, "lossless");
        assert!(
            bytes(&small).len() * 2 < bytes(&exact).len(),
            "lossy {} vs lossless {} bytes",
            bytes(&small).len(),
            bytes(&exact).len()
        );
        assert_eq!(decode(bytes(&exact), 100.0).unwrap().image, img);
        let back = decode(bytes(&small), 100.0).unwrap().image.to_rgb8();
        let diff = back
            .as_raw()
            .iter()
            .zip(img.to_rgb8().as_raw())
            .map(|(a, b)| u32::from(a.abs_diff(*b)))
            .sum::<u32>() as f64
            / back.as_raw().len() as f64;
        assert!(diff < 4.0, "mean error {diff}");
    }

    #[test]
    fn lossy_webp_takes_grey_and_alpha() {
        let grey = DynamicImage::ImageLuma8(photo(64, 64).to_luma8());
        let enc = encode(
            &grey,
            Format::Webp,
            &OutputConfig::default(),
            LOSSY,
            1,
            None,
        )
        .unwrap();
        assert_eq!(decode(bytes(&enc), 100.0).unwrap().image.width(), 64);
        let enc = encode(
            &rgba16(),
            Format::Webp,
            &OutputConfig::default(),
            LOSSY,
            1,
            None,
        )
        .unwrap();
        assert!(enc.facts.alpha);
        let back = decode(bytes(&enc), 100.0).unwrap().image.to_rgba8();
        assert_eq!(
            back.get_pixel(0, 0).0[3],
            0,
            "transparent stays transparent"
        );
        assert_eq!(back.get_pixel(7, 0).0[3], 255);
    }

    #[test]
    fn tiff_is_compressed_like_its_input_and_lossless() {
        let img = photo(200, 150);
        let raw_size = 200 * 150 * 3;
        for (coding, tag) in [
            (SourceCoding::default(), 8u16),
            (
                SourceCoding {
                    lossy: false,
                    lzw: true,
                },
                5,
            ),
        ] {
            let enc = encode(
                &img,
                Format::Tiff,
                &OutputConfig::default(),
                coding,
                1,
                None,
            )
            .unwrap();
            assert!(
                bytes(&enc).len() < raw_size / 2,
                "{} bytes",
                bytes(&enc).len()
            );
            assert_eq!(decode(bytes(&enc), 100.0).unwrap().image, img);
            let mut dec = tiff::decoder::Decoder::new(std::io::Cursor::new(bytes(&enc))).unwrap();
            let got = dec.get_tag_u32(tiff::tags::Tag::Compression).unwrap();
            assert_eq!(got, u32::from(tag));
        }
        let deep = plain(&rgba16(), Format::Tiff);
        assert_eq!(decode(bytes(&deep), 100.0).unwrap().image, rgba16());
    }

    /// The sampling factors of each component, from the SOF segment.
    fn jpeg_sampling(bytes: &[u8]) -> Vec<u8> {
        let at = bytes
            .windows(2)
            .position(|w| w[0] == 0xFF && matches!(w[1], 0xC0..=0xC2))
            .unwrap();
        let n = bytes[at + 9] as usize;
        (0..n).map(|i| bytes[at + 11 + 3 * i]).collect()
    }

    #[test]
    fn large_jpegs_get_the_standard_tables_so_their_coefficients_are_not_held() {
        use jpeg_encoder::ColorType::{Luma, Rgb};
        // A 4096² portrait at quality 92 would hold 96 MiB of coefficients.
        assert!(!optimised_tables(4096, 4096, Rgb, true));
        assert!(!optimised_tables(6000, 6000, Rgb, false));
        // 2048², or 4:2:0 and grey up to 22 MP and 33 MP, keep the smaller file.
        assert!(optimised_tables(2048, 2048, Rgb, true));
        assert!(optimised_tables(4096, 4096, Rgb, false));
        assert!(optimised_tables(5000, 5000, Luma, true));
        let photo = photo(512, 384);
        let cfg = OutputConfig::default();
        let small = encode(&photo, Format::Jpeg, &cfg, SourceCoding::default(), 1, None).unwrap();
        let mut standard = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut standard, cfg.quality);
        enc.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_4_4);
        enc.encode(photo.as_bytes(), 512, 384, Rgb).unwrap();
        assert!(
            bytes(&small).len() < standard.len(),
            "optimised tables are smaller"
        );
    }

    #[test]
    fn jpeg_keeps_full_chroma_at_high_quality() {
        let img = photo(64, 48);
        let cfg = OutputConfig::default();
        let enc = encode(&img, Format::Jpeg, &cfg, SourceCoding::default(), 1, None).unwrap();
        assert_eq!(jpeg_sampling(bytes(&enc)), vec![0x11, 0x11, 0x11]);
        assert_eq!(enc.facts.compression, "lossy, quality 92");
        let low = OutputConfig {
            quality: 80,
            jpeg_progressive: true,
            ..OutputConfig::default()
        };
        let enc = encode(&img, Format::Jpeg, &low, SourceCoding::default(), 1, None).unwrap();
        assert_eq!(jpeg_sampling(bytes(&enc))[0], 0x22);
        assert!(
            bytes(&enc).windows(2).any(|w| w == [0xFF, 0xC2]),
            "progressive"
        );
        assert_eq!(decode(bytes(&enc), 100.0).unwrap().image.width(), 64);
    }

    #[test]
    fn source_coding_reads_the_header() {
        let webp = |lossless| HeaderFacts {
            lossless: Some(lossless),
            ..HeaderFacts::default()
        };
        assert!(SourceCoding::of(Format::Webp, Some(&webp(false))).lossy);
        assert!(!SourceCoding::of(Format::Webp, Some(&webp(true))).lossy);
        assert!(SourceCoding::of(Format::Jpeg, None).lossy);
        assert!(!SourceCoding::of(Format::Png, None).lossy);
        let tiff = HeaderFacts {
            tiff_compression: Some("lzw".into()),
            ..HeaderFacts::default()
        };
        assert!(SourceCoding::of(Format::Tiff, Some(&tiff)).lzw);
        assert!(!SourceCoding::of(Format::Png, Some(&tiff)).lzw);
    }
}
