//! Physical scale: pixels per millimetre from the face's landmarks, or a configured default when no
//! face gives one. The face's height from the top of the mesh's forehead (landmark 10) to the chin
//! (152) is used: it hardly changes as a head turns, where widths shrink.

use super::FigureSource;
use crate::face::Face;

#[derive(Clone, Copy, Debug)]
pub struct Scale {
    pub px_per_mm: f32,
    pub source: FigureSource,
}

/// The largest face sets the scale: it is the face people look at, and smaller faces get texture that is
/// at most a little coarse for them.
pub fn from_faces(faces: &[Face], default_px_per_mm: f32) -> Scale {
    match faces.iter().map(|f| f.mesh.px_per_mm()).reduce(f32::max) {
        Some(px_per_mm) => Scale {
            px_per_mm,
            source: FigureSource::Face,
        },
        None => Scale {
            px_per_mm: default_px_per_mm,
            source: FigureSource::Default,
        },
    }
}
