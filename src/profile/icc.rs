//! ICC profile facts from the header and the description tag, without a colour engine.

use serde::Serialize;

/// What an ICC profile says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IccFacts {
    /// The `desc` tag (e.g. "sRGB IEC61966-2.1", "Display P3").
    pub description: Option<String>,
    /// Data colour space from the header (`RGB`, `GRAY`, `CMYK`, `Lab`).
    pub colour_space: String,
    /// Profile version, e.g. "4.3".
    pub version: String,
    pub size: usize,
}

fn be32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_be_bytes(
        b.get(i..i.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// Reads the header and description of an ICC profile; `None` if it is not one.
pub fn icc_facts(icc: &[u8]) -> Option<IccFacts> {
    if icc.len() < 132 || icc.get(36..40)? != b"acsp" {
        return None;
    }
    let colour_space = String::from_utf8_lossy(&icc[16..20]).trim().to_string();
    let version = format!("{}.{}", icc[8], icc[9] >> 4);
    let count = be32(icc, 128)? as usize;
    let mut description = None;
    for i in 0..count.min(1024) {
        let at = 132 + i * 12;
        if icc.get(at..at + 4)? == b"desc" {
            let off = be32(icc, at + 4)? as usize;
            let len = be32(icc, at + 8)? as usize;
            description = icc.get(off..off.checked_add(len)?).and_then(desc_text);
            break;
        }
    }
    Some(IccFacts {
        description,
        colour_space,
        version,
        size: icc.len(),
    })
}

fn desc_text(tag: &[u8]) -> Option<String> {
    match tag.get(0..4)? {
        b"desc" => {
            let n = be32(tag, 8)? as usize;
            let s = tag.get(12..12usize.checked_add(n)?)?;
            Some(
                String::from_utf8_lossy(s)
                    .trim_end_matches('\0')
                    .to_string(),
            )
        }
        b"mluc" => {
            let records = be32(tag, 8)?;
            if records == 0 {
                return None;
            }
            let len = be32(tag, 20)? as usize;
            let off = be32(tag, 24)? as usize;
            let s = tag.get(off..off.checked_add(len)?)?;
            let units: Vec<u16> = s
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            Some(
                String::from_utf16_lossy(&units)
                    .trim_end_matches('\0')
                    .to_string(),
            )
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal v2 profile: 128-byte header, one `desc` tag.
    fn profile(desc: &str) -> Vec<u8> {
        let mut p = vec![0u8; 128];
        p[8] = 2;
        p[9] = 0x10;
        p[16..20].copy_from_slice(b"RGB ");
        p[36..40].copy_from_slice(b"acsp");
        p.extend_from_slice(&1u32.to_be_bytes());
        let tag_at = 128 + 4 + 12;
        let mut tag = b"desc\0\0\0\0".to_vec();
        tag.extend_from_slice(&(desc.len() as u32 + 1).to_be_bytes());
        tag.extend_from_slice(desc.as_bytes());
        tag.push(0);
        p.extend_from_slice(b"desc");
        p.extend_from_slice(&(tag_at as u32).to_be_bytes());
        p.extend_from_slice(&(tag.len() as u32).to_be_bytes());
        p.extend_from_slice(&tag);
        p
    }

    #[test]
    fn reads_the_description_colour_space_and_version() {
        let f = icc_facts(&profile("sRGB IEC61966-2.1")).unwrap();
        assert_eq!(f.description.as_deref(), Some("sRGB IEC61966-2.1"));
        assert_eq!(
            (f.colour_space.as_str(), f.version.as_str()),
            ("RGB", "2.1")
        );
    }

    #[test]
    fn refuses_what_is_not_a_profile_and_survives_bad_offsets() {
        assert_eq!(icc_facts(&[0; 200]), None);
        let mut p = profile("x");
        let n = p.len();
        p[136..140].copy_from_slice(&(n as u32 + 100).to_be_bytes());
        assert_eq!(icc_facts(&p).unwrap().description, None);
    }
}
