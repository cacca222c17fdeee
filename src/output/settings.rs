//! `[output]`: the output stage's own settings (format, quality, compression, naming, what
//! happens when a name is taken), with their defaults. `crate::config` assembles and checks
//! them; the encoder and the writer read them.

use serde::{Deserialize, Serialize};

/// `[output]`: the file written for each image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputConfig {
    /// Output format; `same` keeps the input's.
    pub format: OutputFormat,
    /// JPEG quality (1-100); 4:4:4 chroma from 90 up.
    pub quality: u8,
    /// Write progressive JPEGs (they draw coarse-to-fine while loading on the web).
    pub jpeg_progressive: bool,
    /// Lossy WebP quality (1-100), used when the input was lossy (JPEG or lossy WebP);
    /// a lossless input gives a lossless WebP.
    pub webp_quality: u8,
    /// PNG compression: `fast` is 30x quicker than `default` for files 5-10 % larger.
    pub png_compression: PngCompression,
    /// Output file name; `{stem}`, `{ext}`, `{hotfolder}` and `{date}` are replaced.
    pub naming: String,
    /// What happens when the output name is taken.
    pub on_collision: OnCollision,
    /// Keep an original's C2PA manifest beside the output as `<output>.c2pa` (it cannot
    /// stay inside: its signature covers the original pixels).
    pub keep_c2pa_sidecar: bool,
}

impl Default for OutputConfig {
    fn default() -> Self {
        Self {
            format: OutputFormat::Same,
            quality: 92,
            jpeg_progressive: false,
            webp_quality: 90,
            png_compression: PngCompression::Fast,
            naming: "{stem}.realskin.{ext}".to_string(),
            on_collision: OnCollision::Version,
            keep_c2pa_sidecar: true,
        }
    }
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputFormat {
    /// The input's format.
    Same,
    /// PNG (8 or 16 bit, alpha kept).
    Png,
    /// JPEG (8 bit, no alpha).
    Jpeg,
    /// WebP (8 bit, alpha kept): lossy when the input was lossy, else lossless.
    Webp,
    /// TIFF (8 or 16 bit, alpha kept), LZW when the input was, else Deflate.
    Tiff,
}

/// PNG compression effort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PngCompression {
    /// Fast deflate with adaptive filtering.
    Fast,
    /// zlib level 6, what most tools write.
    Default,
    /// Slowest, smallest.
    Best,
}

/// What to do when an output's name is already taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnCollision {
    /// Write `name-2.ext`, `name-3.ext`, ...
    Version,
    /// Replace the existing file (atomically).
    Overwrite,
    /// Leave the existing file; the job ends without output.
    Skip,
}
