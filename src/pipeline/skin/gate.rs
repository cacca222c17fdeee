//! The per-face gate: is this face's skin photographed skin?
//!
//! Measured inside the face's own skin (the landmark oval, shrunk, less eyes, brows, lips and
//! nostrils) on a crop aligned to the eye line and scaled so the oval is 170 px wide, so
//! neither a crisp picture nor a textured background changes the verdict:
//!
//! - **Shading steps** (`step_sharpness`): among the 2 % strongest shading edges inside the
//!   skin, the median ratio of the gradient at σ = 1 px to the gradient at σ = 3 px. An ideal
//!   step gives about 3, a ramp wider than ~6 px about 1. Light on a real face makes ramps,
//!   even on crisp AI skin (1.09–1.63 on 31 photographed faces, real and AI); cel shading,
//!   line art and flat-colour painting make steps (1.88–2.54 on anime, comic and Ghibli-style
//!   faces). Taking the top 2 % by rank keeps it independent of contrast and exposure.
//! - **Iris size** (`iris_to_face`): the face mesh regresses every face to human proportions,
//!   so the eyes are measured in the pixels instead. On each eye an integro-differential search
//!   (Daugman's iris locator, on the lateral arcs where lids do not cover the limbus) finds the
//!   circle with the strongest dark-inside, bright-outside edge, or a larger one about the
//!   same centre nearly as strong (the limbus around a drawn pupil). When both eyes give a clear
//!   circle of about the same size on a face turned less than [`MAX_IRIS_YAW`], the smaller
//!   diameter over the face width reads 0.05–0.106 on 37 photographed faces, real and AI (at
//!   most 0.100 on 91 faces of the development set graded, mirrored, turned, halved and
//!   recompressed by `bench/gate.sh --variants`; a Pixar-style portrait 0.141–0.147 in all 7
//!   of its variants): an adult iris is 11.7 mm on a face about
//!   140 mm wide (0.084), and an infant's reaches about 0.12. Toon and 3D-animation faces draw
//!   the eyes larger (0.14 on a Pixar-style portrait); above [`MAX_IRIS_TO_FACE`] the face is
//!   not photographed.
//! - **Skin chroma** (`skin_chroma`): the median CIELAB chroma C* of the skin. Skin is a
//!   turbid, diffusing surface whose reflectance is never strongly saturated: spectrophotometry
//!   of every skin type reads C* about 15–30, and photographs of it, warm light and film-look
//!   grading included, read 11–43 on 44 photographed faces here (real and AI, the strongest an
//!   orange-graded film look). 3D animation renders paint skin as saturated orange or pink
//!   (54–56 on a Pixar-style render). Above [`MAX_SKIN_CHROMA`] the skin is rendered, not lit.
//! - The mesh's own face-presence score: anime and cartoon faces often get none.
//!
//! Known gap: 3D toon renders with human-sized eyes and natural skin colour, and oil
//! paintings, shade in ramps and pass this gate; the whole-picture classifier's verdict is kept
//! in the report.

use super::filters::{Plane, gaussian};
use super::measure::lin_to_lab_fast;
use super::space::Space;
use crate::face::{self, Face, mesh};
use image::DynamicImage;
use serde::Serialize;

/// Crop side and the oval width in it.
const CROP: usize = 256;
const OVAL_PX: f32 = 170.0;
/// Above this, the face's shading is drawn, not lit.
pub const MAX_STEP_SHARPNESS: f32 = 1.75;
/// Above this iris diameter over face width, the eyes are drawn (cartoon and toon proportions).
pub const MAX_IRIS_TO_FACE: f32 = 0.125;
/// Above this median CIELAB chroma of the skin, its colour is painted, not lit skin.
pub const MAX_SKIN_CHROMA: f32 = 50.0;
/// The iris check applies to faces turned less than this (mesh yaw, 0 frontal, 1 profile):
/// beyond it the face width foreshortens and the far eye's iris narrows.
pub const MAX_IRIS_YAW: f32 = 0.35;
/// An iris edge counts when its lateral arcs step up by this much luma (of 255).
const MIN_IRIS_CONTRAST: f32 = 40.0;
/// The two eyes agree when their iris radii differ by at most this share.
const IRIS_AGREEMENT: f32 = 0.25;
/// A larger circle about the strongest one's centre is the limbus (a drawn pupil steps up about
/// as much, inside it) when it steps up at least this share of the strongest, and is an edge of
/// its own: between the two, the step falls under [`EDGE_DIP`] of the larger one's.
const OUTER_EDGE_SHARE: f32 = 0.8;
const EDGE_DIP: f32 = 0.5;

/// The gate's figures for one face.
#[derive(Clone, Debug, Serialize)]
pub struct FaceVerdict {
    pub photographed: bool,
    /// Median fine/coarse gradient ratio on the strongest 2 % of skin edges (≈1 ramps, ≈3 steps).
    pub step_sharpness: f32,
    /// Smaller iris diameter over face width, when both irises were found (human ≈ 0.084).
    pub iris_to_face: Option<f32>,
    /// Median CIELAB chroma C* of the skin (photographed skin ≈ 11–43).
    pub skin_chroma: f32,
    /// Face-mesh presence, 0..1.
    pub presence: f32,
    /// Skin pixels the figures come from (in the 256 px crop).
    pub samples: usize,
    pub reason: String,
}

/// Judges one face.
pub fn judge(img: &DynamicImage, f: &Face, space: &Space) -> FaceVerdict {
    let m = &f.mesh;
    let width = mesh::dist(m.at(mesh::RIGHT_CHEEK_EDGE), m.at(mesh::LEFT_CHEEK_EDGE)).max(8.0);
    let b = m.oval_bounds();
    let roi = face::sample::Roi {
        cx: 0.5 * (b[0] + b[2]),
        cy: 0.5 * (b[1] + b[3]),
        side: CROP as f32 * width / OVAL_PX,
        angle: m.roll_deg().to_radians(),
    };
    let pyr = face::crop_pyramid(img, &roi, CROP);
    let rgb = pyr.crop(&roi, CROP, |v| v * 255.0);
    let luma = Plane::from_fn(CROP, CROP, |x, y| {
        let i = 3 * (y * CROP + x);
        0.299 * rgb[i] + 0.587 * rgb[i + 1] + 0.114 * rgb[i + 2]
    });
    let skin = skin_pixels(f, &roi);
    let samples = skin.iter().filter(|s| **s).count();
    let g1 = sobel_magnitude(&gaussian(&luma, 1.0, false));
    let g3 = sobel_magnitude(&gaussian(&luma, 3.0, false));
    let step_sharpness = steps(&g1, &g3, &skin);
    let skin_chroma = median_chroma(&rgb, &skin, space);
    let presence = m.presence;
    let iris_to_face = (m.yaw().abs() < MAX_IRIS_YAW)
        .then(|| iris_pair(&luma, f, &roi))
        .flatten()
        .map(|r| 2.0 * r / OVAL_PX);
    let (photographed, reason) = if samples < 500 {
        (
            false,
            "too little skin visible between the features to judge".to_string(),
        )
    } else if step_sharpness > MAX_STEP_SHARPNESS {
        (
            false,
            format!(
                "drawn, not photographed: the skin's shading changes in steps (step sharpness {step_sharpness:.2} > {MAX_STEP_SHARPNESS})"
            ),
        )
    } else if skin_chroma > MAX_SKIN_CHROMA {
        (
            false,
            format!(
                "rendered, not photographed: the skin is more saturated than lit human skin (chroma {skin_chroma:.0} > {MAX_SKIN_CHROMA:.0})"
            ),
        )
    } else if let Some(k) = iris_to_face.filter(|k| *k > MAX_IRIS_TO_FACE) {
        (
            false,
            format!(
                "drawn, not photographed: the irises are larger than a person's ({:.1} % of the face width > {:.1} %)",
                100.0 * k,
                100.0 * MAX_IRIS_TO_FACE
            ),
        )
    } else {
        (
            true,
            format!(
                "photographed skin: shading in smooth ramps (step sharpness {step_sharpness:.2})"
            ),
        )
    };
    FaceVerdict {
        photographed,
        step_sharpness,
        iris_to_face,
        skin_chroma,
        presence,
        samples,
        reason,
    }
}

/// Median CIELAB chroma over the selected pixels of an interleaved crop (0..255, encoded in
/// the picture's `space`).
fn median_chroma(rgb: &[f32], sel: &[bool], space: &Space) -> f32 {
    let srgb = space.is_srgb();
    let lin = |v: f32| {
        let v = (v / 255.0).clamp(0.0, 1.0);
        if !srgb {
            space.decode_unit(v)
        } else if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let mut c: Vec<f32> = (0..sel.len())
        .filter(|&i| sel[i])
        .map(|i| {
            let lab = lin_to_lab_fast(space.to_srgb([
                lin(rgb[3 * i]),
                lin(rgb[3 * i + 1]),
                lin(rgb[3 * i + 2]),
            ]));
            lab[1].hypot(lab[2])
        })
        .collect();
    if c.is_empty() {
        return 0.0;
    }
    let mid = c.len() / 2;
    *c.select_nth_unstable_by(mid, f32::total_cmp).1
}

/// The smaller of the two iris radii (crop px), when both eyes show a clear iris of about the
/// same size.
fn iris_pair(luma: &Plane, f: &Face, roi: &face::sample::Roi) -> Option<f32> {
    let to_crop = |i: usize| {
        let p = f.mesh.at(i);
        roi.to_crop(p[0], p[1], CROP)
    };
    let mut radii = [0.0f32; 2];
    for (k, (eye, corners)) in [
        (&mesh::RIGHT_EYE[..], (mesh::RIGHT_EYE_OUTER, 133)),
        (&mesh::LEFT_EYE[..], (mesh::LEFT_EYE_OUTER, 362)),
    ]
    .into_iter()
    .enumerate()
    {
        let n = eye.len() as f32;
        let c = eye
            .iter()
            .map(|&i| to_crop(i))
            .fold([0.0, 0.0], |a, p| [a[0] + p[0] / n, a[1] + p[1] / n]);
        let width = mesh::dist(to_crop(corners.0), to_crop(corners.1));
        let (r, contrast) = iris(luma, c, width);
        if contrast < MIN_IRIS_CONTRAST {
            return None;
        }
        radii[k] = r;
    }
    let (lo, hi) = (radii[0].min(radii[1]), radii[0].max(radii[1]));
    (hi - lo <= IRIS_AGREEMENT * hi).then_some(lo)
}

/// Daugman's integro-differential iris locator on one eye: over centres near the mesh's eye
/// centre and radii of 4–32 crop px (2.4–19 % of the face width), the circle whose lateral
/// arcs (±50° about the horizontal, where the lids leave the limbus bare) step up most from
/// inside to outside, 1.5 px either side. Returns its radius and that step in luma.
///
/// A dark pupil inside a lighter iris can step up about as much as the limbus does, and which
/// of the two wins then turns on a grade or a mirror image. So the strongest larger circle about
/// the same centre is taken for the limbus when it steps up at least [`OUTER_EDGE_SHARE`] as
/// much and is an edge of its own, not the same soft edge read further out ([`EDGE_DIP`]); its
/// own step is returned then.
fn iris(luma: &Plane, centre: [f32; 2], eye_width: f32) -> (f32, f32) {
    let sx = (0.3 * eye_width).max(4.0) as i32;
    let sy = (0.15 * eye_width).max(3.0) as i32;
    let grid: Vec<[f32; 2]> = (-sy..=sy)
        .step_by(2)
        .flat_map(|dy| (-sx..=sx).step_by(2).map(move |dx| [dx as f32, dy as f32]))
        .collect();
    let strongest = circle_search(luma, centre, &grid, IRIS_R0);
    // Within 3 px of the strongest circle's centre: on a soft, resampled eye the strongest
    // circle can sit between the pupil's centre and the limbus's, blending both edges.
    let near: Vec<[f32; 2]> = (-3..=3)
        .flat_map(|dy| (-3..=3).map(move |dx| [dx as f32, dy as f32]))
        .collect();
    let outer = circle_search(luma, strongest.2, &near, strongest.0 + 2.0);
    let own_edge = || {
        let steps = ring_steps(luma, outer.2);
        let dip = (0..IRIS_RINGS)
            .filter(|&j| {
                let r = IRIS_R0 + IRIS_DR * j as f32;
                r > strongest.0 && r < outer.0
            })
            .map(|j| steps[j])
            .fold(f32::MAX, f32::min);
        dip < EDGE_DIP * outer.1
    };
    if outer.1 >= OUTER_EDGE_SHARE * strongest.1 && own_edge() {
        (outer.0, outer.1)
    } else {
        (strongest.0, strongest.1)
    }
}

/// The inside-to-outside step on each ring about `c` (lateral arcs, [`IRIS_GAP`] rings either
/// side); rings too near either end of the range read `f32::MIN`.
fn ring_steps(luma: &Plane, c: [f32; 2]) -> [f32; IRIS_RINGS] {
    let arcs: [(f32, f32); 24] = std::array::from_fn(|k| {
        let a: f32 = if k < 12 { -50.0 } else { 130.0 } + 100.0 * (k % 12) as f32 / 11.0;
        let (s, c) = a.to_radians().sin_cos();
        (c, s)
    });
    let mut ring = [0.0f32; IRIS_RINGS];
    for (j, v) in ring.iter_mut().enumerate() {
        let r = IRIS_R0 + IRIS_DR * j as f32;
        *v = arcs
            .iter()
            .map(|(co, si)| luma.sample(c[0] + r * co, c[1] + r * si))
            .sum::<f32>()
            / arcs.len() as f32;
    }
    let mut steps = [f32::MIN; IRIS_RINGS];
    for j in IRIS_GAP..IRIS_RINGS - IRIS_GAP {
        steps[j] = ring[j + IRIS_GAP] - ring[j - IRIS_GAP];
    }
    steps
}

/// The centre and its 8 neighbours, 1 px apart.
const NEIGHBOURS: [[f32; 2]; 9] = [
    [0.0, 0.0],
    [-1.0, -1.0],
    [0.0, -1.0],
    [1.0, -1.0],
    [-1.0, 0.0],
    [1.0, 0.0],
    [-1.0, 1.0],
    [0.0, 1.0],
    [1.0, 1.0],
];
/// The iris locator's smallest ring radius (crop px), ring spacing, ring count (2.5 ..= 33.5)
/// and the gap either side of an edge (1.5 px).
const IRIS_R0: f32 = 2.5;
const IRIS_DR: f32 = 0.5;
const IRIS_RINGS: usize = 63;
const IRIS_GAP: usize = 3;

/// The strongest inside-to-outside step on circles of radius at least `r_min`, over centres at
/// `centre` + each offset, then the best one's 1 px neighbours: (radius, step, centre).
fn circle_search(
    luma: &Plane,
    centre: [f32; 2],
    offsets: &[[f32; 2]],
    r_min: f32,
) -> (f32, f32, [f32; 2]) {
    let first = (((r_min - IRIS_R0) / IRIS_DR).ceil().max(0.0) as usize).max(IRIS_GAP);
    let best_at = |x0: f32, y0: f32| {
        let steps = ring_steps(luma, [x0, y0]);
        (first..IRIS_RINGS - IRIS_GAP)
            .map(|j| (IRIS_R0 + IRIS_DR * j as f32, steps[j]))
            .fold((0.0, f32::MIN), |a, b| if b.1 > a.1 { b } else { a })
    };
    let mut best = (0.0, f32::MIN, centre);
    let try_at = |best: &mut (f32, f32, [f32; 2]), c: [f32; 2]| {
        let (r, step) = best_at(c[0], c[1]);
        if step > best.1 {
            *best = (r, step, c);
        }
    };
    for o in offsets {
        try_at(&mut best, [centre[0] + o[0], centre[1] + o[1]]);
    }
    let coarse = best.2;
    for o in &NEIGHBOURS[1..] {
        try_at(&mut best, [coarse[0] + o[0], coarse[1] + o[1]]);
    }
    best
}

/// Median of g1/g3 where g3 is in its top 2 % over the skin.
fn steps(g1: &Plane, g3: &Plane, skin: &[bool]) -> f32 {
    let mut strong: Vec<f32> = (0..skin.len())
        .filter(|&i| skin[i])
        .map(|i| g3.data[i])
        .collect();
    if strong.len() < 50 {
        return 0.0;
    }
    strong.sort_by(f32::total_cmp);
    // numpy's linear-interpolated percentile.
    let pos = 0.98 * (strong.len() - 1) as f32;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(strong.len() - 1);
    let t = strong[lo] + (strong[hi] - strong[lo]) * (pos - lo as f32);
    let mut ratios: Vec<f32> = (0..skin.len())
        .filter(|&i| skin[i] && g3.data[i] >= t)
        .map(|i| g1.data[i] / (g3.data[i] + 1e-6))
        .collect();
    if ratios.is_empty() {
        return 0.0;
    }
    let mid = ratios.len() / 2;
    *ratios.select_nth_unstable_by(mid, f32::total_cmp).1
}

/// The face's skin in the aligned crop: the oval shrunk to 88 % and eroded 4 px, less the
/// eyes (grown 10 px: drawn eyes outgrow the mesh's), brows, lips and nostrils (grown 6 px).
fn skin_pixels(f: &Face, roi: &face::sample::Roi) -> Vec<bool> {
    let to_crop = |idx: &[usize]| -> Vec<[f32; 2]> {
        idx.iter()
            .map(|&i| {
                let p = f.mesh.at(i);
                roi.to_crop(p[0], p[1], CROP)
            })
            .collect()
    };
    let oval = mesh::scale_polygon(&to_crop(&mesh::FACE_OVAL), 0.88);
    let mut skin = erode(mesh::fill_polygon(&oval, CROP, CROP), 4);
    let cut = |poly: Vec<[f32; 2]>, grow: usize, skin: &mut Vec<bool>| {
        cut_grown(skin, &mesh::fill_polygon(&poly, CROP, CROP), grow);
    };
    cut(to_crop(&mesh::RIGHT_EYE), 10, &mut skin);
    cut(to_crop(&mesh::LEFT_EYE), 10, &mut skin);
    cut(to_crop(&mesh::LIPS_OUTER), 6, &mut skin);
    cut(to_crop(&mesh::RIGHT_BROW), 6, &mut skin);
    cut(to_crop(&mesh::LEFT_BROW), 6, &mut skin);
    for nostril in [&mesh::RIGHT_NOSTRIL[..], &mesh::LEFT_NOSTRIL[..]] {
        cut(mesh::ellipse_in_bounds(&to_crop(nostril), 24), 6, &mut skin);
    }
    skin
}

/// Clears from the CROP-wide `skin` every pixel within `grow` steps of the feature `m` (its
/// dilation by the 4-neighbour cross). The distances are computed only over the feature's box
/// grown by `grow`: a shortest 4-neighbour path stays inside the box of its two ends, so every
/// pixel the dilation reaches, and the path to it, lies there.
fn cut_grown(skin: &mut [bool], m: &[bool], grow: usize) {
    let (mut x0, mut y0, mut x1, mut y1) = (CROP, CROP, 0, 0);
    for (y, row) in m.chunks_exact(CROP).enumerate() {
        if let (Some(a), Some(b)) = (row.iter().position(|v| *v), row.iter().rposition(|v| *v)) {
            (x0, x1) = (x0.min(a), x1.max(b + 1));
            (y0, y1) = (y0.min(y), y + 1);
        }
    }
    if x0 >= x1 {
        return;
    }
    let h = m.len() / CROP;
    let (x0, y0) = (x0.saturating_sub(grow), y0.saturating_sub(grow));
    let (x1, y1) = ((x1 + grow).min(CROP), (y1 + grow).min(h));
    let ww = x1 - x0;
    let window: Vec<bool> = (y0..y1)
        .flat_map(|y| m[y * CROP + x0..y * CROP + x1].iter().copied())
        .collect();
    for (j, d) in city_block_distance(&window, ww, true)
        .into_iter()
        .enumerate()
    {
        if d <= grow as u32 {
            skin[(y0 + j / ww) * CROP + x0 + j % ww] = false;
        }
    }
}

/// City-block distance from every pixel of a `w`-wide mask to the nearest pixel whose value
/// is `to` (two passes, exact for the 4-neighbour metric; far beyond the grid where there is
/// none).
fn city_block_distance(m: &[bool], w: usize, to: bool) -> Vec<u32> {
    let h = m.len() / w;
    let far = (w + h) as u32 + 1;
    let mut d: Vec<u32> = m.iter().map(|&v| if v == to { 0 } else { far }).collect();
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            if x > 0 {
                d[i] = d[i].min(d[i - 1] + 1);
            }
            if y > 0 {
                d[i] = d[i].min(d[i - w] + 1);
            }
        }
    }
    for y in (0..h).rev() {
        for x in (0..w).rev() {
            let i = y * w + x;
            if x + 1 < w {
                d[i] = d[i].min(d[i + 1] + 1);
            }
            if y + 1 < h {
                d[i] = d[i].min(d[i + w] + 1);
            }
        }
    }
    d
}

/// Binary erosion by the 4-neighbour cross `n` times (outside the grid counts as set, as
/// scipy's default border does): what lies more than `n` steps from every unset pixel.
fn erode(m: Vec<bool>, n: usize) -> Vec<bool> {
    city_block_distance(&m, CROP, false)
        .into_iter()
        .map(|d| d > n as u32)
        .collect()
}

/// Binary dilation by the 4-neighbour cross `n` times: what lies within `n` steps of a set
/// pixel.
#[cfg(test)]
fn dilate(m: Vec<bool>, n: usize) -> Vec<bool> {
    city_block_distance(&m, CROP, true)
        .into_iter()
        .map(|d| d <= n as u32)
        .collect()
}

/// Sobel gradient magnitude / 8 (unit response to a unit ramp), borders clamped.
fn sobel_magnitude(p: &Plane) -> Plane {
    let (w, h) = (p.w, p.h);
    let at = |x: isize, y: isize| {
        p.data[(y.clamp(0, h as isize - 1) as usize) * w + x.clamp(0, w as isize - 1) as usize]
    };
    Plane::from_fn(w, h, |x, y| {
        let (x, y) = (x as isize, y as isize);
        let gx = (at(x + 1, y - 1) + 2.0 * at(x + 1, y) + at(x + 1, y + 1))
            - (at(x - 1, y - 1) + 2.0 * at(x - 1, y) + at(x - 1, y + 1));
        let gy = (at(x - 1, y + 1) + 2.0 * at(x, y + 1) + at(x + 1, y + 1))
            - (at(x - 1, y - 1) + 2.0 * at(x, y - 1) + at(x + 1, y - 1));
        (gx / 8.0).hypot(gy / 8.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 4-neighbour cross applied `n` times, pixel by pixel: what the distance form replaces.
    fn iterated(mut m: Vec<bool>, n: usize, grow: bool) -> Vec<bool> {
        let w = CROP;
        let h = m.len() / w;
        for _ in 0..n {
            let prev = m.clone();
            for y in 0..h {
                for x in 0..w {
                    let i = y * w + x;
                    let nb = [
                        (x > 0).then(|| prev[i - 1]),
                        (x + 1 < w).then(|| prev[i + 1]),
                        (y > 0).then(|| prev[i - w]),
                        (y + 1 < h).then(|| prev[i + w]),
                    ];
                    m[i] = if grow {
                        prev[i] || nb.contains(&Some(true))
                    } else {
                        prev[i] && nb.iter().all(|v| v.unwrap_or(true))
                    };
                }
            }
        }
        m
    }

    #[test]
    fn morphology_by_distance_equals_the_iterated_cross() {
        // Blobs, holes, thin lines and pixels on the border.
        let m: Vec<bool> = (0..CROP * 64)
            .map(|i| {
                let (x, y) = ((i % CROP) as u32, (i / CROP) as u32);
                crate::pipeline::skin::texture::hash(x / 3, y / 5, 9).is_multiple_of(3) || x == 100
            })
            .collect();
        for n in [0, 1, 4, 10] {
            assert_eq!(
                erode(m.clone(), n),
                iterated(m.clone(), n, false),
                "erode {n}"
            );
            assert_eq!(
                dilate(m.clone(), n),
                iterated(m.clone(), n, true),
                "dilate {n}"
            );
        }
        assert!(erode(vec![true; CROP * 8], 3).iter().all(|v| *v));
        assert!(!dilate(vec![false; CROP * 8], 3).iter().any(|v| *v));
    }

    #[test]
    fn a_step_is_sharp_and_a_ramp_is_not() {
        let n = 64;
        let step = Plane::from_fn(n, n, |x, _| if x < 32 { 50.0 } else { 150.0 });
        let ramp = Plane::from_fn(n, n, |x, _| {
            50.0 + 100.0 * ((x as f32 - 20.0) / 24.0).clamp(0.0, 1.0)
        });
        let all = vec![true; n * n];
        let r = |p: &Plane| {
            steps(
                &sobel_magnitude(&gaussian(p, 1.0, false)),
                &sobel_magnitude(&gaussian(p, 3.0, false)),
                &all,
            )
        };
        assert!(r(&step) > 2.3, "step {}", r(&step));
        assert!(r(&ramp) < 1.2, "ramp {}", r(&ramp));
    }

    /// A drawn eye: a white sclera lens with a dark iris disc of the given radius.
    fn eye_plane(r: f32) -> Plane {
        Plane::from_fn(CROP, CROP, |x, y| {
            let (dx, dy) = (x as f32 - 128.0, y as f32 - 128.0);
            if dx.hypot(dy) <= r {
                40.0
            } else if (dx / 30.0).powi(2) + (dy / 14.0).powi(2) <= 1.0 {
                230.0
            } else {
                150.0
            }
        })
    }

    #[test]
    fn the_iris_locator_finds_the_iris_radius() {
        for r in [7.0, 12.0] {
            let (found, step) = iris(&eye_plane(r), [126.0, 129.0], 50.0);
            assert!((found - r).abs() <= 1.0, "radius {r} found {found}");
            assert!(step > 100.0, "step {step}");
        }
        // A pupil that steps up as much as the limbus does not stand for the iris.
        // (pupil 0 → iris 120 steps 120; iris → sclera 230 steps 110.)
        let lit = eye_plane(12.0);
        let pupil = Plane::from_fn(CROP, CROP, |x, y| {
            match (x as f32 - 128.0).hypot(y as f32 - 128.0) {
                d if d <= 8.0 => 0.0,
                d if d <= 12.0 => 120.0,
                _ => lit.at(x, y),
            }
        });
        let (found, _) = iris(&pupil, [128.0, 128.0], 50.0);
        assert!((found - 12.0).abs() <= 1.0, "pupil and iris: found {found}");
        // A soft iris edge (a small face enlarged into the crop) is one edge, not a limbus
        // read again further out.
        for sigma in [2.0, 3.0, 4.0] {
            let (found, _) = iris(
                &gaussian(&eye_plane(9.0), sigma, false),
                [128.0, 128.0],
                50.0,
            );
            assert!((found - 9.0).abs() <= 1.0, "σ {sigma}: found {found}");
        }
        // No eye, no edge.
        let flat = Plane::from_fn(CROP, CROP, |_, _| 128.0);
        assert!(iris(&flat, [128.0, 128.0], 50.0).1 < MIN_IRIS_CONTRAST);
    }

    #[test]
    fn skin_chroma_tells_lit_skin_from_toon_orange() {
        let sel = vec![true; 4];
        let patch = |c: [f32; 3]| c.repeat(4);
        // Light, medium and dark photographed skin tones (sRGB).
        for tone in [
            [224.0, 188.0, 166.0],
            [198.0, 140.0, 110.0],
            [110.0, 72.0, 56.0],
        ] {
            let c = median_chroma(&patch(tone), &sel, Space::srgb());
            assert!((10.0..=MAX_SKIN_CHROMA).contains(&c), "{tone:?}: {c}");
        }
        // A 3D-animation orange.
        let c = median_chroma(&patch([222.0, 120.0, 60.0]), &sel, Space::srgb());
        assert!(c > MAX_SKIN_CHROMA, "toon orange: {c}");
        assert_eq!(
            median_chroma(&patch([128.0, 128.0, 128.0]), &sel, Space::srgb()).round(),
            0.0
        );
    }

    #[test]
    fn a_feature_cut_in_its_window_equals_the_full_dilation() {
        let feature = |x0: usize, y0: usize, x1: usize, y1: usize| -> Vec<bool> {
            (0..CROP * CROP)
                .map(|i| {
                    let (x, y) = (i % CROP, i / CROP);
                    (x0..x1).contains(&x) && (y0..y1).contains(&y) && (x + 2 * y) % 5 != 0
                })
                .collect()
        };
        // Inside, against each border, and nothing at all.
        for m in [
            feature(100, 120, 140, 131),
            feature(0, 0, 12, 7),
            feature(240, 250, 256, 256),
            vec![false; CROP * CROP],
        ] {
            for grow in [0, 1, 6, 10] {
                let mut cut = vec![true; CROP * CROP];
                cut_grown(&mut cut, &m, grow);
                let full: Vec<bool> = dilate(m.clone(), grow).iter().map(|d| !d).collect();
                assert!(cut == full, "grow {grow}");
            }
        }
    }

    #[test]
    fn morphology_grows_and_shrinks() {
        let mut m = vec![false; CROP * CROP];
        m[100 * CROP + 100] = true;
        let d = dilate(m, 2);
        assert_eq!(d.iter().filter(|v| **v).count(), 13);
        assert_eq!(erode(d, 1).iter().filter(|v| **v).count(), 5);
    }
}
