//! EXIF blocks: orientation and text fields through kamadak-exif, and an in-place
//! orientation patch for outputs whose pixels were already rotated upright.

use super::tiff::{Endian, Ifd, TAG_EXIF_IFD, TAG_GPS_IFD, TAG_INTEROP_IFD, type_size};

/// The bytes a full parse would copy out of `block`: the values of more than four bytes
/// in IFD0, IFD1 and the Exif, GPS and Interop directories, as their entries declare
/// them. An honest block holds each value once, so this stays under its length; a
/// crafted one points thousands of entries at the same bytes.
fn declared_value_bytes(block: &[u8]) -> u64 {
    let Some(e) = Endian::from_header(block) else {
        return 0;
    };
    let mut total = 0u64;
    let mut dirs: Vec<u32> = e.u32(block, 4).into_iter().collect();
    let mut visited = 0;
    while let Some(off) = dirs.pop() {
        visited += 1;
        if visited > 8 {
            break;
        }
        let off = off as usize;
        let Some(n) = e.u16(block, off) else {
            continue;
        };
        for i in 0..usize::from(n) {
            let at = off + 2 + i * 12;
            let (Some(tag), Some(typ), Some(count)) =
                (e.u16(block, at), e.u16(block, at + 2), e.u32(block, at + 4))
            else {
                break;
            };
            let size = type_size(typ).map_or(0, |s| s as u64 * u64::from(count));
            if size > 4 {
                total = total.saturating_add(size);
            }
            if matches!(tag, TAG_EXIF_IFD | TAG_GPS_IFD | TAG_INTEROP_IFD)
                && let Some(sub) = e.u32(block, at + 8)
            {
                dirs.push(sub);
            }
        }
        if visited == 1
            && let Some(next) = e.u32(block, off + 2 + usize::from(n) * 12)
            && next != 0
        {
            dirs.push(next);
        }
    }
    total
}

/// Parses an EXIF block (starting with the TIFF header), keeping what is readable.
/// Returns the fields and a warning for each damaged part. A block whose entries would
/// copy out far more than its own length is refused whole.
pub(crate) fn parse(block: &[u8]) -> Result<(exif::Exif, Vec<String>), String> {
    let declared = declared_value_bytes(block);
    let allowed = (block.len() as u64).saturating_mul(2) + 65_536;
    if declared > allowed {
        return Err(format!(
            "the EXIF block's fields claim {declared} bytes, far more than its own {} (a crafted or corrupt block); its fields are ignored",
            block.len()
        ));
    }
    let mut reader = exif::Reader::new();
    reader.continue_on_error(true);
    let mut warnings = Vec::new();
    let result = reader.read_raw(block.to_vec()).or_else(|e| {
        e.distill_partial_result(|errs| {
            for err in errs {
                warnings.push(format!("EXIF partly unreadable: {err}"));
            }
        })
    });
    match result {
        Ok(exif) => Ok((exif, warnings)),
        Err(e) => Err(format!(
            "the EXIF block could not be read ({e}); its fields are ignored"
        )),
    }
}

/// The EXIF orientation (1–8) of the primary image, if the block carries a valid one.
pub fn exif_orientation(block: &[u8]) -> Result<Option<u16>, String> {
    let (exif, _) = parse(block)?;
    Ok(exif
        .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .and_then(|v| u16::try_from(v).ok())
        .filter(|v| (1..=8).contains(v)))
}

/// Returns a copy of `block` whose IFD0 orientation is `value` (1–8), or `None` when the
/// block has no orientation tag to patch or is damaged. Used after the pixels were
/// rotated upright, so viewers do not rotate them twice.
pub fn set_exif_orientation(block: &[u8], value: u16) -> Option<Vec<u8>> {
    if !(1..=8).contains(&value) {
        return None;
    }
    let endian = Endian::from_header(block)?;
    let ifd0 = endian.u32(block, 4)? as usize;
    let count = endian.u16(block, ifd0)? as usize;
    let mut out = block.to_vec();
    for i in 0..count.min(Ifd::MAX_ENTRIES) {
        let at = ifd0.checked_add(2 + i * 12)?;
        if endian.u16(block, at)? == 0x0112 && endian.u16(block, at + 2)? == 3 {
            let bytes = endian.put16(value);
            out.get_mut(at + 8..at + 10)?.copy_from_slice(&bytes);
            return Some(out);
        }
    }
    None
}

/// Text-like EXIF fields of the primary image (name, decoded value) in file order, for
/// the profiler: ImageDescription, Make, Model, Software, Artist, Copyright, UserComment,
/// XPComment, XPSubject, and ExposureTime and FNumber as camera evidence.
pub fn exif_text_fields(block: &[u8]) -> (Vec<(String, String)>, Vec<String>) {
    let (exif, warnings) = match parse(block) {
        Ok(x) => x,
        Err(e) => return (Vec::new(), vec![e]),
    };
    let mut out = Vec::new();
    for f in exif.fields() {
        let name = match f.tag {
            exif::Tag::ImageDescription => "ImageDescription",
            exif::Tag::Make => "Make",
            exif::Tag::Model => "Model",
            exif::Tag::Software => "Software",
            exif::Tag::Artist => "Artist",
            exif::Tag::Copyright => "Copyright",
            exif::Tag::UserComment => "UserComment",
            exif::Tag::ExposureTime => "ExposureTime",
            exif::Tag::FNumber => "FNumber",
            exif::Tag(exif::Context::Tiff, 0x9C9C) => "XPComment",
            exif::Tag(exif::Context::Tiff, 0x9C9F) => "XPSubject",
            _ => continue,
        };
        if f.ifd_num != exif::In::PRIMARY {
            continue;
        }
        let value = match &f.value {
            exif::Value::Ascii(parts) => parts
                .iter()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect::<Vec<_>>()
                .join("\n"),
            exif::Value::Undefined(bytes, _) if name == "UserComment" => user_comment(bytes),
            exif::Value::Byte(bytes) | exif::Value::Undefined(bytes, _) => {
                if name.starts_with("XP") {
                    utf16(bytes, false)
                } else {
                    String::from_utf8_lossy(bytes).into_owned()
                }
            }
            exif::Value::Rational(_) => f.display_value().to_string(),
            _ => continue,
        };
        let value = value.trim_end_matches('\0').to_string();
        if !value.trim().is_empty() {
            out.push((name.to_string(), value));
        }
    }
    (out, warnings)
}

/// Decodes an EXIF UserComment: 8-byte character-code prefix, then the text.
pub(crate) fn user_comment(bytes: &[u8]) -> String {
    let (prefix, body) = bytes.split_at(bytes.len().min(8));
    match prefix {
        b"UNICODE\0" => {
            // Writers disagree on byte order: piexif (A1111) writes big-endian, others
            // little-endian. A BOM decides; else the side holding the zero bytes does.
            if body.starts_with(&[0xFE, 0xFF]) {
                utf16(&body[2..], true)
            } else if body.starts_with(&[0xFF, 0xFE]) {
                utf16(&body[2..], false)
            } else {
                let even_zeros = body.iter().step_by(2).filter(|&&b| b == 0).count();
                let odd_zeros = body.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
                utf16(body, even_zeros > odd_zeros)
            }
        }
        b"ASCII\0\0\0" | b"\0\0\0\0\0\0\0\0" => String::from_utf8_lossy(body).into_owned(),
        b"JIS\0\0\0\0\0" => String::from_utf8_lossy(body).into_owned(),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

fn utf16(bytes: &[u8], big_endian: bool) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| {
            if big_endian {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_le_bytes([c[0], c[1]])
            }
        })
        .collect();
    String::from_utf16_lossy(&units)
}

/// A value for [`build_exif`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExifValue {
    Ascii(String),
    Short(u16),
    Long(u32),
    Undefined(Vec<u8>),
}

/// Writes a small little-endian EXIF block: IFD0 tags and, when `exif_ifd` is not
/// empty, an Exif sub-IFD. For outputs that need EXIF the source lacked (orientation,
/// a UserComment) and for test fixtures.
pub fn build_exif(ifd0: &[(u16, ExifValue)], exif_ifd: &[(u16, ExifValue)]) -> Vec<u8> {
    use super::tiff::{Entry, TAG_EXIF_IFD};
    let e = Endian::Little;
    let entry = |tag: u16, v: &ExifValue| match v {
        ExifValue::Ascii(s) => {
            let mut value = s.as_bytes().to_vec();
            value.push(0);
            Entry {
                tag,
                typ: 2,
                count: value.len() as u32,
                value,
            }
        }
        ExifValue::Short(x) => Entry {
            tag,
            typ: 3,
            count: 1,
            value: e.put16(*x).to_vec(),
        },
        ExifValue::Long(x) => Entry {
            tag,
            typ: 4,
            count: 1,
            value: e.put32(*x).to_vec(),
        },
        ExifValue::Undefined(b) => Entry {
            tag,
            typ: 7,
            count: b.len() as u32,
            value: b.clone(),
        },
    };
    let mut out = b"II*\0\0\0\0\0".to_vec();
    let mut root = Ifd {
        entries: ifd0.iter().map(|(t, v)| entry(*t, v)).collect(),
        next: 0,
    };
    if !exif_ifd.is_empty() {
        let sub = Ifd {
            entries: exif_ifd.iter().map(|(t, v)| entry(*t, v)).collect(),
            next: 0,
        };
        if let Some(off) = sub.append(&mut out, 0, e) {
            root.entries
                .push(entry(TAG_EXIF_IFD, &ExifValue::Long(off)));
        }
    }
    if let Some(off) = root.append(&mut out, 0, e) {
        out[4..8].copy_from_slice(&e.put32(off));
    }
    out
}

/// Encodes text as an EXIF UserComment with the `UNICODE` prefix (UTF-16, big-endian
/// as A1111 writes it) or `ASCII` when the text is plain ASCII.
pub fn user_comment_bytes(text: &str) -> Vec<u8> {
    if text.is_ascii() {
        let mut v = b"ASCII\0\0\0".to_vec();
        v.extend_from_slice(text.as_bytes());
        v
    } else {
        let mut v = b"UNICODE\0".to_vec();
        v.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        v
    }
}
