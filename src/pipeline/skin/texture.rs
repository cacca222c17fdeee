//! Deterministic skin texture at the physical scale: pores (soft cellular pits, splatted per pore cell),
//! micro-grain, slightly anisotropic micro-relief and chroma mottling (periodic noise tiles).
//!
//! Everything is a pure function of the pixel position and a seed taken from the image content, so
//! strips and threads can render any rectangle independently and the result never depends on how
//! the work was split.
//!
//! Noise tiles come in pairs of different sizes (n and ~7n/9) that are summed: each is periodic, the sum
//! repeats only after their least common multiple, far beyond any face.

use super::exemplar::{Cursor, SkinDetail};
use super::filters::{Plane, gaussian_xy};

/// Integer hash (lowbias32 variant) of a position and a seed.
#[inline]
pub fn hash(x: u32, y: u32, seed: u32) -> u32 {
    let mut h =
        x.wrapping_mul(0x9E37_79B1) ^ y.wrapping_mul(0x85EB_CA77) ^ seed.wrapping_mul(0xC2B2_AE3D);
    h ^= h >> 16;
    h = h.wrapping_mul(0x7FEB_352D);
    h ^= h >> 15;
    h = h.wrapping_mul(0x846C_A68B);
    h ^= h >> 16;
    h
}

/// Approximately normal value (Irwin–Hall of the hash's four bytes), mean 0, sd 1.
#[inline]
pub fn gauss_hash(x: u32, y: u32, seed: u32) -> f32 {
    let h = hash(x, y, seed);
    let s = (h & 0xff) + ((h >> 8) & 0xff) + ((h >> 16) & 0xff) + (h >> 24);
    (s as f32 - 510.0) * (1.0 / 147.8)
}

/// Uniform value in [0, 1) from a hash.
#[inline]
pub fn unit(h: u32) -> f32 {
    (h >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// SplitMix64 step: derives independent sub-seeds from the content seed.
pub fn split(seed: u64, salt: u64) -> u64 {
    let mut z = seed.wrapping_add(salt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A periodic noise tile, normalised to zero mean and unit standard deviation.
pub struct Tile {
    pub w: usize,
    pub h: usize,
    pub data: Vec<f32>,
}

impl Tile {
    #[inline]
    pub fn row(&self, y: usize) -> &[f32] {
        let r = y % self.h;
        &self.data[r * self.w..(r + 1) * self.w]
    }
}

/// Two tiles of different sizes summed: periodic only at their least common multiple.
pub struct TilePair {
    pub a: Tile,
    pub b: Tile,
    /// Weight of b (a has weight 1); the pair is normalised to unit sd.
    pub wa: f32,
    pub wb: f32,
}

impl TilePair {
    /// A pair that is 0 everywhere (a component that is not drawn).
    pub fn flat() -> TilePair {
        let zero = || Tile {
            w: 1,
            h: 1,
            data: vec![0.0],
        };
        TilePair {
            a: zero(),
            b: zero(),
            wa: 0.0,
            wb: 0.0,
        }
    }

    #[inline]
    pub fn at(&self, x: usize, y: usize) -> f32 {
        self.wa * self.a.row(y)[x % self.a.w] + self.wb * self.b.row(y)[x % self.b.w]
    }
}

/// Shape of a band-limited noise tile.
#[derive(Clone, Copy)]
pub struct Band {
    /// Inner (fine) blur σ along x and y, pixels.
    pub s1x: f32,
    pub s1y: f32,
    /// Outer (coarse) blur σ, pixels; 0 = no high-pass.
    pub s2: f32,
    /// Exponential shaping before normalising (> 0: bright tail, spots; < 0: dark tail, pits); 0 = Gaussian.
    pub skew: f32,
    /// Above 0: the tile becomes a network of dark lines along the noise's zero crossings, this
    /// wide in standard deviations (skin furrows); 0 = off.
    pub furrow: f32,
}

/// Generates a periodic band-limited noise tile.
pub fn tile(n_w: usize, n_h: usize, seed: u64, band: Band) -> Tile {
    let s = seed as u32 ^ (seed >> 32) as u32;
    let white = Plane::from_fn(n_w, n_h, |x, y| gauss_hash(x as u32, y as u32, s));
    let fine = gaussian_xy(&white, band.s1x, band.s1y, true);
    let mut data = if band.s2 > 0.0 {
        let coarse = gaussian_xy(&white, band.s2, band.s2, true);
        fine.data
            .iter()
            .zip(&coarse.data)
            .map(|(a, b)| a - b)
            .collect::<Vec<f32>>()
    } else {
        fine.data
    };
    normalise(&mut data);
    if band.furrow > 0.0 {
        let k = -0.5 / (band.furrow * band.furrow);
        for v in data.iter_mut() {
            *v = -(*v * *v * k).exp();
        }
        // Furrows are soft-walled, not hairline cracks.
        let soft = 0.5 * band.s1y.min(band.s1x);
        let p = gaussian_xy(
            &Plane {
                w: n_w,
                h: n_h,
                data,
            },
            soft,
            soft,
            true,
        );
        data = p.data;
        normalise(&mut data);
    }
    if band.skew != 0.0 {
        // exp(k·v) has a bright tail; −exp(−k·v) a dark one.
        let (k, sign) = (band.skew.abs(), band.skew.signum());
        for v in data.iter_mut() {
            *v = sign * (k * sign * *v).exp();
        }
        normalise(&mut data);
    }
    Tile {
        w: n_w,
        h: n_h,
        data,
    }
}

fn normalise(d: &mut [f32]) {
    let n = d.len() as f64;
    let mean = d.iter().map(|v| *v as f64).sum::<f64>() / n;
    let var = d.iter().map(|v| (*v as f64 - mean).powi(2)).sum::<f64>() / n;
    let inv = 1.0 / var.sqrt().max(1e-12);
    for v in d.iter_mut() {
        *v = ((*v as f64 - mean) * inv) as f32;
    }
}

/// A pair of tiles with the same band; `rotate` makes the second tile's anisotropy run the other way.
pub fn tile_pair(n: usize, seed: u64, band: Band, rotate: bool, wb: f32) -> TilePair {
    let m = (n * 7 / 9) | 1;
    let a = tile(n, n, split(seed, 1), band);
    let band_b = if rotate {
        Band {
            s1x: band.s1y,
            s1y: band.s1x,
            ..band
        }
    } else {
        band
    };
    let b = tile(m, m, split(seed, 2), band_b);
    let norm = 1.0 / (1.0 + wb * wb).sqrt();
    TilePair {
        a,
        b,
        wa: norm,
        wb: wb * norm,
    }
}

/// The texture fields of one image.
pub struct Textures {
    /// Pixel-scale symmetric micro-grain (fills the pore band where pores cannot be resolved).
    pub micro: TilePair,
    /// 0.3–1 mm micro-relief, slightly anisotropic (crossed skin furrows).
    pub relief: TilePair,
    /// Redness mottling (haemoglobin: mostly +a*, a little +b*), 2–8 mm patches.
    pub redness: TilePair,
    /// Pigment mottling (melanin: mostly +b*, some +a*), spotty.
    pub pigment: TilePair,
    pub pores: PoreParams,
    /// Real skin detail (pores, fine lines, micro-relief) from [`super::exemplar`]: when present it
    /// is the pore component, the procedural pores stay unused and micro-grain and relief are
    /// flat ([`TilePair::flat`]).
    pub detail: Option<SkinDetail>,
}

impl Textures {
    /// The pore component's raw value at (x, y) on skin of relative density `dens` when it comes
    /// from the real-skin detail; None when the procedural pores are splatted instead.
    #[inline]
    /// `cur` keeps the last pixel's triangle (see [`SkinDetail::at_with`]): one per pass.
    pub fn detail_at(&self, cur: &mut Cursor, x: usize, y: usize, dens: f32) -> Option<f32> {
        self.detail.as_ref().map(|d| d.at_with(cur, x, y, dens))
    }
    /// Mean of the pore component at a density (subtracted so the pores keep the low-pass tone)
    /// and the mean depth of its pits (subtracted from the pits' chroma).
    #[inline]
    pub fn pore_means(&self, dens: f32) -> (f32, f32) {
        match &self.detail {
            Some(d) => (0.0, d.mean_pits(dens)),
            None => (self.pores.comp * dens, self.pores.comp_pits * dens),
        }
    }
}

/// Pores per mm² at relative density 1 (nose, inner cheeks): 1.4 mm⁻², 140 per cm², most of
/// them small and faint (the log-normal sizes), about half of them distinct.
/// Pores visible in photographs (openings of about 0.05–0.25 mm; Flament et al., "Facial skin
/// pores: a multiethnic study", Clin Cosmet Investig Dermatol 8:85, 2015, count cheek pores
/// from 0.25 mm at tens per cm², varying with ethnicity and age; Kim et al., Skin Res Technol
/// 2013, and Jung et al., Korean J Dermatol 52:851, 2014, find the nose and forehead densest),
/// far fewer than the 400–900 sebaceous follicles per cm² the face carries. The unretouched
/// 7 px/mm studio portrait in `shared/samples/real-hires` shows about 50–80 per cm² on the nose.
pub const PORES_PER_MM2: f32 = 1.4;
/// Pore opening diameters (mm): log-normal around the median, clipped to the range the
/// dermatology reports for visible facial pores (0.05–0.25 mm).
pub const PORE_DIAMETER_MM: (f32, f32, f32) = (0.05, 0.11, 0.25);
pub const PORE_DIAMETER_LOG_SD: f32 = 0.3;
/// The camera's own blur (Gaussian σ, px): a pore narrower than this is drawn this wide, with
/// its darkening spread (the same integral), as a lens and sensor would render it.
pub const CAMERA_SIGMA_PX: f32 = 0.55;
/// Share of the picture's own blur (measured at its sharpest edges around the face) that the
/// pores and micro-grain are drawn through, and the most they get. Dots drawn at the camera's
/// 0.55 px on a picture enlarged 2–4× are the sharpest thing in it and read as pepper; drawn
/// through the picture's whole blur, the energy the fine band asks for needs deep, wide pits
/// and reads as blotches. Half, up to 1.1 px, was chosen by eye on before/after crops of a very
/// smooth and a textured portrait (blur 1.1, 1.5 and the full 2.3–3 px compared).
pub const ACUITY_SHARE: f32 = 0.5;
pub const MAX_TEXTURE_BLUR_PX: f32 = 1.1;

/// Most blur real skin detail is drawn through: its pores are irregular and sparse, not the
/// even dots that read as pepper when sharp, so it may stay sharper than procedural pits
/// (0.8 and 1.1 px compared on before/after crops: the nose's pores survive at 0.8).
pub const MAX_DETAIL_BLUR_PX: f32 = 0.8;

/// The blur (σ, px) pores and micro-grain are drawn through, given the picture's own.
pub fn texture_blur(picture_blur: f32) -> f32 {
    (ACUITY_SHARE * picture_blur).clamp(CAMERA_SIGMA_PX, MAX_TEXTURE_BLUR_PX)
}

/// Below this many pixels across the largest pores (0.25 mm; 5.2 px/mm), pores are not drawn one
/// by one: the pore band is filled with micro-grain, with discrete pits fading in only as the scale
/// approaches it. At and above it a pore, widened by the camera's blur, is a dot of 1.5–2.5 px.
pub const MIN_PORE_PX: f32 = 1.3;

/// Largest share of the pore band that discrete pits may take at `ppm`: none below ~2.5 px/mm (pores
/// under a third of a pixel), all of it once pores are resolved.
pub fn max_pore_share(ppm: f32) -> f32 {
    let resolved_ppm = MIN_PORE_PX / 0.25;
    ((ppm - 2.5) / (resolved_ppm - 2.5)).clamp(0.0, 1.0)
}

/// Pore layout and shading parameters.
#[derive(Clone, Copy, Debug)]
pub struct PoreParams {
    /// Grid cell (px): one candidate pore per cell, jittered inside its central 80 %, kept with
    /// probability = density: blue-noise placement (no lattice, no clumps).
    pub cell: f32,
    /// Scale, px per mm.
    pub ppm: f32,
    pub seed: u32,
    /// Mean height per unit density, subtracted so the pores do not shift the low-pass tone.
    pub comp: f32,
    /// Mean pit depth per unit density (the dark lobes alone).
    pub comp_pits: f32,
    /// True when pores are resolved (≥ 1.3 px across); false = pixel-scale micro-grain specks.
    pub resolved: bool,
    /// The optical blur every pore is drawn through (Gaussian σ, px): see [`texture_blur`].
    pub blur: f32,
    /// Direction towards the light in the picture (x right, y down), length 0 (frontal or flat
    /// light) to 1 (hard side light): the wall of a pit nearer the light is in its shadow, the
    /// far wall catches light.
    pub light: [f32; 2],
}

impl PoreParams {
    /// The Gaussian σ (px) a pore opening `d_mm` wide prints with, through the optical blur.
    fn sigma_of(&self, d_mm: f32) -> f32 {
        ((d_mm * self.ppm / 2.355).powi(2) + self.blur * self.blur).sqrt()
    }

    pub fn new(ppm: f32, seed: u64, light: [f32; 2], blur: f32) -> PoreParams {
        let resolved = 0.25 * ppm >= MIN_PORE_PX;
        let cell = (ppm / PORES_PER_MM2.sqrt()).max(2.0);
        let mut p = PoreParams {
            cell,
            ppm,
            seed: (seed as u32) ^ (seed >> 32) as u32,
            comp: 0.0,
            comp_pits: 0.0,
            resolved,
            light,
            blur: blur.max(CAMERA_SIGMA_PX),
        };
        // The mean height and pit depth of a patch at density 1, measured rather than derived (the
        // placement, sizes and lobes make a closed form fragile).
        let n = (24.0 * cell).ceil() as usize;
        let ones = Plane::from_fn(4, 4, |_, _| 1.0);
        let g = GridSampler {
            k: n as f32 / 4.0,
            mask: &ones,
            density: &ones,
        };
        let mut buf = vec![0f32; n * n];
        splat_pores(&mut buf, 0, 0, n, n, &p, &g);
        let len = buf.len() as f64;
        p.comp = (buf.iter().map(|v| f64::from(*v)).sum::<f64>() / len) as f32;
        p.comp_pits = (buf.iter().map(|v| f64::from((-*v).max(0.0))).sum::<f64>() / len) as f32;
        p
    }
}

impl Textures {
    /// Every tile, made before the light is known (it only places the pits' shading; then
    /// [`Unlit::lit`]). `blur`: the picture's own blur (σ, px), which the pores and
    /// micro-grain are drawn through. The real-skin detail and the mottling fields are made on
    /// two threads when `threads` allows (about 9 and 11 ms at 7 px/mm).
    pub fn unlit(ppm: f32, seed: u64, blur: f32, threads: usize) -> Unlit {
        let n = ((36.0 * ppm).round() as usize).clamp(96, 640);
        let (detail, mottling) = super::join(
            threads,
            || SkinDetail::new(ppm, split(seed, 15), blur.min(MAX_DETAIL_BLUR_PX)),
            || mottling(n, ppm, seed),
        );
        // Real skin detail carries the pore band and the micro-relief itself: the procedural
        // micro-grain and relief would only be drawn at amplitude 0, so they are not made (about
        // 30 ms of tile generation at 8 px/mm).
        let micro_relief = detail
            .is_none()
            .then(|| micro_and_relief(n, ppm, seed, blur));
        Unlit {
            ppm,
            seed,
            blur,
            detail,
            mottling,
            micro_relief,
        }
    }
}

/// The texture tiles before the light is known ([`Textures::unlit`]).
pub struct Unlit {
    ppm: f32,
    seed: u64,
    blur: f32,
    detail: Option<SkinDetail>,
    mottling: (TilePair, TilePair),
    micro_relief: Option<(TilePair, TilePair)>,
}

impl Unlit {
    /// The textures with the pits lit from `light`.
    pub fn lit(self, light: [f32; 2]) -> Textures {
        let (redness, pigment) = self.mottling;
        let (micro, relief) = self
            .micro_relief
            .unwrap_or_else(|| (TilePair::flat(), TilePair::flat()));
        Textures {
            micro,
            relief,
            redness,
            pigment,
            pores: PoreParams::new(self.ppm, split(self.seed, 14), light, self.blur),
            detail: self.detail,
        }
    }
}

/// The procedural micro-grain and micro-relief tiles (`n` px at `ppm`), for scales the real
/// skin detail does not cover.
fn micro_and_relief(n: usize, ppm: f32, seed: u64, blur: f32) -> (TilePair, TilePair) {
    let mm = |v: f32| v * ppm;
    // Micro-grain: the pore band where pores are too small to draw. Softened to ~0.7 px (skin
    // granularity, not pixel-white digital noise) and dark-leaning (unresolved pits), so it is neither
    // sandpaper nor pepper.
    let micro = tile_pair(
        n,
        split(seed, 10),
        Band {
            s1x: mm(0.05).max(0.7).max(blur),
            s1y: mm(0.05).max(0.7).max(blur),
            s2: mm(0.15).max(1.6).max(2.2 * blur),
            skew: -0.3,
            furrow: 0.0,
        },
        false,
        1.0,
    );
    // Micro-relief: the network of fine skin furrows (lines 0.3–1 mm apart, crossing in
    // rhombi), drawn as dark lines along the zero crossings of two elongated noise fields
    // turned against each other; where the scale cannot hold lines, soft relief noise.
    let lines = 0.25 * ppm >= MIN_PORE_PX;
    let r1 = mm(0.15).max(0.7);
    let relief = tile_pair(
        n,
        split(seed, 11),
        if lines {
            Band {
                s1x: mm(0.5),
                s1y: mm(0.18),
                s2: mm(1.4),
                skew: 0.0,
                furrow: 0.5,
            }
        } else {
            Band {
                s1x: r1 * 1.35,
                s1y: r1 / 1.35,
                s2: mm(0.5).max(2.0 * r1),
                skew: 0.0,
                furrow: 0.0,
            }
        },
        true,
        0.6,
    );
    (micro, relief)
}

/// The redness and pigment fields, tiles of `n` px at `ppm`.
fn mottling(n: usize, ppm: f32, seed: u64) -> (TilePair, TilePair) {
    let mm = |v: f32| v * ppm;
    // Mottling blotches of ~2–8 mm (σ 0.8 mm − 3 mm), like the redness patches of real skin. The fields
    // lean one-sided (mildly exponential, then zero-mean): patches of *more* red or brown on a baseline,
    // as haemoglobin and melanin do, never symmetric cyan/orange confetti or freckle-like dots.
    let m1 = mm(0.8).max(2.5);
    let m2 = mm(3.0).max(3.0 * m1);
    // Redness and pigment share the blotch shape; only their seeds differ.
    let blotches = Band {
        s1x: m1,
        s1y: m1,
        s2: m2,
        skew: 0.4,
        furrow: 0.0,
    };
    (
        tile_pair(n, split(seed, 12), blotches, false, 1.0),
        tile_pair(n, split(seed, 13), blotches, false, 1.0),
    )
}

/// Reduced-grid maps sampled at full resolution (bilinear), for pore placement.
pub struct GridSampler<'a> {
    pub k: f32,
    pub mask: &'a Plane,
    pub density: &'a Plane,
}

impl GridSampler<'_> {
    #[inline]
    pub fn uv(&self, x: f32, y: f32) -> (f32, f32) {
        (x / self.k - 0.5, y / self.k - 0.5)
    }
}

/// Adds the pores (a pit, darker on the side towards the light, with a faint lit far wall) of
/// every pore whose footprint meets `rect` into `buf` (rect-sized, row-major). Pores exist where
/// the mask is > 0, with probability = density; their size grows with the density (the nose and
/// inner cheeks have the largest pores). Every pore is a pure function of its cell, so any split
/// of the image gives the same field.
pub fn splat_pores(
    buf: &mut [f32],
    x0: usize,
    y0: usize,
    w: usize,
    h: usize,
    p: &PoreParams,
    g: &GridSampler,
) {
    let c = p.cell;
    let speck = 0.8f32.max(p.blur);
    let sigma_max = if p.resolved {
        p.sigma_of(PORE_DIAMETER_MM.2)
    } else {
        speck
    };
    let reach = (2.5 * sigma_max).ceil() + 2.0;
    let Some((gx_min, gx_max)) = skin_columns(g, y0, h, reach) else {
        return;
    };
    let sx0 = (x0 as f32).max(gx_min as f32 * g.k - g.k - reach);
    let sx1 = ((x0 + w) as f32).min((gx_max + 2) as f32 * g.k + reach);
    if sx0 >= sx1 {
        return;
    }
    let cx0 = ((sx0 - reach) / c).floor().max(0.0) as i64;
    let cy0 = ((y0 as f32 - reach) / c).floor().max(0.0) as i64;
    let cx1 = ((sx1 + reach) / c).ceil() as i64;
    let cy1 = (((y0 + h) as f32 + reach) / c).ceil() as i64;
    let mut canvas = Canvas {
        buf,
        x0,
        y0,
        w,
        h,
        ex: [0.0; 64],
        ey: [0.0; 64],
    };
    for cy in cy0..cy1 {
        for cx in cx0..cx1 {
            let hh = hash(cx as u32, cy as u32, p.seed);
            let h2 = hash(hh, cy as u32 ^ 0x5bd1, p.seed ^ 0x68e3);
            let px = (cx as f32 + 0.1 + 0.8 * unit(hh)) * c;
            let py = (cy as f32 + 0.1 + 0.8 * unit(h2)) * c;
            let (u, v) = g.uv(px, py);
            if g.mask.sample(u, v) < 0.02 {
                continue;
            }
            let h3 = hash(h2, hh, p.seed ^ 0x1b87);
            let dens = g.density.sample(u, v);
            if unit(h3) >= dens {
                continue;
            }
            let h4 = hash(h3, h2, p.seed ^ 0x2c1f);
            if !p.resolved {
                // Micro-grain scale: a soft dark speck, depth 0.6–1.3.
                let u4 = unit(h4);
                canvas.splat(px, py, speck, -(0.6 + 0.7 * u4 * u4));
                continue;
            }
            let h5 = hash(h4, h3, p.seed);
            pore(&mut canvas, p, [px, py], dens, h4, h5);
        }
    }
}

/// The first and last grid columns with any mask in the grid rows a rect from row `y0`, `h`
/// high, reaches (pores `reach` pixels beyond it included); `None` where there is no skin.
fn skin_columns(g: &GridSampler, y0: usize, h: usize, reach: f32) -> Option<(usize, usize)> {
    let (gw, gh) = (g.mask.w, g.mask.h);
    let gy0 = (((y0 as f32 - reach) / g.k).floor().max(0.0) as usize)
        .saturating_sub(1)
        .min(gh - 1);
    let gy1 = ((((y0 + h) as f32 + reach) / g.k).ceil() as usize + 1).min(gh - 1);
    let (mut gx_min, mut gx_max) = (usize::MAX, 0usize);
    for gy in gy0..=gy1 {
        let row = &g.mask.data[gy * gw..(gy + 1) * gw];
        if let Some(first) = row.iter().position(|m| *m > 0.0) {
            let last = row.iter().rposition(|m| *m > 0.0).unwrap_or(first);
            gx_min = gx_min.min(first);
            gx_max = gx_max.max(last);
        }
    }
    (gx_min != usize::MAX).then_some((gx_min, gx_max))
}

/// One resolved pore at `at`, from its cell's hashes `h4` and `h5` and the pore density `dens`
/// there: a pit, its shadowed wall towards the light, its far wall catching a little.
fn pore(canvas: &mut Canvas, p: &PoreParams, at: [f32; 2], dens: f32, h4: u32, h5: u32) {
    let (d0, dmed, d1) = PORE_DIAMETER_MM;
    let [lx, ly] = p.light;
    // Log-normal opening, larger where pores are dense (nose, inner cheeks: ×1.15) than
    // on the forehead (×0.97), chin and upper lip (×0.9).
    let z = gauss_hash(h5, h4, p.seed ^ 0x4f1a);
    let d = (dmed * (PORE_DIAMETER_LOG_SD * z).exp() * (0.7 + 0.45 * dens)).clamp(d0, d1);
    let sg = p.sigma_of(d);
    // Depth 0.6–1.4, fainter for openings narrower than the camera's blur (a blurred
    // small pit prints fainter): small openings print faint, large ones darker, the long
    // tail real skin shows without a few black dots standing out.
    let u4 = unit(h4);
    let sg_geom = d * p.ppm / 2.355;
    let depth = (0.6 + 0.8 * u4 * u4) * (sg_geom / sg) * (0.6 + 0.4 * dens.min(1.0));
    let off = 0.45 * sg;
    canvas.splat(at[0] + off * lx, at[1] + off * ly, sg, -depth);
    let lit = 0.3 * (lx * lx + ly * ly).sqrt();
    if lit > 0.01 {
        canvas.splat(
            at[0] - 1.6 * off * lx,
            at[1] - 1.6 * off * ly,
            0.8 * sg,
            lit * depth,
        );
    }
}

/// The rect of the image pores are added into (`w`×`h` from `x0`, `y0`, row-major), with the
/// scratch rows of one Gaussian.
struct Canvas<'b> {
    buf: &'b mut [f32],
    x0: usize,
    y0: usize,
    w: usize,
    h: usize,
    ex: [f32; 64],
    ey: [f32; 64],
}

impl Canvas<'_> {
    /// Adds amp · exp(−r²/2σ²) around (px, py).
    #[inline]
    fn splat(&mut self, px: f32, py: f32, sigma: f32, amp: f32) {
        let (x0, y0, w) = (self.x0, self.y0, self.w);
        let r = (2.5 * sigma).ceil() as i64;
        let ix0 = (px.floor() as i64 - r).max(x0 as i64);
        let ix1 = (px.floor() as i64 + r + 1).min((x0 + w) as i64);
        let iy0 = (py.floor() as i64 - r).max(y0 as i64);
        let iy1 = (py.floor() as i64 + r + 1).min((y0 + self.h) as i64);
        if ix0 >= ix1 || iy0 >= iy1 {
            return;
        }
        let inv = -0.5 / (sigma * sigma);
        let nx = (ix1 - ix0) as usize;
        let ny = (iy1 - iy0) as usize;
        for (i, e) in self.ex[..nx].iter_mut().enumerate() {
            let d = (ix0 + i as i64) as f32 + 0.5 - px;
            *e = (d * d * inv).exp();
        }
        for (j, e) in self.ey[..ny].iter_mut().enumerate() {
            let d = (iy0 + j as i64) as f32 + 0.5 - py;
            *e = amp * (d * d * inv).exp();
        }
        for (j, &e) in self.ey[..ny].iter().enumerate() {
            let row = ((iy0 as usize + j) - y0) * w + (ix0 as usize - x0);
            for (b, exv) in self.buf[row..row + nx].iter_mut().zip(&self.ex[..nx]) {
                *b += e * exv;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_are_unit_and_deterministic() {
        let b = Band {
            s1x: 0.8,
            s1y: 0.6,
            s2: 2.0,
            skew: 0.0,
            furrow: 0.0,
        };
        let t1 = tile(64, 48, 7, b);
        let t2 = tile(64, 48, 7, b);
        assert_eq!(t1.data, t2.data);
        let n = t1.data.len() as f32;
        let m: f32 = t1.data.iter().sum::<f32>() / n;
        let v: f32 = t1.data.iter().map(|x| (x - m).powi(2)).sum::<f32>() / n;
        assert!(m.abs() < 1e-4 && (v - 1.0).abs() < 1e-3);
    }

    #[test]
    fn pores_do_not_depend_on_the_split() {
        let mask = Plane::from_fn(16, 16, |_, _| 1.0);
        let dens = Plane::from_fn(16, 16, |_, _| 0.8);
        let g = GridSampler {
            k: 4.0,
            mask: &mask,
            density: &dens,
        };
        let p = PoreParams::new(8.0, 42, [0.5, -0.3], CAMERA_SIGMA_PX);
        let mut whole = vec![0f32; 64 * 64];
        splat_pores(&mut whole, 0, 0, 64, 64, &p, &g);
        let mut top = vec![0f32; 64 * 20];
        let mut bottom = vec![0f32; 64 * 44];
        splat_pores(&mut top, 0, 0, 64, 20, &p, &g);
        splat_pores(&mut bottom, 0, 20, 64, 44, &p, &g);
        top.extend_from_slice(&bottom);
        assert_eq!(whole, top);
        assert!(whole.iter().any(|v| *v < -0.1));
    }
}
