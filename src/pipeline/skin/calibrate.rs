//! Sizing the texture from the deficit: the face crop is measured, each component's
//! response at unit amplitude is measured on the same crop, the amplitudes are solved so the
//! bands reach real skin's energy and shape at this scale, then the crop is rendered, measured
//! and corrected once (the linear model misses clipping and the sheen's interplay).

use super::filters::Plane;
use super::mask::smoothstep;
use super::measure::{self, Bands, LabCrop, Rect};
use super::pixels::Sample;
use super::render::{self, Components, RenderParams};
use super::{Amounts, Deficit, MeasureReport, grain, join, presets, texture};

/// Safety bound on the micro-grain amplitude (relative linear-light sd). The target, not this bound, is
/// what limits it in practice: a bound that binds would make a second pass add more.
const MAX_MICRO: f32 = 0.12;

/// Fine chroma variation grows with the skin's own chroma: on desaturated (graded, pale) skin red patches
/// read as make-up. The chroma target is at most this times the skin's mean C* (C* 25 → the full 1.85).
pub(super) const CHROMA_PER_SKIN_CHROMA: f32 = 0.075;

/// Bound on mottling (Lab sd per axis of the redness field): its patches (2–10 mm) then stay
/// within about ΔE 1.5 of their surroundings, the soft redness of real skin, never a rash.
const MAX_MOTTLE_LAB: f32 = 0.45;
/// How far skin carries its own texture, 0 to 1. Skin whose pore band already has at least
/// half the target's energy and the peaked shape of real pores (excess kurtosis ≥ 3: discrete
/// pits, not noise) carries its own (1). Below either bound the share fades out, to 0 at 0.4
/// of the energy or kurtosis 2.5, so a face just under a bound is filled only part of the way
/// instead of jumping from ×1.1 of its own texture to real skin's full level.
fn textured_share(before: &Bands, targets: &Bands) -> f32 {
    let energy = smoothstep(0.4, 0.5, before.fine / targets.fine.max(1e-9));
    let peaked = smoothstep(2.5, 3.0, before.fine_kurt);
    energy.min(peaked)
}
/// The pore band's skew of real skin where its pits stand clear of its noise: the engine's
/// own reading of the clean NASA studio portrait in `shared/samples/real-hires` (7 px/mm,
/// noise floor σ L* 0.10), the source of the cheek and nose detail.
const PITTED_SKEW: f32 = -0.36;

/// How much of the pore band's energy is pits, 0 to 1, read from its skew: third moments of
/// independent parts add, and only pits are dark-skewed, so a band whose variance is a share
/// `s` pits (at [`PITTED_SKEW`]) and the rest symmetric noise reads skew `s^1.5 · PITTED_SKEW`.
/// Symmetric or bright-skewed bands (noise, a generator's mottle, lines lit from both sides)
/// read 0.
fn pitted_share(before: &Bands) -> f32 {
    (before.fine_skew / PITTED_SKEW)
        .clamp(0.0, 1.0)
        .powf(2.0 / 3.0)
}

/// Most noise, relative to real skin's pore band, that real pores still show through. The
/// noisiest real reference, a NASA press portrait at 9 px/mm, reads a symmetric pore band of
/// 0.0126, about √5 × the target: real skin's pores under noise twice their level.
const NOISE_OVER_PORES: f32 = 2.0;

/// The energy (squared) of the pore band's unpitted part: a generator's noise and mottle or a
/// camera's grain, which is not pores. Real skin's pores come on top of it, as they lie under a
/// camera's noise, up to [`NOISE_OVER_PORES`]; noisier skin hides pores as such a photograph
/// does, and counts as having them. (At 1.4× real skin's level, on a gpt-image portrait, pores
/// drawn under the noise still read on the nose at 100 %.)
fn unpitted_energy(before: &Bands, targets: &Bands) -> f32 {
    ((1.0 - pitted_share(before)) * before.fine.powi(2))
        .min((NOISE_OVER_PORES * targets.fine).powi(2))
}

/// Most the pore and relief bands of already textured skin may grow (×1.1 in energy sd; the
/// one-line summary tells a top-up from a part-way fill by it).
pub(crate) const TEXTURED_TOP_UP: f32 = 1.1;

/// Most contrast real skin detail is given, relative to the skin it was taken from: a picture
/// enlarged 2–4× is blurrier than the studio capture, and real skin drawn at its own contrast
/// through that blur reads faint (half the pore band of real skin on a 3 px blurred face); at
/// 2.0 and above a smooth young face reads weathered (chosen on before/after crops at 1.0, 1.5,
/// 2.0 and the uncapped 2.6, as 1.6 on tiles that still held the source JPEG's block edges).
/// Those edges carried about 15 % of a tile's pore-band energy (its unit response fell by
/// ×1.17–1.22 when they were taken out) and almost none of its pores, so the cap is raised by
/// that ratio: the pore band reaches as far as before, filled with pores instead of the grid.
/// A whole tile's contrast at the cap is 1.75× the old tiles' own, under the 2.0 that read weathered.
const MAX_DETAIL_GAIN: f32 = 1.9;
/// Share of the pore band's deficit (energy) that resolved pores carry; the rest is fine grain.
const RESOLVED_PORE_SHARE: f32 = 0.7;
/// Chroma of a resolved pit per unit of the L* it is drawn darker by, besides the warmth of
/// [`render::PIT_TINT`]: together they give +0.53 a* and +0.36 b* per unit of ΔL* over a grey
/// darkening, as the pores of the unretouched real-hires portraits read (+0.48–0.59 a*,
/// +0.30–0.51 b* on the cheeks, nose and forehead of both clean ones: `bench/pit-colour.py`).
const PIT_CHROMA: f32 = 0.3;

fn mottle_cap(_skin_chroma: f32) -> f32 {
    MAX_MOTTLE_LAB
}
/// Pigment mottling relative to redness mottling: redness patches dominate the fine colour of skin.
const PIGMENT_SHARE: f32 = 0.5;

/// What the calibration aims for, besides the pixels.
pub(super) struct Aims<'a> {
    /// The configured multipliers (preset × config × strength), applied on top of the fill.
    pub amounts: &'a Amounts,
    pub recipe: &'a presets::Recipe,
    /// Pixels per millimetre.
    pub ppm: f32,
    /// Real skin's bands at this scale.
    pub targets: &'a Bands,
    /// The skin's mean C*.
    pub skin_chroma: f32,
    /// The metadata says the picture is not AI-generated: its skin is only topped up.
    pub declared_not_ai: bool,
}

/// The crop measured, and what every calibration step reads of it.
struct Crop<'a, T> {
    src: &'a [T],
    ch: usize,
    img_w: usize,
    region: Rect,
    /// The skin pixels measured in it.
    sel: Vec<bool>,
    ppm: f32,
    threads: usize,
}

impl<T: Sample> Crop<'_, T> {
    /// Renders the crop with `p` (its top and bottom halves side by side, on two threads) and
    /// measures its bands. The camera's grain is left out: it is the picture's, over the whole
    /// frame, and never counts toward the skin's texture, so a grainy setting cannot thin the
    /// pores.
    fn render_measure(&self, p: &RenderParams) -> Bands {
        let p = &RenderParams { grain: 0.0, ..*p };
        let region = self.region;
        let (h, ch) = (region.h(), self.ch);
        let half = h / 2;
        // Each half rendered and converted to Lab on its own thread.
        let pass = |r: Rect| {
            let mut out = vec![self.src[0]; r.w() * r.h() * ch];
            render::render_rect(self.src, 0, ch, self.img_w, r, p, &mut out);
            measure::lab_of(&out, ch, r.w() * ch, r, (r.x0, r.y0), p.space)
        };
        let (top, bottom) = join(
            self.threads,
            || {
                pass(Rect {
                    y1: region.y0 + half,
                    ..region
                })
            },
            || {
                pass(Rect {
                    y0: region.y0 + half,
                    ..region
                })
            },
        );
        let lab = top.stacked(bottom);
        measure::bands_par(&lab, &self.sel, self.ppm, self.threads)
    }

    /// A plane over the crop from a per-pixel function.
    fn plane(&self, f: impl Fn(usize) -> f32) -> Plane {
        let (w, h) = (self.region.w(), self.region.h());
        Plane {
            w,
            h,
            data: (0..w * h).map(f).collect(),
        }
    }
}

/// Measures the crop, sizes every component from the deficit, checks by rendering the crop, and
/// corrects once. Leaves the amplitudes in `params`.
pub(super) fn calibrate<T: Sample>(
    src: &[T],
    ch: usize,
    img_w: usize,
    region: Rect,
    params: &mut RenderParams,
    aims: &Aims,
    threads: usize,
) -> MeasureReport {
    let ppm = aims.ppm;
    let (lab0, comps) = join(
        threads,
        || measure::lab_of(src, ch, img_w * ch, region, (0, 0), params.space),
        || render::components(src, ch, img_w, region, params),
    );
    let crop = Crop {
        src,
        ch,
        img_w,
        region,
        sel: measure::selection(&lab0.l, &comps.mask, ppm),
        ppm,
        threads,
    };
    let before = measure::bands_par(&lab0, &crop.sel, ppm, threads);
    let unpitted = unpitted_energy(&before, aims.targets);
    let (targets, top_up_only) = topped_up(&before, aims.targets, unpitted, aims.declared_not_ai);
    let mut rep = MeasureReport {
        region: Some(region),
        before,
        target: targets,
        deficit_before: Deficit::of(&before, &targets),
        top_up_only: top_up_only.map(String::from),
        ..MeasureReport::default()
    };
    if before.samples == 0 {
        rep.after = before;
        rep.deficit_after = rep.deficit_before;
        return rep;
    }
    let ml = measure::mean_l(&lab0, &crop.sel);
    let u = unit_responses(&crop, &lab0, &comps, params, ml);

    // Real skin detail fills the pore band only as far as real skin at the most contrast it is
    // given ([`MAX_DETAIL_GAIN`]) reaches at this scale and softness: a target beyond that would
    // make every further pass add the same again.
    let exemplar = params.tex.detail.is_some();
    // Beside the skin's own unpitted texture, the most the target may be.
    let most = (unpitted + (MAX_DETAIL_GAIN * u.p_f).powi(2)).sqrt();
    let targets = if exemplar && most < targets.fine && before.fine < targets.fine {
        let reachable = Bands {
            fine: most,
            ..targets
        };
        rep.target = reachable;
        rep.deficit_before = Deficit::of(&before, &reachable);
        reachable
    } else {
        targets
    };
    let resolved = 0.25 * ppm >= texture::MIN_PORE_PX;
    let kind = Kind { exemplar, resolved };
    let share = pore_share(&u, &before, &targets, aims, kind);
    let (fine_e, relief_x) = fine_and_relief(&u, &before, &targets, share, kind);
    params.a_pore = if exemplar {
        // Real skin at its own contrast, scaled by the share of real skin's pore-band energy
        // that is missing: a plastic face gets the whole of it, a textured one little. The
        // picture's blur then softens it as a camera would, instead of the amount being
        // raised until a blurred picture measures as sharp skin.
        ((fine_e).sqrt() / u.p_f.max(1e-6)).min(MAX_DETAIL_GAIN)
    } else {
        (share * fine_e).sqrt() / u.p_f.max(1e-6)
    };
    params.a_micro = (((1.0 - share) * fine_e).sqrt() / u.g_f.max(1e-6)).min(MAX_MICRO);
    params.a_relief = relief_x.sqrt();
    let chroma = chroma_amounts(&u, &before, &targets, aims.skin_chroma, ml, kind, params);
    let first = crop.render_measure(params);
    correct_once(&first, &before, &targets, fine_e, &chroma, exemplar, params);
    apply_multipliers(params, aims.amounts, exemplar);
    let after = crop.render_measure(params);
    rep.after = after;
    rep.deficit_after = Deficit::of(&after, &targets);
    rep
}

/// Skin that is already pitted (a real photograph, an already textured picture, a second
/// pass), and the skin of a picture declared not AI-generated, is topped up by at most a tenth
/// of what it has, whatever the target says: a photograph enlarged past its own resolution
/// keeps its pores blurred, and filling its band to the target would be the engine's skin, not
/// the sitter's. `unpitted` is the band's energy that is not pits ([`unpitted_energy`]).
/// The targets to fill, and why they were held, when they were.
fn topped_up(
    before: &Bands,
    targets: &Bands,
    unpitted: f32,
    declared_not_ai: bool,
) -> (Bands, Option<&'static str>) {
    let (share, top_up_only) = if declared_not_ai {
        (
            1.0,
            Some(
                "the metadata declares the picture not AI-generated: its own skin is topped up by at most 10 %",
            ),
        )
    } else {
        let share = textured_share(before, targets);
        let why = if share >= 1.0 {
            Some("the skin already has pitted texture of its own: it is topped up by at most 10 %")
        } else if share > 0.0 {
            Some(
                "the skin has some pitted texture of its own: it is filled only part of the way to real skin's",
            )
        } else {
            None
        };
        (share, why)
    };
    // Between real skin's level and ×1.1 of the skin's own, by the share it carries.
    let toward = |target: f32, own: f32| {
        let held = target.min(TEXTURED_TOP_UP * own);
        target + share * (held - target)
    };
    // Real skin's pores come on top of the band's unpitted part (energies add in quadrature),
    // on skin that does not carry its own: a declared photograph's noise is its camera's, over
    // its own pores.
    let unpitted = (1.0 - share) * unpitted;
    let targets = Bands {
        fine: toward((targets.fine.powi(2) + unpitted).sqrt(), before.fine),
        mid: toward(targets.mid, before.mid),
        ..*targets
    };
    (targets, top_up_only)
}

/// Each component's response at unit amplitude on the crop: pore- and relief-band energies
/// (`_f`, `_m`), the pore band's cumulants of pores and micro-grain (`v`, `m3`, `k4`), and
/// the chroma of unit mottling and of unit pore tint.
struct Units {
    p_f: f32,
    p_m: f32,
    g_f: f32,
    g_m: f32,
    r_f: f32,
    r_m: f32,
    vp: f64,
    m3p: f64,
    k4p: f64,
    vg: f64,
    m3g: f64,
    k4g: f64,
    c_unit: f32,
    pc_unit: f32,
}

/// Which texture the scale allows.
#[derive(Clone, Copy)]
struct Kind {
    /// Real skin detail (tiles) rather than procedural pores.
    exemplar: bool,
    /// Pores of at least [`texture::MIN_PORE_PX`].
    resolved: bool,
}

/// Measures every component's ΔL* (or Lab) field at unit amplitude, weighted like the render
/// does.
fn unit_responses<T: Sample>(
    crop: &Crop<T>,
    lab0: &LabCrop,
    comps: &Components,
    params: &RenderParams,
    ml: f32,
) -> Units {
    let (sel, ppm) = (&crop.sel, crop.ppm);
    let hb = params.a_sheen;
    let field = |f: &dyn Fn(usize) -> f32| {
        measure::lstar_response(lab0, &crop.plane(|i| comps.weight.data[i] * f(i)))
    };
    let pores = field(&|i| comps.pores.data[i] + 2.0 * hb * comps.sheen_pores.data[i]);
    let micro = field(&|i| comps.micro.data[i] + 1.5 * hb * comps.sheen_micro.data[i]);
    let relief = field(&|i| comps.relief.data[i]);
    let resp = |p: &Plane| {
        (
            measure::band_energy(p, sel, ppm, 0.1, 0.3, ml),
            measure::band_energy(p, sel, ppm, 0.3, 1.0, ml),
        )
    };
    // Grain at its planned σ (ΔL* = σ · profile(L*) · noise).
    let grain_field =
        crop.plane(|i| params.grain * grain::profile(lab0.l.data[i]) * comps.grain.data[i]);
    // Mottling: both fields at unit Lab amplitude.
    let mred = crop.plane(|i| comps.mask.data[i] * comps.redness.data[i]);
    let mpig = crop.plane(|i| PIGMENT_SHARE * comps.mask.data[i] * comps.pigment.data[i]);
    let (((p_f, p_m), (vp, m3p, k4p, vg, m3g, k4g, g_f, g_m)), ((r_f, r_m), (c_unit, pc_unit))) =
        join(
            crop.threads,
            || {
                let (vp, m3p, k4p) = measure::band_cumulants(&pores, sel, ppm, 0.1, 0.3, ml);
                let (vg, m3g, k4g) = measure::band_cumulants(&micro, sel, ppm, 0.1, 0.3, ml);
                (
                    (
                        vp.sqrt() as f32,
                        measure::band_energy(&pores, sel, ppm, 0.3, 1.0, ml),
                    ),
                    (
                        vp,
                        m3p,
                        k4p,
                        vg,
                        m3g,
                        k4g,
                        vg.sqrt() as f32,
                        measure::band_energy(&micro, sel, ppm, 0.3, 1.0, ml),
                    ),
                )
            },
            || {
                let pcf = |k: f32| crop.plane(|i| k * comps.mask.data[i] * comps.pits.data[i]);
                let pc_unit = measure::chroma_energy(
                    &pcf(render::PORE_CHROMA_A),
                    &pcf(render::PORE_CHROMA_B),
                    sel,
                    ppm,
                );
                (
                    resp(&relief),
                    (
                        measure::chroma_energy(&mred, &mpig, sel, ppm).max(1e-6),
                        pc_unit,
                    ),
                )
            },
        );
    if std::env::var_os("SKIN_DEBUG").is_some() {
        let (n_f, n_m) = resp(&grain_field);
        let shape = |f: &Plane| {
            let mut l = LabCrop {
                l: f.clone(),
                a: f.clone(),
                b: f.clone(),
            };
            l.l.data.iter_mut().for_each(|v| *v += 50.0);
            let b = measure::bands(&l, sel, ppm);
            (b.fine_skew, b.fine_kurt)
        };
        eprintln!(
            "calib: pores f {p_f:.5} m {p_m:.5} {:?}; micro f {g_f:.5} m {g_m:.5}; relief f {r_f:.5} m {r_m:.5}; grain f {n_f:.5} m {n_m:.5} {:?}",
            shape(&pores),
            shape(&grain_field)
        );
    }
    Units {
        p_f,
        p_m,
        g_f,
        g_m,
        r_f,
        r_m,
        vp,
        m3p,
        k4p,
        vg,
        m3g,
        k4g,
        c_unit,
        pc_unit,
    }
}

/// Split of the pore band between discrete pits and micro-grain. Pores carry the band's shape:
/// size them so the whole pore band lands at real skin's skew (third moments of independent
/// components add), hold the kurtosis under the pepper limit (fourth cumulants add), then let
/// symmetric micro-grain fill what is left of the deficit; no more than the scale allows.
fn pore_share(u: &Units, before: &Bands, targets: &Bands, aims: &Aims, kind: Kind) -> f32 {
    let t2 = (targets.fine as f64).powi(2);
    let t3 = t2 * targets.fine as f64;
    let m3e = before.fine_skew as f64 * (before.fine as f64).powi(3);
    let k4e = before.fine_kurt as f64 * (before.fine as f64).powi(4);
    // Grain is the camera's, over the whole picture: it never counts toward the skin's texture.
    let df2 = targets.fine.powi(2) - before.fine.powi(2);
    let s_max = (texture::max_pore_share(aims.ppm) * aims.recipe.pore_share / 0.8).min(1.0);
    let (vp, vg) = (u.vp, u.vg);
    // Resolved pores carry most of the band; a little fine micro-grain between them (the skin's
    // own fine irregularity) keeps the pits from standing out of a plastic base like pepper.
    // Real skin detail carries the whole pore band itself (pits, fine lines and the skin
    // between them), so nothing synthetic is mixed in.
    if kind.exemplar {
        1.0
    } else if kind.resolved {
        RESOLVED_PORE_SHARE
    } else if df2 > 0.0 && vp > 0.0 && vg > 0.0 {
        let skp = u.m3p / vp.powf(1.5);
        let kup = u.k4p / (vp * vp);
        let skg = u.m3g / vg.powf(1.5);
        let kug = u.k4g / (vg * vg);
        let d = df2 as f64;
        let mut best = (f64::MAX, 0.0f32);
        for step in 0..=20 {
            let sh = s_max * step as f32 / 20.0;
            let (vp_, vg_) = (sh as f64 * d, (1.0 - sh as f64) * d);
            let m3 = m3e + skp * vp_.powf(1.5) + skg * vg_.powf(1.5);
            let k4 = k4e + kup * vp_ * vp_ + kug * vg_ * vg_;
            let skew = m3 / t3;
            let kurt = k4 / (t2 * t2);
            let cost = (skew - measure::SKEW_TARGET as f64).abs()
                + 0.2 * (kurt - measure::KURT_MAX as f64).max(0.0);
            if cost < best.0 {
                best = (cost, sh);
            }
        }
        best.1
    } else {
        s_max.min(aims.recipe.pore_share)
    }
}

/// The pore band's energy to fill (`fine_e`) and the relief amplitude², solved so both bands
/// reach their targets (energies add in quadrature).
fn fine_and_relief(
    u: &Units,
    before: &Bands,
    targets: &Bands,
    share: f32,
    kind: Kind,
) -> (f32, f32) {
    let df2 = targets.fine.powi(2) - before.fine.powi(2);
    let dm2 = targets.mid.powi(2) - before.mid.powi(2);
    let (pf2, gf2) = ((u.p_f * u.p_f).max(1e-12), (u.g_f * u.g_f).max(1e-12));
    let q = share * (u.p_m * u.p_m) / pf2 + (1.0 - share) * (u.g_m * u.g_m) / gf2;
    let (rf2, rm2) = (u.r_f * u.r_f, (u.r_m * u.r_m).max(1e-12));
    if kind.exemplar {
        // Its fine lines and micro-relief come with it, at real skin's proportions.
        (df2.max(0.0), 0.0)
    } else if kind.resolved && df2 > 0.0 {
        // Resolved skin: the furrow network takes a third of the micro-relief deficit first (its
        // fine lines may use at most a third of the pore band), so the skin between the pores is
        // not plastic; the pores fill the rest of the pore band.
        let x = (0.33 * dm2.max(0.0) / rm2).min(0.33 * df2 / rf2.max(1e-12));
        ((df2 - x * rf2).max(0.0), x)
    } else if df2 <= 0.0 {
        (0.0, (dm2.max(0.0)) / rm2)
    } else {
        let den = rm2 - q * rf2;
        let x = if den > 1e-12 {
            ((dm2 - q * df2) / den).clamp(0.0, df2 / rf2.max(1e-12))
        } else {
            0.0
        };
        ((df2 - x * rf2).max(0.0), x)
    }
}

/// The colour amounts chosen, and their bounds, for the correction.
struct Chroma {
    /// Mottling amplitude and pore tint before the correction.
    a_c: f32,
    a_pc: f32,
    /// The chroma this face can take.
    c_target: f32,
    mottle_cap: f32,
}

/// Chroma: blotchy mottling first, up to a natural amplitude; what is still missing rides on
/// the pores (red-brown pits), never as free colour noise. Sets the colour amplitudes.
fn chroma_amounts(
    u: &Units,
    before: &Bands,
    targets: &Bands,
    skin_chroma: f32,
    ml: f32,
    kind: Kind,
    params: &mut RenderParams,
) -> Chroma {
    let mottle_cap = mottle_cap(skin_chroma);
    // Resolved pits are slightly darker *and* redder (blood and sebum in the follicle): their
    // chroma follows the L* they are drawn darker by, PIT_CHROMA Lab units per unit of ΔL*.
    // Below ~1.5 px per pore the pits are single pixels, and colour there reads as a camera's
    // colour noise, not skin.
    let a_pc = if kind.resolved && params.a_pore > 0.0 && targets.chroma > 0.0 {
        PIT_CHROMA
    } else {
        0.0
    };
    // A unit pit field drawn at the pore amplitude is this many L* deep.
    let dl_per_pit = params.a_pore * (ml + 16.0) / 3.0;
    let pc2 = (a_pc * dl_per_pit * u.pc_unit).powi(2);
    // The chroma this face can take from its pores and mottling at its natural bound: a target
    // beyond it would make every further pass add the same again, so the fill stops there.
    let c_target = targets
        .chroma
        .min((pc2 + (mottle_cap * u.c_unit).powi(2)).sqrt());
    let c_deficit = (c_target.powi(2) - before.chroma.powi(2) - pc2)
        .max(0.0)
        .sqrt();
    let a_c = (c_deficit / u.c_unit).min(mottle_cap);
    params.a_redness = a_c;
    params.a_pigment = PIGMENT_SHARE * a_c;
    params.a_pore_chroma = a_pc;
    Chroma {
        a_c,
        a_pc,
        c_target,
        mottle_cap,
    }
}

/// The factor (×0.5–2 in amplitude) that takes a band's added energy, `after` over `before`,
/// to what was wanted (`target`); 1 when nothing was added or nothing is wanted.
fn energy_fix(after: f32, before: f32, target: f32) -> f32 {
    let added = after * after - before * before;
    let want = target * target - before * before;
    if added <= 1e-12 || want <= 0.0 {
        1.0
    } else {
        (want / added).sqrt().clamp(0.5, 2.0)
    }
}

/// The pore band's correction after the first render (`first`): towards its target, and, for
/// procedural texture, no further than keeps the micro-relief band at real skin's level. That
/// texture leaks into the micro-relief band (most at micro-grain scales), and pushed past real
/// skin the band reads as noise rather than texture. Real skin detail brings its own
/// micro-relief at real skin's proportions and is not held back by it: a face whose
/// micro-relief band is nearly full already (an old man's wrinkles) would otherwise get half
/// its pores, where one a little fuller (past the target) got all of them.
fn pore_band_correction(first: &Bands, before: &Bands, targets: &Bands, exemplar: bool) -> f32 {
    let kf = energy_fix(first.fine, before.fine, targets.fine);
    if !exemplar && first.mid > targets.mid && first.mid > before.mid && before.mid < targets.mid {
        kf.min(energy_fix(first.mid, before.mid, targets.mid))
    } else {
        kf
    }
}

/// The check on the rendered crop (`first`), corrected once: each band's added energy is
/// scaled towards what was wanted, within ×0.5–2.
fn correct_once(
    first: &Bands,
    before: &Bands,
    targets: &Bands,
    fine_e: f32,
    chroma: &Chroma,
    exemplar: bool,
    params: &mut RenderParams,
) {
    if fine_e > 0.0 {
        let mut kf = pore_band_correction(first, before, targets, exemplar);
        if exemplar {
            // Real skin's contrast is never raised past its bound, only lowered where the
            // pore band overshoots.
            kf = kf.min(MAX_DETAIL_GAIN / params.a_pore.max(1e-6));
        }
        params.a_pore *= kf;
        params.a_micro = (params.a_micro * kf).min(MAX_MICRO);
    }
    if chroma.a_c > 0.0 || chroma.a_pc > 0.0 {
        let kc = energy_fix(first.chroma, before.chroma, chroma.c_target).min(1.0 / 0.8);
        params.a_redness = (params.a_redness * kc).min(chroma.mottle_cap);
        params.a_pigment = (params.a_pigment * kc).min(PIGMENT_SHARE * chroma.mottle_cap);
        params.a_pore_chroma = (params.a_pore_chroma * kc).min(PIT_CHROMA);
    }
}

/// The configured multipliers (preset × config × strength) apply on top of the deficit fill.
/// Real skin detail carries pores and micro-relief together: both multipliers scale it
/// (their geometric mean), so `pores = 0` or `relief = 0` turns it off and each preset's
/// leaning still shows.
fn apply_multipliers(params: &mut RenderParams, amounts: &Amounts, exemplar: bool) {
    params.a_pore *= if exemplar {
        (amounts.pores * amounts.relief).sqrt()
    } else {
        amounts.pores
    };
    params.a_micro *= amounts.pores;
    params.a_relief *= amounts.relief;
    params.a_redness *= amounts.mottling;
    params.a_pigment *= amounts.mottling;
    params.a_pore_chroma *= amounts.mottling;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real skin's pore and micro-relief bands (the default targets).
    fn real_skin() -> Bands {
        Bands {
            fine: measure::TARGET_FINE,
            mid: measure::TARGET_MID,
            ..Bands::default()
        }
    }

    /// The pore band's target for skin `b`, as `calibrate` sets it (its unpitted part read from
    /// `b` itself).
    fn fill(b: &Bands, target: &Bands, declared_not_ai: bool) -> f32 {
        topped_up(b, target, unpitted_energy(b, target), declared_not_ai)
            .0
            .fine
    }

    /// Pitted skin with this pore band (energy, excess kurtosis; skew as real skin's) and a
    /// micro-relief band of 0.0100.
    fn skin(fine: f32, fine_kurt: f32) -> Bands {
        Bands {
            fine,
            mid: 0.0100,
            fine_kurt,
            fine_skew: PITTED_SKEW,
            ..Bands::default()
        }
    }

    #[test]
    fn pitted_skin_with_real_energy_counts_as_textured() {
        let (target, with) = (real_skin(), skin);
        // A real press photograph: real-photo energy and peaked pits.
        assert_eq!(textured_share(&with(0.0054, 3.8), &target), 1.0);
        // Smooth AI skin, or noise of the same energy (flat, not peaked): not textured.
        assert_eq!(textured_share(&with(0.0008, 0.5), &target), 0.0);
        assert_eq!(textured_share(&with(0.0070, 0.3), &target), 0.0);
        // A few pits on nearly plastic skin are not enough either.
        assert_eq!(textured_share(&with(0.0020, 6.0), &target), 0.0);
    }

    #[test]
    fn texture_just_under_a_bound_is_filled_part_of_the_way_not_all() {
        let (target, with) = (real_skin(), skin);
        let t = target.fine;
        let fine_target = |b: &Bands| fill(b, &target, false);
        // Peaked pits at 60 % of real skin's energy: topped up by 10 %, whichever side of
        // kurtosis 3 they measure, and the target falls steadily as the kurtosis rises.
        let own = 0.6 * t;
        let ks = [2.4, 2.6, 2.8, 2.96, 3.0, 3.5];
        let fills: Vec<f32> = ks.iter().map(|&k| fine_target(&with(own, k))).collect();
        assert_eq!(fills[0], t, "not pitted: filled to real skin");
        assert!((fills[4] - 1.1 * own).abs() < 1e-7, "pitted: topped up");
        assert!(fills.windows(2).all(|w| w[1] <= w[0]), "{fills:?}");
        // Just under the bound it is nearly topped up, not filled to real skin (the cliff).
        assert!(fills[3] < 1.1 * own + 0.1 * (t - 1.1 * own), "{fills:?}");
        // The reason says so.
        assert!(topped_up(&with(own, 2.8), &target, 0.0, false).1.is_some());
        assert!(topped_up(&with(own, 2.4), &target, 0.0, false).1.is_none());
        // The same along the energy bound (0.38, 0.42, 0.47 and 0.51 of real skin's).
        let e: Vec<f32> = [0.38, 0.42, 0.47, 0.51]
            .iter()
            .map(|&f| fine_target(&with(f * t, 5.0)))
            .collect();
        assert_eq!(e[0], t);
        assert!((e[3] - 1.1 * 0.51 * t).abs() < 1e-7);
        assert!(e.windows(2).all(|w| w[1] <= w[0]), "{e:?}");
    }

    #[test]
    fn noise_in_the_pore_band_is_not_counted_as_pores() {
        let target = real_skin();
        let t = target.fine;
        let band = |fine: f32, fine_skew: f32| Bands {
            fine,
            fine_skew,
            fine_kurt: 0.5,
            ..Bands::default()
        };
        let added = |b: &Bands| (fill(b, &target, false).powi(2) - b.fine.powi(2)).sqrt();
        // A generator's symmetric noise at 80 % of real skin's energy: real skin's pores
        // still come on top of it in full, where counting the noise would leave 60 % of them.
        let noise = band(0.8 * t, 0.0);
        assert!((added(&noise) - t).abs() < 1e-6, "{}", added(&noise));
        // Bright-skewed texture (lines lit from both sides, highlights) is no pits either.
        assert!((added(&band(0.8 * t, 0.3)) - t).abs() < 1e-6);
        // Pitted skin at the same energy counts in full: only the rest is filled.
        let pitted = band(0.8 * t, PITTED_SKEW);
        assert!(
            (added(&pitted) - 0.6 * t).abs() < 1e-6,
            "{}",
            added(&pitted)
        );
        // In between, the more dark-skewed the band, the less is added.
        let fills: Vec<f32> = [0.0, -0.05, -0.1, -0.2, -0.3, -0.36, -0.6]
            .iter()
            .map(|&k| added(&band(0.8 * t, k)))
            .collect();
        assert!(fills.windows(2).all(|w| w[1] <= w[0]), "{fills:?}");
        // Noise twice real skin's level still has them come on top; far noisier, noise hides
        // pores as a camera's does, and nothing is added.
        assert!((added(&band(2.0 * t, 0.0)) - t).abs() < 1e-6);
        let grainy = band(3.0 * t, 0.0);
        let to = fill(&grainy, &target, false);
        assert!(to <= grainy.fine, "{to} over {}", grainy.fine);
        // A picture declared a photograph keeps its own texture whatever its shape: at most
        // a tenth more, and nothing where it already has real skin's level.
        let declared = fill(&noise, &target, true);
        assert!(declared <= 1.1 * noise.fine + 1e-7, "{declared}");
        let camera = band(1.2 * t, 0.0);
        let held = fill(&camera, &target, true);
        assert!(held <= camera.fine, "{held} over {}", camera.fine);
    }

    #[test]
    fn real_skin_detail_fills_its_pore_band_however_full_the_micro_relief_is() {
        let target = real_skin();
        let bands = |fine, mid| Bands {
            fine,
            mid,
            ..Bands::default()
        };
        // A wrinkled face: little pore band, a micro-relief band just under real skin's. The
        // first render reached the pore band's target and took the micro-relief band past it.
        let (before, first) = (bands(0.0016, 0.0096), bands(target.fine, 0.0130));
        let real = pore_band_correction(&first, &before, &target, true);
        assert!(
            (real - 1.0).abs() < 1e-3,
            "real skin detail held back: ×{real}"
        );
        // The same face a little more wrinkled (its band past the target): the same answer.
        let fuller = pore_band_correction(&first, &bands(0.0016, 0.0110), &target, true);
        assert!((fuller - real).abs() < 1e-3);
        // Procedural micro-grain is held at real skin's micro-relief: its leak reads as noise.
        let procedural = pore_band_correction(&first, &before, &target, false);
        assert!(procedural < 0.6, "micro-grain not held back: ×{procedural}");
        // Short of the target, the band is raised towards it.
        let short = pore_band_correction(&bands(0.0035, 0.0100), &before, &target, true);
        assert!(short > 1.5, "×{short}");
    }
}
