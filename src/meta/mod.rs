//! Metadata containers: reads ICC, EXIF, XMP, IPTC, C2PA and text out of PNG, JPEG, WebP
//! and TIFF files without decoding pixels, and splices ICC, EXIF, XMP and IPTC into an
//! already-encoded output. Interpreting the metadata is left to [`crate::profile`].
//!
//! Every reader accepts any byte sequence: it never panics, never allocates more than
//! [`MAX_BLOCK`] for one block, and returns what it could read plus `warnings` for what
//! was truncated or corrupt.

mod exif;
mod iptc;
mod jpeg;
pub(crate) mod png;
mod source;
mod tiff;
mod webp;

use std::io::{Read, Seek};
use std::path::Path;

use serde::Serialize;

pub use exif::{
    ExifValue, build_exif, exif_orientation, exif_text_fields, set_exif_orientation,
    user_comment_bytes,
};
pub use iptc::{IptcRecord, iptc_records, iptc_to_irb, irb_iptc};
pub use source::MAX_BLOCK;

use source::{ByteSource, Bytes, Stream};

/// The container format of a file, recognised from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Container {
    Png,
    Jpeg,
    Webp,
    Tiff,
    Unknown,
}

impl Container {
    /// Recognises the container from the first bytes of a file (12 are enough).
    pub fn sniff(head: &[u8]) -> Container {
        if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            Container::Png
        } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Container::Jpeg
        } else if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WEBP" {
            Container::Webp
        } else if head.starts_with(b"II*\0")
            || head.starts_with(b"MM\0*")
            || head.starts_with(b"II+\0")
            || head.starts_with(b"MM\0+")
        {
            Container::Tiff
        } else {
            Container::Unknown
        }
    }

    /// The MIME type, as C2PA readers and HTTP want it.
    pub fn mime(self) -> Option<&'static str> {
        match self {
            Container::Png => Some("image/png"),
            Container::Jpeg => Some("image/jpeg"),
            Container::Webp => Some("image/webp"),
            Container::Tiff => Some("image/tiff"),
            Container::Unknown => None,
        }
    }
}

/// Where a text entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TextKind {
    /// PNG tEXt (Latin-1).
    Text,
    /// PNG zTXt (compressed Latin-1).
    Ztxt,
    /// PNG iTXt (UTF-8, maybe compressed).
    Itxt,
    /// JPEG COM segment.
    Comment,
}

/// One key/value text entry (PNG text chunks other than XMP, JPEG comments).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TextEntry {
    pub kind: TextKind,
    /// The PNG keyword, or `comment` for a JPEG COM segment.
    pub key: String,
    pub value: String,
}

/// Facts read from the image header, without decoding pixels.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HeaderFacts {
    pub width: u32,
    pub height: u32,
    /// Bits per sample (per channel).
    pub bit_depth: u8,
    /// Colour channels plus alpha.
    pub channels: u8,
    pub alpha: bool,
    /// `gray`, `rgb`, `palette`, `ycbcr`, `cmyk`, `ycck` or the TIFF photometric name.
    pub colour_model: String,
    /// PNG sRGB chunk present (rendering intent).
    pub srgb_chunk: bool,
    /// PNG cICP chunk: colour primaries, transfer, matrix, full range.
    pub cicp: Option<[u8; 4]>,
    /// PNG gAMA chunk: the encoding gamma × 100000 (45455 is 1/2.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub png_gamma: Option<u32>,
    /// PNG cHRM chunk: white x, y, then red, green and blue x, y, each × 100000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub png_chrm: Option<[u32; 8]>,
    /// JPEG: progressive (SOF2) or baseline.
    pub progressive: bool,
    /// JPEG quality estimated from the luminance quantisation table (IJG scale, 1–100).
    pub jpeg_quality: Option<u8>,
    /// WebP: lossless (VP8L) or lossy (VP8); animated for WebP/PNG APNG.
    pub lossless: Option<bool>,
    pub animated: bool,
    /// TIFF: how the strips are compressed (`none`, `lzw`, `deflate`, `jpeg`, `packbits`
    /// or `other`); the output keeps LZW or Deflate as the input had it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tiff_compression: Option<String>,
}

/// Everything metadata-like found in one file. Missing parts are `None`; damaged parts
/// add a sentence to `warnings` and what was readable is still returned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RawMetadata {
    pub container: Container,
    /// Header facts, when the header could be read.
    pub header: Option<HeaderFacts>,
    /// ICC profile bytes (PNG iCCP decompressed, JPEG APP2 chunks reassembled, WebP ICCP).
    #[serde(skip)]
    pub icc: Option<Vec<u8>>,
    /// EXIF block starting with the TIFF header (`II*\0` or `MM\0*`).
    #[serde(skip)]
    pub exif: Option<Vec<u8>>,
    /// The main XMP packet.
    pub xmp: Option<String>,
    /// JPEG extended XMP, reassembled from its APP1 chunks (the main packet names its GUID).
    pub xmp_extended: Option<String>,
    /// IPTC-IIM datasets (the content of Photoshop resource 0x0404).
    #[serde(skip)]
    pub iptc: Option<Vec<u8>>,
    /// The C2PA manifest store as a JUMBF superbox.
    #[serde(skip)]
    pub c2pa: Option<Vec<u8>>,
    /// Text entries other than XMP and decoded raw profiles.
    pub text: Vec<TextEntry>,
    /// EXIF orientation (1–8) when an EXIF block carries one.
    pub orientation: Option<u16>,
    pub warnings: Vec<String>,
}

impl RawMetadata {
    fn new(container: Container) -> Self {
        RawMetadata {
            container,
            header: None,
            icc: None,
            exif: None,
            xmp: None,
            xmp_extended: None,
            iptc: None,
            c2pa: None,
            text: Vec::new(),
            orientation: None,
            warnings: Vec::new(),
        }
    }

    /// Sets a block unless one was already found, warning about the duplicate.
    fn set_once<T>(slot: &mut Option<T>, value: T, what: &str, warnings: &mut Vec<String>) {
        if slot.is_some() {
            warnings.push(format!(
                "a second {what} block was ignored; the first is used"
            ));
        } else {
            *slot = Some(value);
        }
    }
}

/// Reads the metadata of a file held in memory.
pub fn read(bytes: &[u8]) -> RawMetadata {
    read_source(&mut Bytes::new(bytes))
}

/// Reads the metadata from a seekable stream, reading only the metadata parts: PNG IDAT,
/// JPEG entropy-coded data and WebP bitstreams are skipped by seeking.
pub fn read_from<R: Read + Seek>(reader: R) -> std::io::Result<RawMetadata> {
    let mut src = Stream::new(reader)?;
    Ok(read_source(&mut src))
}

/// Reads the metadata of a file on disk without reading its pixel data.
pub fn read_path(path: &Path) -> std::io::Result<RawMetadata> {
    // Unbuffered on purpose: a buffer would be refilled (64 KiB of pixels) after every
    // seek over an IDAT chunk; the reads here are few and exactly sized.
    read_from(std::fs::File::open(path)?)
}

fn read_source(src: &mut dyn ByteSource) -> RawMetadata {
    let mut head = [0u8; 12];
    let n = head.len().min(src.len() as usize);
    if !src.fill_at(0, &mut head[..n]) {
        let mut meta = RawMetadata::new(Container::Unknown);
        meta.warnings
            .push("the file could not be read from its start".to_string());
        return meta;
    }
    let container = Container::sniff(&head[..n]);
    let mut meta = RawMetadata::new(container);
    match container {
        Container::Png => png::read(src, &mut meta),
        Container::Jpeg => jpeg::read(src, &mut meta),
        Container::Webp => webp::read(src, &mut meta),
        Container::Tiff => tiff::read(src, &mut meta),
        Container::Unknown => meta.warnings.push(
            "not a PNG, JPEG, WebP or TIFF file (unrecognised first bytes); no metadata read"
                .to_string(),
        ),
    }
    if src.budget().exhausted() {
        meta.warnings.insert(0, format!(
            "the file's metadata blocks add up to more than {} MiB, far more than a {}-byte file can honestly hold (repeated or overlapping blocks, or compression bombs); the rest was not read",
            source::Budget::total_for(src.len()) >> 20,
            src.len()
        ));
    }
    cap_warnings(&mut meta.warnings);
    // An empty block is no block (a zero-length chunk must not read as "present").
    meta.icc = meta.icc.take().filter(|b| !b.is_empty());
    meta.exif = meta.exif.take().filter(|b| !b.is_empty());
    meta.iptc = meta.iptc.take().filter(|b| !b.is_empty());
    meta.c2pa = meta.c2pa.take().filter(|b| !b.is_empty());
    meta.xmp = meta.xmp.take().filter(|x| !x.trim().is_empty());
    meta.xmp_extended = meta.xmp_extended.take().filter(|x| !x.trim().is_empty());
    if let Some(exif) = &meta.exif {
        match exif::exif_orientation(exif) {
            Ok(o) => meta.orientation = o,
            Err(e) => meta.warnings.push(e),
        }
    }
    meta
}

/// The most warnings one file reports: a crafted file can be damaged in thousands of
/// places, and the operator needs the first few and a count, not a wall of text.
const MAX_WARNINGS: usize = 40;

/// Keeps the first [`MAX_WARNINGS`] distinct warnings and counts the rest in one line.
fn cap_warnings(warnings: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    warnings.retain(|w| seen.insert(w.clone()));
    if warnings.len() > MAX_WARNINGS {
        let more = warnings.len() - (MAX_WARNINGS - 1);
        warnings.truncate(MAX_WARNINGS - 1);
        warnings.push(format!("… and {more} more warnings"));
    }
}

/// The metadata to write into an output file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmbedMetadata {
    pub icc: Option<Vec<u8>>,
    /// EXIF block starting with the TIFF header.
    pub exif: Option<Vec<u8>>,
    pub xmp: Option<String>,
    /// Extended XMP (JPEG only; other formats get it merged by the caller or not at all).
    pub xmp_extended: Option<String>,
    /// IPTC-IIM datasets.
    pub iptc: Option<Vec<u8>>,
    /// Text entries: written as PNG text chunks; JPEG keeps `comment` entries as COM.
    pub text: Vec<TextEntry>,
}

impl From<&RawMetadata> for EmbedMetadata {
    fn from(m: &RawMetadata) -> Self {
        EmbedMetadata {
            icc: m.icc.clone(),
            exif: m.exif.clone(),
            xmp: m.xmp.clone(),
            xmp_extended: m.xmp_extended.clone(),
            iptc: m.iptc.clone(),
            text: m.text.clone(),
        }
    }
}

/// The result of [`embed_lossy`]: the new file, and what the format could not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Embedded {
    pub bytes: Vec<u8>,
    /// One sentence per block that was not written, saying why.
    pub skipped: Vec<String>,
}

/// Why metadata could not be embedded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MetaError {
    #[error(
        "the encoded output is not a PNG, JPEG, WebP or TIFF file; encode to one of those before embedding metadata"
    )]
    UnknownContainer,
    #[error(
        "the encoded {format} output is damaged ({detail}); re-encode it before embedding metadata"
    )]
    Corrupt {
        format: &'static str,
        detail: String,
    },
    #[error("{format} cannot hold {what}; {hint}")]
    Unsupported {
        format: &'static str,
        what: String,
        hint: &'static str,
    },
}

/// Splices ICC, EXIF, XMP, IPTC and text into an already-encoded file, replacing any
/// the encoder wrote. Fails when the format cannot hold one of the blocks; see
/// [`embed_lossy`] to write what fits and list the rest.
///
/// - PNG: iCCP, eXIf, iTXt `XML:com.adobe.xmp`, zTXt `Raw profile type iptc` and text
///   chunks right after IHDR (an sRGB chunk is dropped when an ICC profile is written).
/// - JPEG: APP1 Exif, APP1 XMP (+ extended XMP), APP2 ICC chunks, APP13 IPTC, COM, after
///   SOI and APP0.
/// - WebP: a simple VP8/VP8L file becomes VP8X extended with ICCP, EXIF and XMP chunks,
///   the flags and canvas size set. IPTC and text have no place in WebP.
/// - TIFF: ICC, XMP, IPTC and the EXIF tags (IFD0 descriptive tags, Exif and GPS IFDs)
///   go into a rewritten IFD0 appended to the file. Text has no place in TIFF.
pub fn embed(encoded: &[u8], meta: &EmbedMetadata) -> Result<Vec<u8>, MetaError> {
    let out = embed_lossy(encoded, meta)?;
    match out.skipped.into_iter().next() {
        None => Ok(out.bytes),
        Some(first) => Err(MetaError::Unsupported {
            format: format_name(Container::sniff(encoded)),
            what: first,
            hint: "call embed_lossy to write the rest, or choose an output format that holds it",
        }),
    }
}

/// Like [`embed`], but writes what the format can hold and lists what it could not.
pub fn embed_lossy(encoded: &[u8], meta: &EmbedMetadata) -> Result<Embedded, MetaError> {
    let mut skipped = Vec::new();
    let bytes = match Container::sniff(encoded) {
        Container::Png => png::embed(encoded, meta, &mut skipped)?,
        Container::Jpeg => jpeg::embed(encoded, meta, &mut skipped)?,
        Container::Webp => webp::embed(encoded, meta, &mut skipped)?,
        Container::Tiff => tiff::embed(encoded, meta, &mut skipped)?,
        Container::Unknown => return Err(MetaError::UnknownContainer),
    };
    Ok(Embedded { bytes, skipped })
}

/// [`embed_lossy`] on a file it may take: a PNG's image data then moves within the buffer
/// instead of being copied to a new one (see `png::embed_owned`); the result is the same
/// file. On an error the file comes back unchanged.
pub fn embed_lossy_owned(
    encoded: Vec<u8>,
    meta: &EmbedMetadata,
) -> Result<Embedded, (MetaError, Vec<u8>)> {
    if !matches!(Container::sniff(&encoded), Container::Png) {
        return embed_lossy(&encoded, meta).map_err(|e| (e, encoded));
    }
    let mut skipped = Vec::new();
    let bytes = png::embed_owned(encoded, meta, &mut skipped)?;
    Ok(Embedded { bytes, skipped })
}

/// The start of a new PNG written with `meta`: the signature, the IHDR chunk of data `ihdr`
/// and the metadata chunks, everything that goes before the image data. A streamed PNG
/// writes this first; blocks PNG cannot carry are named in `skipped`. With the image data
/// and IEND after it, the file has the same bytes [`embed_lossy_owned`] makes of it.
pub fn png_head(ihdr: &[u8], meta: &EmbedMetadata, skipped: &mut Vec<String>) -> Vec<u8> {
    let mut out = Vec::with_capacity(4096);
    png::head(&mut out, ihdr, meta, skipped);
    out
}

/// The display name of a container (`PNG`, `JPEG`, `WebP`, `TIFF`).
pub fn format_name(c: Container) -> &'static str {
    match c {
        Container::Png => "PNG",
        Container::Jpeg => "JPEG",
        Container::Webp => "WebP",
        Container::Tiff => "TIFF",
        Container::Unknown => "unknown",
    }
}

/// Inflates zlib data, refusing to produce more than `limit` bytes.
pub(crate) fn inflate(data: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    use flate2::read::ZlibDecoder;
    let mut dec = ZlibDecoder::new(data);
    let mut out: Vec<u8> = Vec::new();
    let mut buf = [0u8; 32 * 1024];
    loop {
        match dec.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => {
                if out.len() + n > limit {
                    return Err(format!("inflates to more than {limit} bytes"));
                }
                if out.capacity() - out.len() < n {
                    // Grow by doubling but never past the limit: the metadata budget counts
                    // what a block holds, and a doubling past it would hold twice that.
                    let want = (2 * out.capacity())
                        .max(64 * 1024)
                        .max(out.len() + n)
                        .min(limit);
                    out.reserve_exact(want - out.len());
                }
                out.extend_from_slice(&buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if !out.is_empty() => {
                return Err(format!(
                    "corrupt compressed data after {} bytes: {e}",
                    out.len()
                ));
            }
            Err(e) => return Err(format!("corrupt compressed data: {e}")),
        }
    }
}

/// Compresses with zlib at the default level.
pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
    use flate2::{Compression, write::ZlibEncoder};
    use std::io::Write;
    let mut enc = ZlibEncoder::new(Vec::new(), Compression::default());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// Reads a big-endian u16 at `i`, if present.
pub(crate) fn be16(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes(
        b.get(i..i.checked_add(2)?)?.try_into().ok()?,
    ))
}

/// Reads a big-endian u32 at `i`, if present.
pub(crate) fn be32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_be_bytes(
        b.get(i..i.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// Reads a little-endian u32 at `i`, if present.
pub(crate) fn le32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(i..i.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// Latin-1 to String (every byte is a code point).
pub(crate) fn latin1(b: &[u8]) -> String {
    b.iter().map(|&c| c as char).collect()
}

/// [`latin1`] of an owned buffer: ASCII text (nearly all of it) becomes the string without a
/// copy, so a large inflated text block is not held twice.
pub(crate) fn latin1_owned(b: Vec<u8>) -> String {
    if b.is_ascii() {
        String::from_utf8(b).unwrap_or_default()
    } else {
        latin1(&b)
    }
}

#[cfg(test)]
mod tests;
