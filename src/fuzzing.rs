//! Entry points for the fuzz targets in `fuzz/` (one per container parser, XMP, and the
//! whole profiler). Each asserts the invariants a fuzzer should check beyond "no panic".

use crate::meta::{self, EmbedMetadata};
use crate::profile::{self, EditInfo, ProfileOptions, provenance, xmp};

/// A container reader: `magic` is prepended so the fuzzer explores the chunk or segment
/// walk instead of the sniffing. The streaming reader must agree with the in-memory one,
/// and embedding must not panic on whatever was read.
pub fn container(magic: &[u8], data: &[u8]) {
    let mut bytes = magic.to_vec();
    bytes.extend_from_slice(data);
    if bytes.starts_with(b"RIFF") && bytes.len() >= 8 {
        // A RIFF size that matches the input, or the WebP walk would stop at once.
        let size = u32::try_from(bytes.len() - 8).unwrap_or(u32::MAX);
        bytes[4..8].copy_from_slice(&size.to_le_bytes());
    }
    let mem = meta::read(&bytes);
    let streamed = meta::read_from(std::io::Cursor::new(&bytes)).expect("cursor never fails");
    assert_eq!(mem, streamed, "streaming and in-memory readers disagree");
    let carry = EmbedMetadata::from(&mem);
    if let Ok(out) = meta::embed_lossy(&bytes, &carry) {
        // What was embedded reads back.
        let again = meta::read(&out.bytes);
        if out.skipped.is_empty() {
            assert_eq!(again.icc.is_some(), carry.icc.is_some(), "ICC lost");
            assert_eq!(again.xmp.is_some(), carry.xmp.is_some(), "XMP lost");
        }
    }
}

/// The XMP reader and the provenance editor.
pub fn xmp(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (x, _) = xmp::parse(text);
    let _ = provenance::realskin_edit(&x);
    let raw = meta::RawMetadata {
        xmp: Some(text.to_string()),
        ..meta::read(b"")
    };
    let verdict = profile::evidence::verdict(Vec::new());
    let edit = EditInfo {
        version: "0".into(),
        changed: "fuzz".into(),
        when: None,
        pixels_upright: false,
    };
    let out = profile::output_provenance(&raw, &verdict, &edit);
    // Whatever came in, the output's XMP is well-formed and names the edit.
    let (parsed, warning) = xmp::parse(out.embed.xmp.as_deref().unwrap_or(""));
    assert!(warning.is_none(), "edited XMP is malformed: {warning:?}");
    assert!(
        provenance::realskin_edit(&parsed).is_some(),
        "edit not recorded"
    );
}

/// The whole profiler, C2PA off.
pub fn profile(data: &[u8]) {
    let opts = ProfileOptions {
        read_c2pa: false,
        ..ProfileOptions::default()
    };
    let p = profile::profile_bytes_with("fuzz.png", data, None, &opts);
    let _ = serde_json::to_string(&p).expect("profiles always serialise");
}

/// The pixel limit the decode target runs under: small enough that a decoder honouring it
/// stays far below the fuzzer's 256 MB allocation limit.
pub const DECODE_MAX_MEGAPIXELS: f64 = 4.0;

/// The decoders behind `decode::decode` (PNG, JPEG, WebP, TIFF), with the header reading the
/// memory planner does first. Whatever the bytes declare, a decoded image is within the pixel
/// limit; the allocation limit the fuzzer runs under catches a decoder that reserves for what
/// a header claims.
pub fn decode(data: &[u8]) {
    let _ = crate::decode::header_dimensions(data);
    if let Ok(d) = crate::decode::decode(data, DECODE_MAX_MEGAPIXELS) {
        let px = f64::from(d.image.width()) * f64::from(d.image.height());
        assert!(
            px <= DECODE_MAX_MEGAPIXELS * 1e6,
            "decoded {}×{} past the limit",
            d.image.width(),
            d.image.height()
        );
    }
}

/// Seeds that declare huge counts and sizes, for running the fuzz targets under memory
/// limits: `(target, name, whole file)`. Each stays under 256 KiB (the fuzzer's input limit)
/// and is handled within the budgets by today's code (`tests/hostile_metadata.rs` checks it).
pub fn hostile_seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    vec![
        ("png", "ztxt-bombs.png", seeds::png_text_bombs()),
        ("png", "chunk-claims-2gb.png", seeds::png_huge_chunk()),
        (
            "tiff",
            "4000-tags-one-block.tif",
            seeds::tiff_amplified(64 * 1024),
        ),
        ("tiff", "exif-count-4g.tif", seeds::tiff_exif_count()),
        (
            "decode",
            "png-100000x100000.png",
            seeds::png_dimensions(100_000),
        ),
        ("decode", "webp-canvas-16384.webp", seeds::webp_canvas()),
        ("decode", "jpeg-65500x65500.jpg", seeds::jpeg_dimensions()),
        ("decode", "jpeg-3000-scans.jpg", seeds::jpeg_scans(3000)),
        (
            "decode",
            "tiff-20000-huge-strips.tif",
            seeds::tiff_strips(20_000),
        ),
    ]
}

/// Writers for [`hostile_seeds`] (also used by `tests/hostile_metadata.rs`).
pub mod seeds {
    use std::io::Write;

    fn le16(v: u16) -> [u8; 2] {
        v.to_le_bytes()
    }
    fn le32(v: u32) -> [u8; 4] {
        v.to_le_bytes()
    }
    /// A little-endian IFD entry.
    pub fn entry(out: &mut Vec<u8>, tag: u16, typ: u16, count: u32, value: u32) {
        out.extend_from_slice(&le16(tag));
        out.extend_from_slice(&le16(typ));
        out.extend_from_slice(&le32(count));
        out.extend_from_slice(&le32(value));
    }
    /// A PNG chunk with its CRC (`len` overrides the declared length).
    pub fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8], len: Option<u32>) {
        out.extend_from_slice(&len.unwrap_or(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut c = flate2::Crc::new();
        c.update(kind);
        c.update(data);
        out.extend_from_slice(&c.sum().to_be_bytes());
    }
    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(data).expect("writing to memory");
        z.finish().expect("writing to memory")
    }
    fn png_with(w: u32, h: u32, middle: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut f = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&w.to_be_bytes());
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        chunk(&mut f, b"IHDR", &ihdr, None);
        middle(&mut f);
        chunk(&mut f, b"IDAT", &zlib(&[0, 0, 0, 0]), None);
        chunk(&mut f, b"IEND", &[], None);
        f
    }

    /// Ten zTXt chunks that each inflate to 16 MiB.
    pub fn png_text_bombs() -> Vec<u8> {
        let bomb = zlib(&vec![0u8; 16 << 20]);
        png_with(1, 1, |f| {
            for i in 0..10 {
                let mut data = format!("bomb{i}\0\0").into_bytes();
                data.extend_from_slice(&bomb);
                chunk(f, b"zTXt", &data, None);
            }
        })
    }

    /// A text chunk whose length field claims 2 GB.
    pub fn png_huge_chunk() -> Vec<u8> {
        png_with(1, 1, |f| {
            chunk(f, b"tEXt", b"Comment\0x", Some(0x7FFF_FFF0))
        })
    }

    /// A PNG whose header declares `side`×`side` pixels over a few bytes of data.
    pub fn png_dimensions(side: u32) -> Vec<u8> {
        png_with(side, side, |_| {})
    }

    /// 4,000 XMP entries and 4,000 Exif entries, all pointing at the same `block` bytes.
    pub fn tiff_amplified(block: u32) -> Vec<u8> {
        let n = 4000u32;
        let ifd0_at = 8u32;
        let exif_at = ifd0_at + 2 + (n + 3) * 12 + 4;
        let data_at = exif_at + 2 + n * 12 + 4;
        let mut f = b"II*\0".to_vec();
        f.extend_from_slice(&le32(ifd0_at));
        f.extend_from_slice(&le16((n + 3) as u16));
        entry(&mut f, 256, 3, 1, 16);
        entry(&mut f, 257, 3, 1, 16);
        for _ in 0..n {
            entry(&mut f, 700, 1, block, data_at);
        }
        entry(&mut f, 0x8769, 4, 1, exif_at);
        f.extend_from_slice(&le32(0));
        f.extend_from_slice(&le16(n as u16));
        for i in 0..n {
            entry(&mut f, 1000 + i as u16, 7, block, data_at);
        }
        f.extend_from_slice(&le32(0));
        f.resize(f.len() + block as usize, b' ');
        f
    }

    /// An Exif sub-IFD entry that declares 4 G values.
    pub fn tiff_exif_count() -> Vec<u8> {
        let mut f = b"II*\0".to_vec();
        f.extend_from_slice(&le32(8));
        f.extend_from_slice(&le16(3));
        entry(&mut f, 256, 3, 1, 16);
        entry(&mut f, 257, 3, 1, 16);
        entry(&mut f, 0x8769, 4, 1, 8 + 2 + 3 * 12 + 4);
        f.extend_from_slice(&le32(0));
        f.extend_from_slice(&le16(1));
        entry(&mut f, 0x9286, 7, u32::MAX, 64);
        f.extend_from_slice(&le32(0));
        f.resize(f.len() + 256, 0);
        f
    }

    /// A 60000×60000 TIFF with `n` strips, each claiming 4 GB.
    pub fn tiff_strips(n: u32) -> Vec<u8> {
        let entries = 8u16;
        let offsets_at = 8 + 2 + u32::from(entries) * 12 + 4;
        let counts_at = offsets_at + 4 * n;
        let mut f = b"II*\0".to_vec();
        f.extend_from_slice(&le32(8));
        f.extend_from_slice(&le16(entries));
        entry(&mut f, 256, 4, 1, 60_000); // ImageWidth
        entry(&mut f, 257, 4, 1, 60_000); // ImageLength
        entry(&mut f, 258, 3, 1, 8); // BitsPerSample
        entry(&mut f, 259, 3, 1, 1); // no compression
        entry(&mut f, 262, 3, 1, 1); // BlackIsZero
        entry(&mut f, 273, 4, n, offsets_at); // StripOffsets
        entry(&mut f, 278, 4, 1, 60_000 / n.max(1)); // RowsPerStrip
        entry(&mut f, 279, 4, n, counts_at); // StripByteCounts
        f.extend_from_slice(&le32(0));
        for _ in 0..n {
            f.extend_from_slice(&le32(8));
        }
        for _ in 0..n {
            f.extend_from_slice(&le32(0xFFFF_FFF0));
        }
        f
    }

    /// A VP8X header declaring a 16384×16384 canvas over a tiny lossless frame that declares
    /// the same.
    pub fn webp_canvas() -> Vec<u8> {
        let side = 16_384u32 - 1;
        let mut vp8x = vec![0u8; 10];
        vp8x[4..7].copy_from_slice(&side.to_le_bytes()[..3]);
        vp8x[7..10].copy_from_slice(&side.to_le_bytes()[..3]);
        // VP8L: signature, then 14-bit width-1 and height-1.
        let bits = side | (side << 14);
        let mut vp8l = vec![0x2F];
        vp8l.extend_from_slice(&bits.to_le_bytes());
        vp8l.extend_from_slice(&[0; 8]);
        let mut body = b"WEBP".to_vec();
        for (kind, data) in [(b"VP8X", &vp8x), (b"VP8L", &vp8l)] {
            body.extend_from_slice(kind);
            body.extend_from_slice(&le32(data.len() as u32));
            body.extend_from_slice(data);
            if data.len() % 2 == 1 {
                body.push(0);
            }
        }
        let mut f = b"RIFF".to_vec();
        f.extend_from_slice(&le32(body.len() as u32));
        f.extend_from_slice(&body);
        f
    }

    /// SOI, a quantisation table and a frame header for `sof` with the given size, one
    /// component.
    fn jpeg_head(sof: u8, w: u16, h: u16) -> Vec<u8> {
        let mut f = vec![0xFF, 0xD8];
        f.extend_from_slice(&[0xFF, 0xDB, 0, 67, 0]);
        f.extend_from_slice(&[1; 64]);
        f.extend_from_slice(&[0xFF, sof, 0, 11, 8]);
        f.extend_from_slice(&h.to_be_bytes());
        f.extend_from_slice(&w.to_be_bytes());
        f.extend_from_slice(&[1, 1, 0x11, 0]);
        // A DC table with one 1-bit code (category 0) and an AC table with one (EOB).
        f.extend_from_slice(&[0xFF, 0xC4, 0, 20, 0x00, 1]);
        f.extend_from_slice(&[0; 15]);
        f.push(0);
        f.extend_from_slice(&[0xFF, 0xC4, 0, 20, 0x10, 1]);
        f.extend_from_slice(&[0; 15]);
        f.push(0);
        f
    }

    /// A baseline JPEG whose frame declares 65500×65500 over one scan of a few bytes.
    pub fn jpeg_dimensions() -> Vec<u8> {
        let mut f = jpeg_head(0xC0, 65_500, 65_500);
        f.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, 1, 0x00, 0, 63, 0]);
        f.extend_from_slice(&[0; 16]);
        f.extend_from_slice(&[0xFF, 0xD9]);
        f
    }

    /// A 64×64 progressive JPEG with `n` DC scans.
    pub fn jpeg_scans(n: usize) -> Vec<u8> {
        let mut f = jpeg_head(0xC2, 64, 64);
        for _ in 0..n {
            f.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, 1, 0x00, 0, 0, 0]);
            f.extend_from_slice(&[0; 8]);
        }
        f.extend_from_slice(&[0xFF, 0xD9]);
        f
    }
}
