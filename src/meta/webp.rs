//! WebP: walks the RIFF chunks (VP8X, VP8, VP8L, ALPH, ANIM, ICCP, EXIF, XMP, C2PA)
//! without reading the bitstream, and rewrites a file as extended WebP (VP8X) with ICCP,
//! EXIF and XMP chunks, flags and canvas size set.

use super::source::{ByteSource, MAX_BLOCK};
use super::{EmbedMetadata, HeaderFacts, MetaError, RawMetadata, latin1, le32};

const ICC_FLAG: u8 = 0x20;
const ALPHA_FLAG: u8 = 0x10;
const EXIF_FLAG: u8 = 0x08;
const XMP_FLAG: u8 = 0x04;
const ANIM_FLAG: u8 = 0x02;

fn u24(b: &[u8], i: usize) -> Option<u32> {
    let s = b.get(i..i + 3)?;
    Some(u32::from(s[0]) | u32::from(s[1]) << 8 | u32::from(s[2]) << 16)
}

/// Width, height and alpha hint from a VP8 or VP8L bitstream's first bytes.
fn bitstream_size(kind: &[u8; 4], d: &[u8]) -> Option<(u32, u32, bool)> {
    match kind {
        b"VP8 " => {
            if d.get(3..6)? != [0x9D, 0x01, 0x2A] {
                return None;
            }
            let w = u32::from(u16::from_le_bytes([*d.get(6)?, *d.get(7)?]) & 0x3FFF);
            let h = u32::from(u16::from_le_bytes([*d.get(8)?, *d.get(9)?]) & 0x3FFF);
            Some((w, h, false))
        }
        b"VP8L" => {
            if *d.first()? != 0x2F {
                return None;
            }
            let bits = le32(d, 1)?;
            let w = (bits & 0x3FFF) + 1;
            let h = ((bits >> 14) & 0x3FFF) + 1;
            Some((w, h, (bits >> 28) & 1 == 1))
        }
        _ => None,
    }
}

/// What the image chunks have said so far while a WebP file is read.
struct ImageState {
    header: HeaderFacts,
    /// A VP8X chunk gave the canvas size.
    canvas: bool,
    /// The first VP8 or VP8L bitstream was seen.
    seen_image: bool,
}

/// Reads the metadata chunks of a WebP file.
pub(crate) fn read(src: &mut dyn ByteSource, meta: &mut RawMetadata) {
    let len = src.len();
    let mut riff = [0u8; 12];
    if !src.fill_at(0, &mut riff) {
        return;
    }
    let declared = u64::from(le32(&riff, 4).unwrap_or(0)) + 8;
    if declared > len {
        meta.warnings.push(format!(
            "WebP says it is {declared} bytes but the file has {len} (truncated?)"
        ));
    }
    let end = declared.min(len);
    let mut off = 12u64;
    let mut img = ImageState {
        header: HeaderFacts {
            bit_depth: 8,
            channels: 3,
            colour_model: "rgb".to_string(),
            ..HeaderFacts::default()
        },
        canvas: false,
        seen_image: false,
    };
    let mut chunks = 0usize;
    while off + 8 <= end {
        let mut head = [0u8; 8];
        if !src.fill_at(off, &mut head) {
            break;
        }
        let kind: [u8; 4] = [head[0], head[1], head[2], head[3]];
        let size = u64::from(le32(&head, 4).unwrap_or(0));
        let data_at = off + 8;
        let name = latin1(&kind);
        if data_at + size > end {
            meta.warnings.push(format!(
                "WebP {name:?} chunk is cut short by the end of the file"
            ));
        }
        let read_len = match &kind {
            b"VP8X" | b"VP8 " | b"VP8L" => size.min(32),
            b"ICCP" | b"EXIF" | b"XMP " | b"C2PA" => size,
            _ => 0,
        };
        if read_len > MAX_BLOCK {
            meta.warnings.push(format!(
                "WebP {name:?} chunk of {size} bytes is over the size limit; skipped"
            ));
        } else if read_len > 0 {
            let avail = read_len.min(end.saturating_sub(data_at));
            let truncated = avail < read_len;
            if let Some(data) = src.read_at(data_at, avail as usize) {
                read_chunk(&kind, data, truncated, &mut img, meta);
            }
        }
        match &kind {
            b"ALPH" => img.header.alpha = true,
            b"ANIM" | b"ANMF" => img.header.animated = true,
            _ => {}
        }
        chunks += 1;
        off = data_at + size + (size & 1);
    }
    if chunks == 0 {
        meta.warnings.push("WebP holds no chunks".to_string());
    }
    let mut header = img.header;
    if header.alpha {
        header.channels = 4;
    }
    if img.seen_image || img.canvas {
        meta.header = Some(header);
    }
}

/// Takes in the (possibly `truncated`) data of one chunk: canvas and bitstream facts go
/// to `img`, ICC, EXIF, XMP and C2PA blocks to `meta`.
fn read_chunk(
    kind: &[u8; 4],
    data: Vec<u8>,
    truncated: bool,
    img: &mut ImageState,
    meta: &mut RawMetadata,
) {
    let header = &mut img.header;
    match kind {
        b"VP8X" => {
            if let (Some(&flags), Some(w), Some(h)) = (data.first(), u24(&data, 4), u24(&data, 7)) {
                header.width = w + 1;
                header.height = h + 1;
                header.alpha |= flags & ALPHA_FLAG != 0;
                header.animated |= flags & ANIM_FLAG != 0;
                img.canvas = true;
            }
        }
        b"VP8 " | b"VP8L" if !img.seen_image => {
            img.seen_image = true;
            header.lossless = Some(kind == b"VP8L");
            if let Some((w, h, alpha)) = bitstream_size(kind, &data) {
                if !img.canvas {
                    header.width = w;
                    header.height = h;
                }
                header.alpha |= alpha;
            }
        }
        _ if truncated => {
            let name = latin1(kind);
            meta.warnings
                .push(format!("WebP {name:?} chunk is incomplete; ignored"));
        }
        b"ICCP" => RawMetadata::set_once(&mut meta.icc, data, "ICC profile", &mut meta.warnings),
        b"EXIF" => {
            let block = data
                .strip_prefix(b"Exif\0\0")
                .map(<[u8]>::to_vec)
                .unwrap_or(data);
            RawMetadata::set_once(&mut meta.exif, block, "EXIF", &mut meta.warnings);
        }
        b"XMP " => {
            let xmp = String::from_utf8_lossy(&data)
                .trim_end_matches('\0')
                .to_string();
            RawMetadata::set_once(&mut meta.xmp, xmp, "XMP", &mut meta.warnings);
        }
        b"C2PA" => RawMetadata::set_once(&mut meta.c2pa, data, "C2PA", &mut meta.warnings),
        _ => {}
    }
}

/// A WebP rewrite error: the input is not well-formed WebP.
fn corrupt(detail: String) -> MetaError {
    MetaError::Corrupt {
        format: "WebP",
        detail,
    }
}

/// The canvas as the VP8X chunk of a rewritten file declares it.
struct Canvas {
    width: u32,
    height: u32,
    alpha: bool,
    animated: bool,
}

/// Rewrites a WebP file as extended WebP carrying ICC, EXIF and XMP.
pub(crate) fn embed(
    encoded: &[u8],
    meta: &EmbedMetadata,
    skipped: &mut Vec<String>,
) -> Result<Vec<u8>, MetaError> {
    let chunks = riff_chunks(encoded)?;
    let canvas = canvas_of(&chunks)?;
    let body = new_body(&chunks, meta, skipped);
    let x = vp8x_payload(&body, &canvas);

    let mut out = Vec::with_capacity(encoded.len() + 4096);
    out.extend_from_slice(b"RIFF\0\0\0\0WEBP");
    let mut push = |kind: &[u8; 4], data: &[u8]| {
        out.extend_from_slice(kind);
        out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(0);
        }
    };
    push(b"VP8X", &x);
    for (kind, data) in &body {
        push(kind, data);
    }
    let riff_size = u32::try_from(out.len() - 8)
        .map_err(|_| corrupt("the output would exceed WebP's 4 GiB limit".to_string()))?;
    out[4..8].copy_from_slice(&riff_size.to_le_bytes());
    Ok(out)
}

/// One RIFF chunk: (kind, payload).
type Chunk<'a> = ([u8; 4], &'a [u8]);

/// The chunks of an encoded WebP file as (kind, payload), checked against the RIFF size.
fn riff_chunks(encoded: &[u8]) -> Result<Vec<Chunk<'_>>, MetaError> {
    let declared =
        le32(encoded, 4).ok_or_else(|| corrupt("RIFF header cut short".to_string()))? as usize;
    let end = declared
        .checked_add(8)
        .filter(|&e| e <= encoded.len())
        .ok_or_else(|| corrupt("RIFF size is larger than the file".to_string()))?;
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut i = 12usize;
    while i + 8 <= end {
        let kind: [u8; 4] = encoded[i..i + 4].try_into().unwrap_or([0; 4]);
        let size = le32(encoded, i + 4).unwrap_or(0) as usize;
        let data = i
            .checked_add(8 + size)
            .and_then(|e| encoded.get(i + 8..e))
            .filter(|_| i + 8 + size <= end)
            .ok_or_else(|| corrupt(format!("{} chunk cut short", latin1(&kind))))?;
        chunks.push((kind, data));
        i += 8 + size + (size & 1);
    }
    Ok(chunks)
}

/// The canvas size, alpha and animation of a file, from its VP8X chunk or else its
/// bitstream.
fn canvas_of(chunks: &[Chunk]) -> Result<Canvas, MetaError> {
    let vp8x = chunks.iter().find(|c| &c.0 == b"VP8X").map(|c| c.1);
    let image = chunks
        .iter()
        .find(|c| &c.0 == b"VP8 " || &c.0 == b"VP8L")
        .and_then(|c| bitstream_size(&c.0, c.1));
    let (width, height, mut alpha) = match (vp8x, image) {
        (Some(x), _) if x.len() >= 10 => (
            u24(x, 4).unwrap_or(0) + 1,
            u24(x, 7).unwrap_or(0) + 1,
            x[0] & ALPHA_FLAG != 0,
        ),
        (_, Some(size)) => size,
        _ => {
            return Err(corrupt(
                "no VP8X, VP8 or VP8L chunk gives the canvas size".to_string(),
            ));
        }
    };
    alpha |= chunks.iter().any(|c| &c.0 == b"ALPH");
    let animated = chunks.iter().any(|c| &c.0 == b"ANIM");
    Ok(Canvas {
        width,
        height,
        alpha,
        animated,
    })
}

/// The chunks after VP8X in the rewritten file: ICC first, the kept chunks, then the new
/// EXIF and XMP; notes in `skipped` what WebP cannot carry.
fn new_body<'a>(
    chunks: &[Chunk<'a>],
    meta: &'a EmbedMetadata,
    skipped: &mut Vec<String>,
) -> Vec<Chunk<'a>> {
    let mut body: Vec<Chunk> = Vec::new();
    let icc_chunk = meta
        .icc
        .as_deref()
        .or_else(|| chunks.iter().find(|c| &c.0 == b"ICCP").map(|c| c.1));
    if let Some(icc) = icc_chunk {
        body.push((*b"ICCP", icc));
    }
    for (kind, data) in chunks {
        let drop = match kind {
            b"VP8X" | b"ICCP" => true,
            b"EXIF" => meta.exif.is_some(),
            b"XMP " => meta.xmp.is_some(),
            _ => false,
        };
        if !drop {
            body.push((*kind, data));
        }
    }
    if let Some(exif) = &meta.exif {
        body.push((*b"EXIF", exif));
    }
    if let Some(xmp) = &meta.xmp {
        body.push((*b"XMP ", xmp.as_bytes()));
    }
    if meta.iptc.is_some() {
        skipped.push("the IPTC data (WebP has no IPTC chunk; keep it in XMP)".to_string());
    }
    if meta.xmp_extended.is_some() {
        skipped.push("extended XMP (a JPEG-only structure)".to_string());
    }
    if !meta.text.is_empty() {
        skipped.push(format!(
            "{} text entries (WebP has no text chunks)",
            meta.text.len()
        ));
    }
    body
}

/// The 10-byte VP8X payload: feature flags for what `body` holds, and the canvas size.
fn vp8x_payload(body: &[Chunk], canvas: &Canvas) -> [u8; 10] {
    let has = |k: &[u8; 4]| body.iter().any(|c| &c.0 == k);
    let mut flags = 0u8;
    if has(b"ICCP") {
        flags |= ICC_FLAG;
    }
    if canvas.alpha {
        flags |= ALPHA_FLAG;
    }
    if has(b"EXIF") {
        flags |= EXIF_FLAG;
    }
    if has(b"XMP ") {
        flags |= XMP_FLAG;
    }
    if canvas.animated {
        flags |= ANIM_FLAG;
    }
    let mut x = [0u8; 10];
    x[0] = flags;
    x[4..7].copy_from_slice(&(canvas.width.saturating_sub(1)).to_le_bytes()[..3]);
    x[7..10].copy_from_slice(&(canvas.height.saturating_sub(1)).to_le_bytes()[..3]);
    x
}
