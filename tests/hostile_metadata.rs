//! Crafted metadata must not be able to exhaust memory: a file's metadata readers may
//! bring at most about twice its size (plus a fixed allowance) into memory, however many
//! entries point at the same bytes and however well its text chunks compress.
//!
//! Each case writes a crafted file, profiles it the way the daemon does
//! (`profile::profile_path`), and measures the peak of the bytes this thread holds through
//! a counting allocator. Before the budget, the first case reached 4 GB.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;

use realskin::fuzzing::seeds::{self, entry};
use realskin::profile::{self, ProfileOptions};

/// Counts the bytes each thread holds and the peak since the last reset.
struct Counting;

thread_local! {
    static HELD: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn note(delta: isize) {
    // `try_with`: allocations during thread teardown find no counter, and that is fine.
    let _ = HELD.try_with(|h| {
        let now = h.get() + delta;
        h.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Profiles `bytes` as the file `name` and returns (peak bytes held above the start,
/// the profile's warnings).
fn profile_peak(name: &str, bytes: &[u8]) -> (usize, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let start = HELD.with(Cell::get);
    PEAK.with(|p| p.set(start));
    let profile = profile::profile_path(&path, None, &ProfileOptions::default()).unwrap();
    let peak = PEAK.with(Cell::get) - start;
    let warnings = profile.warnings.clone();
    drop(profile);
    (peak.max(0) as usize, warnings)
}

/// The most a file of `len` bytes may cost: the reader's budget (2× + 32 MiB) plus room
/// for the profile's own structures.
fn allowance(len: usize) -> usize {
    3 * len + 48 * 1024 * 1024
}

fn assert_within_allowance(peak: usize, len: usize) {
    assert!(
        peak < allowance(len),
        "peak {} MB for a {} MB file",
        peak >> 20,
        len >> 20
    );
}

fn le16(v: u16) -> [u8; 2] {
    v.to_le_bytes()
}
fn le32(v: u32) -> [u8; 4] {
    v.to_le_bytes()
}

const MIB: u32 = 1024 * 1024;

#[test]
fn a_tiff_whose_thousands_of_tags_point_at_one_megabyte_costs_no_more_than_the_file() {
    // IFD0: size, 4,000 XMP entries at the same megabyte, and an Exif IFD whose 4,000
    // distinct tags point at that megabyte too.
    let f = seeds::tiff_amplified(MIB);

    let (peak, warnings) = profile_peak("amplified.tif", &f);
    assert_within_allowance(peak, f.len());
    let all = warnings.join("\n");
    assert!(all.contains("appears twice"), "{all}");
    assert!(all.contains("points into another tag's value"), "{all}");
    assert!(warnings.len() <= 40, "{} warnings", warnings.len());
}

/// A PNG chunk with its CRC.
fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    seeds::chunk(out, kind, data, None);
}

#[test]
fn a_png_packed_with_compressed_text_bombs_stops_at_its_budget() {
    // 200 zTXt chunks, each about 16 KB that inflate to 16 MiB of zeros: 3.2 GB unpacked.
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![0u8; 16 * MIB as usize - 16]).unwrap();
    let bomb = z.finish().unwrap();
    let mut f = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&1u32.to_be_bytes());
    ihdr.extend_from_slice(&1u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut f, b"IHDR", &ihdr);
    for i in 0..200 {
        let mut data = format!("bomb{i}\0\0").into_bytes();
        data.extend_from_slice(&bomb);
        chunk(&mut f, b"zTXt", &data);
    }
    let mut idat = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    idat.write_all(&[0, 0]).unwrap();
    chunk(&mut f, b"IDAT", &idat.finish().unwrap());
    chunk(&mut f, b"IEND", &[]);

    let (peak, warnings) = profile_peak("bombs.png", &f);
    assert_within_allowance(peak, f.len());
    assert!(
        warnings.iter().any(|w| w.contains("add up to more than")),
        "{warnings:?}"
    );
}

#[test]
fn a_jpeg_exif_block_whose_entries_all_point_at_its_own_bytes_is_refused() {
    // One 64 KB APP1 Exif block: 4,000 entries, each claiming the block's last 16 KB.
    let n = 4000u32;
    let ifd_len = 2 + n * 12 + 4;
    let value_at = 8 + ifd_len;
    let mut tiff = b"II*\0".to_vec();
    tiff.extend_from_slice(&le32(8));
    tiff.extend_from_slice(&le16(n as u16));
    for i in 0..n {
        entry(&mut tiff, 1000 + i as u16, 7, 16 * 1024, value_at);
    }
    tiff.extend_from_slice(&le32(0));
    tiff.resize(tiff.len() + 16 * 1024, b'x');
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);

    let mut f = vec![0xFF, 0xD8, 0xFF, 0xE1];
    f.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    f.extend_from_slice(&app1);
    f.extend_from_slice(&[0xFF, 0xD9]);

    let (peak, warnings) = profile_peak("amplified.jpg", &f);
    // 4,000 copies of 16 KB would be 64 MB.
    assert!(peak < 16 * MIB as usize, "peak {} MB", peak >> 20);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("EXIF block's fields claim")),
        "{warnings:?}"
    );
}

/// `fuzz/run.sh`'s resident-memory limit for every target (`-rss_limit_mb=512`).
const FUZZ_RSS_LIMIT: usize = 512 << 20;

/// The seeds `fuzz/run.sh` starts from under memory limits: through the target it seeds each
/// stays within the fuzzer's limit, and through the whole profiler (what the daemon does)
/// within the allowance.
#[test]
fn every_hostile_fuzz_seed_stays_within_the_allowance() {
    use realskin::fuzzing;
    for (target, name, bytes) in fuzzing::hostile_seeds() {
        assert!(bytes.len() <= 256 * 1024, "{name}: {} bytes", bytes.len());
        let measure = |f: &dyn Fn()| {
            let start = HELD.with(Cell::get);
            PEAK.with(|p| p.set(start));
            f();
            (PEAK.with(Cell::get) - start).max(0) as usize
        };
        let peak = match target {
            "decode" => measure(&|| fuzzing::decode(&bytes)),
            "png" => measure(&|| fuzzing::container(b"\x89PNG\r\n\x1a\n", &bytes[8..])),
            _ => measure(&|| fuzzing::container(b"II*\0", &bytes[4..])),
        };
        // A target reads the file more than once (in memory, streamed, and again after
        // embedding), each read within the budget: it must stay within the fuzzer's limit.
        eprintln!("{target}/{name}: {} KiB peak", peak >> 10);
        assert!(
            peak < FUZZ_RSS_LIMIT,
            "{target}/{name}: peak {} MB",
            peak >> 20
        );
        let peak = measure(&|| fuzzing::profile(&bytes));
        eprintln!("profile/{name}: {} KiB peak", peak >> 10);
        assert_within_allowance(peak, bytes.len());
    }
}
