//! The three embedded networks, loaded once and run in-process by `graph.rs` (plain Rust:
//! nothing to download, no ONNX Runtime). All three are MediaPipe's, converted to ONNX
//! unchanged (`models/face/NOTICE`, `models/tools/make_face_models.sh`).

use super::graph::Graph;
use std::sync::OnceLock;

static DETECTOR_ONNX: &[u8] = include_bytes!("../../models/face/face_detection_short_range.onnx");
static LANDMARK_ONNX: &[u8] = include_bytes!("../../models/face/face_landmark.onnx");
static SEGMENT_ONNX: &[u8] = include_bytes!("../../models/face/selfie_segmentation.onnx");

/// BlazeFace short range: input 1×128×128×3 in −1..1.
pub const DETECTOR_SIDE: usize = 128;
/// Face Mesh: input 1×192×192×3 in 0..1.
pub const LANDMARK_SIDE: usize = 192;
/// Selfie segmentation: input 1×256×256×3 in 0..1, output the person probability per pixel.
pub const SEGMENT_SIDE: usize = 256;
/// Landmarks the mesh model gives.
pub const LANDMARKS: usize = 468;

/// The files are compiled in and checked by the tests, so a failure here is a build defect, not
/// a user's problem.
fn load(bytes: &[u8]) -> Graph {
    Graph::load(bytes).unwrap_or_else(|e| panic!("the embedded face model loads: {e}"))
}

fn detector() -> &'static Graph {
    static G: OnceLock<Graph> = OnceLock::new();
    G.get_or_init(|| load(DETECTOR_ONNX))
}

fn landmarker() -> &'static Graph {
    static G: OnceLock<Graph> = OnceLock::new();
    G.get_or_init(|| load(LANDMARK_ONNX))
}

fn segmenter() -> &'static Graph {
    static G: OnceLock<Graph> = OnceLock::new();
    G.get_or_init(|| load(SEGMENT_ONNX))
}

/// Loads the three models on a thread of their own, once per process: the first picture's
/// reading and decoding then hide their loading (about 6 ms here). A picture that needs them first
/// waits for the same load, not a second one.
pub fn warm_up() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        // Without a thread, the first use loads them as before.
        let _ = std::thread::Builder::new()
            .name("face-models".into())
            .spawn(|| {
                detector();
                landmarker();
                segmenter();
            });
    });
}

/// The `i`th output, or nothing (a graph that loaded has every output it names).
fn nth(out: &mut [Vec<f32>], i: usize) -> Vec<f32> {
    out.get_mut(i).map(std::mem::take).unwrap_or_default()
}

/// Runs the detector on one 128×128 RGB input (−1..1, row-major HWC): 896 boxes of 16 numbers
/// (centre, size, 6 keypoints, in input pixels relative to each anchor) and 896 logits.
pub fn detect(input: Vec<f32>) -> (Vec<f32>, Vec<f32>) {
    let mut out = detector().run(DETECTOR_SIDE, 3, input);
    (nth(&mut out, 0), nth(&mut out, 1))
}

/// Runs the mesh on one 192×192 RGB input (0..1): 468 × (x, y, z) in input pixels, and the
/// face-presence logit.
pub fn landmarks(input: Vec<f32>) -> (Vec<f32>, f32) {
    let mut out = landmarker().run(LANDMARK_SIDE, 3, input);
    let flag = nth(&mut out, 1)
        .first()
        .copied()
        .unwrap_or(f32::NEG_INFINITY);
    (nth(&mut out, 0), flag)
}

/// Runs the person segmentation on one 256×256 RGB input (0..1): 256×256 probabilities.
pub fn segment(input: Vec<f32>) -> Vec<f32> {
    nth(&mut segmenter().run(SEGMENT_SIDE, 3, input), 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A picture-like input: rings fading from the centre over a fine pattern, in `lo..hi`.
    fn scene(side: usize, lo: f32, hi: f32) -> Vec<f32> {
        let mut v = Vec::with_capacity(side * side * 3);
        for y in 0..side {
            for x in 0..side {
                for c in 0..3 {
                    let (fx, fy) = (x as f32 / side as f32, y as f32 / side as f32);
                    let r = ((fx - 0.5).powi(2) + (fy - 0.45).powi(2)).sqrt();
                    let t = 0.5
                        + 0.4 * (9.0 * r + c as f32).sin() * (-3.0 * r).exp()
                        + 0.05 * ((x * 7 + y * 13 + c * 5) % 11) as f32 / 11.0;
                    v.push(lo + (hi - lo) * t.clamp(0.0, 1.0));
                }
            }
        }
        v
    }

    /// The sum, the sum of magnitudes, and eight values spread over the output.
    fn fingerprint(v: &[f32]) -> [f64; 10] {
        let mut f = [0.0; 10];
        f[0] = v.iter().map(|&x| x as f64).sum();
        f[1] = v.iter().map(|&x| x.abs() as f64).sum();
        for k in 0..8 {
            f[2 + k] = v[k * (v.len() - 1) / 7] as f64;
        }
        f
    }

    /// Each output's fingerprint against ONNX semantics as tract 0.23.9 computed them on the same
    /// input (the reference this interpreter replaced), within `tol` of the output's scale.
    fn agrees(out: &[f32], want: [f64; 10], tol: f64) {
        let got = fingerprint(out);
        let scale = want[2..].iter().fold(1.0f64, |m, v| m.max(v.abs()));
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            // The sums gather rounding from every value.
            let t = if i < 2 {
                tol * w.abs().max(1.0)
            } else {
                tol * scale
            };
            assert!((g - w).abs() <= t, "value {i}: {g} against {w}\n{got:?}");
        }
    }

    #[test]
    fn the_detector_gives_the_reference_outputs() {
        let (boxes, logits) = detect(scene(DETECTOR_SIDE, -1.0, 1.0));
        assert_eq!((boxes.len(), logits.len()), (896 * 16, 896));
        #[rustfmt::skip]
        agrees(&boxes, [104040.27068746835, 201632.51558538526, 0.16759508848190308,
            2.352311134338379, -0.48673373460769653, 1.886291742324829, -2.7643980979919434,
            -12.653273582458496, -16.226879119873047, -10.299347877502441], 1e-4);
        #[rustfmt::skip]
        agrees(&logits, [-4039.088406562805, 4039.088406562805, -5.403290271759033,
            -4.486903190612793, -4.623787879943848, -4.694089412689209, -4.451029300689697,
            -2.7173428535461426, -1.0832931995391846, -28.900157928466797], 1e-4);
    }

    #[test]
    fn the_mesh_gives_the_reference_outputs() {
        let (points, flag) = landmarks(scene(LANDMARK_SIDE, 0.0, 1.0));
        assert_eq!(points.len(), LANDMARKS * 3);
        #[rustfmt::skip]
        agrees(&points, [93331.92625860311, 97180.82892366685, 91.85935974121094,
            -0.06883770227432251, 82.80805206298828, 147.9940185546875, 97.92542266845703,
            124.42200469970703, -1.0780383348464966, 0.7489938735961914], 1e-4);
        assert!((flag + 8.416_691).abs() < 1e-3, "presence logit {flag}");
    }

    /// A flat cartoon of a head and shoulders on a pale wall.
    fn person(side: usize) -> Vec<f32> {
        let mut v = Vec::with_capacity(side * side * 3);
        for y in 0..side {
            for x in 0..side {
                let (fx, fy) = (x as f32 / side as f32, y as f32 / side as f32);
                let inside = |cx: f32, cy: f32, rx: f32, ry: f32| {
                    ((fx - cx) / rx).powi(2) + ((fy - cy) / ry).powi(2) < 1.0
                };
                let hair = inside(0.5, 0.3, 0.18, 0.2) && fy < 0.3;
                let head = inside(0.5, 0.38, 0.16, 0.21);
                let body = fy > 0.62 && inside(0.5, 1.05, 0.42, 0.45);
                let px = if hair {
                    [0.2, 0.14, 0.1]
                } else if head {
                    [0.85, 0.65, 0.55]
                } else if body {
                    [0.15, 0.2, 0.45]
                } else {
                    [0.75, 0.78, 0.8]
                };
                let g = 0.03 * ((x * 7 + y * 13) % 11) as f32 / 11.0;
                v.extend(px.iter().map(|c| c + g));
            }
        }
        v
    }

    #[test]
    fn the_segmentation_gives_the_reference_outputs() {
        let p = segment(person(SEGMENT_SIDE));
        assert_eq!(p.len(), SEGMENT_SIDE * SEGMENT_SIDE);
        assert!(p.iter().all(|v| (0.0..=1.0).contains(v)));
        let sum: f64 = p.iter().map(|&v| v as f64).sum();
        assert!((sum - 338.86241081357).abs() < 0.05, "sum {sum}");
        // Where the model is unsure, its logits (tract's sigmoid floors at 4.5e-7, so the sure
        // places say little).
        #[rustfmt::skip]
        let want = [(28070, -2.7002218), (31132, -1.9877727), (31877, -2.823744),
            (32387, -1.0070561), (32891, -0.64323825), (33392, -0.66146445), (33899, -0.8372038),
            (34406, -0.69103366), (34703, -1.8010272), (35204, -1.1916813), (35729, -0.85175025),
            (36725, -1.1926401)];
        for (i, logit) in want {
            let got = (p[i] / (1.0 - p[i])).ln();
            assert!(
                (got - logit).abs() < 1e-3,
                "pixel {i}: logit {got} against {logit}"
            );
        }
    }
}
