//! `[upscale]`: the upscale stage's own settings, with their defaults. The config file
//! assembles and checks them (`crate::config`), and resolves their paths against the
//! config file's folder; this stage reads them.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[upscale]`: when and how images below the resolution threshold are enlarged.
///
/// The keys after `engine` only matter for `engine = "onnx"`; with the default
/// `"lanczos"` nothing of ONNX Runtime is looked for or loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpscaleConfig {
    /// Images whose long edge is below this are upscaled (pores need pixels).
    pub min_long_edge: u32,
    /// The long edge an upscaled image gets.
    pub target_long_edge: u32,
    /// With a photographed face, the image is enlarged until the largest face reaches
    /// this many pixels per millimetre (8: a 0.25 mm pore is 2 px). 0 = by size only.
    pub face_px_per_mm: f32,
    /// The face rule never makes an output larger than this many megapixels.
    pub max_output_megapixels: f64,
    /// The face rule never enlarges more than this many times along the long edge.
    pub max_factor: f64,
    /// Which upscaler runs.
    pub engine: UpscaleEngine,
    /// The super-resolution model: a name from `realskin models list` (installed into
    /// `models_dir`) or a path to an `.onnx` file. Empty: none chosen.
    pub model: String,
    /// Where the model runs: `auto` picks a GPU provider the library offers, else CPU.
    pub device: Device,
    /// Tile edge in input pixels for tiled inference; 0 picks it from free memory.
    pub tile: u32,
    /// The ONNX Runtime library file; empty searches the usual places.
    pub onnxruntime: PathBuf,
    /// Where `realskin models install` puts models; empty means `<state_dir>/models`.
    pub models_dir: PathBuf,
}

impl Default for UpscaleConfig {
    fn default() -> Self {
        Self {
            min_long_edge: 2048,
            target_long_edge: 2048,
            face_px_per_mm: 8.0,
            max_output_megapixels: 36.0,
            max_factor: 4.0,
            engine: UpscaleEngine::Lanczos,
            model: String::new(),
            device: Device::Auto,
            tile: 0,
            onnxruntime: PathBuf::new(),
            models_dir: PathBuf::new(),
        }
    }
}

impl UpscaleConfig {
    /// Whether `model` names a file rather than a manifest entry.
    pub fn model_is_path(&self) -> bool {
        model_is_path(&self.model)
    }
}

pub use crate::models::model_is_path;

/// The upscaler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpscaleEngine {
    /// Lanczos3, built in: fast, sharp, adds no detail.
    Lanczos,
    /// A super-resolution model run by ONNX Runtime (loaded at run time), then
    /// Lanczos3 to the exact size: invents plausible detail, costs far more time.
    Onnx,
}

/// Where an ONNX model runs (an ONNX Runtime execution provider).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Device {
    /// The first GPU provider the loaded library offers (CUDA, CoreML, DirectML), else CPU.
    Auto,
    /// The CPU.
    Cpu,
    /// NVIDIA GPUs through CUDA (needs `onnxruntime-gpu` and the CUDA libraries).
    Cuda,
    /// NVIDIA TensorRT (builds an engine per input size: slow first run), CUDA behind it.
    Tensorrt,
    /// Apple's Core ML (macOS).
    Coreml,
    /// DirectML (Windows GPUs).
    Directml,
}

impl Device {
    /// Every device, by its config word.
    pub const ALL: [(Device, &'static str); 6] = [
        (Device::Auto, "auto"),
        (Device::Cpu, "cpu"),
        (Device::Cuda, "cuda"),
        (Device::Tensorrt, "tensorrt"),
        (Device::Coreml, "coreml"),
        (Device::Directml, "directml"),
    ];
}

impl std::str::FromStr for Device {
    type Err = String;

    /// A device by its config word (`cuda`).
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .find(|(_, w)| *w == s)
            .map(|(d, _)| *d)
            .ok_or_else(|| {
                let words: Vec<&str> = Self::ALL.iter().map(|(_, w)| *w).collect();
                format!("unknown device {s:?}; use {}", words.join(", "))
            })
    }
}
