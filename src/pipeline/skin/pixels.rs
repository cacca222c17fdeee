//! Pixel formats, sRGB transfer tables and the reduced working copy the engine builds in one full-resolution pass.
//!
//! Everything that needs statistics (classification, faces, mask, tone) works on [`Reduced`]; only the
//! render pass and the crop measurements touch full-resolution pixels.

pub use super::space::{ENC_N, Space};
use image::DynamicImage;

/// Rec. 709 / sRGB luminance weights for linear RGB.
pub const LUMA: [f32; 3] = [0.2126, 0.7152, 0.0722];

/// The pixel layouts the engine renders in place; anything else is skipped with a reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Rgb8,
    Rgba8,
    Rgb16,
    Rgba16,
}

impl Layout {
    pub fn of(img: &DynamicImage) -> Option<Layout> {
        match img {
            DynamicImage::ImageRgb8(_) => Some(Layout::Rgb8),
            DynamicImage::ImageRgba8(_) => Some(Layout::Rgba8),
            DynamicImage::ImageRgb16(_) => Some(Layout::Rgb16),
            DynamicImage::ImageRgba16(_) => Some(Layout::Rgba16),
            _ => None,
        }
    }

    pub fn channels(self) -> usize {
        match self {
            Layout::Rgb8 | Layout::Rgb16 => 3,
            Layout::Rgba8 | Layout::Rgba16 => 4,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Layout::Rgb8 => "rgb8",
            Layout::Rgba8 => "rgba8",
            Layout::Rgb16 => "rgb16",
            Layout::Rgba16 => "rgba16",
        }
    }
}

/// A sample type the render pass can read and write (u8 or u16), with its picture's tables.
///
/// Hot loops fetch the tables once ([`Sample::lin_table`], [`Sample::enc_table`]) and index them directly.
pub trait Sample: Copy + Send + Sync + PartialEq + 'static {
    /// Encoded value to the picture's own linear light, indexed by [`Sample::index`].
    fn lin_table(space: &Space) -> &[f32];
    /// Own linear light quantised by [`enc_index`] to the nearest encoded value.
    fn enc_table(space: &Space) -> &[Self];
    fn index(self) -> usize;
    /// The largest encoded value (255 or 65535).
    const FULL: u32;
    /// Encoded value scaled to 0..1.
    fn unit(self) -> f32;
    /// The samples as bytes, when they are bytes (the 8-bit fast paths).
    fn bytes(s: &[Self]) -> Option<&[u8]>;
    fn bytes_mut(s: &mut [Self]) -> Option<&mut [u8]>;
}

impl Space {
    /// A pixel's linear sRGB (the engine's working space; unclamped outside sRGB's gamut).
    #[inline]
    pub fn lin<T: Sample>(&self, p: &[T]) -> [f32; 3] {
        let t = T::lin_table(self);
        self.to_srgb([t[p[0].index()], t[p[1].index()], t[p[2].index()]])
    }
}

/// Index into [`Sample::enc_table`] for a linear value (clamped to 0..1).
#[inline]
pub fn enc_index(v: f32) -> usize {
    // Adding 2²³ leaves round-to-nearest(x) in the low mantissa bits: a branch-free float-to-index
    // conversion (the saturating `as` cast costs several instructions per channel in the hot loop).
    ((v.clamp(0.0, 1.0) * (ENC_N - 1) as f32 + 8_388_608.0).to_bits() & 0xffff) as usize
}

impl Sample for u8 {
    const FULL: u32 = 255;
    fn lin_table(space: &Space) -> &[f32] {
        space.lin8()
    }
    fn enc_table(space: &Space) -> &[u8] {
        space.enc8()
    }
    #[inline]
    fn index(self) -> usize {
        self as usize
    }
    fn bytes(s: &[u8]) -> Option<&[u8]> {
        Some(s)
    }
    fn bytes_mut(s: &mut [u8]) -> Option<&mut [u8]> {
        Some(s)
    }
    #[inline]
    fn unit(self) -> f32 {
        self as f32 * (1.0 / 255.0)
    }
}

impl Sample for u16 {
    const FULL: u32 = 65535;
    fn lin_table(space: &Space) -> &[f32] {
        space.lin16()
    }
    fn enc_table(space: &Space) -> &[u16] {
        space.enc16()
    }
    #[inline]
    fn index(self) -> usize {
        self as usize
    }
    fn bytes(_: &[u16]) -> Option<&[u8]> {
        None
    }
    fn bytes_mut(_: &mut [u16]) -> Option<&mut [u8]> {
        None
    }
    #[inline]
    fn unit(self) -> f32 {
        self as f32 * (1.0 / 65535.0)
    }
}

/// CIE L* from relative luminance Y (0..1).
pub fn lstar(y: f32) -> f32 {
    let f = lab_f(y);
    116.0 * f - 16.0
}

#[inline]
pub fn lab_f(t: f32) -> f32 {
    const E: f32 = 216.0 / 24389.0;
    const K: f32 = 24389.0 / 27.0;
    if t > E {
        t.max(0.0).cbrt()
    } else {
        (K * t + 16.0) / 116.0
    }
}

/// Linear sRGB (D65) to CIE Lab.
pub fn lin_to_lab(c: [f32; 3]) -> [f32; 3] {
    let x = (0.412_456_4 * c[0] + 0.357_576_1 * c[1] + 0.180_437_5 * c[2]) / 0.950_47;
    let y = 0.212_672_9 * c[0] + 0.715_152_2 * c[1] + 0.072_175 * c[2];
    let z = (0.019_333_9 * c[0] + 0.119_192 * c[1] + 0.950_304_1 * c[2]) / 1.088_83;
    let (fx, fy, fz) = (lab_f(x), lab_f(y), lab_f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// Read-only view of the input pixels in one of the supported layouts.
pub enum Pixels<'a> {
    U8 { data: &'a [u8], channels: usize },
    U16 { data: &'a [u16], channels: usize },
}

impl<'a> Pixels<'a> {
    pub fn of(img: &'a DynamicImage) -> Option<Pixels<'a>> {
        Some(match img {
            DynamicImage::ImageRgb8(b) => Pixels::U8 {
                data: b.as_raw(),
                channels: 3,
            },
            DynamicImage::ImageRgba8(b) => Pixels::U8 {
                data: b.as_raw(),
                channels: 4,
            },
            DynamicImage::ImageRgb16(b) => Pixels::U16 {
                data: b.as_raw(),
                channels: 3,
            },
            DynamicImage::ImageRgba16(b) => Pixels::U16 {
                data: b.as_raw(),
                channels: 4,
            },
            _ => return None,
        })
    }
}

/// Resolves a thread-count setting: 0 means "all cores", capped at 16.
pub fn thread_count(requested: usize) -> usize {
    let n = if requested == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        requested
    };
    n.clamp(1, 16)
}

/// The reduced working copy: block means over k×k full-resolution pixels.
pub struct Reduced {
    /// Block size in full-resolution pixels.
    pub k: usize,
    pub w: usize,
    pub h: usize,
    /// Full-resolution size.
    pub full_w: usize,
    pub full_h: usize,
    /// Mean encoded sRGB (0..1) per block.
    pub rgb: Vec<[f32; 3]>,
    /// Mean linear RGB per block.
    pub lin: Vec<[f32; 3]>,
    /// Fine texture of encoded luma inside each block: its spread about the block's own
    /// least-squares plane, plus the part of the plane's slope that it does not share with its
    /// neighbours on both sides. Smooth shading (the steep flank of a nose, a jaw in side light)
    /// slopes the same way across several blocks and does not read as texture; stubble and
    /// hair strands, which turn within a block or two, do.
    pub luma_sd: Vec<f32>,
    /// The spread about the block's own plane alone: detail finer than a block (stubble, hair
    /// strands, a glasses frame). A fold or wrinkle wider than a block is nearly a plane in
    /// each block and reads as texture in `luma_sd` only through its slopes.
    pub luma_fine: Vec<f32>,
}

/// The texture's luma weights (Rec. 601: 0.299, 0.587, 0.114) in thousandths: integer luma
/// keeps the sums of an sRGB picture's samples exact.
const LUMA_MILLI: [u32; 3] = [299, 587, 114];

/// Adds one row segment of a block (`seg`, pixels of `ch` samples, `dy` rows below the block's
/// top) to its sums `a` (see [`block_plane`]; `a[0..3]` the encoded channels, `a[3..6]` linear
/// light), for a picture in sRGB: the encoded sums in integers, scaled once at the end.
#[inline]
fn add_srgb_segment<T: Sample>(a: &mut [f64; 10], seg: &[T], ch: usize, lt: &[f32], dy: f64) {
    // Integer luma squared stays below 2⁵² for 16-bit samples: a block row of up to 4096
    // pixels sums exactly in 64 bits.
    let (mut s0, mut s1, mut s2, mut yy, mut y2, mut yx) = (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    let (mut l0, mut l1, mut l2) = (0f32, 0f32, 0f32);
    // Every encoded value indexes the table (lets the compiler drop the bounds checks).
    let lt = &lt[..=T::FULL as usize];
    for (x, p) in seg.chunks_exact(ch).enumerate() {
        let (r, g, b) = (p[0].index(), p[1].index(), p[2].index());
        l0 += lt[r];
        l1 += lt[g];
        l2 += lt[b];
        let (r, g, b) = (r as u64, g as u64, b as u64);
        s0 += r;
        s1 += g;
        s2 += b;
        let luma = u64::from(LUMA_MILLI[0]) * r
            + u64::from(LUMA_MILLI[1]) * g
            + u64::from(LUMA_MILLI[2]) * b;
        yy += luma;
        y2 += luma * luma;
        yx += x as u64 * luma;
    }
    let unit = 1.0 / f64::from(T::FULL);
    let luma_unit = unit / 1000.0;
    a[0] += s0 as f64 * unit;
    a[1] += s1 as f64 * unit;
    a[2] += s2 as f64 * unit;
    a[3] += l0 as f64;
    a[4] += l1 as f64;
    a[5] += l2 as f64;
    a[6] += yy as f64 * luma_unit;
    a[7] += y2 as f64 * luma_unit * luma_unit;
    a[8] += yx as f64 * luma_unit;
    a[9] += dy * yy as f64 * luma_unit;
}

/// The same for a picture in another colour space: its colour re-encoded as sRGB, pixel by
/// pixel.
#[inline]
fn add_segment<T: Sample>(
    a: &mut [f64; 10],
    seg: &[T],
    ch: usize,
    lt: &[f32],
    space: &Space,
    srgb_enc: &[u16],
    dy: f64,
) {
    let (mut s0, mut s1, mut s2, mut l0, mut l1, mut l2, mut yy, mut y2, mut yx) =
        (0f32, 0f32, 0f32, 0f32, 0f32, 0f32, 0f32, 0f32, 0f32);
    // The pixel's offset in the block, counted in float (an integer-to-float conversion per
    // pixel costs more).
    let mut fx = 0f32;
    let e = |v: f32| f32::from(srgb_enc[enc_index(v)]) / 65535.0;
    for p in seg.chunks_exact(ch) {
        let own = [lt[p[0].index()], lt[p[1].index()], lt[p[2].index()]];
        let c = space.to_srgb(own);
        let (r, g, b) = (e(c[0]), e(c[1]), e(c[2]));
        s0 += r;
        s1 += g;
        s2 += b;
        l0 += own[0];
        l1 += own[1];
        l2 += own[2];
        let luma = 0.299 * r + 0.587 * g + 0.114 * b;
        yy += luma;
        y2 += luma * luma;
        yx += fx * luma;
        fx += 1.0;
    }
    a[0] += s0 as f64;
    a[1] += s1 as f64;
    a[2] += s2 as f64;
    a[3] += l0 as f64;
    a[4] += l1 as f64;
    a[5] += l2 as f64;
    a[6] += yy as f64;
    a[7] += y2 as f64;
    a[8] += yx as f64;
    a[9] += dy * yy as f64;
}

/// A block's luma plane from its sums (`a[6]` Σ luma, `a[7]` Σ luma², `a[8]` Σ dx·luma, `a[9]`
/// Σ dy·luma, with dx, dy the pixel's offset in the block) over `nx`×`ny` pixels: the variance
/// about the least-squares plane and the plane's slopes along x and y (luma per pixel). On a
/// rectangular grid the two offsets are uncorrelated, so each slope is cov(d, luma)/var(d).
fn block_plane(a: &[f64; 10], nx: f64, ny: f64) -> [f32; 3] {
    // Reciprocals: a division costs a dozen multiplications, and a small block has few pixels
    // to share it.
    let inv_n = 1.0 / (nx * ny);
    let m = a[6] * inv_n;
    let var = a[7] * inv_n - m * m;
    let slope = |s: f64, len: f64| {
        let var_d = (len * len - 1.0) / 12.0;
        if var_d > 0.0 {
            let cov = s * inv_n - 0.5 * (len - 1.0) * m;
            let g = cov * (1.0 / var_d);
            (g, cov * g)
        } else {
            (0.0, 0.0)
        }
    };
    let ((gx, vx), (gy, vy)) = (slope(a[8], nx), slope(a[9], ny));
    [(var - vx - vy).max(0.0) as f32, gx as f32, gy as f32]
}

/// Each block's texture (see [`Reduced::luma_sd`]) from its plane ([`block_plane`]): the slope
/// that the block shares with both its neighbours along an axis (the same sign in all three,
/// the smallest of the three) is the picture's smooth shading and does not count; the rest of
/// its slope (a hair strand's edge, blocks across alternating strands) and its spread about
/// the plane do.
fn block_texture(planes: &[[f32; 3]], w: usize, h: usize, k: usize) -> Vec<f32> {
    let var_d = ((k * k) as f32 - 1.0) / 12.0;
    // The slope along one axis (1 = x, 2 = y) that block i shares with its neighbours.
    let shared = |i: usize, pos: usize, len: usize, step: usize, axis: usize| -> f32 {
        let g = planes[i][axis];
        let (lo, hi) = (pos.saturating_sub(1), (pos + 1).min(len - 1));
        let (a, b) = (
            planes[i - (pos - lo) * step][axis],
            planes[i + (hi - pos) * step][axis],
        );
        if a * g > 0.0 && b * g > 0.0 {
            g.signum() * g.abs().min(a.abs()).min(b.abs())
        } else {
            0.0
        }
    };
    (0..w * h)
        .map(|i| {
            let (x, y) = (i % w, i / w);
            let [res, gx, gy] = planes[i];
            let dx = gx - shared(i, x, w, 1, 1);
            let dy = gy - shared(i, y, h, w, 2);
            (res + var_d * (dx * dx + dy * dy)).sqrt()
        })
        .collect()
}

/// Longest side of the reduced copy; classification, faces and masks are computed at this size.
pub const REDUCED_LONG_EDGE: usize = 512;

impl Reduced {
    /// Block size for an image: the smallest integer k that brings the long edge to at most 512.
    pub fn block_for(w: usize, h: usize) -> usize {
        w.max(h).div_ceil(REDUCED_LONG_EDGE).max(1)
    }

    /// Builds the reduced copy in one pass over the full-resolution pixels, in horizontal bands
    /// shared among `threads` workers (the result does not depend on the thread count).
    /// `rgb` and `lin` are in sRGB whatever the picture's own `space`.
    pub fn build(px: &Pixels, w: usize, h: usize, threads: usize, space: &Space) -> Reduced {
        Self::build_at(px, w, h, Self::block_for(w, h), threads, space)
    }

    /// The same with `k`×`k` blocks (a finer copy for small faces).
    pub fn build_at(
        px: &Pixels,
        w: usize,
        h: usize,
        k: usize,
        threads: usize,
        space: &Space,
    ) -> Reduced {
        let k = k.max(1);
        match px {
            Pixels::U8 { data, channels } => {
                Self::build_t(data, *channels, w, h, k, threads, space)
            }
            Pixels::U16 { data, channels } => {
                Self::build_t(data, *channels, w, h, k, threads, space)
            }
        }
    }

    fn build_t<T: Sample>(
        data: &[T],
        ch: usize,
        w: usize,
        h: usize,
        k: usize,
        threads: usize,
        space: &Space,
    ) -> Reduced {
        let srgb = space.is_srgb();
        let srgb_enc = Space::srgb().enc16();
        let rw = w.div_ceil(k);
        let rh = h.div_ceil(k);
        let mut rgb = vec![[0f32; 3]; rw * rh];
        let mut lin = vec![[0f32; 3]; rw * rh];
        let mut sd = vec![[0f32; 3]; rw * rh];
        let rows_per = rh.div_ceil(threads.max(1)).max(1);
        std::thread::scope(|s| {
            let chunks = rgb
                .chunks_mut(rows_per * rw)
                .zip(lin.chunks_mut(rows_per * rw))
                .zip(sd.chunks_mut(rows_per * rw))
                .enumerate();
            for (ci, ((rgb_c, lin_c), sd_c)) in chunks {
                s.spawn(move || {
                    let mut acc = vec![[0f64; 10]; rw];
                    let lt = T::lin_table(space);
                    for (ry_local, ((rgb_row, lin_row), sd_row)) in rgb_c
                        .chunks_mut(rw)
                        .zip(lin_c.chunks_mut(rw))
                        .zip(sd_c.chunks_mut(rw))
                        .enumerate()
                    {
                        let ry = ci * rows_per + ry_local;
                        for a in acc.iter_mut() {
                            *a = [0.0; 10];
                        }
                        let y0 = ry * k;
                        let y1 = (y0 + k).min(h);
                        for y in y0..y1 {
                            let row = &data[y * w * ch..(y + 1) * w * ch];
                            for (bx, a) in acc.iter_mut().enumerate() {
                                let x0 = bx * k;
                                let x1 = (x0 + k).min(w);
                                let seg = &row[x0 * ch..x1 * ch];
                                if srgb {
                                    add_srgb_segment(a, seg, ch, lt, (y - y0) as f64);
                                } else {
                                    add_segment(a, seg, ch, lt, space, srgb_enc, (y - y0) as f64);
                                }
                            }
                        }
                        for (bx, a) in acc.iter().enumerate() {
                            let x0 = bx * k;
                            let inv_n = 1.0 / (((x0 + k).min(w) - x0) * (y1 - y0)) as f64;
                            let mean = |i: usize| (a[i] * inv_n) as f32;
                            rgb_row[bx] = [mean(0), mean(1), mean(2)];
                            lin_row[bx] = space.to_srgb([mean(3), mean(4), mean(5)]);
                            let nx = ((x0 + k).min(w) - x0) as f64;
                            sd_row[bx] = block_plane(a, nx, (y1 - y0) as f64);
                        }
                    }
                });
            }
        });
        Reduced {
            k,
            w: rw,
            h: rh,
            full_w: w,
            full_h: h,
            rgb,
            lin,
            luma_sd: block_texture(&sd, rw, rh, k),
            luma_fine: sd.iter().map(|p| p[0].sqrt()).collect(),
        }
    }

    /// Reduced copy as 8-bit RGB (for the classifier and debug images).
    pub fn to_rgb8(&self) -> image::RgbImage {
        let mut out = image::RgbImage::new(self.w as u32, self.h as u32);
        for (p, c) in out.pixels_mut().zip(&self.rgb) {
            *p = image::Rgb(c.map(|v| (v * 255.0 + 0.5).clamp(0.0, 255.0) as u8));
        }
        out
    }

    /// Reduced copy as 8-bit luma (for the face detector).
    pub fn to_gray8(&self) -> Vec<u8> {
        self.rgb
            .iter()
            .map(|c| {
                ((0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]) * 255.0 + 0.5).clamp(0.0, 255.0) as u8
            })
            .collect()
    }

    /// A 64-bit content hash of the reduced copy: the seed for every random choice, so the same image
    /// always gets the same texture and a different image a different one.
    pub fn content_seed(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for c in &self.rgb {
            for v in c {
                h ^= (v * 4095.0) as u64;
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        h ^ ((self.full_w as u64) << 32 | self.full_h as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reduced copy of a `w`×`h` grey picture whose level is `f(x, y)`, in 8×8 blocks.
    fn reduced(w: usize, h: usize, f: impl Fn(usize, usize) -> u8) -> Reduced {
        let data: Vec<u8> = (0..w * h).flat_map(|i| [f(i % w, i / w); 3]).collect();
        let px = Pixels::U8 {
            data: &data,
            channels: 3,
        };
        Reduced::build_at(&px, w, h, 8, 2, Space::srgb())
    }

    #[test]
    fn smooth_shading_is_not_texture_but_fine_detail_is() {
        // A steep ramp, as on the shaded flank of a nose: 2 levels per pixel across, 1 down.
        let ramp = reduced(64, 64, |x, y| (40 + 2 * x + y) as u8);
        let worst = ramp.luma_sd.iter().fold(0f32, |a, &b| a.max(b));
        assert!(worst < 0.002, "a ramp read as texture: sd {worst}");
        // A fine checkerboard (±8 levels) on the same ramp keeps its whole spread.
        let fine = reduced(64, 64, |x, y| {
            (40 + 2 * x + y + if (x + y) % 2 == 0 { 8 } else { 0 }) as u8
        });
        for &sd in &fine.luma_sd {
            assert!((sd - 4.0 / 255.0).abs() < 0.002, "sd {sd}");
        }
        // Strands 16 px wide (a triangle wave, 0 to 64 levels), as hair falling over a cheek:
        // every block is a ramp (sd 9.2 levels), but its neighbours slope otherwise, so about
        // half of it stays (the picture's edge columns, with one neighbour, cannot tell).
        let strands = reduced(64, 64, |x, _| {
            let t = x % 32;
            (100 + 4 * if t < 16 { t } else { 32 - t }) as u8
        });
        for &sd in &strands.luma_sd[9..15] {
            assert!(sd > 0.4 * 9.2 / 255.0, "strands read as smooth: sd {sd}");
        }
        // Partial blocks at the right and bottom edges too.
        let edge = reduced(61, 59, |x, y| (40 + 2 * x + y) as u8);
        let worst = edge.luma_sd.iter().fold(0f32, |a, &b| a.max(b));
        assert!(
            worst < 0.002,
            "a ramp in a partial block read as texture: sd {worst}"
        );
    }
}
