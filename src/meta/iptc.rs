//! IPTC-IIM: Photoshop image resource blocks (JPEG APP13, PNG raw profiles) and the IIM
//! datasets inside them, plus ImageMagick's hex "Raw profile type" text encoding.

use serde::Serialize;

/// One IIM dataset (record:dataset, e.g. 2:110 Credit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IptcRecord {
    pub record: u8,
    pub dataset: u8,
    pub value: Vec<u8>,
}

/// The IIM data (resource 0x0404) inside a Photoshop image resource block.
pub fn irb_iptc(irb: &[u8]) -> Option<Vec<u8>> {
    let mut i = 0usize;
    let mut found: Option<Vec<u8>> = None;
    while i + 12 <= irb.len() {
        if &irb[i..i + 4] != b"8BIM" {
            break;
        }
        let id = u16::from_be_bytes([irb[i + 4], irb[i + 5]]);
        let name_len = irb[i + 6] as usize;
        // The Pascal name (length byte + text) is padded to an even size.
        let name_total = (1 + name_len + 1) & !1;
        let size_at = i + 6 + name_total;
        let size = super::be32(irb, size_at)? as usize;
        let data_at = size_at + 4;
        let data = irb.get(data_at..data_at.checked_add(size)?)?;
        if id == 0x0404 {
            // Several 0x0404 blocks (rare) are concatenated.
            found.get_or_insert_with(Vec::new).extend_from_slice(data);
        }
        i = data_at + ((size + 1) & !1);
    }
    found
}

/// Wraps IIM data as a Photoshop image resource block holding resource 0x0404.
pub fn iptc_to_irb(iim: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(iim.len() + 14);
    out.extend_from_slice(b"8BIM");
    out.extend_from_slice(&0x0404u16.to_be_bytes());
    out.extend_from_slice(&[0, 0]); // empty Pascal name, padded
    out.extend_from_slice(&u32::try_from(iim.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(iim);
    if iim.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// The datasets of IIM data; parsing stops at the first damaged one.
pub fn iptc_records(iim: &[u8]) -> Vec<IptcRecord> {
    let mut out = Vec::new();
    let mut i = 0usize;
    while i + 5 <= iim.len() && iim[i] == 0x1C && out.len() < 10_000 {
        let record = iim[i + 1];
        let dataset = iim[i + 2];
        let raw_len = u16::from_be_bytes([iim[i + 3], iim[i + 4]]);
        let mut at = i + 5;
        let len = if raw_len & 0x8000 != 0 {
            // Extended dataset: the low bits give how many bytes hold the length.
            let n = (raw_len & 0x7FFF) as usize;
            if n == 0 || n > 4 {
                break;
            }
            let Some(bytes) = iim.get(at..at + n) else {
                break;
            };
            at += n;
            bytes.iter().fold(0usize, |acc, &b| (acc << 8) | b as usize)
        } else {
            raw_len as usize
        };
        let Some(value) = at.checked_add(len).and_then(|end| iim.get(at..end)) else {
            break;
        };
        out.push(IptcRecord {
            record,
            dataset,
            value: value.to_vec(),
        });
        i = at + len;
    }
    out
}

/// Decodes ImageMagick's "Raw profile type X" text: a newline, a label, the decimal
/// length, then the bytes in hex over several lines.
pub(crate) fn decode_raw_profile(text: &str) -> Result<Vec<u8>, String> {
    let mut lines = text.trim_start_matches('\n').splitn(3, '\n');
    let _label = lines.next();
    let len: usize = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or("its length line is missing")?;
    if len as u64 > super::MAX_BLOCK {
        return Err(format!("it claims {len} bytes, over the limit"));
    }
    let hex = lines.next().unwrap_or("");
    let mut out = Vec::with_capacity(len.min(hex.len() / 2));
    let mut high: Option<u8> = None;
    for c in hex.bytes() {
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            b'\n' | b'\r' | b' ' | b'\t' => continue,
            _ => return Err(format!("it holds a non-hex character {:?}", c as char)),
        };
        match high.take() {
            None => high = Some(v),
            Some(h) => {
                if out.len() == len {
                    break;
                }
                out.push(h << 4 | v);
            }
        }
    }
    if out.len() < len {
        return Err(format!("it holds {} of its {len} bytes", out.len()));
    }
    Ok(out)
}

/// Encodes bytes as ImageMagick's raw profile text (72 hex digits a line).
pub(crate) fn encode_raw_profile(label: &str, bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = format!("\n{label}\n{:8}\n", bytes.len());
    for (i, b) in bytes.iter().enumerate() {
        let _ = write!(s, "{b:02x}");
        if i % 36 == 35 {
            s.push('\n');
        }
    }
    s.push('\n');
    s
}
