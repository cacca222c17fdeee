//! The engine's steps, in order, each a function that returns its result or the reason the
//! picture is left as it is (`Err(reason)`), filling the report as it goes:
//!
//! 1. [`check_settings`]: the `[skin]` settings allow a treatment;
//! 2. [`frame`]: the pixel layout and size, and the reduced copy every analysis reads;
//! 3. [`survey`]: faces with their landmarks, and the whole-picture classification;
//! 4. [`gate`]: the photographed faces, or why there is none, and [`finer_grid`]: a finer
//!    reduced copy when those faces are small in the picture;
//! 5. [`skin_mask`]: the skin of those faces' people ([`check_skin`]: or why there is too
//!    little), made beside [`apart_from_mask`]: whether the picture is monochrome, pixels per
//!    millimetre and the picture's own softness ([`scale_and_blur`]), its noise floor and the
//!    texture tiles;
//! 6. [`amounts`] and [`render_params`]: preset, tone, cast, texture and grain;
//! 7. [`measure`]: the amplitudes from the measured deficit, or [`adds_nothing`]: none is due
//!    (the picture is left as it was, "nothing to add");
//! 8. [`render`]: the full-resolution pass in place, and the pictures for people.

use std::borrow::Cow;
use std::time::Instant;

use image::DynamicImage;

use super::calibrate::{self, Aims, CHROMA_PER_SKIN_CHROMA};
use super::classify::{self, Classification, PictureKind};
use super::filters::Plane;
use super::mask::{self, SkinMaps};
use super::measure::Rect;
use super::pixels::{self, Layout, Pixels, Reduced};
use super::scale::{self, Scale};
use super::space::Space;
use super::texture::{self, Textures};
use super::{
    Amounts, Bands, FACE_BEFORE_AFTER_FILE, FaceCheck, FaceChoice, FigureSource, GrainReport,
    MASK_OVERLAY_FILE, MIN_FACE_WIDTH, MaskReport, RejectedFace, ScaleReport, SkinArtifacts,
    SkinConfig, SkinContext, SkinReport, Treatment, acuity_region, before_after, exemplar,
    face_crop, gate as face_gate, grain, join, measure as bands, measure_region, monochrome, ms,
    presets, render as pass, resolvability, tone,
};
use crate::face::{self, FaceBox};

/// A skipped treatment, with its reason in the report.
pub(super) fn skipped(mut report: SkinReport, reason: String, t_all: Instant) -> Treatment {
    report.skipped_reason = Some(reason.clone());
    report.timings_ms.total = ms(t_all);
    Treatment::Skipped { reason, report }
}

/// Step 1: the settings allow a treatment.
pub(super) fn check_settings(cfg: &SkinConfig) -> Result<(), String> {
    if !cfg.enabled {
        return Err("skin engine disabled in the config".into());
    }
    let problems = cfg.validate();
    if !problems.is_empty() {
        return Err(format!("invalid [skin] settings: {}", problems.join("; ")));
    }
    if cfg.strength <= 0.0 {
        return Err("skin.strength is 0".into());
    }
    Ok(())
}

/// The picture the steps work on (its pixels borrowed for `'i`, the colour space from the
/// context for `'c`, which outlives the render).
struct Frame<'i, 'c> {
    src: &'i DynamicImage,
    px: Pixels<'i>,
    w: usize,
    h: usize,
    red: Reduced,
    space: &'c Space,
    threads: usize,
}

/// What the survey found.
struct Survey {
    class: Classification,
    people: face::PersonMask,
    found: Vec<face::Face>,
    source: FigureSource,
}

/// The engine on an RGB picture: every step in order; `Err` is the reason it stopped.
pub(super) fn treat(
    img: &mut Cow<'_, DynamicImage>,
    cfg: &SkinConfig,
    ctx: &SkinContext,
    report: &mut SkinReport,
) -> Result<(), String> {
    let mut f = frame(img, cfg, ctx, report)?;
    let survey = survey(&f, ctx, report);
    let used = gate(&f, &survey, cfg, ctx, report)?;
    finer_grid(&mut f, &used, report);
    let used_boxes: Vec<FaceBox> = used.iter().map(|f| f.bbox).collect();
    // The skin mask on one side; on the other what does not depend on it: the picture's
    // toning, scale, blur and noise floor, and the texture tiles.
    let (masked, apart) = join(
        f.threads,
        || skin_mask(&f, &used, &used_boxes, &survey.people, cfg),
        || apart_from_mask(&f, &used, cfg),
    );
    report.monochrome = apart.mono;
    report.scale = Some(apart.scale_report);
    let (sc, seed) = (apart.scale, apart.seed);
    let (maps, overlay) = check_skin(masked, &f, &used_boxes, cfg, report)?;
    let (mut amounts, recipe) = amounts(cfg, ctx, report);
    let light = used.first().map_or([0.0; 2], |face| {
        tone::light_direction(&f.red, &maps.mask, &face.bbox)
    });
    let tex = apart.tiles.lit(light);
    let mono = apart.mono;
    let (mut params, skin_chroma) = render_params(
        &f,
        &maps,
        &tex,
        &amounts,
        (mono.is_some(), apart.floor),
        seed,
        report,
    );
    let looks = Looks {
        ppm: sc.px_per_mm,
        recipe: &recipe,
        skin_chroma,
        targets: targets(cfg, sc.px_per_mm, mono.is_some(), skin_chroma),
    };
    let region = measure_region(&used_boxes, &maps, &f.red, f.w, f.h);
    let not_ai = ctx.declared_not_ai;
    measure(
        &f,
        region,
        &looks,
        &mut params,
        &mut amounts,
        not_ai,
        report,
    );
    if adds_nothing(&params) {
        report.artifacts = overlay.map(|mask_overlay| SkinArtifacts {
            mask_overlay,
            face_before_after: None,
        });
        return Err(nothing_to_add(report));
    }
    // The largest face's "before" is cut out before the render overwrites it.
    let before = overlay
        .as_ref()
        .and(used.first())
        .map(|face| (face_crop(f.src, &face.bbox), face.bbox));
    let (w, h, threads) = (f.w, f.h, f.threads);
    drop(f);
    render(img, w, h, &params, threads, report);
    let t = Instant::now();
    if let Some(mask_overlay) = overlay {
        let face = before.map(|(crop, b)| before_after(crop, img, &b));
        if face.is_some() {
            report.artifact_files.push(FACE_BEFORE_AFTER_FILE.into());
        }
        report.artifacts = Some(SkinArtifacts {
            mask_overlay,
            face_before_after: face,
        });
    }
    report.timings_ms.artifacts = ms(t);
    Ok(())
}

/// Step 2: an RGB/RGBA 8 or 16 bit picture big enough to hold skin texture, and its reduced
/// copy.
fn frame<'i, 'c>(
    src: &'i DynamicImage,
    cfg: &SkinConfig,
    ctx: &'c SkinContext,
    report: &mut SkinReport,
) -> Result<Frame<'i, 'c>, String> {
    let (Some(layout), Some(px)) = (Layout::of(src), Pixels::of(src)) else {
        return Err(format!(
            "pixel type {:?} is not treated (RGB/RGBA 8 or 16 bit only; grey images have no skin colour)",
            src.color()
        ));
    };
    report.pixel_type = layout.name().to_string();
    let (w, h) = (src.width() as usize, src.height() as usize);
    if w < 64 || h < 64 {
        return Err(format!("image is {w}×{h}; too small to hold skin texture"));
    }
    let threads = pixels::thread_count(cfg.threads);
    let t = Instant::now();
    let space = ctx.space();
    report.colour_space = match (&ctx.space, &ctx.space_note) {
        (Some(s), _) => Some(format!(
            "{}: measured and rendered through its own tone curve and primaries",
            s.name
        )),
        (None, Some(note)) => Some(format!("measured as sRGB: {note}")),
        (None, None) => None,
    };
    let red = Reduced::build(&px, w, h, threads, space);
    report.timings_ms.reduce = ms(t);
    Ok(Frame {
        src,
        px,
        w,
        h,
        red,
        space,
        threads,
    })
}

/// Step 3: faces with their landmarks, and the whole-picture classification (information
/// only; the gate is per face): independent, so they run side by side.
fn survey(f: &Frame, ctx: &SkinContext, report: &mut SkinReport) -> Survey {
    let t = Instant::now();
    let find = || match (&ctx.found, &ctx.faces) {
        (Some(found), _) => (found.clone(), FigureSource::Survey),
        (None, Some(boxes)) => (
            boxes
                .iter()
                .filter_map(|b| face::mesh_for_box(f.src, b))
                .collect::<Vec<_>>(),
            FigureSource::Context,
        ),
        (None, None) => (
            face::analyse(f.src, f.threads.saturating_sub(1).max(1)),
            FigureSource::Engine,
        ),
    };
    let classify = || match &ctx.picture {
        // The survey before the upscale measured both already.
        Some(p) => (
            (p.classification.clone(), FigureSource::Survey),
            p.people.clone(),
        ),
        None => {
            let small = f.red.to_rgb8();
            let class = match &ctx.classification {
                Some(c) => (c.clone(), FigureSource::Context),
                None => (classify::classify_reduced(&small), FigureSource::Engine),
            };
            (class, face::people(&small))
        }
    };
    let (((class, class_src), people), (found, source)) = join(f.threads, classify, find);
    report.timings_ms.classify = ms(t);
    report.classification = Some(class.clone());
    report.classification_source = Some(class_src);
    Survey {
        class,
        people,
        found,
        source,
    }
}

/// Step 4, the gate, per face: photographed skin only (the survey's verdicts when it judged
/// these very faces). The faces treated, or why none is.
fn gate(
    f: &Frame,
    survey: &Survey,
    cfg: &SkinConfig,
    ctx: &SkinContext,
    report: &mut SkinReport,
) -> Result<Vec<face::Face>, String> {
    let t = Instant::now();
    let found = &survey.found;
    let known = match (&ctx.verdicts, survey.source) {
        (Some(v), FigureSource::Survey) if v.len() == found.len() => Some(v),
        _ => None,
    };
    let mut used: Vec<face::Face> = Vec::new();
    for (i, face) in found.iter().enumerate() {
        let mut verdict = match known {
            Some(v) => v[i].clone(),
            None => face_gate::judge(f.src, face, f.space),
        };
        let why = if face.bbox.w < MIN_FACE_WIDTH {
            Some(format!("smaller than {MIN_FACE_WIDTH} px"))
        } else if verdict.photographed {
            None
        } else if cfg.faces == FaceChoice::All {
            verdict.reason += "; treated anyway: [skin] faces = \"all\"";
            None
        } else {
            Some(verdict.reason.clone())
        };
        report.face_checks.push(FaceCheck {
            face: face.bbox,
            landmarks: face.mesh.points.len(),
            roll_deg: face.mesh.roll_deg(),
            yaw: face.mesh.yaw(),
            treated: why.is_none(),
            verdict,
        });
        match why {
            Some(reason) => report.faces_rejected.push(RejectedFace {
                face: face.bbox,
                reason,
            }),
            None => used.push(face.clone()),
        }
    }
    report.timings_ms.faces = ms(t);
    report.faces = found.iter().map(|f| f.bbox).collect();
    report.faces_source = Some(survey.source);
    report.faces_used = used.iter().map(|f| f.bbox).collect();
    if used.is_empty() {
        if cfg.require_face {
            return Err(if found.is_empty() {
                "no person: no face found".to_string()
            } else {
                let reasons: Vec<&str> = report
                    .faces_rejected
                    .iter()
                    .map(|r| r.reason.as_str())
                    .collect();
                // Only a face the gate turned away could be treated with `faces = "all"`.
                let judged = report.face_checks.iter().any(|c| !c.verdict.photographed);
                let hint = if judged && cfg.faces == FaceChoice::Photographed {
                    " (if this is a photograph, set [skin] faces = \"all\" for its hotfolder)"
                } else {
                    ""
                };
                format!("no photographed face: {}{hint}", reasons.join("; "))
            });
        }
        // Skin by colour alone (require_face = false): the whole picture must be a photograph.
        if survey.class.kind != PictureKind::Photo {
            return Err(format!(
                "not a photograph and no face to judge ({})",
                survey.class.reasons.join("; ")
            ));
        }
    }
    Ok(used)
}

/// Cells of the working copy across the smallest treated face below which the mask, the
/// locks and the sheen need a finer one: their tests look at a few cells around each (a
/// 5-cell neighbourhood tells stubble and hair from skin), so a face 20 cells wide lost its
/// whole skin to its own eyes and brows. Faces from 1/16 of the long edge (32 cells of the
/// first copy) keep it, so portraits are unchanged.
const MIN_FACE_CELLS: f32 = 32.0;
/// Cells across the smallest face in the finer copy.
const FACE_CELLS: f32 = 48.0;
/// Longest side of a finer working copy (1.5 M cells at 3:2): bounds its memory and time.
const FINE_LONG_EDGE: usize = 1536;

/// Step 4b: a finer working copy when the smallest treated face spans too few cells of the
/// first one (the people of a group, a full figure or a street in a large picture). The
/// survey and the classification keep the first.
fn finer_grid(f: &mut Frame, used: &[face::Face], report: &mut SkinReport) {
    let Some(smallest) = used.iter().map(|u| u.bbox.w).min_by(f32::total_cmp) else {
        return;
    };
    if smallest >= MIN_FACE_CELLS * f.red.k as f32 {
        return;
    }
    let floor = f.w.max(f.h).div_ceil(FINE_LONG_EDGE).max(1);
    let k = ((smallest / FACE_CELLS) as usize).max(floor);
    if k < f.red.k {
        let t = Instant::now();
        f.red = Reduced::build_at(&f.px, f.w, f.h, k, f.threads, f.space);
        report.timings_ms.reduce += ms(t);
    }
}

/// What the steps after the mask need and the mask does not: measured beside it.
struct Apart {
    /// The toning (a*, b*) of a monochrome picture.
    mono: Option<[f32; 2]>,
    scale: Scale,
    scale_report: ScaleReport,
    /// The picture's noise floor (σ of L*, outside the skin's texture scale).
    floor: f32,
    seed: u64,
    tiles: texture::Unlit,
}

/// The parts of steps 5 and 6 that do not need the mask: whether the picture is monochrome, its
/// scale and blur ([`scale_and_blur`]), its noise floor, its content seed and the texture
/// tiles (lit once the mask gives the light).
fn apart_from_mask(f: &Frame, used: &[face::Face], cfg: &SkinConfig) -> Apart {
    let mono = monochrome(&f.red);
    let (scale, blur, scale_report) = scale_and_blur(f, used, cfg);
    let seed = f.red.content_seed();
    let tiles = Textures::unlit(scale.px_per_mm, seed, blur, f.threads);
    let floor = match &f.px {
        Pixels::U8 { data, channels } => grain::noise_floor(data, *channels, f.w, f.h, f.space),
        Pixels::U16 { data, channels } => grain::noise_floor(data, *channels, f.w, f.h, f.space),
    };
    Apart {
        mono,
        scale,
        scale_report,
        floor,
        seed,
        tiles,
    }
}

/// Step 5, beside the mask: scale, and the picture's own blur around the largest face: pores
/// and grain are drawn no sharper than its sharpest edges. Returns the scale, the texture's
/// blur and their report.
fn scale_and_blur(f: &Frame, used: &[face::Face], cfg: &SkinConfig) -> (Scale, f32, ScaleReport) {
    let sc = scale::from_faces(used, cfg.default_px_per_mm);
    let acuity = used.first().map_or(0.0, |face| {
        let r = acuity_region(&face.bbox, f.w, f.h);
        match &f.px {
            Pixels::U8 { data, channels } => {
                bands::acuity_sigma(data, *channels, f.w * channels, r)
            }
            Pixels::U16 { data, channels } => {
                bands::acuity_sigma(data, *channels, f.w * channels, r)
            }
        }
    });
    let blur = texture::texture_blur(acuity);
    let real_skin = sc.px_per_mm >= exemplar::MIN_PX_PER_MM;
    let report = ScaleReport {
        px_per_mm: sc.px_per_mm,
        source: sc.source,
        pore_px: 0.25 * sc.px_per_mm,
        mode: if real_skin {
            "real skin"
        } else {
            "micro-grain"
        }
        .into(),
        picture_blur_px: acuity,
        texture_blur_px: if real_skin {
            blur.min(texture::MAX_DETAIL_BLUR_PX)
        } else {
            blur
        },
    };
    (sc, blur, report)
}

/// The skin mask as [`skin_mask`] makes it, before it is checked.
struct Masked {
    maps: SkinMaps,
    overlay: Option<image::RgbImage>,
    ms: f32,
}

/// Step 5: the skin mask of the treated faces' people, and its overlay for people when
/// artifacts are on.
fn skin_mask(
    f: &Frame,
    used: &[face::Face],
    used_boxes: &[FaceBox],
    people: &face::PersonMask,
    cfg: &SkinConfig,
) -> Masked {
    let t = Instant::now();
    let layers = mask::layers(used, f.red.k, f.red.w, f.red.h);
    let models = mask::fit_models(&f.red, &layers);
    let maps = mask::build(&f.red, used_boxes, layers, &models, Some(people), f.threads);
    let ms = ms(t);
    let overlay = cfg.artifacts.then(|| mask::overlay(&f.red, &maps, used));
    Masked { maps, overlay, ms }
}

/// Step 5b: the mask into the report, or why there is too little skin.
fn check_skin(
    masked: Masked,
    f: &Frame,
    used_boxes: &[FaceBox],
    cfg: &SkinConfig,
    report: &mut SkinReport,
) -> Result<(SkinMaps, Option<image::RgbImage>), String> {
    let Masked { maps, overlay, ms } = masked;
    report.timings_ms.mask = ms;
    report.mask = Some(MaskReport {
        coverage: maps.coverage,
        models: maps.models.clone(),
        grid: [f.red.w, f.red.h],
        file: MASK_OVERLAY_FILE.into(),
    });
    if cfg.artifacts {
        report.artifact_files.push(MASK_OVERLAY_FILE.into());
    }
    if maps.coverage < cfg.min_skin_share {
        let in_faces = skin_in_boxes(&maps.mask, used_boxes, f.red.k);
        if in_faces < MIN_FACE_SKIN {
            report.artifacts = overlay.map(|o| SkinArtifacts {
                mask_overlay: o,
                face_before_after: None,
            });
            return Err(format!(
                "no visible skin: {:.2} % of the image, below skin.min_skin_share, and {:.0} % of the faces' boxes",
                maps.coverage * 100.0,
                in_faces * 100.0
            ));
        }
    }
    Ok((maps, overlay))
}

/// Share of the treated faces' boxes in skin above which a picture is treated however small
/// its people are in it: a face's box is about half skin, one whose skin was not found is
/// nearly none.
const MIN_FACE_SKIN: f32 = 0.1;

/// The share of the face boxes' cells (`k` full-resolution pixels each) that the mask calls
/// skin.
fn skin_in_boxes(mask: &Plane, boxes: &[FaceBox], k: usize) -> f32 {
    let (mut n, mut skin) = (0usize, 0usize);
    let k = k as f32;
    for b in boxes {
        let cells = |a: f32, len: usize| ((a / k).max(0.0) as usize).min(len);
        let (x0, x1) = (cells(b.x, mask.w), cells(b.x + b.w, mask.w));
        let (y0, y1) = (cells(b.y, mask.h), cells(b.y + b.h, mask.h));
        for y in y0..y1 {
            let row = &mask.data[y * mask.w..][x0..x1];
            n += row.len();
            skin += row.iter().filter(|&&m| m > 0.5).count();
        }
    }
    if n == 0 { 0.0 } else { skin as f32 / n as f32 }
}

/// Step 6a: the preset, and the feature amounts it, the config and the strength give.
fn amounts(
    cfg: &SkinConfig,
    ctx: &SkinContext,
    report: &mut SkinReport,
) -> (Amounts, presets::Recipe) {
    let (preset, why) = cfg.preset.resolve(ctx.preset_hint);
    let recipe = preset.recipe();
    report.preset = Some(preset.name().into());
    report.preset_why = Some(why);
    let s = cfg.strength;
    let amounts = Amounts {
        pores: recipe.pores * cfg.pores * s,
        relief: recipe.relief * cfg.relief * s,
        highlight_breakup: recipe.highlight_breakup * cfg.highlight_breakup * s,
        tone: recipe.tone * cfg.tone * s,
        cast: recipe.cast * cfg.cast * s,
        mottling: recipe.mottling * cfg.mottling * s,
        grain: recipe.grain * cfg.grain * s,
        ..Amounts::default()
    };
    (amounts, recipe)
}

/// Step 6b: tone and cast (on the reduced copy), the mottling axes and the grain, as the
/// render's parameters with the texture amplitudes still at zero. Returns them and the
/// skin's chroma.
fn render_params<'a>(
    f: &Frame<'_, 'a>,
    maps: &'a SkinMaps,
    tex: &'a Textures,
    amounts: &Amounts,
    (mono, floor): (bool, f32),
    seed: u64,
    report: &mut SkinReport,
) -> (pass::RenderParams<'a>, f32) {
    let t = Instant::now();
    let cast = tone::detect_cast(&f.red, &maps.mask, amounts.cast);
    let skin_tone = tone::skin_tone(&f.red, &maps.mask, amounts.tone);
    let (va0, vb0) = tone::lab_gain_vectors(skin_tone.mean_lin);
    // Mottling moves along skin's own chromophore axes, never toward green or blue at random: redness
    // (haemoglobin) is +a* with a little +b*, pigment (melanin) is +b* with some +a*.
    let va: [f32; 3] = std::array::from_fn(|k| va0[k] + 0.25 * vb0[k]);
    let vb: [f32; 3] = std::array::from_fn(|k| 0.35 * va0[k] + vb0[k]);
    report.timings_ms.tone = ms(t);

    let grain_sigma = grain::grain_sigma(floor, amounts.grain);
    report.grain = Some(GrainReport {
        floor_before: floor,
        floor_target: grain::TARGET_NOISE_FLOOR,
        sigma_lstar: grain_sigma,
        percent_peak_to_peak: 4.0 * grain_sigma,
    });

    let mut params = pass::RenderParams {
        k: f.red.k,
        mask: &maps.mask,
        density: &maps.density,
        sheen: &maps.sheen,
        tex,
        a_pore: 0.0,
        a_micro: 0.0,
        a_relief: 0.0,
        a_sheen: amounts.highlight_breakup,
        a_redness: 0.0,
        a_pigment: 0.0,
        a_pore_chroma: 0.0,
        va,
        vb,
        saturation: skin_tone.saturation_scale,
        cast: cast
            .detected
            .then_some(cast.gains)
            .filter(|g| *g != [1.0; 3]),
        grain: grain_sigma,
        grain_seed: texture::split(seed, 99) as u32,
        space: f.space,
    };
    // Black-and-white and toned pictures: texture in luminance only, the toning kept.
    if mono {
        params.saturation = 1.0;
        params.cast = None;
    }
    let skin_chroma = skin_tone.chroma;
    report.tone = Some(skin_tone);
    report.cast = Some(cast);
    (params, skin_chroma)
}

/// What the measure step needs to know about the skin besides its pixels.
struct Looks<'a> {
    ppm: f32,
    recipe: &'a presets::Recipe,
    skin_chroma: f32,
    targets: Bands,
}

/// Real skin's band energies at this scale: what the measured skin is compared with.
fn targets(cfg: &SkinConfig, ppm: f32, mono: bool, skin_chroma: f32) -> Bands {
    let resolv = resolvability(ppm);
    Bands {
        fine: cfg.target_fine * resolv,
        mid: cfg.target_mid * resolv,
        // Black-and-white and toned pictures get no colour: their chroma target is none.
        chroma: if mono {
            0.0
        } else {
            cfg.target_chroma.min(CHROMA_PER_SKIN_CHROMA * skin_chroma)
        },
        ..Bands::default()
    }
}

/// Step 7: measure the skin in `region` and size the texture from the deficit against real
/// skin at this scale; the amplitudes go into `params` and `amounts`.
fn measure(
    f: &Frame,
    region: Rect,
    looks: &Looks,
    params: &mut pass::RenderParams,
    amounts: &mut Amounts,
    declared_not_ai: bool,
    report: &mut SkinReport,
) {
    let t = Instant::now();
    let aims = Aims {
        amounts,
        recipe: looks.recipe,
        ppm: looks.ppm,
        targets: &looks.targets,
        skin_chroma: looks.skin_chroma,
        declared_not_ai,
    };
    let (w, threads) = (f.w, f.threads);
    let mreport = match &f.px {
        Pixels::U8 { data, channels } => {
            calibrate::calibrate(data, *channels, w, region, params, &aims, threads)
        }
        Pixels::U16 { data, channels } => {
            calibrate::calibrate(data, *channels, w, region, params, &aims, threads)
        }
    };
    amounts.pore_depth = params.a_pore;
    amounts.micro_grain = params.a_micro;
    amounts.relief_amplitude = params.a_relief;
    amounts.mottling_lab = params.a_redness;
    amounts.pore_chroma_lab = params.a_pore_chroma;
    report.amounts = Some(amounts.clone());
    report.measure = Some(mreport);
    report.timings_ms.measure = ms(t);
}

/// Whether the render would change no pixel: no texture, mottling or pore colour to add, the
/// skin's saturation and the picture's colour kept, no grain. (A painting's craquelure, a
/// film-grain look or a sharp photograph can already carry all the texture the measure asks
/// for.)
fn adds_nothing(p: &pass::RenderParams) -> bool {
    [
        p.a_pore,
        p.a_micro,
        p.a_relief,
        p.a_redness,
        p.a_pigment,
        p.a_pore_chroma,
        p.grain,
    ]
    .iter()
    .all(|a| *a == 0.0)
        && p.saturation == 1.0
        && p.cast.is_none()
}

/// Why a picture whose skin needs nothing is left as it was, with the measured figures: its
/// skin already has real skin's texture, or the `[skin]` amounts ask for none.
fn nothing_to_add(report: &SkinReport) -> String {
    let texture = match &report.measure {
        Some(m) if m.before.fine >= m.target.fine => format!(
            "the skin already has as much fine texture as it would with real skin's pores (pore band {:.4}, with real skin's pores ≈ {:.4})",
            m.before.fine, m.target.fine
        ),
        _ => "the [skin] amounts (pores, relief, mottling) ask for no texture".to_string(),
    };
    format!(
        "nothing to add: {texture}, its colour needs no correction and no grain is due; every pixel is left as it was"
    )
}

/// Step 8: the full-resolution pass, in place.
fn render(
    img: &mut Cow<'_, DynamicImage>,
    w: usize,
    h: usize,
    params: &pass::RenderParams,
    threads: usize,
    report: &mut SkinReport,
) {
    let t = Instant::now();
    match img.to_mut() {
        DynamicImage::ImageRgb8(b) => pass::render_in_place(b, 3, w, h, params, threads),
        DynamicImage::ImageRgba8(b) => pass::render_in_place(b, 4, w, h, params, threads),
        DynamicImage::ImageRgb16(b) => pass::render_in_place(b, 3, w, h, params, threads),
        DynamicImage::ImageRgba16(b) => pass::render_in_place(b, 4, w, h, params, threads),
        _ => unreachable!("layout checked by `frame`"),
    }
    report.timings_ms.render = ms(t);
}
