//! JPEG: walks the marker segments up to the first scan (APP1 EXIF and XMP with extended
//! XMP, APP2 ICC, APP11 JUMBF, APP13 IPTC, COM, SOF, DQT) and writes metadata segments
//! after SOI and APP0. Entropy-coded data is never read.

use std::collections::BTreeMap;

use super::iptc::{iptc_to_irb, irb_iptc};
use super::source::{ByteSource, MAX_BLOCK};
use super::{
    EmbedMetadata, HeaderFacts, MetaError, RawMetadata, TextEntry, TextKind, be16, be32, latin1,
};

const EXIF_ID: &[u8] = b"Exif\0\0";
const XMP_ID: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
const XMP_EXT_ID: &[u8] = b"http://ns.adobe.com/xmp/extension/\0";
const ICC_ID: &[u8] = b"ICC_PROFILE\0";
const PS_ID: &[u8] = b"Photoshop 3.0\0";
/// Largest payload of one segment (the 16-bit length counts itself).
const MAX_SEGMENT: usize = 65533;
const ICC_CHUNK: usize = MAX_SEGMENT - 14;
const XMP_EXT_CHUNK: usize = 65400;
const MAX_COMMENTS: usize = 256;

/// The IJG standard luminance quantisation table (any order: only its sum is used).
const STD_LUMA: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

/// Extended XMP chunks by GUID: (full length, [(offset, data)]).
type ExtendedXmp = BTreeMap<Vec<u8>, (u32, Vec<(u32, Vec<u8>)>)>;

#[derive(Default)]
struct Pieces {
    icc: Vec<(u8, u8, Vec<u8>)>,
    xmp_ext: ExtendedXmp,
    jumbf: BTreeMap<u16, Vec<(u32, Vec<u8>)>>,
    irb: Vec<u8>,
    luma: Option<Vec<u16>>,
    adobe_transform: Option<u8>,
}

/// Reads the metadata segments of a JPEG file.
pub(crate) fn read(src: &mut dyn ByteSource, meta: &mut RawMetadata) {
    let len = src.len();
    let mut off = 2u64;
    let mut p = Pieces::default();
    loop {
        let mut m = [0u8; 2];
        if !src.fill_at(off, &mut m) {
            meta.warnings
                .push("JPEG ends before its image data (truncated file?)".to_string());
            break;
        }
        if m[0] != 0xFF {
            meta.warnings.push(format!(
                "JPEG marker expected at byte {off}; reading stops there"
            ));
            break;
        }
        let marker = m[1];
        if marker == 0xFF {
            off += 1;
            continue;
        }
        if matches!(marker, 0xD0..=0xD7 | 0x01 | 0xD8) {
            off += 2;
            continue;
        }
        if marker == 0xD9 {
            break;
        }
        let mut l = [0u8; 2];
        if !src.fill_at(off + 2, &mut l) {
            meta.warnings
                .push("JPEG is truncated inside a segment header".to_string());
            break;
        }
        let seg_len = u64::from(u16::from_be_bytes(l));
        if seg_len < 2 {
            meta.warnings.push(format!(
                "JPEG segment at byte {off} has an impossible length; reading stops there"
            ));
            break;
        }
        if marker == 0xDA {
            // The image data is not read; a missing end marker still says "truncated".
            let mut eoi = [0u8; 2];
            if len >= 2 && src.fill_at(len - 2, &mut eoi) && eoi != [0xFF, 0xD9] {
                meta.warnings.push(
                    "JPEG does not end with an end-of-image marker: truncated, or data appended after the image"
                        .to_string(),
                );
            }
            break;
        }
        let wanted = matches!(marker, 0xE0..=0xEF | 0xFE | 0xDB | 0xC0..=0xCF)
            && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if wanted {
            match src.read_at(off + 4, (seg_len - 2) as usize) {
                Some(data) => segment(marker, &data, meta, &mut p),
                None => {
                    meta.warnings.push(format!(
                        "JPEG segment 0x{marker:02X} at byte {off} is cut short by the end of the file; skipped"
                    ));
                    break;
                }
            }
        }
        off += 2 + seg_len;
        if off > len {
            meta.warnings
                .push("JPEG is truncated inside a segment".to_string());
            break;
        }
    }
    finish(p, meta);
}

fn segment(marker: u8, data: &[u8], meta: &mut RawMetadata, p: &mut Pieces) {
    let w = &mut meta.warnings;
    match marker {
        0xE1 if data.starts_with(EXIF_ID) || data.starts_with(b"Exif\0\xFF") => {
            RawMetadata::set_once(&mut meta.exif, data[6..].to_vec(), "EXIF", w);
        }
        0xE1 if data.starts_with(XMP_ID) => {
            let xmp = String::from_utf8_lossy(&data[XMP_ID.len()..])
                .trim_end_matches('\0')
                .to_string();
            RawMetadata::set_once(&mut meta.xmp, xmp, "XMP", w);
        }
        0xE1 if data.starts_with(XMP_EXT_ID) => {
            let d = &data[XMP_EXT_ID.len()..];
            match (d.get(..32), be32(d, 32), be32(d, 36)) {
                (Some(guid), Some(full), Some(at)) => {
                    let entry = p.xmp_ext.entry(guid.to_vec()).or_insert((full, Vec::new()));
                    if entry.1.len() < 4096 {
                        entry.1.push((at, d[40..].to_vec()));
                    }
                }
                _ => w.push("JPEG extended XMP segment is too short; ignored".to_string()),
            }
        }
        0xE2 if data.starts_with(ICC_ID) => match (data.get(12), data.get(13)) {
            (Some(&seq), Some(&count)) => p.icc.push((seq, count, data[14..].to_vec())),
            _ => w.push("JPEG ICC segment is too short; ignored".to_string()),
        },
        0xEB if data.starts_with(b"JP") && data.len() >= 8 => {
            let en = be16(data, 2).unwrap_or(0);
            let z = be32(data, 4).unwrap_or(0);
            let pieces = p.jumbf.entry(en).or_default();
            if pieces.len() < 65536 {
                pieces.push((z, data[8..].to_vec()));
            }
        }
        0xED if data.starts_with(PS_ID) && (p.irb.len() + data.len()) as u64 <= MAX_BLOCK => {
            p.irb.extend_from_slice(&data[PS_ID.len()..]);
        }
        0xEE if data.starts_with(b"Adobe") => p.adobe_transform = data.get(11).copied(),
        0xFE if meta.text.len() < MAX_COMMENTS => {
            let value = match std::str::from_utf8(data) {
                Ok(s) => s.to_string(),
                Err(_) => latin1(data),
            };
            meta.text.push(TextEntry {
                kind: TextKind::Comment,
                key: "comment".to_string(),
                value: value.trim_end_matches('\0').to_string(),
            });
        }
        0xDB => dqt(data, p),
        0xC0..=0xCF => {
            let (Some(&precision), Some(height), Some(width), Some(&comps)) =
                (data.first(), be16(data, 1), be16(data, 3), data.get(5))
            else {
                w.push("JPEG frame header is too short".to_string());
                return;
            };
            meta.header = Some(HeaderFacts {
                width: u32::from(width),
                height: u32::from(height),
                bit_depth: precision,
                channels: comps,
                alpha: false,
                colour_model: match comps {
                    1 => "gray",
                    3 => "ycbcr",
                    4 => "cmyk",
                    _ => "unknown",
                }
                .to_string(),
                progressive: matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE),
                ..HeaderFacts::default()
            });
        }
        _ => {}
    }
}

/// Keeps the first luminance (id 0) quantisation table of a DQT segment.
fn dqt(data: &[u8], p: &mut Pieces) {
    let mut i = 0;
    while i < data.len() {
        let pq = data[i] >> 4;
        let id = data[i] & 0x0F;
        let size = if pq == 0 { 64 } else { 128 };
        let Some(t) = data.get(i + 1..i + 1 + size) else {
            return;
        };
        if id == 0 && p.luma.is_none() {
            p.luma = Some(if pq == 0 {
                t.iter().map(|&v| u16::from(v)).collect()
            } else {
                t.chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect()
            });
        }
        i += 1 + size;
    }
}

/// Estimates the IJG quality (1–100) that produced a luminance table.
pub(crate) fn estimate_quality(luma: &[u16]) -> Option<u8> {
    let sum: u32 = luma.iter().map(|&v| u32::from(v)).sum();
    let std: u32 = STD_LUMA.iter().map(|&v| u32::from(v)).sum();
    if sum == 0 || luma.len() != 64 {
        return None;
    }
    if luma.iter().all(|&v| v == 1) {
        // The table of qualities 98–100; the top of the scale is the honest answer.
        return Some(100);
    }
    let scale = f64::from(sum) * 100.0 / f64::from(std);
    let q = if scale <= 100.0 {
        (200.0 - scale) / 2.0
    } else {
        5000.0 / scale
    };
    Some(q.round().clamp(1.0, 100.0) as u8)
}

fn finish(p: Pieces, meta: &mut RawMetadata) {
    let w = &mut meta.warnings;
    if let Some(h) = meta.header.as_mut() {
        h.jpeg_quality = p.luma.as_deref().and_then(estimate_quality);
        if h.channels == 4 && p.adobe_transform == Some(2) {
            h.colour_model = "ycck".to_string();
        }
        if h.channels == 3 && p.adobe_transform == Some(0) {
            h.colour_model = "rgb".to_string();
        }
    }
    // ICC: chunks numbered 1..=count, all present.
    if !p.icc.is_empty() {
        let mut chunks = p.icc;
        chunks.sort_by_key(|c| c.0);
        let count = chunks[0].1 as usize;
        let complete = chunks.len() == count
            && chunks
                .iter()
                .enumerate()
                .all(|(i, c)| c.0 as usize == i + 1 && c.1 as usize == count);
        if complete {
            meta.icc = Some(chunks.into_iter().flat_map(|c| c.2).collect());
        } else {
            w.push(format!(
                "JPEG ICC profile has {} of its {count} chunks or misnumbered ones; the profile is ignored",
                chunks.len()
            ));
        }
    }
    // Extended XMP: the GUID named by the main packet, reassembled by offset.
    if !p.xmp_ext.is_empty() {
        let named = meta.xmp.as_deref().and_then(extended_guid);
        let key = match named {
            Some(g) if p.xmp_ext.contains_key(g.as_bytes()) => Some(g.into_bytes()),
            _ => {
                w.push("JPEG extended XMP found whose GUID the main XMP does not name; it is used anyway".to_string());
                p.xmp_ext.keys().next().cloned()
            }
        };
        if let Some((full, pieces)) = key.and_then(|k| p.xmp_ext.get(&k)) {
            if u64::from(*full) > MAX_BLOCK {
                w.push("JPEG extended XMP is over the size limit; ignored".to_string());
            } else {
                // Reassembled in offset order up to the first gap, so memory follows the
                // data present, never a length a header merely claims.
                let mut sorted: Vec<&(u32, Vec<u8>)> = pieces.iter().collect();
                sorted.sort_by_key(|x| x.0);
                let full = *full as usize;
                let mut buf: Vec<u8> = Vec::new();
                for (at, data) in sorted {
                    let at = *at as usize;
                    if at > buf.len() {
                        break;
                    }
                    let end = at.saturating_add(data.len()).min(full);
                    if end > buf.len() {
                        buf.extend_from_slice(&data[buf.len() - at..end - at]);
                    }
                }
                if buf.len() < full {
                    w.push(
                        "JPEG extended XMP is missing parts; the part before the first gap is kept"
                            .to_string(),
                    );
                }
                meta.xmp_extended = Some(
                    String::from_utf8_lossy(&buf)
                        .trim_end_matches('\0')
                        .to_string(),
                );
            }
        }
    }
    // JUMBF: prefer the box instance labelled c2pa; continuation segments repeat the
    // superbox header (LBox, TBox and maybe XLBox), which is dropped.
    if !p.jumbf.is_empty() {
        let pick = p
            .jumbf
            .iter()
            .find(|(_, v)| {
                v.iter().any(|(_, d)| {
                    d.get(..64)
                        .is_some_and(|h| h.windows(4).any(|x| x == b"c2pa"))
                })
            })
            .or_else(|| p.jumbf.iter().next());
        if let Some((_, pieces)) = pick {
            let mut pieces = pieces.clone();
            pieces.sort_by_key(|x| x.0);
            let mut out = Vec::new();
            for (i, (_, data)) in pieces.iter().enumerate() {
                let skip = if i == 0 {
                    0
                } else if be32(data, 0) == Some(1) {
                    16
                } else {
                    8
                };
                if (out.len() + data.len()) as u64 > MAX_BLOCK {
                    w.push("JPEG JUMBF data is over the size limit; truncated".to_string());
                    break;
                }
                out.extend_from_slice(data.get(skip..).unwrap_or(&[]));
            }
            meta.c2pa = Some(out);
        }
    }
    if !p.irb.is_empty() {
        match irb_iptc(&p.irb) {
            Some(iim) => meta.iptc = Some(iim),
            None => {
                if !p.irb.starts_with(b"8BIM") {
                    w.push("JPEG Photoshop segment is not a resource block; ignored".to_string());
                }
            }
        }
    }
}

/// The GUID of the extended XMP named by `xmpNote:HasExtendedXMP` in the main packet.
pub(crate) fn extended_guid(xmp: &str) -> Option<String> {
    let at = xmp.find("HasExtendedXMP")?;
    let rest = &xmp[at + "HasExtendedXMP".len()..];
    let start = rest.find(|c: char| c.is_ascii_hexdigit())?;
    let guid: String = rest[start..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    (guid.len() == 32).then_some(guid)
}

fn push_segment(out: &mut Vec<u8>, marker: u8, id: &[u8], parts: &[&[u8]]) {
    let len: usize = id.len() + parts.iter().map(|p| p.len()).sum::<usize>() + 2;
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(id);
    for p in parts {
        out.extend_from_slice(p);
    }
}

/// Writes the metadata segments after SOI (and APP0), removing the ones being replaced.
pub(crate) fn embed(
    encoded: &[u8],
    meta: &EmbedMetadata,
    skipped: &mut Vec<String>,
) -> Result<Vec<u8>, MetaError> {
    let (segs, scan_at) = segments_before_scan(encoded)?;

    let comments: Vec<&TextEntry> = meta
        .text
        .iter()
        .filter(|t| t.kind == TextKind::Comment || t.key == "comment")
        .collect();
    let other_text = meta.text.len() - comments.len();
    if other_text > 0 {
        skipped.push(format!(
            "{other_text} text entries (JPEG keeps only comments; put generator text in EXIF or XMP)"
        ));
    }
    let replaced = |marker: u8, d: &[u8]| match marker {
        0xE1 if d.starts_with(EXIF_ID) => meta.exif.is_some(),
        0xE1 if d.starts_with(XMP_ID) || d.starts_with(XMP_EXT_ID) => meta.xmp.is_some(),
        0xE2 if d.starts_with(ICC_ID) => meta.icc.is_some(),
        0xED if d.starts_with(PS_ID) => meta.iptc.is_some(),
        0xFE => !comments.is_empty(),
        _ => false,
    };

    let mut out = Vec::with_capacity(encoded.len() + 8192);
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut rest = segs.as_slice();
    if let Some(((0xE0, app0), tail)) = segs.split_first() {
        push_segment(&mut out, 0xE0, &[], &[app0]);
        rest = tail;
    }
    if let Some(exif) = &meta.exif {
        push_exif(&mut out, exif, skipped);
    }
    if let Some(xmp) = &meta.xmp {
        push_xmp(&mut out, xmp, meta.xmp_extended.as_deref(), skipped);
    }
    if let Some(icc) = &meta.icc {
        push_icc(&mut out, icc, skipped);
    }
    if let Some(iptc) = &meta.iptc {
        push_iptc(&mut out, iptc, skipped);
    }
    for c in &comments {
        let bytes = c.value.as_bytes();
        if bytes.len() > MAX_SEGMENT {
            skipped.push(format!(
                "a comment of {} bytes (over one segment)",
                bytes.len()
            ));
        } else {
            push_segment(&mut out, 0xFE, &[], &[bytes]);
        }
    }
    for (marker, data) in rest {
        if !replaced(*marker, data) {
            push_segment(&mut out, *marker, &[], &[data]);
        }
    }
    out.extend_from_slice(&encoded[scan_at..]);
    Ok(out)
}

/// A segment of an encoded JPEG: (marker, payload).
type Segment<'a> = (u8, &'a [u8]);

/// Walks an encoded JPEG up to its first scan: the segments before it as (marker,
/// payload), and the byte offset of the scan's SOS marker.
fn segments_before_scan(encoded: &[u8]) -> Result<(Vec<Segment<'_>>, usize), MetaError> {
    let corrupt = |detail: String| MetaError::Corrupt {
        format: "JPEG",
        detail,
    };
    // Segments before the first scan: (marker, payload).
    let mut segs: Vec<Segment> = Vec::new();
    let mut i = 2usize;
    let scan_at = loop {
        let m = encoded
            .get(i..i + 2)
            .ok_or_else(|| corrupt("it ends before its image data".to_string()))?;
        if m[0] != 0xFF {
            return Err(corrupt(format!("marker expected at byte {i}")));
        }
        if m[1] == 0xFF {
            i += 1;
            continue;
        }
        if m[1] == 0xDA {
            break i;
        }
        // The same rules as the reader: what it would stop at is refused here.
        if matches!(m[1], 0xD0..=0xD9 | 0x01) {
            return Err(corrupt(format!(
                "unexpected marker 0x{:02X} before the image data",
                m[1]
            )));
        }
        let len = be16(encoded, i + 2)
            .ok_or_else(|| corrupt("segment header cut short".to_string()))?
            as usize;
        if len < 2 {
            return Err(corrupt(format!(
                "segment at byte {i} has an impossible length"
            )));
        }
        let data = encoded
            .get(i + 4..i + 2 + len)
            .ok_or_else(|| corrupt(format!("segment 0x{:02X} cut short", m[1])))?;
        segs.push((m[1], data));
        i += 2 + len;
    };
    Ok((segs, scan_at))
}

/// Writes the EXIF block as one APP1 segment, or notes it as skipped when too large.
fn push_exif(out: &mut Vec<u8>, exif: &[u8], skipped: &mut Vec<String>) {
    if exif.len() + EXIF_ID.len() > MAX_SEGMENT {
        skipped.push(format!(
            "the EXIF block ({} bytes; a JPEG APP1 segment holds at most {})",
            exif.len(),
            MAX_SEGMENT - EXIF_ID.len()
        ));
    } else {
        push_segment(out, 0xE1, EXIF_ID, &[exif]);
    }
}

/// Writes the main XMP packet as one APP1 segment, then any extended XMP in chunks under
/// the GUID the main packet names; notes what did not fit as skipped.
fn push_xmp(out: &mut Vec<u8>, xmp: &str, extended: Option<&str>, skipped: &mut Vec<String>) {
    if xmp.len() + XMP_ID.len() > MAX_SEGMENT {
        skipped.push(format!(
            "the XMP packet ({} bytes; JPEG holds at most {} in the main packet)",
            xmp.len(),
            MAX_SEGMENT - XMP_ID.len()
        ));
    } else {
        push_segment(out, 0xE1, XMP_ID, &[xmp.as_bytes()]);
        if let Some(ext) = extended {
            match extended_guid(xmp) {
                Some(guid) if ext.len() as u64 <= u64::from(u32::MAX) => {
                    let full = (ext.len() as u32).to_be_bytes();
                    for (n, chunk) in ext.as_bytes().chunks(XMP_EXT_CHUNK).enumerate() {
                        let at = ((n * XMP_EXT_CHUNK) as u32).to_be_bytes();
                        push_segment(out, 0xE1, XMP_EXT_ID, &[guid.as_bytes(), &full, &at, chunk]);
                    }
                }
                _ => skipped.push(
                    "extended XMP (the main packet does not name its GUID in xmpNote:HasExtendedXMP)"
                        .to_string(),
                ),
            }
        }
    }
}

/// Writes the ICC profile as numbered APP2 chunks, or notes it as skipped when it needs
/// more than 255.
fn push_icc(out: &mut Vec<u8>, icc: &[u8], skipped: &mut Vec<String>) {
    let count = icc.len().div_ceil(ICC_CHUNK).max(1);
    if count > 255 {
        skipped.push(format!(
            "the ICC profile ({} bytes; JPEG holds at most 255 chunks of {ICC_CHUNK})",
            icc.len()
        ));
    } else {
        for (n, chunk) in icc.chunks(ICC_CHUNK).enumerate() {
            push_segment(out, 0xE2, ICC_ID, &[&[n as u8 + 1, count as u8], chunk]);
        }
    }
}

/// Writes the IPTC data as a Photoshop APP13 segment, or notes it as skipped when too large.
fn push_iptc(out: &mut Vec<u8>, iptc: &[u8], skipped: &mut Vec<String>) {
    let irb = iptc_to_irb(iptc);
    if irb.len() + PS_ID.len() > MAX_SEGMENT {
        skipped.push(format!(
            "the IPTC data ({} bytes; one APP13 segment holds less)",
            iptc.len()
        ));
    } else {
        push_segment(out, 0xED, PS_ID, &[&irb]);
    }
}
