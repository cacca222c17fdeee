//! The profiler: what an image is and which generator made it, with the evidence and
//! the skin preset it picks. Pure: reads, writes nothing.
//!
//! It reads metadata and facts only: metadata needs no pixels (read straight from the
//! container, see [`crate::meta`]). The pixel facts in [`GeneratorProfile::pixels`]
//! (photograph or illustration, faces, skin share, face scale) are filled in by the
//! pipeline from what its face survey and skin engine saw (`crate::pipeline::pixel_facts`
//! for `realskin profile`); this module never runs them.

pub mod c2pa;
pub mod evidence;
pub mod hints;
pub mod icc;
pub mod names;
pub mod preset;
pub mod provenance;
pub mod tools;
pub mod xmp;

use std::io::{Read, Seek};
use std::path::Path;

use serde::Serialize;

pub use c2pa::C2paSummary;
pub use evidence::{Evidence, EvidenceSource, Verdict};
pub use icc::IccFacts;
pub use preset::{Preset, PresetMap, PresetPick, PresetRule};
pub use provenance::{
    EditInfo, OriginalGenerator, OutputProvenance, RealskinEdit, output_provenance,
};

use crate::meta::{self, Container, RawMetadata, TextKind};
use names::digital_source_type;
use xmp::{NS_DC, NS_EXIF, NS_IPTC_EXT, NS_PHOTOSHOP, NS_ST_EVT, NS_TIFF, NS_XMP};

/// Facts about the image that need no pixel decoding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageFacts {
    pub format: Container,
    pub width: u32,
    pub height: u32,
    pub megapixels: f64,
    pub bit_depth: u8,
    pub channels: u8,
    pub alpha: bool,
    pub colour_model: String,
    /// `sRGB`, the ICC description, or `unknown (no ICC, assumed sRGB)`.
    pub colour_space: String,
    pub icc: Option<IccFacts>,
    pub orientation: Option<u16>,
    pub jpeg_quality: Option<u8>,
    pub progressive: bool,
    pub lossless: Option<bool>,
    pub animated: bool,
}

/// A face found by the embedded detector, in pixels of the image as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaceFacts {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    pub score: f32,
}

/// Facts computed from pixels by the skin engine; `None` until it has run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PixelFacts {
    /// `photo`, `illustration`, `anime`, `render-3d` or `graphic`.
    pub kind: Option<String>,
    pub faces: Vec<FaceFacts>,
    pub skin_fraction: Option<f32>,
    /// Pixels per millimetre of skin on the largest face.
    pub largest_face_px_per_mm: Option<f32>,
}

/// Everything the profiler says about one image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GeneratorProfile {
    /// The file name as given (weak hints are read from it).
    pub file: String,
    pub facts: ImageFacts,
    pub verdict: Verdict,
    pub preset: PresetPick,
    /// The IPTC DigitalSourceType the file declares (XMP), as a code.
    pub digital_source_type: Option<String>,
    pub c2pa: Option<C2paSummary>,
    /// Set when the file is an output of realskin (its XMP history says so).
    pub realskin_edit: Option<RealskinEdit>,
    /// Filled by the skin engine.
    pub pixels: Option<PixelFacts>,
    /// Damaged or unreadable parts; the rest of the profile still stands.
    pub warnings: Vec<String>,
}

impl GeneratorProfile {
    /// A readable summary for `realskin profile FILE` (the JSON is the full profile).
    pub fn summary(&self) -> String {
        let f = &self.facts;
        let v = &self.verdict;
        let mut out = format!(
            "{}\n  {} {}×{} ({} MP), {}-bit {}{}, {}",
            self.file,
            crate::meta::format_name(f.format),
            f.width,
            f.height,
            f.megapixels,
            f.bit_depth,
            f.colour_model,
            if f.alpha { " + alpha" } else { "" },
            f.colour_space
        );
        if let Some(q) = f.jpeg_quality {
            out.push_str(&format!(", JPEG quality ~{q}"));
        }
        if let Some(o) = f.orientation.filter(|&o| o != 1) {
            out.push_str(&format!(", EXIF orientation {o}"));
        }
        let ai = match v.ai {
            Some(true) => "AI-generated",
            Some(false) => "not AI-generated",
            None => "origin unknown",
        };
        let who: Vec<String> = [
            ("vendor", &v.vendor),
            ("model", &v.model),
            ("base", &v.base),
            ("tool", &v.tool),
        ]
        .iter()
        .filter_map(|(k, x)| x.as_ref().map(|x| format!("{k} {x}")))
        .collect();
        out.push_str(&format!("\n  {ai}"));
        if !who.is_empty() {
            out.push_str(&format!(": {}", who.join(", ")));
        }
        out.push_str(&format!(" (confidence {:.2}, {})", v.confidence, v.basis));
        out.push_str(&format!(
            "\n  skin preset {}: {}",
            self.preset.preset, self.preset.reason
        ));
        if let Some(c) = &self.c2pa {
            out.push_str(&format!(
                "\n  C2PA: {} manifest(s), signature {}, content {}, signer trust not checked",
                c.manifests,
                if c.signature_verified {
                    "verified"
                } else {
                    "NOT verified"
                },
                if c.content_matches {
                    "matches"
                } else {
                    "changed since signing"
                }
            ));
        }
        if let Some(e) = &self.realskin_edit {
            out.push_str(&format!("\n  edited by {}", e.agent));
        }
        if let Some(px) = &self.pixels {
            out.push_str(&format!(
                "\n  picture: {}, {} face{}",
                px.kind.as_deref().unwrap_or("unknown"),
                px.faces.len(),
                if px.faces.len() == 1 { "" } else { "s" }
            ));
            for f in &px.faces {
                out.push_str(&format!(" [{}×{} at {},{}]", f.width, f.height, f.x, f.y));
            }
            if let Some(s) = px.skin_fraction {
                out.push_str(&format!(", skin {:.1} %", s * 100.0));
            }
            if let Some(s) = px.largest_face_px_per_mm {
                out.push_str(&format!(", {s:.1} px/mm on the largest face"));
            }
        }
        for e in &v.evidence {
            out.push_str(&format!(
                "\n    [{:?} {:.2}] {}",
                e.source, e.weight, e.says
            ));
        }
        for w in &self.warnings {
            out.push_str(&format!("\n  warning: {w}"));
        }
        out
    }
}

/// How to profile.
#[derive(Debug, Clone)]
pub struct ProfileOptions {
    /// Read and validate C2PA manifests (reads the whole file: content hashes cover the
    /// pixels). Off: the manifest is noted as present but not read.
    pub read_c2pa: bool,
    pub presets: PresetMap,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        ProfileOptions {
            read_c2pa: true,
            presets: PresetMap::default(),
        }
    }
}

/// Profiles a file held in memory. `dims` overrides the header's size when the caller
/// knows better (e.g. after decoding).
pub fn profile_metadata(
    path_name: &str,
    bytes: &[u8],
    dims: Option<(u32, u32)>,
) -> GeneratorProfile {
    profile_bytes_with(path_name, bytes, dims, &ProfileOptions::default())
}

/// [`profile_metadata`] with options.
pub fn profile_bytes_with(
    path_name: &str,
    bytes: &[u8],
    dims: Option<(u32, u32)>,
    opts: &ProfileOptions,
) -> GeneratorProfile {
    profile_bytes_keep_raw(path_name, bytes, dims, opts).0
}

/// [`profile_bytes_with`], also returning the metadata read, which the output needs to
/// carry the original's ICC, EXIF, XMP and provenance.
pub fn profile_bytes_keep_raw(
    path_name: &str,
    bytes: &[u8],
    dims: Option<(u32, u32)>,
    opts: &ProfileOptions,
) -> (GeneratorProfile, RawMetadata) {
    let raw = meta::read(bytes);
    let c2pa = c2pa_for(&raw, opts, || Some(std::io::Cursor::new(bytes)));
    (profile_raw(path_name, &raw, c2pa, dims, opts), raw)
}

/// Profiles a seekable stream, reading only metadata (plus the whole stream when a C2PA
/// manifest has to be validated).
pub fn profile_reader<R: Read + Seek + Send>(
    path_name: &str,
    mut reader: R,
    dims: Option<(u32, u32)>,
    opts: &ProfileOptions,
) -> std::io::Result<GeneratorProfile> {
    let raw = meta::read_from(&mut reader)?;
    let c2pa = c2pa_for(&raw, opts, || {
        reader.seek(std::io::SeekFrom::Start(0)).ok()?;
        Some(&mut reader)
    });
    Ok(profile_raw(path_name, &raw, c2pa, dims, opts))
}

/// Profiles a file on disk.
pub fn profile_path(
    path: &Path,
    dims: Option<(u32, u32)>,
    opts: &ProfileOptions,
) -> std::io::Result<GeneratorProfile> {
    let file = std::fs::File::open(path)?;
    profile_reader(&path.to_string_lossy(), file, dims, opts)
}

type C2paResult = Option<Result<(C2paSummary, Vec<Evidence>), String>>;

fn c2pa_for<R: Read + Seek + Send>(
    raw: &RawMetadata,
    opts: &ProfileOptions,
    stream: impl FnOnce() -> Option<R>,
) -> C2paResult {
    raw.c2pa.as_ref()?;
    if !opts.read_c2pa {
        return Some(Err(
            "a C2PA manifest is present but was not read (C2PA reading is off)".to_string(),
        ));
    }
    let mime = raw.container.mime()?;
    let s = stream()?;
    Some(c2pa::read(mime, s))
}

/// Builds the profile from metadata already read. Pure.
pub fn profile_raw(
    path_name: &str,
    raw: &RawMetadata,
    c2pa: C2paResult,
    dims: Option<(u32, u32)>,
    opts: &ProfileOptions,
) -> GeneratorProfile {
    let mut warnings = raw.warnings.clone();
    let mut ev: Vec<Evidence> = Vec::new();
    let facts = facts(raw, dims);

    let mut c2pa_summary = None;
    match c2pa {
        Some(Ok((summary, items))) => {
            c2pa_summary = Some(summary);
            ev.extend(items);
        }
        Some(Err(w)) => {
            warnings.push(w);
            ev.push(Evidence::new(
                EvidenceSource::C2pa,
                "a C2PA manifest is present but could not be read",
                0.0,
            ));
        }
        None => {}
    }
    let (dst, realskin_edit) = xmp_packets(raw, &mut ev, &mut warnings);
    iptc_evidence(raw, &mut ev);
    exif_evidence(raw, &mut ev, &mut warnings);

    // PNG text chunks and JPEG comments.
    for t in &raw.text {
        let source = if t.kind == TextKind::Comment {
            EvidenceSource::JpegComment
        } else {
            EvidenceSource::PngText
        };
        tools::from_text(source, &t.key, &t.value, &mut ev);
    }

    hints::filename(path_name, &mut ev);
    if facts.width > 0 {
        hints::dimensions((facts.width, facts.height), &mut ev);
    }

    let verdict = evidence::verdict(ev);
    let preset = opts.presets.choose(&verdict);
    GeneratorProfile {
        file: path_name.to_string(),
        facts,
        verdict,
        preset,
        digital_source_type: dst,
        c2pa: c2pa_summary,
        realskin_edit,
        pixels: None,
        warnings,
    }
}

/// Evidence from the XMP packets (main and extended): the disclosure fields, and an earlier
/// realskin edit with the AI original it recorded. Returns the DigitalSourceType found and
/// that edit.
fn xmp_packets(
    raw: &RawMetadata,
    ev: &mut Vec<Evidence>,
    warnings: &mut Vec<String>,
) -> (Option<String>, Option<provenance::RealskinEdit>) {
    let mut dst = None;
    let mut realskin_edit = None;
    for packet in [raw.xmp.as_deref(), raw.xmp_extended.as_deref()]
        .into_iter()
        .flatten()
    {
        let (x, warning) = xmp::parse(packet);
        warnings.extend(warning);
        xmp_evidence(&x, ev, &mut dst);
        if let Some(edit) = provenance::realskin_edit(&x) {
            realskin_edit_evidence(&edit, ev);
            realskin_edit = Some(edit);
        }
    }
    (dst, realskin_edit)
}

/// An earlier realskin edit in the XMP history: no weight of its own, but the AI original it
/// recorded counts (the edit changed the pixels, not where they came from).
fn realskin_edit_evidence(edit: &provenance::RealskinEdit, ev: &mut Vec<Evidence>) {
    ev.push(Evidence::new(
        EvidenceSource::Xmp,
        format!(
            "XMP history: edited by {}{}",
            edit.agent,
            edit.changed
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        ),
        0.0,
    ));
    if let Some(o) = edit.original.as_ref().filter(|o| o.ai == Some(true)) {
        let mut e = Evidence::new(
            EvidenceSource::Xmp,
            format!(
                "XMP history: realskin recorded an AI original ({})",
                [&o.vendor, &o.model, &o.tool]
                    .iter()
                    .filter_map(|x| x.as_deref())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            0.7,
        )
        .ai(true)
        .vendor(o.vendor.as_deref())
        .model(o.model.as_deref())
        .family(o.family.as_deref())
        .tool(o.tool.as_deref());
        e.role = Some("original");
        ev.push(e);
    }
}

/// Evidence from the IPTC-IIM datasets that carry text a generator writes.
fn iptc_evidence(raw: &RawMetadata, ev: &mut Vec<Evidence>) {
    let Some(iim) = &raw.iptc else { return };
    for r in meta::iptc_records(iim) {
        let name = match (r.record, r.dataset) {
            (2, 110) => "Credit",
            (2, 120) => "Caption",
            (2, 80) => "By-line",
            (2, 65) => "OriginatingProgram",
            (2, 116) => "CopyrightNotice",
            (2, 40) => "SpecialInstructions",
            (2, 105) => "Headline",
            _ => continue,
        };
        let v = String::from_utf8_lossy(&r.value);
        tools::from_text(EvidenceSource::Iptc, name, &v, ev);
    }
}

/// Evidence from the EXIF text fields, and camera capture data (make, model, exposure) when
/// no EXIF field names a generator.
fn exif_evidence(raw: &RawMetadata, ev: &mut Vec<Evidence>, warnings: &mut Vec<String>) {
    let Some(block) = &raw.exif else { return };
    let (fields, w) = meta::exif_text_fields(block);
    warnings.extend(w);
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    for (name, value) in &fields {
        if !matches!(name.as_str(), "ExposureTime" | "FNumber") {
            tools::from_text(EvidenceSource::Exif, name, value, ev);
        }
    }
    if let (Some(make), Some(model), Some(exposure)) =
        (get("Make"), get("Model"), get("ExposureTime"))
    {
        let generator = ev
            .iter()
            .any(|e| e.source == EvidenceSource::Exif && e.ai == Some(true));
        if !generator && make.len() < 64 && model.len() < 64 {
            ev.push(
                Evidence::new(
                    EvidenceSource::Exif,
                    format!("camera capture data: {make} {model}, exposure {exposure}"),
                    0.3,
                )
                .ai(false),
            );
        }
    }
}

fn xmp_evidence(x: &xmp::Xmp, ev: &mut Vec<Evidence>, dst: &mut Option<String>) {
    if let Some(v) = x.get(NS_IPTC_EXT, "DigitalSourceType")
        && let Some((code, ai)) = digital_source_type(v)
    {
        let mut e = Evidence::new(
            EvidenceSource::Xmp,
            format!("IPTC DigitalSourceType {code}"),
            0.85,
        );
        e.ai = ai;
        ev.push(e);
        *dst = Some(code);
    }
    let known: &[(&str, &str, &str)] = &[
        (NS_XMP, "CreatorTool", "CreatorTool"),
        (NS_PHOTOSHOP, "Credit", "Credit"),
        (NS_DC, "description", "description"),
        (NS_DC, "title", "title"),
        (NS_EXIF, "UserComment", "UserComment"),
        (NS_TIFF, "ImageDescription", "ImageDescription"),
        (NS_TIFF, "Software", "Software"),
        (NS_ST_EVT, "softwareAgent", "softwareAgent"),
    ];
    for p in &x.props {
        let key = known
            .iter()
            .find(|(ns, name, _)| *ns == p.ns && *name == p.name)
            .map(|k| k.2);
        match key {
            Some("softwareAgent") if p.value.starts_with(provenance::AGENT) => {}
            Some("softwareAgent") => {
                tools::from_text(EvidenceSource::Xmp, "CreatorTool", &p.value, ev)
            }
            Some(k) => tools::from_text(EvidenceSource::Xmp, k, &p.value, ev),
            None => {
                let l = p.value.to_ascii_lowercase();
                if l.contains("job id:") || l.contains("made with google ai") {
                    tools::from_text(EvidenceSource::Xmp, &p.name, &p.value, ev);
                }
            }
        }
    }
}

fn facts(raw: &RawMetadata, dims: Option<(u32, u32)>) -> ImageFacts {
    let h = raw.header.clone().unwrap_or_default();
    let (width, height) = dims.unwrap_or((h.width, h.height));
    let icc = raw.icc.as_deref().and_then(icc::icc_facts);
    let colour_space = if let Some(d) = icc.as_ref().and_then(|i| i.description.clone()) {
        d
    } else if raw.icc.is_some() {
        "ICC profile (no description)".to_string()
    } else if h.srgb_chunk {
        "sRGB".to_string()
    } else if let Some(g) = h.png_gamma.filter(|_| h.cicp.is_none()) {
        format!(
            "PNG gamma 1/{:.2}{} (no ICC)",
            100_000.0 / f64::from(g),
            if h.png_chrm.is_some() {
                " and cHRM primaries"
            } else {
                ""
            }
        )
    } else if let Some(c) = h.cicp {
        format!("cICP primaries {} transfer {}", c[0], c[1])
    } else {
        "unknown (no ICC; treat as sRGB)".to_string()
    };
    ImageFacts {
        format: raw.container,
        width,
        height,
        megapixels: (f64::from(width) * f64::from(height) / 10_000.0).round() / 100.0,
        bit_depth: h.bit_depth,
        channels: h.channels,
        alpha: h.alpha,
        colour_model: h.colour_model,
        colour_space,
        icc,
        orientation: raw.orientation,
        jpeg_quality: h.jpeg_quality,
        progressive: h.progressive,
        lossless: h.lossless,
        animated: h.animated,
    }
}
