//! Synthetic fixtures for the skin engine tests: a photo-like smooth "face", a flat illustration and a
//! person-free landscape, generated in code so the tests need no files.
#![allow(dead_code)]

use image::{DynamicImage, Rgb, RgbImage};
use realskin::face::FaceBox;
use realskin::pipeline::skin::classify::{Classification, PictureKind};
use realskin::pipeline::skin::{SkinConfig, SkinContext};

/// Deterministic pseudo-noise in [-1, 1].
pub fn noise(x: u32, y: u32, s: u32) -> f32 {
    let mut h =
        x.wrapping_mul(0x9E37_79B1) ^ y.wrapping_mul(0x85EB_CA77) ^ s.wrapping_mul(0xC2B2_AE3D);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    (h & 0xffff) as f32 / 32767.5 - 1.0
}

/// Geometry of the synthetic face, in image pixels.
#[derive(Clone, Copy)]
pub struct Face {
    pub bx: f32,
    pub by: f32,
    pub bw: f32,
}

impl Face {
    pub fn of(size: u32) -> Face {
        let bw = size as f32 * 0.45;
        Face {
            bx: size as f32 * 0.5 - bw / 2.0,
            by: size as f32 * 0.22,
            bw,
        }
    }
    fn rel(&self, x: f32, y: f32) -> (f32, f32) {
        ((x - self.bx) / self.bw, (y - self.by) / self.bw)
    }
    fn ell(u: f32, v: f32, cx: f32, cy: f32, rx: f32, ry: f32) -> f32 {
        ((u - cx) / rx).powi(2) + ((v - cy) / ry).powi(2)
    }
    /// Skin ellipse distance (< 1 inside).
    pub fn skin(&self, x: f32, y: f32) -> f32 {
        let (u, v) = self.rel(x, y);
        Self::ell(u, v, 0.5, 0.55, 0.52, 0.72)
    }
    pub fn eye(&self, x: f32, y: f32) -> bool {
        let (u, v) = self.rel(x, y);
        Self::ell(u, v, 0.30, 0.38, 0.09, 0.045) < 1.0
            || Self::ell(u, v, 0.70, 0.38, 0.09, 0.045) < 1.0
    }
    pub fn brow(&self, x: f32, y: f32) -> bool {
        let (u, v) = self.rel(x, y);
        Self::ell(u, v, 0.30, 0.28, 0.12, 0.02) < 1.0
            || Self::ell(u, v, 0.70, 0.28, 0.12, 0.02) < 1.0
    }
    pub fn lips(&self, x: f32, y: f32) -> bool {
        let (u, v) = self.rel(x, y);
        Self::ell(u, v, 0.5, 0.80, 0.14, 0.045) < 1.0
    }
    pub fn boxed(&self) -> FaceBox {
        FaceBox {
            x: self.bx,
            y: self.by,
            w: self.bw,
            h: self.bw,
            score: 20.0,
        }
    }
}

/// A smooth, photo-like face on a soft blue-grey background (0..1 linear-ish RGB per pixel).
pub fn face_rgb(size: u32) -> Vec<[f32; 3]> {
    let f = Face::of(size);
    let mut out = Vec::with_capacity((size * size) as usize);
    for y in 0..size {
        for x in 0..size {
            let (xf, yf) = (x as f32 + 0.5, y as f32 + 0.5);
            let n = 0.004 * noise(x, y, 7);
            let bg = [
                0.42 + 0.1 * yf / size as f32 + n,
                0.47 + n,
                0.55 - 0.05 * xf / size as f32 + n,
            ];
            let d = f.skin(xf, yf);
            let c = if d < 1.0 {
                // Soft shading across the face, like a key light from the left.
                let shade = 1.0 - 0.12 * ((xf - f.bx) / f.bw) - 0.06 * d;
                let mut c = [0.86 * shade, 0.67 * shade, 0.55 * shade];
                if f.eye(xf, yf) {
                    let (u, _) = f.rel(xf, yf);
                    let iris = ((u - 0.30).abs().min((u - 0.70).abs())) < 0.03;
                    c = if iris {
                        [0.25, 0.17, 0.12]
                    } else {
                        [0.92, 0.92, 0.9]
                    };
                } else if f.brow(xf, yf) {
                    c = [0.28, 0.2, 0.15];
                } else if f.lips(xf, yf) {
                    c = [0.72, 0.33, 0.35];
                }
                // A soft edge to the background over ~2 px.
                let t = ((1.0 - d) * f.bw * 0.25).clamp(0.0, 1.0);
                [
                    c[0] * t + bg[0] * (1.0 - t),
                    c[1] * t + bg[1] * (1.0 - t),
                    c[2] * t + bg[2] * (1.0 - t),
                ]
            } else {
                bg
            };
            out.push(c);
        }
    }
    out
}

pub fn face_rgb8(size: u32) -> RgbImage {
    let px = face_rgb(size);
    RgbImage::from_fn(size, size, |x, y| {
        let c = px[(y * size + x) as usize];
        Rgb(c.map(|v| (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8))
    })
}

pub fn face_image(size: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(face_rgb8(size))
}

/// The default engine with grain off (so every changed pixel is the skin engine's own) on two
/// threads.
pub fn no_grain() -> SkinConfig {
    SkinConfig {
        grain: 0.0,
        threads: 2,
        ..SkinConfig::default()
    }
}

/// The context the profiler would give for the synthetic face (the detector does not see drawn faces).
pub fn face_ctx(size: u32) -> SkinContext {
    SkinContext {
        preset_hint: None,
        classification: Some(Classification {
            kind: PictureKind::Photo,
            confidence: 0.9,
            reasons: vec!["fixture".into()],
        }),
        faces: Some(vec![Face::of(size).boxed()]),
        found: None,
        verdicts: None,
        ..SkinContext::default()
    }
}

/// A flat-colour illustration with black outlines.
pub fn illustration(size: u32) -> DynamicImage {
    let c = size as f32 / 2.0;
    DynamicImage::ImageRgb8(RgbImage::from_fn(size, size, |x, y| {
        let (dx, dy) = (x as f32 - c, y as f32 - c * 0.9);
        let r = (dx * dx + dy * dy * 0.8).sqrt();
        let head = size as f32 * 0.28;
        if (r - head).abs() < 2.0 {
            Rgb([20, 20, 25])
        } else if r < head {
            if (dx.abs() - head * 0.35).abs() < head * 0.1 && (dy + head * 0.15).abs() < head * 0.12
            {
                Rgb([40, 90, 200])
            } else {
                Rgb([250, 214, 190])
            }
        } else if y as f32 > size as f32 * 0.75 {
            Rgb([230, 80, 120])
        } else {
            Rgb([140, 200, 240])
        }
    }))
}

/// A photo-like landscape without people: sky gradient, hills, noise.
pub fn landscape(size: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(size, size, |x, y| {
        let (xf, yf) = (x as f32 / size as f32, y as f32 / size as f32);
        let hill = 0.55 + 0.08 * (xf * 7.0).sin() + 0.04 * (xf * 17.0).cos();
        let n = 6.0 * noise(x, y, 3);
        let c = if yf < hill {
            [120.0 + 60.0 * yf, 160.0 + 50.0 * yf, 225.0 - 10.0 * yf]
        } else {
            [70.0 + 40.0 * (yf - hill), 110.0 - 20.0 * yf, 50.0]
        };
        Rgb(c.map(|v| (v + n).clamp(0.0, 255.0) as u8))
    }))
}

/// Gaussian-blurred luminance (σ in px) of an 8-bit RGB image, as f32 0..1.
pub fn blurred_luma(img: &RgbImage, sigma: f32) -> Vec<f32> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let l: Vec<f32> = img
        .pixels()
        .map(|p| (0.2126 * p[0] as f32 + 0.7152 * p[1] as f32 + 0.0722 * p[2] as f32) / 255.0)
        .collect();
    let r = (3.0 * sigma).ceil() as isize;
    let k: Vec<f32> = (-r..=r)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let ks: f32 = k.iter().sum();
    let pass = |src: &[f32], horiz: bool| -> Vec<f32> {
        let mut o = vec![0f32; w * h];
        for y in 0..h {
            for x in 0..w {
                let mut s = 0.0;
                for (j, kv) in k.iter().enumerate() {
                    let d = j as isize - r;
                    let (xx, yy) = if horiz {
                        ((x as isize + d).clamp(0, w as isize - 1) as usize, y)
                    } else {
                        (x, (y as isize + d).clamp(0, h as isize - 1) as usize)
                    };
                    s += kv * src[yy * w + xx];
                }
                o[y * w + x] = s / ks;
            }
        }
        o
    };
    pass(&pass(&l, true), false)
}

/// Mean SSIM over 8×8 blocks (data range 1).
pub fn ssim(a: &[f32], b: &[f32], w: usize, h: usize) -> f32 {
    let (c1, c2) = (0.01f32.powi(2), 0.03f32.powi(2));
    let mut total = 0.0;
    let mut n = 0;
    for by in (0..h - 8).step_by(8) {
        for bx in (0..w - 8).step_by(8) {
            let (mut ma, mut mb) = (0.0, 0.0);
            for y in by..by + 8 {
                for x in bx..bx + 8 {
                    ma += a[y * w + x];
                    mb += b[y * w + x];
                }
            }
            ma /= 64.0;
            mb /= 64.0;
            let (mut va, mut vb, mut cov) = (0.0, 0.0, 0.0);
            for y in by..by + 8 {
                for x in bx..bx + 8 {
                    let (da, db) = (a[y * w + x] - ma, b[y * w + x] - mb);
                    va += da * da;
                    vb += db * db;
                    cov += da * db;
                }
            }
            va /= 63.0;
            vb /= 63.0;
            cov /= 63.0;
            total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2))
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            n += 1;
        }
    }
    total / n as f32
}

/// The shared sample pictures (`shared/samples` beside the repository, or `REALSKIN_SAMPLES`), when
/// they hold `sub`; `None`, with a note, where they are not there (the sample tests then skip).
pub fn samples_with(sub: &str) -> Option<std::path::PathBuf> {
    let candidates = [
        std::env::var_os("REALSKIN_SAMPLES").map(std::path::PathBuf::from),
        Some(std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/samples")),
        Some(std::path::PathBuf::from("/work/shared/samples")),
    ];
    let found = candidates
        .into_iter()
        .flatten()
        .find(|p| p.join(sub).is_dir());
    if found.is_none() {
        eprintln!(
            "shared/samples/{sub} not found: sample tests skipped (set REALSKIN_SAMPLES to run them)"
        );
    }
    found
}
