//! Which files in a hotfolder are never taken: hidden files, sync-client temporaries
//! and placeholders, realskin's own files, anything under a destination folder, the
//! user's extra globs, and files that are not images by name.
//!
//! Files with an image extension realskin cannot read (GIF, HEIC, PSD, ...) are taken
//! on purpose, so they land in `failed/` with a reason instead of sitting unexplained.

use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// Temporary and placeholder names written by sync clients, browsers and editors.
/// Hidden names (`.~lock`, `.syncthing.*.tmp`, `._*`, `.DS_Store`, iCloud's `.*.icloud`)
/// are covered by the hidden-file rule.
pub const DEFAULT_IGNORES: &[&str] = &[
    "~syncthing~*.tmp",
    "*.!sync",
    "*.crdownload",
    "*.part",
    "*.partial",
    "*.download",
    "*.tmp",
    "~$*",
    "desktop.ini",
    "thumbs.db",
];

/// Extensions realskin processes.
pub const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "jpe", "jfif", "webp", "tif", "tiff"];

/// Image extensions realskin cannot read: taken, so they fail with a clear reason.
pub const OTHER_IMAGE_EXTENSIONS: &[&str] = &[
    "gif", "bmp", "heic", "heif", "avif", "psd", "jxl", "exr", "hdr", "tga", "dng", "cr2", "cr3",
    "nef", "arw", "raf", "orf", "rw2", "svg",
];

/// Why a path is not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// A hidden file or folder (name starts with a dot).
    Hidden,
    /// A sync-client or download temporary.
    Temporary,
    /// Matches the hotfolder's `ignore` globs.
    UserGlob,
    /// Inside an output, reports, done or failed folder.
    Destination,
    /// Not an image by its extension.
    NotAnImage,
}

/// The ignore rules of one hotfolder.
#[derive(Debug, Clone)]
pub struct IgnoreRules {
    input: PathBuf,
    defaults: GlobSet,
    user: GlobSet,
    excluded: Vec<PathBuf>,
}

impl IgnoreRules {
    /// Rules for `input`, with the user's globs and the folders to keep out of.
    /// Invalid globs were refused by `config check`; here they are skipped.
    pub fn new(input: &Path, user_globs: &[String], excluded: &[PathBuf]) -> Self {
        let build = |patterns: &mut dyn Iterator<Item = &str>| {
            let mut b = GlobSetBuilder::new();
            for p in patterns {
                if let Ok(g) = GlobBuilder::new(p)
                    .case_insensitive(true)
                    .literal_separator(false)
                    .build()
                {
                    b.add(g);
                }
            }
            b.build().unwrap_or_else(|_| GlobSet::empty())
        };
        Self {
            input: input.to_path_buf(),
            defaults: build(&mut DEFAULT_IGNORES.iter().copied()),
            user: build(&mut user_globs.iter().map(String::as_str)),
            excluded: excluded.to_vec(),
        }
    }

    /// Whether a file at `path` (absolute, inside the input) is skipped, and why.
    pub fn skip(&self, path: &Path) -> Option<Skip> {
        let rel = path.strip_prefix(&self.input).unwrap_or(path);
        if rel
            .components()
            .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
        {
            return Some(Skip::Hidden);
        }
        if self.excluded.iter().any(|d| path.starts_with(d)) {
            return Some(Skip::Destination);
        }
        let name = rel.file_name().map(Path::new).unwrap_or(rel);
        if self.defaults.is_match(name) {
            return Some(Skip::Temporary);
        }
        if self.user.is_match(rel) || self.user.is_match(name) {
            return Some(Skip::UserGlob);
        }
        match rel
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
        {
            Some(ext)
                if IMAGE_EXTENSIONS.contains(&ext.as_str())
                    || OTHER_IMAGE_EXTENSIONS.contains(&ext.as_str()) =>
            {
                None
            }
            Some(_) => Some(Skip::NotAnImage),
            None => None,
        }
    }

    /// Whether a folder is not descended into while scanning.
    pub fn skip_dir(&self, dir: &Path) -> bool {
        let hidden = dir
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        hidden || self.excluded.iter().any(|d| dir.starts_with(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> IgnoreRules {
        IgnoreRules::new(
            Path::new("/hf/in"),
            &["drafts/**".to_string(), "*_raw.*".to_string()],
            &[PathBuf::from("/hf/in/out")],
        )
    }

    #[test]
    fn takes_images_in_any_case() {
        let r = rules();
        for p in [
            "/hf/in/a.png",
            "/hf/in/sub/B.JPG",
            "/hf/in/c.webp",
            "/hf/in/d.tiff",
            "/hf/in/e.gif",
            "/hf/in/noext",
        ] {
            assert_eq!(r.skip(Path::new(p)), None, "{p}");
        }
    }

    #[test]
    fn skips_hidden_temporary_and_sync_files() {
        let r = rules();
        for (p, why) in [
            ("/hf/in/.DS_Store", Skip::Hidden),
            ("/hf/in/._a.png", Skip::Hidden),
            ("/hf/in/.syncthing.a.png.tmp", Skip::Hidden),
            ("/hf/in/.a.png.icloud", Skip::Hidden),
            ("/hf/in/.~lock.a.png#", Skip::Hidden),
            ("/hf/in/.realskin/processing/x/1/a.png", Skip::Hidden),
            ("/hf/in/.realskin-tmp-1-0-a.png", Skip::Hidden),
            ("/hf/in/~syncthing~a.png.tmp", Skip::Temporary),
            ("/hf/in/a.png.!sync", Skip::Temporary),
            ("/hf/in/a.png.crdownload", Skip::Temporary),
            ("/hf/in/a.png.part", Skip::Temporary),
            ("/hf/in/a.png.download", Skip::Temporary),
            ("/hf/in/a.tmp", Skip::Temporary),
            ("/hf/in/~$a.png", Skip::Temporary),
            ("/hf/in/Thumbs.db", Skip::Temporary),
            ("/hf/in/desktop.ini", Skip::Temporary),
            ("/hf/in/drafts/x.png", Skip::UserGlob),
            ("/hf/in/shot_raw.png", Skip::UserGlob),
            ("/hf/in/out/a.realskin.png", Skip::Destination),
            ("/hf/in/notes.txt", Skip::NotAnImage),
        ] {
            assert_eq!(r.skip(Path::new(p)), Some(why), "{p}");
        }
    }
}
