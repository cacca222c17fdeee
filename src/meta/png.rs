//! PNG: walks the chunks (IHDR, iCCP, eXIf, tEXt, zTXt, iTXt, caBX, sRGB, cICP, acTL)
//! without touching IDAT, and writes metadata chunks right after IHDR.

use super::iptc::{decode_raw_profile, encode_raw_profile, irb_iptc};
use super::source::{Budget, ByteSource, MAX_BLOCK};
use super::{
    EmbedMetadata, HeaderFacts, MetaError, RawMetadata, TextEntry, TextKind, deflate, inflate,
    latin1, latin1_owned,
};

/// The PNG file signature (PNG specification §5.2).
pub(crate) const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";
const XMP_KEY: &str = "XML:com.adobe.xmp";
/// Decompressed size limit for one text chunk or ICC profile.
const INFLATE_LIMIT: usize = 16 * 1024 * 1024;
const MAX_TEXT_ENTRIES: usize = 4096;

/// A chunk's CRC: over its type and its data, given as `parts` joined.
fn crc(kind: &[u8], parts: &[&[u8]]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(kind);
    parts.iter().for_each(|p| c.update(p));
    c.sum()
}

fn wants(kind: &[u8; 4]) -> bool {
    matches!(
        kind,
        b"IHDR"
            | b"iCCP"
            | b"eXIf"
            | b"tEXt"
            | b"zTXt"
            | b"iTXt"
            | b"caBX"
            | b"sRGB"
            | b"gAMA"
            | b"cHRM"
            | b"cICP"
            | b"acTL"
            | b"tRNS"
    )
}

/// Inflates a chunk's compressed payload within [`INFLATE_LIMIT`] and what is left of the
/// file's budget, and charges the result to it.
fn inflate_charged(z: &[u8], budget: &mut Budget) -> Result<Vec<u8>, String> {
    let limit = usize::try_from(budget.left()).map_or(INFLATE_LIMIT, |l| l.min(INFLATE_LIMIT));
    match inflate(z, limit) {
        Ok(v) => {
            budget.take(v.len() as u64);
            Ok(v)
        }
        Err(e) => {
            if limit < INFLATE_LIMIT && e.starts_with("inflates to more") {
                budget.exhaust();
            }
            Err(e)
        }
    }
}

/// Reads the metadata chunks of a PNG file.
pub(crate) fn read(src: &mut dyn ByteSource, meta: &mut RawMetadata) {
    let len = src.len();
    let mut off = 8u64;
    loop {
        if off == len {
            meta.warnings
                .push("PNG ends without an IEND chunk (truncated file?)".to_string());
            break;
        }
        let mut head = [0u8; 8];
        if !src.fill_at(off, &mut head) {
            meta.warnings.push(format!(
                "PNG is truncated inside a chunk header at byte {off}"
            ));
            break;
        }
        let size = u64::from(u32::from_be_bytes([head[0], head[1], head[2], head[3]]));
        let kind: [u8; 4] = [head[4], head[5], head[6], head[7]];
        let name = latin1(&kind);
        if size > 0x7FFF_FFFF || !kind.iter().all(u8::is_ascii_alphabetic) {
            meta.warnings
                .push(format!("PNG chunk at byte {off} is corrupt (type {name:?}, length {size}); reading stops there"));
            break;
        }
        let data_at = off + 8;
        let end = data_at + size + 4;
        if &kind == b"IEND" {
            break;
        }
        if wants(&kind) {
            if end > len {
                meta.warnings.push(format!(
                    "PNG {name} chunk is cut short by the end of the file; skipped"
                ));
                break;
            }
            if size > MAX_BLOCK {
                meta.warnings.push(format!(
                    "PNG {name} chunk of {size} bytes is over the size limit; skipped"
                ));
            } else if let Some(chunk) = src.read_at(data_at, size as usize + 4) {
                let (data, crc_bytes) = chunk.split_at(size as usize);
                let stored =
                    u32::from_be_bytes([crc_bytes[0], crc_bytes[1], crc_bytes[2], crc_bytes[3]]);
                if stored != crc(&kind, &[data]) {
                    meta.warnings.push(format!(
                        "PNG {name} chunk has a bad checksum; its content is used anyway"
                    ));
                }
                chunk_metadata(&kind, data, meta, src.budget());
            }
            if src.budget().exhausted() {
                break;
            }
        } else if &kind == b"fcTL"
            && let Some(h) = meta.header.as_mut()
        {
            h.animated = true;
        }
        off = end;
        if off > len {
            meta.warnings.push(format!(
                "PNG {name} chunk is cut short by the end of the file"
            ));
            break;
        }
    }
}

fn chunk_metadata(kind: &[u8; 4], data: &[u8], meta: &mut RawMetadata, budget: &mut Budget) {
    let w = &mut meta.warnings;
    match kind {
        b"IHDR" => {
            if data.len() < 13 {
                w.push("PNG IHDR chunk is too short".to_string());
                return;
            }
            let colour_type = data[9];
            let (channels, alpha, model) = match colour_type {
                0 => (1, false, "gray"),
                2 => (3, false, "rgb"),
                3 => (1, false, "palette"),
                4 => (2, true, "gray"),
                6 => (4, true, "rgb"),
                _ => (0, false, "unknown"),
            };
            meta.header = Some(HeaderFacts {
                width: super::be32(data, 0).unwrap_or(0),
                height: super::be32(data, 4).unwrap_or(0),
                bit_depth: data[8],
                channels,
                alpha,
                colour_model: model.to_string(),
                ..HeaderFacts::default()
            });
        }
        b"sRGB" => {
            if let Some(h) = meta.header.as_mut() {
                h.srgb_chunk = true;
            }
        }
        b"gAMA" => {
            if let (Some(h), Some(g)) = (meta.header.as_mut(), super::be32(data, 0)) {
                h.png_gamma = (g > 0).then_some(g);
            }
        }
        b"cHRM" => {
            if let Some(h) = meta.header.as_mut() {
                let v: Option<Vec<u32>> = (0..8).map(|k| super::be32(data, 4 * k)).collect();
                h.png_chrm = v.and_then(|v| <[u32; 8]>::try_from(v).ok());
            }
        }
        b"cICP" => {
            if let (Some(h), Ok(v)) = (meta.header.as_mut(), <[u8; 4]>::try_from(data)) {
                h.cicp = Some(v);
            }
        }
        b"acTL" => {
            if let Some(h) = meta.header.as_mut() {
                h.animated = true;
            }
        }
        b"tRNS" => {
            // Transparency for palette, gray or RGB images.
            if let Some(h) = meta.header.as_mut() {
                h.alpha = true;
            }
        }
        b"iCCP" => {
            let Some(nul) = data.iter().position(|&b| b == 0) else {
                w.push("PNG iCCP chunk has no profile name terminator; ignored".to_string());
                return;
            };
            match data.get(nul + 2..).map(|z| inflate_charged(z, budget)) {
                Some(Ok(icc)) => RawMetadata::set_once(&mut meta.icc, icc, "ICC profile", w),
                Some(Err(e)) => w.push(format!("PNG iCCP profile is unreadable ({e}); ignored")),
                None => w.push("PNG iCCP chunk is too short; ignored".to_string()),
            }
        }
        b"eXIf" => {
            let block = data.strip_prefix(b"Exif\0\0").unwrap_or(data).to_vec();
            RawMetadata::set_once(&mut meta.exif, block, "EXIF", w);
        }
        b"caBX" => RawMetadata::set_once(&mut meta.c2pa, data.to_vec(), "C2PA", w),
        b"tEXt" | b"zTXt" | b"iTXt" => match text_chunk(kind, data, budget) {
            Ok(entry) => text_entry(entry, meta),
            Err(e) => w.push(format!(
                "PNG {} chunk is unreadable ({e}); ignored",
                latin1(kind)
            )),
        },
        _ => {}
    }
}

/// Decodes a tEXt, zTXt or iTXt chunk.
fn text_chunk(kind: &[u8; 4], data: &[u8], budget: &mut Budget) -> Result<TextEntry, String> {
    let nul = data
        .iter()
        .position(|&b| b == 0)
        .ok_or("no keyword terminator")?;
    let key = latin1(&data[..nul]);
    let rest = &data[nul + 1..];
    let (kind, value) = match kind {
        b"tEXt" => (TextKind::Text, latin1(rest)),
        b"zTXt" => {
            let z = rest.get(1..).ok_or("no compression method")?;
            (TextKind::Ztxt, latin1_owned(inflate_charged(z, budget)?))
        }
        _ => {
            let flag = *rest.first().ok_or("no compression flag")?;
            let after = rest.get(2..).ok_or("cut short")?;
            let lang_end = after
                .iter()
                .position(|&b| b == 0)
                .ok_or("no language terminator")?;
            let after = &after[lang_end + 1..];
            let tr_end = after
                .iter()
                .position(|&b| b == 0)
                .ok_or("no translated-keyword terminator")?;
            let text = &after[tr_end + 1..];
            let text = if flag == 1 {
                inflate_charged(text, budget)?
            } else {
                text.to_vec()
            };
            (TextKind::Itxt, String::from_utf8_lossy(&text).into_owned())
        }
    };
    Ok(TextEntry { kind, key, value })
}

/// Sorts a text entry into XMP, a decoded raw profile or the plain text list.
fn text_entry(entry: TextEntry, meta: &mut RawMetadata) {
    let w = &mut meta.warnings;
    if entry.key == XMP_KEY {
        RawMetadata::set_once(&mut meta.xmp, entry.value, "XMP", w);
        return;
    }
    if let Some(profile) = entry.key.strip_prefix("Raw profile type ") {
        let profile = profile.to_ascii_lowercase();
        if matches!(
            profile.as_str(),
            "iptc" | "8bim" | "exif" | "app1" | "xmp" | "icc" | "icm"
        ) {
            let bytes = match decode_raw_profile(&entry.value) {
                Ok(b) => b,
                Err(e) => {
                    w.push(format!(
                        "PNG text {:?} is unreadable ({e}); ignored",
                        entry.key
                    ));
                    return;
                }
            };
            match profile.as_str() {
                "iptc" | "8bim" => {
                    let iim = if bytes.starts_with(b"8BIM") {
                        irb_iptc(&bytes)
                    } else {
                        Some(bytes)
                    };
                    match iim {
                        Some(iim) => RawMetadata::set_once(&mut meta.iptc, iim, "IPTC", w),
                        None => w.push(format!("PNG text {:?} holds no IPTC data", entry.key)),
                    }
                }
                "exif" | "app1" => {
                    let block = bytes.strip_prefix(b"Exif\0\0").unwrap_or(&bytes).to_vec();
                    RawMetadata::set_once(&mut meta.exif, block, "EXIF", w);
                }
                "xmp" => {
                    let xmp = String::from_utf8_lossy(&bytes).into_owned();
                    RawMetadata::set_once(&mut meta.xmp, xmp, "XMP", w);
                }
                _ => RawMetadata::set_once(&mut meta.icc, bytes, "ICC profile", w),
            }
            return;
        }
    }
    if meta.text.len() < MAX_TEXT_ENTRIES {
        meta.text.push(entry);
    } else if meta.text.len() == MAX_TEXT_ENTRIES {
        w.push(format!(
            "more than {MAX_TEXT_ENTRIES} PNG text chunks; the rest are ignored"
        ));
    }
}

/// Appends a chunk whose data is `parts` joined (the parts are not copied together first).
pub(crate) fn push_chunk(out: &mut Vec<u8>, kind: &[u8; 4], parts: &[&[u8]]) {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(kind);
    parts.iter().for_each(|p| out.extend_from_slice(p));
    out.extend_from_slice(&crc(kind, parts).to_be_bytes());
}

fn valid_key(key: &str) -> bool {
    (1..=79).contains(&key.len())
        && key
            .chars()
            .all(|c| (' '..='~').contains(&c) || ('\u{a1}'..='\u{ff}').contains(&c))
}

fn encode_text(e: &TextEntry) -> (&'static [u8; 4], Vec<u8>) {
    let latin1_ok = e.value.chars().all(|c| (c as u32) < 256);
    let key: Vec<u8> = e.key.chars().map(|c| c as u8).collect();
    let mut data = key;
    data.push(0);
    match e.kind {
        TextKind::Text | TextKind::Comment if latin1_ok => {
            data.extend(e.value.chars().map(|c| c as u8));
            (b"tEXt", data)
        }
        TextKind::Ztxt if latin1_ok => {
            data.push(0);
            let raw: Vec<u8> = e.value.chars().map(|c| c as u8).collect();
            data.extend_from_slice(&deflate(&raw));
            (b"zTXt", data)
        }
        _ => {
            data.extend_from_slice(&[0, 0, 0, 0]);
            data.extend_from_slice(e.value.as_bytes());
            (b"iTXt", data)
        }
    }
}

/// The keyword of a text chunk, if it is one.
fn chunk_key(kind: &[u8; 4], data: &[u8]) -> Option<String> {
    if !matches!(kind, b"tEXt" | b"zTXt" | b"iTXt") {
        return None;
    }
    let nul = data.iter().position(|&b| b == 0)?;
    Some(latin1(&data[..nul]))
}

/// One chunk of a PNG file: its type, its data, and where it starts (its length field).
struct Chunk<'a> {
    kind: [u8; 4],
    data: &'a [u8],
    at: usize,
}

/// The file's chunks up to IEND, IHDR first.
fn chunks(encoded: &[u8]) -> Result<Vec<Chunk<'_>>, MetaError> {
    let corrupt = |detail: String| MetaError::Corrupt {
        format: "PNG",
        detail,
    };
    let mut chunks = Vec::new();
    let mut i = 8usize;
    loop {
        let head = encoded
            .get(i..i + 8)
            .ok_or_else(|| corrupt(format!("chunk header at byte {i} is cut short")))?;
        let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let kind: [u8; 4] = [head[4], head[5], head[6], head[7]];
        let data = i
            .checked_add(8 + size)
            .and_then(|end| encoded.get(i + 8..end))
            .ok_or_else(|| corrupt(format!("{} chunk is cut short", latin1(&kind))))?;
        chunks.push(Chunk { kind, data, at: i });
        i += 12 + size;
        if &kind == b"IEND" {
            break;
        }
    }
    if chunks.first().map(|c| &c.kind) != Some(b"IHDR") {
        return Err(corrupt("the first chunk is not IHDR".to_string()));
    }
    Ok(chunks)
}

/// Whether the file's chunk carries a block `meta` writes anew (so it is dropped).
fn replaced(meta: &EmbedMetadata, c: &Chunk) -> bool {
    match &c.kind {
        b"iCCP" | b"sRGB" => meta.icc.is_some(),
        b"eXIf" => meta.exif.is_some(),
        _ => match chunk_key(&c.kind, c.data) {
            Some(k) if k == XMP_KEY => meta.xmp.is_some(),
            Some(k)
                if k.starts_with("Raw profile type iptc")
                    || k.starts_with("Raw profile type 8bim") =>
            {
                meta.iptc.is_some()
            }
            Some(k) => meta.text.iter().any(|t| t.key == k),
            None => false,
        },
    }
}

/// The signature, IHDR (`ihdr`, its data) and the metadata chunks, into `out`.
pub(super) fn head(
    out: &mut Vec<u8>,
    ihdr: &[u8],
    meta: &EmbedMetadata,
    skipped: &mut Vec<String>,
) {
    out.extend_from_slice(SIGNATURE);
    push_chunk(out, b"IHDR", &[ihdr]);
    if let Some(icc) = &meta.icc {
        let mut data = b"ICC Profile\0\0".to_vec();
        data.extend_from_slice(&deflate(icc));
        push_chunk(out, b"iCCP", &[&data]);
    }
    if let Some(exif) = &meta.exif {
        push_chunk(out, b"eXIf", &[exif]);
    }
    if let Some(xmp) = &meta.xmp {
        let mut data = format!("{XMP_KEY}\0").into_bytes();
        data.extend_from_slice(&[0, 0, 0, 0]);
        data.extend_from_slice(xmp.as_bytes());
        push_chunk(out, b"iTXt", &[&data]);
    }
    if meta.xmp_extended.is_some() {
        skipped.push(
            "extended XMP (a JPEG-only structure; merge it into the main packet)".to_string(),
        );
    }
    if let Some(iptc) = &meta.iptc {
        let text = encode_raw_profile("IPTC profile", &super::iptc_to_irb(iptc));
        let mut data = b"Raw profile type iptc\0\0".to_vec();
        data.extend_from_slice(&deflate(text.as_bytes()));
        push_chunk(out, b"zTXt", &[&data]);
    }
    for entry in &meta.text {
        if !valid_key(&entry.key) {
            skipped.push(format!(
                "text entry {:?} (not a valid PNG keyword)",
                entry.key
            ));
            continue;
        }
        let (kind, data) = encode_text(entry);
        push_chunk(out, kind, &[&data]);
    }
}

/// Writes the metadata chunks after IHDR, removing the ones being replaced.
pub(crate) fn embed(
    encoded: &[u8],
    meta: &EmbedMetadata,
    skipped: &mut Vec<String>,
) -> Result<Vec<u8>, MetaError> {
    let chunks = chunks(encoded)?;
    let mut out = Vec::with_capacity(encoded.len() + 4096);
    head(&mut out, chunks[0].data, meta, skipped);
    for c in chunks[1..].iter().filter(|c| !replaced(meta, c)) {
        push_chunk(&mut out, &c.kind, &[c.data]);
    }
    Ok(out)
}

/// [`embed`] on a file it may take, giving the same file. When no chunk from the first IDAT
/// on is replaced (as in every file realskin's encoder writes), only what comes before the
/// image data is written anew and the rest moves within the buffer: for a 36 MP output that
/// is tens of MB not copied to fresh memory, and its chunks keep their CRCs as they are.
/// Otherwise as [`embed`]. A damaged file comes back unchanged with the error.
pub(crate) fn embed_owned(
    mut encoded: Vec<u8>,
    meta: &EmbedMetadata,
    skipped: &mut Vec<String>,
) -> Result<Vec<u8>, (MetaError, Vec<u8>)> {
    let spliced = match chunks(&encoded) {
        Err(e) => Err(e),
        Ok(chunks) => Ok(chunks
            .iter()
            .position(|c| &c.kind == b"IDAT")
            .filter(|&first| !chunks[first..].iter().any(|c| replaced(meta, c)))
            .map(|first| {
                let mut new = Vec::with_capacity(chunks[first].at + 4096);
                head(&mut new, chunks[0].data, meta, skipped);
                for c in chunks[1..first].iter().filter(|c| !replaced(meta, c)) {
                    push_chunk(&mut new, &c.kind, &[c.data]);
                }
                let last = &chunks[chunks.len() - 1];
                (new, chunks[first].at, last.at + 12 + last.data.len())
            })),
    };
    match spliced {
        Err(e) => Err((e, encoded)),
        Ok(Some((new, first_idat, iend_end))) => {
            // Anything after IEND is dropped, as the copying path drops it.
            encoded.truncate(iend_end);
            encoded.splice(..first_idat, new);
            Ok(encoded)
        }
        Ok(None) => embed(&encoded, meta, skipped).map_err(|e| (e, encoded)),
    }
}
