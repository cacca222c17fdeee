//! Finding and loading the ONNX Runtime shared library, at run time and only when an
//! ONNX engine is configured: the default build and the default daemon never need it.
//!
//! The library is searched where users actually have it, in this order:
//! `ORT_DYLIB_PATH`; `[upscale] onnxruntime`; next to the realskin binary; the state
//! folder; Python's `onnxruntime` / `onnxruntime-gpu` package (`onnxruntime/capi/`);
//! the system library path. An explicit path (the first two) is used or refused, never
//! skipped. Each candidate's version is read through `OrtGetApiBase` before `ort` is
//! handed the file, so a missing, foreign or too-old library is an error that says what
//! to install, never a panic. The library is loaded once per process.

use std::ffi::CStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;

/// The oldest ONNX Runtime the `api-31` feature of `ort` can use.
pub const MIN_MINOR: u32 = 31;

/// What to tell a user who has no usable library.
pub const INSTALL_HINT: &str = "Install ONNX Runtime 1.31 or newer: `pip install onnxruntime` (CPU) or `pip install onnxruntime-gpu` (NVIDIA CUDA), or set `[upscale] onnxruntime` (or ORT_DYLIB_PATH) to the library file (libonnxruntime.so, libonnxruntime.dylib or onnxruntime.dll). `realskin models doctor` shows what was found.";

/// Where a library was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FoundIn {
    /// The `ORT_DYLIB_PATH` environment variable.
    Env,
    /// `[upscale] onnxruntime`.
    Config,
    /// The folder of the realskin binary.
    BesideBinary,
    /// The state folder.
    StateDir,
    /// A Python `onnxruntime` / `onnxruntime-gpu` package.
    Python,
    /// The system library path (the dynamic loader's own search).
    System,
}

impl FoundIn {
    /// How the source reads in messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Self::Env => "ORT_DYLIB_PATH",
            Self::Config => "[upscale] onnxruntime",
            Self::BesideBinary => "next to the realskin binary",
            Self::StateDir => "the state folder",
            Self::Python => "Python's onnxruntime package",
            Self::System => "the system library path",
        }
    }
}

/// A library file that loads and is new enough.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Library {
    /// The file (or, for the system search, the bare name the loader resolved).
    pub path: PathBuf,
    /// `GetVersionString`, like `1.31.1`.
    pub version: String,
    /// How it was found.
    pub source: FoundIn,
}

/// Why no library could be used.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{what}")]
pub struct RuntimeError {
    /// What went wrong, naming the file(s).
    pub what: String,
    /// What to do.
    pub hint: String,
}

/// The library's name on this platform, for the system search.
fn dylib_names() -> &'static [&'static str] {
    if cfg!(windows) {
        &["onnxruntime.dll"]
    } else if cfg!(target_os = "macos") {
        &["libonnxruntime.dylib"]
    } else {
        &["libonnxruntime.so", "libonnxruntime.so.1"]
    }
}

/// Whether a file name looks like the ONNX Runtime library (not a provider plug-in).
fn is_library_name(name: &str) -> bool {
    if cfg!(windows) {
        name.eq_ignore_ascii_case("onnxruntime.dll")
    } else if cfg!(target_os = "macos") {
        name.starts_with("libonnxruntime") && name.ends_with(".dylib") && !name.contains("_")
    } else {
        name == "libonnxruntime.so" || name.starts_with("libonnxruntime.so.")
    }
}

/// The library file in `dir`, preferring the most specific (longest versioned) name.
fn library_in(dir: &Path) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_library_name)
        })
        .collect();
    found.sort_by_key(|p| p.as_os_str().len());
    found.pop()
}

/// Reads the version of the library at `path` without initialising `ort`.
pub fn library_version(path: &Path) -> Result<String, String> {
    if path.components().count() > 1 && !path.exists() {
        return Err("the file does not exist".into());
    }
    // SAFETY: loading a shared library runs its initialisers; that is what using ONNX
    // Runtime means. The handle stays loaded for the process (as `ort` keeps it too).
    let lib = unsafe { libloading::Library::new(path) }.map_err(|e| {
        let mut msg = format!("it cannot be loaded ({e}");
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            msg.push_str(&format!(": {s}"));
            source = s.source();
        }
        msg.push(')');
        msg
    })?;
    let version = {
        // SAFETY: `OrtGetApiBase` has this signature in every ONNX Runtime release.
        let get_base: libloading::Symbol<unsafe extern "C" fn() -> *const ort::sys::OrtApiBase> =
            unsafe { lib.get(b"OrtGetApiBase") }.map_err(|_| {
                "it does not export `OrtGetApiBase`, so it is not ONNX Runtime".to_string()
            })?;
        // SAFETY: a non-null `OrtApiBase` is a static table whose `GetVersionString`
        // returns a static NUL-terminated string.
        unsafe {
            let base = get_base();
            if base.is_null() {
                return Err("`OrtGetApiBase` returned nothing".into());
            }
            let s = ((*base).GetVersionString)();
            if s.is_null() {
                return Err("it reports no version".into());
            }
            CStr::from_ptr(s).to_string_lossy().into_owned()
        }
    };
    std::mem::forget(lib);
    Ok(version)
}

/// The minor version of `1.x.y`, when the major is 1.
fn minor_of(version: &str) -> Option<u32> {
    let mut parts = version.split('.');
    let major: u32 = parts.next()?.trim().parse().ok()?;
    let minor: u32 = parts.next()?.trim().parse().ok()?;
    (major == 1)
        .then_some(minor)
        .or((major > 1).then_some(u32::MAX))
}

/// Checks one candidate file: loads, is ONNX Runtime, is new enough.
fn check_candidate(path: &Path, source: FoundIn) -> Result<Library, String> {
    let version = library_version(path)?;
    match minor_of(&version) {
        Some(m) if m >= MIN_MINOR => Ok(Library {
            path: path.to_path_buf(),
            version,
            source,
        }),
        _ => Err(format!(
            "it is ONNX Runtime {version}, older than the 1.{MIN_MINOR} realskin needs"
        )),
    }
}

/// Python's site-packages folders that may hold `onnxruntime/`.
fn python_package_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    // Ask the interpreter first: it knows venvs, conda, pyenv and --user installs.
    let script = "import importlib.util as u\ns = u.find_spec('onnxruntime')\nprint(s.submodule_search_locations[0] if s and s.submodule_search_locations else '')";
    for python in ["python3", "python"] {
        if let Ok(out) = Command::new(python).args(["-c", script]).output()
            && out.status.success()
        {
            let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !line.is_empty() {
                dirs.push(PathBuf::from(line));
            }
            break;
        }
    }
    // Then the usual places, for when no `python3` is on PATH (a service's environment).
    let mut roots: Vec<PathBuf> = ["VIRTUAL_ENV", "CONDA_PREFIX"]
        .iter()
        .filter_map(std::env::var_os)
        .map(PathBuf::from)
        .collect();
    if let Some(home) = directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf()) {
        roots.push(home.join(".local"));
    }
    roots.extend(["/usr/local", "/usr"].map(PathBuf::from));
    for root in roots {
        for lib in ["lib", "lib64"] {
            let Ok(entries) = std::fs::read_dir(root.join(lib)) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with("python3") {
                    for site in ["site-packages", "dist-packages"] {
                        dirs.push(e.path().join(site).join("onnxruntime"));
                    }
                }
            }
        }
    }
    dirs
}

/// Looks for the library in the documented order. `configured` is `[upscale]
/// onnxruntime` (empty: not set); `state_dir` is the daemon's state folder.
pub fn find(configured: &Path, state_dir: Option<&Path>) -> Result<Library, RuntimeError> {
    let explicit = |path: PathBuf, source: FoundIn| {
        check_candidate(&path, source.clone()).map_err(|why| RuntimeError {
            what: format!(
                "The ONNX Runtime library {} (from {}) cannot be used: {why}.",
                path.display(),
                source.describe()
            ),
            hint: INSTALL_HINT.to_string(),
        })
    };
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        return explicit(PathBuf::from(p), FoundIn::Env);
    }
    if !configured.as_os_str().is_empty() {
        return explicit(configured.to_path_buf(), FoundIn::Config);
    }

    let mut tried: Vec<String> = Vec::new();
    let mut candidates: Vec<(PathBuf, FoundIn)> = Vec::new();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        candidates.extend(library_in(&dir).map(|p| (p, FoundIn::BesideBinary)));
        tried.push(dir.display().to_string());
    }
    if let Some(state) = state_dir {
        for dir in crate::state_dir::StateDir::new(state).onnxruntime_dirs() {
            candidates.extend(library_in(&dir).map(|p| (p, FoundIn::StateDir)));
            tried.push(dir.display().to_string());
        }
    }
    for dir in python_package_dirs() {
        let capi = dir.join("capi");
        candidates.extend(library_in(&capi).map(|p| (p, FoundIn::Python)));
        if dir.exists() {
            tried.push(capi.display().to_string());
        }
    }
    tried.push("Python's site-packages (no onnxruntime package)".into());
    let mut refused = Vec::new();
    for (path, source) in candidates {
        match check_candidate(&path, source) {
            Ok(lib) => return Ok(lib),
            Err(why) => refused.push(format!("{} ({why})", path.display())),
        }
    }
    for name in dylib_names() {
        match check_candidate(Path::new(name), FoundIn::System) {
            Ok(lib) => return Ok(lib),
            Err(why) if why.contains("older") => {
                refused.push(format!("{name} on the system library path ({why})"))
            }
            Err(_) => {}
        }
    }
    tried.push("the system library path".into());
    let what = if refused.is_empty() {
        format!(
            "No ONNX Runtime library was found (looked in ORT_DYLIB_PATH, [upscale] onnxruntime, {}).",
            tried.join(", ")
        )
    } else {
        format!(
            "No usable ONNX Runtime library was found: {}.",
            refused.join("; ")
        )
    };
    Err(RuntimeError {
        what,
        hint: INSTALL_HINT.to_string(),
    })
}

/// The loaded library and the process-wide `ort` environment.
pub struct Runtime {
    /// The library in use.
    pub library: Library,
    /// `ort`'s environment; sessions are created against it.
    pub env: Environment,
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();
static LOADING: Mutex<()> = Mutex::new(());

/// The runtime, loading the library on first use. Once loaded, a different
/// `configured` path is an error: a process has one ONNX Runtime.
pub fn runtime(
    configured: &Path,
    state_dir: Option<&Path>,
) -> Result<&'static Runtime, RuntimeError> {
    if let Some(rt) = RUNTIME.get() {
        return check_same(rt, configured);
    }
    let _guard = LOADING.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(rt) = RUNTIME.get() {
        return check_same(rt, configured);
    }
    let library = find(configured, state_dir)?;
    let load_error = |e: String| RuntimeError {
        what: format!(
            "ONNX Runtime {} at {} could not be initialised: {e}.",
            library.version,
            library.path.display()
        ),
        hint: INSTALL_HINT.to_string(),
    };
    let env = ort::init_from(&library.path)
        .map_err(|e| load_error(e.to_string()))?
        .with_name("realskin")
        .with_telemetry(false)
        .build()
        .map_err(|e| load_error(e.to_string()))?;
    tracing::info!(library = %library.path.display(), version = %library.version, found_via = library.source.describe(), "Loaded ONNX Runtime");
    Ok(RUNTIME.get_or_init(|| Runtime { library, env }))
}

/// The runtime if it was loaded already.
pub fn loaded() -> Option<&'static Runtime> {
    RUNTIME.get()
}

fn check_same(rt: &'static Runtime, configured: &Path) -> Result<&'static Runtime, RuntimeError> {
    let env_path = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty());
    if env_path.is_none() && !configured.as_os_str().is_empty() && configured != rt.library.path {
        return Err(RuntimeError {
            what: format!(
                "ONNX Runtime is already loaded from {}; one process cannot also load {}.",
                rt.library.path.display(),
                configured.display()
            ),
            hint: "Set `onnxruntime` once, under the global [upscale], not per hotfolder.".into(),
        });
    }
    Ok(rt)
}

/// The execution providers the loaded library offers, by ONNX Runtime's names.
pub fn available_providers() -> Vec<&'static str> {
    use ort::ep::{self, ExecutionProvider};
    type Check = (&'static str, fn() -> ort::Result<bool>);
    let checks: [Check; 5] = [
        (ep::CUDA::NAME, ep::CUDA::is_available),
        (ep::TensorRT::NAME, ep::TensorRT::is_available),
        (ep::CoreML::NAME, ep::CoreML::is_available),
        (ep::DirectML::NAME, ep::DirectML::is_available),
        (ep::CPU::NAME, ep::CPU::is_available),
    ];
    checks
        .into_iter()
        .filter(|(_, available)| available().unwrap_or(false))
        .map(|(name, _)| name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_on_the_minor() {
        assert_eq!(minor_of("1.31.1"), Some(31));
        assert_eq!(minor_of("1.20.0"), Some(20));
        assert_eq!(minor_of("2.0.0"), Some(u32::MAX));
        assert_eq!(minor_of("garbage"), None);
    }

    #[test]
    fn library_names_exclude_provider_plugins() {
        if cfg!(target_os = "linux") {
            assert!(is_library_name("libonnxruntime.so.1.31.1"));
            assert!(is_library_name("libonnxruntime.so"));
            assert!(!is_library_name("libonnxruntime_providers_cuda.so"));
            assert!(!is_library_name("libonnxruntime_providers_shared.so"));
        }
    }

    #[test]
    fn a_file_that_is_not_a_library_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("libonnxruntime.so");
        std::fs::write(&fake, b"not a library").unwrap();
        let err = check_candidate(&fake, FoundIn::Config).unwrap_err();
        assert!(!err.is_empty());
    }
}
