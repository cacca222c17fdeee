//! PNG for 8-bit RGB and RGBA pictures, filtered and compressed in bands of rows on several
//! threads: the default output of an enlarged portrait is 16–36 MP, and one core took about
//! a quarter of the whole job to compress it.
//!
//! The compression is fdeflate's (<https://github.com/image-rs/fdeflate>, MIT OR Apache-2.0),
//! the one the `png` crate uses for its fast setting: a single Huffman code, fixed in
//! advance and tuned for filtered image data, with literals and runs of zeros only. Its code
//! lengths and the block header that declares them are copied from fdeflate 0.3.7
//! (`src/tables.rs`, `src/compress.rs`). Each band of rows is a block of its own; every band
//! but the last ends with an empty stored block (a sync flush, RFC 1951 §3.2.4), so the bands,
//! compressed apart, join into one zlib stream (RFC 1950) whose Adler-32 is combined from
//! theirs. Rows are filtered as the `png` crate's adaptive filter does (PNG specification
//! §12.8: the filter with the least sum of absolute values, per row).
//!
//! Band boundaries depend only on the picture's width, so the file's bytes are the same for
//! any thread count. Bands are written to the file in order as they finish, so at most one
//! band per thread is held: the file is written while it is compressed ([`encode_to`]).

use crate::meta::png::{SIGNATURE, push_chunk};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

/// Raw bytes per band (rows rounded up): big enough that a band's header (55 bytes) and sync
/// flush (5) cost nothing, small enough that two threads share a 16 MP picture evenly.
const BAND_BYTES: usize = 1 << 20;

/// fdeflate's code lengths for the 286 literal/length symbols (0–255 literals, 256 end of
/// block, 257–285 lengths).
#[rustfmt::skip]
const LENGTHS: [u8; 286] = [
    2, 3, 4, 5, 5, 6, 6, 7, 7, 7, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 10, 10, 10, 10, 10, 10, 10,
    10, 10, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 11, 11, 11, 11, 11, 11, 11,
    11, 11, 11, 10, 11, 10, 10, 10, 10, 10, 10, 10, 10, 10, 9, 9, 9, 9, 9, 8, 9, 8, 8, 8, 8, 8, 7,
    7, 7, 6, 6, 6, 5, 4, 3, 12, 12, 12, 9, 9, 11, 10, 11, 11, 10, 11, 11, 11, 11, 11, 11, 12, 11,
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 9,
];

/// fdeflate's stream start: the zlib header (2 bytes), then the dynamic block's header that
/// declares [`LENGTHS`] and one distance code (distance 1), 51 bytes and 5 bits. Its first
/// bit is BFINAL.
#[rustfmt::skip]
const HEADER: [u8; 54] = [
    120, 1, 237, 192, 3, 160, 36, 89, 150, 198, 241, 255, 119, 238, 141, 200, 204, 167,
    114, 75, 99, 174, 109, 219, 182, 109, 219, 182, 109, 219, 182, 109, 105, 140, 158, 150,
    74, 175, 158, 50, 51, 34, 238, 249, 118, 183, 106, 122, 166, 135, 59, 107, 213, 15,
];

/// Canonical Huffman codes for [`LENGTHS`] (RFC 1951 §3.2.2), bit-reversed for LSB-first
/// output.
const CODES: [u16; 286] = {
    let mut codes = [0u16; 286];
    let mut code = 0u32;
    let mut len = 1;
    while len <= 15 {
        let mut i = 0;
        while i < 286 {
            if LENGTHS[i] == len {
                codes[i] = (code as u16).reverse_bits() >> (16 - len);
                code += 1;
            }
            i += 1;
        }
        code <<= 1;
        len += 1;
    }
    codes
};

/// Length symbol and its extra bits for each match length 3..=258 (RFC 1951 §3.2.5); 258 is
/// symbol 285 without extra bits.
const LENGTH_SYMBOLS: [(u16, u8); 256] = {
    let base: [u16; 29] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
        131, 163, 195, 227, 258,
    ];
    let extra: [u8; 29] = [
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
    ];
    let mut out = [(0u16, 0u8); 256];
    let mut len = 3usize;
    while len <= 258 {
        let mut s = 28;
        while base[s] as usize > len {
            s -= 1;
        }
        out[len - 3] = (257 + s as u16, extra[s]);
        len += 1;
    }
    out
};

/// Whether [`encode`] writes this layout: 8-bit RGB or RGBA.
pub fn handles(color: image::ColorType) -> bool {
    matches!(color, image::ColorType::Rgb8 | image::ColorType::Rgba8)
}

/// A PNG of `data` (8-bit RGB or RGBA rows, `channels` 3 or 4, no padding) on up to
/// `threads` threads: signature, IHDR, IDAT, IEND.
pub fn encode(data: &[u8], width: u32, height: u32, channels: usize, threads: usize) -> Vec<u8> {
    let rows = height as usize;
    let bands = rows.div_ceil(band_rows(width as usize * channels)).max(1);
    // Room for the raw size (reserved, resident only as written): a photograph takes well
    // under it; noise, which the fixed code can expand by half, grows the file once.
    let mut out = Vec::with_capacity(data.len() + rows + bands * 80 + 128);
    let mut head = Vec::with_capacity(SIGNATURE.len() + 25);
    head.extend_from_slice(SIGNATURE);
    push_chunk(&mut head, b"IHDR", &[&ihdr(width, height, channels)]);
    encode_to(data, width, height, channels, threads, &head, &mut out)
        .expect("a Vec takes every write");
    out
}

/// The IHDR chunk's data for an 8-bit RGB (`channels` 3) or RGBA (4) picture.
pub fn ihdr(width: u32, height: u32, channels: usize) -> [u8; 13] {
    let mut d = [0u8; 13];
    d[..4].copy_from_slice(&width.to_be_bytes());
    d[4..8].copy_from_slice(&height.to_be_bytes());
    d[8..].copy_from_slice(&[8, if channels == 4 { 6 } else { 2 }, 0, 0, 0]);
    d
}

/// Rows per band for rows of `stride` bytes.
fn band_rows(stride: usize) -> usize {
    BAND_BYTES.div_ceil(stride.max(1)).max(1)
}

/// [`encode`] into `sink`, after `head` (the signature, IHDR and any chunks that go before
/// the image data, as [`ihdr`] and the metadata make them): each band is written as soon as
/// it and every band before it are compressed, by the thread that finished it, so a file
/// is written while the rest is still being compressed and never held whole. Returns the
/// bytes written; the first write error stops the work and is returned.
pub fn encode_to<W: std::io::Write + Send>(
    data: &[u8],
    width: u32,
    height: u32,
    channels: usize,
    threads: usize,
    head: &[u8],
    sink: &mut W,
) -> std::io::Result<u64> {
    debug_assert!(channels == 3 || channels == 4);
    let stride = width as usize * channels;
    debug_assert_eq!(data.len(), stride * height as usize);
    let rows = height as usize;
    let band_rows = band_rows(stride);
    let bands = rows.div_ceil(band_rows).max(1);
    sink.write_all(head)?;
    let state = Mutex::new(Joined {
        next: 0,
        adler: 1,
        sink,
        written: head.len() as u64,
        failed: None,
    });
    let turn = Condvar::new();
    let taken = AtomicUsize::new(0);
    let work = || {
        let mut chunk = Vec::new();
        loop {
            let b = taken.fetch_add(1, Ordering::Relaxed);
            if b >= bands {
                break;
            }
            let (r0, r1) = (b * band_rows, ((b + 1) * band_rows).min(rows));
            let last = b + 1 == bands;
            let (bytes, adler, len) = band(data, stride, channels, r0, r1, last);
            let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
            while s.next != b {
                s = turn.wait(s).unwrap_or_else(|p| p.into_inner());
            }
            s.next += 1;
            turn.notify_all();
            if s.failed.is_some() {
                // Nothing more is written; the bands still queued are let through quickly.
                taken.store(bands, Ordering::Relaxed);
                continue;
            }
            s.adler = adler_combine(s.adler, adler, len);
            let zlib_head: &[u8] = if b == 0 { &HEADER[..2] } else { &[] };
            let trailer = s.adler.to_be_bytes();
            let tail: &[u8] = if last { &trailer } else { &[] };
            chunk.clear();
            push_chunk(&mut chunk, b"IDAT", &[zlib_head, &bytes, tail]);
            if last {
                push_chunk(&mut chunk, b"IEND", &[]);
            }
            match s.sink.write_all(&chunk) {
                Ok(()) => s.written += chunk.len() as u64,
                Err(e) => s.failed = Some(e),
            }
        }
    };
    let threads = threads.clamp(1, bands);
    std::thread::scope(|s| {
        for _ in 1..threads {
            s.spawn(work);
        }
        work();
    });
    let s = state.into_inner().unwrap_or_else(|p| p.into_inner());
    match s.failed {
        Some(e) => Err(e),
        None => Ok(s.written),
    }
}

/// Where the file stands: the next band to write, the Adler-32 of the bands written, the
/// sink and what it has taken, and the first write error.
struct Joined<'w, W> {
    next: usize,
    adler: u32,
    sink: &'w mut W,
    written: u64,
    failed: Option<std::io::Error>,
}

/// Rows `r0..r1` filtered and compressed as one deflate block (ended by a sync flush unless
/// `last`); with the Adler-32 and length of the filtered bytes.
fn band(
    data: &[u8],
    stride: usize,
    bpp: usize,
    r0: usize,
    r1: usize,
    last: bool,
) -> (Vec<u8>, u32, usize) {
    let mut filtered = vec![0u8; (r1 - r0) * (stride + 1)];
    filter_rows(data, stride, bpp, r0, r1, &mut filtered);
    let mut adler = simd_adler32::Adler32::new();
    adler.write(&filtered);
    let mut w = Bits::with_capacity(filtered.len() / 2 + 64);
    w.out.push(HEADER[2] & if last { 0xff } else { 0xfe });
    w.out.extend_from_slice(&HEADER[3..53]);
    w.put(u64::from(HEADER[53]), 5);
    w.data(&filtered);
    w.put(u64::from(CODES[256]), u32::from(LENGTHS[256]));
    if !last {
        // An empty stored block: BFINAL 0, BTYPE 00, then LEN 0 and NLEN 0xffff from the next
        // byte boundary.
        w.put(0, 3);
        w.align();
        w.out.extend_from_slice(&[0, 0, 0xff, 0xff]);
    } else {
        w.align();
    }
    (w.out, adler.finish(), filtered.len())
}

/// Rows `r0..r1` of `data`, each filtered by [`adaptive`] after its filter-type byte.
fn filter_rows(data: &[u8], stride: usize, bpp: usize, r0: usize, r1: usize, out: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has the feature the function is compiled for.
        unsafe { filter_rows_avx2(data, stride, bpp, r0, r1, out) };
        return;
    }
    filter_rows_body(data, stride, bpp, r0, r1, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn filter_rows_avx2(
    data: &[u8],
    stride: usize,
    bpp: usize,
    r0: usize,
    r1: usize,
    out: &mut [u8],
) {
    filter_rows_body(data, stride, bpp, r0, r1, out);
}

#[inline(always)]
fn filter_rows_body(data: &[u8], stride: usize, bpp: usize, r0: usize, r1: usize, out: &mut [u8]) {
    let zeros = vec![0u8; stride];
    for (r, line) in (r0..r1).zip(out.chunks_exact_mut(stride + 1)) {
        let cur = &data[r * stride..(r + 1) * stride];
        let prev = if r == 0 {
            &zeros[..]
        } else {
            &data[(r - 1) * stride..r * stride]
        };
        let (kind, body) = line.split_first_mut().expect("a row has its filter byte");
        *kind = adaptive(bpp, prev, cur, body);
    }
}

/// The filter (PNG §9.2) with the least sum of absolute values (as signed bytes) for row
/// `cur`, written to `out`; returns the filter type. The five sums are taken in one pass, and
/// only the chosen filter is written.
#[inline(always)]
fn adaptive(bpp: usize, prev: &[u8], cur: &[u8], out: &mut [u8]) -> u8 {
    let s0 = cost(bpp, prev, cur, |x, _, _, _| x);
    let s1 = cost(bpp, prev, cur, |x, a, _, _| x.wrapping_sub(a));
    let s2 = cost(bpp, prev, cur, |x, _, b, _| x.wrapping_sub(b));
    let s3 = cost(bpp, prev, cur, |x, a, b, _| {
        x.wrapping_sub(((u16::from(a) + u16::from(b)) >> 1) as u8)
    });
    let s4 = cost(bpp, prev, cur, |x, a, b, c| x.wrapping_sub(paeth(a, b, c)));
    // The first of equal sums wins, as in the `png` crate.
    let sums = [s0, s1, s2, s3, s4];
    let best = (1..5).fold(0, |best, k| if sums[k] < sums[best] { k } else { best });
    let best = best as u8;
    filter(best, bpp, prev, cur, out);
    best
}

/// Sum of absolute values (as signed bytes) of `f(x, a, b, c)` over a row: x the byte, a the
/// one `bpp` to its left, b the one above, c above-left (zeros off the row). One tight loop
/// per filter, so each vectorises.
#[inline(always)]
fn cost(bpp: usize, prev: &[u8], cur: &[u8], f: impl Fn(u8, u8, u8, u8) -> u8) -> u32 {
    let abs = |v: u8| u32::from((v as i8).unsigned_abs());
    let n = cur.len();
    let head = bpp.min(n);
    let first: u32 = (0..head).map(|i| abs(f(cur[i], 0, prev[i], 0))).sum();
    let rest: u32 = cur[head..]
        .iter()
        .zip(&cur[..n - head])
        .zip(prev[head..].iter().zip(&prev[..n - head]))
        .map(|((&x, &a), (&b, &c))| abs(f(x, a, b, c)))
        .sum();
    first + rest
}

/// One PNG filter over a row (`prev` the row above, zeros on the first).
#[inline(always)]
fn filter(kind: u8, bpp: usize, prev: &[u8], cur: &[u8], out: &mut [u8]) {
    let n = cur.len();
    match kind {
        0 => out.copy_from_slice(cur),
        1 => {
            out[..bpp].copy_from_slice(&cur[..bpp]);
            for i in bpp..n {
                out[i] = cur[i].wrapping_sub(cur[i - bpp]);
            }
        }
        2 => {
            for i in 0..n {
                out[i] = cur[i].wrapping_sub(prev[i]);
            }
        }
        3 => {
            for i in 0..bpp {
                out[i] = cur[i].wrapping_sub(prev[i] >> 1);
            }
            for i in bpp..n {
                let avg = ((u16::from(cur[i - bpp]) + u16::from(prev[i])) >> 1) as u8;
                out[i] = cur[i].wrapping_sub(avg);
            }
        }
        _ => {
            for i in 0..bpp {
                out[i] = cur[i].wrapping_sub(prev[i]);
            }
            for i in bpp..n {
                out[i] = cur[i].wrapping_sub(paeth(cur[i - bpp], prev[i], prev[i - bpp]));
            }
        }
    }
}

/// The Paeth predictor (PNG §9.4).
#[inline(always)]
fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let (ia, ib, ic) = (i16::from(a), i16::from(b), i16::from(c));
    let pa = (ib - ic).abs();
    let pb = (ia - ic).abs();
    let pc = (ia + ib - 2 * ic).abs();
    // "a if pa ≤ pb and pa ≤ pc, else b if pb ≤ pc, else c", without branches.
    let (p, v) = if pa <= pb { (pa, a) } else { (pb, b) };
    if p <= pc { v } else { c }
}

/// Adler-32 of two byte strings joined, from theirs and the second's length (zlib's
/// `adler32_combine`).
fn adler_combine(a1: u32, a2: u32, len2: usize) -> u32 {
    const BASE: u64 = 65521;
    let rem = len2 as u64 % BASE;
    let mut sum1 = u64::from(a1 & 0xffff);
    let mut sum2 = (rem * sum1) % BASE;
    sum1 += u64::from(a2 & 0xffff) + BASE - 1;
    sum2 += u64::from(a1 >> 16) + u64::from(a2 >> 16) + BASE - rem;
    if sum1 >= BASE {
        sum1 -= BASE;
    }
    if sum1 >= BASE {
        sum1 -= BASE;
    }
    if sum2 >= BASE << 1 {
        sum2 -= BASE << 1;
    }
    if sum2 >= BASE {
        sum2 -= BASE;
    }
    ((sum2 << 16) | sum1) as u32
}

/// An LSB-first bit writer (RFC 1951 §3.1.1) with fdeflate's literal and zero-run coding.
struct Bits {
    out: Vec<u8>,
    buf: u64,
    n: u32,
}

impl Bits {
    fn with_capacity(bytes: usize) -> Bits {
        Bits {
            out: Vec::with_capacity(bytes),
            buf: 0,
            n: 0,
        }
    }

    /// Appends the low `n` bits of `bits` (n ≤ 64, nothing above them set).
    #[inline(always)]
    fn put(&mut self, bits: u64, n: u32) {
        self.buf |= bits << self.n;
        self.n += n;
        if self.n >= 64 {
            self.out.extend_from_slice(&self.buf.to_le_bytes());
            self.n -= 64;
            self.buf = bits.checked_shr(n - self.n).unwrap_or(0);
        }
    }

    /// Pads with zeros to the next byte boundary and writes out the buffer.
    fn align(&mut self) {
        let bytes = self.n.div_ceil(8) as usize;
        self.out.extend_from_slice(&self.buf.to_le_bytes()[..bytes]);
        self.buf = 0;
        self.n = 0;
    }

    #[inline(always)]
    fn literal(&mut self, b: u8) {
        self.put(u64::from(CODES[b as usize]), u32::from(LENGTHS[b as usize]));
    }

    /// A run of `run` zero bytes: one literal zero, then copies of it at distance 1 (the
    /// distance code is a single 0 bit), or literals when the rest is 4 or fewer.
    fn zeros(&mut self, run: u32) {
        self.literal(0);
        let mut run = run - 1;
        while run >= 258 {
            self.put(u64::from(CODES[285]), u32::from(LENGTHS[285]) + 1);
            run -= 258;
        }
        if run > 4 {
            let (sym, extra) = LENGTH_SYMBOLS[run as usize - 3];
            self.put(
                u64::from(CODES[sym as usize]),
                u32::from(LENGTHS[sym as usize]),
            );
            let value = u64::from(run - 3) & ((1u64 << extra) - 1);
            self.put(value, u32::from(extra) + 1);
        } else {
            // The code for a literal zero is all zeros.
            self.put(0, run * u32::from(LENGTHS[0]));
        }
    }

    /// Literals and runs of zeros for `data`, 8 bytes at a time.
    fn data(&mut self, data: &[u8]) {
        let mut run = 0u32;
        let mut chunks = data.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            if word == 0 {
                run += 8;
                continue;
            }
            if run > 0 {
                // The run goes on into this word's leading zero bytes.
                let more = word.trailing_zeros() / 8;
                self.zeros(run + more);
                run = 0;
                if more > 0 {
                    // Its trailing zero bytes start the next run.
                    run = word.leading_zeros() / 8;
                    for &b in &chunk[more as usize..8 - run as usize] {
                        self.literal(b);
                    }
                    continue;
                }
            }
            let tail = word.leading_zeros() / 8;
            if tail > 0 {
                for &b in &chunk[..8 - tail as usize] {
                    self.literal(b);
                }
                run = tail;
                continue;
            }
            let four = |c: &[u8]| {
                let n: [u32; 4] = std::array::from_fn(|k| u32::from(LENGTHS[c[k] as usize]));
                let bits = u64::from(CODES[c[0] as usize])
                    | u64::from(CODES[c[1] as usize]) << n[0]
                    | u64::from(CODES[c[2] as usize]) << (n[0] + n[1])
                    | u64::from(CODES[c[3] as usize]) << (n[0] + n[1] + n[2]);
                (bits, n[0] + n[1] + n[2] + n[3])
            };
            let (b0, n0) = four(&chunk[..4]);
            self.put(b0, n0);
            let (b1, n1) = four(&chunk[4..]);
            self.put(b1, n1);
        }
        if run > 0 {
            self.zeros(run);
        }
        for &b in chunks.remainder() {
            self.literal(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png: &[u8]) -> (png::OutputInfo, Vec<u8>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .expect("a valid PNG header");
        let mut buf = vec![0; reader.output_buffer_size().expect("a size")];
        let info = reader.next_frame(&mut buf).expect("valid image data");
        buf.truncate(info.buffer_size());
        (info, buf)
    }

    /// Photo-like content: smooth gradients, noise, flat runs (zero-filtered rows) and hard
    /// edges, so every filter and the run coding are used.
    fn picture(w: usize, h: usize, ch: usize) -> Vec<u8> {
        let mut s = 12345u32;
        let mut v = Vec::with_capacity(w * h * ch);
        for y in 0..h {
            for x in 0..w {
                for c in 0..ch {
                    s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    let noise = (s >> 28) as usize;
                    let val = if y % 50 < 10 {
                        40
                    } else if x > w / 2 {
                        (x * 255 / w + c * 30 + noise) % 256
                    } else {
                        (y * 3 + x / 7 + c * 50) % 256
                    };
                    v.push(val as u8);
                }
            }
        }
        v
    }

    /// A sink that takes `room` bytes, then fails as a full disk does.
    struct Full {
        room: usize,
        got: Vec<u8>,
    }

    impl std::io::Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.got.len() + buf.len() > self.room {
                return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
            }
            self.got.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_streamed_file_has_the_same_bytes_and_a_full_sink_stops_it_with_the_error() {
        let (w, h, ch) = (1200usize, 900usize, 3usize);
        let data = picture(w, h, ch);
        let whole = encode(&data, w as u32, h as u32, ch, 2);
        let head = &whole[..SIGNATURE.len() + 25];
        for threads in [1, 3] {
            let mut sink = Full {
                room: usize::MAX,
                got: Vec::new(),
            };
            let n = encode_to(&data, w as u32, h as u32, ch, threads, head, &mut sink).unwrap();
            assert_eq!(n as usize, whole.len());
            assert!(
                sink.got == whole,
                "{threads} threads: streamed bytes differ"
            );
            // Room for the head and about one band: the next band's write fails, the
            // encoder stops (no thread waits forever) and says why.
            let mut full = Full {
                room: whole.len() / 3,
                got: Vec::new(),
            };
            let err = encode_to(&data, w as u32, h as u32, ch, threads, head, &mut full)
                .expect_err("the sink is full");
            assert_eq!(err.kind(), std::io::ErrorKind::StorageFull);
            assert!(full.got.len() <= whole.len() / 3 && whole.starts_with(&full.got));
        }
    }

    #[test]
    fn decodes_to_the_same_pixels_in_any_layout_and_thread_count() {
        for (w, h, ch) in [(1, 1, 3), (7, 3, 4), (333, 517, 3), (1200, 900, 4)] {
            let data = picture(w, h, ch);
            let one = encode(&data, w as u32, h as u32, ch, 1);
            let (info, pixels) = decode(&one);
            assert_eq!((info.width, info.height), (w as u32, h as u32));
            assert_eq!(info.bit_depth, png::BitDepth::Eight);
            assert_eq!(
                info.color_type,
                if ch == 4 {
                    png::ColorType::Rgba
                } else {
                    png::ColorType::Rgb
                }
            );
            assert!(pixels == data, "{w}×{h}×{ch}: pixels differ");
            for threads in [2, 3, 8] {
                let many = encode(&data, w as u32, h as u32, ch, threads);
                assert!(
                    many == one,
                    "{w}×{h}×{ch}: bytes differ at {threads} threads"
                );
            }
        }
    }

    #[test]
    fn a_large_picture_spans_several_bands_and_compresses_like_the_png_crate() {
        let (w, h) = (1024, 1100);
        let data = picture(w, h, 3);
        let ours = encode(&data, w as u32, h as u32, 3, 2);
        assert!(3 * w * h > 2 * BAND_BYTES, "several bands");
        assert!(decode(&ours).1 == data);
        let mut theirs = Vec::new();
        let mut enc = png::Encoder::new(&mut theirs, w as u32, h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_compression(png::Compression::Fast);
        enc.set_filter(png::Filter::Adaptive);
        enc.write_header()
            .and_then(|mut wr| wr.write_image_data(&data))
            .expect("png crate encodes");
        let ratio = ours.len() as f64 / theirs.len() as f64;
        assert!((0.98..1.02).contains(&ratio), "size ratio {ratio}");
    }

    #[test]
    fn runs_of_zeros_of_every_length_decode() {
        // A grey picture whose rows filter to long runs of zeros broken at every offset.
        for w in [1usize, 2, 3, 5, 86, 87, 88, 89, 300] {
            let mut data = vec![128u8; w * 3 * 40];
            for (i, v) in data.iter_mut().enumerate() {
                if i % 97 == 0 {
                    *v = 3;
                }
            }
            let png = encode(&data, w as u32, 40, 3, 2);
            assert!(decode(&png).1 == data, "width {w}");
        }
    }

    #[test]
    fn adler_of_joined_bytes_is_combined_from_the_parts() {
        let a: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let b: Vec<u8> = (0..70_001u32).map(|i| (i * 13 % 253) as u8).collect();
        let of = |v: &[u8]| {
            let mut h = simd_adler32::Adler32::new();
            h.write(v);
            h.finish()
        };
        let joined = [a.clone(), b.clone()].concat();
        assert_eq!(adler_combine(of(&a), of(&b), b.len()), of(&joined));
        assert_eq!(adler_combine(1, of(&a), a.len()), of(&a));
    }
}
