//! Unit tests of the container layer's small pieces: raw profiles, IPTC blocks, EXIF
//! user comments, JPEG quality estimation, extended-XMP GUIDs, sniffing.

use super::iptc::{decode_raw_profile, encode_raw_profile};
use super::*;

#[test]
fn raw_profile_text_round_trips_and_rejects_garbage() {
    let bytes: Vec<u8> = (0..=255).collect();
    let text = encode_raw_profile("IPTC profile", &bytes);
    assert_eq!(decode_raw_profile(&text).unwrap(), bytes);
    assert!(decode_raw_profile("\nIPTC profile\n      4\nzz\n").is_err());
    assert!(
        decode_raw_profile("\nIPTC profile\n      8\n0102\n").is_err(),
        "short data"
    );
    assert!(
        decode_raw_profile("\nx\n 99999999999\n").is_err(),
        "huge length"
    );
}

#[test]
fn photoshop_block_round_trips_iptc() {
    let iim = vec![0x1C, 2, 110, 0, 3, b'a', b'b', b'c'];
    let irb = iptc_to_irb(&iim);
    assert_eq!(irb_iptc(&irb), Some(iim.clone()));
    let recs = iptc_records(&iim);
    assert_eq!(
        (recs[0].record, recs[0].dataset, recs[0].value.as_slice()),
        (2, 110, &b"abc"[..])
    );
    assert_eq!(
        irb_iptc(b"8BIM\x04\x04\x00\x00\xff\xff\xff\xff"),
        None,
        "size past the end"
    );
}

#[test]
fn user_comment_decodes_both_utf16_byte_orders() {
    let be = user_comment_bytes("Steps: 20 ✓");
    assert_eq!(exif::user_comment(&be), "Steps: 20 ✓");
    let mut le = b"UNICODE\0".to_vec();
    le.extend("Steps: 20".encode_utf16().flat_map(u16::to_le_bytes));
    assert_eq!(exif::user_comment(&le), "Steps: 20");
    assert_eq!(exif::user_comment(b"ASCII\0\0\0hello"), "hello");
}

#[test]
fn ijg_standard_table_is_quality_50() {
    let std: Vec<u16> = vec![
        16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69,
        56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81,
        104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
    ];
    assert_eq!(jpeg::estimate_quality(&std), Some(50));
    assert_eq!(jpeg::estimate_quality(&[1; 64]), Some(100));
    assert_eq!(jpeg::estimate_quality(&[0; 64]), None);
}

#[test]
fn extended_xmp_guid_is_found_in_attribute_and_element_form() {
    let g = "0123456789ABCDEF0123456789ABCDEF";
    assert_eq!(
        jpeg::extended_guid(&format!(r#"xmpNote:HasExtendedXMP="{g}""#)).as_deref(),
        Some(g)
    );
    assert_eq!(
        jpeg::extended_guid(&format!(
            "<xmpNote:HasExtendedXMP>{g}</xmpNote:HasExtendedXMP>"
        ))
        .as_deref(),
        Some(g)
    );
    assert_eq!(jpeg::extended_guid("HasExtendedXMP=\"short\""), None);
}

#[test]
fn sniffing_needs_the_real_magic() {
    assert_eq!(Container::sniff(b"\x89PNG\r\n\x1a\n"), Container::Png);
    assert_eq!(Container::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Container::Jpeg);
    assert_eq!(Container::sniff(b"RIFF\0\0\0\0WEBP"), Container::Webp);
    assert_eq!(Container::sniff(b"RIFF\0\0\0\0WAVE"), Container::Unknown);
    assert_eq!(Container::sniff(b"MM\0*"), Container::Tiff);
    assert_eq!(Container::sniff(b""), Container::Unknown);
}

#[test]
fn orientation_patch_changes_only_the_orientation() {
    let block = build_exif(
        &[
            (0x0112, ExifValue::Short(6)),
            (0x0131, ExifValue::Ascii("x".into())),
        ],
        &[],
    );
    let patched = set_exif_orientation(&block, 1).unwrap();
    assert_eq!(exif_orientation(&patched), Ok(Some(1)));
    assert_eq!(patched.len(), block.len());
    assert_eq!(set_exif_orientation(&block, 9), None);
    assert_eq!(
        set_exif_orientation(b"II*\0\x08\0\0\0\0\0", 1),
        None,
        "no orientation tag"
    );
}
