//! Round trips through the container layer: `read(embed(x))` gives back the same blocks
//! for PNG, JPEG, WebP and TIFF; JPEG ICC over 64 KB is chunked; damaged files give
//! warnings, never panics; the streaming reader agrees with the in-memory one.

use std::io::Cursor;

use realskin::meta::{
    self, Container, EmbedMetadata, ExifValue, MetaError, TextEntry, TextKind, build_exif,
};

fn pixels() -> image::RgbaImage {
    image::RgbaImage::from_fn(24, 16, |x, y| {
        image::Rgba([(x * 10) as u8, (y * 15) as u8, 128, 200])
    })
}

fn encode(format: image::ImageFormat) -> Vec<u8> {
    let img = image::DynamicImage::ImageRgba8(pixels());
    let img = if format == image::ImageFormat::Jpeg {
        image::DynamicImage::ImageRgb8(img.to_rgb8())
    } else {
        img
    };
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode fixture");
    out.into_inner()
}

fn icc(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

fn exif() -> Vec<u8> {
    build_exif(
        &[
            (0x0112, ExifValue::Short(6)),
            (0x0131, ExifValue::Ascii("realskin-test".to_string())),
        ],
        &[(
            0x9286,
            ExifValue::Undefined(meta::user_comment_bytes("hello")),
        )],
    )
}

const XMP: &str = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta>"#;

fn iptc() -> Vec<u8> {
    let mut v = vec![0x1C, 2, 110, 0, 19];
    v.extend_from_slice(b"Made with Google AI");
    v
}

fn full_meta() -> EmbedMetadata {
    EmbedMetadata {
        icc: Some(icc(3000)),
        exif: Some(exif()),
        xmp: Some(XMP.to_string()),
        xmp_extended: None,
        iptc: Some(iptc()),
        text: Vec::new(),
    }
}

fn assert_blocks(read: &meta::RawMetadata, want: &EmbedMetadata) {
    assert_eq!(read.icc, want.icc, "ICC");
    assert_eq!(read.exif, want.exif, "EXIF");
    assert_eq!(read.xmp, want.xmp, "XMP");
    assert_eq!(read.orientation, Some(6));
}

#[test]
fn png_round_trip_keeps_every_block_and_decodes() {
    let mut want = full_meta();
    want.text = vec![
        TextEntry {
            kind: TextKind::Text,
            key: "parameters".into(),
            value: "a photo\nSteps: 20".into(),
        },
        TextEntry {
            kind: TextKind::Itxt,
            key: "prompt".into(),
            value: "{\"ünï\": 1}".into(),
        },
    ];
    let out = meta::embed(&encode(image::ImageFormat::Png), &want).unwrap();
    let got = meta::read(&out);
    assert_eq!(got.container, Container::Png);
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
    assert_blocks(&got, &want);
    assert_eq!(got.iptc, want.iptc);
    assert_eq!(got.text, want.text);
    let h = got.header.unwrap();
    assert_eq!((h.width, h.height, h.bit_depth, h.alpha), (24, 16, 8, true));
    image::load_from_memory(&out).expect("embedded PNG still decodes");
    // Embedding again replaces instead of duplicating.
    let again = meta::read(&meta::embed(&out, &want).unwrap());
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
    assert_eq!(again.text.len(), 2);
}

#[test]
fn jpeg_round_trip_keeps_every_block_and_decodes() {
    let mut want = full_meta();
    want.text = vec![TextEntry {
        kind: TextKind::Comment,
        key: "comment".into(),
        value: "made here".into(),
    }];
    let out = meta::embed(&encode(image::ImageFormat::Jpeg), &want).unwrap();
    let got = meta::read(&out);
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
    assert_blocks(&got, &want);
    assert_eq!(got.iptc, want.iptc);
    assert_eq!(got.text, want.text);
    image::load_from_memory(&out).expect("embedded JPEG still decodes");
}

#[test]
fn jpeg_icc_over_64k_is_split_into_chunks() {
    let want = EmbedMetadata {
        icc: Some(icc(200_000)),
        ..EmbedMetadata::default()
    };
    let out = meta::embed(&encode(image::ImageFormat::Jpeg), &want).unwrap();
    let segments = out
        .windows(14)
        .filter(|w| w[0] == 0xFF && w[1] == 0xE2 && &w[4..14] == b"ICC_PROFIL")
        .count();
    assert_eq!(segments, 4, "200,000 bytes need four APP2 chunks of 65,519");
    assert_eq!(meta::read(&out).icc, want.icc);
    image::load_from_memory(&out).expect("still decodes");
}

#[test]
fn jpeg_extended_xmp_is_reassembled() {
    let guid = "0123456789ABCDEF0123456789ABCDEF";
    let main = format!(
        r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description xmpNote:HasExtendedXMP="{guid}"/></rdf:RDF></x:xmpmeta>"#
    );
    let ext = format!("<x:xmpmeta>{}</x:xmpmeta>", "x".repeat(150_000));
    let want = EmbedMetadata {
        xmp: Some(main),
        xmp_extended: Some(ext),
        ..EmbedMetadata::default()
    };
    let out = meta::embed(&encode(image::ImageFormat::Jpeg), &want).unwrap();
    let got = meta::read(&out);
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
    assert_eq!(got.xmp, want.xmp);
    assert_eq!(got.xmp_extended, want.xmp_extended);
}

#[test]
fn jpeg_quality_is_estimated_from_the_quantisation_table() {
    for q in [50u8, 75, 90, 100] {
        let mut out = Vec::new();
        let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q);
        image::DynamicImage::ImageRgba8(pixels())
            .to_rgb8()
            .write_with_encoder(enc)
            .unwrap();
        let est = meta::read(&out).header.unwrap().jpeg_quality.unwrap();
        assert!(est.abs_diff(q) <= 1, "quality {q} estimated as {est}");
    }
}

#[test]
fn webp_lossless_becomes_extended_with_flags_and_decodes() {
    let src = encode(image::ImageFormat::WebP);
    assert_eq!(&src[12..16], b"VP8L", "image writes simple lossless WebP");
    let want = EmbedMetadata {
        iptc: None,
        ..full_meta()
    };
    let out = meta::embed(&src, &want).unwrap();
    assert_eq!(&out[12..16], b"VP8X");
    assert_eq!(
        out[20] & 0x3C,
        0x20 | 0x10 | 0x08 | 0x04,
        "ICC, alpha, EXIF and XMP flags"
    );
    let got = meta::read(&out);
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
    assert_blocks(&got, &want);
    let h = got.header.unwrap();
    assert_eq!(
        (h.width, h.height, h.alpha, h.lossless),
        (24, 16, true, Some(true))
    );
    image::load_from_memory(&out).expect("extended WebP still decodes");
}

/// A simple lossy WebP: a VP8 chunk whose frame header says 640×480 (no real data).
fn lossy_webp() -> Vec<u8> {
    let mut vp8 = vec![0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A];
    vp8.extend_from_slice(&640u16.to_le_bytes());
    vp8.extend_from_slice(&480u16.to_le_bytes());
    vp8.extend_from_slice(&[0; 9]);
    let mut out = b"RIFF\0\0\0\0WEBPVP8 ".to_vec();
    out.extend_from_slice(&(vp8.len() as u32).to_le_bytes());
    out.extend_from_slice(&vp8);
    out.push(0);
    let size = (out.len() - 8) as u32;
    out[4..8].copy_from_slice(&size.to_le_bytes());
    out
}

#[test]
fn webp_lossy_gets_its_canvas_from_the_vp8_header() {
    let want = EmbedMetadata {
        iptc: None,
        ..full_meta()
    };
    let out = meta::embed(&lossy_webp(), &want).unwrap();
    assert_eq!(
        u32::from_le_bytes(out[4..8].try_into().unwrap()) as usize,
        out.len() - 8
    );
    assert_eq!(
        &out[24..30],
        &[0x7F, 0x02, 0x00, 0xDF, 0x01, 0x00],
        "canvas 640×480 minus one"
    );
    assert_eq!(out[20] & 0x10, 0, "no alpha flag for VP8 without ALPH");
    let got = meta::read(&out);
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
    assert_blocks(&got, &want);
    assert_eq!(got.header.map(|h| (h.width, h.height)), Some((640, 480)));
}

#[test]
fn webp_cannot_hold_iptc_and_says_so() {
    let err = meta::embed(&lossy_webp(), &full_meta()).unwrap_err();
    assert!(matches!(err, MetaError::Unsupported { .. }));
    assert!(err.to_string().contains("IPTC"), "{err}");
    let lossy = meta::embed_lossy(&lossy_webp(), &full_meta()).unwrap();
    assert_eq!(lossy.skipped.len(), 1);
    assert_eq!(meta::read(&lossy.bytes).icc, full_meta().icc);
}

#[test]
fn tiff_round_trip_keeps_icc_xmp_iptc_and_exif_fields() {
    let want = full_meta();
    let out = meta::embed(&encode(image::ImageFormat::Tiff), &want).unwrap();
    let got = meta::read(&out);
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
    assert_eq!(got.icc, want.icc);
    assert_eq!(got.xmp, want.xmp);
    assert_eq!(got.iptc, want.iptc);
    assert_eq!(got.orientation, Some(6));
    // The EXIF block is rebuilt around the TIFF's own IFD0, so compare its fields.
    let exif = exif::Reader::new()
        .read_raw(got.exif.clone().unwrap())
        .unwrap();
    let software = exif
        .get_field(exif::Tag::Software, exif::In::PRIMARY)
        .unwrap();
    assert_eq!(software.display_value().to_string(), "\"realskin-test\"");
    assert!(
        exif.get_field(exif::Tag::UserComment, exif::In::PRIMARY)
            .is_some()
    );
    let h = got.header.unwrap();
    assert_eq!((h.width, h.height, h.alpha), (24, 16, true));
    image::load_from_memory(&out).expect("embedded TIFF still decodes");
    // A second embed on the output replaces, and is read the same.
    let again = meta::read(&meta::embed(&out, &want).unwrap());
    assert_eq!(again.icc, want.icc);
    assert_eq!(again.orientation, Some(6));
}

#[test]
fn unknown_bytes_are_refused_for_embedding() {
    assert_eq!(
        meta::embed(b"GIF89a...", &full_meta()),
        Err(MetaError::UnknownContainer)
    );
    let got = meta::read(b"GIF89a...");
    assert_eq!(got.container, Container::Unknown);
    assert_eq!(got.warnings.len(), 1);
}

fn all_fixtures() -> Vec<(&'static str, Vec<u8>)> {
    let m = full_meta();
    let no_iptc = EmbedMetadata {
        iptc: None,
        ..full_meta()
    };
    vec![
        (
            "png",
            meta::embed(&encode(image::ImageFormat::Png), &m).unwrap(),
        ),
        (
            "jpeg",
            meta::embed(&encode(image::ImageFormat::Jpeg), &m).unwrap(),
        ),
        (
            "webp",
            meta::embed(&encode(image::ImageFormat::WebP), &no_iptc).unwrap(),
        ),
        (
            "tiff",
            meta::embed(&encode(image::ImageFormat::Tiff), &m).unwrap(),
        ),
    ]
}

#[test]
fn streaming_reader_agrees_with_in_memory_reader() {
    for (name, bytes) in all_fixtures() {
        let streamed = meta::read_from(Cursor::new(&bytes)).unwrap();
        assert_eq!(streamed, meta::read(&bytes), "{name}");
    }
}

#[test]
fn every_truncation_gives_warnings_not_panics() {
    for (name, bytes) in all_fixtures() {
        for cut in 0..bytes.len() {
            let got = meta::read(&bytes[..cut]);
            if cut < bytes.len() - 16 {
                assert!(
                    !got.warnings.is_empty(),
                    "{name} cut at {cut} gave no warning"
                );
            }
        }
    }
}

#[test]
fn corrupted_bytes_never_panic_and_keep_what_is_readable() {
    let mut seed = 0x2545F4914F6CDD1Du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for (_, bytes) in all_fixtures() {
        for _ in 0..2000 {
            let mut b = bytes.clone();
            for _ in 0..1 + next() % 8 {
                let i = (next() as usize) % b.len();
                b[i] = next() as u8;
            }
            let _ = meta::read(&b);
            let _ = meta::embed_lossy(&b, &full_meta());
        }
    }
}

/// Writes the fixtures as fuzz seeds (without the magic each target prepends) into
/// `$REALSKIN_FUZZ_SEEDS/<target>/`. Run by `fuzz/run.sh`.
#[test]
#[ignore = "writes files; run by fuzz/run.sh"]
fn write_fuzz_seeds() {
    let Some(dir) = std::env::var_os("REALSKIN_FUZZ_SEEDS").map(std::path::PathBuf::from) else {
        return;
    };
    let magic_len = |name: &str| match name {
        "png" => 8,
        "jpeg" => 3,
        "webp" => 12,
        _ => 4,
    };
    for (name, bytes) in all_fixtures() {
        for (target, data) in [(name, &bytes[magic_len(name)..]), ("profile", &bytes[..])] {
            let d = dir.join(target);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join(format!("{name}.seed")), data).unwrap();
        }
    }
    let d = dir.join("xmp");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("dst-attribute.xml"), XMP).unwrap();
    // The decoders start from the same fixtures.
    for (name, bytes) in all_fixtures() {
        let d = dir.join("decode");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(format!("{name}.seed")), &bytes).unwrap();
    }
    // Files that declare huge counts and sizes, for the runs under memory limits.
    for (target, name, bytes) in realskin::fuzzing::hostile_seeds() {
        let body = if target == "decode" {
            &bytes[..]
        } else {
            &bytes[magic_len(target)..]
        };
        for (t, data) in [(target, body), ("profile", &bytes[..])] {
            let d = dir.join(t);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join(name), data).unwrap();
        }
    }
}

/// Found by the webp fuzz target: a zero-filled XMP chunk read as an empty packet that
/// then vanished on embedding. Empty blocks now read as absent in every format.
#[test]
fn regression_fuzz_webp_empty_xmp_chunk_reads_as_absent() {
    let mut b =
        b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\x17\0\0\0\x3a\0\x2a\0\0\0XMP \x04\0\0\0\0\0\0\0".to_vec();
    let size = (b.len() - 8) as u32;
    b[4..8].copy_from_slice(&size.to_le_bytes());
    let got = meta::read(&b);
    assert_eq!(got.xmp, None);
    let out = meta::embed_lossy(&b, &EmbedMetadata::from(&got)).unwrap();
    assert_eq!(meta::read(&out.bytes).xmp, None);
}

/// A VP8 chunk too short for its frame header must not be indexed past its end.
#[test]
fn short_vp8_chunk_is_not_read_past_its_end() {
    let mut b = b"RIFF\0\0\0\0WEBPVP8 \x06\0\0\0\x10\x02\0\x9d\x01\x2a".to_vec();
    let size = (b.len() - 8) as u32;
    b[4..8].copy_from_slice(&size.to_le_bytes());
    let got = meta::read(&b);
    assert_eq!(got.header.map(|h| h.width), Some(0));
    assert!(
        meta::embed(&b, &EmbedMetadata::default()).is_err(),
        "no canvas size: refused, not panicked"
    );
}

/// Found by the jpeg fuzz target: the reader stopped at a segment of impossible length
/// while embedding walked on and carried the XMP behind it. Embedding now refuses what
/// the reader stops at.
#[test]
fn regression_fuzz_jpeg_impossible_segment_length_is_refused_by_embed() {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01];
    b.extend_from_slice(b"\xFF\xE1\x00\x10http://ns.adobe.com/xap/1.0/\0<x/>");
    let got = meta::read(&b);
    assert_eq!(got.xmp, None);
    assert!(!got.warnings.is_empty());
    assert!(matches!(
        meta::embed(&b, &EmbedMetadata::default()),
        Err(MetaError::Corrupt { .. })
    ));
}

/// `png` with a chunk added just before IEND (its CRC computed).
fn with_chunk_before_iend(png: &[u8], kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let (body, iend) = png.split_at(png.len() - 12);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    let mut out = body.to_vec();
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
    out.extend_from_slice(iend);
    out
}

/// Embedding into a PNG handed over (the image data moved within its buffer, not copied)
/// gives the same file as embedding into a copy: on a plain file, on one with bytes after
/// IEND (dropped either way), and on one whose text chunk after the image data is replaced
/// (the copying path). A damaged file comes back unchanged, with the error.
#[test]
fn png_embedded_in_its_own_buffer_is_the_same_file() {
    let mut m = full_meta();
    m.text = vec![TextEntry {
        kind: TextKind::Text,
        key: "Comment".to_string(),
        value: "realskin".to_string(),
    }];
    let plain = encode(image::ImageFormat::Png);
    let late = with_chunk_before_iend(&plain, b"tEXt", b"Comment\0an older comment");
    let trailing = [plain.as_slice(), b"bytes after IEND"].concat();
    for file in [&plain, &late, &trailing] {
        let copied = meta::embed_lossy(file, &m).unwrap();
        let owned = meta::embed_lossy_owned(file.clone(), &m).unwrap();
        assert_eq!(owned, copied);
        let comments = owned.bytes.windows(8).filter(|w| w == b"Comment\0").count();
        assert_eq!(comments, 1, "the old comment is replaced, not kept");
        image::load_from_memory(&owned.bytes).expect("still decodes");
    }
    let cut = plain[..plain.len() - 20].to_vec();
    let (err, back) = meta::embed_lossy_owned(cut.clone(), &m).unwrap_err();
    assert!(matches!(err, MetaError::Corrupt { .. }), "{err}");
    assert_eq!(back, cut);
}
