//! Fixtures this crate writes itself, one per generator format and tool, named for the
//! verdict they must get; each profile is pinned as a JSON snapshot. The files are also
//! left in `target/realskin-fixtures/` for a person to inspect.

use std::io::Cursor;

use realskin::meta::{
    self, EmbedMetadata, ExifValue, TextEntry, TextKind, build_exif, user_comment_bytes,
};
use realskin::profile::{self, EditInfo, GeneratorProfile, ProfileOptions};

fn encode(format: image::ImageFormat, w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, format)
        .expect("encode fixture");
    out.into_inner()
}

fn png() -> Vec<u8> {
    encode(image::ImageFormat::Png, 64, 48)
}
fn jpeg() -> Vec<u8> {
    encode(image::ImageFormat::Jpeg, 64, 48)
}
fn webp() -> Vec<u8> {
    encode(image::ImageFormat::WebP, 64, 48)
}

fn text(kind: TextKind, key: &str, value: &str) -> TextEntry {
    TextEntry {
        kind,
        key: key.to_string(),
        value: value.to_string(),
    }
}

fn with_text(entries: Vec<TextEntry>) -> Vec<u8> {
    meta::embed(
        &png(),
        &EmbedMetadata {
            text: entries,
            ..EmbedMetadata::default()
        },
    )
    .unwrap()
}

fn with_exif(base: Vec<u8>, ifd0: &[(u16, ExifValue)], sub: &[(u16, ExifValue)]) -> Vec<u8> {
    meta::embed(
        &base,
        &EmbedMetadata {
            exif: Some(build_exif(ifd0, sub)),
            ..EmbedMetadata::default()
        },
    )
    .unwrap()
}

fn with_xmp(base: Vec<u8>, description: &str) -> Vec<u8> {
    let xmp = format!(
        r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">{description}</rdf:RDF></x:xmpmeta><?xpacket end="w"?>"#
    );
    meta::embed(
        &base,
        &EmbedMetadata {
            xmp: Some(xmp),
            ..EmbedMetadata::default()
        },
    )
    .unwrap()
}

const A1111: &str = "portrait photo of a woman, freckles\nNegative prompt: cartoon\nSteps: 30, Sampler: DPM++ 2M Karras, CFG scale: 6, Seed: 1234, Size: 1024x1024, Model hash: 31e35c80fc, Model: sd_xl_base_1.0, Version: v1.10.1";
const FORGE: &str = "a man in a suit\nSteps: 20, Sampler: Euler, Schedule type: Simple, CFG scale: 1, Distilled CFG Scale: 3.5, Seed: 42, Size: 896x1152, Model hash: bea01d51bd, Model: flux1-dev-bnb-nf4-v2, Version: f2.0.1v1.10.1-previous-313-g8a042934";
const COMFY_PROMPT: &str = r#"{"4": {"inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}, "class_type": "CheckpointLoaderSimple"}, "12": {"inputs": {"ckpt_name": "sd_xl_refiner_1.0.safetensors"}, "class_type": "CheckpointLoaderSimple"}, "6": {"inputs": {"text": "a photo", "clip": ["4", 1]}, "class_type": "CLIPTextEncode"}}"#;
const COMFY_FLUX_PROMPT: &str = r#"{"12": {"inputs": {"unet_name": "flux1-dev.safetensors", "weight_dtype": "default"}, "class_type": "UNETLoader"}, "11": {"inputs": {"clip_name1": "t5xxl_fp16.safetensors", "clip_name2": "clip_l.safetensors", "type": "flux"}, "class_type": "DualCLIPLoader"}, "10": {"inputs": {"vae_name": "ae.safetensors"}, "class_type": "VAELoader"}}"#;
const COMFY_FLUX_WORKFLOW: &str = r#"{"last_node_id": 12, "nodes": [{"id": 12, "type": "UNETLoader", "widgets_values": ["flux1-dev.safetensors", "default"]}, {"id": 11, "type": "DualCLIPLoader", "widgets_values": ["t5xxl_fp16.safetensors", "clip_l.safetensors", "flux"]}]}"#;
const INVOKE: &str = r#"{"generation_mode": "txt2img", "positive_prompt": "a portrait", "model": {"key": "abc", "hash": "blake3:1", "name": "Juggernaut XL v9", "base": "sdxl", "type": "main"}, "app_version": "5.6.0"}"#;
const FOOOCUS: &str = r#"{"prompt": "a portrait", "negative_prompt": "", "base_model": "juggernautXL_v8Rundiffusion.safetensors", "refiner_model": "None", "steps": 30, "version": "Fooocus v2.5.5"}"#;
const SWARM: &str = r#"{"sui_image_params": {"prompt": "a portrait", "model": "flux1-dev", "seed": 1, "steps": 20, "swarm_version": "0.9.5.2"}, "sui_extra_data": {"date": "2025-01-01"}}"#;
const NOVEL_COMMENT: &str = r#"{"prompt": "1girl, portrait", "steps": 28, "height": 1216, "width": 832, "scale": 5.0, "uc": "lowres", "sampler": "k_euler_ancestral"}"#;
const DRAW_THINGS: &str = r#"<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"><xmp:CreatorTool>Draw Things</xmp:CreatorTool><dc:description><rdf:Alt><rdf:li xml:lang="x-default">a portrait, 35mm</rdf:li></rdf:Alt></dc:description><exif:UserComment><rdf:Alt><rdf:li xml:lang="x-default">{"c":"a portrait, 35mm","model":"sd_xl_base_1.0_f16.ckpt","sampler":"DPM++ 2M Karras","seed":1,"steps":30}</rdf:li></rdf:Alt></exif:UserComment></rdf:Description>"#;
const MIDJOURNEY: &str = r#"<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" xmlns:dc="http://purl.org/dc/elements/1.1/" Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"><dc:description><rdf:Alt><rdf:li xml:lang="x-default">close-up portrait of an old fisherman --ar 4:5 --v 6.1 Job ID: 3f1c2a8e-1b2c-4d5e-8f90-1234567890ab</rdf:li></rdf:Alt></dc:description></rdf:Description>"#;
const NIJI: &str = r#"<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" dc:format="image/jpeg"><dc:description>anime girl in the rain --niji 6 Job ID: 0a1b2c3d-1111-2222-3333-444455556666</dc:description></rdf:Description>"#;
const A1111_FINETUNE_XL: &str = "portrait photo of a woman, freckles\nNegative prompt: cartoon\nSteps: 6, Sampler: DPM++ SDE Karras, CFG scale: 2, Seed: 77, Size: 832x1216, Model hash: c9e3e68f89, Model: juggernautXL_v9Rdphoto2Lightning, Version: v1.10.1";
const A1111_FINETUNE_15: &str = "portrait photo of a man\nSteps: 25, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 5, Size: 512x768, Model hash: 15012c538f, Model: realisticVisionV60B1_v51HyperVAE, Version: v1.9.4";
/// Civitai's on-site generator: no `Model:` or `Version:`; the checkpoint (an unlisted
/// name) and its LoRA are in `Civitai resources`, the base in the checkpoint's AIR.
const CIVITAI: &str = r#"portrait photo of a woman, film grain
Negative prompt: cartoon
Steps: 28, Sampler: Euler, CFG scale: 3.5, Seed: 99, Size: 832x1216, Clip skip: 2, Created Date: 2024-11-02T10:15:00.1234567Z, Civitai resources: [{"type":"checkpoint","modelVersionId":2002,"modelName":"Studio Portrait, Mix","modelVersionName":"v3","air":"urn:air:flux1:checkpoint:civitai:1001@2002"},{"type":"lora","weight":0.6,"modelVersionId":3003,"modelName":"Skin Detail"}], Civitai metadata: {"remixOfId":5}"#;
/// A renamed SD 1.5 file: the name is unknown, the `Model hash` is v1-5-pruned-emaonly's.
const A1111_RENAMED_15: &str = "portrait of a man <lora:add_detail:0.5>\nSteps: 25, Sampler: DPM++ 2M, CFG scale: 7, Seed: 5, Size: 512x768, Model hash: 6ce0161689, Model: studio_model_final, Hires upscale: 2, Hires upscaler: 4x-UltraSharp, Lora hashes: \"add_detail: 7c6bad76eb54\", Version: v1.10.1";
const DST_ALGORITHMIC: &str = r#"<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"><Iptc4xmpExt:DigitalSourceType>http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia</Iptc4xmpExt:DigitalSourceType></rdf:Description>"#;
const DST_ONLY: &str = r#"<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"><Iptc4xmpExt:DigitalSourceType>http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia</Iptc4xmpExt:DigitalSourceType></rdf:Description>"#;

fn iim_credit(credit: &str) -> Vec<u8> {
    let mut v = vec![0x1C, 2, 110, 0, credit.len() as u8];
    v.extend_from_slice(credit.as_bytes());
    v
}

/// (file name, bytes): the name (or, for download-name hints, the folder) says the
/// expected verdict.
fn fixtures() -> Vec<(String, Vec<u8>)> {
    let comfy_flux = with_text(vec![
        text(TextKind::Text, "prompt", COMFY_FLUX_PROMPT),
        text(TextKind::Text, "workflow", COMFY_FLUX_WORKFLOW),
    ]);
    let mut v: Vec<(String, Vec<u8>)> = vec![
        (
            "ai_a1111_sdxl_png-text.png".into(),
            with_text(vec![text(TextKind::Text, "parameters", A1111)]),
        ),
        (
            "ai_a1111_sdxl_png-itxt.png".into(),
            with_text(vec![text(
                TextKind::Itxt,
                "parameters",
                &format!("{A1111} ✓"),
            )]),
        ),
        (
            "ai_forge_flux_png-text.png".into(),
            with_text(vec![text(TextKind::Text, "parameters", FORGE)]),
        ),
        (
            "ai_a1111_sdxl_jpeg-exif-usercomment.jpg".into(),
            with_exif(
                jpeg(),
                &[],
                &[(
                    0x9286,
                    ExifValue::Undefined(user_comment_bytes(&format!("{A1111} – ü"))),
                )],
            ),
        ),
        (
            "ai_a1111_sdxl_webp-exif-usercomment.webp".into(),
            with_exif(
                webp(),
                &[],
                &[(0x9286, ExifValue::Undefined(user_comment_bytes(A1111)))],
            ),
        ),
        (
            "ai_comfyui_flux_png-prompt-workflow.png".into(),
            comfy_flux.clone(),
        ),
        (
            "ai_comfyui_sdxl_webp-exif-prompt.webp".into(),
            with_exif(
                webp(),
                &[
                    (
                        0x010F,
                        ExifValue::Ascii(
                            format!("workflow:{COMFY_FLUX_WORKFLOW}")
                                .replace("flux1-dev", "sd_xl_base_1.0"),
                        ),
                    ),
                    (0x0110, ExifValue::Ascii(format!("prompt:{COMFY_PROMPT}"))),
                ],
                &[],
            ),
        ),
        (
            "ai_invokeai_sdxl_png-text.png".into(),
            with_text(vec![text(TextKind::Text, "invokeai_metadata", INVOKE)]),
        ),
        (
            "ai_fooocus_sdxl_png-text.png".into(),
            with_text(vec![
                text(TextKind::Text, "parameters", FOOOCUS),
                text(TextKind::Text, "fooocus_scheme", "fooocus"),
            ]),
        ),
        (
            "ai_swarmui_flux_png-text.png".into(),
            with_text(vec![text(TextKind::Text, "parameters", SWARM)]),
        ),
        (
            "ai_novelai_v4_png-text.png".into(),
            with_text(vec![
                text(TextKind::Text, "Title", "AI generated image"),
                text(TextKind::Text, "Description", "1girl, portrait"),
                text(TextKind::Text, "Software", "NovelAI"),
                text(TextKind::Text, "Source", "NovelAI Diffusion V4 4F49EC75"),
                text(TextKind::Text, "Comment", NOVEL_COMMENT),
            ]),
        ),
        (
            "ai_draw-things_sdxl_xmp.png".into(),
            with_xmp(png(), DRAW_THINGS),
        ),
        (
            "ai_midjourney_v6-1_xmp.png".into(),
            with_xmp(png(), MIDJOURNEY),
        ),
        (
            "ai_midjourney_niji-6_xmp.jpg".into(),
            with_xmp(jpeg(), NIJI),
        ),
        (
            "ai_vendor-unknown_iptc-dst-only.jpg".into(),
            with_xmp(jpeg(), DST_ONLY),
        ),
        (
            // A ComfyUI file saved with the workflow only (no API `prompt`).
            "ai_comfyui_flux_png-workflow-only.png".into(),
            with_text(vec![text(TextKind::Text, "workflow", COMFY_FLUX_WORKFLOW)]),
        ),
        (
            "not-ai_iptc-dst-algorithmic-media.jpg".into(),
            with_xmp(jpeg(), DST_ALGORITHMIC),
        ),
        (
            "ai_a1111_juggernaut-xl-sdxl_png-text.png".into(),
            with_text(vec![text(TextKind::Text, "parameters", A1111_FINETUNE_XL)]),
        ),
        (
            "ai_civitai_flux-by-air_png-text.png".into(),
            with_text(vec![text(TextKind::Text, "parameters", CIVITAI)]),
        ),
        (
            "ai_a1111_sd15-by-hash_jpeg-exif-usercomment.jpg".into(),
            with_exif(
                jpeg(),
                &[],
                &[(
                    0x9286,
                    ExifValue::Undefined(user_comment_bytes(A1111_RENAMED_15)),
                )],
            ),
        ),
        (
            // UTF-16 little-endian after the UNICODE prefix (A1111 writes big-endian).
            "ai_a1111_realistic-vision-sd15_jpeg-exif-usercomment-le.jpg".into(),
            with_exif(
                jpeg(),
                &[],
                &[(
                    0x9286,
                    ExifValue::Undefined({
                        let mut v = b"UNICODE\0".to_vec();
                        v.extend(A1111_FINETUNE_15.encode_utf16().flat_map(u16::to_le_bytes));
                        v
                    }),
                )],
            ),
        ),
        (
            "weak-ai_openai/DALL·E 2024-03-13 17.57.28 - a portrait of a woman.png".into(),
            png(),
        ),
        (
            "ai_google_iptc-iim-credit.jpg".into(),
            meta::embed(
                &jpeg(),
                &EmbedMetadata {
                    iptc: Some(iim_credit("Made with Google AI")),
                    ..EmbedMetadata::default()
                },
            )
            .unwrap(),
        ),
        (
            "weak-ai_openai/ChatGPT Image Mar 3, 2025, 10_15_01 AM.png".into(),
            png(),
        ),
        (
            "weak-ai_google/Gemini_Generated_Image_k3j9x2.png".into(),
            png(),
        ),
        ("weak-ai_a1111/00012-3456789012.png".into(), png()),
        (
            "weak-ai_leonardo/Leonardo_Phoenix_10_a_portrait_of_a_woman_in_soft_window_li_0.jpg"
                .into(),
            jpeg(),
        ),
        ("weak-ai_xai/grok_image_qtfpp7.jpg".into(), jpeg()),
        (
            "ai-null_native-size_1536x1024.png".into(),
            encode(image::ImageFormat::Png, 1536, 1024),
        ),
        ("ai-null_plain.png".into(), png()),
    ];
    v.push(("not-ai_camera-exif.jpg".into(), camera_jpeg()));
    // An output of realskin made from the ComfyUI Flux fixture.
    let raw = meta::read(&comfy_flux);
    let prof = profile::profile_metadata("in.png", &comfy_flux, None);
    let edit = EditInfo {
        version: "0.1.0".into(),
        changed: "skin texture".into(),
        when: Some("2026-01-01T00:00:00Z".into()),
        pixels_upright: false,
    };
    let out = profile::output_provenance(&raw, &prof.verdict, &edit);
    v.push((
        "ai_realskin-output_comfyui-flux.png".into(),
        meta::embed(&png(), &out.embed).unwrap(),
    ));
    v
}

/// A JPEG whose EXIF says Canon EOS R5, 1/200 s.
fn camera_jpeg() -> Vec<u8> {
    let mut exif = build_exif(
        &[
            (0x010F, ExifValue::Ascii("Canon".into())),
            (0x0110, ExifValue::Ascii("Canon EOS R5".into())),
        ],
        &[(0x829A, ExifValue::Long(0))],
    );
    // Turn the placeholder LONG into RATIONAL 1/200 stored at the end of the block.
    let at = exif.len() as u32;
    exif.extend_from_slice(&1u32.to_le_bytes());
    exif.extend_from_slice(&200u32.to_le_bytes());
    let pos = exif
        .windows(4)
        .position(|w| w == [0x9A, 0x82, 4, 0])
        .unwrap();
    exif[pos + 2..pos + 4].copy_from_slice(&5u16.to_le_bytes());
    exif[pos + 8..pos + 12].copy_from_slice(&at.to_le_bytes());
    meta::embed(
        &jpeg(),
        &EmbedMetadata {
            exif: Some(exif),
            ..EmbedMetadata::default()
        },
    )
    .unwrap()
}

fn profile_of(name: &str, bytes: &[u8]) -> GeneratorProfile {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("realskin-fixtures");
    // Weak-hint fixtures keep the download name, so the verdict is in the folder name.
    std::fs::create_dir_all(dir.join(name).parent().unwrap()).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
    let p = profile::profile_path(&dir.join(name), None, &ProfileOptions::default()).unwrap();
    // The streamed and in-memory profiles agree apart from the path.
    let mut mem = profile::profile_metadata(&p.file, bytes, None);
    mem.file.clone_from(&p.file);
    assert_eq!(mem, p, "{name}");
    let mut p = p;
    p.file = name.to_string();
    p
}

/// (name, ai, vendor, tool, model, family, preset)
type Want = (
    &'static str,
    Option<bool>,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
);

const EXPECTED: &[Want] = &[
    (
        "ai_a1111_sdxl_png-text.png",
        Some(true),
        Some("stability-ai"),
        Some("a1111"),
        Some("sd_xl_base_1.0"),
        Some("stable-diffusion"),
        "stable-diffusion",
    ),
    (
        "ai_a1111_sdxl_png-itxt.png",
        Some(true),
        Some("stability-ai"),
        Some("a1111"),
        Some("sd_xl_base_1.0"),
        Some("stable-diffusion"),
        "stable-diffusion",
    ),
    (
        "ai_forge_flux_png-text.png",
        Some(true),
        Some("black-forest-labs"),
        Some("forge"),
        Some("flux1-dev-bnb-nf4-v2"),
        Some("flux"),
        "flux",
    ),
    (
        "ai_a1111_sdxl_jpeg-exif-usercomment.jpg",
        Some(true),
        Some("stability-ai"),
        Some("a1111"),
        Some("sd_xl_base_1.0"),
        Some("stable-diffusion"),
        "stable-diffusion",
    ),
    (
        "ai_a1111_sdxl_webp-exif-usercomment.webp",
        Some(true),
        Some("stability-ai"),
        Some("a1111"),
        Some("sd_xl_base_1.0"),
        Some("stable-diffusion"),
        "stable-diffusion",
    ),
    (
        "ai_comfyui_flux_png-prompt-workflow.png",
        Some(true),
        Some("black-forest-labs"),
        Some("comfyui"),
        Some("flux1-dev"),
        Some("flux"),
        "flux",
    ),
    (
        "ai_comfyui_sdxl_webp-exif-prompt.webp",
        Some(true),
        Some("stability-ai"),
        Some("comfyui"),
        Some("sd_xl_base_1.0"),
        Some("stable-diffusion"),
        "stable-diffusion",
    ),
    (
        "ai_invokeai_sdxl_png-text.png",
        Some(true),
        Some("stability-ai"),
        Some("invokeai"),
        Some("Juggernaut XL v9"),
        Some("stable-diffusion"),
        "stable-diffusion",
    ),
    (
        "ai_fooocus_sdxl_png-text.png",
        Some(true),
        Some("stability-ai"),
        Some("fooocus"),
        Some("juggernautXL_v8Rundiffusion"),
        Some("stable-diffusion"),
        "stable-diffusion",
    ),
    (
        "ai_swarmui_flux_png-text.png",
        Some(true),
        Some("black-forest-labs"),
        Some("swarmui"),
        Some("flux1-dev"),
        Some("flux"),
        "flux",
    ),
    (
        "ai_novelai_v4_png-text.png",
        Some(true),
        Some("novelai"),
        Some("novelai"),
        Some("NovelAI Diffusion V4"),
        Some("stable-diffusion"),
        "stable-diffusion",
    ),
    (
        "ai_draw-things_sdxl_xmp.png",
        Some(true),
        Some("stability-ai"),
        Some("draw-things"),
        Some("sd_xl_base_1.0_f16"),
        Some("stable-diffusion"),
        "stable-diffusion",
    ),
    (
        "ai_midjourney_v6-1_xmp.png",
        Some(true),
        Some("midjourney"),
        Some("midjourney"),
        Some("v6.1"),
        Some("midjourney"),
        "midjourney",
    ),
    (
        "ai_midjourney_niji-6_xmp.jpg",
        Some(true),
        Some("midjourney"),
        Some("midjourney"),
        Some("niji 6"),
        Some("midjourney"),
        "midjourney",
    ),
    (
        "ai_vendor-unknown_iptc-dst-only.jpg",
        Some(true),
        None,
        None,
        None,
        None,
        "generic",
    ),
    (
        "ai_google_iptc-iim-credit.jpg",
        Some(true),
        Some("google"),
        None,
        None,
        Some("gemini"),
        "gemini",
    ),
    (
        "weak-ai_openai/ChatGPT Image Mar 3, 2025, 10_15_01 AM.png",
        Some(true),
        Some("openai"),
        Some("chatgpt"),
        None,
        None,
        "openai",
    ),
    (
        "weak-ai_google/Gemini_Generated_Image_k3j9x2.png",
        Some(true),
        Some("google"),
        Some("gemini"),
        None,
        None,
        "gemini",
    ),
    (
        "weak-ai_leonardo/Leonardo_Phoenix_10_a_portrait_of_a_woman_in_soft_window_li_0.jpg",
        Some(true),
        Some("leonardo"),
        None,
        Some("leonardo-phoenix"),
        None,
        "generic",
    ),
    (
        "weak-ai_xai/grok_image_qtfpp7.jpg",
        Some(true),
        Some("xai"),
        None,
        None,
        None,
        "generic",
    ),
    (
        "weak-ai_a1111/00012-3456789012.png",
        Some(true),
        None,
        Some("a1111"),
        None,
        None,
        "stable-diffusion",
    ),
    (
        "ai-null_native-size_1536x1024.png",
        None,
        None,
        None,
        None,
        None,
        "generic",
    ),
    ("ai-null_plain.png", None, None, None, None, None, "generic"),
    (
        "ai_comfyui_flux_png-workflow-only.png",
        Some(true),
        Some("black-forest-labs"),
        Some("comfyui"),
        Some("flux1-dev"),
        Some("flux"),
        "flux",
    ),
    (
        "not-ai_iptc-dst-algorithmic-media.jpg",
        Some(false),
        None,
        None,
        None,
        None,
        "generic",
    ),
    (
        "ai_a1111_juggernaut-xl-sdxl_png-text.png",
        Some(true),
        Some("stability-ai"),
        Some("a1111"),
        Some("juggernautXL_v9Rdphoto2Lightning"),
        Some("stable-diffusion"),
        "stable-diffusion",
    ),
    (
        "ai_civitai_flux-by-air_png-text.png",
        Some(true),
        Some("black-forest-labs"),
        Some("civitai"),
        Some("Studio Portrait, Mix"),
        Some("flux"),
        "flux",
    ),
    (
        "ai_a1111_sd15-by-hash_jpeg-exif-usercomment.jpg",
        Some(true),
        Some("stability-ai"),
        Some("a1111"),
        Some("studio_model_final"),
        Some("stable-diffusion"),
        "stable-diffusion",
    ),
    (
        "ai_a1111_realistic-vision-sd15_jpeg-exif-usercomment-le.jpg",
        Some(true),
        Some("stability-ai"),
        Some("a1111"),
        Some("realisticVisionV60B1_v51HyperVAE"),
        Some("stable-diffusion"),
        "stable-diffusion",
    ),
    (
        "weak-ai_openai/DALL·E 2024-03-13 17.57.28 - a portrait of a woman.png",
        Some(true),
        Some("openai"),
        None,
        Some("dall-e-3"),
        None,
        "openai",
    ),
    (
        "not-ai_camera-exif.jpg",
        Some(false),
        None,
        None,
        None,
        None,
        "generic",
    ),
    (
        "ai_realskin-output_comfyui-flux.png",
        Some(true),
        Some("black-forest-labs"),
        Some("comfyui"),
        Some("flux1-dev"),
        Some("flux"),
        "flux",
    ),
];

#[test]
fn every_fixture_gets_its_verdict() {
    let fixtures = fixtures();
    assert_eq!(fixtures.len(), EXPECTED.len());
    for (name, bytes) in &fixtures {
        let p = profile_of(name, bytes);
        let want = EXPECTED
            .iter()
            .find(|w| w.0 == name)
            .unwrap_or_else(|| panic!("no expectation for {name}"));
        let v = &p.verdict;
        let got = (
            v.ai,
            v.vendor.as_deref(),
            v.tool.as_deref(),
            v.model.as_deref(),
            v.family.as_deref(),
            p.preset.preset.name(),
        );
        assert_eq!(
            got,
            (want.1, want.2, want.3, want.4, want.5, want.6),
            "{name}: {:#?}",
            v.evidence
        );
        assert!(p.warnings.is_empty(), "{name}: {:?}", p.warnings);
        if name.starts_with("weak-") {
            assert_eq!(v.basis, "weak-hints-only", "{name}");
            assert!(v.confidence <= 0.4, "{name}");
        }
        insta::assert_json_snapshot!(name.replace([' ', ',', '/'], "_"), p);
    }
}

#[test]
fn realskin_output_declares_ai_origin_and_names_the_edit() {
    let (_, bytes) = fixtures()
        .into_iter()
        .find(|(n, _)| n.starts_with("ai_realskin-output"))
        .unwrap();
    let p = profile::profile_metadata("out.png", &bytes, None);
    assert_eq!(p.verdict.ai, Some(true));
    assert_eq!(
        p.digital_source_type.as_deref(),
        Some("compositeWithTrainedAlgorithmicMedia")
    );
    let edit = p.realskin_edit.expect("realskin's edit is recognised");
    assert_eq!(edit.agent, "realskin 0.1.0");
    assert_eq!(edit.changed.as_deref(), Some("skin texture"));
    // The generator's own text chunks were carried over.
    assert!(
        p.verdict
            .evidence
            .iter()
            .any(|e| e.says.contains("ComfyUI"))
    );
}

#[test]
fn realskin_output_of_a_trained_original_becomes_composite_and_keeps_history() {
    let original = with_xmp(png(), MIDJOURNEY);
    let raw = meta::read(&original);
    let prof = profile::profile_metadata("mj.png", &original, None);
    let edit = EditInfo {
        version: "9.9.9".into(),
        changed: "skin".into(),
        when: None,
        pixels_upright: false,
    };
    let first = profile::output_provenance(&raw, &prof.verdict, &edit);
    assert!(
        first
            .embed
            .xmp
            .as_deref()
            .unwrap()
            .contains("compositeWithTrainedAlgorithmicMedia")
    );
    assert!(
        !first
            .embed
            .xmp
            .as_deref()
            .unwrap()
            .contains("/trainedAlgorithmicMedia")
    );
    // Editing the output again appends a second history entry.
    let out1 = meta::embed(&png(), &first.embed).unwrap();
    let raw2 = meta::read(&out1);
    let second = profile::output_provenance(
        &raw2,
        &profile::profile_metadata("o.png", &out1, None).verdict,
        &edit,
    );
    assert_eq!(
        second
            .embed
            .xmp
            .as_deref()
            .unwrap()
            .matches("realskin 9.9.9")
            .count(),
        2
    );
    let p = profile::profile_metadata("o2.png", &meta::embed(&png(), &second.embed).unwrap(), None);
    assert_eq!(p.verdict.vendor.as_deref(), Some("midjourney"));
    assert!(p.realskin_edit.is_some());
}

/// Found by the xmp fuzz target: an attribute without its closing quote made the edited
/// packet malformed. Now the editor refuses it and writes a fresh packet.
#[test]
fn regression_fuzz_xmp_unclosed_attribute_gets_a_fresh_well_formed_packet() {
    let input = b"<x:xmpmeta><rdf:RDF xmlns:rdf=\x22http://www.w3.org/1999/02/22-rdf-syntax-ns#\x22><rdf:Description 1999/02/22-rdf-synt\x0d\x00-ns#\x22><rdf:Descri/Iptc4xmpExt/200\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x1a\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x008-02-(9/t p\x22Ic4xmpExt:DigitceType=\x22httpsyntax-ns#\x22pe/traimpmeta>";
    let raw = meta::RawMetadata {
        xmp: Some(String::from_utf8_lossy(input).into_owned()),
        ..meta::read(b"")
    };
    let verdict = profile::evidence::verdict(Vec::new());
    let edit = EditInfo {
        version: "0".into(),
        changed: "x".into(),
        when: None,
        pixels_upright: false,
    };
    let out = profile::output_provenance(&raw, &verdict, &edit);
    let (x, warning) = profile::xmp::parse(out.embed.xmp.as_deref().unwrap());
    assert_eq!(warning, None);
    assert!(profile::provenance::realskin_edit(&x).is_some());
    assert!(out.notes.iter().any(|n| n.contains("malformed")));
}

#[test]
fn a_hash_or_a_civitai_air_names_the_base_model_and_the_evidence_shows_it() {
    let fixtures = fixtures();
    for (name, base, shows) in [
        (
            "ai_civitai_flux-by-air_png-text.png",
            "flux",
            "urn:air:flux1:checkpoint",
        ),
        (
            "ai_a1111_sd15-by-hash_jpeg-exif-usercomment.jpg",
            "sd1.5",
            "Model hash 6ce0161689 = v1-5-pruned-emaonly (sd1.5)",
        ),
    ] {
        let bytes = &fixtures.iter().find(|f| f.0 == name).unwrap().1;
        let v = profile_of(name, bytes).verdict;
        assert_eq!(v.base.as_deref(), Some(base), "{name}");
        assert!(
            v.evidence.iter().any(|e| e.says.contains(shows)),
            "{name}: {:#?}",
            v.evidence
        );
    }
}
