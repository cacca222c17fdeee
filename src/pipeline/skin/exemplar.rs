//! Real skin detail: pores, fine lines and micro-relief taken from unretouched NASA portraits
//! and re-synthesised at the picture's own scale.
//!
//! A retoucher's standard way to give skin its texture back is an overlay of real skin. The tiles
//! in `models/skin` are the detail alone (linear luminance over its own 1 mm low-pass, minus one)
//! of flat, crease-free patches of the nose and a cheek of a NASA studio portrait at 8 px/mm, and
//! of the forehead of a NASA press portrait resampled to that scale: US government works in the
//! public domain, see `models/skin/SOURCES.md`; the tiles are made by
//! `models/tools/derive_skin_exemplars.py`. Only these derived tiles ship, never the
//! photographs. Once per process, their round pores are deepened and their light side softened
//! and levelled off (`shape_pits`), so the pores read as pits on a plateau.
//!
//! Per picture, every tile is resampled to the face's px/mm and drawn through the picture's own
//! blur. Per pixel, three copies placed at random are blended on a triangle grid with the
//! histogram-preserving operator of Heitz and Neyret ("High-Performance By-Example Noise using a
//! Histogram-Preserving Blending Operator", Proc. ACM Comput. Graph. Interact. Tech. 1(2), 2018):
//! each tile is mapped to a standard normal by its ranks, the three are blended with
//! variance-preserving weights and the sum is mapped back through the tile's own quantiles. The
//! result keeps the tile's histogram (its dark, peaked pits and their sparse spacing) with no seam
//! and no visible repetition, and is a pure function of the pixel position and the seed, so any
//! split of the image renders the same field.

use super::filters::{Plane, gaussian};
use super::texture::{hash, unit};
use std::sync::OnceLock;

/// Below this scale (a 0.25 mm pore is under 0.4 px) skin detail is below the pixel: the
/// procedural micro-grain of [`super::texture`] fills the pore band instead.
pub const MIN_PX_PER_MM: f32 = 1.5;
/// Scale of the tiles: the studio portrait's px per mm at the face (the others are resampled to it).
pub const EXEMPLAR_PX_PER_MM: f32 = 8.0;
/// The tiles' own optical blur at their scale (Gaussian σ, px): a downscaled medium-format studio
/// capture, about as sharp as a pixel grid allows.
const EXEMPLAR_BLUR_PX: f32 = 0.7;
/// Detail units per 16-bit step in the tile files (value = 32768 + detail · QUANT).
const QUANT: f32 = 131_072.0;
/// Edge of the synthesis triangles (mm): each copy covers a hexagon about 6 mm across, several
/// pores and a stretch of fine lines, so structure survives and the blends are far apart.
const PATCH_EDGE_MM: f32 = 3.0;
/// Range of the Gaussianised values the inverse table covers (standard deviations).
const Z_RANGE: f32 = 4.5;
const LUT_N: usize = 512;
/// Side of the square (mm) the blend's mean is taken over: a face and more.
const MEAN_SPAN_MM: f32 = 200.0;
/// A deep pit of real skin detail (relative luminance): the unit the pits' chroma bound is
/// given in.
pub const PIT_DEPTH: f32 = 0.05;

/// The skin regions with tiles of their own: the nose (dense, large pores), the cheeks (sparser,
/// finer pores and crossing furrows) and the forehead (fine lines, fine pores), which also serves
/// the temples, chin, upper lip and body skin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Region {
    Nose,
    Cheek,
    Forehead,
}

const REGIONS: [Region; 3] = [Region::Nose, Region::Cheek, Region::Forehead];

fn tiles(r: Region) -> &'static [&'static [u8]] {
    static NOSE: [&[u8]; 1] = [include_bytes!("../../../models/skin/nose.png")];
    static CHEEK: [&[u8]; 1] = [include_bytes!("../../../models/skin/cheek.png")];
    static FOREHEAD: [&[u8]; 1] = [include_bytes!("../../../models/skin/forehead.png")];
    match r {
        Region::Nose => &NOSE,
        Region::Cheek => &CHEEK,
        Region::Forehead => &FOREHEAD,
    }
}

/// The decoded tiles at their own scale, per region (decoded once per process).
fn sources() -> &'static [Vec<Plane>; 3] {
    static S: OnceLock<[Vec<Plane>; 3]> = OnceLock::new();
    S.get_or_init(|| {
        REGIONS.map(|r| {
            tiles(r)
                .iter()
                .map(|png| {
                    let img = image::load_from_memory_with_format(png, image::ImageFormat::Png)
                        .expect("embedded skin tile is a valid PNG")
                        .into_luma16();
                    let (w, h) = (img.width() as usize, img.height() as usize);
                    shape_pits(&Plane {
                        w,
                        h,
                        data: img
                            .into_raw()
                            .into_iter()
                            .map(|v| (f32::from(v) - 32768.0) / QUANT)
                            .collect(),
                    })
                })
                .collect()
        })
    })
}

/// Relative weights of the nose, cheek and forehead tiles at a relative pore density (the
/// landmark regions' map: nose 1.0, inner cheeks 0.85, the rest of the face 0.8, temples and
/// body 0.7, forehead 0.6, chin 0.5, upper lip 0.4, under the eyes 0).
pub fn region_weights(density: f32) -> [f32; 3] {
    let ramp = |e0: f32, e1: f32| ((density - e0) / (e1 - e0)).clamp(0.0, 1.0);
    let nose = ramp(0.9, 0.97);
    let forehead = 1.0 - ramp(0.72, 0.77);
    [nose, (1.0 - nose - forehead).max(0.0), forehead]
}

/// Amplitude of the detail at a relative pore density: full on the nose and the inner cheeks
/// (0.85 and up), 0.82 on the forehead (0.6), 0.75 on the chin, 0.68 on the upper lip, down to
/// 0.4 where the skin is finest (under the eyes, where real skin shows fine lines and no open
/// pores). Full from the forehead's density up, as it was, the forehead's pits were drawn as
/// strongly as the nose's: on pale skin at 200 % they read as freckles beside a real
/// forehead's fine lines and faint pits.
pub fn density_amplitude(density: f32) -> f32 {
    0.4 + 0.6 * (density / 0.85).clamp(0.0, 1.0)
}

/// One region's tiles, prepared for one picture.
struct Set {
    /// Each tile at the picture's scale, mapped to a standard normal by its ranks.
    patches: Vec<Plane>,
    /// The tiles' quantiles at LUT_N + 1 evenly spaced normal values over ±Z_RANGE.
    inverse: Vec<f32>,
    /// Mean depth of the dark side, E[max(−v, 0)].
    pits: f32,
}

/// Real-skin detail for one picture: relative luminance modulation (0 on average).
pub struct SkinDetail {
    sets: [Set; 3],
    /// Each set's blend averaged over the face (see [`SkinDetail::blend_means`]), taken off so
    /// the detail adds no overall darkening or lightening.
    offset: [f32; 3],
    /// Triangle edge (px) and the margin a copy needs inside its tile.
    edge: f32,
    margin: usize,
    seed: u32,
}

/// One pixel's triangle: the three vertices (integer pixel positions) with their weights.
struct Triangle {
    pos: [(i64, i64); 3],
    w: [f32; 3],
    norm: f32,
}

impl SkinDetail {
    /// The detail at `ppm` px/mm drawn through `blur` (Gaussian σ, px), or None below
    /// [`MIN_PX_PER_MM`], where skin detail is below the pixel.
    pub fn new(ppm: f32, seed: u64, blur: f32) -> Option<SkinDetail> {
        if ppm < MIN_PX_PER_MM {
            return None;
        }
        let s = ppm / EXEMPLAR_PX_PER_MM;
        let own = EXEMPLAR_BLUR_PX * s;
        let extra = (blur * blur - own * own).max(0.0).sqrt();
        let scaled: Vec<Vec<Plane>> = sources()
            .iter()
            .map(|set| {
                set.iter()
                    .map(|p| {
                        let mut r = resample(p, s);
                        if extra > 0.2 {
                            r = gaussian(&r, extra, false);
                        }
                        let mean = r.data.iter().sum::<f32>() / r.data.len().max(1) as f32;
                        r.data.iter_mut().for_each(|v| *v -= mean);
                        r
                    })
                    .collect()
            })
            .collect();
        let smallest = scaled
            .iter()
            .flatten()
            .map(|p| p.w.min(p.h))
            .min()
            .unwrap_or(0);
        let edge = (PATCH_EDGE_MM * ppm).min((smallest as f32 - 6.0) / 2.0);
        if edge < 3.0 {
            return None;
        }
        let margin = edge.ceil() as usize + 2;
        let mut sets = scaled.into_iter().map(Set::new);
        let mut detail = SkinDetail {
            sets: [sets.next()?, sets.next()?, sets.next()?],
            offset: [0.0; 3],
            edge,
            margin,
            seed: (seed as u32) ^ (seed >> 32) as u32,
        };
        detail.offset = detail.blend_means(ppm);
        Some(detail)
    }

    /// Each set's blend, averaged over a square of [`MEAN_SPAN_MM`] on a 64 × 64 grid. The
    /// blend keeps a tile's histogram only where the three copies are independent standard
    /// normals; a copy is centred at least a margin inside its tile, so the tile's middle is
    /// drawn more often than its edges, and a tile whose middle is more pitted than its edges
    /// (the nose: −0.1 sd) darkens the skin it is drawn on a little. A pure function of the
    /// scale and the seed, like the detail.
    fn blend_means(&self, ppm: f32) -> [f32; 3] {
        const N: usize = 64;
        let step = (MEAN_SPAN_MM * ppm / N as f32).max(1.0);
        let mut cur = Cursor::default();
        let mut sum = [0f64; 3];
        for j in 0..N {
            for i in 0..N {
                let (x, y) = ((i as f32 * step) as usize, (j as f32 * step) as usize);
                let t = self.triangle(x, y, &mut cur);
                for (k, set) in self.sets.iter().enumerate() {
                    sum[k] += f64::from(set.blend(&t, &cur.copies[k], x as i64, y as i64));
                }
            }
        }
        sum.map(|s| (s / (N * N) as f64) as f32)
    }

    /// Mean pit depth E[max(−v, 0)] of the detail at a density (what the pits' chroma rides on).
    pub fn mean_pits(&self, density: f32) -> f32 {
        let w = region_weights(density);
        density_amplitude(density) * (0..3).map(|i| w[i] * self.sets[i].pits).sum::<f32>()
    }

    fn triangle(&self, x: usize, y: usize, cur: &mut Cursor) -> Triangle {
        let e = self.edge;
        let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
        let sy = py / (0.866_025_4 * e);
        let sx = px / e - 0.5 * sy;
        let (bx, by) = (floor(sx), floor(sy));
        let (fx, fy) = (sx - bx, sy - by);
        let fz = 1.0 - fx - fy;
        let upper = fz > 0.0;
        let key = (bx as i32, by as i32, upper);
        if cur.key != Some(key) {
            self.resolve(cur, key);
        }
        let w = if upper {
            [fz, fy, fx]
        } else {
            [-fz, 1.0 - fy, 1.0 - fx]
        };
        Triangle {
            pos: cur.pos,
            w,
            norm: 1.0 / (w[0] * w[0] + w[1] * w[1] + w[2] * w[2]).sqrt(),
        }
    }

    /// The detail at pixel (x, y) on skin of relative pore density `density`.
    pub fn at(&self, x: usize, y: usize, density: f32) -> f32 {
        self.at_with(&mut Cursor::default(), x, y, density)
    }

    /// [`SkinDetail::at`], keeping what the pixel's triangle resolves to (its vertices and
    /// the tile copy each one places) in `cur`: neighbouring pixels share a triangle (its
    /// edge is 3 mm, about 24 px at 8 px/mm), so a pass along a row hashes once per
    /// triangle instead of per pixel. The value is the same, bit for bit.
    pub fn at_with(&self, cur: &mut Cursor, x: usize, y: usize, density: f32) -> f32 {
        let rw = region_weights(density);
        let t = self.triangle(x, y, cur);
        let mut v = 0.0;
        for (k, set) in self.sets.iter().enumerate() {
            if rw[k] > 0.0 {
                v += rw[k] * (set.blend(&t, &cur.copies[k], x as i64, y as i64) - self.offset[k]);
            }
        }
        v * density_amplitude(density)
    }

    /// Where each vertex of the triangle (bx, by, upper) places its copy, for every set.
    fn resolve(&self, cur: &mut Cursor, key: (i32, i32, bool)) {
        let (bx, by, upper) = key;
        let e = self.edge;
        let ids = if upper {
            [(bx, by), (bx, by + 1), (bx + 1, by)]
        } else {
            [(bx + 1, by + 1), (bx + 1, by), (bx, by + 1)]
        };
        cur.pos = ids.map(|(i, j)| {
            (
                (e * (i as f32 + 0.5 * j as f32)).round() as i64,
                (e * 0.866_025_4 * j as f32).round() as i64,
            )
        });
        for (k, set) in self.sets.iter().enumerate() {
            cur.copies[k] = ids.map(|id| set.place(id, self.margin, self.seed ^ k as u32));
        }
        cur.key = Some(key);
    }
}

/// A tile copy placed at one lattice vertex: which tile, its centre in the tile, and how it
/// is turned: the tile offset of a pixel offset (dx, dy) is (`xx`·dx + `xy`·dy, `yx`·dx +
/// `yy`·dy), one of the square's eight symmetries.
#[derive(Clone, Copy, Debug, Default)]
struct Placed {
    patch: u32,
    cx: i64,
    cy: i64,
    xx: i64,
    xy: i64,
    yx: i64,
    yy: i64,
}

/// The square's eight symmetries as (xx, xy, yx, yy): four quarter turns, each also mirrored.
const TURNS: [[i64; 4]; 8] = [
    [1, 0, 0, 1],
    [0, -1, 1, 0],
    [-1, 0, 0, -1],
    [0, 1, -1, 0],
    [-1, 0, 0, 1],
    [0, 1, 1, 0],
    [1, 0, 0, -1],
    [0, -1, -1, 0],
];

/// The triangle last resolved by [`SkinDetail::at_with`]: (lattice cell, upper half) and, per
/// set, the copy each of its vertices places.
#[derive(Clone, Debug, Default)]
pub struct Cursor {
    key: Option<(i32, i32, bool)>,
    pos: [(i64, i64); 3],
    copies: [[Placed; 3]; 3],
}

impl Set {
    fn new(patches: Vec<Plane>) -> Set {
        let mut all: Vec<f32> = patches
            .iter()
            .flat_map(|p| p.data.iter().copied())
            .collect();
        let n = all.len().max(1);
        let pits = all.iter().map(|v| (-v).max(0.0)).sum::<f32>() / n as f32;
        // Ranks → normal scores, per value (ties share the first rank's score).
        let mut order: Vec<(f32, u32, u32)> = patches
            .iter()
            .enumerate()
            .flat_map(|(k, p)| {
                p.data
                    .iter()
                    .enumerate()
                    .map(move |(i, v)| (*v, k as u32, i as u32))
            })
            .collect();
        order.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut gauss: Vec<Plane> = patches.iter().map(|p| Plane::new(p.w, p.h)).collect();
        let z: Vec<f32> = (0..n)
            .map(|r| inv_normal((r as f64 + 0.5) / n as f64) as f32)
            .collect();
        for (r, (_, k, i)) in order.iter().enumerate() {
            gauss[*k as usize].data[*i as usize] = z[r];
        }
        all.sort_by(f32::total_cmp);
        // Quantile at each table point: interpolate the sorted values at the rank whose score
        // is that normal value.
        let inverse = (0..=LUT_N)
            .map(|i| {
                let zi = -Z_RANGE + 2.0 * Z_RANGE * i as f32 / LUT_N as f32;
                let r = z.partition_point(|v| *v < zi);
                if r == 0 {
                    all[0]
                } else if r >= n {
                    all[n - 1]
                } else {
                    let f = (zi - z[r - 1]) / (z[r] - z[r - 1]).max(1e-9);
                    all[r - 1] + (all[r] - all[r - 1]) * f
                }
            })
            .collect();
        Set {
            patches: gauss,
            inverse,
            pits,
        }
    }

    /// The copy the lattice vertex `id` places: a tile and a centre at least `margin` inside it.
    fn place(&self, id: (i32, i32), margin: usize, seed: u32) -> Placed {
        let (i, j) = id;
        let h = hash(i as u32, j as u32, seed);
        let patch = h as usize % self.patches.len();
        let p = &self.patches[patch];
        let h2 = hash(h, 0x51ed, seed);
        // Each copy is turned by one of the square's symmetries. Real skin's fine lines and
        // elongated pores run along a direction; a tile copied one way only (or only mirrored
        // left to right) lays that one direction over the whole face, which read as pores drawn
        // out into parallel dashes. Turned copies cross, as the skin's own line network does.
        let [xx, xy, yx, yy] = TURNS[(hash(h2, 0x7a11, seed) >> 29) as usize];
        Placed {
            patch: patch as u32,
            cx: margin as i64 + (unit(h2) * (p.w - 2 * margin) as f32) as i64,
            cy: margin as i64 + (unit(hash(h2, 0x2f3b, seed)) * (p.h - 2 * margin) as f32) as i64,
            xx,
            xy,
            yx,
            yy,
        }
    }

    /// The histogram-preserving blend of three copies at one pixel.
    #[inline]
    fn blend(&self, t: &Triangle, placed: &[Placed; 3], x: i64, y: i64) -> f32 {
        let mut g = 0.0;
        for (k, c) in placed.iter().enumerate() {
            let p = &self.patches[c.patch as usize];
            let (dx, dy) = (x - t.pos[k].0, y - t.pos[k].1);
            let sx = c.cx + c.xx * dx + c.xy * dy;
            let sy = c.cy + c.yx * dx + c.yy * dy;
            let sx = sx.clamp(0, p.w as i64 - 1) as usize;
            let sy = sy.clamp(0, p.h as i64 - 1) as usize;
            g += t.w[k] * p.data[sy * p.w + sx];
        }
        let z = g * t.norm;
        let u = ((z + Z_RANGE) / (2.0 * Z_RANGE) * LUT_N as f32).clamp(0.0, LUT_N as f32 - 1e-3);
        let i = u as usize;
        let f = u - i as f32;
        self.inverse[i] + (self.inverse[i + 1] - self.inverse[i]) * f
    }
}

/// `v.floor()` for the lattice coordinates (non-negative and far inside i32), without the
/// libm call the baseline x86-64 target makes for it.
#[inline(always)]
fn floor(v: f32) -> f32 {
    let t = v as i32 as f32;
    if t > v { t - 1.0 } else { t }
}

/// Makes the tile's pores read as pits. Round dark blobs at the pore scale (both curvatures of
/// the detail positive, σ 1 px = 0.125 mm at the tiles' scale) are deepened in proportion to
/// their depth and roundness, and the light side (the sheen of the micro-relief) is softened
/// and levelled off ([`LIGHT_CAP`]).
///
/// The source's pores were softened by its downscale and JPEG coding, and the tiles' pore band
/// reads nearly symmetric (skew −0.5 nose, −0.25 cheek, 0 forehead), where a whole real face
/// reads skew −0.7 and kurtosis 12 and a retoucher's overlay is set so the pores read as dark
/// pits. Deepening every dark value instead (furrows too) drew the cheek's and forehead's fine
/// lines as dark dashes that read as stray hairs on before/after crops; deepening round blobs
/// only draws round pores, as the real nose shows. Dark valleys that are lines, not pits (one
/// curvature only), keep [`FURROW_KEEP`] of their depth: fine lines stay, faint, and the
/// source's own creases do not age every face. Returns the plane shaped and re-centred.
fn shape_pits(p: &Plane) -> Plane {
    let n = p.data.len().max(1) as f32;
    let sd = (p.data.iter().map(|x| x * x).sum::<f32>() / n)
        .sqrt()
        .max(1e-6);
    let g = gaussian(p, 1.0, false);
    let at = |x: usize, y: usize| g.data[y * g.w + x];
    // Per pixel: roundness of a dark blob (the smaller curvature over the larger, both
    // positive) and how much of a dark valley it is (1 on a furrow's line, 0 on a round pit).
    let (mut blob, mut valley) = (Plane::new(p.w, p.h), Plane::new(p.w, p.h));
    for y in 0..p.h {
        for x in 0..p.w {
            let (xl, xr) = (x.saturating_sub(1), (x + 1).min(p.w - 1));
            let (yu, yd) = (y.saturating_sub(1), (y + 1).min(p.h - 1));
            let c = at(x, y);
            let dxx = at(xl, y) - 2.0 * c + at(xr, y);
            let dyy = at(x, yu) - 2.0 * c + at(x, yd);
            let dxy = 0.25 * (at(xr, yd) - at(xl, yd) - at(xr, yu) + at(xl, yu));
            let (m, r) = (
                0.5 * (dxx + dyy),
                (0.25 * (dxx - dyy).powi(2) + dxy * dxy).sqrt(),
            );
            let (hi, lo) = (m + r, m - r);
            if hi > 0.0 {
                let round = (lo.max(0.0) / hi).min(1.0);
                blob.data[y * p.w + x] = round;
                valley.data[y * p.w + x] = 1.0 - round;
            }
        }
    }
    let (blob, valley) = (gaussian(&blob, 0.7, false), gaussian(&valley, 0.7, false));
    let light = LIGHT_CAP * sd;
    let mut out = Plane {
        w: p.w,
        h: p.h,
        data: (0..p.data.len())
            .map(|i| {
                let (v, b) = (p.data[i], blob.data[i]);
                if v < 0.0 {
                    let furrow = valley.data[i] * (1.0 - b);
                    v * (1.0 + PIT_DEEPEN * b * -v / sd) * (1.0 - (1.0 - FURROW_KEEP) * furrow)
                } else {
                    light * (v * RIM_SOFTEN / light).tanh()
                }
            })
            .collect(),
    };
    let mean = out.data.iter().sum::<f32>() / n;
    out.data.iter_mut().for_each(|v| *v -= mean);
    out
}

/// How much a round pit deepens per standard deviation of its depth (at full roundness).
const PIT_DEEPEN: f32 = 0.4;
/// What the light side of the detail keeps outside its pits.
const RIM_SOFTEN: f32 = 0.7;
/// Where the light side levels off (soft, `tanh`), in standard deviations of the tile. The
/// tiles' light side is half camera noise and JPEG: round light specks 0.5–1 mm across, which
/// on a smooth AI forehead read at 200 % as a rash of bumps, not as skin. Real skin's surface
/// between the pores is a plateau: its detail is dark-skewed (a real studio face reads skew
/// −0.7, kurtosis 12), so its light side is the short one. Levelled at 1.5 sd, the specks
/// sink into the plateau and the pits and lines stay whole (forehead tile: skew −1.2 → −1.7,
/// kurtosis 6.7 → 8.1, 99.9th percentile 0.087 → 0.048; the darkest 0.1 % unchanged). At
/// 1 sd the skin between the pores went flat, and the pits alone, deepened by the
/// calibration to keep the band's energy, read as pepper on darker skin.
const LIGHT_CAP: f32 = 1.5;
/// What a furrow's line keeps of its depth: the source's creases, carried over whole, read as
/// a weathered face on a young one (the cheek's diagonal lines at 200 %). At 0.6, the cheek's
/// fine lines, turned every which way by the blend, still drew short dark chains and curls
/// between the pores at 200 % (the SDXL Emma, the Kolors Einstein). At 0.35 the curls were
/// gone, but the lines are part of what makes the added texture dark-skewed: on faces that
/// get little (a top-up, a small real photograph enlarged) its skew rose to −0.32 to −0.49,
/// nearly symmetric, like noise. 0.45 keeps it at −0.55 or below on every AI portrait of the
/// gallery and on the enlarged Eileen Collins photograph, with fewer curls (skin_eval's share
/// of pits drawn out into dashes on the Emma: 0.080 before, at 0.6 with the uneven tiles;
/// 0.066 at 0.45 and 0.056 at 0.35 with the even ones).
const FURROW_KEEP: f32 = 0.45;

/// Lanczos-3 resampling of a plane by `s` (kernel widened when shrinking, so nothing aliases).
fn resample(p: &Plane, s: f32) -> Plane {
    if (s - 1.0).abs() < 1e-3 {
        return p.clone();
    }
    let nw = ((p.w as f32 * s).round() as usize).max(1);
    let nh = ((p.h as f32 * s).round() as usize).max(1);
    let rows = resample_axis(&p.data, p.w, p.h, nw, true);
    let data = resample_axis(&rows, nw, p.h, nh, false);
    Plane { w: nw, h: nh, data }
}

/// Resamples along x (`along_x`) or y: `n` → `m` samples.
fn resample_axis(src: &[f32], w: usize, h: usize, m: usize, along_x: bool) -> Vec<f32> {
    let n = if along_x { w } else { h };
    let scale = m as f32 / n as f32;
    let support = 3.0 / scale.min(1.0);
    let lanczos = |x: f32| {
        let x = x.abs();
        if x < 1e-6 {
            1.0
        } else if x >= 3.0 {
            0.0
        } else {
            let px = std::f32::consts::PI * x;
            3.0 * px.sin() * (px / 3.0).sin() / (px * px)
        }
    };
    // Taps per output sample.
    let taps: Vec<(usize, Vec<f32>)> = (0..m)
        .map(|o| {
            let c = (o as f32 + 0.5) / scale - 0.5;
            let i0 = (c - support).floor().max(0.0) as usize;
            let i1 = ((c + support).ceil() as usize).min(n - 1);
            let mut k: Vec<f32> = (i0..=i1)
                .map(|i| lanczos((i as f32 - c) * scale.min(1.0)))
                .collect();
            let sum: f32 = k.iter().sum();
            k.iter_mut().for_each(|v| *v /= sum);
            (i0, k)
        })
        .collect();
    let (ow, oh) = if along_x { (m, h) } else { (w, m) };
    let mut out = vec![0f32; ow * oh];
    for y in 0..oh {
        for x in 0..ow {
            let (o, other) = if along_x { (x, y) } else { (y, x) };
            let (i0, k) = &taps[o];
            out[y * ow + x] = k
                .iter()
                .enumerate()
                .map(|(t, kv)| {
                    let i = i0 + t;
                    kv * if along_x {
                        src[other * w + i]
                    } else {
                        src[i * w + other]
                    }
                })
                .sum();
        }
    }
    out
}

/// The standard normal quantile (Acklam's rational approximation, relative error below 1.2e-9).
fn inv_normal(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantiles_are_right() {
        assert!(inv_normal(0.5).abs() < 1e-9);
        assert!((inv_normal(0.975) - 1.959_964).abs() < 1e-5);
        assert!((inv_normal(0.001) + 3.090_232).abs() < 1e-5);
        assert!((inv_normal(0.999_99) - 4.264_891).abs() < 1e-5);
    }

    #[test]
    fn tiles_decode_and_are_detail_only() {
        for set in sources() {
            for p in set {
                // A copy spans two triangle edges (3 mm, 24 px) plus a margin.
                assert!(p.w >= 80 && p.h >= 80, "{}×{}", p.w, p.h);
                let n = p.data.len() as f32;
                let mean = p.data.iter().sum::<f32>() / n;
                let sd = (p.data.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n).sqrt();
                assert!(
                    mean.abs() < 1e-3 && (0.01..0.1).contains(&sd),
                    "{mean} {sd}"
                );
            }
        }
    }

    /// Moments of the detail over a flat patch of one region.
    fn moments(d: &SkinDetail, density: f32, n: usize) -> (f32, f32, f32) {
        // Away from the origin, where the mean is not taken at the same points.
        let v: Vec<f32> = (0..n * n)
            .map(|i| d.at(3001 + i % n, 2003 + i / n, density))
            .collect();
        let m = v.iter().sum::<f32>() / v.len() as f32;
        let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f32>() / v.len() as f32).sqrt();
        (
            m,
            sd,
            v.iter().filter(|x| **x < -2.0 * sd).count() as f32 / v.len() as f32,
        )
    }

    #[test]
    fn the_blend_keeps_the_tiles_statistics() {
        let d = SkinDetail::new(8.0, 7, 0.6).expect("8 px/mm holds the tiles");
        for (density, k) in [(1.0, 0), (0.85, 1), (0.6, 2)] {
            let (m, sd, dark) = moments(&d, density, 384);
            let own: Vec<f32> = sources()[k].iter().flat_map(|p| p.data.clone()).collect();
            let own_sd = (own.iter().map(|x| x * x).sum::<f32>() / own.len() as f32).sqrt();
            assert!(m.abs() < 0.1 * sd, "{density}: mean {m} sd {sd}");
            assert!(
                (sd / own_sd - 1.0).abs() < 0.25,
                "{density}: {sd} vs {own_sd}"
            );
            assert!(dark > 0.005, "{density}: {dark} of the pixels are pits");
        }
    }

    #[test]
    fn the_detail_is_a_pure_function_of_position() {
        let a = SkinDetail::new(5.0, 42, 1.0).unwrap();
        let b = SkinDetail::new(5.0, 42, 1.0).unwrap();
        let c = SkinDetail::new(5.0, 43, 1.0).unwrap();
        let at = |d: &SkinDetail| {
            (0..4096)
                .map(|i| d.at(1000 + i % 64, 77 + i / 64, 0.9))
                .collect::<Vec<_>>()
        };
        assert_eq!(at(&a), at(&b));
        assert_ne!(at(&a), at(&c));
    }

    /// Distinct pits per cm² (minima of a difference of Gaussians at the pore scale, σ 0.8 and
    /// 3 px, at least 0.04 below their surroundings) in a synthesised patch at 8 px/mm.
    fn deep_pits_per_cm2(d: &SkinDetail, density: f32) -> f32 {
        let n = 320;
        let field = Plane::from_fn(n, n, |x, y| d.at(x + 500, y + 300, density));
        let (a, b) = (gaussian(&field, 0.8, false), gaussian(&field, 3.0, false));
        let dog: Vec<f32> = a.data.iter().zip(&b.data).map(|(p, q)| p - q).collect();
        let mut pits = 0;
        for y in 8..n - 8 {
            for x in 8..n - 8 {
                let v = dog[y * n + x];
                let lowest = (-2i32..=2).all(|dy| {
                    (-2i32..=2).all(|dx| {
                        let (xx, yy) = ((x as i32 + dx) as usize, (y as i32 + dy) as usize);
                        (dx == 0 && dy == 0) || dog[yy * n + xx] > v
                    })
                });
                pits += usize::from(v < -0.04 && lowest);
            }
        }
        let cm2 = ((n - 16) * (n - 16)) as f32 / (8.0 * 8.0) / 100.0;
        pits as f32 / cm2
    }

    /// The nose carries more distinct pores than the cheeks, as real faces do (Kim et al., Skin
    /// Res Technol 2013), at the tens per cm² visible in photographs (the source portrait itself:
    /// about 60 on the nose, 40 on the cheek).
    #[test]
    fn the_nose_has_more_pores_than_the_cheek() {
        let d = SkinDetail::new(8.0, 11, 0.7).unwrap();
        let (nose, cheek) = (deep_pits_per_cm2(&d, 1.0), deep_pits_per_cm2(&d, 0.85));
        assert!(
            nose >= 1.2 * cheek,
            "nose {nose:.0} vs cheek {cheek:.0} per cm²"
        );
        assert!((30.0..=120.0).contains(&nose), "nose {nose:.0} per cm²");
        assert!((15.0..=90.0).contains(&cheek), "cheek {cheek:.0} per cm²");
    }

    /// The synthesised detail's pore band (a difference of Gaussians, σ 0.5 and 1.2 px at
    /// 8 px/mm: 0.1–0.3 mm) is pitted, skewed dark and peaked, not symmetric like noise, in
    /// every region.
    #[test]
    fn the_pore_band_is_pitted_not_noise() {
        let d = SkinDetail::new(8.0, 5, 0.7).unwrap();
        let n = 384;
        for density in [1.0, 0.85, 0.6] {
            let field = Plane::from_fn(n, n, |x, y| d.at(x + 200, y + 900, density));
            let (a, b) = (gaussian(&field, 0.5, false), gaussian(&field, 1.2, false));
            let band: Vec<f64> = a
                .data
                .iter()
                .zip(&b.data)
                .map(|(p, q)| f64::from(p - q))
                .collect();
            let m = band.iter().sum::<f64>() / band.len() as f64;
            let c = |k: i32| band.iter().map(|v| (v - m).powi(k)).sum::<f64>() / band.len() as f64;
            let (skew, kurt) = (c(3) / c(2).powf(1.5), c(4) / (c(2) * c(2)) - 3.0);
            assert!(
                skew <= -0.5 && kurt >= 3.0,
                "{density}: skew {skew:.2} kurtosis {kurt:.2}"
            );
        }
    }

    /// How strongly a plane's gradients share one direction, at any angle: the coherence of
    /// its structure tensor summed over the whole plane (0 when no direction dominates, 1 when
    /// every gradient is parallel).
    fn coherence(p: &Plane) -> f64 {
        let (mut xx, mut yy, mut xy) = (0.0f64, 0.0f64, 0.0f64);
        let v = |x: usize, y: usize| f64::from(p.data[y * p.w + x]);
        for y in 1..p.h - 1 {
            for x in 1..p.w - 1 {
                // Central differences: forward ones share a pixel and read diagonal.
                let (gx, gy) = (v(x + 1, y) - v(x - 1, y), v(x, y + 1) - v(x, y - 1));
                (xx, yy, xy) = (xx + gx * gx, yy + gy * gy, xy + gx * gy);
            }
        }
        ((xx - yy).powi(2) + 4.0 * xy * xy).sqrt() / (xx + yy)
    }
    /// The tiles carry their source's direction (coherence 0.22 on the cheek, whose fine lines
    /// run across it; 0.13 on the forehead), and copies laid one way only, or only mirrored
    /// left to right (0.13 on the cheek), kept it over the whole face: the cheek's pores
    /// read as parallel dashes. Turned copies cross, so the synthesised skin has no direction
    /// of its own (under 0.02 in every region).
    #[test]
    fn the_detail_has_no_dominant_direction() {
        let d = SkinDetail::new(8.0, 3, 0.7).unwrap();
        for (density, k) in [(1.0, 0), (0.85, 1), (0.6, 2)] {
            let own = coherence(&sources()[k][0]);
            let field = Plane::from_fn(640, 640, |x, y| d.at(x + 100, y + 100, density));
            let c = coherence(&field);
            assert!(
                c < 0.04,
                "{density}: coherence {c:.3} (the tile's own {own:.3})"
            );
        }
    }

    #[test]
    fn tiny_scales_have_no_detail() {
        assert!(SkinDetail::new(1.0, 1, 0.55).is_none());
        assert!(SkinDetail::new(2.5, 1, 0.55).is_some());
    }

    #[test]
    fn regions_cover_the_density_range() {
        for d in [0.0, 0.4, 0.6, 0.7, 0.75, 0.8, 0.85, 0.93, 1.0] {
            let w = region_weights(d);
            assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-6, "{d}: {w:?}");
        }
        assert_eq!(region_weights(1.0), [1.0, 0.0, 0.0]);
        assert_eq!(region_weights(0.85), [0.0, 1.0, 0.0]);
        assert_eq!(region_weights(0.6), [0.0, 0.0, 1.0]);
    }
}
