//! `realskin models ...` and the ONNX engine in the real daemon, run as a user would:
//! install against a local HTTPS server (a test certificate authority, `tests/tls/`,
//! trusted through `SSL_CERT_FILE`) and a plain HTTP mirror (checksum checked, a mismatch
//! refused, plain http and redirects to it refused unless allowed, the size limited),
//! verify, doctor with a missing or too-old ONNX Runtime, start-up refusing a wrong model,
//! and a hotfolder upscaling with a model.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::{Daemon, Hotfolder, photo_png, sha256_hex, wait_until};

/// What the test server answers on a path.
enum Reply {
    Body(Vec<u8>),
    Redirect(String),
}

/// Answers one request on `stream`: the route's body or redirect, else 404.
fn answer(stream: impl std::io::Read + std::io::Write, routes: &[(&str, Reply)]) {
    use std::io::{BufRead, BufReader};
    let mut reader = BufReader::new(stream);
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    // Skip the headers.
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
    let stream = reader.get_mut();
    let _ = match routes.iter().find(|(p, _)| *p == path).map(|(_, r)| r) {
        Some(Reply::Body(body)) => write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .and_then(|_| stream.write_all(body)),
        Some(Reply::Redirect(to)) => write!(
            stream,
            "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
        None => stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    };
    let _ = stream.flush();
}

/// A throwaway plain HTTP/1.1 server on 127.0.0.1 serving `files` (path → body) until the
/// test process ends. Returns `http://127.0.0.1:PORT`.
fn serve(files: Vec<(&'static str, Vec<u8>)>) -> String {
    let routes: Vec<(&str, Reply)> = files
        .into_iter()
        .map(|(p, b)| (p, Reply::Body(b)))
        .collect();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            answer(stream, &routes);
        }
    });
    base
}

fn tls_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/tls")
        .join(name)
}

/// The same over TLS with the test certificate for 127.0.0.1 (rustls). Returns
/// `https://127.0.0.1:PORT`; the client trusts it through [`download`].
fn serve_tls(routes: Vec<(&'static str, Reply)>) -> String {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(tls_file("localhost.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
    let key = PrivateKeyDer::from_pem_file(tls_file("localhost.key")).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = std::sync::Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            answer(rustls::StreamOwned::new(conn, stream), &routes);
        }
    });
    base
}

fn test_model(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/models")
        .join(format!("{name}.onnx"))
}

fn realskin(args: &[&str], home: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_realskin"));
    cmd.args(args)
        .env("HOME", home)
        .env_remove("REALSKIN_CONFIG")
        .env_remove("XDG_CONFIG_HOME");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// `realskin models ...` trusting the test certificate authority (and no system roots, no
/// proxy), as a user's machine trusts its own.
fn download(args: &[&str], home: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_realskin"))
        .args(args)
        .env("HOME", home)
        .env_remove("REALSKIN_CONFIG")
        .env_remove("XDG_CONFIG_HOME")
        .env("SSL_CERT_FILE", tls_file("ca.pem"))
        .env_remove("SSL_CERT_DIR")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("ALL_PROXY")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A config whose models folder holds a user manifest with one entry, `tiny-x2`,
/// served at `url` and pinned to `sha256`.
fn models_setup(url: &str, sha256: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    std::fs::create_dir_all(&models).unwrap();
    std::fs::write(
        models.join("models.toml"),
        format!(
            "[[model]]\nname = \"tiny-x2\"\nfile = \"tiny-x2.onnx\"\nurl = \"{url}\"\nsha256 = \"{sha256}\"\nscale = 2\nlicence = \"MIT\"\ndescription = \"test\"\n"
        ),
    )
    .unwrap();
    let config = dir.path().join("realskin.toml");
    std::fs::write(
        &config,
        "[daemon]\nstate_dir = \"state\"\n[upscale]\nmodels_dir = \"models\"\n",
    )
    .unwrap();
    (dir, config, models)
}

#[test]
fn install_downloads_checks_the_sha256_and_verify_rechecks_it() {
    let bytes = std::fs::read(test_model("sr-x2")).unwrap();
    let base = serve_tls(vec![("/sr-x2.onnx", Reply::Body(bytes.clone()))]);
    let (dir, config, models) = models_setup(&format!("{base}/sr-x2.onnx"), &sha256_hex(&bytes));
    let cfg = config.to_str().unwrap();

    let out = download(
        &["models", "install", "tiny-x2", "--config", cfg],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("SHA-256 verified"), "{}", text(&out));
    assert_eq!(std::fs::read(models.join("tiny-x2.onnx")).unwrap(), bytes);

    let out = realskin(&["models", "list", "--config", cfg], dir.path(), &[]);
    assert!(text(&out).contains("[installed] tiny-x2"), "{}", text(&out));

    let out = realskin(&["models", "verify", "--config", cfg], dir.path(), &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("ok        tiny-x2"), "{}", text(&out));

    // A damaged file is caught.
    let mut damaged = bytes.clone();
    damaged[100] ^= 0xff;
    std::fs::write(models.join("tiny-x2.onnx"), damaged).unwrap();
    let out = realskin(&["models", "verify", "--config", cfg], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("MISMATCH  tiny-x2"), "{}", text(&out));
    assert!(text(&out).contains("--force"), "{}", text(&out));
}

#[test]
fn install_refuses_a_checksum_mismatch_and_leaves_nothing_behind() {
    let bytes = std::fs::read(test_model("sr-x2")).unwrap();
    let base = serve_tls(vec![("/sr-x2.onnx", Reply::Body(bytes.clone()))]);
    let wrong = sha256_hex(b"some other file");
    let (dir, config, models) = models_setup(&format!("{base}/sr-x2.onnx"), &wrong);
    let out = download(
        &[
            "models",
            "install",
            "tiny-x2",
            "--config",
            config.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let msg = text(&out);
    assert!(msg.contains("checksum mismatch for tiny-x2"), "{msg}");
    assert!(
        msg.contains(&sha256_hex(&bytes)) && msg.contains(&wrong),
        "{msg}"
    );
    assert!(msg.contains("Nothing was installed"), "{msg}");
    assert_eq!(
        Hotfolder::files(&models),
        vec!["models.toml"],
        "no model and no partial file"
    );
}

#[test]
fn install_takes_a_plain_http_mirror_only_when_allowed_and_reports_http_errors() {
    let bytes = std::fs::read(test_model("sr-x2")).unwrap();
    let base = serve(vec![("/mirror/tiny.onnx", bytes.clone())]);
    let (dir, config, models) = models_setup(&format!("{base}/gone.onnx"), &sha256_hex(&bytes));
    let cfg = config.to_str().unwrap();
    let install = |extra: &[&str]| {
        let mut args = vec!["models", "install", "tiny-x2", "--config", cfg];
        args.extend_from_slice(extra);
        download(&args, dir.path())
    };
    // Plain http is refused unless asked for, and the error says how.
    let out = install(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("--allow-http"), "{}", text(&out));
    let out = install(&["--allow-http"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("HTTP 404"), "{}", text(&out));
    let mirror = format!("{base}/mirror/tiny.onnx");
    let out = install(&["--url", &mirror, "--allow-http"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(models.join("tiny-x2.onnx").is_file());
}

#[test]
fn an_https_download_redirected_to_plain_http_or_oversized_is_refused_and_leaves_nothing() {
    let bytes = std::fs::read(test_model("sr-x2")).unwrap();
    let plain = serve(vec![("/sr-x2.onnx", bytes.clone())]);
    let base = serve_tls(vec![
        (
            "/moved.onnx",
            Reply::Redirect(format!("{plain}/sr-x2.onnx")),
        ),
        ("/local.onnx", Reply::Redirect("file:///etc/passwd".into())),
        ("/sr-x2.onnx", Reply::Body(bytes.clone())),
    ]);
    let (dir, config, models) = models_setup(&format!("{base}/moved.onnx"), &sha256_hex(&bytes));
    let cfg = config.to_str().unwrap();
    let out = download(
        &["models", "install", "tiny-x2", "--config", cfg],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("not https; refused"), "{}", text(&out));
    let local = format!("{base}/local.onnx");
    let out = download(
        &[
            "models", "install", "tiny-x2", "--config", cfg, "--url", &local,
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // A manifest that pins a smaller size than the server sends.
    std::fs::write(
        models.join("models.toml"),
        format!(
            "[[model]]\nname = \"tiny-x2\"\nfile = \"tiny-x2.onnx\"\nurl = \"{base}/sr-x2.onnx\"\nsha256 = \"{}\"\nsize = 1000\nscale = 2\nlicence = \"MIT\"\ndescription = \"test\"\n",
            sha256_hex(&bytes)
        ),
    )
    .unwrap();
    let out = download(
        &["models", "install", "tiny-x2", "--config", cfg],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("more than the 1000 expected"),
        "{}",
        text(&out)
    );
    assert_eq!(
        Hotfolder::files(&models),
        vec!["models.toml"],
        "no model and no partial file"
    );
}

#[test]
fn an_unpinned_model_is_installed_only_when_asked_and_then_pinned_locally() {
    let bytes = std::fs::read(test_model("sr-x2")).unwrap();
    let base = serve_tls(vec![("/sr-x2.onnx", Reply::Body(bytes.clone()))]);
    let (dir, config, models) = models_setup(&format!("{base}/sr-x2.onnx"), "");
    let cfg = config.to_str().unwrap();
    let out = download(
        &["models", "install", "tiny-x2", "--config", cfg],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("no pinned SHA-256"), "{}", text(&out));
    assert!(!models.join("tiny-x2.onnx").exists());

    let out = download(
        &[
            "models",
            "install",
            "tiny-x2",
            "--config",
            cfg,
            "--unpinned",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(&sha256_hex(&bytes)), "{}", text(&out));
    let out = realskin(&["models", "verify", "--config", cfg], dir.path(), &[]);
    assert!(text(&out).contains("ok        tiny-x2"), "{}", text(&out));
}

#[test]
fn doctor_reports_a_missing_library_and_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere/libonnxruntime.so");
    let out = realskin(
        &["models", "doctor"],
        dir.path(),
        &[("ORT_DYLIB_PATH", missing.to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let msg = text(&out);
    assert!(msg.contains(&missing.display().to_string()), "{msg}");
    assert!(msg.contains("does not exist"), "{msg}");
    assert!(msg.contains("pip install onnxruntime"), "{msg}");
    assert!(msg.contains("onnxruntime-gpu"), "{msg}");
    assert!(!msg.contains("panicked"), "{msg}");
}

#[test]
fn doctor_refuses_an_onnx_runtime_older_than_1_31() {
    // A stand-in library that answers `OrtGetApiBase` with version 1.20.0.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("old.c");
    std::fs::write(
        &src,
        "typedef struct { const void *(*get_api)(unsigned); const char *(*version)(void); } Base;\n\
         static const void *get_api(unsigned v) { (void)v; return 0; }\n\
         static const char *version(void) { return \"1.20.0\"; }\n\
         static const Base base = { get_api, version };\n\
         const Base *OrtGetApiBase(void) { return &base; }\n",
    )
    .unwrap();
    let lib = dir.path().join("libonnxruntime.so.1.20.0");
    let built = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(&src)
        .status();
    if !built.is_ok_and(|s| s.success()) {
        panic!("needs a C compiler (`cc`), as building realskin does");
    }
    let out = realskin(
        &["models", "doctor"],
        dir.path(),
        &[("ORT_DYLIB_PATH", lib.to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let msg = text(&out);
    assert!(
        msg.contains("ONNX Runtime 1.20.0, older than the 1.31"),
        "{msg}"
    );
    assert!(msg.contains("pip install onnxruntime"), "{msg}");
}

#[test]
fn doctor_shows_the_library_version_providers_and_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("realskin.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\nstate_dir = \"state\"\n[upscale]\nengine = \"onnx\"\nmodel = \"{}\"\ndevice = \"cpu\"\n",
            test_model("sr-x4").display()
        ),
    )
    .unwrap();
    let out = realskin(
        &["models", "doctor", "--config", config.to_str().unwrap()],
        dir.path(),
        &[],
    );
    let msg = text(&out);
    assert!(out.status.success(), "{msg}");
    assert!(msg.contains("version:   1."), "{msg}");
    assert!(msg.contains("CPUExecutionProvider"), "{msg}");
    assert!(
        msg.contains("×4 super-resolution, float32, dynamic input; runs on cpu"),
        "{msg}"
    );
}

#[test]
fn the_daemon_refuses_to_start_with_a_model_that_is_not_super_resolution() {
    let model = test_model("not-sr-rank");
    let hf = Hotfolder::new(
        "",
        &format!(
            "[upscale]\nmin_long_edge = 600\ntarget_long_edge = 600\nengine = \"onnx\"\nmodel = \"{}\"\n",
            model.display()
        ),
    );
    let out = realskin(
        &["run", "--config", hf.config.to_str().unwrap()],
        hf.root.path(),
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let msg = text(&out);
    assert!(msg.contains(&model.display().to_string()), "{msg}");
    assert!(msg.contains("rank 2"), "{msg}");
    assert!(msg.contains("realskin did not start"), "{msg}");
}

#[test]
fn the_daemon_upscales_with_an_onnx_model_and_reports_it() {
    let hf = Hotfolder::new(
        "",
        &format!(
            "[upscale]\nmin_long_edge = 600\ntarget_long_edge = 600\nengine = \"onnx\"\nmodel = \"{}\"\ndevice = \"cpu\"\ntile = 128\n",
            test_model("sr-x2").display()
        ),
    );
    let daemon = Daemon::start(&hf.config);
    hf.drop_file("portrait.png", &photo_png(300, 200, 9));
    let report = hf.reports.join("portrait.realskin.json");
    assert!(
        wait_until(Duration::from_secs(30), || report.exists()),
        "no report:\n{}",
        daemon.log_text()
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let stage = &r["stages"][0];
    assert_eq!(stage["details"]["engine"], "onnx", "{r:#}");
    assert_eq!(stage["details"]["onnx"]["provider"], "cpu");
    assert_eq!(stage["details"]["onnx"]["scale"], 2);
    assert_eq!(r["output"]["width"], 600);
    assert_eq!(r["output"]["height"], 400);
    assert!(
        stage["summary"]
            .as_str()
            .unwrap()
            .starts_with("onnx sr-x2.onnx ×2 on cpu: 300×200 → 600×400"),
        "{r:#}"
    );
    assert!(daemon.stop().success());
}
