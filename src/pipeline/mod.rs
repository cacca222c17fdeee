//! The plan and the stages: what is done to an image, in order, and why.
//!
//! A stage is a closed enum variant with a pure function over an image and its config.
//! The plan decides from the profile which stages run; a stage that does not apply is
//! a skip with a reason, never an error. The order is fixed and deliberate:
//!
//! 1. **upscale** first, because the skin engine renders texture at the face's physical
//!    scale and needs the pixels to hold pores;
//! 2. (the skin engine slots in here; it must see the final resolution).
//!
//! Nothing here touches the filesystem.

pub mod upscale;

use std::borrow::Cow;
use std::time::Instant;

use image::DynamicImage;
use serde::Serialize;

use crate::config::UpscaleConfig;
use crate::profile::Profile;

/// The stages, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Enlarge small images.
    Upscale,
}

/// Settings the stages read (one hotfolder's effective sections).
#[derive(Debug, Clone, PartialEq)]
pub struct StageSettings {
    /// `[upscale]`.
    pub upscale: UpscaleConfig,
}

/// One stage's entry in the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanStep {
    /// The stage.
    pub stage: Stage,
    /// Whether it will run.
    pub run: bool,
    /// Why it runs or not.
    pub reason: String,
    #[serde(skip)]
    target: Option<[u32; 2]>,
}

/// Which stages run, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Every stage, in order, with its decision.
    pub steps: Vec<PlanStep>,
}

/// What a stage did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageRecord {
    /// The stage.
    pub stage: Stage,
    /// `applied` or `skipped`.
    pub status: StageStatus,
    /// Why, or what was done, in a sentence.
    pub summary: String,
    /// Stage-specific figures.
    pub details: serde_json::Value,
    /// Wall time in milliseconds.
    pub ms: f64,
}

/// Whether a stage changed the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StageStatus {
    /// It ran and changed the image.
    Applied,
    /// It did not apply.
    Skipped,
}

/// Decides which stages run for this image.
pub fn plan(profile: &Profile, settings: &StageSettings) -> Plan {
    let f = &profile.facts;
    let upscale = match upscale::decide(f.width, f.height, &settings.upscale) {
        Ok(to) => PlanStep {
            stage: Stage::Upscale,
            run: true,
            reason: format!(
                "the long edge is {} px, below min_long_edge ({} px): upscaling to {}×{} so skin detail has pixels to live in",
                f.long_edge(),
                settings.upscale.min_long_edge,
                to[0],
                to[1]
            ),
            target: Some(to),
        },
        Err(why) => PlanStep {
            stage: Stage::Upscale,
            run: false,
            reason: why,
            target: None,
        },
    };
    Plan {
        steps: vec![upscale],
    }
}

/// Runs the planned stages in order. The input is only read: every stage makes a new
/// image, and the input stays available for before/after pictures.
pub fn run(
    input: &DynamicImage,
    plan: &Plan,
    settings: &StageSettings,
) -> (DynamicImage, Vec<StageRecord>) {
    let mut image = Cow::Borrowed(input);
    let mut records = Vec::with_capacity(plan.steps.len());
    for step in &plan.steps {
        let start = Instant::now();
        if !step.run {
            records.push(StageRecord {
                stage: step.stage,
                status: StageStatus::Skipped,
                summary: step.reason.clone(),
                details: serde_json::Value::Null,
                ms: 0.0,
            });
            continue;
        }
        let (next, summary, details) = match step.stage {
            Stage::Upscale => {
                let to = step.target.unwrap_or([image.width(), image.height()]);
                let (out, d) = upscale::apply(&image, to, &settings.upscale);
                let summary = format!(
                    "{} {}×{} → {}×{} (×{})",
                    d.engine, d.from[0], d.from[1], d.to[0], d.to[1], d.factor
                );
                (out, summary, serde_json::to_value(d).unwrap_or_default())
            }
        };
        image = Cow::Owned(next);
        records.push(StageRecord {
            stage: step.stage,
            status: StageStatus::Applied,
            summary,
            details,
            ms: millis(start),
        });
    }
    (image.into_owned(), records)
}

/// Milliseconds since `start`, to 0.1 ms.
pub fn millis(start: Instant) -> f64 {
    (start.elapsed().as_secs_f64() * 10_000.0).round() / 10.0
}
