//! The three embedded networks, loaded once and run in-process by tract (pure Rust: nothing to
//! download, no ONNX Runtime). Both are MediaPipe's, converted to ONNX unchanged
//! (`models/face/NOTICE`, `models/tools/make_face_models.sh`).

use std::sync::{Arc, OnceLock};
use tract_onnx::prelude::*;

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

type Plan = Arc<TypedRunnableModel>;

fn load(bytes: &[u8], side: usize) -> Plan {
    // The files are compiled in and checked by the tests, so a failure here is a build defect,
    // not a user's problem.
    tract_onnx::onnx()
        .model_for_read(&mut &bytes[..])
        .and_then(|m| m.with_input_fact(0, f32::fact([1, side, side, 3]).into()))
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .expect("the embedded face model loads")
}

fn detector() -> &'static Plan {
    static P: OnceLock<Plan> = OnceLock::new();
    P.get_or_init(|| load(DETECTOR_ONNX, DETECTOR_SIDE))
}

fn landmarker() -> &'static Plan {
    static P: OnceLock<Plan> = OnceLock::new();
    P.get_or_init(|| load(LANDMARK_ONNX, LANDMARK_SIDE))
}

/// Loads the person segmentation's model now (once per process) if it is not loaded yet.
pub fn preload_segmenter() {
    segmenter();
}

fn segmenter() -> &'static Plan {
    static P: OnceLock<Plan> = OnceLock::new();
    P.get_or_init(|| load(SEGMENT_ONNX, SEGMENT_SIDE))
}

fn run(plan: &Plan, side: usize, input: Vec<f32>) -> TVec<TValue> {
    let t = Tensor::from_shape(&[1, side, side, 3], &input).expect("input has the model's shape");
    plan.run(tvec!(t.into()))
        .expect("the embedded face model runs on a well-formed input")
}

fn floats(v: &TValue) -> Vec<f32> {
    v.try_as_plain_ram()
        .and_then(|p| p.as_slice::<f32>().map(<[f32]>::to_vec))
        .expect("the face models output float32")
}

/// Runs the detector on one 128×128 RGB input (−1..1, row-major HWC): 896 boxes of 16 numbers
/// (centre, size, 6 keypoints, in input pixels relative to each anchor) and 896 logits.
pub fn detect(input: Vec<f32>) -> (Vec<f32>, Vec<f32>) {
    let out = run(detector(), DETECTOR_SIDE, input);
    (floats(&out[0]), floats(&out[1]))
}

/// Runs the mesh on one 192×192 RGB input (0..1): 468 × (x, y, z) in input pixels, and the
/// face-presence logit.
pub fn landmarks(input: Vec<f32>) -> (Vec<f32>, f32) {
    let out = run(landmarker(), LANDMARK_SIDE, input);
    let flag = floats(&out[1])
        .first()
        .copied()
        .unwrap_or(f32::NEG_INFINITY);
    (floats(&out[0]), flag)
}

/// Runs the person segmentation on one 256×256 RGB input (0..1): 256×256 probabilities.
pub fn segment(input: Vec<f32>) -> Vec<f32> {
    let out = run(segmenter(), SEGMENT_SIDE, input);
    floats(&out[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_models_load_and_give_their_shapes() {
        let (boxes, logits) = detect(vec![0.0; DETECTOR_SIDE * DETECTOR_SIDE * 3]);
        assert_eq!(boxes.len(), 896 * 16);
        assert_eq!(logits.len(), 896);
        let (pts, flag) = landmarks(vec![0.5; LANDMARK_SIDE * LANDMARK_SIDE * 3]);
        assert_eq!(pts.len(), LANDMARKS * 3);
        assert!(flag.is_finite());
        let person = segment(vec![0.5; SEGMENT_SIDE * SEGMENT_SIDE * 3]);
        assert_eq!(person.len(), SEGMENT_SIDE * SEGMENT_SIDE);
        assert!(person.iter().all(|p| (0.0..=1.0).contains(p)));
    }
}
