//! Tone: a global colour cast measured on near-neutral regions (bounded correction), a bounded pull of
//! over-saturated/orange skin toward natural skin chroma, and the gain vectors that turn mottling fields
//! (in Lab units) into luminance-neutral linear-RGB gains.

use super::filters::Plane;
use super::pixels::{LUMA, Reduced, lin_to_lab};
use crate::face::FaceBox;
use serde::Serialize;

/// Cast analysis of the near-neutral regions.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Cast {
    /// Share of the reduced image that counted as near-neutral.
    pub neutral_share: f32,
    /// Mean a*, b* of the near-neutral regions.
    pub a: f32,
    pub b: f32,
    /// Whether it counts as a cast (|a*, b*| above the threshold with enough neutral area).
    pub detected: bool,
    /// The a*, b* shift applied (toward neutral), bounded.
    pub corrected_a: f32,
    pub corrected_b: f32,
    /// Linear-RGB gains applied to the whole image (1,1,1 when none).
    pub gains: [f32; 3],
}

/// A cast needs at least this much neutral area (share of the image) to be trusted.
const MIN_NEUTRAL_SHARE: f32 = 0.04;
/// Below this chroma (Lab units) the neutral regions count as neutral already.
const CAST_THRESHOLD: f32 = 2.5;
/// Largest correction ever applied, Lab units.
const MAX_CAST_CORRECTION: f32 = 6.0;

/// Finds a global cast from near-neutral pixels off the skin and computes bounded correcting gains.
pub fn detect_cast(red: &Reduced, skin: &Plane, amount: f32) -> Cast {
    let mut sum = [0f64; 3];
    let mut n = 0usize;
    for (i, c) in red.lin.iter().enumerate() {
        if skin.data[i] > 0.05 {
            continue;
        }
        let y = LUMA[0] * c[0] + LUMA[1] * c[1] + LUMA[2] * c[2];
        if !(0.06..0.9).contains(&y) {
            continue;
        }
        let lab = lin_to_lab(*c);
        // Near-neutral: low chroma, but allow a cast of up to ~10 units to show up.
        if lab[1].hypot(lab[2]) < 8.0 {
            for k in 0..3 {
                sum[k] += (c[k] / y) as f64;
            }
            n += 1;
        }
    }
    let share = n as f32 / red.lin.len().max(1) as f32;
    let mut cast = Cast {
        neutral_share: share,
        gains: [1.0; 3],
        ..Cast::default()
    };
    if n == 0 {
        return cast;
    }
    // Mean chromaticity at unit luminance, then its Lab at mid-grey.
    let mean = [
        (sum[0] / n as f64) as f32,
        (sum[1] / n as f64) as f32,
        (sum[2] / n as f64) as f32,
    ];
    let grey = 0.18;
    let lab = lin_to_lab([mean[0] * grey, mean[1] * grey, mean[2] * grey]);
    cast.a = lab[1];
    cast.b = lab[2];
    let mag = lab[1].hypot(lab[2]);
    // Only warm (yellow to orange) shifts count: that is the generators' known cast; cool, green or magenta
    // shifts in near-neutral areas are far more often grading or coloured light, and are left alone.
    let hue = lab[2].atan2(lab[1]).to_degrees();
    cast.detected =
        share >= MIN_NEUTRAL_SHARE && mag > CAST_THRESHOLD && (20.0..=120.0).contains(&hue);
    if !cast.detected || amount <= 0.0 {
        return cast;
    }
    // Correct a fraction of the cast, never more than MAX_CAST_CORRECTION units.
    let want = ((mag - CAST_THRESHOLD * 0.5) * amount.min(1.0)).min(MAX_CAST_CORRECTION);
    let frac = (want / mag).clamp(0.0, 1.0);
    // Von Kries gains that move the neutral mean `frac` of the way to neutral, luminance kept.
    let mut g = [0f32; 3];
    for k in 0..3 {
        let full = 1.0 / mean[k].max(1e-3);
        g[k] = 1.0 + frac * (full - 1.0);
    }
    let ly = LUMA[0] * g[0] * mean[0] + LUMA[1] * g[1] * mean[1] + LUMA[2] * g[2] * mean[2];
    let ly0 = LUMA[0] * mean[0] + LUMA[1] * mean[1] + LUMA[2] * mean[2];
    for v in g.iter_mut() {
        *v *= ly0 / ly;
    }
    let after = lin_to_lab([
        mean[0] * g[0] * grey,
        mean[1] * g[1] * grey,
        mean[2] * g[2] * grey,
    ]);
    cast.corrected_a = lab[1] - after[1];
    cast.corrected_b = lab[2] - after[2];
    cast.gains = g;
    cast
}

/// Skin tone figures and the saturation pull.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct SkinTone {
    /// Mean skin colour (linear RGB) under the mask.
    #[serde(skip)]
    pub mean_lin: [f32; 3],
    pub lstar: f32,
    pub chroma: f32,
    pub hue_deg: f32,
    /// The chroma a natural skin of this lightness reaches at most (Lab units).
    pub chroma_limit: f32,
    /// Saturation factor applied at full mask (1 = none).
    pub saturation_scale: f32,
}

/// Natural skin chroma rises with darkness a little; across the Fitzpatrick range measured skin sits at
/// C* ≈ 12–28, and warm light on a real face reaches ~30 (the Obama portrait: 28.5). Beyond the limit the
/// skin reads orange or sunburnt.
/// Largest pull of the skin's mean chroma toward natural skin, in C* units: with the mask's
/// feathering the skin's colour then moves by at most about ΔE 2 (`skin_eval.py`'s skin ΔE).
const MAX_CHROMA_PULL: f32 = 4.0;

fn chroma_limit(lstar: f32) -> f32 {
    32.0 + (65.0 - lstar).clamp(0.0, 30.0) * 0.2
}

/// Measures mean skin tone under the mask and decides a bounded saturation pull (to at most −20 %).
pub fn skin_tone(red: &Reduced, mask: &Plane, amount: f32) -> SkinTone {
    let mut sum = [0f64; 3];
    let mut wsum = 0f64;
    for (c, m) in red.lin.iter().zip(&mask.data) {
        if *m > 0.5 {
            for k in 0..3 {
                sum[k] += (c[k] * m) as f64;
            }
            wsum += *m as f64;
        }
    }
    if wsum < 1.0 {
        return SkinTone {
            saturation_scale: 1.0,
            ..SkinTone::default()
        };
    }
    let mean = [
        (sum[0] / wsum) as f32,
        (sum[1] / wsum) as f32,
        (sum[2] / wsum) as f32,
    ];
    let lab = lin_to_lab(mean);
    let chroma = lab[1].hypot(lab[2]);
    let limit = chroma_limit(lab[0]);
    let mut scale = 1.0;
    if chroma > limit && amount > 0.0 {
        let full = limit / chroma;
        // At most MAX_CHROMA_PULL C* units: the skin's tone is corrected, never replaced.
        let floor = (1.0 - MAX_CHROMA_PULL / chroma).max(0.8);
        scale = (1.0 - (1.0 - full) * amount.min(1.5)).max(floor);
    }
    SkinTone {
        mean_lin: mean,
        lstar: lab[0],
        chroma,
        hue_deg: lab[2].atan2(lab[1]).to_degrees(),
        chroma_limit: limit,
        saturation_scale: scale,
    }
}

/// Linear-RGB relative gain vectors that move a colour by +1 a* and +1 b* while keeping L* (and the other
/// axis), solved from the numerical Jacobian of Lab at the skin colour.
pub fn lab_gain_vectors(c: [f32; 3]) -> ([f32; 3], [f32; 3]) {
    let c = [c[0].max(1e-3), c[1].max(1e-3), c[2].max(1e-3)];
    let base = lin_to_lab(c);
    let eps = 1e-3f32;
    // J[row = L,a,b][col = channel gain]
    let mut j = [[0f32; 3]; 3];
    for k in 0..3 {
        let mut d = c;
        d[k] *= 1.0 + eps;
        let l = lin_to_lab(d);
        for r in 0..3 {
            j[r][k] = (l[r] - base[r]) / eps;
        }
    }
    let inv = invert3(j);
    let col = |r: usize| [inv[0][r], inv[1][r], inv[2][r]];
    (col(1), col(2))
}

fn invert3(m: [[f32; 3]; 3]) -> [[f32; 3]; 3] {
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    let d = if det.abs() < 1e-12 { 1e-12 } else { det };
    let mut r = [[0f32; 3]; 3];
    r[0][0] = (m[1][1] * m[2][2] - m[1][2] * m[2][1]) / d;
    r[0][1] = (m[0][2] * m[2][1] - m[0][1] * m[2][2]) / d;
    r[0][2] = (m[0][1] * m[1][2] - m[0][2] * m[1][1]) / d;
    r[1][0] = (m[1][2] * m[2][0] - m[1][0] * m[2][2]) / d;
    r[1][1] = (m[0][0] * m[2][2] - m[0][2] * m[2][0]) / d;
    r[1][2] = (m[0][2] * m[1][0] - m[0][0] * m[1][2]) / d;
    r[2][0] = (m[1][0] * m[2][1] - m[1][1] * m[2][0]) / d;
    r[2][1] = (m[0][1] * m[2][0] - m[0][0] * m[2][1]) / d;
    r[2][2] = (m[0][0] * m[1][1] - m[0][1] * m[1][0]) / d;
    r
}

/// Where the key light comes from, in the picture's plane (x right, y down), from the face's own
/// low-pass shading: the offset of the skin's brightness-weighted centre from its plain centre,
/// in units of a tenth of the face width, clipped to length 1. Frontal or flat light gives about
/// 0, a hard side light about 1. Pores are shaded with it.
pub fn light_direction(red: &Reduced, mask: &Plane, face: &FaceBox) -> [f32; 2] {
    let k = red.k as f32;
    let (x0, x1) = (
        (face.x / k).max(0.0) as usize,
        ((face.x + face.w) / k) as usize,
    );
    let (y0, y1) = (
        (face.y / k).max(0.0) as usize,
        ((face.y + face.h) / k) as usize,
    );
    let (mut sw, mut sx, mut sy, mut lw, mut lx, mut ly) = (0f64, 0f64, 0f64, 0f64, 0f64, 0f64);
    for y in y0..y1.min(red.h) {
        for x in x0..x1.min(red.w) {
            let i = y * red.w + x;
            let m = f64::from(mask.data[i]);
            if m < 0.5 {
                continue;
            }
            let c = red.lin[i];
            let l = f64::from(super::measure::luminance(c));
            sw += m;
            sx += m * x as f64;
            sy += m * y as f64;
            lw += m * l;
            lx += m * l * x as f64;
            ly += m * l * y as f64;
        }
    }
    if sw < 20.0 || lw <= 0.0 {
        return [0.0; 2];
    }
    let unit = f64::from(0.1 * face.w / k).max(1.0);
    let d = [
        ((lx / lw - sx / sw) / unit) as f32,
        ((ly / lw - sy / sw) / unit) as f32,
    ];
    let len = (d[0] * d[0] + d[1] * d[1]).sqrt();
    if len > 1.0 {
        [d[0] / len, d[1] / len]
    } else {
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gain_vectors_move_one_axis() {
        let c = [0.45, 0.3, 0.22];
        let (va, vb) = lab_gain_vectors(c);
        let base = lin_to_lab(c);
        let s = 0.01;
        let moved = lin_to_lab([
            c[0] * (1.0 + s * va[0]),
            c[1] * (1.0 + s * va[1]),
            c[2] * (1.0 + s * va[2]),
        ]);
        assert!((moved[1] - base[1] - s).abs() < 2e-3, "{moved:?} {base:?}");
        assert!((moved[0] - base[0]).abs() < 2e-3 && (moved[2] - base[2]).abs() < 2e-3);
        let moved = lin_to_lab([
            c[0] * (1.0 + s * vb[0]),
            c[1] * (1.0 + s * vb[1]),
            c[2] * (1.0 + s * vb[2]),
        ]);
        assert!((moved[2] - base[2] - s).abs() < 2e-3);
    }

    fn lit(ramp: impl Fn(usize, usize) -> f32) -> [f32; 2] {
        let (w, h) = (64usize, 64usize);
        let lin: Vec<[f32; 3]> = (0..w * h)
            .map(|i| {
                let v = ramp(i % w, i / w);
                [v, 0.8 * v, 0.7 * v]
            })
            .collect();
        let red = Reduced {
            k: 4,
            w,
            h,
            full_w: w * 4,
            full_h: h * 4,
            rgb: lin.clone(),
            lin,
            luma_sd: vec![0.0; w * h],
            luma_fine: vec![0.0; w * h],
        };
        let mask = Plane::from_fn(w, h, |x, y| {
            if (8..56).contains(&x) && (8..56).contains(&y) {
                1.0
            } else {
                0.0
            }
        });
        let face = FaceBox {
            x: 32.0,
            y: 32.0,
            w: 192.0,
            h: 192.0,
            score: 1.0,
        };
        light_direction(&red, &mask, &face)
    }

    #[test]
    fn the_light_comes_from_the_bright_side() {
        // Brighter to the left (x small) and a little towards the top.
        let l = lit(|x, y| 0.6 - 0.006 * x as f32 - 0.002 * y as f32);
        assert!(l[0] < -0.3 && l[1] < 0.0 && l[1] > l[0], "{l:?}");
        assert!(l[0].hypot(l[1]) <= 1.0 + 1e-6);
        // Flat light: no direction.
        let flat = lit(|_, _| 0.4);
        assert!(flat[0].abs() < 1e-3 && flat[1].abs() < 1e-3, "{flat:?}");
    }
}
