//! Setting realskin up: `config init` and `config check`, the per-user service, and the
//! ONNX models (`models list`, `install`, `verify`, `doctor`, `bench`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use super::load;
use crate::config::{self, LoadedConfig, Severity};
use crate::{logging, models as model_store};

#[derive(Subcommand)]
pub(super) enum ServiceAction {
    /// Install and start it (systemd user unit, macOS LaunchAgent, Windows logon task).
    Install {
        /// Config file the service runs with (default: the usual one).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Stop and remove it.
    Uninstall,
    /// Start it.
    Start,
    /// Stop it (running jobs finish first).
    Stop,
    /// Ask the service manager how it is.
    Status,
    /// Print the unit file `install` would write, without installing.
    Print {
        /// Config file the service would run with.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub(super) enum ModelsAction {
    /// List the recommended models and which are installed.
    List,
    /// Download a model, check its SHA-256 and install it into the models folder.
    Install {
        /// The model's name (see `realskin models list`).
        name: String,
        /// Download from this URL instead of the manifest's (a mirror; the checksum
        /// must still match).
        #[arg(long)]
        url: Option<String>,
        /// Install this local file instead of downloading (checked the same way).
        #[arg(long, value_name = "FILE", conflicts_with = "url")]
        from: Option<PathBuf>,
        /// The expected SHA-256, for models the manifest does not pin.
        #[arg(long, value_name = "HEX")]
        sha256: Option<String>,
        /// Install a model the manifest does not pin, recording the checksum of what
        /// arrived.
        #[arg(long)]
        unpinned: bool,
        /// Replace an installed file.
        #[arg(long)]
        force: bool,
        /// Accept a plain http:// address (a mirror on your own network); downloads and
        /// their redirects are https only otherwise.
        #[arg(long)]
        allow_http: bool,
    },
    /// Re-check the SHA-256 of every installed model.
    Verify,
    /// Show which ONNX Runtime is found (version, execution providers) and check each
    /// hotfolder's model.
    Doctor,
    /// Measure a model here: output megapixels per second, untiled and tiled.
    Bench {
        /// Model name or .onnx path (default: `[upscale] model`).
        model: Option<String>,
        /// Input edge in pixels (a square image).
        #[arg(long, default_value_t = 512)]
        size: u32,
        /// Tile edge for the tiled runs.
        #[arg(long, default_value_t = 256)]
        tile: u32,
        /// `cpu`, `cuda`, `tensorrt`, `coreml`, `directml` or `auto`
        /// (default: `[upscale] device`).
        #[arg(long)]
        device: Option<String>,
        /// Timed runs of each kind; the median is shown.
        #[arg(long, default_value_t = 3)]
        runs: u32,
    },
}

#[derive(Subcommand)]
pub(super) enum ConfigAction {
    /// Write the default config, every key commented with its default.
    Init {
        /// Where to write it (default: ~/.config/realskin/realskin.toml).
        path: Option<PathBuf>,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Report every problem in a config file, with its line and what to change.
    Check {
        /// The file (default: the one `realskin run` would use).
        path: Option<PathBuf>,
    },
}

pub(super) fn config_init(path: Option<PathBuf>, force: bool) -> ExitCode {
    let Some(path) = path.or_else(config::default_config_path) else {
        eprintln!(
            "no home folder found: give the path to write, e.g. `realskin config init ./realskin.toml`"
        );
        return ExitCode::from(2);
    };
    if path.exists() && !force {
        eprintln!(
            "{} already exists; pass --force to replace it",
            path.display()
        );
        return ExitCode::from(2);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprintln!("cannot create {}: {e}", dir.display());
        return ExitCode::from(2);
    }
    match crate::output::write_atomic(&path, config::DEFAULT_CONFIG_TOML.as_bytes()) {
        Ok(()) => {
            println!("wrote {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cannot write {}: {e}", path.display());
            ExitCode::from(2)
        }
    }
}

pub(super) fn config_check(path: Option<PathBuf>) -> ExitCode {
    let path = path.or_else(|| config::default_config_path().filter(|p| p.exists()));
    let (loaded, mut problems) = match &path {
        Some(p) => LoadedConfig::from_file_lenient(p),
        None => {
            println!("No config file: checking the built-in defaults.");
            (Some(LoadedConfig::defaults()), Vec::new())
        }
    };
    if let Some(loaded) = &loaded {
        problems.extend(config::check::check(loaded));
        problems.extend(crate::app::check_models(
            loaded,
            loaded.config.worker_count(),
        ));
    }
    problems.sort_by_key(|p| (p.severity, p.line));
    for p in &problems {
        println!("{p}");
    }
    let errors = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    let name = path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "the defaults".into());
    if errors > 0 {
        println!(
            "{name}: {errors} error{} to fix",
            if errors == 1 { "" } else { "s" }
        );
        ExitCode::from(1)
    } else {
        println!("{name}: OK");
        ExitCode::SUCCESS
    }
}

fn unit_params(config: Option<PathBuf>) -> Result<crate::service::UnitParams, ExitCode> {
    let config = config.map(|c| std::fs::canonicalize(&c).unwrap_or(c));
    let loaded = load(config.clone())?;
    let exec = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("realskin"));
    Ok(crate::service::UnitParams {
        exec,
        config: config.or_else(|| loaded.path.clone()),
        stop_timeout_s: loaded.config.daemon.shutdown_grace.get().as_secs() + 15,
        log_dir: loaded.config.daemon.state().logs(),
    })
}

pub(super) fn service(action: ServiceAction) -> ExitCode {
    use crate::service;
    let result = match action {
        ServiceAction::Install { config } => match unit_params(config) {
            Ok(p) => service::install(&p).map(|notes| notes.join("\n")),
            Err(code) => return code,
        },
        ServiceAction::Print { config } => match unit_params(config) {
            Ok(p) => Ok(if cfg!(target_os = "macos") {
                service::render_launchd(&p)
            } else if cfg!(windows) {
                service::render_windows_task(&p, &std::env::var("USERNAME").unwrap_or_default())
            } else {
                service::render_systemd(&p)
            }),
            Err(code) => return code,
        },
        ServiceAction::Uninstall => service::uninstall().map(|notes| notes.join("\n")),
        ServiceAction::Start => service::control("start"),
        ServiceAction::Stop => service::control("stop"),
        ServiceAction::Status => service::control("status"),
    };
    match result {
        Ok(text) => {
            println!("{}", text.trim_end());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

pub(super) fn models(config: Option<PathBuf>, action: ModelsAction) -> ExitCode {
    let _guard = logging::init_stderr();
    let loaded = match load(config) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let cfg = &loaded.config;
    let models_dir = &cfg.upscale.models_dir;
    let manifest = || {
        model_store::Manifest::load(models_dir).map_err(|e| {
            eprintln!("{e}");
            ExitCode::from(2)
        })
    };
    match action {
        ModelsAction::List => match manifest() {
            Ok(m) => {
                print!("{}", model_store::list(&m, models_dir));
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        ModelsAction::Install {
            name,
            url,
            from,
            sha256,
            unpinned,
            force,
            allow_http,
        } => {
            let m = match manifest() {
                Ok(m) => m,
                Err(code) => return code,
            };
            let Some(entry) = m.get(&name) else {
                eprintln!(
                    "`{name}` is not in the models manifest; `realskin models list` shows the names"
                );
                return ExitCode::from(2);
            };
            let opts = model_store::download::InstallOptions {
                url,
                from,
                sha256,
                unpinned,
                force,
                progress: std::io::stderr().is_terminal(),
                allow_http,
            };
            match model_store::download::install(entry, models_dir, &opts) {
                Ok(msg) => {
                    println!("{msg}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("realskin models install: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        ModelsAction::Verify => match manifest() {
            Ok(m) => {
                let (report, ok) = model_store::verify(&m, models_dir);
                print!("{report}");
                if ok {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }
            Err(code) => code,
        },
        ModelsAction::Doctor => {
            let (report, ok) = crate::app::doctor::doctor(cfg);
            print!("{report}");
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        ModelsAction::Bench {
            model,
            size,
            tile,
            device,
            runs,
        } => {
            let device = match device.map(|d| d.parse::<config::Device>()).transpose() {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("--device: {e}");
                    return ExitCode::from(2);
                }
            };
            let opts = crate::app::doctor::BenchOptions {
                model,
                size,
                tile,
                device,
                runs,
            };
            match crate::app::doctor::bench(cfg, &opts) {
                Ok(report) => {
                    print!("{report}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("realskin models bench: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
