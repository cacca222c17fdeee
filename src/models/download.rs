//! `realskin models install`: fetches a model, checks its SHA-256 while it streams in,
//! and renames it into the models folder only when it matches, so a half-downloaded or
//! wrong file never sits under a model's name.
//!
//! How it downloads, and why: `http://` URLs (a local mirror, the tests' server) are
//! fetched with a small HTTP/1.1 client over `std::net`; `https://` URLs (GitHub,
//! Hugging Face) are fetched by the system's `curl`, whose output streams through the
//! same checksum and progress bar. An in-process TLS stack (rustls with its C/assembly
//! crypto, or OpenSSL) would be the largest dependency in the build for one command a
//! user runs once per model, and it would not know a studio's proxy or its company
//! certificate authority, which curl takes from the system. Without curl the error says
//! how to install one, or to download the file by hand and use `--from FILE`.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sha2::{Digest, Sha256};

use super::{Entry, hex, parse_sha256};

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
            let (r, len) = open_url(url, 5)?;
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
    let mut file = File::create(path)?;
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

/// Opens `url` for reading; returns the body and its length when announced.
pub fn open_url(url: &str, redirects: u8) -> Result<(Box<dyn Read>, Option<u64>), String> {
    if let Some(rest) = url.strip_prefix("http://") {
        return http_get(url, rest, redirects);
    }
    if url.starts_with("https://") {
        return curl_get(url);
    }
    if let Some(path) = url.strip_prefix("file://") {
        let f = File::open(path).map_err(|e| format!("{path}: {e}"))?;
        let len = f.metadata().ok().map(|m| m.len());
        return Ok((Box::new(f), len));
    }
    Err(format!(
        "{url}: only http://, https:// and file:// URLs can be downloaded"
    ))
}

/// A GET over plain HTTP/1.1, following redirects.
fn http_get(url: &str, rest: &str, redirects: u8) -> Result<(Box<dyn Read>, Option<u64>), String> {
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (
            h,
            p.parse::<u16>()
                .map_err(|_| format!("{url}: bad port `{p}`"))?,
        ),
        _ => (authority, 80),
    };
    let host_for_connect = host.trim_start_matches('[').trim_end_matches(']');
    let addr = (host_for_connect, port)
        .to_socket_addrs()
        .map_err(|e| format!("{url}: cannot resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{url}: {host} has no address"))?;
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(30))
        .map_err(|e| format!("{url}: cannot connect: {e}"))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let mut writer = stream.try_clone().map_err(|e| format!("{url}: {e}"))?;
    write!(
        writer,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: realskin/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    )
    .map_err(|e| format!("{url}: {e}"))?;
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader
        .read_line(&mut status)
        .map_err(|e| format!("{url}: {e}"))?;
    let code: u16 = status
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("{url}: not an HTTP response ({})", status.trim()))?;
    let mut length = None;
    let mut chunked = false;
    let mut location = None;
    loop {
        let mut line = String::new();
        if reader
            .read_line(&mut line)
            .map_err(|e| format!("{url}: {e}"))?
            == 0
        {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            let v = v.trim();
            match k.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = v.parse().ok(),
                "transfer-encoding" => chunked = v.to_ascii_lowercase().contains("chunked"),
                "location" => location = Some(v.to_string()),
                _ => {}
            }
        }
    }
    match code {
        200 => {}
        301 | 302 | 303 | 307 | 308 => {
            let Some(next) = location else {
                return Err(format!("{url}: HTTP {code} without a Location"));
            };
            if redirects == 0 {
                return Err(format!("{url}: too many redirects"));
            }
            let next = if next.starts_with('/') {
                format!("http://{authority}{next}")
            } else {
                next
            };
            if !is_web_url(&next) {
                return Err(format!(
                    "{url}: the server redirects to {next}, which is not an http:// or https:// address; refused (a download never reads local files)"
                ));
            }
            return open_url(&next, redirects - 1);
        }
        _ => return Err(format!("{url}: the server answered HTTP {code}")),
    }
    if chunked {
        return Ok((Box::new(Chunked::new(reader)), None));
    }
    match length {
        Some(n) => Ok((
            Box::new(Exact {
                inner: reader.take(n),
                left: n,
            }),
            Some(n),
        )),
        None => Ok((Box::new(reader), None)),
    }
}

/// A body of announced length: ending early is an error, not a short file.
struct Exact<R> {
    inner: io::Take<R>,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the connection closed {} bytes early", self.left),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// `Transfer-Encoding: chunked`.
struct Chunked<R> {
    inner: R,
    left: u64,
    done: bool,
}

impl<R: BufRead> Chunked<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            left: 0,
            done: false,
        }
    }
}

impl<R: BufRead> Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let mut line = String::new();
            self.inner.read_line(&mut line)?;
            if line.trim().is_empty() {
                // The CRLF after the previous chunk.
                line.clear();
                self.inner.read_line(&mut line)?;
            }
            let size = line.trim().split(';').next().unwrap_or("");
            self.left = u64::from_str_radix(size, 16).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("bad chunk size `{size}`"),
                )
            })?;
            if self.left == 0 {
                self.done = true;
                return Ok(0);
            }
        }
        let want = buf.len().min(self.left as usize);
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the connection closed mid-chunk",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Whether a redirect may lead there: web addresses only, never `file://` or another
/// scheme a server could use to make the download read something local.
fn is_web_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// An HTTPS download through the system's curl, its output streamed to us. curl speaks
/// https only, redirects included (`--proto =https --proto-redir =https`).
fn curl_get(url: &str) -> Result<(Box<dyn Read>, Option<u64>), String> {
    let child = Command::new("curl")
        .args([
            "--fail",
            "--proto",
            "=https",
            "--proto-redir",
            "=https",
            "--location",
            "--silent",
            "--show-error",
            "--retry",
            "2",
            "--connect-timeout",
            "30",
            "--",
            url,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                format!(
                    "downloading https:// URLs needs `curl`, which is not installed (or not on PATH). Install curl (e.g. `apt install curl`), or download {url} yourself and run `realskin models install NAME --from FILE`"
                )
            } else {
                format!("cannot run curl: {e}")
            }
        })?;
    Ok((Box::new(CurlBody { child }), None))
}

/// curl's stdout; at its end, curl's exit status decides whether the body was complete.
struct CurlBody {
    child: Child,
}

impl Read for CurlBody {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.child.stdout.as_mut() {
            Some(out) => out.read(buf)?,
            None => 0,
        };
        if n == 0 && !buf.is_empty() {
            let status = self.child.wait()?;
            if !status.success() {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                return Err(io::Error::other(format!(
                    "curl failed ({status}): {}",
                    err.trim()
                )));
            }
        }
        Ok(n)
    }
}

impl Drop for CurlBody {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_lead_only_to_web_addresses() {
        assert!(is_web_url("https://huggingface.co/x.onnx"));
        assert!(is_web_url("HTTP://127.0.0.1:8000/x.onnx"));
        assert!(!is_web_url("file:///etc/passwd"));
        assert!(!is_web_url("ftp://example.com/x.onnx"));
        assert!(!is_web_url("/etc/passwd"));
    }

    #[test]
    fn chunked_bodies_are_decoded() {
        let body = b"4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n";
        let mut out = String::new();
        Chunked::new(&body[..]).read_to_string(&mut out).unwrap();
        assert_eq!(out, "Wikipedia");
    }

    #[test]
    fn a_short_body_is_an_error() {
        let mut r = Exact {
            inner: (&b"abc"[..]).take(10),
            left: 10,
        };
        let mut v = Vec::new();
        assert!(r.read_to_end(&mut v).is_err());
    }
}
