//! The 468-point face mesh: the crop aligned to the eye line, two passes (from the detection,
//! then from the first pass's landmarks, as MediaPipe tracks a face), and the topology that
//! names the parts: the face oval, eyes, brows, lips, nostrils, and the regions skin texture
//! depends on.
//!
//! Index lists are MediaPipe's (`face_mesh_connections.py`, FACEMESH_FACE_OVAL, _LIPS,
//! _LEFT_EYE, _RIGHT_EYE, _LEFT_EYEBROW, _RIGHT_EYEBROW), written as closed polygons.
//! "Right" is the person's right (the image's left on a frontal face).

use super::net::{self, LANDMARK_SIDE, LANDMARKS};
use super::sample::{Pyramid, Roi};

/// The face oval, clockwise from the top of the forehead.
pub const FACE_OVAL: [usize; 36] = [
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
    148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
];
/// The outer lip line.
pub const LIPS_OUTER: [usize; 20] = [
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185,
];
pub const RIGHT_EYE: [usize; 16] = [
    33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246,
];
pub const LEFT_EYE: [usize; 16] = [
    263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466,
];
pub const RIGHT_BROW: [usize; 10] = [70, 63, 105, 66, 107, 55, 65, 52, 53, 46];
pub const LEFT_BROW: [usize; 10] = [300, 293, 334, 296, 336, 285, 295, 282, 283, 276];
/// The top of each brow's arch.
pub const BROW_TOPS: [usize; 2] = [105, 334];
/// Points on the rim of each nostril opening.
pub const RIGHT_NOSTRIL: [usize; 4] = [20, 60, 75, 79];
pub const LEFT_NOSTRIL: [usize; 4] = [250, 290, 305, 309];
/// Eye corners (outer, inner) and the oval's widest points.
pub const RIGHT_EYE_OUTER: usize = 33;
pub const LEFT_EYE_OUTER: usize = 263;
pub const RIGHT_CHEEK_EDGE: usize = 234;
pub const LEFT_CHEEK_EDGE: usize = 454;
pub const NOSE_TIP: usize = 1;
pub const CHIN: usize = 152;
pub const FOREHEAD_TOP: usize = 10;
/// Adult distance from the mesh's forehead point ([`FOREHEAD_TOP`]) to the chin ([`CHIN`]),
/// millimetres.
pub const FACE_HEIGHT_MM: f32 = 165.0;

/// Skin regions, each a set of landmarks it is centred on, its radius in eye-distance units
/// (outer corner to outer corner) and its relative pore density. Densities follow the
/// dermatology on facial pores: largest and densest on the nose, then the inner cheeks, fewer on
/// the forehead, finer on the chin and upper lip, none visible on the eyelids and under the
/// eyes (Kim et al., "Facial pore distribution", Skin Res Technol 2013; Sugiyama-Nakagiri et
/// al., J Dermatol Sci 2009; Flament et al., Clin Cosmet Investig Dermatol 2015).
pub const REGIONS: [(&str, &[usize], f32, f32); 7] = [
    ("nose", &[4, 5, 48, 278], 0.22, 1.0),
    ("inner cheeks", &[50, 280, 205, 425], 0.28, 0.85),
    ("forehead", &[151, 108, 337], 0.35, 0.6),
    ("chin", &[175, 199], 0.22, 0.5),
    ("upper lip", &[164], 0.12, 0.4),
    ("under the eyes", &[145, 374], 0.14, 0.0),
    ("temples and jaw", &[234, 454, 172, 397], 0.3, 0.7),
];

/// Relative pore density on the face away from every named region.
pub const FACE_DENSITY: f32 = 0.8;

/// Landmarks of one face in image pixels, with what the mesh says of its pose.
#[derive(Clone, Debug)]
pub struct Mesh {
    pub points: Vec<[f32; 2]>,
    /// Face-presence probability from the mesh model's own head (0..1).
    pub presence: f32,
}

impl Mesh {
    pub fn at(&self, i: usize) -> [f32; 2] {
        self.points[i]
    }
    /// Polygon of the given indices.
    pub fn polygon(&self, idx: &[usize]) -> Vec<[f32; 2]> {
        idx.iter().map(|&i| self.points[i]).collect()
    }
    /// Pixels per millimetre: the face's height from the forehead point to the chin over an
    /// adult's ([`FACE_HEIGHT_MM`]). It hardly changes as a head turns, where widths shrink.
    pub fn px_per_mm(&self) -> f32 {
        dist(self.at(FOREHEAD_TOP), self.at(CHIN)) / FACE_HEIGHT_MM
    }
    /// Distance between the outer eye corners: the face's unit length.
    pub fn eye_span(&self) -> f32 {
        dist(self.at(RIGHT_EYE_OUTER), self.at(LEFT_EYE_OUTER)).max(1.0)
    }
    /// Roll: the eye line's angle (degrees, 0 = level, positive = clockwise in the image).
    pub fn roll_deg(&self) -> f32 {
        let (a, b) = (self.at(RIGHT_EYE_OUTER), self.at(LEFT_EYE_OUTER));
        (b[1] - a[1]).atan2(b[0] - a[0]).to_degrees()
    }
    /// The face's up direction in the image (a unit vector, y down), perpendicular to the eye
    /// line.
    pub fn up(&self) -> [f32; 2] {
        let roll = self.roll_deg().to_radians();
        [roll.sin(), -roll.cos()]
    }
    /// Yaw from the nose tip's place between the oval's sides: 0 frontal, ±1 full profile
    /// (positive: the person looks toward the image's left).
    pub fn yaw(&self) -> f32 {
        let n = self.at(NOSE_TIP);
        let (r, l) = (
            dist(n, self.at(RIGHT_CHEEK_EDGE)),
            dist(n, self.at(LEFT_CHEEK_EDGE)),
        );
        ((l - r) / (l + r).max(1e-3)).clamp(-1.0, 1.0)
    }
    /// Axis-aligned bounding box of the face oval: (x0, y0, x1, y1).
    pub fn oval_bounds(&self) -> [f32; 4] {
        let mut b = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
        for &i in &FACE_OVAL {
            let p = self.points[i];
            b = [
                b[0].min(p[0]),
                b[1].min(p[1]),
                b[2].max(p[0]),
                b[3].max(p[1]),
            ];
        }
        b
    }
}

/// Which pixel centres of a `w`×`h` grid lie inside a polygon (even-odd rule), row-major.
pub fn fill_polygon(poly: &[[f32; 2]], w: usize, h: usize) -> Vec<bool> {
    let mut out = vec![false; w * h];
    if poly.len() < 3 {
        return out;
    }
    let mut xs = Vec::new();
    for y in 0..h {
        let py = y as f32 + 0.5;
        xs.clear();
        for i in 0..poly.len() {
            let (a, b) = (poly[i], poly[(i + 1) % poly.len()]);
            if (a[1] <= py) != (b[1] <= py) {
                xs.push(a[0] + (py - a[1]) / (b[1] - a[1]) * (b[0] - a[0]));
            }
        }
        xs.sort_by(f32::total_cmp);
        for pair in xs.chunks_exact(2) {
            let x0 = (pair[0] - 0.5).ceil().max(0.0) as usize;
            let x1 = ((pair[1] - 0.5).floor() + 1.0).clamp(0.0, w as f32) as usize;
            for v in out[y * w..].iter_mut().take(x1).skip(x0) {
                *v = true;
            }
        }
    }
    out
}

/// The ellipse inscribed in the bounding box of some points (a nostril's rim), as a polygon of
/// `sides` vertices.
pub fn ellipse_in_bounds(pts: &[[f32; 2]], sides: usize) -> Vec<[f32; 2]> {
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in pts {
        x0 = x0.min(p[0]);
        y0 = y0.min(p[1]);
        x1 = x1.max(p[0]);
        y1 = y1.max(p[1]);
    }
    let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    let (rx, ry) = (((x1 - x0) / 2.0).max(0.5), ((y1 - y0) / 2.0).max(0.5));
    (0..sides)
        .map(|k| {
            let a = k as f32 * std::f32::consts::TAU / sides as f32;
            [cx + rx * a.cos(), cy + ry * a.sin()]
        })
        .collect()
}

/// Scales a polygon about the mean of its vertices.
pub fn scale_polygon(poly: &[[f32; 2]], k: f32) -> Vec<[f32; 2]> {
    let n = poly.len().max(1) as f32;
    let c = [
        poly.iter().map(|p| p[0]).sum::<f32>() / n,
        poly.iter().map(|p| p[1]).sum::<f32>() / n,
    ];
    poly.iter()
        .map(|p| [c[0] + k * (p[0] - c[0]), c[1] + k * (p[1] - c[1])])
        .collect()
}

/// Moves every edge of a polygon outward by `d` (mitred corners, the mitre at most 2`d`): a
/// long thin shape (a brow, an eye) gains the same margin on every side, where
/// [`scale_polygon`] grows it mostly along its length.
pub fn grow_polygon(poly: &[[f32; 2]], d: f32) -> Vec<[f32; 2]> {
    let n = poly.len();
    if n < 3 {
        return poly.to_vec();
    }
    // The sign of the area says which side of each edge is the outside.
    let area2: f32 = (0..n)
        .map(|i| {
            let (a, b) = (poly[i], poly[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum();
    let s = if area2 >= 0.0 { 1.0 } else { -1.0 };
    let normal = |a: [f32; 2], b: [f32; 2]| {
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let l = dx.hypot(dy).max(1e-6);
        [s * dy / l, -s * dx / l]
    };
    (0..n)
        .map(|i| {
            let (prev, p, next) = (poly[(i + n - 1) % n], poly[i], poly[(i + 1) % n]);
            let (n0, n1) = (normal(prev, p), normal(p, next));
            let m = [n0[0] + n1[0], n0[1] + n1[1]];
            // m·n0 = 1 + cos(turn): the mitre's length is d·|m|/(m·n0), at most 2d.
            let k = d / (m[0] * n0[0] + m[1] * n0[1]).max(0.5);
            [p[0] + k * m[0], p[1] + k * m[1]]
        })
        .collect()
}

pub fn dist(a: [f32; 2], b: [f32; 2]) -> f32 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

/// Runs the mesh once on a crop; landmarks in image pixels and the presence probability.
fn run_once(pyr: &Pyramid, roi: &Roi) -> (Vec<[f32; 2]>, f32) {
    let input = pyr.crop(roi, LANDMARK_SIDE, |v| v);
    let (raw, flag) = net::landmarks(input);
    let points = (0..LANDMARKS)
        .map(|i| roi.to_image(raw[3 * i], raw[3 * i + 1], LANDMARK_SIDE))
        .collect();
    (points, 1.0 / (1.0 + (-flag.clamp(-100.0, 100.0)).exp()))
}

/// The crop MediaPipe derives from a set of points: square, 1.5× their extent measured along
/// the eye line, rotated so the eyes are level.
fn roi_around(points: &[[f32; 2]], angle: f32) -> Roi {
    let (s, c) = angle.sin_cos();
    let (mut u0, mut u1, mut v0, mut v1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for p in points {
        let (u, v) = (p[0] * c + p[1] * s, -p[0] * s + p[1] * c);
        u0 = u0.min(u);
        u1 = u1.max(u);
        v0 = v0.min(v);
        v1 = v1.max(v);
    }
    let (cu, cv) = ((u0 + u1) / 2.0, (v0 + v1) / 2.0);
    Roi {
        cx: cu * c - cv * s,
        cy: cu * s + cv * c,
        side: 1.5 * (u1 - u0).max(v1 - v0),
        angle,
    }
}

/// The first pass's presence under which a detection gets no second pass: that pass saw no
/// face, so its landmarks give no eye line to align to. On the development set and its 196
/// variants, the portraits and the real-hires pictures (282 detections), no first pass under
/// 0.05 rose above 0.29 in the second, and every face the second pass confirmed (≥ 0.5) read
/// at least 0.35 in the first. Those crops were turned by the detector's eye keypoints; a box
/// given by the caller is upright, so it always gets both passes ([`landmarks`]).
const SECOND_PASS_FROM: f32 = 0.05;

/// Landmarks for a face found at `roi0` (a square crop around it, eyes level): a first pass,
/// then a second on the crop its landmarks give.
pub fn landmarks(pyr: &Pyramid, roi0: &Roi) -> Mesh {
    let (first, _) = run_once(pyr, roi0);
    second_pass(pyr, &first)
}

/// [`landmarks`] for a detector's crop, without the second pass where the first saw no face
/// (presence under `SECOND_PASS_FROM`).
pub fn landmarks_of_detection(pyr: &Pyramid, roi0: &Roi) -> Mesh {
    let (first, presence) = run_once(pyr, roi0);
    if presence < SECOND_PASS_FROM {
        return Mesh {
            points: first,
            presence,
        };
    }
    second_pass(pyr, &first)
}

/// The second pass, on the crop a first pass's landmarks give, eyes level.
fn second_pass(pyr: &Pyramid, first: &[[f32; 2]]) -> Mesh {
    let (a, b) = (first[RIGHT_EYE_OUTER], first[LEFT_EYE_OUTER]);
    let roi = roi_around(first, (b[1] - a[1]).atan2(b[0] - a[0]));
    let (points, presence) = run_once(pyr, &roi);
    Mesh { points, presence }
}

/// The first crop for a detection: MediaPipe's `face_detection_front_detection_to_roi`
/// (the box, 1.5×, square, rotated by the eye line from the two eye keypoints).
pub fn roi_from_detection(d: &super::detect::Detection) -> Roi {
    let (r, l) = (d.keypoints[0], d.keypoints[1]);
    Roi {
        cx: d.cx,
        cy: d.cy,
        side: 1.5 * d.w.max(d.h),
        angle: (l[1] - r[1]).atan2(l[0] - r[0]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_lists_are_in_range_and_distinct() {
        let lists: [&[usize]; 8] = [
            &FACE_OVAL,
            &LIPS_OUTER,
            &RIGHT_EYE,
            &LEFT_EYE,
            &RIGHT_BROW,
            &LEFT_BROW,
            &RIGHT_NOSTRIL,
            &LEFT_NOSTRIL,
        ];
        for l in lists {
            let mut v = l.to_vec();
            v.sort_unstable();
            v.dedup();
            assert_eq!(v.len(), l.len());
            assert!(v.iter().all(|&i| i < LANDMARKS));
        }
        for (_, idx, r, d) in REGIONS {
            assert!(idx.iter().all(|&i| i < LANDMARKS) && r > 0.0 && (0.0..=1.0).contains(&d));
        }
    }

    #[test]
    fn polygons_fill_their_inside() {
        let sq = [[2.0, 2.0], [6.0, 2.0], [6.0, 6.0], [2.0, 6.0]];
        let m = fill_polygon(&sq, 8, 8);
        assert_eq!(m.iter().filter(|v| **v).count(), 16);
        assert!(m[3 * 8 + 3] && !m[8 + 1]);
        let big = scale_polygon(&sq, 1.5);
        assert_eq!(fill_polygon(&big, 8, 8).iter().filter(|v| **v).count(), 36);
        // Grown by a margin: the same square, whichever way round it is listed.
        for poly in [sq.to_vec(), sq.iter().rev().copied().collect()] {
            let grown = grow_polygon(&poly, 1.0);
            assert_eq!(
                fill_polygon(&grown, 8, 8).iter().filter(|v| **v).count(),
                36
            );
        }
        // A long thin bar gains the margin on its long sides too (scaling it by 1.5 would
        // add 5 cells of length and half a cell of height).
        let bar = [[1.0, 3.0], [11.0, 3.0], [11.0, 4.0], [1.0, 4.0]];
        let grown = grow_polygon(&bar, 1.0);
        assert_eq!(
            fill_polygon(&grown, 14, 8).iter().filter(|v| **v).count(),
            12 * 3
        );
    }

    #[test]
    fn roi_around_is_centred_and_rotated() {
        let pts = [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]];
        let r = roi_around(&pts, 0.0);
        assert_eq!((r.cx, r.cy, r.side), (5.0, 5.0, 15.0));
    }
}
