//! BlazeFace (short range) over the whole picture, at several scales and in overlapping tiles,
//! so faces from about 64 px wide to the whole frame are found. Duplicates across tiles and
//! scales are merged by weighted non-maximum suppression, as MediaPipe does.
//!
//! Anchors and decoding follow MediaPipe's `face_detection_short_range` graph: SSD anchors on
//! strides 8 (2 per cell) and 16 (6 per cell), fixed anchor size, offsets divided by 128.

use super::FaceBox;
use super::net::{self, DETECTOR_SIDE};
use super::sample::{Pyramid, Roi};

/// One detection in full-image pixels: centre, size, the six keypoints (right eye, left eye,
/// nose tip, mouth centre, right ear tragion, left ear tragion; "right" is the person's) and
/// the score (0..1).
#[derive(Clone, Copy, Debug)]
pub struct Detection {
    pub cx: f32,
    pub cy: f32,
    pub w: f32,
    pub h: f32,
    pub keypoints: [[f32; 2]; 6],
    pub score: f32,
}

impl Detection {
    fn bbox(&self) -> FaceBox {
        FaceBox {
            x: self.cx - self.w / 2.0,
            y: self.cy - self.h / 2.0,
            w: self.w,
            h: self.h,
            score: self.score,
        }
    }
    pub fn iou(&self, o: &Detection) -> f32 {
        self.bbox().iou(&o.bbox())
    }
}

/// MediaPipe's threshold for the short-range detector.
pub const MIN_SCORE: f32 = 0.5;
/// Overlap above which two detections are the same face.
const NMS_IOU: f32 = 0.3;

fn anchors() -> &'static [[f32; 2]] {
    static A: std::sync::OnceLock<Vec<[f32; 2]>> = std::sync::OnceLock::new();
    A.get_or_init(|| {
        let mut a = Vec::with_capacity(896);
        for (stride, per_cell) in [(8usize, 2usize), (16, 6)] {
            let cells = DETECTOR_SIDE / stride;
            for y in 0..cells {
                for x in 0..cells {
                    for _ in 0..per_cell {
                        a.push([
                            (x as f32 + 0.5) / cells as f32,
                            (y as f32 + 0.5) / cells as f32,
                        ]);
                    }
                }
            }
        }
        a
    })
}

/// The square windows searched, in full-image pixels: the whole frame zoomed out (a face that
/// fills the picture), the whole frame, then the tiles of every level of [`tile_sides`].
pub fn windows(w: f32, h: f32, min_face: f32) -> Vec<Roi> {
    let long = w.max(h);
    let whole = |side: f32| Roi {
        cx: long / 2.0,
        cy: long / 2.0,
        side,
        angle: 0.0,
    };
    let mut out = vec![whole(long * 1.5), whole(long)];
    for side in tile_sides(long, min_face) {
        out.extend(tiles(w, h, side));
    }
    out
}

/// The tile sides, largest first: half, a quarter, ... of the long edge, down to tiles in which
/// a face of `min_face` px still spans 12 % of the window (the detector's floor is about 10 %).
/// Never finer than the detector's own 128 px.
pub fn tile_sides(long: f32, min_face: f32) -> Vec<f32> {
    let finest = (min_face / 0.12).max(DETECTOR_SIDE as f32);
    let mut out = Vec::new();
    let mut side = long / 2.0;
    while side * 2.0 > finest && side >= DETECTOR_SIDE as f32 {
        out.push(side);
        side /= 2.0;
    }
    out
}

/// Square tiles of `side` over a `w`×`h` picture, overlapping by at least 25 %, spread evenly so
/// the last one ends at the edge.
pub fn tiles(w: f32, h: f32, side: f32) -> Vec<Roi> {
    let step = side * 0.75;
    let n = |extent: f32| (((extent - side).max(0.0) / step).ceil() as usize) + 1;
    let (nx, ny) = (n(w), n(h));
    let place = |k: usize, count: usize, extent: f32| {
        if count == 1 {
            extent / 2.0
        } else {
            side / 2.0 + (extent - side).max(0.0) * k as f32 / (count - 1) as f32
        }
    };
    let mut out = Vec::with_capacity(nx * ny);
    for j in 0..ny {
        for i in 0..nx {
            out.push(Roi {
                cx: place(i, nx, w),
                cy: place(j, ny, h),
                side,
                angle: 0.0,
            });
        }
    }
    out
}

/// Runs the detector in one window; detections in full-image pixels.
pub fn in_window(pyr: &Pyramid, roi: &Roi) -> Vec<Detection> {
    in_window_from(pyr, roi, MIN_SCORE)
}

/// [`in_window`], keeping detections from `min_score`.
pub fn in_window_from(pyr: &Pyramid, roi: &Roi, min_score: f32) -> Vec<Detection> {
    on_input(
        pyr.crop(roi, DETECTOR_SIDE, |v| v * 2.0 - 1.0),
        roi,
        min_score,
    )
}

/// The detector's inputs for an upright window turned a quarter turn each way: the window's
/// crop taken once and its pixels rearranged for each turn (a 2×2 supersample's points turn
/// onto each other). Run each with [`on_turned`].
pub fn turned_inputs(pyr: &Pyramid, upright: &Roi) -> [(Roi, Vec<f32>); 2] {
    let input = pyr.crop(upright, DETECTOR_SIDE, |v| v * 2.0 - 1.0);
    [std::f32::consts::FRAC_PI_2, -std::f32::consts::FRAC_PI_2].map(|angle| {
        let roi = Roi { angle, ..*upright };
        (roi, quarter_turn(&input, DETECTOR_SIDE, angle > 0.0))
    })
}

/// The detector on one of [`turned_inputs`]; detections in full-image pixels.
pub fn on_turned((roi, input): &(Roi, Vec<f32>)) -> Vec<Detection> {
    on_input(input.clone(), roi, MIN_SCORE)
}

/// The crop a window turned by ±90° would sample, from the upright window's `n`×`n` RGB crop:
/// at +90° the turned crop's pixel (row j, column i) is the upright's (row i, column n−1−j),
/// at −90° the upright's (row n−1−i, column j).
pub fn quarter_turn(upright: &[f32], n: usize, clockwise: bool) -> Vec<f32> {
    let mut out = Vec::with_capacity(upright.len());
    for j in 0..n {
        for i in 0..n {
            let (row, col) = if clockwise {
                (i, n - 1 - j)
            } else {
                (n - 1 - i, j)
            };
            out.extend_from_slice(&upright[3 * (row * n + col)..][..3]);
        }
    }
    out
}

/// The detector on a prepared input (the crop of `roi`), detections from `min_score`.
fn on_input(input: Vec<f32>, roi: &Roi, min_score: f32) -> Vec<Detection> {
    let (boxes, logits) = net::detect(input);
    let n = DETECTOR_SIDE as f32;
    let mut out = Vec::new();
    for (i, a) in anchors().iter().enumerate() {
        let score = 1.0 / (1.0 + (-logits[i].clamp(-100.0, 100.0)).exp());
        if score < min_score {
            continue;
        }
        let r = &boxes[i * 16..i * 16 + 16];
        let to_image = |dx: f32, dy: f32| roi.to_image(dx + a[0] * n, dy + a[1] * n, DETECTOR_SIDE);
        let c = to_image(r[0], r[1]);
        let k = roi.side / n;
        out.push(Detection {
            cx: c[0],
            cy: c[1],
            w: r[2] * k,
            h: r[3] * k,
            keypoints: std::array::from_fn(|j| to_image(r[4 + 2 * j], r[5 + 2 * j])),
            score,
        });
    }
    out
}

/// Weighted non-maximum suppression: each group of overlapping detections becomes one, its
/// geometry the score-weighted mean of the group, its score the best in it.
pub fn merge(mut dets: Vec<Detection>) -> Vec<Detection> {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    let mut used = vec![false; dets.len()];
    for i in 0..dets.len() {
        if used[i] {
            continue;
        }
        let mut wsum = 0.0;
        let mut acc = Detection {
            cx: 0.0,
            cy: 0.0,
            w: 0.0,
            h: 0.0,
            keypoints: [[0.0; 2]; 6],
            score: dets[i].score,
        };
        for j in i..dets.len() {
            if used[j] || dets[i].iou(&dets[j]) < NMS_IOU {
                continue;
            }
            used[j] = true;
            let (d, s) = (&dets[j], dets[j].score);
            wsum += s;
            acc.cx += s * d.cx;
            acc.cy += s * d.cy;
            acc.w += s * d.w;
            acc.h += s * d.h;
            for (a, k) in acc.keypoints.iter_mut().zip(&d.keypoints) {
                a[0] += s * k[0];
                a[1] += s * k[1];
            }
        }
        acc.cx /= wsum;
        acc.cy /= wsum;
        acc.w /= wsum;
        acc.h /= wsum;
        for a in &mut acc.keypoints {
            a[0] /= wsum;
            a[1] /= wsum;
        }
        out.push(acc);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_cover_the_two_strides() {
        let a = anchors();
        assert_eq!(a.len(), 896);
        assert_eq!(a[0], [0.5 / 16.0, 0.5 / 16.0]);
        assert_eq!(a[895], [7.5 / 8.0, 7.5 / 8.0]);
    }

    #[test]
    fn windows_reach_small_faces_on_large_pictures() {
        let w = windows(1024.0, 768.0, 64.0);
        assert_eq!(w[1].side, 1024.0);
        let finest = w.iter().map(|r| r.side).fold(f32::MAX, f32::min);
        assert!(finest <= 64.0 / 0.12, "finest window {finest}");
        // Every point of the picture lies in a finest window.
        for (x, y) in [(0.0, 0.0), (1023.0, 767.0), (512.0, 384.0), (1000.0, 10.0)] {
            assert!(w.iter().any(|r| r.side == finest
                && (x - r.cx).abs() <= r.side / 2.0
                && (y - r.cy).abs() <= r.side / 2.0));
        }
        assert_eq!(
            windows(200.0, 200.0, 64.0).len(),
            2,
            "a small picture is searched whole"
        );
    }

    #[test]
    fn a_quarter_turned_crop_equals_sampling_the_turned_window() {
        let img = image::RgbImage::from_fn(300, 260, |x, y| {
            let h = x.wrapping_mul(2654435761) ^ y.wrapping_mul(40503) ^ (x * y);
            image::Rgb([h as u8, (h >> 8) as u8, (h >> 16) as u8])
        });
        let pyr = Pyramid::new(img, 1.3, [0.0, 0.0]);
        let upright = Roi {
            cx: 190.0,
            cy: 170.0,
            side: 301.0,
            angle: 0.0,
        };
        let n = 37;
        let crop = pyr.crop(&upright, n, |v| v);
        for (angle, clockwise) in [
            (std::f32::consts::FRAC_PI_2, true),
            (-std::f32::consts::FRAC_PI_2, false),
        ] {
            let turned = pyr.crop(&Roi { angle, ..upright }, n, |v| v);
            let fast = quarter_turn(&crop, n, clockwise);
            let worst = fast
                .iter()
                .zip(&turned)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(worst < 1e-3, "{angle}: off by {worst}");
        }
    }

    #[test]
    fn merge_joins_overlapping_detections() {
        let d = |cx: f32, score: f32| Detection {
            cx,
            cy: 50.0,
            w: 40.0,
            h: 40.0,
            keypoints: [[cx, 50.0]; 6],
            score,
        };
        let m = merge(vec![d(50.0, 0.9), d(54.0, 0.6), d(200.0, 0.7)]);
        assert_eq!(m.len(), 2);
        assert!(m[0].cx > 50.0 && m[0].cx < 52.0 && m[0].score == 0.9);
    }
}
