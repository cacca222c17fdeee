//! One image through the pixel pipeline, top to bottom:
//! decode → profile → plan → stages → encode.
//!
//! Shared by the daemon and `realskin process`. It fills the report as it goes, so a
//! failure still reports what was learnt before it. It neither reads nor writes files:
//! the caller hands in the bytes and writes the result (see `output`).

use std::time::Instant;

use crate::config::{HotfolderConfig, OutputConfig};
use crate::decode;
use crate::error::JobError;
use crate::output::encode::{self, CarriedMetadata, Encoded};
use crate::pipeline::{self, StageSettings, millis};
use crate::profile;
use crate::report::Report;
use crate::report::previews::{self, Previews};

/// The settings one image is processed with (a hotfolder's effective sections).
#[derive(Debug, Clone, PartialEq)]
pub struct JobSettings {
    /// Stage settings.
    pub stages: StageSettings,
    /// Output format settings.
    pub output: OutputConfig,
    /// Decompression-bomb limit.
    pub max_megapixels: f64,
}

impl JobSettings {
    /// A hotfolder's settings.
    pub fn for_hotfolder(hf: &HotfolderConfig, max_megapixels: f64) -> Self {
        Self {
            stages: StageSettings {
                upscale: hf.upscale.clone(),
                skin: hf.skin.clone(),
            },
            output: hf.output_options.clone(),
            max_megapixels,
        }
    }
}

/// The result of the pixel pipeline.
pub struct Rendered {
    /// The output file's bytes.
    pub encoded: Encoded,
    /// Small pictures for people (dashboard, HTML report).
    pub previews: Previews,
}

/// Runs the pixel pipeline on `bytes`, recording each step in `report`.
pub fn render(
    bytes: &[u8],
    settings: &JobSettings,
    report: &mut Report,
) -> Result<Rendered, JobError> {
    let t = Instant::now();
    let decoded = decode::decode(bytes, settings.max_megapixels)?;
    report.timings_ms.decode = millis(t);

    let t = Instant::now();
    let prof = profile::profile(&decoded, bytes.len() as u64);
    let plan = pipeline::plan(&prof, &settings.stages);
    report.timings_ms.profile = millis(t);
    report.profile = Some(prof);
    report.plan = Some(plan.clone());

    let meta = CarriedMetadata {
        icc: decoded.icc,
        exif: decoded.exif,
        xmp: decoded.xmp,
        orientation: Some(decoded.orientation),
    };
    let format = encode::output_format(decoded.format, &settings.output);

    let t = Instant::now();
    let input = decoded.image;
    let mut records = Vec::with_capacity(plan.steps.len());
    let ran = pipeline::run(&input, &plan, &settings.stages, &mut records);
    report.timings_ms.stages = millis(t);
    report.stages = records;
    let (image, artifacts) = ran?;
    let face = artifacts.face.map(|f| previews::FaceRect {
        x: f.x,
        y: f.y,
        w: f.w,
        h: f.h,
    });
    let previews = previews::make(&input, &image, face, artifacts.mask_overlay.as_ref());
    drop(input);

    let t = Instant::now();
    let encoded = encode::encode(image, format, &settings.output, &meta).map_err(|e| {
        JobError::input(
            "encode",
            format!("The result could not be encoded: {e}."),
            "Try another output format under [output]; if it keeps happening, report it as a realskin bug with this file.",
        )
    })?;
    report.timings_ms.encode = millis(t);
    Ok(Rendered { encoded, previews })
}

/// BLAKE3 of the content, hex.
pub fn content_hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}
