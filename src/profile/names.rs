//! What names mean: a model file, a software name or an organisation mapped to the
//! vendor, model family and tool ids the verdict uses.

/// Name fragments of Stability AI's own models (SD 1.x/2.x, SDXL, SD3, Cascade).
const STABILITY: &[&str] = &[
    "sd3",
    "sd_3",
    "stable-diffusion-3",
    "stable_diffusion_3",
    "sd_xl",
    "sdxl",
    "sd-xl",
    "xl_base",
    "xl_refiner",
    "v1-5",
    "v1_5",
    "sd15",
    "sd_1",
    "sd-1",
    "stable-diffusion",
    "stable_diffusion",
    "sd_2",
    "v2-1",
    "stable_cascade",
];

/// A checkpoint's base model, family and the base model's maker, from
/// `checkpoints.tsv` (one row per known name, with its source).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Normalised name fragment (lowercase letters and digits).
    pub fragment: &'static str,
    /// The base model: `sd1.5`, `sd2.1`, `sdxl`, `sd3`, `sd3.5`, `flux`.
    pub base: &'static str,
    pub family: &'static str,
    pub vendor: &'static str,
    /// Where the row comes from (for a `sha256:` row, the published weight file first).
    pub source: &'static str,
}

impl Checkpoint {
    /// The weight file a `sha256:` row names, without folders and extension
    /// (`v1-5-pruned-emaonly`); `None` for a name row.
    pub fn file_stem(&self) -> Option<String> {
        self.fragment.starts_with("sha256:").then(|| {
            let url = self.source.split_whitespace().next().unwrap_or("");
            model_stem(url)
        })
    }
}

fn checkpoints() -> &'static [Checkpoint] {
    static TABLE: std::sync::OnceLock<Vec<Checkpoint>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut rows: Vec<Checkpoint> = include_str!("checkpoints.tsv")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let mut c = l.split('\t');
                Some(Checkpoint {
                    fragment: c.next()?,
                    base: c.next()?,
                    family: c.next()?,
                    vendor: c.next()?,
                    source: c.next().unwrap_or(""),
                })
            })
            .collect();
        // Longest fragment first: "dreamshaperxl" before "dreamshaper".
        rows.sort_by_key(|r| std::cmp::Reverse(r.fragment.len()));
        rows
    })
}

/// The known checkpoint a model name (a file name, a fine-tune's name) comes from.
pub fn checkpoint(name: &str) -> Option<&'static Checkpoint> {
    let n: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    checkpoints().iter().find(|c| n.contains(c.fragment))
}

/// The known weight file whose SHA-256 starts with `hash`: A1111's `Model hash` (the
/// first 10 hex digits, Civitai's "AutoV2") or a whole digest. Shorter words are refused:
/// A1111's legacy 8-digit hash is not a SHA-256 prefix.
pub fn checkpoint_by_hash(hash: &str) -> Option<&'static Checkpoint> {
    let h = hash.trim().to_ascii_lowercase();
    if h.len() < 10 || h.len() > 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    checkpoints().iter().find(|c| {
        c.fragment
            .strip_prefix("sha256:")
            .is_some_and(|d| d.starts_with(&h))
    })
}

/// Base model, family and maker of a Civitai AI Resource Identifier's ecosystem
/// (`urn:air:{ecosystem}:{type}:{source}:{id}@{version}`; the `urn:` and `air:` prefixes
/// are optional: <https://developer.civitai.com/site/guide/air>). Pony and Illustrious
/// are ecosystems of their own there, both fine-tuned from SDXL (see `checkpoints.tsv`).
pub fn air_ecosystem(air: &str) -> Option<(&'static str, &'static str, &'static str)> {
    let rest = air.trim();
    let rest = rest.strip_prefix("urn:").unwrap_or(rest);
    let rest = rest.strip_prefix("air:").unwrap_or(rest);
    let (eco, _) = rest.split_once(':')?;
    const SAI: &str = "stability-ai";
    const SD: &str = "stable-diffusion";
    Some(match eco.to_ascii_lowercase().as_str() {
        "sd1" | "sd15" => ("sd1.5", SD, SAI),
        "sd2" | "sd21" => ("sd2.1", SD, SAI),
        "sdxl" | "pony" | "illustrious" | "noobai" => ("sdxl", SD, SAI),
        "sd3" => ("sd3", SD, SAI),
        "sd35" | "sd3_5" => ("sd3.5", SD, SAI),
        "flux1" | "flux" => ("flux", "flux", "black-forest-labs"),
        _ => return None,
    })
}

/// Vendor and family of a model name (a file name such as `flux1-dev.safetensors`, a
/// product model such as `GPT-4o` or `nano-banana-2`). A fine-tune of an open model gets
/// its base model's family and maker ([`checkpoint`]).
pub fn model_family(name: &str) -> (Option<&'static str>, Option<&'static str>) {
    if let Some(c) = checkpoint(name) {
        return (Some(c.vendor), Some(c.family));
    }
    let n = name.to_ascii_lowercase().replace([' ', '.'], "_");
    let has = |s: &str| n.contains(s);
    if has("flux") {
        (Some("black-forest-labs"), Some("flux"))
    } else if has("qwen") {
        (Some("alibaba"), Some("qwen-image"))
    } else if has("z_image") || has("z-image") || has("zimage") {
        (Some("alibaba"), Some("z-image"))
    } else if has("wan2") || has("wan_2") || has("wanx") {
        (Some("alibaba"), Some("wan"))
    } else if has("gpt-image") || has("gpt_image") || has("gpt-4o") || has("gpt_4o") || has("dall")
    {
        (Some("openai"), Some("gpt-image"))
    } else if has("nano-banana") || has("nano_banana") || has("gemini") || has("imagen") {
        (Some("google"), Some("gemini"))
    } else if has("midjourney") || has("niji") {
        (Some("midjourney"), Some("midjourney"))
    } else if has("novelai") || has("nai-diffusion") || has("nai_diffusion") {
        (Some("novelai"), Some("stable-diffusion"))
    } else if has("ideogram") {
        (Some("ideogram"), None)
    } else if has("grok") || has("aurora") {
        (Some("xai"), None)
    } else if has("firefly") {
        (Some("adobe"), Some("firefly"))
    } else if STABILITY.iter().any(|k| has(k)) {
        (Some("stability-ai"), Some("stable-diffusion"))
    } else if has("hidream")
        || has("hunyuan")
        || has("cogview")
        || has("kolors")
        || has("pixart")
        || has("sana")
    {
        (None, Some("other"))
    } else {
        (None, None)
    }
}

/// Strips folders and the weight-file extension from a model file name.
pub fn model_stem(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    for ext in [
        ".safetensors",
        ".ckpt",
        ".gguf",
        ".sft",
        ".pt",
        ".pth",
        ".bin",
    ] {
        if let Some(stem) = base.strip_suffix(ext) {
            return stem.to_string();
        }
    }
    base.to_string()
}

/// Whether a string looks like a model weight file.
pub fn is_weight_file(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    [".safetensors", ".ckpt", ".gguf", ".sft", ".pt", ".pth"]
        .iter()
        .any(|e| l.ends_with(e))
}

/// Vendor and tool named by a software or product string (EXIF Software, XMP
/// CreatorTool, a C2PA claim generator or software agent).
pub fn software(name: &str) -> (Option<&'static str>, Option<&'static str>) {
    let n = name.to_ascii_lowercase();
    let has = |s: &str| n.contains(s);
    if has("chatgpt") {
        (Some("openai"), Some("chatgpt"))
    } else if has("dall·e")
        || has("dall-e")
        || has("dalle")
        || has("openai")
        || has("gpt-4o")
        || has("gpt-image")
        || has("sora")
    {
        (Some("openai"), None)
    } else if has("gemini") {
        (Some("google"), Some("gemini"))
    } else if has("google") || has("imagen") {
        (Some("google"), None)
    } else if has("firefly") {
        (Some("adobe"), Some("firefly"))
    } else if has("adobe") || has("photoshop") || has("lightroom") {
        (Some("adobe"), None)
    } else if has("midjourney") {
        (Some("midjourney"), Some("midjourney"))
    } else if has("comfyui") {
        (None, Some("comfyui"))
    } else if has("swarmui") || has("stableswarm") {
        (None, Some("swarmui"))
    } else if has("fooocus") {
        (None, Some("fooocus"))
    } else if has("invokeai") || has("invoke-ai") || has("invoke ai") {
        (None, Some("invokeai"))
    } else if has("forge") {
        (None, Some("forge"))
    } else if has("automatic1111") || has("stable-diffusion-webui") || has("a1111") {
        (None, Some("a1111"))
    } else if has("novelai") {
        (Some("novelai"), Some("novelai"))
    } else if has("draw things") || has("drawthings") {
        (None, Some("draw-things"))
    } else if has("stability") || has("stable diffusion") || has("dreamstudio") {
        (Some("stability-ai"), None)
    } else if has("bing") || has("microsoft") || has("designer") || has("copilot") {
        (Some("microsoft"), None)
    } else if has("meta ai") || has("imagine with meta") || n == "meta" {
        (Some("meta"), None)
    } else if has("ideogram") {
        (Some("ideogram"), None)
    } else if has("leonardo") {
        (Some("leonardo"), None)
    } else if has("grok") || has("xai") || has("x.ai") {
        (Some("xai"), None)
    } else if has("tongyi") || has("wanxiang") || has("alibaba") || has("qwen") {
        (Some("alibaba"), None)
    } else {
        (None, None)
    }
}

/// Vendor of a certificate's subject organisation.
pub fn organisation(org: &str) -> Option<&'static str> {
    let o = org.to_ascii_lowercase();
    let has = |s: &str| o.contains(s);
    if has("openai") {
        Some("openai")
    } else if has("google") {
        Some("google")
    } else if has("adobe") {
        Some("adobe")
    } else if has("microsoft") {
        Some("microsoft")
    } else if has("meta platforms") || o == "meta" {
        Some("meta")
    } else if has("stability") {
        Some("stability-ai")
    } else if has("midjourney") {
        Some("midjourney")
    } else if has("black forest") {
        Some("black-forest-labs")
    } else if has("alibaba") {
        Some("alibaba")
    } else if has("x.ai") || has("xai") {
        Some("xai")
    } else if has("ideogram") {
        Some("ideogram")
    } else if has("leonardo") {
        Some("leonardo")
    } else {
        None
    }
}

/// The IPTC digital source type named by a URI or bare code, if it says AI.
/// Returns (code, ai) for an IPTC digital source type
/// (<https://cv.iptc.org/newscodes/digitalsourcetype/>): `trainedAlgorithmicMedia` and the
/// synthetic composites are AI-made; `algorithmicMedia` ("created purely by an algorithm
/// not based on any sampled training data": a rendered test chart, a fractal; the C2PA
/// test suite's generated images carry it) and the capture and human-made sources are not;
/// `algorithmicallyEnhanced` (a correction, not a
/// generation) claims neither.
pub fn digital_source_type(value: &str) -> Option<(String, Option<bool>)> {
    let code = value.rsplit('/').next()?.trim().to_string();
    let ai = match code.as_str() {
        "trainedAlgorithmicMedia"
        | "compositeWithTrainedAlgorithmicMedia"
        | "compositeSynthetic" => Some(true),
        "algorithmicMedia" => Some(false),
        "algorithmicallyEnhanced" => None,
        "digitalCapture" | "negativeFilm" | "positiveFilm" | "print" | "minorHumanEdits"
        | "humanEdits" | "digitalArt" | "virtualRecording" | "compositeCapture"
        | "screenCapture" | "dataDrivenMedia" | "composite" => Some(false),
        _ => return None,
    };
    Some((code, ai))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_names_map_to_their_base_model_and_its_maker() {
        let base = |n: &str| checkpoint(n).map(|c| (c.base, c.vendor));
        for (name, want) in [
            ("juggernautXL_v9Rdphoto2Lightning", "sdxl"),
            ("juggernaut_reborn.safetensors", "sd1.5"),
            ("RealVisXL_V4.0", "sdxl"),
            ("realisticVisionV60B1_v51HyperVAE", "sd1.5"),
            ("DreamShaperXL_Turbo_v2", "sdxl"),
            ("dreamshaper_8.safetensors", "sd1.5"),
            ("epicrealismXL_v8Kiss", "sdxl"),
            ("epicrealism_naturalSinRC1VAE", "sd1.5"),
            ("ponyDiffusionV6XL_v6StartWithThisOne", "sdxl"),
            ("v1-5-pruned-emaonly.safetensors", "sd1.5"),
            ("sd_xl_base_1.0.safetensors", "sdxl"),
            ("flux1-dev-fp8", "flux"),
            ("my_portrait_flux_lora", "flux"),
        ] {
            let vendor = if want == "flux" {
                "black-forest-labs"
            } else {
                "stability-ai"
            };
            assert_eq!(base(name), Some((want, vendor)), "{name}");
        }
        assert_eq!(checkpoint("some_private_model_v3"), None);
        // A renamed file is still known by its hash; a legacy 8-digit hash is not a prefix.
        let by_hash = checkpoint_by_hash("6CE0161689").unwrap();
        assert_eq!((by_hash.base, by_hash.vendor), ("sd1.5", "stability-ai"));
        assert_eq!(by_hash.file_stem().as_deref(), Some("v1-5-pruned-emaonly"));
        assert_eq!(
            checkpoint_by_hash("31e35c80fc").map(|c| c.base),
            Some("sdxl")
        );
        assert_eq!(
            checkpoint_by_hash("4610115bb0").map(|c| c.family),
            Some("flux")
        );
        assert_eq!(checkpoint_by_hash("6ce01616"), None);
        assert_eq!(checkpoint_by_hash("zzzzzzzzzz"), None);
        assert_eq!(checkpoint("sha256"), None);
        for (air, base) in [
            (
                "urn:air:sdxl:checkpoint:civitai:133005@782002",
                Some("sdxl"),
            ),
            ("air:flux1:lora:civitai:1@2", Some("flux")),
            ("sd1:checkpoint:civitai:4201@130072", Some("sd1.5")),
            (
                "urn:air:illustrious:checkpoint:civitai:795765@900661",
                Some("sdxl"),
            ),
            ("urn:air:other:upscaler:civitai:147759@164821", None),
            ("garbage", None),
        ] {
            assert_eq!(air_ecosystem(air).map(|a| a.0), base, "{air}");
        }
        // The verdict keeps the fine-tune's name; its family and maker come from the base.
        assert_eq!(
            model_family("juggernautXL_v9Rdphoto2Lightning"),
            (Some("stability-ai"), Some("stable-diffusion"))
        );
    }
}
