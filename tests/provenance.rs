//! Provenance survives realskin: an output, profiled again, still declares its AI origin
//! (DigitalSourceType made composite), names realskin's edit and the original generator,
//! and keeps the original's C2PA manifest beside it.

mod common;

use std::path::Path;
use std::process::Command;

use common::photo_png;
use realskin::meta::{self, EmbedMetadata, TextEntry, TextKind};
use realskin::profile;

const XMP_AI: &str = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta>"#;

const A1111: &str = "portrait of a woman, studio light\nNegative prompt: blurry\nSteps: 30, Sampler: DPM++ 2M Karras, CFG scale: 6, Seed: 1234, Size: 1024x1024, Model hash: 31e35c80fc, Model: sd_xl_base_1.0, Version: v1.9.4";

fn realskin(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_realskin"))
        .args(args)
        .env_remove("REALSKIN_CONFIG")
        .output()
        .unwrap()
}

fn process(input: &Path, out: &Path) {
    let o = realskin(&[
        "process",
        "--out",
        out.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn an_ai_original_processed_by_realskin_still_says_ai_and_names_the_edit() {
    let dir = tempfile::tempdir().unwrap();
    let png = photo_png(300, 200, 7);
    let tagged = meta::embed(
        &png,
        &EmbedMetadata {
            xmp: Some(XMP_AI.to_string()),
            text: vec![TextEntry {
                kind: TextKind::Text,
                key: "parameters".into(),
                value: A1111.into(),
            }],
            ..EmbedMetadata::default()
        },
    )
    .unwrap();
    let input = dir.path().join("ai_a1111_sdxl.png");
    std::fs::write(&input, &tagged).unwrap();
    let before = profile::profile_metadata("ai_a1111_sdxl.png", &tagged, None);
    assert_eq!(before.verdict.ai, Some(true));
    assert_eq!(before.verdict.tool.as_deref(), Some("a1111"));

    let out = dir.path().join("out");
    process(&input, &out);
    let output = std::fs::read(out.join("ai_a1111_sdxl.realskin.png")).unwrap();
    let after = profile::profile_metadata("ai_a1111_sdxl.realskin.png", &output, None);
    assert_eq!(after.verdict.ai, Some(true), "{after:#?}");
    assert_eq!(
        after.digital_source_type.as_deref(),
        Some("compositeWithTrainedAlgorithmicMedia"),
        "{after:#?}"
    );
    let edit = after
        .realskin_edit
        .as_ref()
        .expect("realskin's edit is named");
    assert!(edit.agent.starts_with("realskin "), "{edit:?}");
    let original = edit
        .original
        .as_ref()
        .expect("the original generator is recorded");
    assert_eq!(original.tool.as_deref(), Some("a1111"));
    // The A1111 parameters themselves travel too (PNG text chunk).
    assert!(
        after
            .verdict
            .evidence
            .iter()
            .any(|e| e.says.to_lowercase().contains("a1111")),
        "{after:#?}"
    );

    // The CLI says so in words.
    let o = realskin(&[
        "profile",
        "--metadata-only",
        out.join("ai_a1111_sdxl.realskin.png").to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("AI-generated") && text.contains("edited by realskin"),
        "{text}"
    );
}

fn samples() -> Option<std::path::PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/samples/ai-metadata");
    p.is_dir().then_some(p)
}

#[test]
fn a_chatgpt_original_keeps_its_c2pa_manifest_beside_the_output() {
    let Some(samples) = samples() else {
        eprintln!("skipped: ../shared/samples is not here");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("chatgpt.png");
    std::fs::copy(samples.join("chatgpt-gpt4o_c2pa_1536x1024.png"), &input).unwrap();
    let out = dir.path().join("out");
    process(&input, &out);
    let output = std::fs::read(out.join("chatgpt.realskin.png")).unwrap();
    let sidecar = std::fs::read(out.join("chatgpt.realskin.png.c2pa"))
        .expect("the manifest is kept beside the output");
    assert!(
        sidecar.windows(4).any(|w| w == b"jumb"),
        "a JUMBF manifest store"
    );
    let after = profile::profile_metadata("chatgpt.realskin.png", &output, None);
    assert_eq!(after.verdict.ai, Some(true));
    assert_eq!(
        after.verdict.vendor.as_deref(),
        Some("openai"),
        "{after:#?}"
    );
    assert!(
        after.c2pa.is_none(),
        "no stale manifest inside the edited file"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("chatgpt.realskin.json")).unwrap()).unwrap();
    assert_eq!(report["profile"]["verdict"]["vendor"], "openai");
    assert_eq!(report["provenance"]["c2pa_sidecar"], true);
}

#[test]
fn a_camera_original_keeps_its_own_skin_topped_up_only() {
    // The official portrait carries its camera's EXIF (make, model, exposure): the profiler
    // declares it not AI-generated, and the skin engine only tops up the sitter's own skin.
    let Some(portraits) = samples().and_then(|p| {
        let p = p.join("../portraits");
        p.is_dir().then_some(p)
    }) else {
        eprintln!("skipped: ../shared/samples is not here");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("official.jpg");
    std::fs::copy(
        portraits.join("real_obama-official-portrait_910x1137.jpg"),
        &input,
    )
    .unwrap();
    // At its own size (no enlargement: the test stays quick), grain off.
    let config = dir.path().join("realskin.toml");
    std::fs::write(
        &config,
        "[upscale]\nmin_long_edge = 512\nface_px_per_mm = 0.0\n\n[skin]\ngrain = 0.0\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = realskin(&[
        "process",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{o:?}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("official.realskin.json")).unwrap())
            .unwrap();
    assert_eq!(report["profile"]["verdict"]["ai"], false, "{report:#}");
    let skin = report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "skin")
        .expect("a skin stage");
    let m = &skin["details"]["measure"];
    let why = m["top_up_only"].as_str().unwrap_or_default();
    assert!(why.contains("not AI-generated"), "{skin:#}");
    let (before, after) = (
        m["before"]["fine"].as_f64().unwrap(),
        m["after"]["fine"].as_f64().unwrap(),
    );
    assert!(
        after <= 1.12 * before,
        "the pore band grew {before} → {after}"
    );
}
