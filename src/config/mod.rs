//! Configuration: the typed settings, their defaults, and where the files live.
//!
//! Everything a user can set is a serde struct here with a documented default;
//! `config/realskin.toml` in the repository is the same defaults written out as a
//! commented file (a test keeps the two in step). Loading a file, reporting every
//! mistake in it with its line ([`load`]) and the checks that need the filesystem
//! ([`check`]) live in the submodules. Nothing here watches, decodes or writes images.

pub mod check;
pub mod load;
mod units;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::output::settings::{OnCollision, OutputConfig, OutputFormat, PngCompression};
pub use crate::pipeline::skin::SkinConfig;
pub use crate::pipeline::upscale::{Device, UpscaleConfig, UpscaleEngine, model_is_path};
pub use crate::profile::PresetMap;
pub use load::{ConfigError, LoadedConfig, Problem, Severity};
pub use units::Duration;

/// The default config file, every key commented with its default.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../../config/realskin.toml");

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Process-wide settings.
    pub daemon: DaemonConfig,
    /// Upscaling, applied to every hotfolder unless one overrides it.
    pub upscale: UpscaleConfig,
    /// Output files, applied to every hotfolder unless one overrides it.
    pub output: OutputConfig,
    /// The skin engine, applied to every hotfolder unless one overrides it.
    pub skin: SkinConfig,
    /// The local control API and dashboard.
    pub api: ApiConfig,
    /// Several machines on one share, one shared ledger (optional).
    pub fleet: FleetConfig,
    /// Which skin preset each generator gets with `[skin] preset = "auto"`.
    pub presets: PresetMap,
    /// The watched folders. None in the file means the one default hotfolder.
    pub hotfolder: Vec<HotfolderConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            daemon: DaemonConfig::default(),
            upscale: UpscaleConfig::default(),
            output: OutputConfig::default(),
            skin: SkinConfig::default(),
            api: ApiConfig::default(),
            fleet: FleetConfig::default(),
            presets: PresetMap::default(),
            hotfolder: vec![HotfolderConfig::default()],
        }
    }
}

/// `[api]`: the local control API and dashboard, on the loopback interface only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Serve the API and dashboard.
    pub enabled: bool,
    /// Address to listen on; must be a loopback address (port 0 picks a free one).
    pub listen: String,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: "127.0.0.1:7869".to_string(),
        }
    }
}

/// `[fleet]`: several machines watching the same shared folders, with one ledger of jobs
/// on a PostgreSQL server instead of each machine's own SQLite file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FleetConfig {
    /// `postgres://user:password@host/db` (or `host=… dbname=…`); empty = this machine
    /// alone, with its SQLite ledger in the state folder.
    pub database: String,
    /// This machine's name in the fleet (letters, digits, `.`, `_`, `-`); empty = the host
    /// name and a short hash of the state folder, stable across restarts.
    pub node: String,
    /// How long a job stays this machine's without a heartbeat: when a machine dies, the
    /// others take its jobs over after this. Heartbeats go out three times per lease.
    pub lease: Duration,
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            database: String::new(),
            node: String::new(),
            lease: Duration::from_secs(30),
        }
    }
}

impl FleetConfig {
    /// Whether the ledger is shared (a database is set).
    pub fn is_shared(&self) -> bool {
        !self.database.trim().is_empty()
    }

    /// This machine's node name: `node`, or `<host>-<hash of the state folder>`.
    pub fn node_name(&self, state_dir: &Path) -> String {
        if !self.node.is_empty() {
            return self.node.clone();
        }
        let host: String = sysinfo::System::host_name()
            .unwrap_or_default()
            .chars()
            .map(|c| if valid_node_char(c) { c } else { '-' })
            .collect();
        let host = if host.is_empty() { "host".into() } else { host };
        let hash = blake3::hash(state_dir.as_os_str().as_encoded_bytes()).to_hex();
        format!("{host}-{}", &hash[..6])
    }
}

/// Characters a node name may hold (it names a folder on the share).
pub fn valid_node_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// `[daemon]`: process-wide settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DaemonConfig {
    /// Where the job ledger, logs and the instance id live; empty = the platform's state
    /// folder ([`platform_state_dir`]).
    pub state_dir: PathBuf,
    /// Images processed at once; 0 means one per physical core.
    pub workers: usize,
    /// Images larger than this are refused before decoding (decompression bombs).
    pub max_megapixels: f64,
    /// Daily log files kept in `<state_dir>/logs`.
    pub log_files: usize,
    /// How often every hotfolder is scanned in full, events or not.
    pub rescan_interval: Duration,
    /// First wait before a job whose destination failed is tried again; doubles each time.
    pub retry_backoff: Duration,
    /// The longest wait between two tries of a job.
    pub retry_max_backoff: Duration,
    /// How long running jobs may take to finish after SIGTERM/SIGINT.
    pub shutdown_grace: Duration,
    /// Create missing hotfolder folders at start-up.
    pub create_folders: bool,
    /// Stop taking new images while other programs use more than this share of the CPU
    /// (percent of all cores; 0 = never).
    pub yield_above_cpu: f64,
    /// Stop taking new images while free memory is below this many MiB (0 = never).
    pub yield_below_free_memory_mb: u64,
}

impl DaemonConfig {
    /// The state folder and the paths under it.
    pub fn state(&self) -> crate::state_dir::StateDir {
        crate::state_dir::StateDir::new(&self.state_dir)
    }
}

impl Default for DaemonConfig {
    fn default() -> Self {
        Self {
            state_dir: PathBuf::new(),
            workers: 0,
            max_megapixels: 100.0,
            log_files: 14,
            rescan_interval: Duration::from_secs(300),
            retry_backoff: Duration::from_secs(10),
            retry_max_backoff: Duration::from_secs(600),
            shutdown_grace: Duration::from_secs(30),
            create_folders: true,
            yield_above_cpu: 75.0,
            yield_below_free_memory_mb: 1024,
        }
    }
}

/// Paths in `[upscale]` are relative to the config file's folder.
impl UpscaleConfig {
    /// Expands `~` and makes `onnxruntime`, `models_dir` and a `model` path absolute;
    /// an empty `models_dir` becomes `<state_dir>/models`.
    pub fn resolve_paths(&mut self, base: &Path, state_dir: &Path) {
        if !self.onnxruntime.as_os_str().is_empty() {
            self.onnxruntime = resolve_path(&self.onnxruntime, base);
        }
        self.models_dir = if self.models_dir.as_os_str().is_empty() {
            state_dir.join("models")
        } else {
            resolve_path(&self.models_dir, base)
        };
        if self.model_is_path() {
            self.model = resolve_path(Path::new(&self.model), base)
                .to_string_lossy()
                .into_owned();
        }
    }
}

/// One `[[hotfolder]]`: an input folder and where its results go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HotfolderConfig {
    /// Shown in logs and reports.
    pub name: String,
    /// Watched for new images.
    pub input: PathBuf,
    /// Finished images.
    pub output: PathBuf,
    /// One JSON report per image.
    pub reports: PathBuf,
    /// Originals after success (when `on_success = "move"`).
    pub done: PathBuf,
    /// Originals that could not be processed, each with `<name>.error.txt`.
    pub failed: PathBuf,
    /// Watch subfolders too; outputs keep the relative path.
    pub recursive: bool,
    /// `auto` uses native events on local disks and polling on network and FUSE mounts.
    pub watch: WatchMode,
    /// How often a polled folder is listed.
    pub poll_interval: Duration,
    /// A file is taken once its size and time have not changed for this long.
    pub settle: Duration,
    /// Extra glob patterns to ignore (matched against the path relative to `input`).
    pub ignore: Vec<String>,
    /// What happens to an original after success.
    pub on_success: OnSuccess,
    /// What happens to an image whose exact content was already processed.
    pub on_duplicate: OnDuplicate,
    /// This hotfolder's `[upscale]`, the global one with the keys given here replaced.
    pub upscale: UpscaleConfig,
    /// This hotfolder's `[output]`, the global one with the keys given here replaced.
    pub output_options: OutputConfig,
    /// This hotfolder's `[skin]`, the global one with the keys given here replaced.
    pub skin: SkinConfig,
}

impl Default for HotfolderConfig {
    fn default() -> Self {
        let base = PathBuf::from("~/realskin");
        Self {
            name: "default".to_string(),
            input: base.join("in"),
            output: base.join("out"),
            reports: base.join("reports"),
            done: base.join("done"),
            failed: base.join("failed"),
            recursive: true,
            watch: WatchMode::Auto,
            poll_interval: Duration::from_secs(5),
            settle: Duration::from_secs(2),
            ignore: Vec::new(),
            on_success: OnSuccess::Move,
            on_duplicate: OnDuplicate::Skip,
            upscale: UpscaleConfig::default(),
            output_options: OutputConfig::default(),
            skin: SkinConfig::default(),
        }
    }
}

impl HotfolderConfig {
    /// What a machine must have to run this hotfolder's stages beyond the built-in ones,
    /// as a fleet's capability tag: `onnx:<model>` with `:<device>` when one is named
    /// (empty: every machine can). A machine of the fleet that lacks it leaves the
    /// hotfolder's files, and the jobs of a dead machine that needed it, to the others.
    pub fn needs(&self) -> String {
        if self.upscale.engine != UpscaleEngine::Onnx {
            return String::new();
        }
        let model = Path::new(&self.upscale.model)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.upscale.model.clone());
        let device = match self.upscale.device {
            Device::Auto | Device::Cpu => String::new(),
            d => format!(":{d:?}").to_lowercase(),
        };
        format!("onnx:{model}{device}").replace(',', "_")
    }

    /// The four destination folders with their key names, for checks and messages.
    pub fn destinations(&self) -> [(&'static str, &Path); 4] {
        [
            ("output", &self.output),
            ("reports", &self.reports),
            ("done", &self.done),
            ("failed", &self.failed),
        ]
    }

    /// Every folder of this hotfolder, input first.
    pub fn folders(&self) -> [(&'static str, &Path); 5] {
        let [o, r, d, f] = self.destinations();
        [("input", &self.input), o, r, d, f]
    }
}

/// How a hotfolder learns about new files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WatchMode {
    /// Native events on local disks, polling on network and FUSE mounts.
    Auto,
    /// Native file-system events (inotify, FSEvents, ReadDirectoryChangesW).
    Events,
    /// List the folder every `poll_interval`.
    Poll,
}

/// What happens to an original after success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnSuccess {
    /// Moved to `done/`, same relative path.
    Move,
    /// Put back where it was dropped (and not processed again: the ledger knows it).
    Keep,
    /// Deleted.
    Delete,
}

/// What happens to an image whose content was already processed successfully.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnDuplicate {
    /// Not processed again; the report points at the earlier output.
    Skip,
    /// Processed again like a new image.
    Reprocess,
}

/// The platform's folder for realskin's state (ledger, logs), from the `directories`
/// crate: `$XDG_STATE_HOME/realskin` (`~/.local/state/realskin`) on Linux,
/// `~/Library/Application Support/realskin` on macOS, `%LOCALAPPDATA%\realskin` on Windows
/// (redirected profiles included). `None` without a home folder.
pub fn platform_state_dir() -> Option<PathBuf> {
    let dirs = directories::BaseDirs::new()?;
    let base = dirs.state_dir().unwrap_or_else(|| dirs.data_local_dir());
    Some(base.join("realskin"))
}

/// The user's home folder (`$HOME` on Unix, the profile folder on Windows).
pub fn home_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf())
}

/// Where `realskin run` looks for a config file when none is given:
/// `$REALSKIN_CONFIG`, else `realskin/realskin.toml` in the platform's config folder
/// (`$XDG_CONFIG_HOME`, `~/.config` on Linux; `~/Library/Application Support` on macOS;
/// `%APPDATA%` on Windows).
pub fn default_config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("REALSKIN_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let dirs = directories::BaseDirs::new()?;
    Some(dirs.config_dir().join("realskin").join("realskin.toml"))
}

/// Expands a leading `~` and makes a relative path relative to `base`
/// (the config file's folder, or the working directory for built-in defaults).
pub fn resolve_path(path: &Path, base: &Path) -> PathBuf {
    let expanded = match path.strip_prefix("~") {
        Ok(rest) => match home_dir() {
            Some(home) => home.join(rest),
            None => path.to_path_buf(),
        },
        Err(_) => path.to_path_buf(),
    };
    if expanded.is_absolute() {
        expanded
    } else {
        base.join(expanded)
    }
}

impl Config {
    /// Expands `~` and makes every folder absolute against `base`.
    pub fn resolve_paths(&mut self, base: &Path) {
        self.daemon.state_dir = if self.daemon.state_dir.as_os_str().is_empty() {
            platform_state_dir().unwrap_or_else(|| base.join(".realskin-state"))
        } else {
            resolve_path(&self.daemon.state_dir, base)
        };
        let state_dir = self.daemon.state_dir.clone();
        self.upscale.resolve_paths(base, &state_dir);
        for hf in &mut self.hotfolder {
            for p in [
                &mut hf.input,
                &mut hf.output,
                &mut hf.reports,
                &mut hf.done,
                &mut hf.failed,
            ] {
                *p = resolve_path(p, base);
            }
            hf.upscale.resolve_paths(base, &state_dir);
        }
    }

    /// How images are profiled.
    pub fn profile_options(&self) -> crate::profile::ProfileOptions {
        crate::profile::ProfileOptions {
            read_c2pa: true,
            presets: self.presets.clone(),
        }
    }

    /// The number of workers to run: `daemon.workers`, or one per physical core.
    pub fn worker_count(&self) -> usize {
        if self.daemon.workers > 0 {
            return self.daemon.workers;
        }
        sysinfo::System::physical_core_count()
            .ok()
            .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
            .unwrap_or(1)
            .max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tilde_and_relative_paths_resolve() {
        let base = Path::new("/etc/realskin");
        assert_eq!(
            resolve_path(Path::new("in"), base),
            PathBuf::from("/etc/realskin/in")
        );
        assert_eq!(resolve_path(Path::new("/abs"), base), PathBuf::from("/abs"));
        if let Some(home) = home_dir() {
            assert_eq!(resolve_path(Path::new("~/x"), base), home.join("x"));
        }
    }
}

#[cfg(test)]
mod default_file_tests {
    use super::*;

    /// `config/realskin.toml` with every `# key = value` line (and `# [[hotfolder]]`)
    /// uncommented, up to the per-hotfolder override example.
    fn uncommented() -> String {
        let mut text = String::new();
        for line in DEFAULT_CONFIG_TOML.lines() {
            if line.starts_with("# [hotfolder.") {
                break;
            }
            let body = line.strip_prefix("# ").filter(|l| {
                *l == "[[hotfolder]]"
                    || l.split_once(" = ").is_some_and(|(k, _)| {
                        k.starts_with(|c: char| c.is_ascii_lowercase())
                            && k.chars()
                                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    })
            });
            text.push_str(body.unwrap_or(line));
            text.push('\n');
        }
        text
    }

    #[test]
    fn the_default_file_states_the_true_defaults() {
        let loaded =
            LoadedConfig::from_str(&uncommented(), None).expect("the uncommented defaults parse");
        assert_eq!(loaded.config, Config::default());
    }

    #[test]
    fn the_default_file_names_every_key() {
        let text = uncommented();
        let value = serde_json::to_value(Config::default()).unwrap();
        let mut missing = Vec::new();
        for section in ["daemon", "upscale", "output", "skin", "api"] {
            for key in value[section].as_object().unwrap().keys() {
                if !text.contains(&format!("\n{key} = ")) {
                    missing.push(format!("{section}.{key}"));
                }
            }
        }
        for key in value["hotfolder"][0].as_object().unwrap().keys() {
            let nested = ["upscale", "output_options", "skin"].contains(&key.as_str());
            if !nested && !text.contains(&format!("\n{key} = ")) {
                missing.push(format!("hotfolder.{key}"));
            }
        }
        assert!(
            missing.is_empty(),
            "keys missing from config/realskin.toml: {missing:?}"
        );
    }

    #[test]
    fn a_preset_rule_naming_no_preset_is_an_error_at_its_line() {
        let text = "[presets]\nfallback = \"generic\"\n\n[[presets.rules]]\nvendor = \"acme\"\npreset = \"fluxx\"\n";
        let err = LoadedConfig::from_str(text, None).unwrap_err().to_string();
        assert!(err.contains("line 6"), "{err}");
        assert!(
            err.contains("fluxx") && err.contains("stable-diffusion"),
            "{err}"
        );
        let ok = LoadedConfig::from_str(&text.replace("fluxx", "flux"), None).unwrap();
        assert_eq!(
            ok.config.presets.rules[0].preset,
            crate::profile::Preset::Flux
        );
    }
}
