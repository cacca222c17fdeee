//! Generator tool formats found in text: A1111/Forge `parameters`, ComfyUI `prompt` and
//! `workflow` graphs, InvokeAI, Fooocus, SwarmUI, NovelAI, Draw Things, Midjourney
//! descriptions, and software names. Each recognised item becomes an [`Evidence`].

use serde_json::Value;

use super::evidence::{Evidence, EvidenceSource};
use super::names::{is_weight_file, model_family, model_stem, software};

/// Longest text that is parsed as JSON or A1111 parameters (ComfyUI workflows are big).
const MAX_PARSE: usize = 16 * 1024 * 1024;

/// Evidence from one key/value text item (a PNG keyword, an EXIF field name, an XMP
/// property name).
pub fn from_text(source: EvidenceSource, key: &str, value: &str, out: &mut Vec<Evidence>) {
    let value = value.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    if value.is_empty() || value.len() > MAX_PARSE {
        return;
    }
    let lkey = key.to_ascii_lowercase();
    // ComfyUI in WebP/JPEG EXIF: "prompt:{...}" and "workflow:{...}" in Make/Model etc.
    for (prefix, kind) in [("prompt:", "prompt"), ("workflow:", "workflow")] {
        if let Some(json) = value.strip_prefix(prefix)
            && json.trim_start().starts_with('{')
        {
            comfy(source, kind, json, out);
            return;
        }
    }
    match lkey.as_str() {
        "prompt" | "workflow" if value.starts_with('{') => comfy(source, &lkey, value, out),
        "invokeai_metadata" | "sd-metadata" | "invokeai_graph" => invoke(source, &lkey, value, out),
        "dream" => out.push(
            Evidence::new(source, format!("{key}: InvokeAI dream prompt"), 0.8)
                .ai(true)
                .tool(Some("invokeai")),
        ),
        "fooocus_scheme" => out.push(
            Evidence::new(source, format!("{key}: {value}"), 0.8)
                .ai(true)
                .tool(Some("fooocus")),
        ),
        "software" | "creatortool" => software_name(source, key, value, out),
        "source" if value.to_ascii_lowercase().contains("diffusion") => {
            let model = strip_hash(value);
            let (vendor, family) = model_family(&model);
            let novel = value.to_ascii_lowercase().contains("novelai");
            out.push(
                Evidence::new(source, format!("{key}: {value}"), 0.8)
                    .ai(true)
                    .vendor(if novel { Some("novelai") } else { vendor })
                    .model(Some(&model))
                    .family(family.or(Some("stable-diffusion"))),
            );
        }
        "title" if value.eq_ignore_ascii_case("AI generated image") => {
            out.push(Evidence::new(source, format!("{key}: {value}"), 0.6).ai(true))
        }
        _ => {
            if value.starts_with('{') {
                json_params(source, key, value, out);
            } else if is_a1111(value) {
                a1111(source, key, value, out);
            } else {
                free_text(source, key, value, out);
            }
        }
    }
}

/// Removes a trailing hexadecimal hash word ("NovelAI Diffusion V4 4F49EC75").
fn strip_hash(v: &str) -> String {
    match v.rsplit_once(' ') {
        Some((head, tail)) if tail.len() == 8 && tail.chars().all(|c| c.is_ascii_hexdigit()) => {
            head.to_string()
        }
        _ => v.to_string(),
    }
}

fn is_a1111(v: &str) -> bool {
    v.contains("Steps: ")
        && (v.contains("Sampler: ") || v.contains("CFG scale: ") || v.contains("Seed: "))
}

/// The `key: value` pairs of A1111's last line ("Steps: 20, Sampler: Euler a, ...").
fn a1111_fields(v: &str) -> Vec<(String, String)> {
    let line = v
        .lines()
        .rev()
        .find(|l| l.contains("Steps: "))
        .unwrap_or("");
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(colon) = rest.find(": ") {
        let key = rest[..colon]
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_string();
        let after = &rest[colon + 2..];
        let (val, next) = if let Some(q) = after.strip_prefix('"') {
            match q.find('"') {
                Some(end) => (&q[..end], q.get(end + 1..).unwrap_or("")),
                None => (q, ""),
            }
        } else {
            match after.find(", ") {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            }
        };
        out.push((key, val.trim().to_string()));
        rest = next.trim_start_matches(',');
        if out.len() > 200 {
            break;
        }
    }
    out
}

fn a1111(source: EvidenceSource, key: &str, v: &str, out: &mut Vec<Evidence>) {
    let fields = a1111_fields(v);
    let get = |k: &str| {
        fields
            .iter()
            .find(|(fk, _)| fk == k)
            .map(|(_, fv)| fv.as_str())
    };
    let version = get("Version").unwrap_or("");
    let lv = version.to_ascii_lowercase();
    let tool = if lv.starts_with('f') && lv.chars().nth(1).is_some_and(|c| c.is_ascii_digit())
        || lv.contains("forge")
    {
        "forge"
    } else if lv.contains("fooocus") {
        "fooocus"
    } else if lv.contains("swarm") {
        "swarmui"
    } else if lv.contains("comfy") {
        "comfyui"
    } else {
        "a1111"
    };
    let model = get("Model").map(model_stem);
    let (vendor, family) = model.as_deref().map(model_family).unwrap_or((None, None));
    let mut says = format!("{key}: A1111-style parameters");
    if let Some(m) = &model {
        says.push_str(&format!(", Model {m}"));
    }
    if !version.is_empty() {
        says.push_str(&format!(", Version {version}"));
    }
    out.push(
        Evidence::new(source, says, 0.9)
            .ai(true)
            .tool(Some(tool))
            .model(model.as_deref())
            .vendor(vendor)
            .family(
                family
                    .or(Some("stable-diffusion"))
                    .filter(|_| family.is_some() || tool != "comfyui"),
            ),
    );
}

fn short(s: &str) -> String {
    let t: String = s.chars().take(80).collect();
    if t.len() < s.len() {
        format!("{t}…")
    } else {
        t
    }
}

/// Model files named by ComfyUI loader nodes, main model first.
fn comfy_models(graph: &Value) -> (Vec<String>, Vec<String>) {
    // (priority, node order, name): checkpoints and diffusion models first.
    let mut main: Vec<(u8, i64, String)> = Vec::new();
    let mut other: Vec<String> = Vec::new();
    let mut consider = |class: &str, key: &str, value: &str, order: i64| {
        if !is_weight_file(value) && !class.to_ascii_lowercase().contains("loader") {
            return;
        }
        let k = key.to_ascii_lowercase();
        let c = class.to_ascii_lowercase();
        let stem = model_stem(value);
        let prio = if k.contains("ckpt")
            || k.contains("unet")
            || c.contains("checkpoint")
            || c.contains("unet")
            || k == "model_name" && !c.contains("upscale")
        {
            if stem.to_ascii_lowercase().contains("refiner") {
                1
            } else {
                0
            }
        } else {
            2
        };
        if prio < 2 && !k.contains("lora") && !c.contains("lora") && !c.contains("upscale") {
            main.push((prio, order, stem));
        } else if !other.contains(&stem) {
            other.push(stem);
        }
    };
    if let Some(nodes) = graph.get("nodes").and_then(Value::as_array) {
        // UI graph: widgets_values hold the chosen files.
        for n in nodes.iter().take(10_000) {
            let class = n.get("type").and_then(Value::as_str).unwrap_or("");
            let order = n.get("id").and_then(Value::as_i64).unwrap_or(i64::MAX);
            let key = if class.to_ascii_lowercase().contains("unet") {
                "unet_name"
            } else {
                "ckpt_name"
            };
            if let Some(ws) = n.get("widgets_values").and_then(Value::as_array) {
                for w in ws
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|w| is_weight_file(w))
                {
                    let key = if class.to_ascii_lowercase().contains("clip") {
                        "clip_name"
                    } else if class.to_ascii_lowercase().contains("vae") {
                        "vae_name"
                    } else if class.to_ascii_lowercase().contains("lora") {
                        "lora_name"
                    } else {
                        key
                    };
                    consider(class, key, w, order);
                }
            }
        }
    } else if let Some(map) = graph.as_object() {
        // API graph: {"id": {"class_type": ..., "inputs": {...}}}.
        for (id, node) in map.iter().take(10_000) {
            let class = node.get("class_type").and_then(Value::as_str).unwrap_or("");
            let order = id.parse::<i64>().unwrap_or(i64::MAX);
            if let Some(inputs) = node.get("inputs").and_then(Value::as_object) {
                for (k, v) in inputs {
                    if let Some(s) = v
                        .as_str()
                        .filter(|_| k.ends_with("_name") || k.starts_with("clip_name"))
                    {
                        consider(class, k, s, order);
                    }
                }
            }
        }
    }
    main.sort();
    let mut models: Vec<String> = Vec::new();
    for (_, _, m) in main {
        if !models.contains(&m) {
            models.push(m);
        }
    }
    (models, other)
}

fn comfy(source: EvidenceSource, kind: &str, json: &str, out: &mut Vec<Evidence>) {
    let graph: Value = match serde_json::from_str(json) {
        Ok(v) => v,
        Err(_) => {
            out.push(
                Evidence::new(
                    source,
                    format!("{kind}: ComfyUI graph (unreadable JSON)"),
                    0.6,
                )
                .ai(true)
                .tool(Some("comfyui")),
            );
            return;
        }
    };
    let (models, others) = comfy_models(&graph);
    let main = models.first().cloned();
    // Family from the main model, else from the text encoders and VAE.
    let (mut vendor, mut family) = main.as_deref().map(model_family).unwrap_or((None, None));
    if family.is_none() {
        for o in &others {
            let (v, f) = model_family(o);
            if f.is_some() {
                (vendor, family) = (v, f);
                break;
            }
        }
    }
    let mut says = format!(
        "{kind}: ComfyUI {} graph",
        if graph.get("nodes").is_some() {
            "UI"
        } else {
            "API"
        }
    );
    if !models.is_empty() {
        says.push_str(&format!(", model {}", models.join(" + ")));
    }
    if !others.is_empty() {
        says.push_str(&format!(", with {}", short(&others.join(", "))));
    }
    out.push(
        Evidence::new(source, says, if kind == "prompt" { 0.9 } else { 0.85 })
            .ai(true)
            .tool(Some("comfyui"))
            .model(main.as_deref())
            .vendor(vendor)
            .family(family),
    );
}

fn invoke(source: EvidenceSource, key: &str, json: &str, out: &mut Vec<Evidence>) {
    let v: Value = serde_json::from_str(json).unwrap_or(Value::Null);
    let model = v
        .pointer("/model/name")
        .or_else(|| v.pointer("/model/model_name"))
        .or_else(|| v.get("model_weights"))
        .or_else(|| v.pointer("/image/model"))
        .and_then(Value::as_str)
        .or_else(|| v.get("model").and_then(Value::as_str))
        .map(model_stem);
    let base = v
        .pointer("/model/base")
        .and_then(Value::as_str)
        .unwrap_or("");
    let (vendor, mut family) = model.as_deref().map(model_family).unwrap_or((None, None));
    if family.is_none() {
        family = match base {
            b if b.contains("flux") => Some("flux"),
            b if b.starts_with("sd") => Some("stable-diffusion"),
            _ => None,
        };
    }
    let version = v.get("app_version").and_then(Value::as_str).unwrap_or("");
    let mut says = format!("{key}: InvokeAI metadata");
    if let Some(m) = &model {
        says.push_str(&format!(", model {m}"));
    }
    if !base.is_empty() {
        says.push_str(&format!(" (base {base})"));
    }
    if !version.is_empty() {
        says.push_str(&format!(", version {version}"));
    }
    out.push(
        Evidence::new(source, says, 0.9)
            .ai(true)
            .tool(Some("invokeai"))
            .model(model.as_deref())
            .vendor(vendor.or(if family == Some("flux") {
                Some("black-forest-labs")
            } else {
                None
            }))
            .family(family),
    );
}

/// JSON parameters: Fooocus, SwarmUI, Draw Things, NovelAI Comment, generic.
fn json_params(source: EvidenceSource, key: &str, json: &str, out: &mut Vec<Evidence>) {
    let Ok(v) = serde_json::from_str::<Value>(json) else {
        free_text(source, key, json, out);
        return;
    };
    let s = |p: &str| v.pointer(p).and_then(Value::as_str);
    let (tool, model, label) = if let Some(sui) = v.get("sui_image_params") {
        let m = sui.get("model").and_then(Value::as_str);
        (Some("swarmui"), m, "SwarmUI parameters")
    } else if s("/version").is_some_and(|x| x.to_ascii_lowercase().contains("fooocus"))
        || v.get("base_model").is_some()
    {
        (Some("fooocus"), s("/base_model"), "Fooocus parameters")
    } else if v.get("c").is_some() && v.get("model").is_some() {
        (Some("draw-things"), s("/model"), "Draw Things parameters")
    } else if v.get("prompt").is_some() && v.get("steps").is_some() && v.get("uc").is_some() {
        (Some("novelai"), None, "NovelAI generation settings")
    } else if v.get("prompt").is_some() && (v.get("steps").is_some() || v.get("seed").is_some()) {
        (None, s("/model"), "generation parameters")
    } else {
        return;
    };
    let model = model.map(model_stem);
    let (mut vendor, family) = model.as_deref().map(model_family).unwrap_or((None, None));
    if tool == Some("novelai") {
        vendor = Some("novelai");
    }
    let mut says = format!("{key}: {label}");
    if let Some(m) = &model {
        says.push_str(&format!(", model {m}"));
    }
    out.push(
        Evidence::new(source, says, 0.85)
            .ai(true)
            .tool(tool)
            .model(model.as_deref())
            .vendor(vendor)
            .family(family),
    );
}

/// Midjourney descriptions ("… --v 6.1 Job ID: …"), "Made with Google AI" and the like.
fn free_text(source: EvidenceSource, key: &str, v: &str, out: &mut Vec<Evidence>) {
    let lower = v.to_ascii_lowercase();
    if lower.contains("job id:") {
        let model = mj_version(v);
        out.push(
            Evidence::new(
                source,
                format!(
                    "{key}: Midjourney job description{}",
                    model
                        .as_deref()
                        .map(|m| format!(" ({m})"))
                        .unwrap_or_default()
                ),
                0.9,
            )
            .ai(true)
            .vendor(Some("midjourney"))
            .tool(Some("midjourney"))
            .family(Some("midjourney"))
            .model(model.as_deref()),
        );
    } else if lower.contains("made with google ai") || lower.contains("edited with google ai") {
        out.push(
            Evidence::new(source, format!("{key}: {}", short(v)), 0.8)
                .ai(true)
                .vendor(Some("google"))
                .family(Some("gemini")),
        );
    } else if (key.eq_ignore_ascii_case("description") || key.eq_ignore_ascii_case("comment"))
        && let Some(m) = mj_version(v)
    {
        out.push(
            Evidence::new(source, format!("{key}: Midjourney parameters ({m})"), 0.6)
                .ai(true)
                .vendor(Some("midjourney"))
                .tool(Some("midjourney"))
                .family(Some("midjourney"))
                .model(Some(&m)),
        );
    }
}

/// "--v 6.1" → "v6.1", "--niji 6" → "niji 6".
fn mj_version(v: &str) -> Option<String> {
    let words: Vec<&str> = v.split_whitespace().collect();
    for w in words.windows(2) {
        match w[0] {
            "--v" | "--version" => return Some(format!("v{}", w[1])),
            "--niji" => return Some(format!("niji {}", w[1])),
            _ => {}
        }
    }
    words.contains(&"--niji").then(|| "niji".to_string())
}

/// Software names that are generators.
fn software_name(source: EvidenceSource, key: &str, v: &str, out: &mut Vec<Evidence>) {
    let (vendor, tool) = software(v);
    let l = v.to_ascii_lowercase();
    let generator = tool.is_some()
        || [
            "dall",
            "gpt",
            "chatgpt",
            "sora",
            "gemini",
            "imagen",
            "midjourney",
            "stable diffusion",
            "novelai",
            "ideogram",
            "leonardo",
            "grok",
            "aurora",
            "flux",
            "designer",
            "bing image",
            "meta ai",
            "tongyi",
            "wanxiang",
        ]
        .iter()
        .any(|g| l.contains(g));
    if generator {
        let (mv, family) = model_family(v);
        out.push(
            Evidence::new(source, format!("{key}: {}", short(v)), 0.8)
                .ai(true)
                .vendor(vendor.or(mv))
                .tool(tool)
                .family(family.filter(|f| *f != "firefly")),
        );
    } else {
        out.push(Evidence::new(
            source,
            format!("{key}: {} (not a generator)", short(v)),
            0.05,
        ));
    }
}
