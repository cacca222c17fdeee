//! Try the skin engine on one image:
//! `cargo run --release --example skin_try -- IN OUT [--json report.json] [--crops crops.png] [--mask mask.png]
//!  [--save-input up.png] [--upscale 2048] [--preset flux] [--grain 0] [--set key=value] [--strength 1] [--threads N]`
//!
//! Inputs smaller than `--upscale` (default 2048 px long edge; 0 = never) are first upscaled with Lanczos3,
//! as the pipeline's upscaler will do before the skin stage.

use realskin::pipeline::skin::{PresetChoice, SkinConfig, SkinContext, SkinOutcome, apply};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut pos = Vec::new();
    let (mut json, mut crops, mut maskf, mut save_input) = (None, None, None, None);
    let mut upscale = 2048u32;
    let mut cfg = SkinConfig::default();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let val = args.get(i + 1).cloned();
        let num = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<f32>().ok());
        match a {
            "--json" => json = val,
            "--crops" => crops = val,
            "--mask" => maskf = val,
            "--save-input" => save_input = val,
            "--upscale" => upscale = num(&val).unwrap_or(2048.0) as u32,
            "--grain" => cfg.grain = num(&val).unwrap_or(1.0),
            "--strength" => cfg.strength = num(&val).unwrap_or(1.0),
            "--threads" => cfg.threads = num(&val).unwrap_or(0.0) as usize,
            "--set" => {
                // --set key=value: any [skin] field, value in JSON (numbers, true/false, "strings").
                let kv = val.clone().unwrap_or_default();
                let (k, v) = kv.split_once('=').unwrap_or((&kv, "null"));
                let mut j = serde_json::to_value(&cfg).expect("config serialises");
                j[k] = serde_json::from_str(v).unwrap_or(serde_json::Value::String(v.to_string()));
                cfg = match serde_json::from_value(j) {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("--set {kv}: {e}");
                        return ExitCode::from(2);
                    }
                };
            }
            "--preset" => {
                cfg.preset =
                    serde_json::from_str(&format!("\"{}\"", val.clone().unwrap_or_default()))
                        .unwrap_or(PresetChoice::Auto)
            }
            _ => {
                pos.push(args[i].clone());
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    let [input, output] = pos.as_slice() else {
        eprintln!(
            "usage: skin_try IN OUT [--json report.json] [--crops crops.png] [--mask mask.png] [--upscale 2048]"
        );
        return ExitCode::from(2);
    };
    let mut img = match image::open(input) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{input}: cannot read: {e}");
            return ExitCode::FAILURE;
        }
    };
    let long = img.width().max(img.height());
    if upscale > 0 && long < upscale {
        let s = upscale as f32 / long as f32;
        let (w, h) = (
            (img.width() as f32 * s).round() as u32,
            (img.height() as f32 * s).round() as u32,
        );
        img = img.resize_exact(w, h, image::imageops::FilterType::Lanczos3);
    }
    if let Some(p) = &save_input {
        img.save(p).expect("write upscaled input");
    }
    let t = std::time::Instant::now();
    let outcome = apply(&img, &cfg, &SkinContext::default());
    let secs = t.elapsed().as_secs_f64();
    let report = outcome.report().clone();
    let out_img = match &outcome {
        SkinOutcome::Applied { image, .. } => image.clone(),
        SkinOutcome::Skipped { reason, .. } => {
            eprintln!("{input}: skipped: {reason}");
            img.clone()
        }
    };
    if let Err(e) = out_img.save(output) {
        eprintln!("{output}: cannot write: {e}");
        return ExitCode::FAILURE;
    }
    let j = serde_json::to_string_pretty(&report).expect("report serialises");
    match &json {
        Some(p) => std::fs::write(p, &j).expect("write report"),
        None => println!("{j}"),
    }
    if let Some(a) = &report.artifacts {
        if let (Some(p), Some(f)) = (&crops, &a.face_before_after) {
            f.save(p).expect("write crops");
        }
        if let Some(p) = &maskf {
            a.mask_overlay.save(p).expect("write mask");
        }
    }
    eprintln!(
        "{input}: {} in {:.0} ms ({:.1} MP/s)",
        if report.applied { "applied" } else { "skipped" },
        secs * 1e3,
        (img.width() as f64 * img.height() as f64) / 1e6 / secs
    );
    ExitCode::SUCCESS
}
