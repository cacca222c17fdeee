//! `realskin models install`: fetches a model, checks its SHA-256 while it streams in,
//! and renames it into the models folder only when it matches, so a half-downloaded or
//! wrong file never sits under a model's name.
//!
//! How it downloads: one client, ureq over rustls, with the platform's certificate
//! verifier (the system's roots, so a studio's own certificate authority is trusted as
//! the rest of the machine trusts it) and the proxy from `HTTPS_PROXY`/`NO_PROXY`.
//! https only, redirects included, unless `--allow-http` is given (a local mirror); a
//! redirect can never lead to a local file. The body is limited to the manifest's size
//! when it pins one, else to [`MAX_UNSIZED`], and the checksum is verified before the
//! rename. `--from FILE` installs a file downloaded by hand.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sha2::{Digest, Sha256};

use super::{Entry, hex, parse_sha256};

/// Most bytes a download whose size the manifest does not pin may bring: far above any
/// super-resolution model, far below a full disk.
pub const MAX_UNSIZED: u64 = 4 << 30;

/// How `install` gets and checks the file.
#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    /// Download from here instead of the manifest's URL (a mirror).
    pub url: Option<String>,
    /// Copy this local file instead of downloading.
    pub from: Option<PathBuf>,
    /// Check against this SHA-256 (for entries the manifest does not pin yet).
    pub sha256: Option<String>,
    /// Install an entry with no checksum anyway, recording what arrived.
    pub unpinned: bool,
    /// Replace an installed file.
    pub force: bool,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// Accept plain `http://` addresses and redirects (a mirror on the local network).
    pub allow_http: bool,
}

/// Installs `entry` into `models_dir`; returns what was done, as a sentence.
pub fn install(entry: &Entry, models_dir: &Path, opts: &InstallOptions) -> Result<String, String> {
    let expected = match (&opts.sha256, entry.sha256.is_empty()) {
        (Some(given), _) => Some(
            parse_sha256(given)
                .map(|_| given.trim().to_ascii_lowercase())
                .ok_or_else(|| format!("--sha256 {given} is not 64 hex digits"))?,
        ),
        (None, false) => Some(entry.sha256.to_ascii_lowercase()),
        (None, true) if opts.unpinned => None,
        (None, true) => {
            return Err(format!(
                "`{}` has no pinned SHA-256 in the manifest, so realskin cannot check what it would download. Pass `--sha256 HEX` with the checksum from a source you trust, or `--unpinned` to install it anyway and record the checksum of what arrives (`realskin models verify` then checks against that).",
                entry.name
            ));
        }
    };
    let dest = models_dir.join(&entry.file);
    if dest.exists() && !opts.force {
        let actual = super::sha256_file(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
        return match &expected {
            Some(want) if *want == actual => Ok(format!(
                "{} is already installed and intact ({})",
                entry.name,
                dest.display()
            )),
            _ => Err(format!(
                "{} already exists and does not match the expected checksum; pass --force to replace it",
                dest.display()
            )),
        };
    }
    fs::create_dir_all(models_dir).map_err(|e| {
        format!(
            "cannot create the models folder {}: {e}; set [upscale] models_dir to a writable folder",
            models_dir.display()
        )
    })?;

    let (source, reader, length) = match (&opts.from, &opts.url) {
        (Some(file), _) => {
            let f = File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
            let len = f.metadata().ok().map(|m| m.len());
            (
                file.display().to_string(),
                Box::new(f) as Box<dyn Read>,
                len,
            )
        }
        (None, url) => {
            let url = url.as_deref().unwrap_or(&entry.url);
            let limit = entry.size.unwrap_or(MAX_UNSIZED);
            let (r, len) = open_url(url, opts.allow_http, limit)?;
            (url.to_string(), r, len)
        }
    };
    let length = length.or(entry.size);

    let part = models_dir.join(format!(".{}.part-{}", entry.file, std::process::id()));
    let guard = RemoveOnDrop(Some(part.clone()));
    let bar = progress_bar(opts.progress, length, &entry.name);
    let actual = copy_hashing(reader, &part, &bar).map_err(|e| {
        bar.abandon();
        format!("downloading {source} failed: {e}; nothing was installed")
    })?;
    bar.finish_and_clear();

    if let Some(want) = &expected
        && *want != actual
    {
        return Err(format!(
            "checksum mismatch for {}: what {source} served has SHA-256 {actual}, but {want} was expected. Nothing was installed. The download was damaged, or the URL serves a different file: try again, or check the URL",
            entry.name
        ));
    }
    fs::rename(&part, &dest).map_err(|e| format!("cannot install {}: {e}", dest.display()))?;
    drop(guard);
    sync_dir(models_dir);
    if expected.is_none() {
        let pin = models_dir.join(format!("{}.sha256", entry.file));
        crate::output::write_atomic(&pin, format!("{actual}  {}\n", entry.file).as_bytes())
            .map_err(|e| format!("cannot record the checksum in {}: {e}", pin.display()))?;
        return Ok(format!(
            "installed {} into {} UNPINNED: its SHA-256 is {actual}; compare it with the publisher's, and add it to the manifest",
            entry.name,
            dest.display()
        ));
    }
    Ok(format!(
        "installed {} into {} (SHA-256 verified)",
        entry.name,
        dest.display()
    ))
}

/// Deletes the partial file unless the install completed.
struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
    }
}

fn progress_bar(show: bool, length: Option<u64>, name: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(length, ProgressDrawTarget::stderr());
    let template = if length.is_some() {
        "{msg} {bar:30.cyan/blue} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
    } else {
        "{msg} {spinner} {bytes} {bytes_per_sec}"
    };
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(name.to_string());
    bar
}

/// Streams `reader` into a new file at `path`, flushed to disk; returns its SHA-256.
fn copy_hashing(mut reader: Box<dyn Read>, path: &Path, bar: &ProgressBar) -> io::Result<String> {
    // A new file only: never one planted under the partial file's name, nor a link.
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n])?;
        bar.inc(n as u64);
    }
    file.sync_all()?;
    Ok(hex(&hasher.finalize()))
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Opens `url` for reading, at most `limit` bytes of it; returns the body and its length
/// when announced. https only (redirects too) unless `allow_http`.
pub fn open_url(
    url: &str,
    allow_http: bool,
    limit: u64,
) -> Result<(Box<dyn Read>, Option<u64>), String> {
    if !is_web_url(url) {
        return Err(format!(
            "{url}: only https:// addresses can be downloaded; to install a file you already have, use `--from FILE`"
        ));
    }
    if !allow_http && !url.get(..8).unwrap_or("").eq_ignore_ascii_case("https://") {
        return Err(format!(
            "{url}: a plain http:// download can be read and changed on the way; use the https:// address, or pass --allow-http for a mirror on your own network"
        ));
    }
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .https_only(!allow_http)
        .max_redirects(5)
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .user_agent(format!("realskin/{}", env!("CARGO_PKG_VERSION")))
        .tls_config(tls)
        .build()
        .into();
    let response = agent.get(url).call().map_err(|e| match e {
        ureq::Error::StatusCode(code) => format!("{url}: the server answered HTTP {code}"),
        ureq::Error::RequireHttpsOnly(to) => format!(
            "{url}: the download was redirected to {to}, which is not https; refused (pass --allow-http only for a mirror on your own network)"
        ),
        ureq::Error::TooManyRedirects => format!("{url}: too many redirects"),
        ureq::Error::BadUri(u) => format!(
            "{url}: {u} is not an address realskin downloads from (a download never reads local files)"
        ),
        e => format!("{url}: {e}"),
    })?;
    let body = response.into_body();
    let length = body.content_length();
    if let Some(n) = length.filter(|&n| n > limit) {
        return Err(format!(
            "{url}: the server announces {n} bytes, more than the {limit} expected; nothing was downloaded"
        ));
    }
    Ok((
        Box::new(body.into_with_config().limit(limit).reader()),
        length,
    ))
}

/// Whether a URL is a web address: never `file://` or another scheme that could make the
/// download read something local.
fn is_web_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_addresses_are_downloaded_and_plain_http_only_when_allowed() {
        assert!(is_web_url("https://huggingface.co/x.onnx"));
        assert!(is_web_url("HTTP://127.0.0.1:8000/x.onnx"));
        assert!(!is_web_url("file:///etc/passwd"));
        assert!(!is_web_url("ftp://example.com/x.onnx"));
        assert!(!is_web_url("/etc/passwd"));
        let err = |url: &str, allow| open_url(url, allow, 1).err().unwrap_or_default();
        assert!(err("file:///etc/passwd", true).contains("--from FILE"));
        assert!(err("http://127.0.0.1:9/x.onnx", false).contains("--allow-http"));
    }
}
