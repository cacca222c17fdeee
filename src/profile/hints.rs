//! Weak hints: download file names and native output sizes. They never outweigh
//! metadata (see [`super::evidence::verdict`]).

use super::evidence::{Evidence, EvidenceSource};

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Evidence from the file name as downloaded.
pub fn filename(path_name: &str, out: &mut Vec<Evidence>) {
    let name = path_name.rsplit(['/', '\\']).next().unwrap_or(path_name);
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let lower = stem.to_ascii_lowercase();
    let hint = |says: &str, w: f64, vendor: Option<&str>, tool: Option<&str>| {
        Evidence::new(
            EvidenceSource::Filename,
            format!("file name {name:?} {says}"),
            w,
        )
        .ai(true)
        .vendor(vendor)
        .tool(tool)
    };
    let e = if lower.starts_with("chatgpt image") {
        Some(hint(
            "is ChatGPT's download name",
            0.35,
            Some("openai"),
            Some("chatgpt"),
        ))
    } else if lower.starts_with("dall·e")
        || lower.starts_with("dall-e")
        || lower.starts_with("dalle")
    {
        // "DALL·E 2024-03-13 17.57.28 - prompt": the date tells the model, since DALL·E 3
        // replaced DALL·E 2 in ChatGPT on 2023-10-19
        // (https://openai.com/index/dall-e-3-is-now-available-in-chatgpt-plus-and-enterprise/).
        let date = lower
            .split_whitespace()
            .nth(1)
            .filter(|d| d.len() == 10 && d.as_bytes()[4] == b'-' && d.as_bytes()[7] == b'-');
        let (says, model) = match date {
            Some(d) if d >= "2023-10-19" => {
                ("is DALL·E 3's download name (dated)", Some("dall-e-3"))
            }
            Some(_) => (
                "is DALL·E 2's download name (dated before DALL·E 3)",
                Some("dall-e-2"),
            ),
            None => ("is DALL·E's download name", None),
        };
        Some(hint(says, 0.35, Some("openai"), None).model(model))
    } else if lower.starts_with("gemini_generated_image") {
        Some(hint(
            "is Gemini's download name",
            0.35,
            Some("google"),
            Some("gemini"),
        ))
    } else if lower.starts_with("firefly") {
        Some(hint(
            "is Adobe Firefly's download name",
            0.3,
            Some("adobe"),
            Some("firefly"),
        ))
    } else if let Some(model) = leonardo_model(&lower) {
        // Leonardo.Ai serves each generation as
        // cdn.leonardo.ai/users/<user>/generations/<uuid>/Leonardo_<Model>_<prompt>_<n>.jpg
        // (`Leonardo_Phoenix_10_…_0.jpg`, `Leonardo_Kino_XL_…_3.jpg`: the names its web app
        // downloads, as found on public pages); the model word follows the prefix.
        Some(
            hint(
                "is Leonardo.Ai's download name",
                0.3,
                Some("leonardo"),
                None,
            )
            .model(Some(model)),
        )
    } else if lower.starts_with("grok_image_") && lower.len() > "grok_image_".len() {
        // Grok's saved images: `grok_image_<id>` (`grok_image_qtfpp7.jpg`,
        // `grok_image_1789742427607.jpg` as found in public repositories).
        Some(hint("is Grok's download name", 0.25, Some("xai"), None))
    } else if lower.contains("midjourney") {
        Some(hint(
            "names Midjourney",
            0.3,
            Some("midjourney"),
            Some("midjourney"),
        ))
    } else if lower.starts_with("comfyui_") || lower.starts_with("comfyui") {
        Some(hint("is ComfyUI's output name", 0.3, None, Some("comfyui")))
    } else if stem.split('_').rev().take(2).any(is_uuid) && stem.contains('_') {
        // Midjourney: user_prompt_words_<job uuid>[_<index>].
        Some(hint(
            "ends in a job UUID as Midjourney names downloads",
            0.25,
            Some("midjourney"),
            Some("midjourney"),
        ))
    } else if let Some((idx, rest)) = stem.split_once('-') {
        // A1111: 00012-1234567890[-prompt].
        let seed = rest.split('-').next().unwrap_or("");
        (idx.len() == 5
            && idx.chars().all(|c| c.is_ascii_digit())
            && !seed.is_empty()
            && seed.chars().all(|c| c.is_ascii_digit()))
        .then(|| hint("is A1111's index-seed name", 0.25, None, Some("a1111")))
    } else {
        None
    };
    out.extend(e);
}

/// The Leonardo.Ai model a download name `Leonardo_<Model>_<prompt>_<n>` names, when the
/// name has that shape and a known model word.
fn leonardo_model(lower: &str) -> Option<&'static str> {
    let rest = lower.strip_prefix("leonardo_")?;
    let (_, n) = rest.rsplit_once('_')?;
    if n.is_empty() || n.len() > 2 || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    [
        ("phoenix_", "leonardo-phoenix"),
        ("kino_xl_", "leonardo-kino-xl"),
        ("vision_xl_", "leonardo-vision-xl"),
        ("lightning_xl_", "leonardo-lightning-xl"),
        ("diffusion_xl_", "leonardo-diffusion-xl"),
        ("anime_xl_", "leonardo-anime-xl"),
    ]
    .iter()
    .find(|(w, _)| rest.starts_with(w))
    .map(|(_, m)| *m)
}

/// Native output sizes: (width, height, vendor, note).
const NATIVE: &[(u32, u32, Option<&str>, &str)] = &[
    (1536, 1024, Some("openai"), "GPT-4o / gpt-image-1 landscape"),
    (1024, 1536, Some("openai"), "GPT-4o / gpt-image-1 portrait"),
    (1792, 1024, Some("openai"), "DALL·E 3 landscape"),
    (1024, 1792, Some("openai"), "DALL·E 3 portrait"),
    (768, 1344, Some("google"), "Gemini 9:16"),
    (1344, 768, Some("google"), "Gemini 16:9"),
    (864, 1184, Some("google"), "Gemini 3:4"),
    (1184, 864, Some("google"), "Gemini 4:3"),
    (1328, 1328, Some("alibaba"), "Qwen-Image 1:1"),
    (1456, 816, Some("midjourney"), "Midjourney 16:9"),
    (816, 1456, Some("midjourney"), "Midjourney 9:16"),
    (1232, 928, Some("midjourney"), "Midjourney 4:3"),
    (928, 1232, Some("midjourney"), "Midjourney 3:4"),
    (
        1024,
        1024,
        None,
        "1:1 of DALL·E 3, GPT-4o, SDXL, Flux and Gemini",
    ),
    (2048, 2048, None, "2K 1:1 of several generators"),
    (832, 1216, None, "SDXL / Flux portrait bucket"),
    (1216, 832, None, "SDXL / Flux landscape bucket"),
    (896, 1152, None, "SDXL / Flux portrait bucket"),
    (1152, 896, None, "SDXL / Flux landscape bucket"),
    (512, 512, None, "Stable Diffusion 1.x"),
    (512, 768, None, "Stable Diffusion 1.x portrait"),
    (768, 512, None, "Stable Diffusion 1.x landscape"),
];

/// Evidence from the pixel size, when it is a generator's native output size.
pub fn dimensions(dims: (u32, u32), out: &mut Vec<Evidence>) {
    if let Some((w, h, vendor, note)) = NATIVE.iter().find(|n| (n.0, n.1) == dims) {
        out.push(
            Evidence::new(
                EvidenceSource::Dimensions,
                format!("{w}×{h} is a native output size ({note})"),
                0.1,
            )
            .ai(true)
            .vendor(*vendor),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leonardo_and_grok_download_names_are_weak_hints_that_show_the_name() {
        let mut out = Vec::new();
        filename(
            "in/Leonardo_Kino_XL_a_portrait_of_a_woman_in_soft_window_li_3.jpg",
            &mut out,
        );
        filename("grok_image_qtfpp7.jpg", &mut out);
        let got: Vec<_> = out
            .iter()
            .map(|e| (e.vendor.as_deref(), e.model.as_deref(), e.weight <= 0.3))
            .collect();
        assert_eq!(
            got,
            [
                (Some("leonardo"), Some("leonardo-kino-xl"), true),
                (Some("xai"), None, true)
            ]
        );
        assert!(out[0].says.contains("Leonardo_Kino_XL_a_portrait"));
        // Not the shape: no model word, no index, or nothing after the prefix.
        for name in [
            "Leonardo_notes.jpg",
            "Leonardo_Phoenix_draft.jpg",
            "leonardo_da_vinci_1.jpg",
            "grok_image_.png",
        ] {
            let mut none = Vec::new();
            filename(name, &mut none);
            assert!(none.is_empty(), "{name}: {none:?}");
        }
    }
}
