//! Getting results onto disk without anyone ever seeing half a file: output names,
//! atomic writes, and moving originals to `done/` or `failed/`.
//!
//! Every file realskin creates is written under a dot-prefixed temporary name in its
//! destination folder, flushed to disk, then renamed into place (and the folder
//! flushed), so a sync client or a person sees either nothing or the whole file.
//! Originals are only ever renamed, never rewritten; across volumes they are copied
//! the same atomic way before the source is removed.

pub mod encode;

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::OnCollision;

/// Prefix of realskin's temporary files; the watcher ignores them and start-up removes
/// any a crash left behind.
pub const TEMP_PREFIX: &str = ".realskin-tmp-";

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The output file name for an input, from the `naming` template.
pub fn output_file_name(
    input_name: &Path,
    naming: &str,
    ext: &str,
    hotfolder: &str,
    date: &str,
) -> String {
    let stem = input_name
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".to_string());
    naming
        .replace("{stem}", &stem)
        .replace("{ext}", ext)
        .replace("{hotfolder}", hotfolder)
        .replace("{date}", date)
}

/// `name.ext` → `name-2.ext`; `name` → `name-2`.
pub fn versioned(path: &Path, n: u32) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{n}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{n}"),
    };
    path.with_file_name(name)
}

/// The path to write, following `on_collision`; `None` means skip (the name is taken).
pub fn choose_path(wanted: &Path, on_collision: OnCollision) -> Option<PathBuf> {
    if !exists(wanted) {
        return Some(wanted.to_path_buf());
    }
    match on_collision {
        OnCollision::Overwrite => Some(wanted.to_path_buf()),
        OnCollision::Skip => None,
        OnCollision::Version => (2..).map(|n| versioned(wanted, n)).find(|p| !exists(p)),
    }
}

/// A free path: `wanted`, or its first free version.
pub fn free_path(wanted: &Path) -> PathBuf {
    choose_path(wanted, OnCollision::Version).unwrap_or_else(|| wanted.to_path_buf())
}

fn exists(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok()
}

/// Writes `bytes` to `path` atomically: temporary name, fsync, rename, fsync folder.
/// On failure nothing is left behind under either name.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = temp_path_for(path);
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        sync_dir(dir);
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// A unique temporary name next to `path`.
pub fn temp_path_for(path: &Path) -> PathBuf {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!("{TEMP_PREFIX}{}-{n}-{name}", std::process::id()))
}

/// Flushes a folder's entries (the rename) to disk; best effort where unsupported.
pub fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Moves `from` to `to`, or to a free version of `to` if taken; returns where it went.
/// Never overwrites. Across volumes: atomic copy, then the source is removed.
pub fn move_file(from: &Path, to: &Path) -> io::Result<PathBuf> {
    if let Some(dir) = to.parent() {
        fs::create_dir_all(dir)?;
    }
    let dest = free_path(to);
    match fs::rename(from, &dest) {
        Ok(()) => {
            if let Some(dir) = dest.parent() {
                sync_dir(dir);
            }
            Ok(dest)
        }
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
            let tmp = temp_path_for(&dest);
            let copied = (|| {
                fs::copy(from, &tmp)?;
                File::open(&tmp)?.sync_all()?;
                fs::rename(&tmp, &dest)
            })();
            if let Err(e) = copied {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
            if let Some(dir) = dest.parent() {
                sync_dir(dir);
            }
            fs::remove_file(from)?;
            Ok(dest)
        }
        Err(e) => Err(e),
    }
}

/// Removes temporary files a crash left in `dir` and its subfolders; returns how many.
pub fn remove_stale_temp_files(dir: &Path) -> usize {
    let mut removed = 0;
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            if !entry.file_name().to_string_lossy().starts_with('.') {
                removed += remove_stale_temp_files(&path);
            }
        } else if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX)
            && fs::remove_file(&path).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_template() {
        assert_eq!(
            output_file_name(
                Path::new("shoot/model.PNG"),
                "{stem}.realskin.{ext}",
                "png",
                "h",
                "2026-01-02"
            ),
            "model.realskin.png"
        );
        assert_eq!(
            output_file_name(
                Path::new("a.jpg"),
                "{date}_{hotfolder}_{stem}.{ext}",
                "webp",
                "web",
                "2026-01-02"
            ),
            "2026-01-02_web_a.webp"
        );
    }

    #[test]
    fn collisions_version_skip_or_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let want = dir.path().join("a.realskin.png");
        assert_eq!(choose_path(&want, OnCollision::Version), Some(want.clone()));
        fs::write(&want, b"x").unwrap();
        fs::write(dir.path().join("a.realskin-2.png"), b"x").unwrap();
        assert_eq!(
            choose_path(&want, OnCollision::Version),
            Some(dir.path().join("a.realskin-3.png"))
        );
        assert_eq!(choose_path(&want, OnCollision::Skip), None);
        assert_eq!(choose_path(&want, OnCollision::Overwrite), Some(want));
    }

    #[test]
    fn atomic_write_leaves_only_the_final_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/out.png");
        write_atomic(&path, b"hello").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"hello");
        let names: Vec<_> = fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn move_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.png");
        let dest = dir.path().join("done/a.png");
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::write(&dest, b"older").unwrap();
        fs::write(&a, b"newer").unwrap();
        let went = move_file(&a, &dest).unwrap();
        assert_eq!(went, dir.path().join("done/a-2.png"));
        assert_eq!(fs::read(&dest).unwrap(), b"older");
        assert_eq!(fs::read(&went).unwrap(), b"newer");
    }

    #[test]
    fn stale_temp_files_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("x")).unwrap();
        fs::write(
            dir.path().join("x").join(format!("{TEMP_PREFIX}1-0-a.png")),
            b"half",
        )
        .unwrap();
        fs::write(dir.path().join("x/keep.png"), b"whole").unwrap();
        assert_eq!(remove_stale_temp_files(dir.path()), 1);
        assert!(dir.path().join("x/keep.png").exists());
    }
}
