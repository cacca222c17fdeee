//! Conformance over the shared real-world samples (`shared/samples/ai-metadata/`): every
//! file gets the vendor and model its SOURCES.md row describes. The folder is found from
//! `REALSKIN_AI_SAMPLES`, `../shared/samples/ai-metadata` beside the crate, or
//! `/work/shared/samples/ai-metadata`; the test skips cleanly when none exists.

use std::path::PathBuf;

use realskin::profile::{self, ProfileOptions};

fn samples() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("REALSKIN_AI_SAMPLES").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/samples/ai-metadata")),
        Some(PathBuf::from("/work/shared/samples/ai-metadata")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.join("SOURCES.md").is_file())
}

/// (file, ai, vendor, model, family)
type Row = (
    &'static str,
    Option<bool>,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
);

const EXPECTED: &[Row] = &[
    (
        "chatgpt-gpt4o_c2pa_1536x1024.png",
        Some(true),
        Some("openai"),
        Some("GPT-4o"),
        Some("gpt-image"),
    ),
    (
        "google-genai_c2pa_768x1344.png",
        Some(true),
        Some("google"),
        None,
        Some("gemini"),
    ),
    (
        "google-genai-edited_c2pa-ingredients_768x1344.png",
        Some(true),
        Some("google"),
        None,
        Some("gemini"),
    ),
    (
        "google-genai_c2pa-5-ingredients_768x1344.png",
        Some(true),
        Some("google"),
        None,
        Some("gemini"),
    ),
    (
        "firefly-hosted-gemini-nano-banana-2_c2pa-xmp-iptc_1200x896.png",
        Some(true),
        Some("google"),
        Some("nano-banana-2"),
        Some("gemini"),
    ),
    (
        "c2pa-test_jpeg-app11_not-ai.jpg",
        Some(false),
        None,
        None,
        None,
    ),
    (
        "comfyui_flux1-dev_1024.png",
        Some(true),
        Some("black-forest-labs"),
        Some("flux1-dev"),
        Some("flux"),
    ),
    (
        "comfyui_flux1-schnell_1024.png",
        Some(true),
        Some("black-forest-labs"),
        Some("flux1-schnell"),
        Some("flux"),
    ),
    (
        "comfyui_flux2-dev_1024.png",
        Some(true),
        Some("black-forest-labs"),
        Some("flux2_dev_fp8mixed"),
        Some("flux"),
    ),
    (
        "comfyui_flux-kontext_webp-exif_2048x3072.webp",
        Some(true),
        Some("black-forest-labs"),
        None,
        Some("flux"),
    ),
    (
        "comfyui_sdxl-base-refiner_1024.png",
        Some(true),
        Some("stability-ai"),
        Some("sd_xl_base_1.0"),
        Some("stable-diffusion"),
    ),
    (
        "comfyui_sd3.5-large_1024.png",
        Some(true),
        Some("stability-ai"),
        Some("sd3.5_large_fp8_scaled"),
        Some("stable-diffusion"),
    ),
    (
        "comfyui_qwen-image_1328.png",
        Some(true),
        Some("alibaba"),
        Some("qwen_image_fp8_e4m3fn"),
        Some("qwen-image"),
    ),
    (
        "comfyui_z-image-turbo_1024.png",
        Some(true),
        Some("alibaba"),
        Some("z_image_turbo_bf16"),
        Some("z-image"),
    ),
];

#[test]
fn every_shared_sample_gets_the_vendor_and_model_of_its_sources_row() {
    let Some(dir) = samples() else {
        eprintln!("skipped: no shared/samples/ai-metadata folder (set REALSKIN_AI_SAMPLES)");
        return;
    };
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for (file, ai, vendor, model, family) in EXPECTED {
        let path = dir.join(file);
        let p = profile::profile_path(&path, None, &ProfileOptions::default())
            .expect("sample readable");
        let v = &p.verdict;
        let model_ok = match model {
            Some(m) => v.model.as_deref() == Some(*m),
            None => true,
        };
        let got = (v.ai, v.vendor.as_deref(), v.family.as_deref());
        if got != (*ai, *vendor, *family) || !model_ok {
            failures.push(format!(
                "{file}: got ai {:?} vendor {:?} model {:?} family {:?}",
                v.ai, v.vendor, v.model, v.family
            ));
        }
        if file.starts_with("firefly") {
            let wrapper = v
                .evidence
                .iter()
                .find(|e| e.role == Some("wrapper") && e.vendor.as_deref() == Some("adobe"));
            if wrapper.is_none() {
                failures.push(format!("{file}: adobe's wrapper missing from the evidence"));
            }
        }
        report.push(serde_json::json!({
            "file": file,
            "ai": v.ai, "vendor": v.vendor, "model": v.model, "family": v.family, "tool": v.tool,
            "confidence": v.confidence, "preset": p.preset.preset,
            "c2pa": p.c2pa.as_ref().map(|c| serde_json::json!({
                "validation": c.validation, "signature_verified": c.signature_verified,
                "content_matches": c.content_matches, "failures": c.failures,
            })),
            "warnings": p.warnings,
        }));
    }
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("conformance.json");
    std::fs::write(&out, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    assert!(
        failures.is_empty(),
        "{}\n(full report in {})",
        failures.join("\n"),
        out.display()
    );
}

#[test]
fn outputs_made_from_the_shared_samples_still_declare_ai_and_name_realskin() {
    let Some(dir) = samples() else {
        eprintln!("skipped: no shared/samples/ai-metadata folder");
        return;
    };
    use realskin::meta;
    use realskin::profile::EditInfo;
    let edit = EditInfo {
        version: "0.1.0".into(),
        changed: "skin texture".into(),
        when: None,
        pixels_upright: true,
    };
    // A tiny stand-in for the pipeline's encoded output.
    let mut out_png = Vec::new();
    image::DynamicImage::ImageRgb8(image::RgbImage::new(8, 8))
        .write_to(
            &mut std::io::Cursor::new(&mut out_png),
            image::ImageFormat::Png,
        )
        .unwrap();
    for file in [
        "firefly-hosted-gemini-nano-banana-2_c2pa-xmp-iptc_1200x896.png",
        "chatgpt-gpt4o_c2pa_1536x1024.png",
        "comfyui_flux1-dev_1024.png",
        "comfyui_flux-kontext_webp-exif_2048x3072.webp",
    ] {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let raw = meta::read(&bytes);
        let original = profile::profile_metadata(file, &bytes, None);
        let prov = profile::output_provenance(&raw, &original.verdict, &edit);
        assert_eq!(
            prov.c2pa_sidecar.is_some(),
            raw.c2pa.is_some(),
            "{file}: sidecar"
        );
        let written = meta::embed_lossy(&out_png, &prov.embed).unwrap();
        let p = profile::profile_metadata("out.realskin.png", &written.bytes, None);
        assert_eq!(
            p.verdict.ai,
            Some(true),
            "{file}: {:#?}",
            p.verdict.evidence
        );
        assert_eq!(
            p.digital_source_type.as_deref(),
            Some("compositeWithTrainedAlgorithmicMedia"),
            "{file}"
        );
        assert_eq!(
            p.realskin_edit.as_ref().map(|e| e.agent.as_str()),
            Some("realskin 0.1.0"),
            "{file}"
        );
        // The output still names the original's generator, even where only the C2PA
        // manifest (now a sidecar) named it.
        assert_eq!(p.verdict.vendor, original.verdict.vendor, "{file}");
        assert_eq!(p.verdict.model, original.verdict.model, "{file}");
    }
}
