//! Monochrome luminance grain over the whole image, at the output's pixel scale, softened by a small blur,
//! so skin and background share one noise floor. The amount is a deficit too: the image's own noise floor
//! is measured first and grain only tops it up to the floor of real photographs.

use super::filters::{Plane, gaussian};
use super::measure::lin_to_lab_fast;
use super::pixels::{Sample, Space};
use super::texture::{Tile, gauss_hash};
use std::sync::OnceLock;

/// σ of the blur that softens the grain (pixels): enough to clump it like demosaiced sensor noise, not
/// enough to make it blotchy.
pub const GRAIN_SOFTEN_SIGMA: f32 = 0.45;

/// Noise floor of the real photographs in `shared/samples/portraits` (see README, "How the targets were set"): the standard deviation
/// of L* in the 0.5–1 px band in their flattest areas.
pub const TARGET_NOISE_FLOOR: f32 = 0.3;

/// 3-tap kernel for the softening blur.
fn soften_kernel() -> [f32; 3] {
    let e = (-1.0 / (2.0 * GRAIN_SOFTEN_SIGMA * GRAIN_SOFTEN_SIGMA)).exp();
    let s = 1.0 + 2.0 * e;
    [e / s, 1.0 / s, e / s]
}

/// Sizes of the two periodic grain tiles: the sum repeats only after 512 × 479 px, and even a single
/// tile's period (0.5 correlation at 512 px lag) is far below what the eye can find in fine grain.
const TILE_A: usize = 512;
const TILE_B: usize = 479;

/// The two grain tiles: softened white noise, unit sd each, built once per process (the per-image seed only
/// picks the offsets into them, so no image pays for generating noise).
fn tiles() -> &'static (Tile, Tile) {
    static T: OnceLock<(Tile, Tile)> = OnceLock::new();
    T.get_or_init(|| {
        (
            soft_tile(TILE_A, 0x05ee_da11),
            soft_tile(TILE_B, 0x05ee_db22),
        )
    })
}

fn soft_tile(n: usize, seed: u32) -> Tile {
    let k = soften_kernel();
    let raw: Vec<f32> = (0..n * n)
        .map(|i| gauss_hash((i % n) as u32, (i / n) as u32, seed))
        .collect();
    let mut h = vec![0f32; n * n];
    for y in 0..n {
        for x in 0..n {
            let l = raw[y * n + (x + n - 1) % n];
            let r = raw[y * n + (x + 1) % n];
            h[y * n + x] = k[0] * l + k[1] * raw[y * n + x] + k[2] * r;
        }
    }
    let mut data = vec![0f32; n * n];
    for y in 0..n {
        for x in 0..n {
            let u = h[((y + n - 1) % n) * n + x];
            let d = h[((y + 1) % n) * n + x];
            data[y * n + x] = k[0] * u + k[1] * h[y * n + x] + k[2] * d;
        }
    }
    let m = data.iter().map(|v| *v as f64).sum::<f64>() / data.len() as f64;
    let sd = (data.iter().map(|v| (*v as f64 - m).powi(2)).sum::<f64>() / data.len() as f64).sqrt();
    for v in data.iter_mut() {
        *v = ((*v as f64 - m) / sd) as f32;
    }
    Tile { w: n, h: n, data }
}

/// Unit-sd grain of one image: the tile pair read at seed-derived offsets.
pub struct GrainField {
    ox: [usize; 2],
    oy: [usize; 2],
}

impl GrainField {
    pub fn new(seed: u32) -> GrainField {
        let h1 = super::texture::hash(seed, 1, 77);
        let h2 = super::texture::hash(seed, 2, 77);
        GrainField {
            ox: [
                (h1 & 0xffff) as usize % TILE_A,
                (h2 & 0xffff) as usize % TILE_B,
            ],
            oy: [(h1 >> 16) as usize % TILE_A, (h2 >> 16) as usize % TILE_B],
        }
    }

    /// Rows of the two tiles for image row y.
    #[inline]
    pub fn rows(&self, y: usize) -> (&'static [f32], &'static [f32]) {
        let (a, b) = tiles();
        (a.row(y + self.oy[0]), b.row(y + self.oy[1]))
    }

    /// The two tiles' sum (not yet weighted) for image columns x0..x0+out.len() of row y:
    /// each tile row read in its contiguous runs, so the render's per-pixel loop reads one
    /// sequential value.
    pub fn noise_row(&self, x0: usize, y: usize, out: &mut [f32]) {
        let (a, b) = self.rows(y);
        cyclic(out, a, (x0 + self.ox[0]) % TILE_A, |o, v| *o = v);
        cyclic(out, b, (x0 + self.ox[1]) % TILE_B, |o, v| *o += v);
    }
}

/// Applies `f` to each of `out` with `src` read from `start` on, wrapping round.
fn cyclic(out: &mut [f32], src: &[f32], start: usize, f: impl Fn(&mut f32, f32)) {
    let (mut k, mut done) = (start, 0);
    while done < out.len() {
        let n = (src.len() - k).min(out.len() - done);
        for (o, &v) in out[done..done + n].iter_mut().zip(&src[k..k + n]) {
            f(o, v);
        }
        done += n;
        k = 0;
    }
}

/// Weight of each tile in the sum (unit sd overall).
pub const TILE_WEIGHT: f32 = std::f32::consts::FRAC_1_SQRT_2;

/// Fills `out` (w×h, row-major) with the unit-sd grain of the rect at (x0, y0).
pub fn noise_rect(out: &mut [f32], x0: usize, y0: usize, w: usize, h: usize, seed: u32) {
    let g = GrainField::new(seed);
    for (j, row) in out[..w * h].chunks_exact_mut(w.max(1)).enumerate() {
        g.noise_row(x0, y0 + j, row);
        row.iter_mut().for_each(|v| *v *= TILE_WEIGHT);
    }
}

/// Response of the floor measurement (0.5–1 px DoG) to unit-sd grain.
pub fn grain_band_gain() -> f32 {
    static G: OnceLock<f32> = OnceLock::new();
    *G.get_or_init(|| {
        let n = 192;
        let mut buf = vec![0f32; n * n];
        noise_rect(&mut buf, 0, 0, n, n, 12345);
        let p = Plane {
            w: n,
            h: n,
            data: buf,
        };
        band_sd(&p, 8)
    })
}

fn band_sd(p: &Plane, border: usize) -> f32 {
    let a = gaussian(p, 0.5, false);
    let b = gaussian(p, 1.0, false);
    let (mut s, mut s2, mut n) = (0f64, 0f64, 0f64);
    for y in border..p.h - border {
        for x in border..p.w - border {
            let d = (a.at(x, y) - b.at(x, y)) as f64;
            s += d;
            s2 += d * d;
            n += 1.0;
        }
    }
    let m = s / n;
    ((s2 / n - m * m).max(0.0)).sqrt() as f32
}

/// Noise floor of an image: the 0.5–1 px band sd of L* in its flattest 48 px windows (25th percentile of
/// a grid of up to 8×8 windows), in the same units as [`TARGET_NOISE_FLOOR`].
pub fn noise_floor<T: Sample>(data: &[T], ch: usize, w: usize, h: usize, space: &Space) -> f32 {
    const WIN: usize = 48;
    if w < WIN * 2 || h < WIN * 2 {
        return TARGET_NOISE_FLOOR;
    }
    let nx = (w / (WIN * 2)).clamp(1, 8);
    let ny = (h / (WIN * 2)).clamp(1, 8);
    let mut sds = Vec::new();
    for j in 0..ny {
        for i in 0..nx {
            let x0 = (w - WIN) * (2 * i + 1) / (2 * nx);
            let y0 = (h - WIN) * (2 * j + 1) / (2 * ny);
            let mut l = Plane::new(WIN, WIN);
            for y in 0..WIN {
                for x in 0..WIN {
                    let p = &data[((y0 + y) * w + x0 + x) * ch..][..3];
                    l.data[y * WIN + x] = lin_to_lab_fast(space.lin(p))[0];
                }
            }
            let mean = l.data.iter().sum::<f32>() / (WIN * WIN) as f32;
            // Clipped or crushed areas have no visible noise and would read as "clean".
            if !(12.0..=94.0).contains(&mean) {
                continue;
            }
            sds.push(band_sd(&l, 4));
        }
    }
    if sds.is_empty() {
        return TARGET_NOISE_FLOOR;
    }
    sds.sort_by(|a, b| a.total_cmp(b));
    sds[sds.len() / 4]
}

/// Grain σ (in L* units, at the output pixel scale) that tops the measured floor up to the target.
pub fn grain_sigma(floor: f32, amount: f32) -> f32 {
    let deficit = (TARGET_NOISE_FLOOR * TARGET_NOISE_FLOOR - floor * floor)
        .max(0.0)
        .sqrt();
    deficit / grain_band_gain() * amount
}

/// Grain profile by L*: film-like, strongest in the mid-tones, half in deep shadow and bright highlights.
pub fn profile(lstar: f32) -> f32 {
    let x = (lstar - 55.0) / 40.0;
    0.5 + 0.5 * (-x * x * 2.0).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grain_is_unit_and_split_independent() {
        let mut a = vec![0f32; 40 * 30];
        noise_rect(&mut a, 5, 7, 40, 30, 9);
        let mut b = vec![0f32; 40 * 10];
        noise_rect(&mut b, 5, 17, 40, 10, 9);
        assert_eq!(&a[40 * 10..40 * 20], &b[..]);
        let mut big = vec![0f32; 256 * 256];
        noise_rect(&mut big, 0, 0, 256, 256, 3);
        let v = big.iter().map(|x| x * x).sum::<f32>() / big.len() as f32;
        assert!((v - 1.0).abs() < 0.05, "{v}");
    }
}
