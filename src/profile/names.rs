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

/// Vendor and family of a model name (a file name such as `flux1-dev.safetensors`, a
/// product model such as `GPT-4o` or `nano-banana-2`).
pub fn model_family(name: &str) -> (Option<&'static str>, Option<&'static str>) {
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
    } else if has("pony")
        || has("illustrious")
        || has("juggernaut")
        || has("realvis")
        || has("dreamshaper")
        || has("epicrealism")
        || has("realistic_vision")
        || has("animagine")
        || has("noobai")
    {
        // Community fine-tunes of Stable Diffusion: the family is known, the vendor is not
        // Stability AI's.
        (None, Some("stable-diffusion"))
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
/// Returns (code, ai): `trainedAlgorithmicMedia` and the composites are AI;
/// `digitalCapture`, `algorithmicMedia` (no training data) and friends are not;
/// `algorithmicallyEnhanced` (a correction, not a
/// generation) claims neither.
pub fn digital_source_type(value: &str) -> Option<(String, Option<bool>)> {
    let code = value.rsplit('/').next()?.trim().to_string();
    let ai = match code.as_str() {
        "trainedAlgorithmicMedia"
        | "compositeWithTrainedAlgorithmicMedia"
        | "compositeSynthetic" => Some(true),
        // Made by an algorithm without training data (a rendered gradient, a fractal).
        "algorithmicMedia" => Some(false),
        "algorithmicallyEnhanced" => None,
        "digitalCapture" | "negativeFilm" | "positiveFilm" | "print" | "minorHumanEdits"
        | "humanEdits" | "digitalArt" | "virtualRecording" | "compositeCapture"
        | "screenCapture" | "dataDrivenMedia" | "composite" => Some(false),
        _ => return None,
    };
    Some((code, ai))
}
