//! Super-resolution models: the manifest of recommended ones, where an installed
//! model lives, and the `realskin models list | install | verify | doctor | bench`
//! commands.
//!
//! The manifest is `models/models.toml`, built into the binary; a `models.toml` in
//! the models folder adds entries or replaces ones of the same name (a studio's own
//! models, or a mirror). A `model` setting is either such a name, resolved to
//! `<models_dir>/<file>`, or a path to an `.onnx` file. Installing downloads, checks the
//! SHA-256 and renames into place ([`download`]); nothing here runs on its own, and
//! the daemon never downloads anything.

pub mod download;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The built-in manifest.
pub const MANIFEST_TOML: &str = include_str!("../../models/models.toml");

/// The file name of a user manifest inside the models folder.
pub const USER_MANIFEST: &str = "models.toml";

/// One recommended model.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The name a config's `model` uses.
    pub name: String,
    /// The file name inside the models folder.
    pub file: String,
    /// Where `models install` downloads it from.
    pub url: String,
    /// SHA-256 of the file, lowercase hex; empty when not yet pinned.
    #[serde(default)]
    pub sha256: String,
    /// Size in bytes, when known (for the progress bar).
    #[serde(default)]
    pub size: Option<u64>,
    /// Output size / input size.
    pub scale: u32,
    /// The licence of the weights.
    pub licence: String,
    /// One line on what it is good for.
    pub description: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    #[serde(default)]
    model: Vec<Entry>,
}

/// The models realskin knows by name.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    /// By name, sorted.
    pub entries: BTreeMap<String, Entry>,
    /// The user manifest that was merged in, if any.
    pub user_file: Option<PathBuf>,
}

impl Manifest {
    /// The built-in manifest with `<models_dir>/models.toml` (if present) on top.
    pub fn load(models_dir: &Path) -> Result<Self, String> {
        let mut m = Self::parse(MANIFEST_TOML, Path::new("models/models.toml (built in)"))?;
        let user = models_dir.join(USER_MANIFEST);
        if let Ok(text) = std::fs::read_to_string(&user) {
            let extra = Self::parse(&text, &user)?;
            m.entries.extend(extra.entries);
            m.user_file = Some(user);
        }
        Ok(m)
    }

    /// Parses manifest text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Self, String> {
        let file: ManifestFile = toml::from_str(text)
            .map_err(|e| format!("{}: {}", origin.display(), e.message().trim()))?;
        let mut entries = BTreeMap::new();
        for e in file.model {
            let bad = |why: &str| format!("{}: model `{}`: {why}", origin.display(), e.name);
            if e.name.is_empty() || model_is_path(&e.name) {
                return Err(bad("the name must be a plain word, not a path"));
            }
            if e.file.contains(['/', '\\']) || e.file.is_empty() {
                return Err(bad("`file` must be a file name without folders"));
            }
            if !e.sha256.is_empty() && parse_sha256(&e.sha256).is_none() {
                return Err(bad(
                    "`sha256` must be 64 hex digits (or empty when not pinned)",
                ));
            }
            entries.insert(e.name.clone(), e);
        }
        Ok(Self {
            entries,
            user_file: None,
        })
    }

    /// The entry called `name`.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.get(name)
    }
}

/// A configured model, resolved to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// How the config named it (the manifest name, or the file name for a path).
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// The manifest's scale, to cross-check the probe.
    pub expected_scale: Option<u32>,
}

/// Why a `model` setting does not lead to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveError {
    /// What is wrong.
    pub what: String,
    /// What to do.
    pub hint: String,
}

/// Whether a `model` value is a file path (it has a folder separator or ends in
/// `.onnx`) rather than a name from the models manifest.
pub fn model_is_path(model: &str) -> bool {
    model.contains(['/', '\\']) || model.to_ascii_lowercase().ends_with(".onnx")
}

/// Resolves `[upscale] model` against the models in `models_dir` (paths already
/// absolute, see `Config::resolve_paths`).
pub fn resolve(model: &str, models_dir: &Path) -> Result<Resolved, ResolveError> {
    if model.trim().is_empty() {
        return Err(ResolveError {
            what: "engine = \"onnx\" needs a model, and `model` is empty.".into(),
            hint: "Set [upscale] model to a name from `realskin models list` (then `realskin models install NAME`) or to the path of an .onnx file.".into(),
        });
    }
    if model_is_path(model) {
        let path = PathBuf::from(model);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| model.to_string());
        return Ok(Resolved {
            name,
            path,
            expected_scale: None,
        });
    }
    let manifest = Manifest::load(models_dir).map_err(|e| ResolveError {
        what: format!("The models manifest cannot be read: {e}."),
        hint: "Fix or remove the user manifest.".into(),
    })?;
    match manifest.get(model) {
        Some(e) => Ok(Resolved {
            name: e.name.clone(),
            path: models_dir.join(&e.file),
            expected_scale: Some(e.scale),
        }),
        None => Err(ResolveError {
            what: format!(
                "`{}` is neither a model name from the manifest nor a path to an .onnx file.",
                model
            ),
            hint: format!(
                "Use one of: {} (`realskin models list`), or give the file's path.",
                manifest
                    .entries
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

/// 64 hex digits to bytes.
pub fn parse_sha256(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// The checksum a model file is checked against: the manifest's, else the one
/// recorded beside the file when it was installed unpinned (`<file>.sha256`).
pub fn expected_sha256(entry: &Entry, models_dir: &Path) -> Option<String> {
    if !entry.sha256.is_empty() {
        return Some(entry.sha256.to_ascii_lowercase());
    }
    let pin = models_dir.join(format!("{}.sha256", entry.file));
    let text = std::fs::read_to_string(pin).ok()?;
    let first = text.split_whitespace().next()?.to_ascii_lowercase();
    parse_sha256(&first).map(|_| first)
}

/// `realskin models list`: every model with its scale, licence and whether it is installed.
pub fn list(manifest: &Manifest, models_dir: &Path) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Models folder: {}", models_dir.display());
    if let Some(u) = &manifest.user_file {
        let _ = writeln!(out, "User manifest: {}", u.display());
    }
    let _ = writeln!(out);
    for e in manifest.entries.values() {
        let installed = models_dir.join(&e.file).is_file();
        let size = e
            .size
            .map(|s| format!(", {:.0} MB", s as f64 / 1e6))
            .unwrap_or_default();
        let pinned = if e.sha256.is_empty() {
            ", checksum not pinned"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{} {:<22} ×{}  {}{size}{pinned}\n    {}\n    licence: {}",
            if installed {
                "[installed]"
            } else {
                "[ -      ]"
            },
            e.name,
            e.scale,
            e.file,
            e.description,
            e.licence
        );
    }
    let _ = writeln!(
        out,
        "\nInstall one with `realskin models install NAME`, then set [upscale] engine = \"onnx\" and model = \"NAME\"."
    );
    out
}

/// The result of re-checking one installed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Matches its checksum.
    Ok,
    /// Does not match.
    Mismatch {
        /// Wanted.
        expected: String,
        /// Found.
        actual: String,
    },
    /// No checksum to compare with.
    Unpinned {
        /// Found.
        actual: String,
    },
    /// Not installed.
    Missing,
    /// Cannot be read.
    Unreadable(String),
}

/// `realskin models verify`: re-checks every installed manifest model; returns the
/// report and whether everything installed is intact.
pub fn verify(manifest: &Manifest, models_dir: &Path) -> (String, bool) {
    let mut out = String::new();
    let mut ok = true;
    let mut any = false;
    for e in manifest.entries.values() {
        let path = models_dir.join(&e.file);
        let check = if !path.is_file() {
            Check::Missing
        } else {
            match sha256_file(&path) {
                Err(err) => Check::Unreadable(err.to_string()),
                Ok(actual) => match expected_sha256(e, models_dir) {
                    Some(expected) if expected == actual => Check::Ok,
                    Some(expected) => Check::Mismatch { expected, actual },
                    None => Check::Unpinned { actual },
                },
            }
        };
        let line = match &check {
            Check::Missing => continue,
            Check::Ok => format!("ok        {} ({})", e.name, path.display()),
            Check::Mismatch { expected, actual } => format!(
                "MISMATCH  {} ({}): SHA-256 is {actual}, expected {expected}; the file is damaged or not this model. Reinstall it with `realskin models install {} --force`",
                e.name,
                path.display(),
                e.name
            ),
            Check::Unpinned { actual } => format!(
                "unpinned  {} ({}): SHA-256 {actual}; no checksum to compare with (see models/models.toml)",
                e.name,
                path.display()
            ),
            Check::Unreadable(err) => format!("UNREADABLE {} ({}): {err}", e.name, path.display()),
        };
        any = true;
        ok &= matches!(check, Check::Ok | Check::Unpinned { .. });
        let _ = writeln!(out, "{line}");
    }
    let known: Vec<&str> = manifest.entries.values().map(|e| e.file.as_str()).collect();
    if let Ok(dir) = std::fs::read_dir(models_dir) {
        let mut others: Vec<String> = dir
            .flatten()
            .map(|d| d.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".onnx") && !known.contains(&n.as_str()))
            .collect();
        others.sort();
        for n in others {
            let _ = writeln!(
                out,
                "unknown   {n}: not in the manifest, not checked (add it to {} to pin its checksum)",
                models_dir.join(USER_MANIFEST).display()
            );
        }
    }
    if !any {
        let _ = writeln!(
            out,
            "No manifest model is installed in {}.",
            models_dir.display()
        );
    }
    (out, ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_manifest_parses_and_names_real_files() {
        let m = Manifest::parse(MANIFEST_TOML, Path::new("models.toml")).unwrap();
        assert!(m.entries.len() >= 3);
        for e in m.entries.values() {
            assert!(e.url.starts_with("https://"), "{}", e.name);
            assert!(e.file.ends_with(".onnx"), "{}", e.name);
            assert!(e.scale >= 2, "{}", e.name);
            assert!(!e.licence.is_empty() && !e.description.is_empty());
        }
    }

    #[test]
    fn names_and_paths_resolve() {
        let dir = Path::new("/models");
        let m = Manifest::parse(MANIFEST_TOML, Path::new("m")).unwrap();
        let (name, entry) = m.entries.iter().next().unwrap();
        let r = resolve(name, dir).unwrap();
        assert_eq!(r.path, dir.join(&entry.file));
        assert_eq!(r.expected_scale, Some(entry.scale));
        let r = resolve("/x/my.onnx", dir).unwrap();
        assert_eq!(r.path, PathBuf::from("/x/my.onnx"));
        assert_eq!(r.expected_scale, None);
        let err = resolve("no-such-model", dir).unwrap_err();
        assert!(err.what.contains("no-such-model"), "{err:?}");
        assert!(resolve("", dir).unwrap_err().hint.contains("models list"));
    }

    #[test]
    fn sha256_hex_round_trips() {
        let h = hex(&Sha256::digest(b"abc"));
        assert_eq!(
            h,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(parse_sha256(&h).is_some());
        assert!(parse_sha256("xyz").is_none());
    }
}
