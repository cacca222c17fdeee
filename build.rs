//! Build script: finds the SeetaFace frontal model that ships inside the `rustface` crate package
//! and copies it into `OUT_DIR`, so `src/faces.rs` can embed it with `include_bytes!` and a fresh
//! `cargo build` needs no download.
//!
//! Where the model is looked for, in order:
//! 1. `REALSKIN_FACE_MODEL`: an explicit path to `seeta_fd_frontal_v1.0.bin` (offline mirrors, vendoring);
//! 2. `cargo metadata`: the manifest directory of the resolved `rustface` package (registry, vendored or git);
//! 3. `$CARGO_HOME/registry/src/*/rustface-*/`: the registry source cache, newest version first.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const MODEL_REL: &str = "model/seeta_fd_frontal_v1.0.bin";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=REALSKIN_FACE_MODEL");

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts"));
    let mut tried = Vec::new();
    let found = from_env(&mut tried)
        .or_else(|| from_cargo_metadata(&mut tried))
        .or_else(|| from_registry_cache(&mut tried));
    let Some(src) = found else {
        panic!(
            "realskin: cannot find the rustface face model `{MODEL_REL}`.\n\
             Looked at:\n  {}\n\
             The model ships inside the `rustface` crate package; make sure `cargo fetch` has run, \
             or set REALSKIN_FACE_MODEL=/path/to/seeta_fd_frontal_v1.0.bin.",
            tried.join("\n  ")
        );
    };
    let dest = out.join("seeta_fd_frontal_v1.0.bin");
    fs::copy(&src, &dest).unwrap_or_else(|e| {
        panic!(
            "realskin: cannot copy the face model from {} to {}: {e}",
            src.display(),
            dest.display()
        )
    });
    println!("cargo:rerun-if-changed={}", src.display());
}

fn usable(path: &Path, tried: &mut Vec<String>) -> bool {
    let ok = fs::metadata(path)
        .map(|m| m.is_file() && m.len() > 100_000)
        .unwrap_or(false);
    tried.push(format!(
        "{} ({})",
        path.display(),
        if ok { "found" } else { "missing" }
    ));
    ok
}

fn from_env(tried: &mut Vec<String>) -> Option<PathBuf> {
    let p = PathBuf::from(env::var_os("REALSKIN_FACE_MODEL")?);
    usable(&p, tried).then_some(p)
}

/// Asks cargo where the resolved `rustface` package lives; this also covers vendored and git sources.
fn from_cargo_metadata(tried: &mut Vec<String>) -> Option<PathBuf> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR")?).join("Cargo.toml");
    let run = |offline: bool| {
        let mut cmd = Command::new(&cargo);
        cmd.args(["metadata", "--format-version", "1", "--manifest-path"])
            .arg(&manifest);
        if offline {
            cmd.arg("--offline");
        }
        cmd.output().ok().filter(|o| o.status.success())
    };
    let Some(output) = run(true).or_else(|| run(false)) else {
        tried.push("`cargo metadata` (failed to run)".to_string());
        return None;
    };
    let meta: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
    let packages = meta.get("packages")?.as_array()?;
    let mut dirs: Vec<(String, PathBuf)> = packages
        .iter()
        .filter(|p| p.get("name").and_then(|n| n.as_str()) == Some("rustface"))
        .filter_map(|p| {
            let version = p.get("version")?.as_str()?.to_string();
            let manifest = PathBuf::from(p.get("manifest_path")?.as_str()?);
            Some((version, manifest.parent()?.to_path_buf()))
        })
        .collect();
    dirs.sort();
    dirs.into_iter()
        .rev()
        .map(|(_, d)| d.join(MODEL_REL))
        .find(|p| usable(p, tried))
}

fn from_registry_cache(tried: &mut Vec<String>) -> Option<PathBuf> {
    let home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let mut candidates = Vec::new();
    for index in fs::read_dir(home.join("registry").join("src"))
        .ok()?
        .flatten()
    {
        for pkg in fs::read_dir(index.path()).into_iter().flatten().flatten() {
            if pkg.file_name().to_string_lossy().starts_with("rustface-") {
                candidates.push(pkg.path());
            }
        }
    }
    candidates.sort();
    candidates
        .into_iter()
        .rev()
        .map(|d| d.join(MODEL_REL))
        .find(|p| usable(p, tried))
}
