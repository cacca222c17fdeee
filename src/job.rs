//! One image through the pipeline, top to bottom:
//! profile → decode → plan → stages → provenance → encode.
//!
//! Shared by the daemon and `realskin process`. It fills the report as it goes, so a
//! failure still reports what was learnt before it (the profile is made from metadata
//! alone, before any pixel is decoded). It reads no files: the caller hands in the bytes
//! and places the result (see `output`). The one file it writes is a fast PNG's, which
//! the encoder streams into a temporary name in the output's folder as it compresses
//! (`output::Staged`), for the caller to rename into place.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::config::{Config, HotfolderConfig, OutputConfig};
use crate::decode;
use crate::error::JobError;
use crate::meta;
use crate::output::Body;
use crate::output::encode::{self, Encoded};
use crate::pipeline::skin::space::Space;
use crate::pipeline::{self, StageSettings, millis};
use crate::profile::{self, EditInfo, ProfileOptions, output_provenance};
use crate::report::previews::{self, Previews};
use crate::report::{ProvenanceInfo, Report};

/// The settings one image is processed with (a hotfolder's effective sections).
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Stage settings.
    pub stages: StageSettings,
    /// Output format settings.
    pub output: OutputConfig,
    /// Decompression-bomb limit.
    pub max_megapixels: f64,
    /// How images are profiled (C2PA reading, the generator → preset map).
    pub profile: ProfileOptions,
}

impl JobSettings {
    /// A hotfolder's settings.
    pub fn for_hotfolder(hf: &HotfolderConfig, cfg: &Config) -> Self {
        Self::for_jobs_at_once(hf, cfg, cfg.worker_count())
    }

    /// A hotfolder's settings when `jobs` images are processed at the same time: the
    /// cores are shared among them, so jobs do not fight over them (and a lone image
    /// gets them all).
    pub fn for_jobs_at_once(hf: &HotfolderConfig, cfg: &Config, jobs: usize) -> Self {
        let mut skin = hf.skin.clone();
        if skin.threads == 0 {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            skin.threads = (cores / jobs.max(1)).max(1);
        }
        Self {
            stages: StageSettings {
                upscale: hf.upscale.clone(),
                skin,
            },
            output: hf.output_options.clone(),
            max_megapixels: cfg.daemon.max_megapixels,
            profile: cfg.profile_options(),
        }
    }
}

/// The result of the pipeline.
pub struct Rendered {
    /// The output file, metadata included: its bytes, or the file staged beside its
    /// destination.
    pub encoded: Encoded,
    /// Small pictures for people (dashboard, HTML report).
    pub previews: Previews,
    /// The original's C2PA manifest store, to keep beside the output (its signature
    /// covers the original pixels, so it cannot travel inside the edited file).
    pub c2pa_sidecar: Option<Vec<u8>>,
}

/// Runs the pipeline on `bytes` (named `name`, for the profiler's weak hints),
/// recording each step in `report`. With `stage_in` (the folder the output will be placed
/// in), a fast PNG is written there under a temporary name while it is compressed
/// ([`encode::Stream`]); otherwise the output is held in memory.
pub fn render(
    name: &str,
    bytes: &[u8],
    settings: &JobSettings,
    stage_in: Option<&Path>,
    report: &mut Report,
) -> Result<Rendered, JobError> {
    if settings.stages.skin.enabled {
        crate::face::warm_up();
    }
    let t = Instant::now();
    let (mut prof, raw) = profile::profile_bytes_keep_raw(name, bytes, None, &settings.profile);
    report.timings_ms.profile = millis(t);
    report.profile = Some(prof.clone());

    let t = Instant::now();
    let decoded = decode::decode(bytes, settings.max_megapixels)?;
    report.timings_ms.decode = millis(t);
    let (icc, converted, mut colour_notes) = input_colour(&decoded, raw.header.as_ref());
    let input = decoded.image;
    prof.facts.width = input.width();
    prof.facts.height = input.height();

    // The face survey counts as stage time: it is the skin engine's face pass, run first
    // because the largest face decides how far to enlarge.
    let t = Instant::now();
    // The picture's colour space, from its profile: skin is measured and rendered in its own
    // curve and primaries (a profile the engine cannot use is measured as sRGB, and said so).
    let (space, space_note) = match icc.as_deref().map(Space::from_icc) {
        Some(Ok(Some(space))) => (Some(Arc::new(space)), None),
        Some(Err(why)) => (None, Some(why)),
        Some(Ok(None)) | None => (None, None),
    };
    let survey = pipeline::survey(
        &input,
        &settings.stages,
        space.as_deref().unwrap_or(Space::srgb()),
    );
    let mut plan = pipeline::plan(
        input.width(),
        input.height(),
        &settings.stages,
        survey.as_ref(),
    );
    plan.skin_context.space = space;
    plan.skin_context.space_note = space_note;
    plan.skin_context.declared_not_ai = prof.verdict.ai == Some(false);
    plan.skin_context.preset_hint = Some(prof.preset.preset);
    report.plan = Some(plan.clone());
    let format = encode::output_format(decoded.format, &settings.output);
    let coding = encode::SourceCoding::of(decoded.format, raw.header.as_ref());

    let mut records = Vec::with_capacity(plan.steps.len());
    let ran = pipeline::run(&input, &plan, &settings.stages, &mut records);
    report.timings_ms.stages = millis(t);
    report.stages = records;
    let (image, artifacts) = ran?;
    prof.pixels = artifacts.pixels.clone();
    report.profile = Some(prof.clone());
    let face = artifacts.face.map(|f| previews::FaceRect {
        x: f.x,
        y: f.y,
        w: f.w,
        h: f.h,
    });
    // Provenance: the original's metadata, its AI label kept (or made composite), and an
    // XMP history entry naming realskin's edit. Known before the encoder runs: a streamed
    // PNG carries it ahead of its image data.
    let edit = EditInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        changed: report.what_was_done(),
        when: Some(crate::report::now_rfc3339()),
        pixels_upright: false,
    };
    let mut prov = output_provenance(&raw, &prof.verdict, &edit);
    let mut notes = prov.notes.clone();
    notes.append(&mut colour_notes);
    if let Some((what, icc)) = converted {
        prov.embed.icc = icc;
        notes.push(format!("{what}."));
    }
    // The previews are made on another core while the encoder runs (PNG on the job's
    // threads, written into its folder as it is compressed; the other formats on one).
    let t = Instant::now();
    let stream = stage_in.map(|dir| encode::Stream {
        dir,
        embed: &prov.embed,
    });
    let (previews, encoded) = std::thread::scope(|s| {
        let previews =
            s.spawn(|| previews::make(&input, &image, face, artifacts.mask_overlay.as_ref()));
        let encoded = encode::encode(
            &image,
            format,
            &settings.output,
            coding,
            settings.stages.skin.threads.max(1),
            stream,
        );
        (previews.join().unwrap_or_default(), encoded)
    });
    drop((input, image));
    let mut encoded = encoded.map_err(|e| match e {
        encode::EncodeError::Stage(io) => JobError::destination(stage_in.unwrap_or(Path::new(".")), io),
        encode::EncodeError::Encoder(why) => JobError::input(
            "encode",
            format!("The result could not be encoded: {why}."),
            "Try another output format under [output]; if it keeps happening, report it as a realskin bug with this file.",
        ),
    })?;
    match encoded.body {
        Body::Bytes(_) => splice_metadata(&mut encoded, &prov.embed, &mut notes),
        Body::Staged(_) => {
            let skipped = std::mem::take(&mut encoded.skipped_metadata);
            encoded.facts.metadata_kept = kept_blocks(&prov.embed, &skipped);
            notes.extend(skipped);
        }
    }
    report.timings_ms.encode = millis(t);
    report.provenance = Some(ProvenanceInfo {
        digital_source_type: prov.digital_source_type.clone(),
        c2pa_sidecar: prov.c2pa_sidecar.is_some() && settings.output.keep_c2pa_sidecar,
        notes,
    });
    Ok(Rendered {
        encoded,
        previews,
        c2pa_sidecar: prov
            .c2pa_sidecar
            .filter(|_| settings.output.keep_c2pa_sidecar),
    })
}

/// The input's colour profile, what it was converted from when it was (with the profile
/// the output carries), and notes on colour chunks that were ignored.
type InputColour = (
    Option<Vec<u8>>,
    Option<(String, Option<Vec<u8>>)>,
    Vec<String>,
);

/// The input's colour: see [`InputColour`].
fn input_colour(decoded: &decode::Decoded, header: Option<&meta::HeaderFacts>) -> InputColour {
    // A converted picture (CMYK to sRGB) carries the profile of what it became.
    let mut converted = decoded
        .converted
        .clone()
        .map(|what| (what, decoded.icc.clone()));
    let mut icc = decoded.icc.clone();
    let mut colour_notes = Vec::new();
    match png_gamma_icc(decoded, header, icc.is_some()) {
        Some(Ok(profile)) => {
            converted = Some((
                "its gAMA/cHRM colour space is carried as an ICC profile (iCCP), which every viewer honours".to_string(),
                Some(profile.clone()),
            ));
            icc = Some(profile);
        }
        Some(Err(why)) => {
            colour_notes.push(format!("The PNG's colour chunks were ignored: {why}."))
        }
        None => {}
    }
    (icc, converted, colour_notes)
}

/// A PNG whose colour space is only its gAMA (and cHRM) chunks gets the ICC profile they
/// describe: the engine reads it, and the output carries it. `None` for any other file,
/// or when the chunks describe sRGB anyway.
fn png_gamma_icc(
    decoded: &decode::Decoded,
    header: Option<&meta::HeaderFacts>,
    has_icc: bool,
) -> Option<Result<Vec<u8>, String>> {
    let h = header.filter(|h| {
        !has_icc && decoded.format == decode::Format::Png && !h.srgb_chunk && h.cicp.is_none()
    })?;
    decode::png_gamma_profile(h.png_gamma?, h.png_chrm).transpose()
}

/// Writes `embed` (ICC, EXIF, XMP, IPTC) into the encoded file, records which blocks
/// were kept, and adds a sentence to `notes` for each block that could not be.
fn splice_metadata(encoded: &mut Encoded, embed: &meta::EmbedMetadata, notes: &mut Vec<String>) {
    let Body::Bytes(bytes) = &mut encoded.body else {
        return;
    };
    match meta::embed_lossy_owned(std::mem::take(bytes), embed) {
        Ok(embedded) => {
            encoded.facts.metadata_kept = kept_blocks(embed, &embedded.skipped);
            notes.extend(embedded.skipped);
            encoded.facts.bytes = embedded.bytes.len() as u64;
            *bytes = embedded.bytes;
        }
        Err((e, back)) => {
            *bytes = back;
            notes.push(format!(
                "The metadata could not be written into the output ({e}); the pixels are fine."
            ))
        }
    }
}

/// The metadata blocks `embed` carries that the output kept: all but those `skipped` names.
fn kept_blocks(embed: &meta::EmbedMetadata, skipped: &[String]) -> Vec<&'static str> {
    blocks(embed)
        .into_iter()
        .filter(|b| !skipped.iter().any(|s| s.to_ascii_lowercase().contains(b)))
        .collect()
}

/// The metadata blocks an embed request carries, by name.
fn blocks(e: &meta::EmbedMetadata) -> Vec<&'static str> {
    let mut v = Vec::new();
    if e.icc.is_some() {
        v.push("icc");
    }
    if e.exif.is_some() {
        v.push("exif");
    }
    if e.xmp.is_some() {
        v.push("xmp");
    }
    if e.iptc.is_some() {
        v.push("iptc");
    }
    v
}

/// BLAKE3 of the content, hex.
pub fn content_hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}
