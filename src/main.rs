//! The `realskin` command: parses arguments, sets up logging and calls the library.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use realskin::config::{self, LoadedConfig, Severity};
use realskin::{daemon, logging, models as model_store, process};

/// realskin makes AI-generated people look photographed.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Watch the hotfolders and process every image that arrives, until stopped.
    Run {
        /// Config file (default: $REALSKIN_CONFIG, else ~/.config/realskin/realskin.toml
        /// if it exists, else the built-in defaults).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Process the given images or folders once and exit (non-zero if any failed).
    Process {
        /// Config file for the pipeline settings.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Write outputs and reports here instead of next to each input (a folder's
        /// sub-folders are kept).
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Walk the sub-folders of the folders given too.
        #[arg(long, short)]
        recursive: bool,
        /// The images, or folders of images.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Tell what images are and which generator made them, with the evidence.
    Profile {
        /// Print the full profile as JSON.
        #[arg(long)]
        json: bool,
        /// Only read metadata: no faces, no photo/illustration check.
        #[arg(long)]
        metadata_only: bool,
        /// Config file (for the generator-to-preset map).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// The images.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write or check a config file.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Show what the running service is doing.
    Status {
        /// Config file of the running service (to find its state folder).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Print the full status as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Open the dashboard of the running service in the browser.
    Dashboard {
        /// Config file of the running service.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Only print the address (with its login token).
        #[arg(long)]
        print: bool,
    },
    /// Show realskin in the system tray (a separate process that talks to the service).
    Tray {
        /// Config file of the service (to find its state folder).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Install, remove, start or stop realskin as a service for this user.
    Service {
        #[command(subcommand)]
        action: ServiceAction,
    },
    /// Super-resolution models for `[upscale] engine = "onnx"`: list, install, verify,
    /// and check ONNX Runtime.
    Models {
        /// Config file (for `models_dir`, `onnxruntime` and the configured model).
        #[arg(long, short, global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        action: ModelsAction,
    },
}

#[derive(Subcommand)]
enum ServiceAction {
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
enum ModelsAction {
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
enum ConfigAction {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { config } => run(config),
        Command::Process {
            config,
            out,
            recursive,
            files,
        } => process(config, out, recursive, files),
        Command::Config { action } => match action {
            ConfigAction::Init { path, force } => config_init(path, force),
            ConfigAction::Check { path } => config_check(path),
        },
        Command::Status { config, json } => status(config, json),
        Command::Profile {
            json,
            metadata_only,
            config,
            files,
        } => profile(config, json, metadata_only, files),
        Command::Dashboard { config, print } => dashboard(config, print),
        Command::Service { action } => service(action),
        Command::Tray { config } => tray(config),
        Command::Models { config, action } => models(config, action),
    }
}

fn profile(
    config: Option<PathBuf>,
    json: bool,
    metadata_only: bool,
    files: Vec<PathBuf>,
) -> ExitCode {
    let loaded = match load(config) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let opts = loaded.config.profile_options();
    let mut failed = false;
    for file in &files {
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!(
                    "{}: cannot read it ({e}); check the path and permissions",
                    file.display()
                );
                failed = true;
                continue;
            }
        };
        let mut p =
            realskin::profile::profile_bytes_with(&file.to_string_lossy(), &bytes, None, &opts);
        if !metadata_only {
            match realskin::decode::decode(&bytes, loaded.config.daemon.max_megapixels) {
                Ok(d) => p.pixels = Some(realskin::pipeline::pixel_facts(&d.image, 1024)),
                Err(e) => p.warnings.push(format!("pixels not read: {e}")),
            }
        }
        if json {
            println!("{}", serde_json::to_string_pretty(&p).unwrap_or_default());
        } else {
            println!("{}\n", p.summary());
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn tray(config: Option<PathBuf>) -> ExitCode {
    let _guard = logging::init_stderr();
    let loaded = match load(config) {
        Ok(l) => l,
        Err(code) => return code,
    };
    #[cfg(target_os = "linux")]
    {
        match realskin::tray::run(&loaded.config.daemon.state()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!(
                    "the tray icon could not start: {e:#} (is a desktop session with a status notifier running?)"
                );
                ExitCode::FAILURE
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = loaded;
        eprintln!(
            "the tray icon is not available on this platform yet; open the dashboard with `realskin dashboard`"
        );
        ExitCode::FAILURE
    }
}

fn client(config: Option<PathBuf>) -> Result<realskin::api::client::Client, ExitCode> {
    let loaded = load(config)?;
    realskin::api::client::Client::discover(&loaded.config.daemon.state()).map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(3)
    })
}

fn status(config: Option<PathBuf>, json: bool) -> ExitCode {
    let client = match client(config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // `--json` passes the daemon's answer through as it is.
    if json {
        return match client.get_json("/api/status") {
            Ok(s) => {
                println!("{}", serde_json::to_string_pretty(&s).unwrap_or_default());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(3)
            }
        };
    }
    match client.status() {
        Ok(s) => {
            print!("{}", status_text(&s));
            println!("  dashboard: {}", client.url);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(3)
        }
    }
}

/// `realskin status` for people: the state, the counts, each hotfolder, the latest failures.
fn status_text(s: &realskin::status::Snapshot) -> String {
    use realskin::status::RunState;
    use std::fmt::Write;
    let state = match &s.state {
        RunState::Yielding(why) => format!("yielding ({why})"),
        _ => s.activity().to_string(),
    };
    let mut out = format!("realskin {}: {state}\n", s.version);
    let _ = writeln!(
        out,
        "  queue {}, working on {} of {} workers; finished {} ({} failed, {} duplicates) since {}",
        s.queue,
        s.running,
        s.workers,
        s.counts.processed,
        s.counts.failed,
        s.counts.duplicate,
        s.started_at
    );
    for h in &s.hotfolders {
        let _ = writeln!(
            out,
            "  hotfolder {}: {} -> {} [{}]",
            h.name,
            h.input,
            h.output,
            h.watch.word()
        );
    }
    for e in s.last_errors.iter().take(5) {
        let _ = writeln!(out, "  failed: {}: {}", e.file, e.message);
    }
    out
}

fn dashboard(config: Option<PathBuf>, print: bool) -> ExitCode {
    let client = match client(config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let url = client.dashboard_url();
    if print {
        println!("{url}");
        return ExitCode::SUCCESS;
    }
    match realskin::api::client::open_in_browser(&url) {
        Ok(()) => {
            println!("opened {}", client.url);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("could not open a browser ({e}); open this address yourself:\n{url}");
            ExitCode::FAILURE
        }
    }
}

fn unit_params(config: Option<PathBuf>) -> Result<realskin::service::UnitParams, ExitCode> {
    let config = config.map(|c| std::fs::canonicalize(&c).unwrap_or(c));
    let loaded = load(config.clone())?;
    let exec = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("realskin"));
    Ok(realskin::service::UnitParams {
        exec,
        config: config.or_else(|| loaded.path.clone()),
        stop_timeout_s: loaded.config.daemon.shutdown_grace.get().as_secs() + 15,
        log_dir: loaded.config.daemon.state().logs(),
    })
}

fn service(action: ServiceAction) -> ExitCode {
    use realskin::service;
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

/// The config to use: the given file, else the default file if it exists, else defaults.
fn load(path: Option<PathBuf>) -> Result<LoadedConfig, ExitCode> {
    let path = path.or_else(|| config::default_config_path().filter(|p| p.exists()));
    let loaded = match path {
        Some(p) => LoadedConfig::from_file(&p),
        None => Ok(LoadedConfig::defaults()),
    };
    loaded.map_err(|e| {
        eprint!("{e}");
        ExitCode::from(2)
    })
}

fn run(config: Option<PathBuf>) -> ExitCode {
    let loaded = match load(config) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let checked = realskin::app::preflight(&loaded);
    for p in &checked.transient {
        eprintln!("{p} (realskin starts anyway and retries)");
    }
    if !checked.may_start() {
        for p in &checked.fatal {
            eprintln!("{p}");
        }
        eprintln!(
            "realskin did not start: fix the configuration above (`realskin config check` shows it again)."
        );
        return ExitCode::from(2);
    }
    let cfg = &loaded.config;
    if let Err(e) = daemon::prepare_folders(cfg) {
        eprintln!("realskin did not start: {e:#}");
        return ExitCode::from(2);
    }
    let _guard = match logging::init_daemon(&cfg.daemon.state().logs(), cfg.daemon.log_files) {
        Ok(g) => g,
        Err(e) => {
            eprintln!(
                "realskin did not start: cannot write logs into {}: {e}",
                cfg.daemon.state_dir.display()
            );
            return ExitCode::from(2);
        }
    };
    for p in &checked.warnings {
        tracing::warn!("{p}");
    }
    match &loaded.path {
        Some(p) => tracing::info!(config = %p.display(), "Using config file"),
        None => tracing::info!(
            "No config file: using the built-in defaults (`realskin config init` writes one to edit)"
        ),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("realskin-async")
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("realskin did not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(realskin::app::run(loaded, daemon::shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("realskin stopped: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn process(
    config: Option<PathBuf>,
    out: Option<PathBuf>,
    recursive: bool,
    paths: Vec<PathBuf>,
) -> ExitCode {
    let _guard = logging::init_stderr();
    let loaded = match load(config) {
        Ok(l) => l,
        Err(code) => return code,
    };
    if let Some(dir) = &out
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprintln!("cannot create the output folder {}: {e}", dir.display());
        return ExitCode::from(2);
    }
    let (files, problems) = process::collect_inputs(&paths, recursive, out.as_deref());
    for p in &problems {
        eprintln!("{p}");
    }
    if files.is_empty() {
        eprintln!(
            "no images to process in {}{}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            if recursive {
                ""
            } else {
                " (add --recursive to take the sub-folders too)"
            }
        );
        return ExitCode::FAILURE;
    }
    let jobs = loaded.config.worker_count().min(files.len()).max(1);
    let problems = realskin::app::check_models(&loaded, jobs);
    for p in &problems {
        eprintln!("{p}");
    }
    if problems.iter().any(|p| p.severity == Severity::Error) {
        return ExitCode::from(2);
    }
    let opts = process::ProcessOptions {
        out_dir: out,
        progress: std::io::stderr().is_terminal(),
    };
    let results = process::process_files(&loaded.config, &files, &opts);
    let failed = results.iter().filter(|r| !r.ok).count();
    if failed > 0 {
        eprintln!("{failed} of {} files failed", results.len());
        ExitCode::FAILURE
    } else if !problems.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn config_init(path: Option<PathBuf>, force: bool) -> ExitCode {
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
    match realskin::output::write_atomic(&path, config::DEFAULT_CONFIG_TOML.as_bytes()) {
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

fn config_check(path: Option<PathBuf>) -> ExitCode {
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
        problems.extend(realskin::app::check_models(
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

fn models(config: Option<PathBuf>, action: ModelsAction) -> ExitCode {
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
            let (report, ok) = realskin::app::doctor::doctor(cfg);
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
            let opts = realskin::app::doctor::BenchOptions {
                model,
                size,
                tile,
                device,
                runs,
            };
            match realskin::app::doctor::bench(cfg, &opts) {
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
