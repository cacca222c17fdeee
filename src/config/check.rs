//! Checks that need more than the file: folders that exist and can be written, folders
//! that must not sit inside an input, values that only make sense together.
//!
//! Every problem is collected, never just the first, and each names its key and line.

use std::path::{Component, Path, PathBuf};

use super::load::{LoadedConfig, Problem, Severity};
use super::{HotfolderConfig, UpscaleConfig, UpscaleEngine};
use crate::pipeline::upscale::onnx;

/// Placeholders `[output] naming` understands.
pub const NAMING_PLACEHOLDERS: &[&str] = &["{stem}", "{ext}", "{hotfolder}", "{date}"];

/// Every problem in a loaded config; errors stop realskin, warnings do not.
pub fn check(loaded: &LoadedConfig) -> Vec<Problem> {
    let cfg = &loaded.config;
    let mut out = Vec::new();
    let mut folder_problems = Vec::new();
    let mut add = |severity: Severity, key: String, message: String| {
        out.push(Problem {
            severity,
            file: loaded.path.clone(),
            line: loaded.line_of(&key),
            key,
            message,
            transient: false,
        });
    };
    let mut add_folder = |severity: Severity, key: String, message: String| {
        folder_problems.push(Problem {
            severity,
            file: loaded.path.clone(),
            line: loaded.line_of(&key),
            key,
            message,
            transient: true,
        });
    };

    // Values.
    if cfg.daemon.max_megapixels <= 0.0 || !cfg.daemon.max_megapixels.is_finite() {
        add(
            Severity::Error,
            "daemon.max_megapixels".into(),
            "must be a positive number of megapixels, like 100".into(),
        );
    }
    if cfg.fleet.is_shared()
        && let Err(e) = cfg.fleet.database.parse::<postgres::Config>()
    {
        add(
            Severity::Error,
            "fleet.database".into(),
            format!(
                "is not a PostgreSQL connection string ({e}); write it like \"postgres://realskin:secret@nas.local/realskin\""
            ),
        );
    }
    if !cfg.fleet.node.chars().all(super::valid_node_char) || cfg.fleet.node.len() > 64 {
        add(
            Severity::Error,
            "fleet.node".into(),
            "may hold only letters, digits, '.', '_' and '-' (at most 64): it names this machine's folder on the share".into(),
        );
    }
    if cfg.fleet.lease.get() < std::time::Duration::from_secs(3) {
        add(
            Severity::Error,
            "fleet.lease".into(),
            "must be at least \"3s\" (heartbeats go out three times per lease); \"30s\" suits most networks".into(),
        );
    }
    if cfg.daemon.retry_backoff.get().is_zero() {
        add(
            Severity::Error,
            "daemon.retry_backoff".into(),
            "must be longer than zero, like \"10s\"".into(),
        );
    }
    check_folder(
        &cfg.daemon.state_dir,
        "daemon.state_dir",
        true,
        &mut add_folder,
    );

    for (i, hf) in cfg.hotfolder.iter().enumerate() {
        let key = |k: &str| format!("hotfolder[{i}].{k}");
        hotfolder_values(hf, &key, &mut add);
        // Folders.
        for (name, path) in hf.folders() {
            check_folder(path, &key(name), cfg.daemon.create_folders, &mut add_folder);
        }
        hotfolder_overlaps(&cfg.hotfolder, i, &key, &mut add);
    }
    out.append(&mut folder_problems);
    out.sort_by_key(|p| (p.severity, p.line));
    out
}

/// A hotfolder's values: upscale sizes, output quality and naming, skin settings, polling,
/// ignore patterns, its name.
fn hotfolder_values(
    hf: &HotfolderConfig,
    key: &dyn Fn(&str) -> String,
    add: &mut dyn FnMut(Severity, String, String),
) {
    let up = &hf.upscale;
    if up.target_long_edge < up.min_long_edge {
        add(
            Severity::Error,
            key("upscale.target_long_edge"),
            format!(
                "is {} but min_long_edge is {}: an upscaled image would still be below the threshold; make target_long_edge at least {}",
                up.target_long_edge, up.min_long_edge, up.min_long_edge
            ),
        );
    }
    if up.target_long_edge == 0 || up.target_long_edge > 32768 {
        add(
            Severity::Error,
            key("upscale.target_long_edge"),
            "must be between 1 and 32768 pixels".into(),
        );
    }
    if !(0.0..=40.0).contains(&up.face_px_per_mm) {
        add(
            Severity::Error,
            key("upscale.face_px_per_mm"),
            format!(
                "is {}; give a scale from 0 (off) to 40 pixels per millimetre (8 makes a 0.25 mm pore 2 px)",
                up.face_px_per_mm
            ),
        );
    }
    if !(1.0..=1000.0).contains(&up.max_output_megapixels) {
        add(
            Severity::Error,
            key("upscale.max_output_megapixels"),
            format!(
                "is {}; give a size from 1 to 1000 megapixels (36 is a full-frame camera)",
                up.max_output_megapixels
            ),
        );
    }
    if !(1.0..=16.0).contains(&up.max_factor) {
        add(
            Severity::Error,
            key("upscale.max_factor"),
            format!(
                "is {}; give a factor from 1 (never enlarge for a face) to 16",
                up.max_factor
            ),
        );
    }
    let out_cfg = &hf.output_options;
    if !(1..=100).contains(&out_cfg.quality) {
        add(
            Severity::Error,
            key("output_options.quality"),
            format!(
                "is {}; JPEG quality goes from 1 to 100 (92 is a good default)",
                out_cfg.quality
            ),
        );
    }
    if !(1..=100).contains(&out_cfg.webp_quality) {
        add(
            Severity::Error,
            key("output_options.webp_quality"),
            format!(
                "is {}; WebP quality goes from 1 to 100 (90 is a good default)",
                out_cfg.webp_quality
            ),
        );
    }
    for msg in hf.skin.validate() {
        // The engine's messages start with `skin.<key> is ...`.
        let k = msg
            .strip_prefix("skin.")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or("");
        add(Severity::Error, key(&format!("skin.{k}")), msg);
    }
    if let Err(msg) = check_naming(&out_cfg.naming) {
        add(Severity::Error, key("output_options.naming"), msg);
    }
    if hf.poll_interval.get().is_zero() {
        add(
            Severity::Error,
            key("poll_interval"),
            "must be longer than zero, like \"5s\"".into(),
        );
    }
    for pattern in &hf.ignore {
        if let Err(e) = globset::Glob::new(pattern) {
            add(
                Severity::Error,
                key("ignore"),
                format!("`{pattern}` is not a valid glob ({e}); fix or remove it"),
            );
        }
    }
    if hf.name.trim().is_empty() {
        add(
            Severity::Error,
            key("name"),
            "must not be empty; it names the hotfolder in logs and reports".into(),
        );
    }
}

/// Destinations inside an input folder (results would be taken as new images), and two
/// hotfolders sharing an input, for hotfolder `i`.
fn hotfolder_overlaps(
    all: &[HotfolderConfig],
    i: usize,
    key: &dyn Fn(&str) -> String,
    add: &mut dyn FnMut(Severity, String, String),
) {
    let hf = &all[i];
    for (j, other) in all.iter().enumerate() {
        for (name, dest) in hf.destinations() {
            let inside = if other.recursive {
                is_within(dest, &other.input)
            } else {
                normalize(dest) == normalize(&other.input)
                    || normalize(dest).parent() == Some(normalize(&other.input).as_path())
            };
            if inside {
                let whose = if i == j {
                    "its own input folder".to_string()
                } else {
                    format!("the input folder of hotfolder `{}`", other.name)
                };
                add(
                    Severity::Error,
                    key(name),
                    format!(
                        "{} is inside {whose} ({}); results would be picked up as new images. Move it next to the input instead, like `{}`",
                        dest.display(),
                        other.input.display(),
                        suggest_sibling(&other.input, name).display()
                    ),
                );
            }
        }
        if j > i {
            let same = normalize(&hf.input) == normalize(&other.input);
            let nested = (hf.recursive && is_within(&other.input, &hf.input))
                || (other.recursive && is_within(&hf.input, &other.input));
            if same || nested {
                add(
                    Severity::Error,
                    format!("hotfolder[{j}].input"),
                    format!(
                        "hotfolders `{}` and `{}` share the input {}; each image would be taken by both. Give each hotfolder its own input folder",
                        hf.name,
                        other.name,
                        other.input.display()
                    ),
                );
            }
        }
    }
}

fn check_naming(naming: &str) -> Result<(), String> {
    if naming.contains(['/', '\\']) {
        return Err(format!(
            "`{naming}` contains a folder separator; the name is a file name inside the output folder"
        ));
    }
    if !naming.contains("{stem}") {
        return Err(format!(
            "`{naming}` has no `{{stem}}`: every output would get the same name"
        ));
    }
    let mut rest = naming;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            return Err(format!("`{naming}` has a `{{` without its `}}`"));
        };
        let placeholder = &rest[start..start + len + 1];
        if !NAMING_PLACEHOLDERS.contains(&placeholder) {
            return Err(format!(
                "`{placeholder}` is not a placeholder; use {}",
                NAMING_PLACEHOLDERS.join(", ")
            ));
        }
        rest = &rest[start + len + 1..];
    }
    Ok(())
}

fn check_folder(
    path: &Path,
    key: &str,
    create: bool,
    add: &mut impl FnMut(Severity, String, String),
) {
    match std::fs::metadata(path) {
        Ok(m) if !m.is_dir() => add(
            Severity::Error,
            key.to_string(),
            format!(
                "{} is a file, not a folder; point it at a folder",
                path.display()
            ),
        ),
        Ok(_) => {
            if let Err(e) = probe_writable(path) {
                add(
                    Severity::Error,
                    key.to_string(),
                    format!(
                        "{} cannot be written ({e}); give this user write access or choose another folder",
                        path.display()
                    ),
                );
            }
        }
        Err(_) if create => {
            let ancestor = path.ancestors().skip(1).find(|a| a.is_dir());
            match ancestor.map(|a| (a, probe_writable(a))) {
                Some((_, Ok(()))) => add(
                    Severity::Warning,
                    key.to_string(),
                    format!(
                        "{} does not exist yet; realskin will create it",
                        path.display()
                    ),
                ),
                Some((a, Err(e))) => add(
                    Severity::Error,
                    key.to_string(),
                    format!(
                        "{} does not exist and cannot be created: {} is not writable ({e}); create the folder or choose another",
                        path.display(),
                        a.display()
                    ),
                ),
                None => add(
                    Severity::Error,
                    key.to_string(),
                    format!(
                        "{} does not exist and none of its parents do",
                        path.display()
                    ),
                ),
            }
        }
        Err(_) => add(
            Severity::Error,
            key.to_string(),
            format!(
                "{} does not exist; create it, or set `daemon.create_folders = true`",
                path.display()
            ),
        ),
    }
}

/// Creates and removes a file to learn whether `dir` can be written (permission bits
/// say nothing on network shares or for root on a read-only mount).
pub fn probe_writable(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".realskin-write-test-{}", std::process::id()));
    std::fs::File::create(&probe)?;
    std::fs::remove_file(&probe)
}

/// `path` with `.` and `..` folded and, where it exists, symlinks resolved.
pub fn normalize(path: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(path) {
        return c;
    }
    // Canonicalise the longest existing ancestor, then append the rest lexically.
    for ancestor in path.ancestors().skip(1) {
        if let Ok(base) = std::fs::canonicalize(ancestor) {
            let rest = path.strip_prefix(ancestor).unwrap_or(path);
            return lexical(&base.join(rest));
        }
    }
    lexical(path)
}

fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Whether `inner` is `outer` or inside it.
pub fn is_within(inner: &Path, outer: &Path) -> bool {
    normalize(inner).starts_with(normalize(outer))
}

fn suggest_sibling(input: &Path, name: &str) -> PathBuf {
    input
        .parent()
        .map(|p| p.join(name))
        .unwrap_or_else(|| PathBuf::from(name))
}

/// The ONNX upscaler's start-up check ([`onnx::check`]) on every hotfolder's `[upscale]`
/// that uses it, and the global one where `realskin process` would use it differently
/// from all of them, with each finding at its line. Nothing is loaded when no section
/// uses the ONNX engine.
pub fn onnx(loaded: &LoadedConfig) -> Vec<Problem> {
    let cfg = &loaded.config;
    let mut sections: Vec<(String, &UpscaleConfig)> = cfg
        .hotfolder
        .iter()
        .enumerate()
        .map(|(i, hf)| (format!("hotfolder[{i}].upscale"), &hf.upscale))
        .filter(|(_, u)| u.engine == UpscaleEngine::Onnx)
        .collect();
    if cfg.upscale.engine == UpscaleEngine::Onnx
        && cfg.hotfolder.iter().all(|hf| hf.upscale != cfg.upscale)
    {
        sections.push(("upscale".into(), &cfg.upscale));
    }
    let mut problems: Vec<Problem> = Vec::new();
    for f in onnx::check(&sections, &cfg.daemon.state_dir) {
        let key = format!("{}.{}", sections[f.section].0, f.key);
        // A hotfolder's section inherits the global one's lines where it was not set.
        let line = loaded
            .lines
            .get(&key)
            .copied()
            .or_else(|| loaded.lines.get(&format!("upscale.{}", f.key)).copied())
            .or_else(|| loaded.line_of(&key));
        let p = Problem {
            severity: f.severity,
            file: loaded.path.clone(),
            line,
            key,
            message: f.message,
            transient: false,
        };
        if !problems.contains(&p) {
            problems.push(p);
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naming_needs_the_stem_and_known_placeholders() {
        assert!(check_naming("{stem}.realskin.{ext}").is_ok());
        assert!(check_naming("{stem}-{hotfolder}-{date}.{ext}").is_ok());
        assert!(check_naming("out.{ext}").is_err());
        assert!(check_naming("{stem}.{extension}").is_err());
        assert!(check_naming("sub/{stem}.{ext}").is_err());
    }

    #[test]
    fn within_is_lexical_for_missing_paths() {
        assert!(is_within(Path::new("/nope/a/b/../c"), Path::new("/nope/a")));
        assert!(!is_within(Path::new("/nope/ab"), Path::new("/nope/a")));
    }
}
