//! The soft skin mask (0..1) on the reduced copy, plus the pore-density and specular-sheen maps that ride on it.
//!
//! Skin colour is modelled per face: a Gaussian in CbCr fitted to that face's cheeks, forehead and nose
//! (found by its landmarks), so every skin tone, make-up and coloured light is judged against itself.
//! The mask belongs to the person: it is that model inside the face oval, grown from the oval through
//! connected skin-coloured pixels into the ears, neck and décolleté, and stopped by edges, so a wall or a
//! jacket of the same colour is not skin; off the oval, the person segmentation must also see a person.
//! Detached skin (arms, hands) is kept when it has the face's own colour, at most a few faces' size
//! and the face's saturation for its lightness (a cream blouse of the skin's hue is paler).
//! Eyes, brows, lips and nostrils are locked by their landmark polygons, feathered; hair,
//! beard and stubble inside the oval are found by being darker and busier than the face's clean skin
//! (above the nostrils, a thin ridge of texture between clean skin is a wrinkle, and skin).
//! A guided filter on the luma makes the result follow hairlines, beards and clothing edges.

use super::filters::{Plane, blur, box_mean, gradient_magnitude, guided};
use super::join;
use super::pixels::Reduced;
use crate::face::{Face, FaceBox, PersonMask, mesh};
use serde::Serialize;

/// The fitted skin colour model (CbCr in 0..255 units, luma 0..1).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct SkinModel {
    pub cb: f32,
    pub cr: f32,
    #[serde(skip)]
    pub icov: [[f32; 2]; 2],
    pub luma_mean: f32,
    pub luma_sd: f32,
    /// Typical within-block luma sd of clean skin (30th percentile of the samples): the reference the
    /// "busy" gate (stubble, hair) compares with.
    pub texture_ref: f32,
    pub samples: usize,
}

/// Mask and companion maps on the reduced grid.
pub struct SkinMaps {
    /// Where texture goes (0..1).
    pub mask: Plane,
    /// Relative pore density by landmark region (see [`mesh::REGIONS`]), body 0.7.
    pub density: Plane,
    /// Specular sheen on skin (0..1): where highlight breakup applies.
    pub sheen: Plane,
    /// Eyes, brows, lips and nostrils from the landmarks (1 = locked), kept for tests and the overlay.
    pub locks: Plane,
    /// One colour model per face, in face order.
    pub models: Vec<SkinModel>,
    /// Share of the image where the mask exceeds 0.5.
    pub coverage: f32,
}

/// Relative pore density of neck, arms and hands (the face's come from [`mesh::REGIONS`]).
const BODY_DENSITY: f32 = 0.7;

/// Squared CbCr chroma (255 units) the face's skin needs before its hue can tell skin from a
/// neutral surface in the same light (below it, a grey or heavily desaturated picture).
const MIN_CHROMA_FOR_HUE2: f32 = 36.0;
/// Mean [`saturation`] at and above which a detached skin-coloured region (an arm, a hand, a
/// shoulder) is kept whole, and below [`MIN_BODY_SATURATION`] dropped; in between it fades.
/// On the development portraits, arms, hands, shoulders and necks read 0.71–1.7 of their
/// face's saturation, the cream blouses, a shirt collar and a window frame beside the hair
/// that passed every other test 0.54–0.68.
const BODY_SATURATION: f32 = 0.75;
/// See [`BODY_SATURATION`].
const MIN_BODY_SATURATION: f32 = 0.6;

/// 0 below `e0`, 1 above `e1`, a smooth (cubic) step between.
#[inline]
pub(super) fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Luma (0..1) and Cb, Cr (0..255, neutral at 128) of an encoded sRGB colour (0..1).
#[inline]
pub(crate) fn ycbcr(c: [f32; 3]) -> [f32; 3] {
    let (r, g, b) = (c[0] * 255.0, c[1] * 255.0, c[2] * 255.0);
    [
        0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2],
        128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b,
        128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b,
    ]
}

/// Soft membership of the general skin locus (Cb 77–127, Cr 133–173, as in the skin literature and skin_eval).
#[inline]
fn locus(cb: f32, cr: f32) -> f32 {
    let inside = |v: f32, lo: f32, hi: f32| {
        smoothstep(lo - 4.0, lo + 2.0, v) * (1.0 - smoothstep(hi - 2.0, hi + 4.0, v))
    };
    inside(cb, 77.0, 127.0) * inside(cr, 133.0, 173.0)
}

/// A face box mapped to the reduced grid.
#[derive(Clone, Copy)]
struct GridFace {
    x: f32,
    y: f32,
    w: f32,
    h: f32,
}

impl GridFace {
    fn of(f: &FaceBox, k: usize) -> GridFace {
        let k = k as f32;
        GridFace {
            x: f.x / k,
            y: f.y / k,
            w: f.w / k,
            h: f.h / k,
        }
    }
    /// Box-relative coordinates of a grid cell centre.
    fn rel(&self, gx: usize, gy: usize) -> (f32, f32) {
        (
            (gx as f32 + 0.5 - self.x) / self.w,
            (gy as f32 + 0.5 - self.y) / self.h,
        )
    }
}

/// Soft ellipse weight: 1 inside, 0 outside, `soft` wide edge (in radius units).
#[inline]
fn ellipse(u: f32, v: f32, cx: f32, cy: f32, rx: f32, ry: f32, soft: f32) -> f32 {
    let d = (((u - cx) / rx).powi(2) + ((v - cy) / ry).powi(2)).sqrt();
    1.0 - smoothstep(1.0 - soft, 1.0 + soft, d)
}

/// The faces' landmark geometry on the reduced grid.
pub struct FaceLayers {
    /// Inside a face oval.
    pub oval: Vec<bool>,
    /// Inside a face oval, above its nostrils (along the face's up direction): where a face
    /// grows no beard, so texture on thin ridges is a fold's (see `relieve_folds`).
    pub unbearded: Vec<bool>,
    /// Eyes, brows, lips and nostrils (1 = locked), feathered outward.
    pub locks: Plane,
    /// Relative pore density by landmark region ([`mesh::REGIONS`]); body skin elsewhere.
    pub density: Plane,
    /// Per face: grid cells on its cheeks, nose and forehead, away from every lock.
    pub samples: Vec<Vec<usize>>,
    /// Above a face's brows and outside its oval: hair and backdrop, never grown into.
    pub above_brows: Vec<bool>,
}

/// Rasterises the faces' landmark polygons and regions on a `w`×`h` grid of `k`-pixel blocks.
pub fn layers(faces: &[Face], k: usize, w: usize, h: usize) -> FaceLayers {
    let g = Grid { k: k as f32, w, h };
    let mut oval = vec![false; w * h];
    let mut unbearded = vec![false; w * h];
    let mut hard = Plane::new(w, h);
    let mut density = Plane::from_fn(w, h, |_, _| BODY_DENSITY);
    let mut samples = Vec::with_capacity(faces.len());
    let mut above_brows = vec![false; w * h];
    for f in faces {
        let m = &f.mesh;
        mark_above_brows(m, &g, &mut above_brows);
        let this_oval = mesh::fill_polygon(&g.points(m, &mesh::FACE_OVAL), w, h);
        mark_above_nostrils(m, &g, &this_oval, &mut unbearded);
        // One cell of margin, so the locks hold where the render interpolates between cells.
        let grown = box_mean(&feature_locks(m, &g), 1);
        // (A box mean leaves rounding residue where it should read 0.)
        for (hv, gv) in hard.data.iter_mut().zip(&grown.data) {
            if *gv > 0.05 {
                *hv = 1.0;
            }
        }
        let mine = region_density(m, &g, &this_oval, &grown, &mut density);
        for (o, v) in oval.iter_mut().zip(this_oval) {
            *o |= v;
        }
        samples.push(mine);
    }
    let locks = blur(&hard, 0.6);
    let locks = Plane {
        w,
        h,
        data: locks
            .data
            .iter()
            .zip(&hard.data)
            .map(|(b, hv)| hv.max(smoothstep(0.0, 0.5, *b)))
            .collect(),
    };
    for (a, o) in above_brows.iter_mut().zip(&oval) {
        *a &= !o;
    }
    FaceLayers {
        oval,
        unbearded,
        locks,
        density,
        samples,
        above_brows,
    }
}

/// The reduced grid: `k`-pixel blocks, `w`×`h` of them.
struct Grid {
    k: f32,
    w: usize,
    h: usize,
}

impl Grid {
    /// Landmarks `idx` of `m` in grid units.
    fn points(&self, m: &mesh::Mesh, idx: &[usize]) -> Vec<[f32; 2]> {
        idx.iter()
            .map(|&i| {
                let p = m.at(i);
                [p[0] / self.k, p[1] / self.k]
            })
            .collect()
    }
}

/// Marks the cells above the face's brows (along its up direction, perpendicular to the eye
/// line) and beside its oval: hair and backdrop.
fn mark_above_brows(m: &mesh::Mesh, g: &Grid, above_brows: &mut [bool]) {
    let up = m.up();
    let brow = mesh::BROW_TOPS
        .iter()
        .map(|&i| {
            let p = m.at(i);
            (p[0] * up[0] + p[1] * up[1]) / g.k
        })
        .fold(f32::MIN, f32::max);
    let (ox0, ox1) = {
        let b = m.oval_bounds();
        let pad = 0.6 * (b[2] - b[0]);
        ((b[0] - pad) / g.k, (b[2] + pad) / g.k)
    };
    for y in 0..g.h {
        for x in 0..g.w {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            if px >= ox0 && px <= ox1 && px * up[0] + py * up[1] > brow {
                above_brows[y * g.w + x] = true;
            }
        }
    }
}

/// Marks the cells of `oval` above the face's nostrils (along its up direction): the forehead,
/// the eyes' surroundings, the nose and the upper cheeks, where no beard grows.
fn mark_above_nostrils(m: &mesh::Mesh, g: &Grid, oval: &[bool], out: &mut [bool]) {
    let up = m.up();
    let nostrils: Vec<usize> = mesh::RIGHT_NOSTRIL
        .iter()
        .chain(&mesh::LEFT_NOSTRIL)
        .copied()
        .collect();
    let line = g
        .points(m, &nostrils)
        .iter()
        .map(|p| p[0] * up[0] + p[1] * up[1])
        .sum::<f32>()
        / nostrils.len() as f32;
    for (i, o) in out.iter_mut().enumerate() {
        let (px, py) = ((i % g.w) as f32 + 0.5, (i / g.w) as f32 + 0.5);
        *o |= oval[i] && px * up[0] + py * up[1] > line;
    }
}

/// The face's locks as a 0/1 plane: eyes with their lids and lashes, brows with their stray
/// hairs, lips with their line, and the nostrils, each grown by its margin in millimetres on
/// every side ([`EYE_MARGIN_MM`], [`BROW_MARGIN_MM`], [`LIP_MARGIN_MM`],
/// [`NOSTRIL_MARGIN_MM`]). The caller adds one more cell all round, so that the locks hold
/// where the render interpolates between cells; that cell counts toward the margin, so a
/// coarse grid (a small face in a large picture) does not lock a wider band of skin than a
/// fine one.
fn feature_locks(m: &mesh::Mesh, g: &Grid) -> Plane {
    let (w, h) = (g.w, g.h);
    let cells_per_mm = m.px_per_mm() / g.k;
    let grow = |margin_mm: f32| (margin_mm * cells_per_mm - 1.0).max(0.0);
    let mut lock = vec![false; w * h];
    let mut add = |poly: Vec<[f32; 2]>| {
        for (l, v) in lock.iter_mut().zip(mesh::fill_polygon(&poly, w, h)) {
            *l |= v;
        }
    };
    for (idx, margin) in [
        (&mesh::RIGHT_EYE[..], EYE_MARGIN_MM),
        (&mesh::LEFT_EYE[..], EYE_MARGIN_MM),
        (&mesh::RIGHT_BROW[..], BROW_MARGIN_MM),
        (&mesh::LEFT_BROW[..], BROW_MARGIN_MM),
        (&mesh::LIPS_OUTER[..], LIP_MARGIN_MM),
    ] {
        add(mesh::grow_polygon(&g.points(m, idx), grow(margin)));
    }
    for idx in [&mesh::RIGHT_NOSTRIL, &mesh::LEFT_NOSTRIL] {
        add(mesh::grow_polygon(
            &mesh::ellipse_in_bounds(&g.points(m, idx), 16),
            grow(NOSTRIL_MARGIN_MM),
        ));
    }
    Plane {
        w,
        h,
        data: lock.iter().map(|&l| l as u8 as f32).collect(),
    }
}

/// Margin of an eye's lock beyond the mesh's lid line: the lashes and the lid's edge (the
/// lock used to be the eye scaled 1.6×: the same 3 mm above and below, but 9 mm at the
/// corners, into the nose's side and the temple).
const EYE_MARGIN_MM: f32 = 3.0;
/// Margin of a brow's lock: its stray hairs. It used to be the brow scaled 1.3× about its
/// middle: 1.5 mm above and below, but 7 mm beyond each end, and with the cell margin
/// and the feather it left a smooth band around every brow and across the brows' inner
/// ends, where a retoucher sees the texture stop. Brow hairs beyond the margin are darker
/// than the skin and leave the mask on their own.
const BROW_MARGIN_MM: f32 = 1.5;
/// Margin of the lips' lock: the lip line (the lips scaled 1.15×: about 1.2 mm above and
/// below, 3.7 mm at the corners).
const LIP_MARGIN_MM: f32 = 1.5;
/// Margin of a nostril's lock around the ellipse its rim's landmarks bound. Scaled 1.8×, as
/// it was, the lock took the nose's wings and the skin under the tip, where real noses show
/// their largest pores; the opening itself is darker than skin and leaves the mask anyway.
const NOSTRIL_MARGIN_MM: f32 = 1.0;

/// Pore density: the landmark regions as soft discs, blended into the face's mean inside its
/// oval. Returns the cells where the face's colour is sampled (its cheeks, nose and forehead,
/// away from every lock).
fn region_density(
    m: &mesh::Mesh,
    g: &Grid,
    this_oval: &[bool],
    grown: &Plane,
    density: &mut Plane,
) -> Vec<usize> {
    let (w, h) = (g.w, g.h);
    let span = m.eye_span() / g.k;
    let zones: Vec<([f32; 2], f32, f32)> = mesh::REGIONS
        .iter()
        .flat_map(|(_, idx, r, d)| {
            idx.iter().map(move |&i| {
                let p = m.at(i);
                ([p[0] / g.k, p[1] / g.k], r * span, *d)
            })
        })
        .collect();
    let soft_oval = blur(
        &Plane {
            w,
            h,
            data: this_oval.iter().map(|&o| o as u8 as f32).collect(),
        },
        (0.05 * span).max(0.7),
    );
    let mut mine = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            let fw = soft_oval.data[i];
            // The blurred oval's far tail (and its subnormal floats, slow to multiply)
            // changes nothing.
            if fw < 1e-4 {
                continue;
            }
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let (mut sw, mut sv, mut best) = (0.3f32, 0.3 * mesh::FACE_DENSITY, 0f32);
            for (c, r, d) in &zones {
                let r2 = ((px - c[0]).powi(2) + (py - c[1]).powi(2)) / (r * r).max(1e-3);
                if r2 > 50.0 {
                    // Weight below 1e-11: nothing, and exp() is slow down there.
                    continue;
                }
                let wgt = (-0.5 * r2).exp();
                sw += wgt;
                sv += wgt * d;
                if *d >= 0.6 {
                    best = best.max(wgt);
                }
            }
            density.data[i] = density.data[i] * (1.0 - fw) + fw * (sv / sw);
            if this_oval[i] && best > 0.5 && grown.data[i] < 0.05 {
                mine.push(i);
            }
        }
    }
    mine
}

/// One colour model per face (dark and light skin in one picture are each judged against themselves);
/// a face with too few clean samples borrows the model fitted on all faces together.
pub fn fit_models(red: &Reduced, layers: &FaceLayers) -> Vec<SkinModel> {
    let all: Vec<usize> = layers.samples.iter().flatten().copied().collect();
    let joint = fit_model(red, &all);
    layers
        .samples
        .iter()
        .map(|s| {
            let m = fit_model(red, s);
            if m.samples >= 30 { m } else { joint }
        })
        .collect()
}

/// Fits the CbCr Gaussian on the given grid cells (a face's cheeks, nose and forehead); a generic
/// model when there are too few.
pub fn fit_model(red: &Reduced, cells: &[usize]) -> SkinModel {
    let mut samples: Vec<[f32; 3]> = Vec::new();
    let mut textures: Vec<f32> = Vec::new();
    for &i in cells {
        // The landmarks say this is skin; only blocks busy with hair or an edge are left out.
        if red.luma_sd[i] < 0.06 {
            samples.push(ycbcr(red.rgb[i]));
            textures.push(red.luma_sd[i]);
        }
    }
    if samples.len() < 30 {
        return SkinModel {
            cb: 110.0,
            cr: 150.0,
            icov: [[1.0 / 120.0, 0.0], [0.0, 1.0 / 120.0]],
            luma_mean: 0.55,
            luma_sd: 0.15,
            texture_ref: 0.01,
            samples: 0,
        };
    }
    // Robust centre: medians, then keep samples within 3 MADs, then mean and covariance.
    let median = |i: usize| {
        let mut v: Vec<f32> = samples.iter().map(|s| s[i]).collect();
        let m = v.len() / 2;
        *v.select_nth_unstable_by(m, |a, b| a.total_cmp(b)).1
    };
    let (mcb, mcr) = (median(1), median(2));
    let mad = |i: usize, m: f32| {
        let mut v: Vec<f32> = samples.iter().map(|s| (s[i] - m).abs()).collect();
        let k = v.len() / 2;
        v.select_nth_unstable_by(k, |a, b| a.total_cmp(b))
            .1
            .max(0.5)
    };
    let my = median(0);
    let (dcb, dcr, dy) = (mad(1, mcb), mad(2, mcr), mad(0, my).max(0.005));
    // Keep samples within 3 robust sigmas in chroma and 2.5 in luma (hair strands, brows and shadows
    // inside the sample zones must not widen the model).
    let kept: Vec<[f32; 3]> = samples
        .into_iter()
        .filter(|s| {
            (s[1] - mcb).abs() < 3.0 * 1.4826 * dcb
                && (s[2] - mcr).abs() < 3.0 * 1.4826 * dcr
                && (s[0] - my).abs() < 2.5 * 1.4826 * dy
        })
        .collect();
    let n = kept.len().max(1) as f32;
    let mean = |i: usize| kept.iter().map(|s| s[i]).sum::<f32>() / n;
    let (y, cb, cr) = (mean(0), mean(1), mean(2));
    let (mut sbb, mut srr, mut sbr, mut syy) = (0f32, 0f32, 0f32, 0f32);
    for s in &kept {
        let (db, dr, dy) = (s[1] - cb, s[2] - cr, s[0] - y);
        sbb += db * db;
        srr += dr * dr;
        sbr += db * dr;
        syy += dy * dy;
    }
    // Regularise: the fitted spread plus 2 units each way, so a very uniform AI face still
    // admits its own shading and a little redness.
    let (a, d, b) = (sbb / n + 4.0, srr / n + 4.0, sbr / n);
    let det = a * d - b * b;
    let k30 = textures.len() * 3 / 10;
    let texture_ref = textures
        .select_nth_unstable_by(k30, |a, b| a.total_cmp(b))
        .1
        .max(0.002);
    SkinModel {
        cb,
        cr,
        icov: [[d / det, -b / det], [-b / det, a / det]],
        luma_mean: y,
        luma_sd: (syy / n).sqrt(),
        texture_ref,
        samples: kept.len(),
    }
}

/// Lightness (over the mean of the skin either side) below which a cell on a ridge keeps its
/// texture in full, and from which [`relieve_folds`] relieves it in full: hair strands that
/// fall over a forehead are far darker than the skin beside them, a wrinkle's bottom, shaded
/// skin, a little.
const FOLD_DARKEST: f32 = 0.65;
/// See [`FOLD_DARKEST`].
const FOLD_DARK: f32 = 0.8;

/// How far (cells) to either side of a textured cell [`relieve_folds`] looks for cleaner skin:
/// a ridge of texture up to 5 cells wide between cleaner skin is a fold's.
const FOLD_REACH: isize = 3;

/// How much the lightness either side of a fold may differ (as a share of the lighter side):
/// skin on both sides of a fold is lit alike, where an edge (an eyelid's, a frame's, a hand's
/// in front of the face) is a step.
const FOLD_STEP: f32 = 0.12;

/// The texture the busy test reads, with folds and wrinkles taken out. A forehead's wrinkles,
/// frown lines, crow's feet: the skin's slope turns at a fold's bottom and its rims, so
/// the reduced copy reads them as texture (`sd`, which counts a block's slope where its
/// neighbours slope otherwise), on thin ridges between clean skin, while each block is nearly
/// a plane (`fine`, the spread about it, stays low). Stubble, a beard and hair cover an area,
/// or turn within a block; but a grey moustache's strands, resolved, read as those ridges do,
/// so this holds only where no beard grows (`unbearded`: above the nostrils; a smile's folds
/// beside the mouth keep their gap). There a cell on a ridge reads the texture of the cleaner
/// side: along one of four directions, each side within [`FOLD_REACH`] cells must hold two
/// neighbouring cells of clean skin (a gap between hair strands is not skin), and the two sides
/// must be about as light as each other ([`FOLD_STEP`]: not an edge), and the cell not much
/// darker than they are ([`FOLD_DARKEST`]: not a hair strand). It never reads less than its
/// own `fine`. The sides are looked for inside the oval only: the face's outline against a
/// backdrop is not a fold.
fn relieve_folds(
    sd: &[f32],
    fine: &[f32],
    luma: &[f32],
    unbearded: &[bool],
    oval: &[bool],
    w: usize,
    h: usize,
) -> Vec<f32> {
    const DIRS: [(isize, isize); 4] = [(1, 0), (0, 1), (1, 1), (1, -1)];
    let (wi, hi) = (w as isize, h as isize);
    (0..w * h)
        .map(|i| {
            if !unbearded[i] || fine[i] >= sd[i] {
                return sd[i];
            }
            let (x, y) = ((i % w) as isize, (i / w) as isize);
            // Along one side, up to the oval's edge: the least texture of two neighbouring
            // cells (none: infinite), and the side's mean lightness.
            let side = |dx: isize, dy: isize| {
                let (mut least, mut last, mut light, mut n) =
                    (f32::INFINITY, f32::INFINITY, 0.0, 0);
                for s in 1..=FOLD_REACH + 1 {
                    let (u, v) = (x + dx * s, y + dy * s);
                    if u < 0 || v < 0 || u >= wi || v >= hi || !oval[(v * wi + u) as usize] {
                        break;
                    }
                    let j = (v * wi + u) as usize;
                    least = least.min(sd[j].max(last));
                    last = sd[j];
                    light += luma[j];
                    n += 1;
                }
                (least, light / n.max(1) as f32)
            };
            DIRS.iter()
                .map(|&(dx, dy)| {
                    let ((a, la), (b, lb)) = (side(-dx, -dy), side(dx, dy));
                    if (la - lb).abs() > FOLD_STEP * la.max(lb) {
                        return sd[i];
                    }
                    let relieved = sd[i].min(fine[i].max(a.max(b)));
                    let shade = luma[i] / (0.5 * (la + lb)).max(1e-3);
                    relieved
                        + (1.0 - smoothstep(FOLD_DARKEST, FOLD_DARK, shade)) * (sd[i] - relieved)
                })
                .fold(sd[i], f32::min)
        })
        .collect()
}

/// Each cell's texture (the reduced copy's `luma_sd`) averaged over the cells within two of it
/// that are not locked. The locked features are the busiest cells of a face (lashes, the lid's
/// and the lips' edges, the nostrils); a plain average spread their texture two cells into
/// the skin around them, and the busy test then took a ring of skin about two cells wide
/// around every eye, the nostrils and the mouth, beyond the locks themselves.
fn busy_outside_locks(luma_sd: &[f32], locks: &Plane, w: usize, h: usize) -> Plane {
    let open = Plane::from_fn(w, h, |x, y| 1.0 - locks.data[y * w + x]);
    let weighted = Plane::from_fn(w, h, |x, y| luma_sd[y * w + x] * open.data[y * w + x]);
    let (num, den) = (box_mean(&weighted, 2), box_mean(&open, 2));
    Plane::from_fn(w, h, |x, y| {
        let i = y * w + x;
        if den.data[i] > 0.05 {
            num.data[i] / den.data[i]
        } else {
            luma_sd[i]
        }
    })
}

/// Builds the mask, density and sheen maps on the reduced grid.
pub fn build(
    red: &Reduced,
    faces: &[FaceBox],
    layers: FaceLayers,
    models: &[SkinModel],
    people: Option<&PersonMask>,
    threads: usize,
) -> SkinMaps {
    let generic = [fit_model(red, &[])];
    let models = if models.is_empty() {
        &generic[..]
    } else {
        models
    };
    let (w, h) = (red.w, red.h);
    let gfaces: Vec<GridFace> = faces.iter().map(|f| GridFace::of(f, red.k)).collect();
    let luma = Plane::from_fn(w, h, |x, y| ycbcr(red.rgb[y * w + x])[0]);
    let texture = relieve_folds(
        &red.luma_sd,
        &red.luma_fine,
        &luma.data,
        &layers.unbearded,
        &layers.oval,
        w,
        h,
    );
    let busy = busy_outside_locks(&texture, &layers.locks, w, h);
    // Each cell's skin probability, whether it fits its face's own colour, how near a face
    // it lies and which face owns it: rows split between the threads.
    let cell = |i: usize| {
        let (x, y) = (i % w, i / w);
        let nearest = nearest_face(&gfaces, x, y);
        let mut near = 0f32;
        for g in &gfaces {
            let (u, v) = g.rel(x, y);
            near = near.max(ellipse(u, v, 0.5, 0.75, 0.8, 1.35, 0.3));
        }
        let in_face = gfaces.get(nearest).is_some_and(|g| {
            let (u, v) = g.rel(x, y);
            (-0.05..1.05).contains(&u) && (-0.05..1.1).contains(&v)
        });
        let off_face = (!layers.oval[i]).then(|| {
            people.map_or(1.0, |pm| {
                smoothstep(
                    0.25,
                    0.6,
                    pm.at((x as f32 + 0.5) / w as f32, (y as f32 + 0.5) / h as f32),
                )
            })
        });
        let here = Here {
            c: ycbcr(red.rgb[i]),
            near,
            in_face,
            busy: busy.data[i],
            off_face,
        };
        let model = &models[nearest.min(models.len() - 1)];
        let (p, fit) = skin_probability(model, &here);
        (p, fit, near, nearest as u16, saturation(model, here.c))
    };
    let half = h / 2 * w;
    let (top, bottom) = join(
        threads,
        || (0..half).map(cell).collect::<Vec<_>>(),
        || (half..w * h).map(cell).collect::<Vec<_>>(),
    );
    let mut raw = Plane::new(w, h);
    let mut fits = vec![false; w * h];
    let mut near_face = Plane::new(w, h);
    let mut owner = vec![0u16; w * h];
    let mut sat = vec![0f32; w * h];
    for (i, (p, fit, near, nearest, st)) in top.into_iter().chain(bottom).enumerate() {
        sat[i] = st;
        raw.data[i] = p;
        fits[i] = fit;
        near_face.data[i] = near;
        owner[i] = nearest;
    }
    let segmented = people.is_some();
    keep_person_components(
        &mut raw, &luma, &layers, &fits, &gfaces, models, &owner, segmented, &sat,
    );
    let locks = &layers.locks;
    // Edge-aware refinement on the luma (radius 2 reduced px), then the locks cut in hard.
    let refined = guided(&luma, &raw, 2, 0.0012, threads);
    let mut mask = Plane::from_fn(w, h, |x, y| {
        let i = y * w + x;
        (refined.data[i].clamp(0.0, 1.0) * (1.0 - locks.data[i])).clamp(0.0, 1.0)
    });
    // Small specks of "skin" in the background are noise: drop values that their neighbourhood does not support.
    let support = box_mean(&mask, 2);
    for (m, s) in mask.data.iter_mut().zip(&support.data) {
        *m *= smoothstep(0.12, 0.3, *s);
    }
    let coverage = mask.data.iter().filter(|&&m| m > 0.5).count() as f32 / (w * h) as f32;

    // Sheen: skin clearly brighter than the skin's local level (σ ≈ 8 % of the face width).
    let sigma = gfaces.first().map(|g| (0.08 * g.w).max(2.0)).unwrap_or(4.0);
    let sheen = sheen(&luma, &mask, &near_face, sigma, threads);
    SkinMaps {
        mask,
        density: layers.density,
        sheen,
        locks: layers.locks,
        models: models.to_vec(),
        coverage,
    }
}

/// The face nearest a reduced pixel (distance in face sizes from the face centre); its model
/// judges the pixel. 0 without faces.
fn nearest_face(gfaces: &[GridFace], x: usize, y: usize) -> usize {
    gfaces
        .iter()
        .enumerate()
        .map(|(k, g)| {
            let (u, v) = g.rel(x, y);
            (k, (u - 0.5).hypot((v - 0.6) * 0.8))
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(k, _)| k)
        .unwrap_or(0)
}

/// What [`skin_probability`] knows of one reduced pixel.
struct Here {
    /// Its colour, Y′CbCr.
    c: [f32; 3],
    /// How much it lies in a face's head and neck region, 0..1.
    near: f32,
    /// Inside its nearest face's box.
    in_face: bool,
    /// Its neighbourhood's fine texture (luma deviation).
    busy: f32,
    /// Off every face oval: how much the person segmentation sees a person there (1 without
    /// a segmentation); `None` on a face.
    off_face: Option<f32>,
}

/// The probability that a reduced pixel is skin under `model`, and whether its colour fits the
/// model closely (growth from the face follows those).
fn skin_probability(model: &SkinModel, here: &Here) -> (f32, bool) {
    let (c, near) = (here.c, here.near);
    let (busy0, busy1) = (
        1.5 * model.texture_ref + 0.002,
        2.2 * model.texture_ref + 0.006,
    );
    let (ncb, ncr) = (model.cb - 128.0, model.cr - 128.0);
    let skin_chroma2 = (ncb * ncb + ncr * ncr).max(1.0);
    let (db, dr) = (c[1] - model.cb, c[2] - model.cr);
    let m2 = db * (model.icov[0][0] * db + model.icov[0][1] * dr)
        + dr * (model.icov[1][0] * db + model.icov[1][1] * dr);
    // Near a face (within the head and neck region) the fitted model rules; far away it must
    // also fall in the general locus.
    let p_model = 1.0 - smoothstep(5.0, 12.0, m2);
    let fits = m2 < 8.0;
    let loose = 1.0 - smoothstep(10.0, 25.0, m2);
    let mut p = near * p_model + (1.0 - near) * loose * locus(c[1], c[2]);
    // Skin-coloured but far brighter than this face's skin (a beige wall behind dark skin): not
    // skin. Specular highlights are desaturated and come back through the sheen test below.
    p *= 1.0 - smoothstep(1.8, 2.4, c[0] / model.luma_mean.max(0.02));
    // Specular sheen keeps the skin's hue but loses saturation: chroma on the segment from
    // neutral to the skin mean, brighter than the skin. Accept it inside face boxes so
    // highlights get broken up (outside them the same test would take in beige walls and
    // collars).
    let t = ((c[1] - 128.0) * ncb + (c[2] - 128.0) * ncr) / skin_chroma2;
    let perp2 = {
        let (pb, pr) = (c[1] - 128.0 - t * ncb, c[2] - 128.0 - t * ncr);
        pb * pb + pr * pr
    };
    if here.in_face && t > 0.15 && t < 1.1 && perp2 < 36.0 && c[0] > model.luma_mean {
        p = p.max(
            near * smoothstep(0.0, 0.12, c[0] - model.luma_mean)
                * (1.0 - smoothstep(16.0, 36.0, perp2)),
        );
    }
    // Brows, lashes, nostrils, hair, beard: clearly darker than the face's skin (by a margin
    // that scales with the skin's own lightness, so dark skin keeps its shadows and loses its
    // hair).
    let dark_edge = (model.luma_mean - 2.0 * model.luma_sd.max(0.02))
        .min(0.55 * model.luma_mean)
        .max(0.02);
    p *= smoothstep(dark_edge * 0.75, dark_edge, c[0]);
    // Stubble, hair strands, lashes: busy with texture finer than a reduced pixel, compared
    // with the face's own clean skin (so it holds for smooth AI skin and textured real skin
    // alike).
    p *= 1.0 - smoothstep(busy0, busy1, here.busy);
    if let Some(person) = here.off_face {
        // Off the face: only where the segmentation sees a person (walls, floors, backdrops
        // of skin colour are not), and not much darker than the face (hair of skin hue).
        p *= person;
        p *= smoothstep(0.45, 0.58, c[0] / model.luma_mean.max(0.02));
        // The skin's own hue at a fraction of its chroma is a neutral surface (a white
        // shirt, a grey wall) lit by the same warm light, not skin: body skin in the
        // face's light keeps most of the face's chroma (0.9–1.3 of it on the neck and
        // hands of a candle-lit portrait, where the shirt beside them reads 0.1–0.4).
        if skin_chroma2 >= MIN_CHROMA_FOR_HUE2 {
            p *= smoothstep(0.35, 0.55, t);
        }
    }
    (p, fits)
}

/// A colour's saturation relative to the face's skin: its chroma along the skin's own hue,
/// over its luma, as a fraction of the skin's (chroma over luma). Shading scales chroma and
/// luma alike in gamma-encoded values, so lit and shadowed skin of the face's colour read
/// about 1, a surface of the skin's hue but paler (a cream sweater in warm light) less.
fn saturation(model: &SkinModel, c: [f32; 3]) -> f32 {
    let (ncb, ncr) = (model.cb - 128.0, model.cr - 128.0);
    let t = ((c[1] - 128.0) * ncb + (c[2] - 128.0) * ncr) / chroma2(model).max(1.0);
    t / (c[0] / model.luma_mean.max(0.02)).max(0.05)
}

/// The face's skin's squared CbCr chroma (255 units).
fn chroma2(model: &SkinModel) -> f32 {
    (model.cb - 128.0).powi(2) + (model.cr - 128.0).powi(2)
}

/// Sheen: skin clearly brighter than the skin's local level (a blur of `sigma` reduced
/// pixels, weighted by the mask), near a face.
fn sheen(luma: &Plane, mask: &Plane, near_face: &Plane, sigma: f32, threads: usize) -> Plane {
    let (w, h) = (luma.w, luma.h);
    let wy = Plane {
        w,
        h,
        data: luma
            .data
            .iter()
            .zip(&mask.data)
            .map(|(l, m)| l * m)
            .collect(),
    };
    let (local, norm) = join(threads, || blur(&wy, sigma), || blur(mask, sigma));
    Plane::from_fn(w, h, |x, y| {
        let i = y * w + x;
        let base = local.data[i] / norm.data[i].max(1e-3);
        let rel = luma.data[i] / base.max(1e-3);
        mask.data[i] * smoothstep(1.06, 1.3, rel) * near_face.data[i]
    })
}

/// Steepest luma step (per reduced pixel, after a light blur) that growth from a face crosses: the
/// edge between a person and a background of the same colour.
const BARRIER: f32 = 0.035;

/// Keeps only skin-coloured regions that belong to a person. Skin grows from the face ovals through
/// connected skin-coloured pixels and stops at edges and above the brows (ears, neck, décolleté, a
/// hand on the cheek); detached regions (arms, hands) are kept when they have the face's own colour,
/// a skin-like lightness and at most a few faces' size, and hang below the chin unless the person
/// segmentation already confines them, and are faded out by how much paler they are than the face's
/// skin for their lightness (`sat`, per cell: [`saturation`]). A wall, a jacket or warm light of the
/// same colour is dropped, and so is a cream sweater of the skin's hue.
#[allow(clippy::too_many_arguments)]
fn keep_person_components(
    raw: &mut Plane,
    luma: &Plane,
    layers: &FaceLayers,
    fits: &[bool],
    faces: &[GridFace],
    models: &[SkinModel],
    owner: &[u16],
    segmented: bool,
    sat: &[f32],
) {
    let (w, h) = (raw.w, raw.h);
    let oval = &layers.oval;
    let grad = gradient_magnitude(luma, 0.7);
    let passable = |j: usize, raw: &Plane| {
        raw.data[j] >= 0.25 && (oval[j] || (grad.data[j] < BARRIER && !layers.above_brows[j]))
    };
    let mut label = vec![u32::MAX; w * h];
    let mut stack = Vec::new();
    let neighbours = |i: usize| {
        let (x, y) = (i % w, i / w);
        [
            (x > 0).then(|| i - 1),
            (x + 1 < w).then(|| i + 1),
            (y > 0).then(|| i - w),
            (y + 1 < h).then(|| i + w),
        ]
    };
    // 1. The person: everything reached from the ovals.
    const PERSON: u32 = 0;
    for i in 0..w * h {
        if oval[i] && raw.data[i] >= 0.25 && label[i] == u32::MAX {
            label[i] = PERSON;
            stack.push(i);
        }
    }
    while let Some(i) = stack.pop() {
        for j in neighbours(i).into_iter().flatten() {
            if label[j] == u32::MAX && passable(j, raw) {
                label[j] = PERSON;
                stack.push(j);
            }
        }
    }
    // 2. Detached skin-coloured regions, judged whole.
    let mut next = 1u32;
    for start in 0..w * h {
        if label[start] != u32::MAX || !passable(start, raw) {
            continue;
        }
        let (mut n, mut sum_l, mut above_chin, mut fit) = (0usize, 0f32, 0usize, 0usize);
        let mut sum_sat = 0f32;
        let mut touches_top = false;
        let mut members = Vec::new();
        label[start] = next;
        stack.push(start);
        while let Some(i) = stack.pop() {
            members.push(i);
            let (x, y) = (i % w, i / w);
            n += 1;
            sum_l += luma.data[i];
            sum_sat += sat[i];
            fit += fits[i] as usize;
            touches_top |= y == 0;
            let g = &faces[(owner[i] as usize).min(faces.len().saturating_sub(1))];
            let (_, v) = g.rel(x, y);
            above_chin += (v < 0.95) as usize;
            for j in neighbours(i).into_iter().flatten() {
                if label[j] == u32::MAX && passable(j, raw) {
                    label[j] = next;
                    stack.push(j);
                }
            }
        }
        next += 1;
        let keep = !faces.is_empty() && {
            let ml = sum_l / n as f32;
            // Shoulders, arms and hands hang below the chin, and a backdrop rises beside the head;
            // where the person segmentation already confines the mask, a raised hand counts too.
            let below = (segmented || above_chin as f32 <= 0.1 * n as f32) && !touches_top;
            let in_body = members.iter().step_by(7).any(|&i| {
                let g = &faces[(owner[i] as usize).min(faces.len() - 1)];
                let (u, v) = g.rel(i % w, i / w);
                ellipse(u, v, 0.5, 2.6, 2.8, 2.6, 0.0) > 0.5
            });
            let model = &models[(owner[members[0]] as usize).min(models.len() - 1)];
            let rel = ml / model.luma_mean.max(0.05);
            // An arm or a hand is a sizeable patch (≥ 3 % of a face's area), not a sliver of warm
            // light, and no bigger than a few faces: bare skin larger than that (a torso) joins the
            // neck, where a detached region that large is clothing.
            let big = faces.iter().any(|g| n as f32 >= 0.03 * g.w * g.h);
            let not_clothing = faces.iter().any(|g| n as f32 <= 3.0 * g.w * g.h);
            // Far from the face the colour must still be the face's own, not the broad skin locus:
            // a warm wall or a tan jacket is near skin colour, rarely on it.
            let own_colour = fit as f32 >= 0.6 * n as f32;
            below && in_body && own_colour && rel > 0.45 && rel < 1.6 && big && not_clothing
        };
        // Body skin in the face's light keeps the face's saturation, whatever its shading; a
        // white or beige fabric (a blouse, a sweater, a shirt collar) lit by the same warm
        // light takes the skin's hue at a fraction of it: faded out, whole.
        let model = &models[(owner[members[0]] as usize).min(models.len() - 1)];
        let weight = match keep {
            false => 0.0,
            true if chroma2(model) < MIN_CHROMA_FOR_HUE2 => 1.0,
            true => smoothstep(MIN_BODY_SATURATION, BODY_SATURATION, sum_sat / n as f32),
        };
        if weight < 1.0 {
            for i in members {
                raw.data[i] *= weight;
            }
        }
    }
    // Whatever was never reached (edges outside the person, faint fringes) is not skin; the guided
    // filter restores soft edges next to kept skin.
    for (v, l) in raw.data.iter_mut().zip(&label) {
        if *l == u32::MAX {
            *v = 0.0;
        }
    }
}

/// The mask overlay for the report: the reduced image with skin tinted, locked zones in blue, and each
/// treated face's landmarks (yellow dots) with its oval, eyes, brows and lips outlined in green.
pub fn overlay(red: &Reduced, maps: &SkinMaps, faces: &[Face]) -> image::RgbImage {
    let mut out = red.to_rgb8();
    for (i, p) in out.pixels_mut().enumerate() {
        let m = maps.mask.data[i];
        let l = maps.locks.data[i];
        let grey = (p[0] as f32 * 0.3 + p[1] as f32 * 0.59 + p[2] as f32 * 0.11) * 0.6;
        let base = [grey, grey, grey];
        let tint = [255.0, 90.0, 60.0];
        let mut c = [0f32; 3];
        for ch in 0..3 {
            c[ch] = base[ch] * (1.0 - 0.55 * m) + tint[ch] * 0.55 * m;
            if l > 0.5 {
                c[ch] = c[ch] * 0.6 + [40.0, 90.0, 255.0][ch] * 0.4;
            }
        }
        *p = image::Rgb(c.map(|v| v.round().clamp(0.0, 255.0) as u8));
    }
    let k = red.k as f32;
    let (w, h) = (out.width() as i64, out.height() as i64);
    let mut put = |x: f32, y: f32, c: [u8; 3]| {
        let (x, y) = ((x / k).floor() as i64, (y / k).floor() as i64);
        if x >= 0 && y >= 0 && x < w && y < h {
            out.put_pixel(x as u32, y as u32, image::Rgb(c));
        }
    };
    for f in faces {
        let m = &f.mesh;
        for poly in [
            &mesh::FACE_OVAL[..],
            &mesh::RIGHT_EYE[..],
            &mesh::LEFT_EYE[..],
            &mesh::RIGHT_BROW[..],
            &mesh::LEFT_BROW[..],
            &mesh::LIPS_OUTER[..],
        ] {
            for (a, b) in poly.iter().zip(poly.iter().cycle().skip(1)) {
                let (p, q) = (m.at(*a), m.at(*b));
                let steps = (mesh::dist(p, q) / k * 2.0).ceil().max(1.0) as usize;
                for s in 0..=steps {
                    let t = s as f32 / steps as f32;
                    put(
                        p[0] + (q[0] - p[0]) * t,
                        p[1] + (q[1] - p[1]) * t,
                        [60, 220, 90],
                    );
                }
            }
        }
        for p in &m.points {
            put(p[0], p[1], [255, 230, 40]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 24×24 oval of clean skin (texture 0.002, all of it slope-free) with `ridge` cells
    /// textured (`sd`, `fine`).
    fn relieved(ridge: impl Fn(usize, usize) -> bool, sd: f32, fine: f32) -> Vec<f32> {
        let (w, h) = (24, 24);
        let on = |i: usize| ridge(i % w, i / w);
        let sds: Vec<f32> = (0..w * h).map(|i| if on(i) { sd } else { 0.002 }).collect();
        let fines: Vec<f32> = (0..w * h)
            .map(|i| if on(i) { fine } else { 0.0015 })
            .collect();
        let all = vec![true; w * h];
        relieve_folds(&sds, &fines, &vec![0.5; w * h], &all, &all, w, h)
    }

    #[test]
    fn a_fold_reads_as_clean_skin_but_stubble_strands_and_edges_stay_busy() {
        let at = |v: &[f32], x: usize, y: usize| v[y * 24 + x];
        // A fold, two cells wide and slanted, textured only by its slopes: clean skin.
        let fold = relieved(
            |x, y| (x + y / 2).abs_diff(12) < 1 || x + y / 2 == 13,
            0.03,
            0.002,
        );
        assert!((at(&fold, 12, 0) - 0.002).abs() < 1e-6 && (at(&fold, 7, 10) - 0.002).abs() < 1e-6);
        // A patch of stubble: texture finer than a block, which stays.
        let stubble = relieved(|x, y| x < 3 || (x == 12 && y > 4), 0.03, 0.025);
        assert!(at(&stubble, 12, 10) >= 0.025 && at(&stubble, 1, 10) >= 0.025);
        // Resolved hair strands over a cheek (an area of slopes): no clean skin within reach.
        let strands = relieved(|x, _| (6..18).contains(&x), 0.03, 0.002);
        assert_eq!(at(&strands, 12, 12), 0.03);
        // The outline of a face against a backdrop: outside the oval, nothing to reach.
        let (w, h) = (24, 24);
        let oval: Vec<bool> = (0..w * h).map(|i| i % w < 12).collect();
        let sds: Vec<f32> = (0..w * h)
            .map(|i| if i % w == 11 { 0.03 } else { 0.002 })
            .collect();
        let flat = vec![0.5; w * h];
        let edge = relieve_folds(&sds, &vec![0.0; w * h], &flat, &oval, &oval, w, h);
        assert_eq!(edge[5 * w + 11], 0.03);
        // An edge inside the face (an eyelid's, a frame's): a step in lightness, not a fold.
        let all = vec![true; w * h];
        let sds: Vec<f32> = (0..w * h)
            .map(|i| if i % w == 11 { 0.03 } else { 0.002 })
            .collect();
        let step: Vec<f32> = (0..w * h)
            .map(|i| if i % w < 11 { 0.3 } else { 0.6 })
            .collect();
        let lid = relieve_folds(&sds, &vec![0.0; w * h], &step, &all, &all, w, h);
        assert_eq!(lid[5 * w + 11], 0.03);
        let fold = relieve_folds(&sds, &vec![0.0; w * h], &flat, &all, &all, w, h);
        assert_eq!(fold[5 * w + 11], 0.002);
    }

    #[test]
    fn a_locked_features_texture_does_not_make_the_skin_around_it_busy() {
        let (w, h) = (15, 15);
        // Lashes: a busy 3×3 feature, locked, in smooth skin (texture 0.002).
        let feature = |x: usize, y: usize| (6..9).contains(&x) && (6..9).contains(&y);
        let luma_sd: Vec<f32> = (0..w * h)
            .map(|i| if feature(i % w, i / w) { 0.2 } else { 0.002 })
            .collect();
        let locks = Plane::from_fn(w, h, |x, y| if feature(x, y) { 1.0 } else { 0.0 });
        let busy = busy_outside_locks(&luma_sd, &locks, w, h);
        // Next to the feature and two cells off it, the skin reads its own texture.
        for (x, y) in [(5, 7), (9, 7), (7, 4), (10, 10)] {
            assert!((busy.data[y * w + x] - 0.002).abs() < 1e-6, "({x}, {y})");
        }
        // A plain average would have spread the lashes' texture there.
        let plain = box_mean(
            &Plane {
                w,
                h,
                data: luma_sd,
            },
            2,
        );
        assert!(plain.data[7 * w + 5] > 10.0 * 0.002);
    }
}
