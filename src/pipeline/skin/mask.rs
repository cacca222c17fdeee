//! The soft skin mask (0..1) on the reduced copy, plus the pore-density and specular-sheen maps that ride on it.
//!
//! Skin colour is modelled per image: a Gaussian in CbCr fitted to the cheeks and forehead of the detected
//! faces, so dark and light skin are both judged against themselves. Away from faces the same model is
//! joined with a general YCbCr skin locus (necks, arms, hands). Then everything that must never be textured
//! is locked: eyes and lips (face-geometry zones and colour), brows, nostrils, hair, beard and stubble
//! (darker than the skin and busy with fine texture), clothing and background (off the colour model).
//! A guided filter on the luma makes the result follow hairlines, beards and clothing edges.

use super::filters::{Plane, blur, box_mean, guided};
use super::pixels::Reduced;
use crate::profile::faces::FaceBox;
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
    /// Relative pore density: nose and cheeks 1, rest of the face 0.8, forehead 0.6, under the eyes 0.45, body 0.7.
    pub density: Plane,
    /// Specular sheen on skin (0..1): where highlight breakup applies.
    pub sheen: Plane,
    /// Eye and mouth zones of the faces (1 = locked), kept for tests and the overlay.
    pub locks: Plane,
    /// One colour model per face, in face order.
    pub models: Vec<SkinModel>,
    /// Share of the image where the mask exceeds 0.5.
    pub coverage: f32,
}

/// Relative pore density: nose and cheeks 1, the rest of the face 0.8, forehead 0.6, under the eyes 0.45,
/// neck, arms and hands 0.7.
const FACE_DENSITY: f32 = 0.8;
const BODY_DENSITY: f32 = 0.7;

#[inline]
fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

#[inline]
fn ycbcr(c: [f32; 3]) -> [f32; 3] {
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
    /// Grid cells covering box-relative u in [u0, u1), v in [v0, v1), clipped to the grid.
    fn cells(
        &self,
        u0: f32,
        u1: f32,
        v0: f32,
        v1: f32,
        gw: usize,
        gh: usize,
    ) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
        let x0 = (self.x + u0 * self.w).floor().max(0.0) as usize;
        let x1 = ((self.x + u1 * self.w).ceil().max(0.0) as usize).min(gw);
        let y0 = (self.y + v0 * self.h).floor().max(0.0) as usize;
        let y1 = ((self.y + v1 * self.h).ceil().max(0.0) as usize).min(gh);
        (x0..x1.max(x0), y0..y1.max(y0))
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

/// Eyes (with lids and lashes) and mouth zones relative to a SeetaFace box (which spans brow to chin).
fn lock_zone(u: f32, v: f32) -> f32 {
    let eye_l = ellipse(u, v, 0.30, 0.38, 0.16, 0.10, 0.25);
    let eye_r = ellipse(u, v, 0.70, 0.38, 0.16, 0.10, 0.25);
    let mouth = ellipse(u, v, 0.50, 0.80, 0.22, 0.10, 0.25);
    eye_l.max(eye_r).max(mouth)
}

/// Checks that a face box holds skin (rejects detections on drawings and objects).
pub fn face_has_skin(red: &Reduced, f: &FaceBox) -> bool {
    let g = GridFace::of(f, red.k);
    let (mut n, mut hit) = (0usize, 0usize);
    let (xs, ys) = g.cells(0.25, 0.75, 0.45, 0.75, red.w, red.h);
    for gy in ys {
        for gx in xs.clone() {
            let (u, v) = g.rel(gx, gy);
            if (0.25..0.75).contains(&u) && (0.45..0.75).contains(&v) {
                let c = ycbcr(red.rgb[gy * red.w + gx]);
                n += 1;
                hit += (locus(c[1], c[2]) > 0.5) as usize;
            }
        }
    }
    n > 0 && hit as f32 >= 0.3 * n as f32
}

/// One colour model per face (dark and light skin in one picture are each judged against themselves);
/// a face with too few clean samples borrows the model fitted on all faces together.
pub fn fit_models(red: &Reduced, faces: &[FaceBox]) -> Vec<SkinModel> {
    let joint = fit_model(red, faces);
    faces
        .iter()
        .map(|f| {
            let m = fit_model(red, std::slice::from_ref(f));
            if m.samples >= 30 { m } else { joint }
        })
        .collect()
}

/// Whether a detected face is drawn rather than photographed (a face on an illustration held in a real hand,
/// a poster in the background): the classifier's cues on the face region (the box grown by half its size
/// each way) on the reduced copy. Returns the score (> [`DRAWN_FACE_SCORE`] = drawn), or None when the
/// region is too small to judge (under 64 reduced px; then the whole picture's verdict stands).
pub fn drawn_face_score(small: &image::RgbImage, k: usize, f: &FaceBox) -> Option<f32> {
    let k = k as f32;
    let x0 = ((f.x - 0.5 * f.w) / k).max(0.0) as u32;
    let y0 = ((f.y - 0.5 * f.h) / k).max(0.0) as u32;
    if x0 >= small.width() || y0 >= small.height() {
        return None;
    }
    let w = ((2.0 * f.w / k) as u32).min(small.width() - x0);
    let h = ((2.0 * f.h / k) as u32).min(small.height() - y0);
    if w.min(h) < 64 {
        return None;
    }
    let crop = image::imageops::crop_imm(small, x0, y0, w, h).to_image();
    let c = crate::profile::classify::cues(&crop);
    // Photographed faces on the samples score −2.2…2.4, drawn ones 6.5…21.
    Some((c.edge_sharpness - 1.9) / 0.15 + (c.line_art - 0.02) / 0.01)
}

/// Above this [`drawn_face_score`] a face counts as drawn.
pub const DRAWN_FACE_SCORE: f32 = 4.0;

/// Fits the CbCr Gaussian on cheeks and forehead of the faces; a generic model when there is no face.
pub fn fit_model(red: &Reduced, faces: &[FaceBox]) -> SkinModel {
    let mut samples: Vec<[f32; 3]> = Vec::new();
    let mut textures: Vec<f32> = Vec::new();
    for f in faces {
        let g = GridFace::of(f, red.k);
        let (xs, ys) = g.cells(0.0, 1.0, 0.0, 1.0, red.w, red.h);
        for gy in ys {
            for gx in xs.clone() {
                let (u, v) = g.rel(gx, gy);
                let cheeks = (0.15..0.85).contains(&u) && (0.48..0.72).contains(&v);
                let forehead = (0.25..0.75).contains(&u) && (0.05..0.22).contains(&v);
                if (cheeks || forehead) && lock_zone(u, v) < 0.1 {
                    let c = ycbcr(red.rgb[gy * red.w + gx]);
                    if locus(c[1], c[2]) > 0.5 && red.luma_sd[gy * red.w + gx] < 0.06 {
                        samples.push(c);
                        textures.push(red.luma_sd[gy * red.w + gx]);
                    }
                }
            }
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

/// Builds the mask, density and sheen maps on the reduced grid.
pub fn build(red: &Reduced, faces: &[FaceBox], models: &[SkinModel]) -> SkinMaps {
    let generic = [fit_model(red, &[])];
    let models = if models.is_empty() {
        &generic[..]
    } else {
        models
    };
    let (w, h) = (red.w, red.h);
    let gfaces: Vec<GridFace> = faces.iter().map(|f| GridFace::of(f, red.k)).collect();
    let luma = Plane::from_fn(w, h, |x, y| ycbcr(red.rgb[y * w + x])[0]);
    let busy = box_mean(
        &Plane {
            w,
            h,
            data: red.luma_sd.clone(),
        },
        2,
    );
    let mut raw = Plane::new(w, h);
    let mut locks = Plane::new(w, h);
    let mut near_face = Plane::new(w, h);
    let mut owner = vec![0u16; w * h];
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            let c = ycbcr(red.rgb[i]);
            // The nearest face's model judges this pixel (distance in face sizes from the face centre).
            let nearest = gfaces
                .iter()
                .enumerate()
                .map(|(k, g)| {
                    let (u, v) = g.rel(x, y);
                    (k, (u - 0.5).hypot((v - 0.6) * 0.8))
                })
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(k, _)| k)
                .unwrap_or(0);
            owner[i] = nearest as u16;
            let model = &models[nearest.min(models.len() - 1)];
            let (busy0, busy1) = (
                1.5 * model.texture_ref + 0.002,
                2.2 * model.texture_ref + 0.006,
            );
            let (ncb, ncr) = (model.cb - 128.0, model.cr - 128.0);
            let skin_chroma2 = (ncb * ncb + ncr * ncr).max(1.0);
            let (db, dr) = (c[1] - model.cb, c[2] - model.cr);
            let m2 = db * (model.icov[0][0] * db + model.icov[0][1] * dr)
                + dr * (model.icov[1][0] * db + model.icov[1][1] * dr);
            // Near a face (within the head and neck region) the fitted model rules; far away it must also
            // fall in the general locus.
            let mut near = 0f32;
            let mut lock = 0f32;
            for g in &gfaces {
                let (u, v) = g.rel(x, y);
                near = near.max(ellipse(u, v, 0.5, 0.75, 0.8, 1.35, 0.3));
                if (-0.2..1.2).contains(&u) && (-0.2..1.2).contains(&v) {
                    lock = lock.max(lock_zone(u, v));
                }
            }
            let p_model = 1.0 - smoothstep(5.0, 12.0, m2);
            let loose = 1.0 - smoothstep(10.0, 25.0, m2);
            let mut p = near * p_model + (1.0 - near) * loose * locus(c[1], c[2]);
            // Skin-coloured but far brighter than this face's skin (a beige wall behind dark skin): not skin.
            // Specular highlights are desaturated and come back through the sheen test below.
            p *= 1.0 - smoothstep(1.8, 2.4, c[0] / model.luma_mean.max(0.02));
            // Specular sheen keeps the skin's hue but loses saturation: chroma on the segment from neutral
            // to the skin mean, brighter than the skin. Accept it inside face boxes so highlights get broken up
            // (outside them the same test would take in beige walls and collars).
            let t = ((c[1] - 128.0) * ncb + (c[2] - 128.0) * ncr) / skin_chroma2;
            let perp2 = {
                let (pb, pr) = (c[1] - 128.0 - t * ncb, c[2] - 128.0 - t * ncr);
                pb * pb + pr * pr
            };
            let in_face = gfaces.get(nearest).is_some_and(|g| {
                let (u, v) = g.rel(x, y);
                (-0.05..1.05).contains(&u) && (-0.05..1.1).contains(&v)
            });
            if in_face && t > 0.15 && t < 1.1 && perp2 < 36.0 && c[0] > model.luma_mean {
                p = p.max(
                    near * smoothstep(0.0, 0.12, c[0] - model.luma_mean)
                        * (1.0 - smoothstep(16.0, 36.0, perp2)),
                );
            }
            // Brows, lashes, nostrils, hair, beard: clearly darker than the face's skin (by a margin that
            // scales with the skin's own lightness, so dark skin keeps its shadows and loses its hair).
            let dark_edge = (model.luma_mean - 2.0 * model.luma_sd.max(0.02))
                .min(0.55 * model.luma_mean)
                .max(0.02);
            p *= smoothstep(dark_edge * 0.75, dark_edge, c[0]);
            // Stubble, hair strands, lashes: busy with texture finer than a reduced pixel, compared with the
            // face's own clean skin (so it holds for smooth AI skin and textured real skin alike).
            p *= 1.0 - smoothstep(busy0, busy1, busy.data[i]);
            raw.data[i] = p;
            locks.data[i] = lock;
            near_face.data[i] = near;
        }
    }
    keep_person_components(&mut raw, &luma, &near_face, &gfaces, models, &owner);
    // Edge-aware refinement on the luma (radius 2 reduced px), then the locks cut in hard.
    let refined = guided(&luma, &raw, 2, 0.0012);
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

    // Pore density from the face geometry.
    let density = Plane::from_fn(w, h, |x, y| {
        let mut d = BODY_DENSITY;
        for g in &gfaces {
            let (u, v) = g.rel(x, y);
            let zones: [(f32, f32, f32, f32, f32); 7] = [
                (0.50, 0.60, 0.12, 0.16, 1.0), // nose
                (0.25, 0.66, 0.15, 0.14, 1.0), // cheeks
                (0.75, 0.66, 0.15, 0.14, 1.0),
                (0.50, 0.10, 0.35, 0.16, 0.6),  // forehead
                (0.30, 0.52, 0.12, 0.05, 0.45), // under the eyes
                (0.70, 0.52, 0.12, 0.05, 0.45),
                (0.50, 0.97, 0.18, 0.10, 0.8), // chin
            ];
            let (mut sw, mut sv) = (0.3f32, 0.3f32 * FACE_DENSITY);
            for (cx, cy, rx, ry, val) in zones {
                let r2 = ((u - cx) / rx).powi(2) + ((v - cy) / ry).powi(2);
                let wgt = (-0.5 * r2).exp();
                sw += wgt;
                sv += wgt * val;
            }
            let face_w = ellipse(u, v, 0.5, 0.55, 0.65, 0.75, 0.4);
            d = d * (1.0 - face_w) + face_w * (sv / sw);
        }
        d
    });

    // Sheen: skin clearly brighter than the skin's local level (σ ≈ 8 % of the face width).
    let sigma = gfaces.first().map(|g| (0.08 * g.w).max(2.0)).unwrap_or(4.0);
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
    let local = blur(&wy, sigma);
    let norm = blur(&mask, sigma);
    let sheen = Plane::from_fn(w, h, |x, y| {
        let i = y * w + x;
        let base = local.data[i] / norm.data[i].max(1e-3);
        let rel = luma.data[i] / base.max(1e-3);
        mask.data[i] * smoothstep(1.06, 1.3, rel) * near_face.data[i]
    });
    SkinMaps {
        mask,
        density,
        sheen,
        locks,
        models: models.to_vec(),
        coverage,
    }
}

/// Keeps only skin-coloured regions that belong to a person: connected to a face's head-and-neck region,
/// or lying in the body zone below a face (shoulders, arms, hands) with a skin-like lightness. Warm lamps,
/// wood and bokeh far from anyone are dropped.
fn keep_person_components(
    raw: &mut Plane,
    luma: &Plane,
    near: &Plane,
    faces: &[GridFace],
    models: &[SkinModel],
    owner: &[u16],
) {
    let (w, h) = (raw.w, raw.h);
    let mut label = vec![u32::MAX; w * h];
    let mut stack = Vec::new();
    let mut next = 0u32;
    for start in 0..w * h {
        if label[start] != u32::MAX || raw.data[start] < 0.25 {
            continue;
        }
        // Flood-fill one component, gathering what decides whether it is a person's skin.
        let (mut touches_head, mut n, mut sum_l, mut sx, mut sy) =
            (false, 0usize, 0f32, 0f32, 0f32);
        let mut members = Vec::new();
        label[start] = next;
        stack.push(start);
        while let Some(i) = stack.pop() {
            members.push(i);
            let (x, y) = (i % w, i / w);
            touches_head |= near.data[i] > 0.5;
            n += 1;
            sum_l += luma.data[i];
            sx += x as f32;
            sy += y as f32;
            let mut visit = |j: usize| {
                if label[j] == u32::MAX && raw.data[j] >= 0.25 {
                    label[j] = next;
                    stack.push(j);
                }
            };
            if x > 0 {
                visit(i - 1);
            }
            if x + 1 < w {
                visit(i + 1);
            }
            if y > 0 {
                visit(i - w);
            }
            if y + 1 < h {
                visit(i + w);
            }
        }
        next += 1;
        let keep = touches_head || {
            let (cx, cy, ml) = (sx / n as f32 + 0.5, sy / n as f32 + 0.5, sum_l / n as f32);
            // Shoulders, arms and hands hang below the chin: the body zone starts at the chin line.
            let in_body = faces.iter().any(|g| {
                let (u, v) = ((cx - g.x) / g.w, (cy - g.y) / g.h);
                v > 1.0 && ellipse(u, v, 0.5, 2.6, 2.8, 2.6, 0.0) > 0.5
            });
            let model = &models[(owner[members[0]] as usize).min(models.len() - 1)];
            let lightness_ok =
                (ml / model.luma_mean.max(0.05)) > 0.45 && (ml / model.luma_mean.max(0.05)) < 1.6;
            // A hand or an arm is a sizeable patch (≥ 3 % of a face's area), not a sliver of warm light.
            let big = faces.iter().any(|g| n as f32 >= 0.03 * g.w * g.h);
            in_body && lightness_ok && big
        };
        if !keep {
            for i in members {
                raw.data[i] = 0.0;
            }
        }
    }
    // Faint fringes (p < 0.25) count only next to kept skin; the guided filter restores soft edges.
    let support = box_mean(raw, 1);
    for (v, s) in raw.data.iter_mut().zip(&support.data) {
        if *v < 0.25 && *s < 0.05 {
            *v = 0.0;
        }
    }
}

/// The mask overlay for the report: the reduced image with skin tinted and locked zones outlined in blue.
pub fn overlay(red: &Reduced, maps: &SkinMaps) -> image::RgbImage {
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
    out
}
