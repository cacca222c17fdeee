//! TIFF: reads IFD0 (size, samples, ICC, XMP, IPTC, EXIF tags and sub-IFDs) and embeds
//! metadata by appending a rewritten IFD0. Also the small IFD model that EXIF blocks share.
//!
//! Embedding keeps the pixel data where it is: the new IFD0 copies every original tag
//! (strip and tile offsets stay valid), replaces ICC, XMP, IPTC and the EXIF tags, and
//! the header is pointed at it. Only IFD0 is rewritten; later pages are kept as they are.
//! BigTIFF is read for its container type only and refused for embedding.

use super::source::{ByteSource, Bytes, MAX_BLOCK};
use super::{EmbedMetadata, HeaderFacts, MetaError, RawMetadata};

/// Byte order of a TIFF structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endian {
    Little,
    Big,
}

impl Endian {
    /// Reads the byte order from a classic TIFF header (`II*\0` or `MM\0*`).
    pub(crate) fn from_header(b: &[u8]) -> Option<Endian> {
        match b.get(0..4)? {
            b"II*\0" => Some(Endian::Little),
            b"MM\0*" => Some(Endian::Big),
            _ => None,
        }
    }
    pub(crate) fn u16(self, b: &[u8], i: usize) -> Option<u16> {
        let a: [u8; 2] = b.get(i..i.checked_add(2)?)?.try_into().ok()?;
        Some(match self {
            Endian::Little => u16::from_le_bytes(a),
            Endian::Big => u16::from_be_bytes(a),
        })
    }
    pub(crate) fn u32(self, b: &[u8], i: usize) -> Option<u32> {
        let a: [u8; 4] = b.get(i..i.checked_add(4)?)?.try_into().ok()?;
        Some(match self {
            Endian::Little => u32::from_le_bytes(a),
            Endian::Big => u32::from_be_bytes(a),
        })
    }
    pub(crate) fn put16(self, v: u16) -> [u8; 2] {
        match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }
    pub(crate) fn put32(self, v: u32) -> [u8; 4] {
        match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }
    fn header(self) -> [u8; 4] {
        match self {
            Endian::Little => *b"II*\0",
            Endian::Big => *b"MM\0*",
        }
    }
}

/// One IFD entry with its value bytes in the IFD's byte order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub tag: u16,
    pub typ: u16,
    pub count: u32,
    pub value: Vec<u8>,
}

/// One image file directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Ifd {
    pub entries: Vec<Entry>,
    pub next: u32,
}

pub(crate) const TAG_EXIF_IFD: u16 = 0x8769;
pub(crate) const TAG_GPS_IFD: u16 = 0x8825;
pub(crate) const TAG_INTEROP_IFD: u16 = 0xA005;
const TAG_ORIENTATION: u16 = 0x0112;
const TAG_XMP: u16 = 700;
const TAG_IPTC: u16 = 33723;
const TAG_ICC: u16 = 34675;

/// IFD0 tags that an EXIF block carries and a TIFF output takes over from it.
const EXIF_IFD0_TAGS: &[u16] = &[
    270,
    271,
    272,
    305,
    306,
    315,
    33432,
    TAG_ORIENTATION,
    0x9C9B,
    0x9C9C,
    0x9C9D,
    0x9C9E,
    0x9C9F,
];

/// Size of one value of a TIFF field type; `None` for unknown types.
pub(crate) fn type_size(typ: u16) -> Option<usize> {
    match typ {
        1 | 2 | 6 | 7 => Some(1),
        3 | 8 => Some(2),
        4 | 9 | 11 | 13 => Some(4),
        5 | 10 | 12 => Some(8),
        _ => None,
    }
}

/// The unit that flips when the byte order changes.
fn swap_unit(typ: u16) -> usize {
    match typ {
        3 | 8 => 2,
        4 | 9 | 11 | 13 | 5 | 10 => 4,
        12 => 8,
        _ => 1,
    }
}

impl Entry {
    /// The value converted to another byte order.
    fn converted(&self, from: Endian, to: Endian) -> Entry {
        let mut e = self.clone();
        let unit = swap_unit(self.typ);
        if from != to && unit > 1 {
            for chunk in e.value.chunks_exact_mut(unit) {
                chunk.reverse();
            }
        }
        e
    }

    /// The first value as an unsigned integer (SHORT or LONG).
    pub(crate) fn uint(&self, endian: Endian) -> Option<u32> {
        match self.typ {
            3 => endian.u16(&self.value, 0).map(u32::from),
            4 | 13 => endian.u32(&self.value, 0),
            1 => self.value.first().map(|&b| u32::from(b)),
            _ => None,
        }
    }
}

impl Ifd {
    pub(crate) const MAX_ENTRIES: usize = 4096;

    /// Parses the IFD at `off`. Values of more than four bytes are loaded only when
    /// `load(tag)` says so; the others keep an empty value.
    pub(crate) fn parse(
        src: &mut dyn ByteSource,
        off: u64,
        endian: Endian,
        load: &dyn Fn(u16) -> bool,
        warnings: &mut Vec<String>,
    ) -> Option<Ifd> {
        let mut cnt = [0u8; 2];
        if !src.fill_at(off, &mut cnt) {
            warnings.push(format!(
                "TIFF directory at offset {off} lies outside the file"
            ));
            return None;
        }
        let count = endian.u16(&cnt, 0)? as usize;
        if count > Self::MAX_ENTRIES {
            warnings.push(format!(
                "TIFF directory at offset {off} claims {count} entries; ignored"
            ));
            return None;
        }
        let Some(dir) = src.read_at(off + 2, count * 12 + 4) else {
            warnings.push(format!("TIFF directory at offset {off} is truncated"));
            return None;
        };
        let mut ifd = Ifd {
            entries: Vec::with_capacity(count),
            next: endian.u32(&dir, count * 12).unwrap_or(0),
        };
        // Value ranges already loaded, to refuse entries that point into each other: in an
        // honest file every value has its own bytes.
        let mut loaded: Vec<(u64, u64)> = Vec::new();
        let mut seen = vec![0u64; 1024]; // one bit per tag number
        for i in 0..count {
            let e = &dir[i * 12..i * 12 + 12];
            let tag = endian.u16(e, 0)?;
            let typ = endian.u16(e, 2)?;
            let n = endian.u32(e, 4)?;
            let (word, bit) = (usize::from(tag / 64), 1u64 << (tag % 64));
            if seen[word] & bit != 0 {
                warnings.push(format!(
                    "TIFF tag {tag} appears twice in the directory at offset {off}; the first is used"
                ));
                continue;
            }
            seen[word] |= bit;
            let Some(size) = type_size(typ).and_then(|s| s.checked_mul(n as usize)) else {
                warnings.push(format!("TIFF tag {tag} has unknown type {typ}; skipped"));
                continue;
            };
            let value = if size <= 4 {
                e[8..8 + size].to_vec()
            } else if !load(tag) {
                Vec::new()
            } else if size as u64 > MAX_BLOCK {
                warnings.push(format!(
                    "TIFF tag {tag} is {size} bytes, over the limit; skipped"
                ));
                continue;
            } else {
                let at = u64::from(endian.u32(e, 8)?);
                let end = at.saturating_add(size as u64);
                if end > src.len() {
                    warnings.push(format!("TIFF tag {tag} points outside the file; skipped"));
                    continue;
                }
                if loaded.iter().any(|&(a, b)| at < b && a < end) {
                    warnings.push(format!(
                        "TIFF tag {tag} points into another tag's value (a crafted or corrupt file); skipped"
                    ));
                    continue;
                }
                match src.read_at(at, size) {
                    Some(v) => {
                        loaded.push((at, end));
                        v
                    }
                    // In range but refused: the file's metadata budget is spent.
                    None => break,
                }
            };
            ifd.entries.push(Entry {
                tag,
                typ,
                count: n,
                value,
            });
        }
        Some(ifd)
    }

    pub(crate) fn get(&self, tag: u16) -> Option<&Entry> {
        self.entries.iter().find(|e| e.tag == tag)
    }

    fn remove(&mut self, tag: u16) {
        self.entries.retain(|e| e.tag != tag);
    }

    fn set(&mut self, entry: Entry) {
        self.remove(entry.tag);
        self.entries.push(entry);
    }

    /// Appends this IFD and its values to `out`, whose first byte sits at file offset
    /// `base`. Returns the IFD's file offset, or `None` past 4 GiB.
    pub(crate) fn append(&self, out: &mut Vec<u8>, base: usize, endian: Endian) -> Option<u32> {
        if out.len() % 2 == 1 {
            out.push(0);
        }
        let mut entries: Vec<&Entry> = self.entries.iter().collect();
        entries.sort_by_key(|e| e.tag);
        let at = base.checked_add(out.len())?;
        let dir_len = 2 + entries.len() * 12 + 4;
        let mut data_at = at.checked_add(dir_len)?;
        let mut dir = Vec::with_capacity(dir_len);
        let mut data = Vec::new();
        dir.extend_from_slice(&endian.put16(u16::try_from(entries.len()).ok()?));
        for e in &entries {
            dir.extend_from_slice(&endian.put16(e.tag));
            dir.extend_from_slice(&endian.put16(e.typ));
            dir.extend_from_slice(&endian.put32(e.count));
            if e.value.len() <= 4 {
                let mut v = [0u8; 4];
                v[..e.value.len()].copy_from_slice(&e.value);
                dir.extend_from_slice(&v);
            } else {
                dir.extend_from_slice(&endian.put32(u32::try_from(data_at).ok()?));
                data.extend_from_slice(&e.value);
                if data.len() % 2 == 1 {
                    data.push(0);
                }
                data_at = at.checked_add(dir_len)?.checked_add(data.len())?;
            }
        }
        dir.extend_from_slice(&endian.put32(self.next));
        u32::try_from(data_at).ok()?;
        out.extend_from_slice(&dir);
        out.extend_from_slice(&data);
        u32::try_from(at).ok()
    }
}

/// The EXIF-relevant parts of a TIFF structure: IFD0 tags and the Exif, Interop and GPS
/// IFDs, each in `endian`.
struct ExifParts {
    endian: Endian,
    ifd0: Vec<Entry>,
    exif: Option<Ifd>,
    interop: Option<Ifd>,
    gps: Option<Ifd>,
}

impl ExifParts {
    fn collect(
        src: &mut dyn ByteSource,
        endian: Endian,
        ifd0: &Ifd,
        warnings: &mut Vec<String>,
    ) -> Self {
        let mut sub = |tag: u16, parent: &Ifd, warnings: &mut Vec<String>| {
            let off = parent.get(tag)?.uint(endian)?;
            let mut ifd = Ifd::parse(src, u64::from(off), endian, &|_| true, warnings)?;
            ifd.next = 0;
            Some(ifd)
        };
        let exif = sub(TAG_EXIF_IFD, ifd0, warnings);
        let interop = exif
            .as_ref()
            .and_then(|e| sub(TAG_INTEROP_IFD, e, warnings));
        let gps = sub(TAG_GPS_IFD, ifd0, warnings);
        ExifParts {
            endian,
            ifd0: ifd0
                .entries
                .iter()
                .filter(|e| {
                    EXIF_IFD0_TAGS.contains(&e.tag) && e.value.len() as u64 >= entry_size(e)
                })
                .cloned()
                .collect(),
            exif,
            interop,
            gps,
        }
    }

    fn is_empty(&self) -> bool {
        self.ifd0.is_empty() && self.exif.is_none() && self.gps.is_none()
    }

    /// Appends the sub-IFDs to `out` (at file offset `base`) in `to` byte order and
    /// returns the IFD0 entries that point at them, plus the IFD0 tags.
    fn append_subs(&self, out: &mut Vec<u8>, base: usize, to: Endian) -> Option<Vec<Entry>> {
        let conv = |ifd: &Ifd| Ifd {
            entries: ifd
                .entries
                .iter()
                .map(|e| e.converted(self.endian, to))
                .collect(),
            next: 0,
        };
        let pointer = |tag: u16, off: u32| Entry {
            tag,
            typ: 4,
            count: 1,
            value: to.put32(off).to_vec(),
        };
        let mut ifd0: Vec<Entry> = self
            .ifd0
            .iter()
            .map(|e| e.converted(self.endian, to))
            .collect();
        if let Some(exif) = &self.exif {
            let mut exif = conv(exif);
            exif.remove(TAG_INTEROP_IFD);
            if let Some(interop) = &self.interop {
                let off = conv(interop).append(out, base, to)?;
                exif.set(pointer(TAG_INTEROP_IFD, off));
            }
            let off = exif.append(out, base, to)?;
            ifd0.push(pointer(TAG_EXIF_IFD, off));
        }
        if let Some(gps) = &self.gps {
            let off = conv(gps).append(out, base, to)?;
            ifd0.push(pointer(TAG_GPS_IFD, off));
        }
        Some(ifd0)
    }

    /// A standalone EXIF block (TIFF header, IFD0, sub-IFDs).
    fn to_block(&self) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.endian.header());
        out.extend_from_slice(&[0; 4]);
        let entries = self.append_subs(&mut out, 0, self.endian)?;
        let ifd0 = Ifd { entries, next: 0 }.append(&mut out, 0, self.endian)?;
        out[4..8].copy_from_slice(&self.endian.put32(ifd0));
        Some(out)
    }
}

fn entry_size(e: &Entry) -> u64 {
    type_size(e.typ).unwrap_or(1) as u64 * u64::from(e.count)
}

fn interesting(tag: u16) -> bool {
    matches!(tag, TAG_ICC | TAG_XMP | TAG_IPTC | 258 | 259) || EXIF_IFD0_TAGS.contains(&tag)
}

/// Reads a TIFF file's IFD0.
pub(crate) fn read(src: &mut dyn ByteSource, meta: &mut RawMetadata) {
    let mut head = [0u8; 8];
    if !src.fill_at(0, &mut head) {
        meta.warnings.push("TIFF header is truncated".to_string());
        return;
    }
    let Some(endian) = Endian::from_header(&head) else {
        meta.warnings
            .push("BigTIFF files are recognised but their metadata is not read".to_string());
        return;
    };
    let Some(off) = endian.u32(&head, 4) else {
        return;
    };
    let Some(ifd0) = Ifd::parse(
        src,
        u64::from(off),
        endian,
        &interesting,
        &mut meta.warnings,
    ) else {
        return;
    };
    let uint = |tag| ifd0.get(tag).and_then(|e| e.uint(endian));
    let samples = uint(277).unwrap_or(1);
    let photometric = uint(262);
    // ExtraSamples marks alpha; some writers omit it for RGBA and gray+alpha.
    let extra = ifd0.get(338).is_some()
        || (samples == 4 && photometric == Some(2))
        || (samples == 2 && matches!(photometric, Some(0 | 1)));
    meta.header = Some(HeaderFacts {
        width: uint(256).unwrap_or(0),
        height: uint(257).unwrap_or(0),
        bit_depth: ifd0
            .get(258)
            .and_then(|e| e.uint(endian))
            .and_then(|v| u8::try_from(v).ok())
            .unwrap_or(1),
        channels: u8::try_from(samples).unwrap_or(u8::MAX),
        alpha: extra,
        colour_model: match photometric {
            Some(0 | 1) => "gray",
            Some(2) => "rgb",
            Some(3) => "palette",
            Some(5) => "cmyk",
            Some(6) => "ycbcr",
            Some(8) => "cielab",
            _ => "unknown",
        }
        .to_string(),
        tiff_compression: uint(259).map(|c| {
            match c {
                1 => "none",
                5 => "lzw",
                8 | 32946 => "deflate",
                6 | 7 => "jpeg",
                32773 => "packbits",
                _ => "other",
            }
            .to_string()
        }),
        ..HeaderFacts::default()
    });
    if let Some(e) = ifd0.get(TAG_ICC).filter(|e| !e.value.is_empty()) {
        meta.icc = Some(e.value.clone());
    }
    if let Some(e) = ifd0.get(TAG_XMP).filter(|e| !e.value.is_empty()) {
        meta.xmp = Some(
            String::from_utf8_lossy(&e.value)
                .trim_end_matches('\0')
                .to_string(),
        );
    }
    if let Some(e) = ifd0.get(TAG_IPTC).filter(|e| !e.value.is_empty()) {
        meta.iptc = Some(e.value.clone());
    }
    let parts = ExifParts::collect(src, endian, &ifd0, &mut meta.warnings);
    if !parts.is_empty() {
        meta.exif = parts.to_block();
    }
}

/// Embeds ICC, XMP, IPTC and EXIF into a TIFF file by appending a new IFD0.
pub(crate) fn embed(
    encoded: &[u8],
    meta: &EmbedMetadata,
    skipped: &mut Vec<String>,
) -> Result<Vec<u8>, MetaError> {
    let corrupt = |detail: &str| MetaError::Corrupt {
        format: "TIFF",
        detail: detail.to_string(),
    };
    let Some(endian) = Endian::from_header(encoded) else {
        return Err(MetaError::Unsupported {
            format: "TIFF",
            what: "metadata in a BigTIFF file".to_string(),
            hint: "write a classic TIFF (under 4 GiB) or another format",
        });
    };
    let off = endian
        .u32(encoded, 4)
        .ok_or_else(|| corrupt("header cut short"))?;
    let mut warnings = Vec::new();
    let mut ifd0 = Ifd::parse(
        &mut Bytes::new(encoded),
        u64::from(off),
        endian,
        &|_| true,
        &mut warnings,
    )
    .ok_or_else(|| corrupt("first directory unreadable"))?;
    if let Some(w) = warnings.first() {
        return Err(corrupt(w));
    }
    let mut out = encoded.to_vec();
    let base = 0;
    if let Some(icc) = &meta.icc {
        ifd0.set(blob(TAG_ICC, 7, icc));
    }
    if let Some(xmp) = &meta.xmp {
        ifd0.set(blob(TAG_XMP, 1, xmp.as_bytes()));
    }
    if let Some(iptc) = &meta.iptc {
        ifd0.set(blob(TAG_IPTC, 7, iptc));
    }
    if let Some(exif) = &meta.exif {
        let mut w = Vec::new();
        let parts = Endian::from_header(exif).and_then(|e| {
            let mut src = Bytes::new(exif);
            let off = e.u32(exif, 4)?;
            let ifd = Ifd::parse(&mut src, u64::from(off), e, &|_| true, &mut w)?;
            Some(ExifParts::collect(&mut src, e, &ifd, &mut w))
        });
        match parts {
            Some(parts) => {
                for tag in EXIF_IFD0_TAGS.iter().chain(&[TAG_EXIF_IFD, TAG_GPS_IFD]) {
                    ifd0.remove(*tag);
                }
                let entries = parts
                    .append_subs(&mut out, base, endian)
                    .ok_or_else(|| corrupt("output would exceed 4 GiB"))?;
                for e in entries {
                    ifd0.set(e);
                }
            }
            None => {
                skipped.push("the EXIF block, which is not a readable TIFF structure".to_string())
            }
        }
    }
    if meta.xmp_extended.is_some() {
        skipped.push("extended XMP (a JPEG-only structure)".to_string());
    }
    if !meta.text.is_empty() {
        skipped.push(format!(
            "{} text entries (TIFF has no text chunks)",
            meta.text.len()
        ));
    }
    let new_off = ifd0
        .append(&mut out, base, endian)
        .ok_or_else(|| corrupt("output would exceed 4 GiB"))?;
    out[4..8].copy_from_slice(&endian.put32(new_off));
    Ok(out)
}

fn blob(tag: u16, typ: u16, bytes: &[u8]) -> Entry {
    Entry {
        tag,
        typ,
        count: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
        value: bytes.to_vec(),
    }
}
