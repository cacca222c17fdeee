//! Photograph or not: tells photographs from illustrations/anime, 3D renders and graphics, from pixels only,
//! on a reduced copy (at most 512 px). The skin engine treats photographs only.
//!
//! The cues, measured on the reduced copy's luma:
//! - edge sharpness: the median ratio of gradient magnitude at σ 0.7 px to σ 2 px over edge pixels. Optics,
//!   depth of field and demosaicing soften every edge of a photograph (ratio 1.6–2.3 on the samples); drawn
//!   and rendered edges are steps (2.4–3.8);
//! - line art: the share of pixels on thin dark ridges (outlines of drawings);
//! - palette concentration: the share of pixels in the 8 most common colours (4 bits per channel);
//! - edge presence: a picture with no edges at all is a synthetic gradient or fill.

use super::filters::{Plane, gradient_magnitude};
use image::{DynamicImage, RgbImage};
use serde::{Deserialize, Serialize};

/// What kind of picture it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PictureKind {
    Photo,
    Illustration,
    Render3d,
    Graphic,
}

/// The verdict with a confidence (0.5 = coin toss, 1 = sure) and the figures behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    pub kind: PictureKind,
    pub confidence: f32,
    pub reasons: Vec<String>,
}

/// The measured cues (exposed for tests and tuning).
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Cues {
    pub edge_sharpness: f32,
    pub line_art: f32,
    pub palette_top8: f32,
    pub edge_fraction: f32,
    pub smooth_fraction: f32,
}

/// Classifies a picture from its pixels.
pub fn classify(img: &DynamicImage) -> Classification {
    let small = match super::pixels::Pixels::of(img) {
        Some(px) => super::pixels::Reduced::build(
            &px,
            img.width() as usize,
            img.height() as usize,
            1,
            super::space::Space::srgb(),
        )
        .to_rgb8(),
        None => {
            let rgb = DynamicImage::ImageRgb8(img.to_rgb8());
            let px = super::pixels::Pixels::of(&rgb).expect("rgb8 is supported");
            super::pixels::Reduced::build(
                &px,
                rgb.width() as usize,
                rgb.height() as usize,
                1,
                super::space::Space::srgb(),
            )
            .to_rgb8()
        }
    };
    classify_reduced(&small)
}

/// Classifies an already reduced copy (long edge about 384–512 px).
pub fn classify_reduced(small: &RgbImage) -> Classification {
    let c = cues(small);
    decide(&c)
}

/// Measures the cues on a reduced copy.
pub fn cues(small: &RgbImage) -> Cues {
    let (w, h) = (small.width() as usize, small.height() as usize);
    if w < 16 || h < 16 {
        return Cues::default();
    }
    let luma = Plane::from_fn(w, h, |x, y| {
        let p = small.get_pixel(x as u32, y as u32).0;
        0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32
    });

    // Thin dark ridges: darker by 20 levels than both pixels two steps away, across or along.
    let mut ridge = 0usize;
    let mut total = 0usize;
    for y in 2..h - 2 {
        for x in 2..w - 2 {
            let v = luma.at(x, y);
            let rx = v < luma.at(x - 2, y).min(luma.at(x + 2, y)) - 20.0;
            let ry = v < luma.at(x, y - 2).min(luma.at(x, y + 2)) - 20.0;
            ridge += (rx || ry) as usize;
            total += 1;
        }
    }

    let g_fine = gradient_magnitude(&luma, 0.7);
    let g_coarse = gradient_magnitude(&luma, 2.0);
    let mut ratios: Vec<f32> = Vec::new();
    let mut smooth = 0usize;
    for i in 0..w * h {
        let gf = g_fine.data[i];
        if gf > 12.0 {
            ratios.push(gf / g_coarse.data[i].max(1e-3));
        }
        smooth += (gf < 2.0) as usize;
    }
    let edge_fraction = ratios.len() as f32 / (w * h) as f32;
    let edge_sharpness = if ratios.len() < 50 {
        0.0
    } else {
        let mid = ratios.len() / 2;
        *ratios.select_nth_unstable_by(mid, |a, b| a.total_cmp(b)).1
    };

    let mut hist = vec![0u32; 4096];
    for p in small.pixels() {
        let q = ((p[0] as usize >> 4) << 8) | ((p[1] as usize >> 4) << 4) | (p[2] as usize >> 4);
        hist[q] += 1;
    }
    hist.sort_unstable_by(|a, b| b.cmp(a));
    let top8 = hist[..8].iter().sum::<u32>() as f32 / (w * h) as f32;

    Cues {
        edge_sharpness,
        line_art: ridge as f32 / total.max(1) as f32,
        palette_top8: top8,
        edge_fraction,
        smooth_fraction: smooth as f32 / (w * h) as f32,
    }
}

fn decide(c: &Cues) -> Classification {
    let figures = format!(
        "edge sharpness {:.2}, line art {:.3}, top-8 colours {:.2}, edges {:.3}, smooth {:.2}",
        c.edge_sharpness, c.line_art, c.palette_top8, c.edge_fraction, c.smooth_fraction
    );
    let verdict = |kind, confidence: f32, why: &str| Classification {
        kind,
        confidence: confidence.clamp(0.5, 0.99),
        reasons: vec![why.to_string(), figures.clone()],
    };
    if c.edge_fraction < 0.002 {
        return verdict(
            PictureKind::Graphic,
            0.9,
            "almost no edges: a synthetic gradient or flat fill",
        );
    }
    if c.palette_top8 > 0.85 && c.edge_sharpness > 2.6 {
        return verdict(
            PictureKind::Graphic,
            0.85,
            "a few flat colours with hard edges: text or a graphic",
        );
    }
    // Margin of the sharpness cue: photographs sit below 2.3, drawings above 2.4.
    let s = c.edge_sharpness;
    if s >= 2.6 || (s >= 2.2 && c.line_art >= 0.015) {
        let conf = 0.6 + (s - 2.3).max(0.0) * 0.5 + (c.line_art - 0.015).max(0.0) * 5.0;
        if c.line_art < 0.006 && s < 3.2 {
            return verdict(
                PictureKind::Render3d,
                conf.min(0.8),
                "step-like edges without line art: a 3D render",
            );
        }
        return verdict(
            PictureKind::Illustration,
            conf,
            "step-like edges and line art: drawn, not photographed",
        );
    }
    let conf = 0.6 + (2.3 - s).max(0.0) * 0.8 + (0.015 - c.line_art).max(0.0) * 10.0;
    verdict(
        PictureKind::Photo,
        conf,
        "soft optical edges and no line art: a photograph",
    )
}
