//! Embedded face detector: SeetaFace's frontal funnel cascade (the `rustface` crate) with its model
//! embedded at build time by `build.rs`, so nothing is downloaded. It runs on a reduced grey copy and
//! returns boxes in full-image pixels; what a face means for skin (validation, scale) is the caller's business.

use image::DynamicImage;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

static MODEL_BYTES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/seeta_fd_frontal_v1.0.bin"));

/// A detected face in full-image pixel coordinates (top-left corner, size) with the detector's score.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaceBox {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
    /// SeetaFace score: frontal faces score 5–50; turned or half-profile faces 2–5.
    pub score: f32,
}

impl FaceBox {
    pub fn cx(&self) -> f32 {
        self.x + self.w * 0.5
    }
    pub fn cy(&self) -> f32 {
        self.y + self.h * 0.5
    }
    fn iou(&self, o: &FaceBox) -> f32 {
        let ix = (self.x + self.w).min(o.x + o.w) - self.x.max(o.x);
        let iy = (self.y + self.h).min(o.y + o.h) - self.y.max(o.y);
        if ix <= 0.0 || iy <= 0.0 {
            return 0.0;
        }
        let i = ix * iy;
        i / (self.w * self.h + o.w * o.h - i)
    }
}

/// How hard to search: the size of the reduced copy and the smallest face in it.
#[derive(Clone, Copy, Debug)]
pub struct FaceSearch {
    /// Long edge of the grey copy the detector sees (never upscaled beyond the input).
    pub max_side: u32,
    /// Smallest face to find, in full-image pixels (the detector's floor is 20 px in its copy).
    pub min_face_px: f32,
    /// Minimum score to keep a face.
    pub min_score: f32,
}

impl FaceSearch {
    /// The thorough search: faces down to ~40 px wide in the full image (on a copy of at most 1024 px).
    pub const THOROUGH: FaceSearch = FaceSearch {
        max_side: 1024,
        min_face_px: 40.0,
        min_score: 2.0,
    };
    /// The quick search for portraits: a 512 px copy, faces from ~4 % of the long edge.
    pub const QUICK: FaceSearch = FaceSearch {
        max_side: 512,
        min_face_px: 0.0,
        min_score: 2.0,
    };
}

/// Scores under this from the fast sliding-window step trigger a second, denser pass (turned faces score low).
const RETRY_BELOW_SCORE: f32 = 4.0;

fn model() -> &'static rustface::Model {
    static MODEL: OnceLock<rustface::Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        rustface::read_model(MODEL_BYTES).expect("the embedded SeetaFace model parses")
    })
}

/// Finds faces down to ~40 px wide, several per image, on a reduced grey copy (at most 1024 px).
pub fn detect_faces(img: &DynamicImage) -> Vec<FaceBox> {
    detect_faces_with(img, &FaceSearch::THOROUGH)
}

/// [`detect_faces`] with an explicit search budget.
pub fn detect_faces_with(img: &DynamicImage, search: &FaceSearch) -> Vec<FaceBox> {
    let (w, h) = (img.width(), img.height());
    if w == 0 || h == 0 {
        return Vec::new();
    }
    let s = (search.max_side as f32 / w.max(h) as f32).min(1.0);
    let (sw, sh) = (
        ((w as f32 * s).round() as u32).max(1),
        ((h as f32 * s).round() as u32).max(1),
    );
    let gray = if s < 1.0 {
        image::imageops::resize(
            &img.to_luma8(),
            sw,
            sh,
            image::imageops::FilterType::Triangle,
        )
    } else {
        img.to_luma8()
    };
    detect_in_gray(
        gray.as_raw(),
        sw as usize,
        sh as usize,
        w as f32 / sw as f32,
        search.min_face_px,
        search.min_score,
    )
}

/// Detects on an 8-bit grey image and scales the boxes by `to_full` (full-image px per grey px).
/// `min_face_px` is in full-image pixels; the detector's own floor (20 px in the grey copy) applies.
pub fn detect_in_gray(
    gray: &[u8],
    w: usize,
    h: usize,
    to_full: f32,
    min_face_px: f32,
    min_score: f32,
) -> Vec<FaceBox> {
    if w < 24 || h < 24 {
        return Vec::new();
    }
    let min_face = ((min_face_px / to_full).round() as u32).max(20);
    let run = |step: u32| -> Vec<FaceBox> {
        let mut det = rustface::create_detector_with_model(model().clone());
        det.set_min_face_size(min_face);
        det.set_score_thresh(min_score as f64 * 0.5);
        det.set_pyramid_scale_factor(0.8);
        det.set_slide_window_step(step, step);
        let data = rustface::ImageData::new(gray, w as u32, h as u32);
        det.detect(&data)
            .iter()
            .map(|f| {
                let b = f.bbox();
                FaceBox {
                    x: b.x() as f32 * to_full,
                    y: b.y() as f32 * to_full,
                    w: b.width() as f32 * to_full,
                    h: b.height() as f32 * to_full,
                    score: f.score() as f32,
                }
            })
            .collect()
    };
    let mut faces = run(4);
    // The 4 px step misses or under-scores turned faces; a 2 px step finds them (about twice the cost).
    if faces.iter().all(|f| f.score < RETRY_BELOW_SCORE) {
        faces = run(2);
    }
    faces.retain(|f| f.score >= min_score);
    nms(faces)
}

/// Keeps the best-scoring box of each overlapping group, largest first in the result.
fn nms(mut faces: Vec<FaceBox>) -> Vec<FaceBox> {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<FaceBox> = Vec::new();
    for f in faces {
        let inside = kept.iter().any(|k| {
            k.iou(&f) > 0.3
                || (f.cx() > k.x && f.cx() < k.x + k.w && f.cy() > k.y && f.cy() < k.y + k.h)
        });
        if !inside {
            kept.push(f);
        }
    }
    kept.sort_by(|a, b| b.w.total_cmp(&a.w));
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_model_parses() {
        let _ = model();
    }

    #[test]
    fn blank_image_has_no_faces() {
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            300,
            200,
            image::Rgb([128, 128, 128]),
        ));
        assert!(detect_faces(&img).is_empty());
    }

    #[test]
    fn nms_keeps_the_stronger_of_overlapping_boxes() {
        let a = FaceBox {
            x: 0.0,
            y: 0.0,
            w: 100.0,
            h: 100.0,
            score: 5.0,
        };
        let b = FaceBox {
            x: 10.0,
            y: 10.0,
            w: 100.0,
            h: 100.0,
            score: 9.0,
        };
        let c = FaceBox {
            x: 300.0,
            y: 0.0,
            w: 50.0,
            h: 50.0,
            score: 3.0,
        };
        let kept = nms(vec![a, b, c]);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].score, 9.0);
    }
}
