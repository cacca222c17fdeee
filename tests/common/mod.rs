//! Shared helpers for integration tests: fixtures the project makes itself, temporary
//! hotfolders with their config, and the real `realskin` binary started as a daemon.

#![allow(dead_code)]

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use image::{DynamicImage, ImageEncoder};

#[path = "fixtures.rs"]
mod fixtures;
pub use fixtures::photo;

/// PNG bytes of [`photo`].
pub fn photo_png(w: u32, h: u32, seed: u32) -> Vec<u8> {
    encode_png(&DynamicImage::ImageRgb8(photo(w, h, seed)))
}

/// PNG bytes of any image.
pub fn encode_png(img: &DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// JPEG bytes of [`photo`].
pub fn photo_jpeg(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let img = photo(w, h, seed);
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

/// Whether bytes decode completely as an image.
pub fn decodes(bytes: &[u8]) -> bool {
    image::load_from_memory(bytes).is_ok()
}

/// A temporary hotfolder layout with its state dir.
pub struct Hotfolder {
    pub root: tempfile::TempDir,
    pub input: PathBuf,
    pub output: PathBuf,
    pub reports: PathBuf,
    pub done: PathBuf,
    pub failed: PathBuf,
    pub state: PathBuf,
    pub config: PathBuf,
}

impl Hotfolder {
    /// Creates the folders and writes a config with `extra` hotfolder keys and
    /// `sections` (global TOML appended at the end).
    pub fn new(hotfolder_extra: &str, sections: &str) -> Self {
        let root = tempfile::tempdir().unwrap();
        let p = |n: &str| root.path().join(n);
        let hf = Self {
            input: p("in"),
            output: p("out"),
            reports: p("reports"),
            done: p("done"),
            failed: p("failed"),
            state: p("state"),
            config: p("realskin.toml"),
            root,
        };
        for d in [
            &hf.input,
            &hf.output,
            &hf.reports,
            &hf.done,
            &hf.failed,
            &hf.state,
        ] {
            std::fs::create_dir_all(d).unwrap();
        }
        let upscale = if sections.contains("[upscale]") {
            ""
        } else {
            "[upscale]\nmin_long_edge = 600\ntarget_long_edge = 600\n"
        };
        let text = format!(
            r#"[daemon]
state_dir = "state"
workers = 2
rescan_interval = "1h"
retry_backoff = "500ms"
retry_max_backoff = "1s"
shutdown_grace = "20s"
yield_above_cpu = 0
yield_below_free_memory_mb = 0

[api]
listen = "127.0.0.1:0"

{upscale}
[[hotfolder]]
name = "test"
input = "in"
output = "out"
reports = "reports"
done = "done"
failed = "failed"
settle = "400ms"
poll_interval = "200ms"
{hotfolder_extra}

{sections}
"#
        );
        std::fs::write(&hf.config, text).unwrap();
        hf
    }

    /// Writes a file into the input atomically (via a hidden temporary name), as a
    /// finished copy would appear.
    pub fn drop_file(&self, name: &str, bytes: &[u8]) {
        let path = self.input.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let tmp = path.with_file_name(format!(
            ".dropping-{}",
            path.file_name().unwrap().to_string_lossy()
        ));
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }

    /// Files (not folders) under `dir`, relative, sorted; hidden ones included.
    pub fn files(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        walk(dir, dir, &mut out);
        out.sort();
        out
    }

    /// The JSON reports under `dir`.
    pub fn json_reports(dir: &Path) -> Vec<String> {
        Self::visible(dir)
            .into_iter()
            .filter(|f| f.ends_with(".json"))
            .collect()
    }

    /// Non-hidden files under `dir`.
    pub fn visible(dir: &Path) -> Vec<String> {
        Self::files(dir)
            .into_iter()
            .filter(|f| !f.split('/').any(|c| c.starts_with('.')))
            .collect()
    }
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(base, &p, out);
        } else {
            out.push(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
        }
    }
}

/// The real daemon, started on a config.
pub struct Daemon {
    child: Option<Child>,
    pub log: PathBuf,
}

impl Daemon {
    /// Starts `realskin run --config <config>` with logs captured to a file.
    pub fn start(config: &Path) -> Self {
        Self::start_with(config, &[])
    }

    /// Same, with extra environment variables.
    pub fn start_with(config: &Path, env: &[(&str, &str)]) -> Self {
        let dir = config.parent().unwrap();
        let log = dir.join(format!(
            "daemon-{}.log",
            Instant::now().elapsed().as_nanos() ^ rand_tag()
        ));
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_realskin"));
        cmd.arg("run")
            .arg("--config")
            .arg(config)
            .env("HOME", dir)
            .env("RUST_LOG", "info,notify=warn")
            .stdout(Stdio::null())
            .stderr(file);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start realskin");
        let d = Self {
            child: Some(child),
            log,
        };
        d.wait_log("Watching hotfolder", Duration::from_secs(20));
        d
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle`.
    pub fn wait_log(&self, needle: &str, timeout: Duration) {
        let ok = wait_until(timeout, || self.log_text().contains(needle));
        assert!(ok, "log never said {needle:?}:\n{}", self.log_text());
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        wait_child(&mut child, Duration::from_secs(30))
    }

    /// SIGKILL: a crash.
    pub fn kill(mut self) {
        let mut child = self.child.take().unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn rand_tag() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    h.finish() as u128
}

fn wait_child(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            panic!("daemon did not stop within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Polls `cond` every 20 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

/// Watches a folder from another thread and records any visible file that does not
/// decode as a complete image (a half-written output).
pub struct PartialWatch {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<Vec<String>>>,
}

impl PartialWatch {
    pub fn start(dir: &Path) -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s = stop.clone();
        let dir = dir.to_path_buf();
        let handle = std::thread::spawn(move || {
            let mut bad = Vec::new();
            let mut checked = std::collections::HashSet::new();
            while !s.load(std::sync::atomic::Ordering::Relaxed) {
                for f in Hotfolder::visible(&dir) {
                    if checked.contains(&f) {
                        continue;
                    }
                    if let Ok(bytes) = std::fs::read(dir.join(&f)) {
                        if decodes(&bytes) {
                            checked.insert(f);
                        } else if dir.join(&f).exists() {
                            bad.push(f);
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            bad
        });
        Self {
            stop,
            handle: Some(handle),
        }
    }

    /// Stops watching; returns the partial files seen.
    pub fn finish(mut self) -> Vec<String> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.handle.take().unwrap().join().unwrap()
    }
}

/// Whether the tests run as root (permission bits do not stop root).
pub fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// SHA-256 of bytes, hex (what the models manifest pins).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    realskin::models::hex(&sha2::Sha256::digest(bytes))
}
