//! The skin engine: makes AI skin read as photographed (pores, micro-relief, tone, grain) at the face's
//! physical scale, and changes nothing else.
//!
//! [`apply`] is a pure function from an image to an image plus a report. The steps, in order:
//! 1. faces ([`crate::face`]: every face with its 468 landmarks, or the caller's boxes via [`SkinContext`]);
//!    the whole-picture classification ([`classify`]) runs beside it, as information only;
//! 2. gate (`gate.rs`), per face: photographed skin only; drawn faces and pictures without a face pass untouched;
//! 3. scale (`scale.rs`): px per mm from the face width;
//! 4. mask (`mask.rs`): soft skin mask with eyes, lips, brows, hair and beard locked;
//! 5. measure (`measure.rs`): pore/relief band energy and fine chroma against real-skin targets;
//! 6. texture (`exemplar.rs`: real skin detail re-synthesised at the face's scale; `texture.rs`: mottling
//!    and the procedural fallback) sized from the deficit, tone (`tone.rs`) and grain (`grain.rs`);
//! 7. render (`render.rs`): one full-resolution pass in strips.
//!
//! Everything statistical runs on a reduced copy (≤ 512 px) or on one face crop; the full image is read
//! twice (reduce, render) and written once. The result depends only on the input and the config: seeds
//! come from the image content and no step depends on the thread count. Pixels are read into linear
//! sRGB, and written back, through the picture's own colour space (`space.rs`: its ICC profile's tone
//! curve and primaries).

mod calibrate;
pub mod classify;
pub mod exemplar;
pub mod filters;
pub mod gate;
pub mod grain;
pub mod mask;
pub mod measure;
pub mod pixels;
mod plain;
pub mod presets;
pub mod render;
pub mod scale;
pub mod space;
mod steps;
pub mod texture;
pub mod tone;

use crate::face::{self, FaceBox};
pub(crate) use calibrate::TEXTURED_TOP_UP;
use classify::Classification;
use image::{DynamicImage, RgbImage};
use measure::{Bands, Rect};
use pixels::Reduced;
pub use presets::{Preset, PresetChoice};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::time::Instant;

/// Which faces the engine treats: `faces = "photographed"` or `"all"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum FaceChoice {
    /// The faces the per-face gate judges photographed.
    #[default]
    Photographed,
    /// Every face found, whatever the gate says (its verdict stays in the report).
    All,
}

/// `[skin]` settings; every hotfolder may override any of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SkinConfig {
    /// Default `true`. `false` passes every image through untouched (reported as skipped).
    pub enabled: bool,
    /// Default `1.0`: fill the whole measured deficit. Scales every feature at once (0 = nothing, 1 = as
    /// measured); values above 1 are refused, because the deficit already says how much real skin has.
    pub strength: f32,
    /// Default `"auto"`: the generator preset the profiler detects, `generic` without a hint.
    /// Named presets shift the mix of features, never the total (which the measurement decides).
    pub preset: PresetChoice,
    /// Default `1.0`: pores and pore-band micro-grain, as a multiplier of what the deficit asks for.
    pub pores: f32,
    /// Default `1.0`: 0.3–1 mm micro-relief, multiplier of what the deficit asks for.
    pub relief: f32,
    /// Default `1.0`: how hard the smooth specular sheen is broken by deeper pore shadows.
    pub highlight_breakup: f32,
    /// Default `1.0`: the pull of over-saturated, orange skin toward natural chroma (bounded to −20 %).
    pub tone: f32,
    /// Default `1.0` (× the preset's: 1 for `openai`, 0 for the others, whose casts are more often
    /// intended grading): global warm-cast correction measured on near-neutral areas, bounded to 6 Lab
    /// units. It is the one feature besides grain that touches pixels off the skin.
    pub cast: f32,
    /// Default `1.0`: fine chroma mottling (redness and pigment), filled up to real skin's level.
    pub mottling: f32,
    /// Default `1.0`: monochrome luminance grain over the whole image, topping the image's own noise floor
    /// up to that of real photographs; `0` turns it off (then nothing off the skin changes).
    pub grain: f32,
    /// Default `4.0` px/mm: the scale used when no face gives one (with `require_face = false`); a head
    /// and shoulders filling a 2048 px frame is about 4–5 px/mm.
    pub default_px_per_mm: f32,
    /// Default `true`: without a detected face the picture counts as "no person" and is left untouched;
    /// `false` textures skin found by colour alone at `default_px_per_mm`.
    pub require_face: bool,
    /// Default `"photographed"`: the per-face gate decides which faces are treated; `"all"`
    /// treats every face found, for a folder known to hold photographs only (a heavy film
    /// grade can read as rendered skin).
    pub faces: FaceChoice,
    /// Default `0.001`: below this share of the image in skin, the image is left untouched,
    /// unless the treated faces' own boxes are at least a tenth skin (small people in a large
    /// picture).
    pub min_skin_share: f32,
    /// Default `0.0055`: target pore-band (0.1–0.3 mm) energy, from the real NASA portraits (see measure.rs).
    pub target_fine: f32,
    /// Default `0.0105`: target micro-relief-band (0.3–1 mm) energy, from the same portraits.
    pub target_mid: f32,
    /// Default `1.85`: target fine chroma variation (Lab units), from the real photographs.
    pub target_chroma: f32,
    /// Default `0` (all cores): worker threads; the output does not depend on it.
    pub threads: usize,
    /// Default `true`: build the two small debug images (mask overlay, before/after face crop).
    pub artifacts: bool,
}

impl Default for SkinConfig {
    fn default() -> Self {
        SkinConfig {
            enabled: true,
            strength: 1.0,
            preset: PresetChoice::Auto,
            pores: 1.0,
            relief: 1.0,
            highlight_breakup: 1.0,
            tone: 1.0,
            cast: 1.0,
            mottling: 1.0,
            grain: 1.0,
            default_px_per_mm: 4.0,
            require_face: true,
            faces: FaceChoice::Photographed,
            min_skin_share: 0.001,
            target_fine: measure::TARGET_FINE,
            target_mid: measure::TARGET_MID,
            target_chroma: measure::TARGET_CHROMA,
            threads: 0,
            artifacts: true,
        }
    }
}

impl SkinConfig {
    /// Every problem with the values, each as a sentence saying what to change (empty = valid).
    pub fn validate(&self) -> Vec<String> {
        let mut errs = Vec::new();
        if !(0.0..=1.0).contains(&self.strength) {
            errs.push(format!(
                "skin.strength is {}; use a value from 0 to 1",
                self.strength
            ));
        }
        let amounts = [
            ("pores", self.pores),
            ("relief", self.relief),
            ("highlight_breakup", self.highlight_breakup),
            ("tone", self.tone),
            ("cast", self.cast),
            ("mottling", self.mottling),
            ("grain", self.grain),
        ];
        for (name, v) in amounts {
            if !(0.0..=3.0).contains(&v) || !v.is_finite() {
                errs.push(format!(
                    "skin.{name} is {v}; use a multiplier from 0 (off) to 3 (1 = as measured)"
                ));
            }
        }
        if !(0.2..=100.0).contains(&self.default_px_per_mm) {
            errs.push(format!("skin.default_px_per_mm is {}; use 0.2 to 100 (about 4 for a head and shoulders at 2048 px)", self.default_px_per_mm));
        }
        for (name, v, lo, hi) in [
            ("target_fine", self.target_fine, 0.0, 0.05),
            ("target_mid", self.target_mid, 0.0, 0.05),
            ("target_chroma", self.target_chroma, 0.0, 10.0),
            ("min_skin_share", self.min_skin_share, 0.0, 1.0),
        ] {
            if !(lo..=hi).contains(&v) {
                errs.push(format!("skin.{name} is {v}; use a value from {lo} to {hi}"));
            }
        }
        errs
    }
}

/// What the profiler already knows about the image; `None` = the engine finds out itself.
#[derive(Clone, Debug, Default)]
pub struct SkinContext {
    pub preset_hint: Option<Preset>,
    pub classification: Option<Classification>,
    /// Face boxes to take landmarks in (the engine's own detector is skipped).
    pub faces: Option<Vec<FaceBox>>,
    /// Faces already found with their landmarks, in this image's pixels (the [`survey`] before
    /// the upscale, scaled): used as they are, and preferred to `faces`.
    pub found: Option<Vec<face::Face>>,
    /// The gate's verdict on each of `found`, in order (the survey judged them already; the
    /// gate measures on a crop normalised to the face, so the scale does not change it).
    pub verdicts: Option<Vec<gate::FaceVerdict>>,
    /// The picture's colour space from its ICC profile (`None`: sRGB).
    pub space: Option<std::sync::Arc<space::Space>>,
    /// Why the picture's profile could not be used (it is then measured as sRGB).
    pub space_note: Option<String>,
    /// The picture's metadata declares it not AI-generated (camera capture data, a C2PA or
    /// IPTC capture source): its skin is the photograph's own, and the engine only tops it up.
    pub declared_not_ai: bool,
    /// The whole-picture findings of the [`survey`] (classification and people): used instead
    /// of measuring them again.
    pub picture: Option<PictureSurvey>,
}

impl SkinContext {
    /// The picture's colour space, sRGB unless the context says otherwise.
    pub fn space(&self) -> &space::Space {
        self.space.as_deref().unwrap_or(space::Space::srgb())
    }
}

/// The faces of a picture and the scale of the largest photographed one.
#[derive(Clone, Debug, Default)]
pub struct Survey {
    /// Every face found, photographed or not.
    pub faces: Vec<face::Face>,
    /// The gate's verdict on each face, in order: the engine reuses them.
    pub verdicts: Vec<gate::FaceVerdict>,
    /// Pixels per millimetre of the largest face the gate calls photographed.
    pub px_per_mm: Option<f32>,
    /// What the survey measured on the whole picture, beside the faces.
    pub picture: Option<PictureSurvey>,
}

/// The survey's whole-picture findings. A reduced copy is the same whatever the picture's
/// size (at most [`pixels::REDUCED_LONG_EDGE`] on its long edge), so the classification and the
/// people measured before the upscale stand for the enlarged picture too.
#[derive(Clone, Debug)]
pub struct PictureSurvey {
    pub classification: Classification,
    pub people: face::PersonMask,
}

/// Finds the faces and the scale of the largest photographed one, without rendering
/// anything: what the plan needs to size the upscale.
pub fn survey(img: &DynamicImage, cfg: &SkinConfig, space: &space::Space) -> Survey {
    let rgb = grey_as_rgb(img);
    let img = rgb.as_ref().unwrap_or(img);
    let threads = pixels::thread_count(cfg.threads);
    // The face search leaves most of a second core idle: the picture's kind and its people
    // are measured there meanwhile.
    let ((faces, verdicts), picture) = join(
        threads,
        || {
            let faces = face::analyse(img, threads);
            let verdicts: Vec<gate::FaceVerdict> =
                faces.iter().map(|f| gate::judge(img, f, space)).collect();
            (faces, verdicts)
        },
        || survey_picture(img, space),
    );
    let photographed: Vec<face::Face> = faces
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| v.photographed || cfg.faces == FaceChoice::All)
        .map(|(f, _)| f.clone())
        .collect();
    let px_per_mm = (!photographed.is_empty())
        .then(|| scale::from_faces(&photographed, cfg.default_px_per_mm).px_per_mm);
    Survey {
        faces,
        verdicts,
        px_per_mm,
        picture,
    }
}

/// The classification and the people, on the reduced copy the engine would make of this
/// picture (on one thread: it runs beside the face search). An sRGB picture's copy is its
/// block means; another space's is converted to sRGB on the way, as the engine's is.
fn survey_picture(img: &DynamicImage, space: &space::Space) -> Option<PictureSurvey> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let k = pixels::Reduced::block_for(w, h);
    let small = if space.is_srgb() {
        face::reduce_box(img, (w.div_ceil(k) as u32, h.div_ceil(k) as u32))
    } else {
        pixels::Reduced::build(&pixels::Pixels::of(img)?, w, h, 1, space).to_rgb8()
    };
    Some(PictureSurvey {
        classification: classify::classify_reduced(&small),
        people: face::people(&small),
    })
}

/// The result of [`apply`].
pub enum SkinOutcome {
    Applied {
        image: DynamicImage,
        report: SkinReport,
    },
    Skipped {
        reason: String,
        report: SkinReport,
    },
}

impl SkinOutcome {
    pub fn report(&self) -> &SkinReport {
        match self {
            SkinOutcome::Applied { report, .. } | SkinOutcome::Skipped { report, .. } => report,
        }
    }
}

/// Small debug images for the HTML report (not serialised).
#[derive(Clone, Debug)]
pub struct SkinArtifacts {
    /// The reduced image (≤ 512 px) with skin tinted red and eye/mouth locks blue.
    pub mask_overlay: RgbImage,
    /// Largest face at 100 %, before | after, side by side (each at most 384 px).
    pub face_before_after: Option<RgbImage>,
}

/// File names the report refers to; the output stage writes [`SkinArtifacts`] under these names.
pub const MASK_OVERLAY_FILE: &str = "skin-mask.png";
pub const FACE_BEFORE_AFTER_FILE: &str = "skin-face.png";

/// Where a figure came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FigureSource {
    Context,
    /// The face survey run before the upscale.
    Survey,
    Engine,
    Face,
    Default,
}

/// The engine's account of one image.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SkinReport {
    pub applied: bool,
    pub skipped_reason: Option<String>,
    pub width: u32,
    pub height: u32,
    pub pixel_type: String,
    /// How the picture's colour space was handled, when it is not sRGB: measured and rendered
    /// through its own profile, or measured as sRGB and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub colour_space: Option<String>,
    pub classification: Option<Classification>,
    pub classification_source: Option<FigureSource>,
    /// Faces as detected (or given); `faces_used` passed the skin check.
    pub faces: Vec<FaceBox>,
    pub faces_source: Option<FigureSource>,
    pub faces_used: Vec<FaceBox>,
    /// Faces set aside, each with the reason.
    pub faces_rejected: Vec<RejectedFace>,
    /// Every face found, with its landmarks' pose and the gate's figures.
    pub face_checks: Vec<FaceCheck>,
    /// The picture is black-and-white or toned (sepia, duotone): treated in luminance only. The
    /// value is the tone's mean chroma (Cb, Cr offsets from neutral, 0..255 units).
    pub monochrome: Option<[f32; 2]>,
    pub scale: Option<ScaleReport>,
    pub mask: Option<MaskReport>,
    pub preset: Option<String>,
    pub preset_why: Option<String>,
    pub amounts: Option<Amounts>,
    pub measure: Option<MeasureReport>,
    pub tone: Option<tone::SkinTone>,
    pub cast: Option<tone::Cast>,
    pub grain: Option<GrainReport>,
    pub timings_ms: Timings,
    /// Debug images, kept out of the JSON; see [`MASK_OVERLAY_FILE`] and [`FACE_BEFORE_AFTER_FILE`].
    #[serde(skip)]
    pub artifacts: Option<SkinArtifacts>,
    pub artifact_files: Vec<String>,
}

/// One face as the gate saw it.
#[derive(Clone, Debug, Serialize)]
pub struct FaceCheck {
    pub face: FaceBox,
    /// Landmarks found (468: the whole face mesh).
    pub landmarks: usize,
    /// Head roll (degrees, the eye line's angle) and yaw (0 frontal, ±1 profile).
    pub roll_deg: f32,
    pub yaw: f32,
    pub treated: bool,
    pub verdict: gate::FaceVerdict,
}

/// An RGB(A) copy of a grey picture, keeping its bit depth and alpha; `None` for other layouts.
fn grey_as_rgb(img: &DynamicImage) -> Option<DynamicImage> {
    Some(match img {
        DynamicImage::ImageLuma8(_) => DynamicImage::ImageRgb8(img.to_rgb8()),
        DynamicImage::ImageLumaA8(_) => DynamicImage::ImageRgba8(img.to_rgba8()),
        DynamicImage::ImageLuma16(_) => DynamicImage::ImageRgb16(img.to_rgb16()),
        DynamicImage::ImageLumaA16(_) => DynamicImage::ImageRgba16(img.to_rgba16()),
        _ => return None,
    })
}

/// Back to the grey layout the picture came in (the engine kept it neutral).
fn rgb_as_grey(img: DynamicImage, color: image::ColorType) -> DynamicImage {
    match color {
        image::ColorType::L8 => DynamicImage::ImageLuma8(img.to_luma8()),
        image::ColorType::La8 => DynamicImage::ImageLumaA8(img.to_luma_alpha8()),
        image::ColorType::L16 => DynamicImage::ImageLuma16(img.to_luma16()),
        image::ColorType::La16 => DynamicImage::ImageLumaA16(img.to_luma_alpha16()),
        _ => img,
    }
}

/// Faces narrower than this (px) carry no skin detail worth treating.
pub const MIN_FACE_WIDTH: f32 = 24.0;

/// Whether the picture is black-and-white or toned (sepia, selenium, duotone): its chroma is a
/// function of its lightness alone. On the reduced copy, Cb and Cr are fitted as straight lines in
/// luma; the picture is monochrome when the 99th percentile of what the lines leave is under 4 units
/// (of 255) and the tone is gentle (under 24 units at mid-grey). Returns the tone at the mean luma.
pub fn monochrome(red: &Reduced) -> Option<[f32; 2]> {
    let n = red.rgb.len();
    if n < 16 {
        return None;
    }
    let ycc: Vec<[f32; 3]> = red.rgb.iter().map(|&c| mask::ycbcr(c)).collect();
    let nf = n as f64;
    let mean = |k: usize| ycc.iter().map(|c| c[k] as f64).sum::<f64>() / nf;
    let my = mean(0);
    let vy = ycc.iter().map(|c| (c[0] as f64 - my).powi(2)).sum::<f64>() / nf;
    // Cb and Cr as straight lines in luma: (value at the mean luma, slope).
    let line = |k: usize| {
        let m = mean(k);
        let cov = ycc
            .iter()
            .map(|c| (c[0] as f64 - my) * (c[k] as f64 - m))
            .sum::<f64>()
            / nf;
        (m, if vy > 1e-12 { cov / vy } else { 0.0 })
    };
    let (cb, cr) = (line(1), line(2));
    let at = |(m, s): (f64, f64), y: f64| m + s * (y - my);
    let mut left: Vec<f32> = ycc
        .iter()
        .map(|c| {
            let y = c[0] as f64;
            (c[1] as f64 - at(cb, y)).hypot(c[2] as f64 - at(cr, y)) as f32
        })
        .collect();
    let k = (n * 99 / 100).min(n - 1);
    let p99 = *left.select_nth_unstable_by(k, f32::total_cmp).1;
    let tone_mid = (at(cb, 0.5) - 128.0).hypot(at(cr, 0.5) - 128.0) as f32;
    (p99 < 4.0 && tone_mid < 24.0).then_some([(cb.0 - 128.0) as f32, (cr.0 - 128.0) as f32])
}

#[derive(Clone, Debug, Serialize)]
pub struct RejectedFace {
    pub face: FaceBox,
    pub reason: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ScaleReport {
    pub px_per_mm: f32,
    pub source: FigureSource,
    /// Pixels across the largest pores (0.25 mm).
    pub pore_px: f32,
    /// "real skin" when the real-skin detail is drawn (from 1.5 px/mm), otherwise
    /// "micro-grain".
    pub mode: String,
    /// The picture's own blur at its sharpest edges around the largest face (Gaussian σ, px;
    /// an enlarged picture reads its enlargement's softness here).
    pub picture_blur_px: f32,
    /// The blur the skin detail or micro-grain is drawn with ([`texture::texture_blur`], at
    /// most [`texture::MAX_DETAIL_BLUR_PX`] for real skin).
    pub texture_blur_px: f32,
}

#[derive(Clone, Debug, Serialize)]
pub struct MaskReport {
    /// Share of the image with mask > 0.5.
    pub coverage: f32,
    pub models: Vec<mask::SkinModel>,
    pub grid: [usize; 2],
    pub file: String,
}

/// Effective amounts: the configured multipliers (preset × config × strength) and the amplitudes used.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Amounts {
    pub pores: f32,
    pub relief: f32,
    pub highlight_breakup: f32,
    pub tone: f32,
    pub cast: f32,
    pub mottling: f32,
    pub grain: f32,
    /// The pore component's amplitude: with real skin detail, its contrast relative to the
    /// tiles' own (at most 1.6); with procedural pores (below 1.5 px/mm), the relative
    /// linear-light amplitude at a unit pit. Then micro-grain and relief (sd), 0 with real skin.
    pub pore_depth: f32,
    pub micro_grain: f32,
    pub relief_amplitude: f32,
    /// Mottling sd in Lab units (a* and b* each).
    pub mottling_lab: f32,
    /// Chroma a pore pit carries per unit of the L* it is drawn darker by (Lab units), besides
    /// its warm darkening; 0 where pits are grey (monochrome, unresolved pores).
    pub pore_chroma_lab: f32,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct MeasureReport {
    /// The face crop measured (full-image pixels).
    pub region: Option<Rect>,
    pub before: Bands,
    /// The skin after the engine's texture, measured without the camera's grain: grain is the
    /// picture's, never counted toward the skin's targets.
    pub after: Bands,
    pub target: Bands,
    /// Energy still missing per band (sqrt(target² − measured²), 0 when at or above target).
    pub deficit_before: Deficit,
    pub deficit_after: Deficit,
    /// Why the target was held to a top-up of the skin's own texture, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_up_only: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Deficit {
    pub fine: f32,
    pub mid: f32,
    pub chroma: f32,
}

impl Deficit {
    fn of(b: &Bands, t: &Bands) -> Deficit {
        let d = |m: f32, t: f32| (t * t - m * m).max(0.0).sqrt();
        Deficit {
            fine: d(b.fine, t.fine),
            mid: d(b.mid, t.mid),
            chroma: d(b.chroma, t.chroma),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct GrainReport {
    /// Measured noise floor of the input (L* sd, 0.5–1 px band) and the target.
    pub floor_before: f32,
    pub floor_target: f32,
    /// Grain added: sd in L* units at mid-grey, and as a share of full scale peak-to-peak (±2σ).
    pub sigma_lstar: f32,
    pub percent_peak_to_peak: f32,
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Timings {
    pub reduce: f32,
    /// Classification and the quick face search, run side by side.
    pub classify: f32,
    /// The thorough face search (when the quick one found nothing) and the face checks.
    pub faces: f32,
    pub mask: f32,
    pub tone: f32,
    pub measure: f32,
    pub render: f32,
    pub artifacts: f32,
    pub total: f32,
}

/// Runs two closures, on two threads when `threads` allows it.
pub(crate) fn join<A: Send, B: Send>(
    threads: usize,
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    if threads < 2 {
        return (a(), b());
    }
    std::thread::scope(|s| {
        let hb = s.spawn(b);
        let ra = a();
        (ra, hb.join().expect("worker thread panicked"))
    })
}

fn ms(t: Instant) -> f32 {
    (t.elapsed().as_secs_f64() * 1e3) as f32
}

/// Treats the skin of a photograph; anything else comes back skipped, with the reason.
pub fn apply(img: &DynamicImage, cfg: &SkinConfig, ctx: &SkinContext) -> SkinOutcome {
    let mut image = Cow::Borrowed(img);
    match apply_cow(&mut image, cfg, ctx) {
        Treatment::Applied(report) => SkinOutcome::Applied {
            image: image.into_owned(),
            report,
        },
        Treatment::Skipped { reason, report } => SkinOutcome::Skipped { reason, report },
    }
}

/// What [`apply_cow`] did; the image itself stays with the caller.
pub enum Treatment {
    /// The image was treated (in place, or in a copy it now owns).
    Applied(SkinReport),
    /// Not treated, and the image untouched.
    Skipped { reason: String, report: SkinReport },
}

/// [`apply`] on an image the caller may own: an owned image is rendered in place (no second
/// full-size copy: what keeps a 36 MP job's memory near its output's size), a borrowed one is
/// copied only when the engine applies.
///
/// The engine is a chain of steps (the private `steps` module), each returning its result or the reason
/// the picture is left as it is: settings, pixel layout, faces and the gate, scale, mask,
/// amounts, measure, render.
pub fn apply_cow(
    img: &mut Cow<'_, DynamicImage>,
    cfg: &SkinConfig,
    ctx: &SkinContext,
) -> Treatment {
    let t_all = Instant::now();
    let mut report = SkinReport {
        width: img.width(),
        height: img.height(),
        pixel_type: format!("{:?}", img.color()),
        ..SkinReport::default()
    };
    if let Err(reason) = steps::check_settings(cfg) {
        return steps::skipped(report, reason, t_all);
    }
    // Grey pictures are treated as RGB (texture in luminance only) and returned in their own layout.
    if let Some(rgb) = grey_as_rgb(img) {
        let color = img.color();
        let mut rgb = Cow::Owned(rgb);
        return match apply_cow(&mut rgb, cfg, ctx) {
            Treatment::Applied(mut report) => {
                report.pixel_type = format!("{color:?}");
                *img = Cow::Owned(rgb_as_grey(rgb.into_owned(), color));
                Treatment::Applied(report)
            }
            skipped => skipped,
        };
    }
    match steps::treat(img, cfg, ctx, &mut report) {
        Ok(()) => {
            report.applied = true;
            report.timings_ms.total = ms(t_all);
            Treatment::Applied(report)
        }
        Err(reason) => steps::skipped(report, reason, t_all),
    }
}

/// Where the picture's blur is measured: the face around the eyes and nose (lashes, lids,
/// nostrils: its sharpest edges), at most 512×512 px.
fn acuity_region(f: &FaceBox, w: usize, h: usize) -> Rect {
    const MAX: f32 = 512.0;
    let (cx, cy) = (f.cx(), f.y + 0.45 * f.h);
    let (rw, rh) = (f.w.min(MAX), (0.8 * f.h).min(MAX));
    let x0 = (cx - rw / 2.0).max(0.0) as usize;
    let y0 = (cy - rh / 2.0).max(0.0) as usize;
    let x1 = ((cx + rw / 2.0) as usize).min(w).max(x0 + 1);
    let y1 = ((cy + rh / 2.0) as usize).min(h).max(y0 + 1);
    Rect { x0, y0, x1, y1 }
}

/// The crop measured: the largest face with its neck (where most of the visible skin is), at most
/// 384×384 px around its centre (≥ 50 000 skin samples, enough for the fourth moment), or the most skin-dense block without a face.
fn measure_region(
    faces: &[FaceBox],
    maps: &mask::SkinMaps,
    red: &Reduced,
    w: usize,
    h: usize,
) -> Rect {
    const MAX: f32 = 384.0;
    let (cx, cy, rw, rh) = match faces.first() {
        Some(f) => (f.cx(), f.y + 0.7 * f.h, 1.1 * f.w, 1.4 * f.h),
        None => {
            let (mut best, mut bi) = (-1.0f32, 0usize);
            for (i, m) in maps.mask.data.iter().enumerate() {
                if *m > best {
                    best = *m;
                    bi = i;
                }
            }
            let k = red.k as f32;
            (
                ((bi % red.w) as f32 + 0.5) * k,
                ((bi / red.w) as f32 + 0.5) * k,
                400.0,
                400.0,
            )
        }
    };
    let (rw, rh) = (rw.min(MAX), rh.min(MAX));
    let x0 = (cx - rw / 2.0).max(0.0) as usize;
    let y0 = (cy - rh / 2.0).max(0.0) as usize;
    let x1 = ((cx + rw / 2.0) as usize).min(w).max(x0 + 1);
    let y1 = ((cy + rh / 2.0) as usize).min(h).max(y0 + 1);
    Rect { x0, y0, x1, y1 }
}

/// How much of the real-skin texture target a face can carry at this scale. Below ~4 px/mm the pore and
/// relief bands fall on the pixel grid: in a real photograph their energy there is mostly the camera's
/// noise, shared with the background. Skin-only texture at full target then reads as noise pasted on the
/// face, so the target eases down to 60 % at 1.5 px/mm (the grain still tops up the shared floor).
pub fn resolvability(ppm: f32) -> f32 {
    0.6 + 0.4 * ((ppm - 1.5) / 2.5).clamp(0.0, 1.0)
}

/// Where the face picture is cut: the largest face at 100 %, at most 384 px square.
fn face_rect(img: &DynamicImage, f: &FaceBox) -> [u32; 4] {
    let side = (f.w.max(f.h) * 1.1).min(384.0) as u32;
    let cx = f.cx() as i64;
    let cy = (f.y + 0.55 * f.h) as i64;
    let x0 = (cx - side as i64 / 2).clamp(0, (img.width() - side.min(img.width())) as i64) as u32;
    let y0 = (cy - side as i64 / 2).clamp(0, (img.height() - side.min(img.height())) as i64) as u32;
    [x0, y0, side.min(img.width()), side.min(img.height())]
}

/// The face's "before", as 8-bit RGB.
fn face_crop(img: &DynamicImage, f: &FaceBox) -> RgbImage {
    let [x0, y0, cw, ch] = face_rect(img, f);
    img.crop_imm(x0, y0, cw, ch).to_rgb8()
}

/// Largest face at 100 %, before | after, each at most 384 px, as 8-bit RGB.
fn before_after(ca: RgbImage, b: &DynamicImage, f: &FaceBox) -> RgbImage {
    let [x0, y0, cw, chh] = face_rect(b, f);
    let cb = b.crop_imm(x0, y0, cw, chh).to_rgb8();
    let mut out = RgbImage::new(cw * 2 + 4, chh);
    image::imageops::replace(&mut out, &ca, 0, 0);
    image::imageops::replace(&mut out, &cb, (cw + 4) as i64, 0);
    out
}
