//! Evidence items and how they combine into a verdict: AI or not, vendor, model, tool.
//!
//! Metadata (C2PA, XMP, IPTC, EXIF, text chunks) always outranks the weak hints (file
//! name, native output size): when any metadata speaks, weak hints only fill a vendor or
//! tool the metadata left open, and a verdict built on weak hints alone says so in
//! `basis` and keeps its confidence low. No evidence means no claim (`ai: null`).

use serde::Serialize;

/// Where a piece of evidence was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceSource {
    C2pa,
    Xmp,
    Iptc,
    Exif,
    PngText,
    /// JPEG COM segment (not in the list: it is neither EXIF nor a PNG chunk).
    JpegComment,
    Filename,
    Dimensions,
}

impl EvidenceSource {
    /// Weak hints never outweigh metadata.
    pub fn is_weak(self) -> bool {
        matches!(self, EvidenceSource::Filename | EvidenceSource::Dimensions)
    }
}

/// One thing the file says about its origin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    pub source: EvidenceSource,
    /// What it says, in words (the field and the value that matter).
    pub says: String,
    /// How much it weighs, 0–1.
    pub weight: f64,
    /// What it claims: AI-made (true), not AI (false), or nothing about that.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ai: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// The base model, where the item names it exactly (a checkpoint's hash, a Civitai
    /// resource identifier) rather than through the model's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// `creator` for the innermost creation step of a C2PA chain, `wrapper` for a
    /// service that signed or hosted it, `original` for what realskin recorded about the
    /// original of an output; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
}

impl Evidence {
    pub fn new(source: EvidenceSource, says: impl Into<String>, weight: f64) -> Self {
        Evidence {
            source,
            says: says.into(),
            weight,
            ai: None,
            vendor: None,
            model: None,
            family: None,
            tool: None,
            base: None,
            role: None,
        }
    }
    pub fn ai(mut self, ai: bool) -> Self {
        self.ai = Some(ai);
        self
    }
    pub fn vendor(mut self, v: Option<&str>) -> Self {
        self.vendor = v.map(str::to_string);
        self
    }
    pub fn model(mut self, m: Option<&str>) -> Self {
        self.model = m.map(str::to_string);
        self
    }
    pub fn family(mut self, f: Option<&str>) -> Self {
        self.family = f.map(str::to_string);
        self
    }
    pub fn tool(mut self, t: Option<&str>) -> Self {
        self.tool = t.map(str::to_string);
        self
    }
    pub fn base(mut self, b: Option<&str>) -> Self {
        self.base = b.map(str::to_string);
        self
    }
    pub fn role(mut self, r: &'static str) -> Self {
        self.role = Some(r);
        self
    }
}

/// What the evidence adds up to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// true: AI-made; false: declared or shown not AI; null: no evidence either way.
    pub ai: Option<bool>,
    pub vendor: Option<String>,
    pub model: Option<String>,
    /// Model family (`flux`, `stable-diffusion`, `qwen-image`, …) when known.
    pub family: Option<String>,
    /// The base model a named checkpoint was trained from (`sd1.5`, `sdxl`, `flux`, …):
    /// named exactly by the evidence (a weight file's hash, a Civitai resource identifier)
    /// or found from the model's name by [`super::names::checkpoint`]; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    pub tool: Option<String>,
    /// 0–1, for the `ai` claim. Weak hints alone stay at or below 0.4.
    pub confidence: f64,
    /// `metadata`, `weak-hints-only` or `none`.
    pub basis: &'static str,
    pub evidence: Vec<Evidence>,
}

/// Upper bound of the confidence of a verdict resting on file name and size alone.
pub const WEAK_CAP: f64 = 0.4;

fn noisy_or<'a>(items: impl Iterator<Item = &'a Evidence>) -> f64 {
    1.0 - items.fold(1.0, |acc, e| acc * (1.0 - e.weight.clamp(0.0, 1.0)))
}

/// Combines evidence into a verdict.
pub fn verdict(mut evidence: Vec<Evidence>) -> Verdict {
    // The same statement found twice (XMP history repeats an editor) is listed once.
    let mut seen = std::collections::HashSet::new();
    evidence.retain(|e| seen.insert((e.source, e.says.clone())));
    // Strongest first; the order of equal weights is the order of discovery.
    evidence.sort_by(|a, b| b.weight.total_cmp(&a.weight));
    // Only items that claim something decide; an item that merely notes an editor's
    // name is listed but leaves the decision to the others.
    let claims = |e: &&Evidence| e.ai.is_some() || e.vendor.is_some() || e.tool.is_some();
    let strong: Vec<&Evidence> = evidence
        .iter()
        .filter(|e| !e.source.is_weak())
        .filter(claims)
        .collect();
    let weak: Vec<&Evidence> = evidence
        .iter()
        .filter(|e| e.source.is_weak())
        .filter(claims)
        .collect();
    let basis = if !strong.is_empty() {
        "metadata"
    } else if !weak.is_empty() {
        "weak-hints-only"
    } else {
        "none"
    };

    let pool: &[&Evidence] = if strong.is_empty() { &weak } else { &strong };
    let yes = noisy_or(pool.iter().copied().filter(|e| e.ai == Some(true)));
    let no = noisy_or(pool.iter().copied().filter(|e| e.ai == Some(false)));
    let (mut ai, mut confidence) = if yes == 0.0 && no == 0.0 {
        (None, 0.0)
    } else if yes >= no {
        (Some(true), yes - no / 2.0)
    } else {
        (Some(false), no - yes / 2.0)
    };
    if strong.is_empty() {
        // A size alone is no claim; a file name is a weak one.
        if !weak
            .iter()
            .any(|e| e.source == EvidenceSource::Filename && e.ai == Some(true))
        {
            ai = None;
            confidence = 0.0;
        }
        confidence = confidence.min(WEAK_CAP);
    }

    // Vendor: the heaviest claim (the creator of a C2PA chain outranks its wrapper by
    // weight). Model and family must agree with that vendor. Weak hints fill gaps only.
    let agrees = |e: &Evidence, vendor: &Option<String>| match (&e.vendor, vendor) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    let ordered = strong.iter().chain(weak.iter()).copied();
    let vendor = ordered.clone().find_map(|e| e.vendor.clone());
    let model = ordered
        .clone()
        .filter(|e| agrees(e, &vendor))
        .find_map(|e| e.model.clone());
    let family = ordered
        .clone()
        .filter(|e| agrees(e, &vendor))
        .find_map(|e| e.family.clone());
    let tool = ordered.clone().find_map(|e| e.tool.clone());
    // Not AI, or no claim at all from weak hints (a size alone): no generator to name.
    let not_ai = ai == Some(false) || (ai.is_none() && strong.is_empty());
    let base = ordered
        .clone()
        .filter(|e| agrees(e, &vendor))
        .find_map(|e| e.base.clone())
        .or_else(|| {
            model
                .as_deref()
                .and_then(super::names::checkpoint)
                .map(|c| c.base.to_string())
        })
        .filter(|_| !not_ai);
    Verdict {
        ai,
        vendor: if not_ai { None } else { vendor },
        model: if not_ai { None } else { model },
        base,
        family: if not_ai { None } else { family },
        tool: if not_ai { None } else { tool },
        // Never 1.0: metadata can be forged or copied.
        confidence: (confidence.min(0.99) * 100.0).round() / 100.0,
        basis,
        evidence,
    }
}
