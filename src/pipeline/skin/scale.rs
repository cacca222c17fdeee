//! Physical scale: pixels per millimetre from the face width (an adult face is about 130 mm wide), or a
//! configured default when no face gives one.

use super::Source;
use crate::profile::faces::FaceBox;

/// Adult face width across the detector box, millimetres.
pub const FACE_WIDTH_MM: f32 = 130.0;

#[derive(Clone, Copy, Debug)]
pub struct Scale {
    pub px_per_mm: f32,
    pub source: Source,
}

/// The largest face sets the scale: it is the face people look at, and smaller faces get texture that is
/// at most a little coarse for them.
pub fn from_faces(faces: &[FaceBox], default_px_per_mm: f32) -> Scale {
    match faces.iter().map(|f| f.w).reduce(f32::max) {
        Some(w) => Scale {
            px_per_mm: w / FACE_WIDTH_MM,
            source: Source::Face,
        },
        None => Scale {
            px_per_mm: default_px_per_mm,
            source: Source::Default,
        },
    }
}
