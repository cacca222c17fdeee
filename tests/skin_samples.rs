//! Checks on the real sample images in `shared/samples/` (skipped cleanly when they are not there):
//! faces are found on every portrait, the classifier is right on every portrait, and the anime picture is
//! not treated.

use realskin::pipeline::skin::classify::{PictureKind, classify};
use realskin::pipeline::skin::{SkinConfig, SkinContext, SkinOutcome, apply};
mod skin_common;

use skin_common::samples_with;
use std::path::PathBuf;

fn samples() -> Option<PathBuf> {
    samples_with("portraits")
}

fn portraits(root: &std::path::Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root.join("portraits"))
        .expect("portraits readable")
        .flatten()
        .map(|e| e.path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("png" | "jpg")))
        .collect();
    v.sort();
    v
}

#[test]
fn a_face_is_found_on_every_portrait_photo() {
    let Some(root) = samples() else { return };
    for p in portraits(&root) {
        if p.to_string_lossy().contains("not-photo") {
            continue;
        }
        let img = image::open(&p).expect("sample decodes");
        let faces = realskin::face::analyse(&img, 2);
        assert!(!faces.is_empty(), "no face found on {}", p.display());
    }
}

#[test]
fn classifier_is_right_on_every_portrait() {
    let Some(root) = samples() else { return };
    for p in portraits(&root) {
        let img = image::open(&p).expect("sample decodes");
        let c = classify(&img);
        let want_photo = !p.to_string_lossy().contains("not-photo");
        assert_eq!(
            c.kind == PictureKind::Photo,
            want_photo,
            "{}: {:?}",
            p.display(),
            c
        );
    }
}

#[test]
fn anime_portrait_is_not_treated() {
    let Some(root) = samples() else { return };
    let img = image::open(root.join("portraits/flux-dev_anime-girl_1024_not-photo.png"))
        .expect("sample decodes");
    match apply(&img, &SkinConfig::default(), &SkinContext::default()) {
        // The mesh sees no human face in it (or the gate finds its shading drawn).
        SkinOutcome::Skipped { reason, .. } => assert!(
            reason.contains("no person") || reason.contains("not photographed"),
            "{reason}"
        ),
        SkinOutcome::Applied { .. } => panic!("the anime portrait was treated"),
    }
}

#[test]
fn graphic_and_illustration_examples_are_not_treated() {
    let Some(root) = samples() else { return };
    for name in [
        "ai-metadata/chatgpt-gpt4o_c2pa_1536x1024.png",
        "ai-metadata/comfyui_flux1-dev_1024.png",
    ] {
        let path = root.join(name);
        if !path.exists() {
            continue;
        }
        let img = image::open(&path).expect("sample decodes");
        assert!(
            matches!(
                apply(&img, &SkinConfig::default(), &SkinContext::default()),
                SkinOutcome::Skipped { .. }
            ),
            "{name} was treated"
        );
    }
}
