//! Face analysis: every face in a picture, with its 468 landmarks, found by MediaPipe's
//! BlazeFace detector and Face Mesh model, embedded in the binary and run in-process by a small
//! interpreter of their ONNX graphs (`graph.rs`). Nothing to download, no ONNX Runtime.
//!
//! [`analyse`] is a pure function from an image to its faces:
//! 1. a copy of at most 1024 px ([`sample::Pyramid`]) is searched whole and in overlapping
//!    tiles ([`detect::windows`]), down to faces of 64 px or 1/16 of the long edge; where that
//!    search saw something face-like but not sure enough, finer windows of the
//!    full-resolution pixels look again, so faces from 64 px wide to the whole frame are found;
//!    where nothing was found, the whole frame is searched turned a quarter turn each way
//!    (a picture stored on its side);
//! 2. each detection gets its landmarks on a crop aligned to its eye line, sampled from the copy
//!    or, for small faces, from the full-resolution pixels ([`mesh::landmarks_of_detection`]);
//! 3. faces the mesh does not confirm are dropped, duplicates merged, the largest comes first.
//!
//! What the faces mean for skin (which are photographed, where the skin is) is the skin
//! engine's business; this module knows nothing of it.

pub mod detect;
mod graph;
pub mod mesh;
mod net;
mod proto;
pub mod sample;

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::DynamicImage;
pub use mesh::Mesh;
pub use net::warm_up;
use serde::{Deserialize, Serialize};

/// A face's box in full-image pixels (top-left corner, size) with the detector's score.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaceBox {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
    /// Detector confidence, 0..1 (MediaPipe keeps faces from 0.5).
    pub score: f32,
}

impl FaceBox {
    pub fn cx(&self) -> f32 {
        self.x + self.w * 0.5
    }
    pub fn cy(&self) -> f32 {
        self.y + self.h * 0.5
    }
    /// Whether the point lies inside the box.
    pub fn contains(&self, x: f32, y: f32) -> bool {
        x >= self.x && x <= self.x + self.w && y >= self.y && y <= self.y + self.h
    }
    /// Intersection over union.
    pub fn iou(&self, o: &FaceBox) -> f32 {
        let ix = (self.x + self.w).min(o.x + o.w) - self.x.max(o.x);
        let iy = (self.y + self.h).min(o.y + o.h) - self.y.max(o.y);
        if ix <= 0.0 || iy <= 0.0 {
            return 0.0;
        }
        let i = ix * iy;
        i / (self.w * self.h + o.w * o.h - i)
    }
}

/// One face: the box around its face oval and its landmarks.
#[derive(Clone, Debug)]
pub struct Face {
    pub bbox: FaceBox,
    pub mesh: Mesh,
}

impl Face {
    /// The same face in a picture resized by (`sx`, `sy`).
    pub fn scaled(&self, sx: f32, sy: f32) -> Face {
        let b = self.bbox;
        Face {
            bbox: FaceBox {
                x: b.x * sx,
                y: b.y * sy,
                w: b.w * sx,
                h: b.h * sy,
                score: b.score,
            },
            mesh: Mesh {
                points: self
                    .mesh
                    .points
                    .iter()
                    .map(|p| [p[0] * sx, p[1] * sy])
                    .collect(),
                presence: self.mesh.presence,
            },
        }
    }

    /// The face a mesh confirms (presence ≥ [`MIN_PRESENCE`]), boxed by its oval.
    fn confirmed(mesh: Mesh, score: f32) -> Option<Face> {
        (mesh.presence >= MIN_PRESENCE).then(|| {
            let b = mesh.oval_bounds();
            Face {
                bbox: FaceBox {
                    x: b[0],
                    y: b[1],
                    w: b[2] - b[0],
                    h: b[3] - b[1],
                    score,
                },
                mesh,
            }
        })
    }
}

/// Long edge of the copy the detector searches.
pub const SEARCH_LONG_EDGE: u32 = 1024;
/// The smallest face searched for, in full-image pixels (on large pictures, 1/16 of the long
/// edge: a face smaller than that carries no skin detail worth treating).
pub const MIN_FACE_PX: f32 = 64.0;
/// The mesh's presence probability under which a detection is not a face.
pub const MIN_PRESENCE: f32 = 0.5;

/// Finds every face, largest first, on up to `threads` threads (the result does not depend on
/// the count).
///
/// The copy is searched down to faces of [`MIN_FACE_PX`] or 1/16 of the long edge, whichever is
/// larger. When that leaves smaller faces unsearched and the picture may hold them (no face
/// found, or none over twice that floor: a group, a full figure, a street), each
/// place where the detector saw something face-like but not sure enough (a small face sits at
/// the detector's floor) is searched again in finer windows, of full-resolution pixels.
pub fn analyse(img: &DynamicImage, threads: usize) -> Vec<Face> {
    let (w, h) = (img.width(), img.height());
    if w < 16 || h < 16 {
        return Vec::new();
    }
    let long = w.max(h);
    let (small, scale) = if long > SEARCH_LONG_EDGE {
        let s = SEARCH_LONG_EDGE as f32 / long as f32;
        let to = (
            ((w as f32 * s).round() as u32).max(1),
            ((h as f32 * s).round() as u32).max(1),
        );
        (
            reduce_in_bands(img, to, threads),
            long as f32 / SEARCH_LONG_EDGE as f32,
        )
    } else {
        (img.to_rgb8(), 1.0)
    };
    let pyr = sample::Pyramid::new_on(small, scale, [0.0, 0.0], threads);
    let (wf, hf, longf) = (w as f32, h as f32, long as f32);
    let coarse = MIN_FACE_PX.max(longf / 16.0);
    let windows = detect::windows(wf, hf, coarse);
    let found = par_map(&windows, threads, |roi| {
        detect::in_window_from(&pyr, roi, CANDIDATE_SCORE)
    });
    let (sure, weak): (Vec<detect::Detection>, Vec<detect::Detection>) = found
        .into_iter()
        .flatten()
        .partition(|d| d.score >= detect::MIN_SCORE);
    let mut dets = detect::merge(sure);
    if coarse > MIN_FACE_PX {
        dets = par_map(&dets, threads, |d| {
            if d.w < 2.0 * coarse {
                refine(img, &pyr, scale, d)
            } else {
                *d
            }
        });
    }
    let meshed = landmark(img, &pyr, scale, &dets, threads);
    // Sure detections the mesh did not confirm are looked at closer too (a small face's box
    // from a coarse window can be too loose for its landmarks).
    let unconfirmed = dets.iter().zip(&meshed).filter(|(_, f)| f.is_none());
    let mut candidates: Vec<detect::Detection> = unconfirmed.map(|(d, _)| *d).collect();
    let mut faces: Vec<Face> = meshed.into_iter().flatten().collect();
    let largest = faces.iter().map(|f| f.bbox.w).fold(0.0, f32::max);
    if coarse > MIN_FACE_PX && largest < 2.0 * coarse {
        candidates.extend(detect::merge(weak));
        candidates.retain(|c| !faces.iter().any(|f| f.bbox.contains(c.cx, c.cy)));
        let fine = fine_windows(longf, coarse, &candidates);
        let found = par_map(&fine, threads, |roi| detect_in(img, &pyr, scale, roi));
        let new: Vec<detect::Detection> = detect::merge(found.into_iter().flatten().collect())
            .into_iter()
            .filter(|d| d.score >= MIN_SCORE_LOOKING_CLOSER)
            .filter(|d| !faces.iter().any(|f| f.bbox.contains(d.cx, d.cy)))
            .collect();
        // Found by looking closer at a hint, a face must be unmistakable: a torso, a fold or
        // a bowl of berries can pass the detector's 0.5 and the mesh's in a window centred on
        // it.
        let sure_faces = landmark(img, &pyr, scale, &new, threads)
            .into_iter()
            .flatten()
            .filter(|f| f.mesh.presence >= MIN_PRESENCE_LOOKING_CLOSER);
        faces.extend(sure_faces);
    }
    // A picture turned a quarter turn (a portrait stored on its side, a person lying down)
    // holds heads rolled past the detector's ±45°: where nothing was found upright, the
    // whole frame is searched again, turned each way (two detector runs on one crop).
    if faces.is_empty() {
        let whole = sample::Roi {
            cx: longf / 2.0,
            cy: longf / 2.0,
            side: longf,
            angle: 0.0,
        };
        let turned = detect::turned_inputs(&pyr, &whole);
        let dets = detect::merge(par_map(&turned, threads, detect::on_turned).concat());
        faces.extend(
            landmark(img, &pyr, scale, &dets, threads)
                .into_iter()
                .flatten(),
        );
    }
    // Two detections of one face land on one oval.
    faces.sort_by(|a, b| b.bbox.score.total_cmp(&a.bbox.score));
    let mut kept: Vec<Face> = Vec::new();
    for f in faces {
        if kept.iter().all(|k| k.bbox.iou(&f.bbox) < 0.3) {
            kept.push(f);
        }
    }
    kept.sort_by(|a, b| b.bbox.w.total_cmp(&a.bbox.w));
    kept
}

/// The detector in one window, on the search copy where it holds the detector's 128 px, else on
/// pixels resampled from full resolution.
fn detect_in(
    img: &DynamicImage,
    pyr: &sample::Pyramid,
    scale: f32,
    roi: &sample::Roi,
) -> Vec<detect::Detection> {
    if roi.side / scale >= net::DETECTOR_SIDE as f32 {
        detect::in_window(pyr, roi)
    } else {
        detect::in_window(&crop_pyramid(img, roi, net::DETECTOR_SIDE), roi)
    }
}

/// A detection near the coarse search's floor, found again in a window four times its size,
/// where the detector places a face best: its box from a window it barely filled is loose, and
/// the landmarks' first crop with it (a small face's oval then slid onto the neck). Itself where
/// nothing overlapping it is found there.
fn refine(
    img: &DynamicImage,
    pyr: &sample::Pyramid,
    scale: f32,
    d: &detect::Detection,
) -> detect::Detection {
    let roi = sample::Roi {
        cx: d.cx,
        cy: d.cy,
        side: 4.0 * d.w.max(d.h),
        angle: 0.0,
    };
    detect::merge(detect_in(img, pyr, scale, &roi))
        .into_iter()
        .find(|e| e.iou(d) >= 0.3)
        .unwrap_or(*d)
}

/// Detector score from which a detection in the coarse search is a place to look closer.
const CANDIDATE_SCORE: f32 = 0.05;
/// The detector's score from which a detection made by looking closer is landmarked. On the
/// development set, its 196 variants, the portraits, the real-hires pictures and 63 scenes
/// that shrink each development portrait to a 3000 px street (faces of 30 to 240 px), 31 such
/// detections scored 0.5 to 0.6: none was a face of 64 px or more the search had not already
/// found (one was a face's second, looser box, one a 31 px face). Faces found only by looking
/// closer scored 0.78 and more. Each one skipped saves a mesh run.
const MIN_SCORE_LOOKING_CLOSER: f32 = 0.6;
/// The mesh's presence from which a face found by looking closer is kept.
const MIN_PRESENCE_LOOKING_CLOSER: f32 = 0.8;
/// The most places looked at closer, best first: the finer search costs at most this many
/// detector runs per finer level. It was 12; at 8 the 84 scenes of `examples/street_faces.rs`
/// find the same faces of 64 px and more (one gains a 41 px face), the bench's three small
/// faces on 4096 px are all found, and a picture without people saves 4 detector runs, which
/// pays for searching it turned a quarter turn each way.
const MAX_CANDIDATES: usize = 8;

/// Finer windows, centred on the first [`MAX_CANDIDATES`] places among `candidates` (best
/// first): one per tile side finer than the coarse search's, down to [`MIN_FACE_PX`].
///
/// A candidate boxed three times wider than the coarse search's smallest face is a larger
/// structure (a body, a pattern), not a face it missed (those are boxed at most about 2.5 times
/// too wide); one whose finest window would lie within a quarter of its side from an earlier
/// one's is already seen there.
fn fine_windows(long: f32, coarse: f32, candidates: &[detect::Detection]) -> Vec<sample::Roi> {
    let sides: Vec<f32> = detect::tile_sides(long, MIN_FACE_PX)
        .into_iter()
        .skip(detect::tile_sides(long, coarse).len())
        .collect();
    let Some(&finest) = sides.last() else {
        return Vec::new();
    };
    let mut places: Vec<&detect::Detection> = Vec::new();
    for c in candidates.iter().filter(|c| c.w < 3.0 * coarse) {
        if places.len() == MAX_CANDIDATES {
            break;
        }
        let near = |p: &&detect::Detection| (p.cx - c.cx).hypot(p.cy - c.cy) < 0.25 * finest;
        if !places.iter().any(near) {
            places.push(c);
        }
    }
    places
        .into_iter()
        .flat_map(|c| {
            sides.iter().map(|&side| sample::Roi {
                cx: c.cx,
                cy: c.cy,
                side,
                angle: 0.0,
            })
        })
        .collect()
}

/// Landmarks for each detection: the face, where the mesh confirms one.
fn landmark(
    img: &DynamicImage,
    pyr: &sample::Pyramid,
    scale: f32,
    dets: &[detect::Detection],
    threads: usize,
) -> Vec<Option<Face>> {
    par_map(dets, threads, |d| {
        let roi0 = mesh::roi_from_detection(d);
        // On a reduced copy, faces are landmarked on pixels resampled from full
        // resolution (a small face would otherwise be upscaled from the copy).
        let mesh = if scale > 1.0 {
            mesh::landmarks_of_detection(&crop_pyramid(img, &roi0, net::LANDMARK_SIDE), &roi0)
        } else {
            mesh::landmarks_of_detection(pyr, &roi0)
        };
        Face::confirmed(mesh, d.score)
    })
}

/// Where the people are: MediaPipe's selfie segmentation on the whole picture (squeezed to
/// 256×256, as the model was trained), person probability 0..1 on that grid.
#[derive(Clone, Debug)]
pub struct PersonMask {
    pub w: usize,
    pub h: usize,
    pub data: Vec<f32>,
}

impl PersonMask {
    /// The probability at a point given in 0..1 picture coordinates (bilinear).
    pub fn at(&self, u: f32, v: f32) -> f32 {
        let x = (u * self.w as f32 - 0.5).clamp(0.0, (self.w - 1) as f32);
        let y = (v * self.h as f32 - 0.5).clamp(0.0, (self.h - 1) as f32);
        let (x0, y0) = (x as usize, y as usize);
        let (x1, y1) = ((x0 + 1).min(self.w - 1), (y0 + 1).min(self.h - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let g = |xx: usize, yy: usize| self.data[yy * self.w + xx];
        let top = g(x0, y0) + (g(x1, y0) - g(x0, y0)) * fx;
        let bot = g(x0, y1) + (g(x1, y1) - g(x0, y1)) * fx;
        top + (bot - top) * fy
    }
}

/// Segments the people in a picture, from any reduced copy of it (the model sees 256×256).
pub fn people(copy: &image::RgbImage) -> PersonMask {
    let n = net::SEGMENT_SIDE;
    let small = reduce(&DynamicImage::ImageRgb8(copy.clone()), (n as u32, n as u32));
    let input = small.as_raw().iter().map(|&v| v as f32 / 255.0).collect();
    PersonMask {
        w: n,
        h: n,
        data: net::segment(input),
    }
}

/// Landmarks for a face whose box is already known (a face given by the caller).
pub fn mesh_for_box(img: &DynamicImage, b: &FaceBox) -> Option<Face> {
    let roi = sample::Roi {
        cx: b.cx(),
        cy: b.cy(),
        side: 1.5 * b.w.max(b.h),
        angle: 0.0,
    };
    let mesh = mesh::landmarks(&crop_pyramid(img, &roi, net::LANDMARK_SIDE), &roi);
    Face::confirmed(mesh, b.score)
}

/// A pyramid of the pixels around a crop (with room for a second, shifted crop), resampled
/// from full resolution to about 2 px per crop pixel of an `n`-pixel crop, never upscaled.
pub fn crop_pyramid(img: &DynamicImage, roi: &sample::Roi, n: usize) -> sample::Pyramid {
    let r = roi.side * 0.6 * std::f32::consts::SQRT_2 + 2.0;
    let x0 = (roi.cx - r).floor().clamp(0.0, img.width() as f32 - 1.0);
    let y0 = (roi.cy - r).floor().clamp(0.0, img.height() as f32 - 1.0);
    let x1 = (roi.cx + r).ceil().clamp(x0 + 1.0, img.width() as f32);
    let y1 = (roi.cy + r).ceil().clamp(y0 + 1.0, img.height() as f32);
    let (cw, ch) = (x1 - x0, y1 - y0);
    // Full pixels per crop pixel; keep 2 source pixels per crop pixel at most.
    let k = (roi.side / n as f32 / 2.0).max(1.0);
    if k <= 1.0 {
        let crop = img
            .crop_imm(x0 as u32, y0 as u32, cw as u32, ch as u32)
            .to_rgb8();
        return sample::Pyramid::new(crop, 1.0, [x0, y0]);
    }
    let to = (
        ((cw / k).round() as u32).max(1),
        ((ch / k).round() as u32).max(1),
    );
    let mut dst = DynamicImage::new(to.0, to.1, img.color());
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Bilinear))
        .crop(x0 as f64, y0 as f64, cw as f64, ch as f64);
    let small = match Resizer::new().resize(img, &mut dst, &options) {
        Ok(()) => dst.to_rgb8(),
        Err(_) => img
            .crop_imm(x0 as u32, y0 as u32, cw as u32, ch as u32)
            .resize_exact(to.0, to.1, image::imageops::FilterType::Triangle)
            .to_rgb8(),
    };
    sample::Pyramid::new(small, cw / to.0 as f32, [x0, y0])
}

/// An 8-bit RGB copy at `to`, area-filtered.
fn reduce(img: &DynamicImage, to: (u32, u32)) -> image::RgbImage {
    resized(img, to, FilterType::Bilinear)
}

/// A reduced copy of `img` at `to` by block means (a box filter): the engine's reduced copy
/// ([`crate::pipeline::skin::pixels::Reduced`]) of an sRGB picture, without its statistics.
pub fn reduce_box(img: &DynamicImage, to: (u32, u32)) -> image::RgbImage {
    resized(img, to, FilterType::Box)
}

/// An 8-bit RGB copy at `to` through `filter` (the image crate's triangle filter for a
/// layout fast_image_resize lacks).
fn resized(img: &DynamicImage, to: (u32, u32), filter: FilterType) -> image::RgbImage {
    let mut dst = DynamicImage::new(to.0, to.1, img.color());
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(filter));
    match Resizer::new().resize(img, &mut dst, &options) {
        Ok(()) => dst.to_rgb8(),
        Err(_) => img
            .resize_exact(to.0, to.1, image::imageops::FilterType::Triangle)
            .to_rgb8(),
    }
}

/// Bands the search copy is reduced in: a fixed count, so the copy is the same whatever the
/// number of threads.
const REDUCE_BANDS: u32 = 4;

/// [`reduce`] in [`REDUCE_BANDS`] horizontal bands on up to `threads` threads: each band of the
/// copy from the band of the picture it covers.
fn reduce_in_bands(img: &DynamicImage, to: (u32, u32), threads: usize) -> image::RgbImage {
    let bands = REDUCE_BANDS.min(to.1);
    let rows: Vec<(u32, u32)> = (0..bands)
        .map(|b| (to.1 * b / bands, to.1 * (b + 1) / bands))
        .collect();
    let k = img.height() as f64 / to.1 as f64;
    let parts = par_map(&rows, threads, |&(r0, r1)| {
        let mut dst = DynamicImage::new(to.0, r1 - r0, img.color());
        let (y0, y1) = (r0 as f64 * k, r1 as f64 * k);
        let options = ResizeOptions::new()
            .resize_alg(ResizeAlg::Convolution(FilterType::Bilinear))
            .crop(0.0, y0, img.width() as f64, y1 - y0);
        match Resizer::new().resize(img, &mut dst, &options) {
            Ok(()) => dst.to_rgb8().into_raw(),
            Err(_) => img
                .crop_imm(0, y0 as u32, img.width(), ((y1 - y0) as u32).max(1))
                .resize_exact(to.0, r1 - r0, image::imageops::FilterType::Triangle)
                .to_rgb8()
                .into_raw(),
        }
    });
    let raw: Vec<u8> = parts.concat();
    image::RgbImage::from_raw(to.0, to.1, raw).expect("the bands fill the copy")
}

/// Maps `f` over `items` on up to `threads` threads, results in input order.
fn par_map<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.iter().map(&f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut out: Vec<(usize, R)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= items.len() {
                            break mine;
                        }
                        mine.push((i, f(&items[i])));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("face worker panicked"))
            .collect()
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blank_picture_has_no_face() {
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            640,
            480,
            image::Rgb([128, 128, 128]),
        ));
        assert!(analyse(&img, 2).is_empty());
    }

    #[test]
    fn finer_windows_centre_on_the_best_candidates_only() {
        let d = |cx: f32, score: f32| detect::Detection {
            cx,
            cy: 500.0,
            w: 300.0,
            h: 300.0,
            keypoints: [[cx, 500.0]; 6],
            score,
        };
        let candidates: Vec<detect::Detection> = (0..20)
            .map(|i| d(100.0 + 200.0 * i as f32, 0.45 - 0.01 * i as f32))
            .collect();
        // At 6000 px the coarse search stops at 375 px faces (tiles of 3000 px); the finer
        // tiles are 1500, 750 and 375 px, the last holding a 64 px face at 17 %.
        let fine = fine_windows(6000.0, 375.0, &candidates);
        let sides = [1500.0, 750.0, 375.0];
        assert_eq!(fine.len(), MAX_CANDIDATES * sides.len());
        for (i, r) in fine.iter().enumerate() {
            assert_eq!(r.side, sides[i % 3]);
            assert_eq!((r.cx, r.cy), (candidates[i / 3].cx, 500.0));
        }
        assert!(
            fine_windows(1024.0, 64.0, &candidates).is_empty(),
            "nothing finer where the coarse search reaches 64 px"
        );
    }

    #[test]
    fn par_map_keeps_order() {
        let v: Vec<usize> = (0..50).collect();
        assert_eq!(
            par_map(&v, 3, |x| x * 2),
            (0..50).map(|x| x * 2).collect::<Vec<_>>()
        );
    }
}
