//! `realskin models ...` and the ONNX engine in the real daemon, run as a user would:
//! install against a local HTTP server (checksum checked, a mismatch refused), verify,
//! doctor with a missing or too-old ONNX Runtime, start-up refusing a wrong model, and
//! a hotfolder upscaling with a model.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::{Daemon, Hotfolder, photo_png, serve, sha256_hex, wait_until};

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
    let base = serve(vec![("/sr-x2.onnx", bytes.clone())]);
    let (dir, config, models) = models_setup(&format!("{base}/sr-x2.onnx"), &sha256_hex(&bytes));
    let cfg = config.to_str().unwrap();

    let out = realskin(
        &["models", "install", "tiny-x2", "--config", cfg],
        dir.path(),
        &[],
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
    let base = serve(vec![("/sr-x2.onnx", bytes.clone())]);
    let wrong = sha256_hex(b"some other file");
    let (dir, config, models) = models_setup(&format!("{base}/sr-x2.onnx"), &wrong);
    let out = realskin(
        &[
            "models",
            "install",
            "tiny-x2",
            "--config",
            config.to_str().unwrap(),
        ],
        dir.path(),
        &[],
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
fn install_takes_a_mirror_url_and_reports_http_errors() {
    let bytes = std::fs::read(test_model("sr-x2")).unwrap();
    let base = serve(vec![("/mirror/tiny.onnx", bytes.clone())]);
    let (dir, config, models) = models_setup(&format!("{base}/gone.onnx"), &sha256_hex(&bytes));
    let cfg = config.to_str().unwrap();
    let out = realskin(
        &["models", "install", "tiny-x2", "--config", cfg],
        dir.path(),
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("HTTP 404"), "{}", text(&out));
    let mirror = format!("{base}/mirror/tiny.onnx");
    let out = realskin(
        &[
            "models", "install", "tiny-x2", "--config", cfg, "--url", &mirror,
        ],
        dir.path(),
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(models.join("tiny-x2.onnx").is_file());
}

#[test]
fn an_unpinned_model_is_installed_only_when_asked_and_then_pinned_locally() {
    let bytes = std::fs::read(test_model("sr-x2")).unwrap();
    let base = serve(vec![("/sr-x2.onnx", bytes.clone())]);
    let (dir, config, models) = models_setup(&format!("{base}/sr-x2.onnx"), "");
    let cfg = config.to_str().unwrap();
    let out = realskin(
        &["models", "install", "tiny-x2", "--config", cfg],
        dir.path(),
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("no pinned SHA-256"), "{}", text(&out));
    assert!(!models.join("tiny-x2.onnx").exists());

    let out = realskin(
        &[
            "models",
            "install",
            "tiny-x2",
            "--config",
            cfg,
            "--unpinned",
        ],
        dir.path(),
        &[],
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
