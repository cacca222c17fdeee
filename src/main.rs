//! The `realskin` command: parses arguments, sets up logging and calls the library.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use realskin::config::{self, LoadedConfig, Severity};
use realskin::{daemon, logging, process};

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
    /// Process the given images once and exit (non-zero if any failed).
    Process {
        /// Config file for the pipeline settings.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Write outputs and reports here instead of next to each input.
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// The images.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write or check a config file.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
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
        Command::Process { config, out, files } => process(config, out, files),
        Command::Config { action } => match action {
            ConfigAction::Init { path, force } => config_init(path, force),
            ConfigAction::Check { path } => config_check(path),
        },
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
    let problems = config::check::check(&loaded);
    let (errors, later): (Vec<_>, Vec<_>) = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .partition(|p| !p.transient);
    for p in later {
        eprintln!("{p} (realskin starts anyway and retries)");
    }
    if !errors.is_empty() {
        for p in &errors {
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
    let _guard = match logging::init_daemon(&cfg.daemon.state_dir, cfg.daemon.log_files) {
        Ok(g) => g,
        Err(e) => {
            eprintln!(
                "realskin did not start: cannot write logs into {}: {e}",
                cfg.daemon.state_dir.display()
            );
            return ExitCode::from(2);
        }
    };
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
    match runtime.block_on(daemon::run(loaded, daemon::shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("realskin stopped: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn process(config: Option<PathBuf>, out: Option<PathBuf>, files: Vec<PathBuf>) -> ExitCode {
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
    let opts = process::ProcessOptions {
        out_dir: out,
        progress: std::io::stderr().is_terminal(),
    };
    let results = process::process_files(&loaded.config, &files, &opts);
    let failed = results.iter().filter(|r| !r.ok).count();
    if failed > 0 {
        eprintln!("{failed} of {} files failed", results.len());
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
