//! Reads the human-readable description out of an ICC profile (`desc` tag, ICC v2
//! `desc` or v4 `mluc` type), so reports can say "Display P3" instead of "an ICC profile".

/// The profile's description, if the tag is present and well formed.
pub fn icc_description(icc: &[u8]) -> Option<String> {
    let be32 = |at: usize| -> Option<usize> {
        let b = icc.get(at..at + 4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let tag_count = be32(128)?.min(1024);
    for i in 0..tag_count {
        let entry = 132 + i * 12;
        if icc.get(entry..entry + 4)? != b"desc" {
            continue;
        }
        let offset = be32(entry + 4)?;
        let size = be32(entry + 8)?;
        let data = icc.get(offset..offset.checked_add(size)?)?;
        return match data.get(0..4)? {
            b"desc" => {
                let len = u32::from_be_bytes(data.get(8..12)?.try_into().ok()?) as usize;
                let text = data.get(12..12 + len.min(data.len().saturating_sub(12)))?;
                let text: String = text
                    .iter()
                    .take_while(|&&b| b != 0)
                    .map(|&b| b as char)
                    .collect();
                Some(text.trim().to_string()).filter(|t| !t.is_empty())
            }
            b"mluc" => {
                let records = u32::from_be_bytes(data.get(8..12)?.try_into().ok()?) as usize;
                if records == 0 {
                    return None;
                }
                // First record: language(2) country(2) length(4) offset(4), at 16.
                let len = u32::from_be_bytes(data.get(20..24)?.try_into().ok()?) as usize;
                let off = u32::from_be_bytes(data.get(24..28)?.try_into().ok()?) as usize;
                let raw = data.get(off..off.checked_add(len)?)?;
                let units: Vec<u16> = raw
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
                let text = String::from_utf16_lossy(&units);
                let text = text.trim_end_matches('\0').trim().to_string();
                Some(text).filter(|t| !t.is_empty())
            }
            _ => None,
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ICC with one tag of the given payload.
    fn icc_with_desc(payload: &[u8]) -> Vec<u8> {
        let mut icc = vec![0u8; 128];
        icc.extend_from_slice(&1u32.to_be_bytes());
        icc.extend_from_slice(b"desc");
        icc.extend_from_slice(&(144u32).to_be_bytes());
        icc.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        icc.extend_from_slice(payload);
        icc
    }

    #[test]
    fn reads_v2_and_v4_descriptions() {
        let mut v2 = b"desc\0\0\0\0".to_vec();
        v2.extend_from_slice(&5u32.to_be_bytes());
        v2.extend_from_slice(b"sRGB\0");
        assert_eq!(
            icc_description(&icc_with_desc(&v2)).as_deref(),
            Some("sRGB")
        );

        let text: Vec<u8> = "Display P3"
            .encode_utf16()
            .flat_map(|u| u.to_be_bytes())
            .collect();
        let mut v4 = b"mluc\0\0\0\0".to_vec();
        v4.extend_from_slice(&1u32.to_be_bytes());
        v4.extend_from_slice(&12u32.to_be_bytes());
        v4.extend_from_slice(b"enUS");
        v4.extend_from_slice(&(text.len() as u32).to_be_bytes());
        v4.extend_from_slice(&28u32.to_be_bytes());
        v4.extend_from_slice(&text);
        assert_eq!(
            icc_description(&icc_with_desc(&v4)).as_deref(),
            Some("Display P3")
        );
    }

    #[test]
    fn garbage_gives_none() {
        assert_eq!(icc_description(b""), None);
        assert_eq!(icc_description(&[0xFF; 200]), None);
    }
}
