//! Getting results onto disk without anyone ever seeing half a file: output names,
//! atomic writes, and moving originals to `done/` or `failed/`.
//!
//! Every file realskin creates is written under a dot-prefixed temporary name in its
//! destination folder, flushed to disk, then renamed into place (and the folder
//! flushed), so a sync client or a person sees either nothing or the whole file.
//! Temporary files are always created new (`O_EXCL`, no symlink followed), so a name
//! planted in a shared folder is never written through. Outputs and moved originals are
//! renamed with a rename that refuses to replace ([`rename_no_replace`]): a file that
//! appears under the chosen name meanwhile (another daemon on the share, a person saving)
//! is kept, and the next version is taken. Originals are only ever renamed, never
//! rewritten; across volumes they are copied the same atomic way before the source is
//! removed.

pub mod encode;
pub mod png;
pub mod settings;

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub use settings::{OnCollision, OutputConfig, OutputFormat, PngCompression};

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
        let mut f = create_new(&tmp)?;
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

/// Creates a file that did not exist: fails on any existing name, a symlink included
/// (`O_CREAT | O_EXCL`, and `O_NOFOLLOW` besides), so nothing planted is written through.
pub fn create_new(path: &Path) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

/// The pieces written beside an output: the original's C2PA manifest store (`.c2pa`), when
/// it is kept.
pub fn companions(c2pa_sidecar: Option<&[u8]>) -> Vec<(&'static str, &[u8])> {
    c2pa_sidecar.into_iter().map(|m| (".c2pa", m)).collect()
}

/// An output already written in full and flushed to disk under a temporary name in the
/// folder it goes to, waiting to be renamed into place by [`place_new`]. The encoder
/// writes it while it compresses (so the file is not held whole in memory first). Dropped
/// unplaced, it is removed; a crash leaves it for [`remove_stale_temp_files`].
#[derive(Debug)]
pub struct Staged {
    path: PathBuf,
    len: u64,
}

impl Staged {
    /// A new temporary file in `dir` (created when missing), filled by `fill` (which returns
    /// the bytes it wrote) and flushed. On any error the file is removed.
    pub fn write(
        dir: &Path,
        fill: impl FnOnce(&mut File) -> io::Result<u64>,
    ) -> io::Result<Staged> {
        fs::create_dir_all(dir)?;
        let path = temp_path_for(&dir.join("output"));
        let mut f = create_new(&path)?;
        // Owned from here: an error below removes the file.
        let mut staged = Staged { path, len: 0 };
        staged.len = fill(&mut f)?;
        f.sync_all()?;
        Ok(staged)
    }

    /// The file's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Where it waits.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Placed, the name is gone already and this finds nothing.
        let _ = fs::remove_file(&self.path);
    }
}

/// An output's content: bytes in memory, or a file already [`Staged`] beside its
/// destination.
#[derive(Debug)]
pub enum Body {
    Bytes(Vec<u8>),
    Staged(Staged),
}

impl Body {
    /// The content's length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Body::Bytes(b) => b.len() as u64,
            Body::Staged(s) => s.len(),
        }
    }

    /// Whether the content is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Writes `bytes` atomically under `wanted`, never replacing a file that is there or that
/// appears meanwhile: see [`place_new`].
pub fn write_new(
    wanted: &Path,
    bytes: &[u8],
    companions: &[(&str, &[u8])],
    on_collision: OnCollision,
    record: impl FnMut(&Path) -> io::Result<()>,
) -> io::Result<Option<PathBuf>> {
    place(wanted, Main::Bytes(bytes), companions, on_collision, record)
}

/// Places `body` atomically under `wanted`, never replacing a file that is there or that
/// appears meanwhile: with `Version`, the next free version is taken instead; with `Skip`,
/// nothing is written and `None` returned; `Overwrite` replaces. Each companion
/// (`suffix`, bytes) is placed at the chosen name plus its suffix just before the file
/// itself (a C2PA sidecar: the pair is complete the moment the file appears), under the
/// same rule. `record` is called with each name before it is tried (the ledger keeps it,
/// so a resumed job finds its file). A [`Staged`] body is renamed into place; one staged
/// in another folder than `wanted`'s is copied there first.
pub fn place_new(
    wanted: &Path,
    body: &Body,
    companions: &[(&str, &[u8])],
    on_collision: OnCollision,
    record: impl FnMut(&Path) -> io::Result<()>,
) -> io::Result<Option<PathBuf>> {
    let main = match body {
        Body::Bytes(b) => Main::Bytes(b),
        Body::Staged(s) => Main::Staged(s.path()),
    };
    place(wanted, main, companions, on_collision, record)
}

/// The file itself: bytes to write, or a file written and flushed already.
#[derive(Clone, Copy)]
enum Main<'a> {
    Bytes(&'a [u8]),
    Staged(&'a Path),
}

fn place(
    wanted: &Path,
    main: Main,
    companions: &[(&str, &[u8])],
    on_collision: OnCollision,
    mut record: impl FnMut(&Path) -> io::Result<()>,
) -> io::Result<Option<PathBuf>> {
    let beside = |path: &Path, suffix: &str| PathBuf::from(format!("{}{suffix}", path.display()));
    let dir = wanted.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    // Every piece is flushed under a temporary name in `dir` first; `ours` are the names
    // written here (a staged file is its owner's to remove).
    let mut ours: Vec<PathBuf> = Vec::with_capacity(companions.len() + 1);
    let result = (|| {
        let mut flush = |write: &dyn Fn(&mut File) -> io::Result<()>| -> io::Result<PathBuf> {
            let tmp = temp_path_for(wanted);
            ours.push(tmp.clone());
            let mut f = create_new(&tmp)?;
            write(&mut f)?;
            f.sync_all()?;
            Ok(tmp)
        };
        let mut temps: Vec<PathBuf> = Vec::with_capacity(companions.len() + 1);
        for (_, data) in companions {
            temps.push(flush(&|f| f.write_all(data))?);
        }
        temps.push(match main {
            Main::Bytes(bytes) => flush(&|f| f.write_all(bytes))?,
            Main::Staged(p) if p.parent() == Some(dir) => p.to_path_buf(),
            Main::Staged(p) => flush(&|f| io::copy(&mut File::open(p)?, f).map(drop))?,
        });
        let (main_tmp, companion_temps) = temps.split_last().expect("the file's own temporary");
        if on_collision == OnCollision::Overwrite {
            record(wanted)?;
            for ((suffix, _), tmp) in companions.iter().zip(companion_temps) {
                fs::rename(tmp, beside(wanted, suffix))?;
            }
            fs::rename(main_tmp, wanted)?;
            sync_dir(dir);
            return Ok(Some(wanted.to_path_buf()));
        }
        'names: while let Some(path) = choose_path(wanted, on_collision) {
            record(&path)?;
            let mut placed: Vec<PathBuf> = Vec::new();
            let pieces = companions
                .iter()
                .zip(companion_temps)
                .map(|((suffix, _), tmp)| (tmp, beside(&path, suffix)))
                .chain([(main_tmp, path.clone())]);
            for (tmp, dest) in pieces {
                match rename_no_replace(tmp, &dest) {
                    Ok(()) => placed.push(dest),
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        // Taken meanwhile: put back what this name got, try the next one.
                        for (dest, tmp) in placed.iter().zip(companion_temps) {
                            rename_no_replace(dest, tmp)?;
                        }
                        continue 'names;
                    }
                    Err(e) => return Err(e),
                }
            }
            sync_dir(dir);
            return Ok(Some(path));
        }
        Ok(None)
    })();
    for tmp in &ours {
        let _ = fs::remove_file(tmp);
    }
    result
}

/// Renames `from` to `to` unless `to` exists (then `ErrorKind::AlreadyExists`), in one
/// atomic step: `renameat2(RENAME_NOREPLACE)` on Linux, `renamex_np(RENAME_EXCL)` on
/// macOS, else (a file system without them, Windows) a hard link, which refuses an
/// existing name, then the old name removed. Only where neither exists (FAT, some network
/// shares) is it a check, then a rename.
pub fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    if let Some(done) = native_rename_no_replace(from, to) {
        return done;
    }
    match fs::hard_link(from, to) {
        Ok(()) => fs::remove_file(from),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        Err(_) if exists(to) => Err(io::Error::from(io::ErrorKind::AlreadyExists)),
        Err(_) => fs::rename(from, to),
    }
}

/// The system's no-replace rename; `None` where it has none, or the file system refuses it.
#[cfg(any(target_os = "linux", target_vendor = "apple"))]
fn native_rename_no_replace(from: &Path, to: &Path) -> Option<io::Result<()>> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let (Ok(a), Ok(b)) = (
        CString::new(from.as_os_str().as_bytes()),
        CString::new(to.as_os_str().as_bytes()),
    ) else {
        return Some(Err(io::Error::from(io::ErrorKind::InvalidInput)));
    };
    // SAFETY: two valid NUL-terminated paths, relative to the working directory.
    #[cfg(target_os = "linux")]
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    // SAFETY: as above.
    #[cfg(target_vendor = "apple")]
    let r = unsafe { libc::renamex_np(a.as_ptr(), b.as_ptr(), libc::RENAME_EXCL) };
    if r == 0 {
        return Some(Ok(()));
    }
    let e = io::Error::last_os_error();
    // Not supported here (ENOTSUP and EOPNOTSUPP are one value on Linux, two on macOS).
    let unsupported = [libc::EINVAL, libc::ENOSYS, libc::EOPNOTSUPP, libc::ENOTSUP];
    match e.raw_os_error() {
        Some(c) if unsupported.contains(&c) => None,
        _ => Some(Err(e)),
    }
}

#[cfg(not(any(target_os = "linux", target_vendor = "apple")))]
fn native_rename_no_replace(_from: &Path, _to: &Path) -> Option<io::Result<()>> {
    None
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
/// Never overwrites, even a file that appears meanwhile. Across volumes: atomic copy,
/// then the source is removed.
pub fn move_file(from: &Path, to: &Path) -> io::Result<PathBuf> {
    if let Some(dir) = to.parent() {
        fs::create_dir_all(dir)?;
    }
    let place = |tmp: &Path| -> io::Result<PathBuf> {
        loop {
            let dest = free_path(to);
            match rename_no_replace(tmp, &dest) {
                Ok(()) => {
                    if let Some(dir) = dest.parent() {
                        sync_dir(dir);
                    }
                    return Ok(dest);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    };
    match place(from) {
        Ok(dest) => Ok(dest),
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
            let tmp = temp_path_for(to);
            let copied = (|| {
                let mut src = File::open(from)?;
                let mut dst = create_new(&tmp)?;
                io::copy(&mut src, &mut dst)?;
                dst.sync_all()?;
                drop(dst);
                place(&tmp)
            })();
            let dest = match copied {
                Ok(dest) => dest,
                Err(e) => {
                    let _ = fs::remove_file(&tmp);
                    return Err(e);
                }
            };
            fs::remove_file(from)?;
            Ok(dest)
        }
        Err(e) => Err(e),
    }
}

/// Removes temporary files a crash left in `dir` and its subfolders, untouched for at
/// least `idle` (zero: all of them; in a fleet another machine may be writing one right
/// now); returns how many.
pub fn remove_stale_temp_files(dir: &Path, idle: std::time::Duration) -> usize {
    let mut removed = 0;
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            if !entry.file_name().to_string_lossy().starts_with('.') {
                removed += remove_stale_temp_files(&path, idle);
            }
        } else if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX)
            && (idle.is_zero()
                || entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t.elapsed().is_ok_and(|age| age >= idle)))
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

    /// Names in `dir`, sorted.
    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_staged_file_is_renamed_into_place_under_every_policy_and_removed_when_unplaced() {
        let dir = tempfile::tempdir().unwrap();
        let want = dir.path().join("out/a.realskin.png");
        let out = want.parent().unwrap();
        let stage = |content: &'static [u8]| {
            Body::Staged(
                Staged::write(out, |f| f.write_all(content).map(|_| content.len() as u64)).unwrap(),
            )
        };
        for (policy, content, placed) in [
            (OnCollision::Version, &b"first"[..], "a.realskin.png"),
            (OnCollision::Version, b"second", "a.realskin-2.png"),
            (OnCollision::Overwrite, b"third", "a.realskin.png"),
        ] {
            let body = stage(content);
            assert_eq!(body.len(), content.len() as u64);
            let went = place_new(&want, &body, &[(".c2pa", b"m")], policy, |_| Ok(()));
            assert_eq!(went.unwrap(), Some(out.join(placed)), "{policy:?}");
            assert_eq!(fs::read(out.join(placed)).unwrap(), content);
            drop(body);
        }
        // Skip: nothing placed, and the staged file goes when dropped.
        let body = stage(b"fourth");
        let went = place_new(&want, &body, &[], OnCollision::Skip, |_| Ok(())).unwrap();
        assert_eq!(went, None);
        drop(body);
        assert_eq!(
            listing(out),
            [
                "a.realskin-2.png",
                "a.realskin-2.png.c2pa",
                "a.realskin.png",
                "a.realskin.png.c2pa"
            ]
        );
        // A fill that fails leaves nothing behind.
        let failed = Staged::write(out, |f| {
            f.write_all(b"half")?;
            Err(io::Error::from(io::ErrorKind::StorageFull))
        });
        assert_eq!(failed.unwrap_err().kind(), io::ErrorKind::StorageFull);
        assert_eq!(listing(out).len(), 4);
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
    fn a_name_taken_while_writing_is_kept_and_the_next_version_is_used() {
        let dir = tempfile::tempdir().unwrap();
        let want = dir.path().join("a.realskin.png");
        // Someone saves under the chosen name between the choice and the rename.
        let mut tried = Vec::new();
        let went = write_new(
            &want,
            b"ours",
            &[(".c2pa", b"sidecar")],
            OnCollision::Version,
            |p| {
                if tried.is_empty() {
                    fs::write(p, b"theirs")?;
                }
                tried.push(p.to_path_buf());
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(went, Some(dir.path().join("a.realskin-2.png")));
        assert_eq!(fs::read(&want).unwrap(), b"theirs");
        assert_eq!(fs::read(went.as_ref().unwrap()).unwrap(), b"ours");
        assert_eq!(
            fs::read(dir.path().join("a.realskin-2.png.c2pa")).unwrap(),
            b"sidecar"
        );
        assert!(!dir.path().join("a.realskin.png.c2pa").exists());
        assert_eq!(tried.len(), 2, "each name is recorded before it is tried");
        // With skip, a name taken meanwhile means nothing is written, and no temporary left.
        let other = dir.path().join("b.png");
        let went = write_new(&other, b"ours", &[], OnCollision::Skip, |p| {
            fs::write(p, b"theirs")
        });
        assert_eq!(went.unwrap(), None);
        assert_eq!(fs::read(&other).unwrap(), b"theirs");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            4,
            "no temporary left"
        );
    }

    #[test]
    fn the_no_replace_rename_refuses_an_existing_name() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&a, b"new").unwrap();
        fs::write(&b, b"old").unwrap();
        let e = rename_no_replace(&a, &b).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&b).unwrap(), b"old");
        fs::remove_file(&b).unwrap();
        rename_no_replace(&a, &b).unwrap();
        assert_eq!(fs::read(&b).unwrap(), b"new");
        assert!(!a.exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_symlink_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("precious.txt");
        fs::write(&target, b"keep me").unwrap();
        let link = dir.path().join("planted");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(create_new(&link).is_err());
        assert_eq!(fs::read(&target).unwrap(), b"keep me");
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
        assert_eq!(
            remove_stale_temp_files(dir.path(), std::time::Duration::from_secs(3600)),
            0,
            "a fresh one may be another machine's write in progress"
        );
        assert_eq!(
            remove_stale_temp_files(dir.path(), std::time::Duration::ZERO),
            1
        );
        assert!(dir.path().join("x/keep.png").exists());
    }
}
