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

/// The `key: value` pairs of A1111's settings line ("Steps: 20, Sampler: Euler a, ...").
/// A value runs to the next ", ", or is quoted (`Lora hashes: "a: 1, b: 2"`), or is JSON
/// (`Hashes: {…}`, Civitai's `Civitai resources: [{…},{…}]`) and runs to its closing
/// bracket, so the commas inside it do not split it.
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
        } else if let Some(end) = json_end(after) {
            (&after[..end], &after[end..])
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

/// Where a JSON array or object that opens `s` closes (the byte after its bracket), or
/// `None` when `s` does not open one or never closes it.
fn json_end(s: &str) -> Option<usize> {
    if !s.starts_with(['[', '{']) {
        return None;
    }
    let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
    for (i, b) in s.bytes().enumerate() {
        if in_str {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// The checkpoint and LoRAs of Civitai's `Civitai resources` list, written by its on-site
/// generator and by "copy generation data": `[{"type":"checkpoint","modelName":…,
/// "modelVersionName":…,"modelVersionId":…,"air":"urn:air:sdxl:checkpoint:…"},
/// {"type":"lora","weight":0.8,"modelName":…}]` (the AIR is
/// <https://developer.civitai.com/site/guide/air>).
#[derive(Debug, Default, PartialEq)]
struct CivitaiResources {
    checkpoint: Option<String>,
    version: Option<String>,
    air: Option<String>,
    loras: Vec<String>,
}

fn civitai_resources(json: &str) -> Option<CivitaiResources> {
    let list: Vec<Value> = serde_json::from_str(json).ok()?;
    let mut r = CivitaiResources::default();
    for item in &list {
        let s = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_string);
        let kind = s("type").unwrap_or_default().to_ascii_lowercase();
        let name = s("modelName");
        let air = s("air");
        let air_kind = air.as_deref().and_then(|a| {
            a.split(':')
                .find(|p| matches!(*p, "checkpoint" | "lora" | "lycoris" | "embedding" | "vae"))
        });
        match (kind.as_str(), air_kind) {
            ("checkpoint", _) | ("", Some("checkpoint")) if r.checkpoint.is_none() => {
                r.checkpoint = name.or_else(|| air.clone());
                r.version = s("modelVersionName").or_else(|| s("versionName"));
                r.air = air;
            }
            ("lora" | "lycoris" | "locon", _) | ("", Some("lora" | "lycoris")) => {
                if let Some(n) = name.or(air) {
                    r.loras.push(n);
                }
            }
            _ => {}
        }
    }
    Some(r)
}

/// LoRA names from `<lora:NAME:weight>` prompt tags and the `Lora hashes` field.
fn a1111_loras(v: &str, lora_hashes: Option<&str>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut push = |n: &str| {
        let n = n.trim();
        if !n.is_empty() && !names.iter().any(|m| m == n) && names.len() < 16 {
            names.push(n.to_string());
        }
    };
    let mut rest = v;
    while let Some(at) = rest.find("<lora:") {
        rest = &rest[at + 6..];
        let end = rest.find(['>', '\n']).unwrap_or(rest.len());
        push(rest[..end].split(':').next().unwrap_or(""));
    }
    for pair in lora_hashes.unwrap_or("").split(", ") {
        push(pair.rsplit_once(": ").map_or(pair, |(n, _)| n));
    }
    names
}

fn a1111(source: EvidenceSource, key: &str, v: &str, out: &mut Vec<Evidence>) {
    let fields = a1111_fields(v);
    let get = |k: &str| {
        fields
            .iter()
            .find(|(fk, _)| fk == k)
            .map(|(_, fv)| fv.as_str())
            .filter(|fv| !fv.is_empty())
    };
    let version = get("Version").unwrap_or("");
    let civitai = get("Civitai resources").and_then(civitai_resources);
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
    } else if version.is_empty() && (civitai.is_some() || get("Civitai metadata").is_some()) {
        // Civitai's own generator writes no `Version`; an A1111 file shared there keeps it.
        "civitai"
    } else {
        "a1111"
    };
    let checkpoint = civitai.as_ref().and_then(|c| c.checkpoint.as_deref());
    let model = get("Model").or(checkpoint).map(model_stem);
    let (mut vendor, mut family) = model.as_deref().map(model_family).unwrap_or((None, None));
    let mut base = None;
    let mut says = format!("{key}: A1111-style parameters");
    if let Some(m) = &model {
        says.push_str(&format!(", Model {m}"));
    }
    if !version.is_empty() {
        says.push_str(&format!(", Version {version}"));
    }
    // The hash names the weight file exactly, renamed or not.
    let hash: Option<String> = get("Model hash").map(str::to_string).or_else(|| {
        let h: Value = serde_json::from_str(get("Hashes")?).ok()?;
        h.get("model").and_then(Value::as_str).map(str::to_string)
    });
    let hashed = hash.as_deref().and_then(super::names::checkpoint_by_hash);
    match (&hash, hashed) {
        (Some(h), Some(c)) => {
            let file = c.file_stem().unwrap_or_default();
            says.push_str(&format!(", Model hash {h} = {file} ({})", c.base));
            base = Some(c.base);
            if vendor.is_none() && family.is_none() {
                (vendor, family) = (Some(c.vendor), Some(c.family));
            }
        }
        (Some(h), None) => says.push_str(&format!(", Model hash {h}")),
        (None, _) => {}
    }
    let model = model.or_else(|| hashed?.file_stem());
    if let Some(c) = &civitai {
        says.push_str(", Civitai resources");
        if let Some(cp) = &c.checkpoint {
            says.push_str(&format!(": checkpoint {cp}"));
            if let Some(ver) = &c.version {
                says.push_str(&format!(" {ver}"));
            }
        }
        if let Some((b, f, ven)) = c.air.as_deref().and_then(super::names::air_ecosystem) {
            says.push_str(&format!(" ({})", c.air.as_deref().unwrap_or("")));
            base = base.or(Some(b));
            if vendor.is_none() && family.is_none() {
                (vendor, family) = (Some(ven), Some(f));
            }
        }
    }
    let mut loras = a1111_loras(v, get("Lora hashes"));
    for l in civitai.iter().flat_map(|c| &c.loras) {
        if !loras.contains(l) && loras.len() < 16 {
            loras.push(l.clone());
        }
    }
    if !loras.is_empty() {
        says.push_str(&format!(", LoRA {}", loras.join(", ")));
    }
    if let Some(up) = get("Hires upscale") {
        says.push_str(&format!(", hires ×{up}"));
        if let Some(u) = get("Hires upscaler") {
            says.push_str(&format!(" with {u}"));
        }
    }
    out.push(
        Evidence::new(source, short_to(&says, 400), 0.9)
            .ai(true)
            .tool(Some(tool))
            .model(model.as_deref())
            .vendor(vendor)
            .base(base)
            .family(
                family
                    .or(Some("stable-diffusion"))
                    .filter(|_| family.is_some() || !matches!(tool, "comfyui" | "civitai")),
            ),
    );
}

fn short_to(s: &str, n: usize) -> String {
    let t: String = s.chars().take(n).collect();
    if t.len() < s.len() {
        format!("{t}…")
    } else {
        t
    }
}

fn short(s: &str) -> String {
    short_to(s, 80)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_values_in_the_settings_line_keep_their_commas() {
        let v = "a portrait\nSteps: 8, Sampler: Euler, Created Date: 2024-12-22T01:01:01Z, \
                 Civitai resources: [{\"type\":\"checkpoint\",\"modelName\":\"Mix, v2 [XL]\"},\
                 {\"type\":\"lora\",\"weight\":0.7,\"modelName\":\"Film \\\"grain\\\"\"}], \
                 Civitai metadata: {\"remixOfId\":1}, Lora hashes: \"a: 1, b: 2\", Seed: 3";
        let f = a1111_fields(v);
        let keys: Vec<&str> = f.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "Steps",
                "Sampler",
                "Created Date",
                "Civitai resources",
                "Civitai metadata",
                "Lora hashes",
                "Seed"
            ]
        );
        let r = civitai_resources(&f[3].1).unwrap();
        assert_eq!(r.checkpoint.as_deref(), Some("Mix, v2 [XL]"));
        assert_eq!(r.loras, ["Film \"grain\""]);
        assert_eq!(f[5].1, "a: 1, b: 2");
        assert_eq!(f[6].1, "3");
        // An unclosed bracket is a plain value, not the rest of the line.
        assert_eq!(json_end("[{\"a\": 1"), None);
        assert_eq!(json_end("]}"), None);
        assert_eq!(json_end("[1, [2]], x"), Some(8));
    }

    #[test]
    fn loras_come_from_prompt_tags_and_the_hash_field_once_each() {
        let v = "photo <lora:add_detail:0.5> <lora:skin:1>\nSteps: 20";
        assert_eq!(
            a1111_loras(v, Some("add_detail: 7c6bad76eb54, film: 1b2c")),
            ["add_detail", "skin", "film"]
        );
    }

    #[test]
    fn an_unknown_checkpoint_is_recognised_by_its_hash_and_a_civitai_air() {
        let mut out = Vec::new();
        a1111(
            EvidenceSource::PngText,
            "parameters",
            "x\nSteps: 20, Sampler: Euler, Model hash: 6ce0161689, Model: my_renamed",
            &mut out,
        );
        let e = &out[0];
        assert_eq!(e.model.as_deref(), Some("my_renamed"));
        assert_eq!(e.base.as_deref(), Some("sd1.5"));
        assert_eq!(e.vendor.as_deref(), Some("stability-ai"));
        assert!(e.says.contains("v1-5-pruned-emaonly"), "{}", e.says);
        out.clear();
        a1111(
            EvidenceSource::PngText,
            "parameters",
            "x\nSteps: 20, Sampler: Euler, Civitai resources: [{\"type\":\"checkpoint\",\
             \"modelName\":\"Private Mix\",\"air\":\"urn:air:flux1:checkpoint:civitai:1@2\"}]",
            &mut out,
        );
        let e = &out[0];
        assert_eq!(e.tool.as_deref(), Some("civitai"));
        assert_eq!(e.model.as_deref(), Some("Private Mix"));
        assert_eq!(
            (e.family.as_deref(), e.base.as_deref()),
            (Some("flux"), Some("flux"))
        );
        // Nothing known: Civitai hosts every family, so none is claimed.
        out.clear();
        a1111(
            EvidenceSource::PngText,
            "parameters",
            "x\nSteps: 20, Seed: 1, Civitai resources: [{\"type\":\"checkpoint\",\"modelName\":\"Q\"}]",
            &mut out,
        );
        assert_eq!(out[0].family, None);
    }
}
