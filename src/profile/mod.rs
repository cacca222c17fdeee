//! What an image is, before anything is done to it: its facts (size, format, bit depth,
//! alpha, colour profile, orientation). The profile drives the plan and goes into the
//! report. Pure: it reads a decoded image and writes nothing.

pub mod classify;
pub mod faces;
mod icc;

use serde::Serialize;

use crate::decode::{Decoded, Format};

pub use icc::icc_description;

/// Everything known about an input image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    /// Size, format and layout.
    pub facts: ImageFacts,
}

/// The plain facts of an image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageFacts {
    /// Container format.
    pub format: Format,
    /// Pixels across, as stored.
    pub width: u32,
    /// Pixels down, as stored.
    pub height: u32,
    /// Width × height / 10⁶, rounded to 0.01.
    pub megapixels: f64,
    /// Bits per channel: 8 or 16.
    pub bit_depth: u8,
    /// `rgb` or `gray`.
    pub color: &'static str,
    /// Whether there is an alpha channel.
    pub alpha: bool,
    /// The embedded colour profile, if any.
    pub icc: Option<IccFacts>,
    /// EXIF orientation (1 = upright; 6 = turn 90° clockwise to display, ...).
    pub orientation: u8,
    /// Whether EXIF and XMP metadata are present.
    pub exif: bool,
    /// Whether an XMP packet is present.
    pub xmp: bool,
    /// File size in bytes.
    pub file_size: u64,
}

/// An embedded ICC profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IccFacts {
    /// Its description tag (`sRGB IEC61966-2.1`, `Display P3`), when readable.
    pub description: Option<String>,
    /// Size in bytes.
    pub bytes: usize,
}

impl ImageFacts {
    /// The longer side in pixels.
    pub fn long_edge(&self) -> u32 {
        self.width.max(self.height)
    }
}

/// Profiles a decoded image.
pub fn profile(decoded: &Decoded, file_size: u64) -> Profile {
    let img = &decoded.image;
    let color = img.color();
    Profile {
        facts: ImageFacts {
            format: decoded.format,
            width: img.width(),
            height: img.height(),
            megapixels: (f64::from(img.width()) * f64::from(img.height()) / 1e4).round() / 100.0,
            bit_depth: decoded.bit_depth,
            color: if color.has_color() { "rgb" } else { "gray" },
            alpha: color.has_alpha(),
            icc: decoded.icc.as_ref().map(|icc| IccFacts {
                description: icc_description(icc),
                bytes: icc.len(),
            }),
            orientation: decoded.orientation.to_exif(),
            exif: decoded.exif.is_some(),
            xmp: decoded.xmp.is_some(),
            file_size,
        },
    }
}
