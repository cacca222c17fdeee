//! The full-resolution pass: one read, one write per pixel, in horizontal strips shared among threads.
//!
//! Per pixel, in linear light: cast gains (whole image, when a cast is corrected); inside the mask the
//! saturation pull, luminance-neutral mottling gains, and the texture as a luminance modulation weighted
//! by a shading curve (weak in deep shadow, full in the mid-tones) with extra pore darkening on
//! the specular sheen (only the pits: the skin between them keeps its light, so a lit nose shows
//! dark pores, not white glitter) and, in micro-grain mode, micro-highlights; then monochrome
//! grain over the whole image. Pixels the
//! engine does not touch are copied bit for bit; alpha is always copied.

use super::exemplar::Cursor;
use super::filters::Plane;
use super::grain;
use super::measure::Rect;
use super::pixels::{LUMA, Sample, Space, enc_index, lstar};
use super::plain;
use super::texture::{GridSampler, Textures, splat_pores};
use std::sync::OnceLock;

/// Direction of the pores' chroma in (redness, pigment) field units: red-brown.
pub const PORE_CHROMA_A: f32 = 0.8;
pub const PORE_CHROMA_B: f32 = 0.6;

/// How much each channel (linear R, G, B) of a pit darkens, per unit of its luminance
/// darkening. Light that enters skin scatters under it and leaves red, so a shadowed hollow
/// in skin is darker *and* warmer, never grey: the pores of real close-ups are red-brown
/// dots. The weights average to 1 under the luminance weights, so the pits' luminance (and
/// every texture figure measured on it) is the same as with a grey darkening.
pub const PIT_TINT: [f32; 3] = [0.85, 1.04, 1.06];

/// The deepest darkening (ΔL*) the texture adds to a pixel, approached softly. Unretouched
/// 7 px/mm studio skin (`shared/samples/real-hires`) shows pits at most about 6 L* below the
/// skin around them (99th percentile of the local minima, cheek; 3.4 on the nose), while the
/// highlight breakup's extra pore darkening could take a pit in a bright highlight 10–20 L*
/// down: on a very smooth, strongly enlarged face (PixArt-α, ×3.4) those were the black
/// specks on the lit side of the nose a retoucher would read as blackheads. A pore in a
/// highlight loses the sheen, it does not turn black. Off the sheen the deepest tile pits
/// reached 7–8 L* (0.1st percentile of the added ΔL* on the id-photo's face) and read as
/// isolated red specks on pale skin; they too stop at real skin's depth.
pub const MAX_PIT_DL: f32 = 6.0;

/// Rows per strip: bounds the working memory (a few f32 rows per strip) independently of image size.
pub const STRIP_ROWS: usize = 32;

/// Everything the pass needs, resolved.
#[derive(Clone, Copy)]
pub struct RenderParams<'a> {
    /// Reduced-grid block size.
    pub k: usize,
    pub mask: &'a Plane,
    pub density: &'a Plane,
    pub sheen: &'a Plane,
    pub tex: &'a Textures,
    /// Relative linear-light amplitudes of pores (per unit pit depth), micro-grain and relief.
    pub a_pore: f32,
    pub a_micro: f32,
    pub a_relief: f32,
    /// Highlight breakup multiplier on the sheen.
    pub a_sheen: f32,
    /// Mottling: Lab units per unit field, and the gain vectors for +1 a*, +1 b*.
    pub a_redness: f32,
    pub a_pigment: f32,
    /// Chroma carried by the pores, Lab units per unit of ΔL* a pit is drawn darker by (with
    /// [`PIT_TINT`]): pits and follicles read slightly red, so part of real skin's fine chroma
    /// variation sits exactly where the luminance pits are.
    pub a_pore_chroma: f32,
    pub va: [f32; 3],
    pub vb: [f32; 3],
    /// Skin saturation factor at full mask.
    pub saturation: f32,
    /// Whole-image cast gains (None = no cast correction).
    pub cast: Option<[f32; 3]>,
    /// Grain σ in L* units (0 = off) and its seed.
    pub grain: f32,
    pub grain_seed: u32,
    /// The picture's colour space: pixels are read into linear sRGB and written back through it.
    pub space: &'a Space,
}

impl RenderParams<'_> {
    fn skin_active(&self) -> bool {
        self.a_pore != 0.0
            || self.a_micro != 0.0
            || self.a_relief != 0.0
            || self.a_redness != 0.0
            || self.a_pigment != 0.0
            || self.a_pore_chroma != 0.0
            || self.saturation != 1.0
    }
}

pub(super) const LUT_N: usize = 1024;

/// Shading weight by linear luminance: texture fades out in deep shadow (where pores are invisible) and
/// eases off in the brightest highlights (where the sheen term takes over).
fn shade_lut() -> &'static [f32] {
    static T: OnceLock<Vec<f32>> = OnceLock::new();
    T.get_or_init(|| {
        (0..=LUT_N)
            .map(|i| {
                let y = i as f32 / LUT_N as f32;
                let s = |e0: f32, e1: f32, x: f32| {
                    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
                    t * t * (3.0 - 2.0 * t)
                };
                s(0.004, 0.06, y) * (1.0 - 0.35 * s(0.45, 0.95, y))
            })
            .collect()
    })
}

/// The most a pixel may be darkened, as a share of its linear luminance, so that its L*
/// drops by at most [`MAX_PIT_DL`] (L* + 16 goes as the cube root of Y), never past the
/// engine's floor of half.
fn pit_depth_lut() -> &'static [f32] {
    static T: OnceLock<Vec<f32>> = OnceLock::new();
    T.get_or_init(|| {
        (0..=LUT_N)
            .map(|i| {
                let l = lstar((i as f32 / LUT_N as f32).max(1e-4));
                let kept = ((l + 16.0 - MAX_PIT_DL).max(0.0) / (l + 16.0)).powi(3);
                (1.0 - kept).min(0.5)
            })
            .collect()
    })
}

/// L* per unit of relative luminance change, by linear luminance: (L* + 16) / 3, as L* + 16
/// goes as the cube root of Y.
fn dl_lut() -> &'static [f32] {
    static T: OnceLock<Vec<f32>> = OnceLock::new();
    T.get_or_init(|| {
        (0..=LUT_N)
            .map(|i| (lstar((i as f32 / LUT_N as f32).max(1e-4)) + 16.0) / 3.0)
            .collect()
    })
}

/// A darkening `d` (share of the luminance) eased towards `most`: unchanged up to half of it,
/// then compressed smoothly (slope 1 at the knee) so that no pit goes past `most`.
#[inline]
fn ease_darkening(d: f32, most: f32) -> f32 {
    let knee = 0.5 * most;
    if d <= knee {
        d
    } else {
        knee + knee * ((d - knee) / knee).tanh()
    }
}

/// Grain gain per unit L* σ by linear luminance: relative linear gain that gives a ΔL* of
/// profile(L*) at that tone (dY/Y = 3 ΔL* / (L* + 16)).
fn grain_lut() -> &'static [f32] {
    static T: OnceLock<Vec<f32>> = OnceLock::new();
    T.get_or_init(|| {
        (0..=LUT_N)
            .map(|i| {
                let y = (i as f32 / LUT_N as f32).max(1e-4);
                let l = lstar(y);
                3.0 * grain::profile(l) / (l + 16.0)
            })
            .collect()
    })
}

#[inline]
pub fn shade(y: f32) -> f32 {
    shade_lut()[(y.clamp(0.0, 1.0) * LUT_N as f32) as usize]
}

/// Horizontal bilinear taps from full-res columns to the reduced grid.
struct Taps {
    i0: Vec<u32>,
    i1: Vec<u32>,
    f: Vec<f32>,
}

fn taps(x0: usize, n: usize, k: usize, grid_n: usize) -> Taps {
    let mut t = Taps {
        i0: Vec::with_capacity(n),
        i1: Vec::with_capacity(n),
        f: Vec::with_capacity(n),
    };
    for x in x0..x0 + n {
        let u = ((x as f32 + 0.5) / k as f32 - 0.5).clamp(0.0, (grid_n - 1) as f32);
        let i = u as usize;
        t.i0.push(i as u32);
        t.i1.push((i + 1).min(grid_n - 1) as u32);
        t.f.push(u - i as f32);
    }
    t
}

/// Vertical interpolation of one grid row set at full-res row y into `out` (grid width).
fn grid_row(p: &Plane, y: usize, k: usize, out: &mut [f32]) {
    let v = ((y as f32 + 0.5) / k as f32 - 0.5).clamp(0.0, (p.h - 1) as f32);
    let j0 = v as usize;
    let j1 = (j0 + 1).min(p.h - 1);
    let f = v - j0 as f32;
    let (a, b) = (
        &p.data[j0 * p.w..(j0 + 1) * p.w],
        &p.data[j1 * p.w..(j1 + 1) * p.w],
    );
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        *o = x + (y - x) * f;
    }
}

/// Component fields of a rect (for calibration): gain-ready texture components before amplitudes.
pub struct Components {
    /// m · shade(Y): the weight every luminance component is multiplied by.
    pub weight: Plane,
    pub mask: Plane,
    pub pores: Plane,
    /// Pit depth only (≥ 0 in pits, mean-compensated): what carries the pores' chroma.
    pub pits: Plane,
    pub micro: Plane,
    pub relief: Plane,
    /// Sheen-only extra terms (already multiplied by the sheen map).
    pub sheen_pores: Plane,
    pub sheen_micro: Plane,
    pub redness: Plane,
    pub pigment: Plane,
    pub grain: Plane,
}

/// Computes the texture components over a rect of the source (pixels read for the shading weight).
pub fn components<T: Sample>(
    src: &[T],
    ch: usize,
    img_w: usize,
    rect: Rect,
    p: &RenderParams,
) -> Components {
    let (w, h) = (rect.w(), rect.h());
    let mut c = Components {
        weight: Plane::new(w, h),
        mask: Plane::new(w, h),
        pores: Plane::new(w, h),
        pits: Plane::new(w, h),
        micro: Plane::new(w, h),
        relief: Plane::new(w, h),
        sheen_pores: Plane::new(w, h),
        sheen_micro: Plane::new(w, h),
        redness: Plane::new(w, h),
        pigment: Plane::new(w, h),
        grain: Plane::new(w, h),
    };
    let gs = GridSampler {
        k: p.k as f32,
        mask: p.mask,
        density: p.density,
    };
    if p.tex.detail.is_none() {
        splat_pores(&mut c.pores.data, rect.x0, rect.y0, w, h, &p.tex.pores, &gs);
    }
    grain::noise_rect(&mut c.grain.data, rect.x0, rect.y0, w, h, p.grain_seed);
    let tx = taps(rect.x0, w, p.k, p.mask.w);
    let mut rows = [
        vec![0f32; p.mask.w],
        vec![0f32; p.mask.w],
        vec![0f32; p.mask.w],
    ];
    let mut cur = Cursor::default();
    for j in 0..h {
        let y = rect.y0 + j;
        grid_row(p.mask, y, p.k, &mut rows[0]);
        grid_row(p.density, y, p.k, &mut rows[1]);
        grid_row(p.sheen, y, p.k, &mut rows[2]);
        for i in 0..w {
            let x = rect.x0 + i;
            let lerp = |r: &[f32]| {
                r[tx.i0[i] as usize] + (r[tx.i1[i] as usize] - r[tx.i0[i] as usize]) * tx.f[i]
            };
            let (m, d, s) = (lerp(&rows[0]), lerp(&rows[1]), lerp(&rows[2]));
            let px = &src[(y * img_w + x) * ch..][..3];
            let lin = p.space.lin(px);
            let yl = LUMA[0] * lin[0] + LUMA[1] * lin[1] + LUMA[2] * lin[2];
            let o = j * w + i;
            c.weight.data[o] = m * shade(yl);
            c.mask.data[o] = m;
            let raw = if m > 0.0 {
                p.tex
                    .detail_at(&mut cur, x, y, d)
                    .unwrap_or(c.pores.data[o])
            } else {
                c.pores.data[o]
            };
            let (comp, comp_pits) = p.tex.pore_means(d);
            let pore = raw + comp;
            c.pores.data[o] = pore;
            c.pits.data[o] = (-raw).max(0.0) - comp_pits;
            let micro = p.tex.micro.at(x, y);
            c.micro.data[o] = micro;
            c.relief.data[o] = p.tex.relief.at(x, y);
            c.sheen_pores.data[o] = s * pore.min(0.0);
            c.sheen_micro.data[o] = s * (micro.max(0.0) - 0.4);
            c.redness.data[o] = p.tex.redness.at(x, y);
            c.pigment.data[o] = p.tex.pigment.at(x, y);
        }
    }
    c
}

/// Reads a pixel into linear sRGB (the cast corrected) and writes linear sRGB back in the
/// picture's own encoding: the per-pixel ends of the render pass, inlined into its loops.
struct PixelIo<'a, T> {
    lt: &'a [f32],
    et: &'a [T],
    space: &'a Space,
    /// Another space than sRGB: its linear values go through a matrix to linear sRGB and back.
    matrix: bool,
    cast: [f32; 3],
}

impl<T: Sample> PixelIo<'_, T> {
    #[inline(always)]
    fn read(&self, sp: &[T]) -> [f32; 3] {
        let lt = self.lt;
        let c = [lt[sp[0].index()], lt[sp[1].index()], lt[sp[2].index()]];
        let c = if self.matrix {
            self.space.to_srgb(c)
        } else {
            c
        };
        [
            c[0] * self.cast[0],
            c[1] * self.cast[1],
            c[2] * self.cast[2],
        ]
    }

    #[inline(always)]
    fn write(&self, op: &mut [T], o: [f32; 3]) {
        let o = if self.matrix {
            self.space.from_srgb(o)
        } else {
            o
        };
        op[0] = self.et[enc_index(o[0])];
        op[1] = self.et[enc_index(o[1])];
        op[2] = self.et[enc_index(o[2])];
    }
}

/// Index into the render pass's lookup tables for a linear luminance.
#[inline(always)]
pub(super) fn lut_i(y: f32) -> usize {
    ((y.clamp(0.0, 1.0) * LUT_N as f32 + 8_388_608.0).to_bits() & 0x7ff) as usize
}

/// What the render pass over one rect works with: its parameters, the lookup tables, the
/// column taps into the grid, the tiles and the grain, and the rect's pores.
struct Pass<'a> {
    p: &'a RenderParams<'a>,
    shade_t: &'static [f32],
    grain_t: &'static [f32],
    pit_t: &'static [f32],
    dl_t: &'static [f32],
    tx: Taps,
    /// Column indices into the tiles (every tile pair shares the mottling's sizes, except a
    /// flat micro-grain and relief where real skin detail replaces them).
    xa: Vec<u32>,
    xb: Vec<u32>,
    procedural: bool,
    /// Real skin detail read from an exemplar instead of drawn pores.
    detail_on: bool,
    mottle: bool,
    /// The rect's first column and width, and its drawn pores (empty when none are drawn).
    x0: usize,
    w: usize,
    pores: Vec<f32>,
    grain_on: bool,
    gf: grain::GrainField,
    /// Grain amplitude per unit of the tile pair's sum.
    gs: f32,
}

/// One row's grid values and tile rows, on a row with skin.
struct SkinRow<'r> {
    /// The row within the rect, and in the image.
    j: usize,
    y: usize,
    density: &'r [f32],
    sheen: &'r [f32],
    micro: (&'r [f32], &'r [f32]),
    relief: (&'r [f32], &'r [f32]),
    redness: (&'r [f32], &'r [f32]),
    pigment: (&'r [f32], &'r [f32]),
}

impl<'a> Pass<'a> {
    fn new(p: &'a RenderParams<'a>, rect: Rect, skin: bool) -> Pass<'a> {
        let (w, h) = (rect.w(), rect.h());
        let tex = p.tex;
        let textured = p.a_pore != 0.0 || p.a_pore_chroma != 0.0;
        let mut pores = vec![
            0f32;
            if skin && tex.detail.is_none() && textured {
                w * h
            } else {
                0
            }
        ];
        if !pores.is_empty() {
            let gs = GridSampler {
                k: p.k as f32,
                mask: p.mask,
                density: p.density,
            };
            splat_pores(&mut pores, rect.x0, rect.y0, w, h, &tex.pores, &gs);
        }
        let grain_on = p.grain > 0.0;
        let gf = grain::GrainField::new(p.grain_seed);
        let (na, nb) = (tex.redness.a.w, tex.redness.b.w);
        Pass {
            p,
            shade_t: shade_lut(),
            grain_t: grain_lut(),
            pit_t: pit_depth_lut(),
            dl_t: dl_lut(),
            tx: taps(rect.x0, w, p.k, p.mask.w),
            xa: (rect.x0..rect.x0 + w).map(|x| (x % na) as u32).collect(),
            xb: (rect.x0..rect.x0 + w).map(|x| (x % nb) as u32).collect(),
            procedural: tex.micro.a.w == na,
            detail_on: tex.detail.is_some() && textured,
            mottle: p.a_redness != 0.0 || p.a_pigment != 0.0 || p.a_pore_chroma != 0.0,
            x0: rect.x0,
            w,
            pores,
            grain_on,
            gf,
            gs: p.grain * grain::TILE_WEIGHT,
        }
    }

    /// The grain's gain for noise `n` (a value of [`grain::GrainField::noise_row`]) at
    /// luminance `yl`.
    #[inline(always)]
    fn grain(&self, n: f32, yl: f32) -> f32 {
        1.0 + self.gs * self.grain_t[lut_i(yl)] * n
    }

    /// A row without skin: copied, or with the cast corrected and grain only.
    fn plain_row<T: Sample>(
        &self,
        io: &PixelIo<T>,
        noise: &[f32],
        ch: usize,
        src_row: &[T],
        out_row: &mut [T],
    ) {
        if self.p.cast.is_none() && !self.grain_on {
            out_row.copy_from_slice(src_row);
            return;
        }
        if let (false, Some(src), Some(out)) = (io.matrix, T::bytes(src_row), T::bytes_mut(out_row))
        {
            let t = plain::Tables {
                lt: io.lt,
                et: io.space.enc8_padded(),
                grain_t: self.grain_t,
                gs: self.gs,
                grain: self.grain_on,
                cast: io.cast,
            };
            plain::row(&t, ch, noise, src, out);
            return;
        }
        for ((sp, op), &n) in src_row
            .chunks_exact(ch)
            .zip(out_row.chunks_exact_mut(ch))
            .zip(noise)
        {
            let c = io.read(sp);
            let g = if self.grain_on {
                let yl = LUMA[0] * c[0] + LUMA[1] * c[1] + LUMA[2] * c[2];
                self.grain(n, yl)
            } else {
                1.0
            };
            io.write(op, [c[0] * g, c[1] * g, c[2] * g]);
            if ch == 4 {
                op[3] = sp[3];
            }
        }
    }

    /// The skin's texture at column `i` of row `r`, under mask `m` > 0: tones `c` (saturation,
    /// mottling) and returns the luminance gain, the pits' share of it (≤ 0, tinted per
    /// channel by the caller) and the luminance the grain is weighed by.
    #[inline(always)]
    fn skin_pixel(
        &self,
        r: &SkinRow,
        cur: &mut Cursor,
        i: usize,
        m: f32,
        c: &mut [f32; 3],
    ) -> (f32, f32, f32) {
        let (p, tex, tx) = (self.p, self.p.tex, &self.tx);
        let mut yl = LUMA[0] * c[0] + LUMA[1] * c[1] + LUMA[2] * c[2];
        if p.saturation != 1.0 {
            let f = 1.0 - m * (1.0 - p.saturation);
            for v in c.iter_mut() {
                *v = yl + f * (*v - yl);
            }
        }
        let (ia, ib) = (self.xa[i] as usize, self.xb[i] as usize);
        let lerp = |row: &[f32]| {
            row[tx.i0[i] as usize] + (row[tx.i1[i] as usize] - row[tx.i0[i] as usize]) * tx.f[i]
        };
        let dens = lerp(r.density);
        let raw = if self.detail_on {
            tex.detail_at(cur, self.x0 + i, r.y, dens).unwrap_or(0.0)
        } else if self.pores.is_empty() {
            0.0
        } else {
            self.pores[r.j * self.w + i]
        };
        let pore = raw + tex.pore_means(dens).0;
        let (micro, relief) = if self.procedural {
            (
                tex.micro.wa * r.micro.0[ia] + tex.micro.wb * r.micro.1[ib],
                tex.relief.wa * r.relief.0[ia] + tex.relief.wb * r.relief.1[ib],
            )
        } else {
            (0.0, 0.0)
        };
        let sheen = lerp(r.sheen);
        let tp = p.a_pore * pore;
        let t = tp
            + p.a_micro * micro
            + p.a_relief * relief
            + p.a_sheen * sheen * (2.0 * tp.min(0.0) + 1.5 * p.a_micro * (micro.max(0.0) - 0.4));
        // The tables below read the skin's luminance before the mottling.
        let li = lut_i(yl);
        let shade = m * self.shade_t[li];
        let mut gain = (1.0 + shade * t).clamp(0.5, 1.5);
        // The pits, deepened on the sheen by the highlight breakup: the same hollows.
        let mut pit = shade * tp.min(0.0) * (1.0 + 2.0 * p.a_sheen * sheen);
        if gain < 1.0 {
            // No pit goes deeper than real skin's (MAX_PIT_DL), on the sheen or off it.
            let most = self.pit_t[li];
            let d = 1.0 - gain;
            let eased = ease_darkening(d, most);
            if eased < d {
                gain = 1.0 - eased;
                pit *= eased / d;
            }
        }
        if self.mottle {
            // Only the pits carry colour (the bright specks are light, not pigment), in
            // proportion to the L* they are drawn darker by: a pit is as much redder per unit of
            // darkening on any skin tone, in shadow or on the sheen, as real skin's are.
            let pc = -p.a_pore_chroma * pit * self.dl_t[li];
            // (The pit already carries the mask.)
            let ma = m
                * p.a_redness
                * (tex.redness.wa * r.redness.0[ia] + tex.redness.wb * r.redness.1[ib])
                + PORE_CHROMA_A * pc;
            let mb = m
                * p.a_pigment
                * (tex.pigment.wa * r.pigment.0[ia] + tex.pigment.wb * r.pigment.1[ib])
                + PORE_CHROMA_B * pc;
            for (k, v) in c.iter_mut().enumerate() {
                *v *= 1.0 + ma * p.va[k] + mb * p.vb[k];
            }
            yl = LUMA[0] * c[0] + LUMA[1] * c[1] + LUMA[2] * c[2];
        }
        (gain, pit, yl)
    }
}

/// Renders `rect` of the source into `out` (rect-sized, interleaved with the source's channel count).
/// `src` holds whole rows of the image from row `src_y0` on.
pub fn render_rect<T: Sample>(
    src: &[T],
    src_y0: usize,
    ch: usize,
    img_w: usize,
    rect: Rect,
    p: &RenderParams,
    out: &mut [T],
) {
    let (w, h) = (rect.w(), rect.h());
    let skin = p.skin_active();
    let space = p.space;
    let pass = Pass::new(p, rect, skin);
    let tex = p.tex;
    let gw = p.mask.w;
    let (mut mrow, mut drow, mut srow) = (vec![0f32; gw], vec![0f32; gw], vec![0f32; gw]);
    let mut m_full = vec![0f32; w];
    // The grain's noise along the row (zeros, unused, without grain).
    let mut noise = vec![0f32; w];
    let has_cast = p.cast.is_some();
    // Pits are tinted only where pores carry colour at all: never on a black-and-white or
    // toned picture, nor where pits are single pixels.
    let tint = p.a_pore_chroma > 0.0;
    let mut cur = Cursor::default();
    let io = PixelIo {
        lt: T::lin_table(space),
        et: T::enc_table(space),
        space,
        // Another space than sRGB: its linear values go through a matrix to linear sRGB and back.
        matrix: space.has_matrix(),
        cast: p.cast.unwrap_or([1.0; 3]),
    };
    for j in 0..h {
        let y = rect.y0 + j;
        let sy = y - src_y0;
        let src_row = &src[(sy * img_w + rect.x0) * ch..(sy * img_w + rect.x0 + w) * ch];
        let out_row = &mut out[j * w * ch..(j + 1) * w * ch];
        let mut row_has_skin = false;
        if skin {
            grid_row(p.mask, y, p.k, &mut mrow);
            // Most rows cross no skin: a row whose grid is nowhere above 0 interpolates to
            // nothing above 0 either.
            if mrow.iter().any(|&v| v > 0.0) {
                let tx = &pass.tx;
                for (i, m) in m_full.iter_mut().enumerate() {
                    let (a, b) = (mrow[tx.i0[i] as usize], mrow[tx.i1[i] as usize]);
                    *m = a + (b - a) * tx.f[i];
                    row_has_skin |= *m > 0.0;
                }
            }
        }
        if pass.grain_on {
            pass.gf.noise_row(rect.x0, y, &mut noise);
        }
        if !row_has_skin {
            pass.plain_row(&io, &noise, ch, src_row, out_row);
            continue;
        }
        grid_row(p.density, y, p.k, &mut drow);
        grid_row(p.sheen, y, p.k, &mut srow);
        let r = SkinRow {
            j,
            y,
            density: &drow,
            sheen: &srow,
            micro: (tex.micro.a.row(y), tex.micro.b.row(y)),
            relief: (tex.relief.a.row(y), tex.relief.b.row(y)),
            redness: (tex.redness.a.row(y), tex.redness.b.row(y)),
            pigment: (tex.pigment.a.row(y), tex.pigment.b.row(y)),
        };
        // Either side of the row's skin, the plain path (grain and cast only).
        let first = m_full.iter().position(|&m| m > 0.0).unwrap_or(0);
        let end = m_full.iter().rposition(|&m| m > 0.0).map_or(w, |l| l + 1);
        let (src_l, src_r) = (&src_row[..first * ch], &src_row[end * ch..]);
        let (out_l, rest) = out_row.split_at_mut(first * ch);
        let (_, out_r) = rest.split_at_mut((end - first) * ch);
        pass.plain_row(&io, &noise[..first], ch, src_l, out_l);
        pass.plain_row(&io, &noise[end..], ch, src_r, out_r);
        for i in first..end {
            let sp = &src_row[i * ch..(i + 1) * ch];
            let op = &mut out_row[i * ch..(i + 1) * ch];
            let m = m_full[i];
            if m <= 0.0 && !has_cast && !pass.grain_on {
                op.copy_from_slice(sp);
                continue;
            }
            let mut c = io.read(sp);
            let (mut gain, pit, yl) = if m > 0.0 {
                pass.skin_pixel(&r, &mut cur, i, m, &mut c)
            } else {
                (1.0, 0.0, LUMA[0] * c[0] + LUMA[1] * c[1] + LUMA[2] * c[2])
            };
            if pass.grain_on {
                gain *= pass.grain(noise[i], yl * gain);
            }
            let o: [f32; 3] = if pit < 0.0 && tint {
                std::array::from_fn(|k| c[k] * (gain + pit * (PIT_TINT[k] - 1.0)).max(0.0))
            } else {
                [c[0] * gain, c[1] * gain, c[2] * gain]
            };
            io.write(op, o);
            if ch == 4 {
                op[3] = sp[3];
            }
        }
    }
}

/// Renders the whole image in place, in strips shared among `threads` workers: each strip is
/// copied to a small buffer and rendered back, so no second full-size image is ever held.
pub fn render_in_place<T: Sample>(
    data: &mut [T],
    ch: usize,
    w: usize,
    h: usize,
    p: &RenderParams,
    threads: usize,
) {
    let stride = w * ch;
    let mut strips: Vec<(usize, &mut [T])> =
        data.chunks_mut(STRIP_ROWS * stride).enumerate().collect();
    let threads = threads.max(1).min(strips.len().max(1));
    let mut per: Vec<Vec<(usize, &mut [T])>> = (0..threads).map(|_| Vec::new()).collect();
    for (n, s) in strips.drain(..).enumerate() {
        per[n % threads].push(s);
    }
    std::thread::scope(|sc| {
        for work in per {
            sc.spawn(move || {
                let mut copy: Vec<T> = Vec::with_capacity(STRIP_ROWS * stride);
                for (si, buf) in work {
                    let y0 = si * STRIP_ROWS;
                    let y1 = (y0 + STRIP_ROWS).min(h);
                    copy.clear();
                    copy.extend_from_slice(buf);
                    render_rect(
                        &copy,
                        y0,
                        ch,
                        w,
                        Rect {
                            x0: 0,
                            y0,
                            x1: w,
                            y1,
                        },
                        p,
                        buf,
                    );
                }
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_pit_goes_deeper_than_the_limit_and_shallow_ones_are_untouched() {
        for i in [40, 200, 600, 1000] {
            let y = i as f32 / LUT_N as f32;
            let most = pit_depth_lut()[i];
            assert!(most > 0.0 && most <= 0.5);
            // Shallow darkening is left alone.
            assert_eq!(ease_darkening(0.4 * most, most), 0.4 * most);
            // The engine's deepest (half the luminance) stays within MAX_PIT_DL of L*.
            let d = ease_darkening(0.5, most);
            assert!(d < most && d > 0.5 * most);
            let drop = lstar(y) - lstar(y * (1.0 - d));
            assert!(drop <= MAX_PIT_DL + 0.05, "L* drop {drop} at Y {y}");
            // Deeper in, deeper out: the order of pits is kept.
            assert!(ease_darkening(0.3, most) <= ease_darkening(0.35, most));
        }
    }
}
