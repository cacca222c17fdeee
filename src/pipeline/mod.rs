//! The plan and the stages: what is done to an image, in order, and why.
//!
//! A stage is a closed enum variant with a pure function over an image and its config.
//! The plan decides from the profile which stages run; a stage that does not apply is
//! a skip with a reason, never an error. The order is fixed and deliberate:
//!
//! 0. a **survey** of the faces (when the skin engine is on): the largest photographed
//!    face sets the scale the upscale aims for;
//! 1. **upscale** first, because the skin engine renders texture at the face's physical
//!    scale and needs pixels to hold pores: about 2 px per pore;
//! 2. **skin** on the final resolution: pores, micro-relief, tone and grain where there
//!    is skin, nothing anywhere else. It decides for itself whether the picture is a
//!    photograph with people (a skip with the reason otherwise).
//!
//! Nothing here touches the filesystem, except that the ONNX upscaler reads its model
//! (and loads ONNX Runtime) once per process.

pub mod skin;
pub mod upscale;

use std::borrow::Cow;
use std::time::Instant;

use image::{DynamicImage, RgbImage};
use serde::Serialize;

use crate::error::JobError;
use crate::face::FaceBox;
use crate::profile::{FaceFacts, PixelFacts};
use skin::{SkinConfig, SkinContext};
use upscale::UpscaleConfig;

/// The stages, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Enlarge small images.
    Upscale,
    /// Real skin texture and tone.
    Skin,
}

impl Stage {
    /// The stage's name in reports, logs and metrics.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Upscale => "upscale",
            Self::Skin => "skin",
        }
    }
}

/// Settings the stages read (one hotfolder's effective sections).
#[derive(Debug, Clone, PartialEq)]
pub struct StageSettings {
    /// `[upscale]`.
    pub upscale: UpscaleConfig,
    /// `[skin]`.
    pub skin: SkinConfig,
}

/// One stage's entry in the plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanStep {
    /// The stage.
    pub stage: Stage,
    /// Whether it will run.
    pub run: bool,
    /// Why it runs or not.
    pub reason: String,
    /// For the upscale: which rule set the output size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_rule: Option<upscale::SizeRule>,
    #[serde(skip)]
    target: Option<[u32; 2]>,
}

/// Which stages run, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Every stage, in order, with its decision.
    pub steps: Vec<PlanStep>,
    /// What the profile tells the skin engine (generator preset, faces, picture kind).
    #[serde(skip)]
    pub skin_context: SkinContext,
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

/// Pictures the stages leave for people (not part of the output).
#[derive(Debug, Clone, Default)]
pub struct StageArtifacts {
    /// The largest face the skin engine worked on, in output pixels.
    pub face: Option<FaceBox>,
    /// The skin mask tinted over a reduced copy of the image.
    pub mask_overlay: Option<RgbImage>,
    /// What the skin engine learnt about the picture, for the profile.
    pub pixels: Option<PixelFacts>,
}

/// Looks for faces before any stage runs (only when the skin engine is on): the largest
/// photographed face sizes the upscale, and the faces found are handed on to the skin
/// engine, so the detector runs once per image. `space` is the picture's colour space.
pub fn survey(
    input: &DynamicImage,
    settings: &StageSettings,
    space: &skin::space::Space,
) -> Option<skin::Survey> {
    settings
        .skin
        .enabled
        .then(|| skin::survey(input, &settings.skin, space))
}

/// Decides which stages run for an image of this size with these faces (`None`: not looked
/// for), and to which size it is enlarged.
pub fn plan(
    width: u32,
    height: u32,
    settings: &StageSettings,
    survey: Option<&skin::Survey>,
) -> Plan {
    let face_ppm = survey.and_then(|s| s.px_per_mm);
    let upscale = match upscale::decide(width, height, &settings.upscale, face_ppm) {
        Ok(d) => PlanStep {
            stage: Stage::Upscale,
            run: true,
            reason: d.reason,
            size_rule: Some(d.rule),
            target: Some(d.to),
        },
        Err(why) => PlanStep {
            stage: Stage::Upscale,
            run: false,
            reason: why,
            size_rule: None,
            target: None,
        },
    };
    let skin = if settings.skin.enabled {
        PlanStep {
            stage: Stage::Skin,
            run: true,
            reason: "the skin engine is on; it treats photographs with people and leaves everything else untouched".into(),
            size_rule: None,
            target: None,
        }
    } else {
        PlanStep {
            stage: Stage::Skin,
            run: false,
            reason: "the skin engine is off ([skin] enabled = false)".into(),
            size_rule: None,
            target: None,
        }
    };
    // The faces travel in the skin stage's pixels.
    let found = survey.map(|s| {
        let (sx, sy) = match upscale.target {
            Some(to) => (
                to[0] as f32 / width.max(1) as f32,
                to[1] as f32 / height.max(1) as f32,
            ),
            None => (1.0, 1.0),
        };
        s.faces.iter().map(|f| f.scaled(sx, sy)).collect()
    });
    Plan {
        steps: vec![upscale, skin],
        skin_context: SkinContext {
            found,
            verdicts: survey.map(|s| s.verdicts.clone()),
            picture: survey.and_then(|s| s.picture.clone()),
            ..SkinContext::default()
        },
    }
}

/// Runs the planned stages in order, recording each in `records` (also the ones that
/// ran before a stage failed, so the report shows them). The input is only read: every
/// stage makes a new image, and the input stays available for before/after pictures.
pub fn run(
    input: &DynamicImage,
    plan: &Plan,
    settings: &StageSettings,
    records: &mut Vec<StageRecord>,
) -> Result<(DynamicImage, StageArtifacts), JobError> {
    let mut image = Cow::Borrowed(input);
    let mut artifacts = StageArtifacts::default();
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
        let (next, status, summary, details) = match step.stage {
            Stage::Upscale => {
                let to = step.target.unwrap_or([image.width(), image.height()]);
                let (out, d) = upscale::apply(
                    &image,
                    to,
                    &settings.upscale,
                    skin::pixels::thread_count(settings.skin.threads),
                )?;
                let summary = d.summary();
                let details = serde_json::to_value(d).unwrap_or_default();
                (Some(out), StageStatus::Applied, summary, details)
            }
            // The upscaled image is rendered in place; the input is copied only when treated.
            Stage::Skin => match skin::apply_cow(&mut image, &settings.skin, &plan.skin_context) {
                skin::Treatment::Applied(report) => {
                    artifacts.pixels = Some(facts_seen_by_skin(&report));
                    artifacts.face = report
                        .faces_used
                        .iter()
                        .copied()
                        .max_by(|a, b| (a.w * a.h).total_cmp(&(b.w * b.h)));
                    artifacts.mask_overlay =
                        report.artifacts.as_ref().map(|a| a.mask_overlay.clone());
                    let summary = skin_summary(&report);
                    let details = serde_json::to_value(&report).unwrap_or_default();
                    (None, StageStatus::Applied, summary, details)
                }
                skin::Treatment::Skipped { reason, report } => {
                    artifacts.pixels = Some(facts_seen_by_skin(&report));
                    let details = serde_json::to_value(&report).unwrap_or_default();
                    (None, StageStatus::Skipped, reason, details)
                }
            },
        };
        if let Some(next) = next {
            image = Cow::Owned(next);
        }
        records.push(StageRecord {
            stage: step.stage,
            status,
            summary,
            details,
            ms: millis(start),
        });
    }
    Ok((image.into_owned(), artifacts))
}

/// Pixel facts for `realskin profile`: the faces are found and judged on the whole picture,
/// as the daemon does; the skin engine's classifier and mask run on a copy reduced to at
/// most `max_edge` pixels (cheap), scaled back to the original's pixels. `skin` is the
/// configured `[skin]` (its gate and mask settings decide what is skin), switched on (a
/// profile reads even where processing is off), without grain or artefacts: the figures are
/// read, no picture is written.
pub fn pixel_facts(img: &image::DynamicImage, max_edge: u32, skin: &SkinConfig) -> PixelFacts {
    let long = img.width().max(img.height()).max(1);
    let (small, scale) = if long > max_edge {
        let s = f64::from(max_edge) / f64::from(long);
        let to = [
            ((f64::from(img.width()) * s).round() as u32).max(1),
            ((f64::from(img.height()) * s).round() as u32).max(1),
        ];
        (upscale::lanczos(img, to), s)
    } else {
        (img.clone(), 1.0)
    };
    let cfg = skin::SkinConfig {
        enabled: true,
        grain: 0.0,
        artifacts: false,
        ..skin.clone()
    };
    let found = skin::survey(img, &cfg, skin::space::Space::srgb());
    let ctx = skin::SkinContext {
        found: Some(
            found
                .faces
                .iter()
                .map(|f| f.scaled(scale as f32, scale as f32))
                .collect(),
        ),
        verdicts: Some(found.verdicts),
        ..Default::default()
    };
    let outcome = skin::apply(&small, &cfg, &ctx);
    let mut facts = facts_seen_by_skin(outcome.report());
    let back = |v: u32| (f64::from(v) / scale).round() as u32;
    for f in &mut facts.faces {
        f.x = back(f.x);
        f.y = back(f.y);
        f.width = back(f.width);
        f.height = back(f.height);
    }
    facts.largest_face_px_per_mm = facts
        .largest_face_px_per_mm
        .map(|p| (f64::from(p) / scale) as f32);
    facts
}

/// The profile's pixel facts from what the skin engine saw.
fn facts_seen_by_skin(r: &skin::SkinReport) -> PixelFacts {
    PixelFacts {
        kind: r.classification.as_ref().map(|c| {
            serde_json::to_value(c.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        }),
        faces: r
            .faces
            .iter()
            .map(|f| FaceFacts {
                x: f.x.max(0.0) as u32,
                y: f.y.max(0.0) as u32,
                width: f.w as u32,
                height: f.h as u32,
                score: f.score,
            })
            .collect(),
        skin_fraction: r.mask.as_ref().map(|m| m.coverage),
        largest_face_px_per_mm: r.scale.as_ref().map(|s| s.px_per_mm),
    }
}

/// One sentence on what the skin engine did.
fn skin_summary(r: &skin::SkinReport) -> String {
    let faces = r.faces_used.len();
    let mut parts = vec![format!(
        "skin texture on {faces} face{}",
        if faces == 1 { "" } else { "s" }
    )];
    if let Some(s) = &r.scale {
        parts.push(format!("at {:.1} px/mm ({})", s.px_per_mm, s.mode));
    }
    if let Some(m) = &r.mask {
        parts.push(format!("{:.1} % of the image is skin", m.coverage * 100.0));
    }
    if let Some(p) = &r.preset {
        parts.push(format!("preset {p}"));
    }
    if let Some(m) = &r.measure {
        // Partly textured skin is filled part of the way: its target lies past the top-up.
        let part_way = m.target.fine > skin::TEXTURED_TOP_UP * m.before.fine * 1.001;
        parts.push(if m.top_up_only.is_some() && part_way {
            format!(
                "pore band {:.4} → {:.4} (its own skin, filled part way to ≈ {:.4})",
                m.before.fine, m.after.fine, m.target.fine
            )
        } else if m.top_up_only.is_some() {
            format!(
                "pore band {:.4} → {:.4} (its own skin, topped up)",
                m.before.fine, m.after.fine
            )
        } else {
            format!(
                "pore band {:.4} → {:.4} (with real skin's pores ≈ {:.4})",
                m.before.fine, m.after.fine, m.target.fine
            )
        });
    }
    parts.join(", ")
}

/// Milliseconds since `start`, to 0.1 ms.
pub fn millis(start: Instant) -> f64 {
    (start.elapsed().as_secs_f64() * 10_000.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use skin::measure::Bands;
    use skin::{MeasureReport, SkinReport};

    /// The line for a measured face whose pore band went from `before` to `after`, with the
    /// calibration's `target` and top-up reason.
    fn line(before: f32, after: f32, target: f32, top_up: Option<&str>) -> String {
        let bands = |fine| Bands {
            fine,
            ..Bands::default()
        };
        skin_summary(&SkinReport {
            measure: Some(MeasureReport {
                before: bands(before),
                after: bands(after),
                target: bands(target),
                top_up_only: top_up.map(String::from),
                ..MeasureReport::default()
            }),
            ..SkinReport::default()
        })
    }

    #[test]
    fn the_line_says_how_far_the_pore_band_was_filled() {
        let filled = line(0.0020, 0.0095, 0.0095, None);
        assert!(
            filled.ends_with("pore band 0.0020 → 0.0095 (with real skin's pores ≈ 0.0095)"),
            "{filled}"
        );
        // Held at ×1.1 of the skin's own.
        let topped = line(0.0060, 0.0066, 0.0066, Some("pitted"));
        assert!(topped.ends_with("(its own skin, topped up)"), "{topped}");
        // Between the two: the line gives the target it was filled toward.
        let part = line(0.0060, 0.0075, 0.0078, Some("partly pitted"));
        assert!(
            part.ends_with("pore band 0.0060 → 0.0075 (its own skin, filled part way to ≈ 0.0078)"),
            "{part}"
        );
    }
}
