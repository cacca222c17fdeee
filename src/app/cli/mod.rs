//! The `realskin` command line: the arguments (`Cli`), and one function per command that
//! loads the config, calls the library and turns the result into words and an exit code.
//! `src/main.rs` only calls [`main`].
//!
//! Exit codes: 0 done, 1 something failed (a file, a check), 2 the config or the arguments
//! are wrong, 3 the daemon cannot be reached.

mod files;
mod remote;
mod run;
mod setup;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{self, LoadedConfig};
use setup::{ConfigAction, ModelsAction, ServiceAction};

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
        /// Config file (its generator-to-preset map, and its `[skin]` for the pixel facts).
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
        /// Every machine of the fleet (`[fleet] database`): jobs, totals, last heartbeat.
        #[arg(long)]
        fleet: bool,
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

/// Parses the arguments and runs the command.
pub fn main() -> ExitCode {
    run_command(Cli::parse())
}

/// Runs a parsed command.
fn run_command(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Run { config } => run::run(config),
        Command::Process {
            config,
            out,
            recursive,
            files,
        } => files::process(config, out, recursive, files),
        Command::Config { action } => match action {
            ConfigAction::Init { path, force } => setup::config_init(path, force),
            ConfigAction::Check { path } => setup::config_check(path),
        },
        Command::Status {
            config,
            json,
            fleet,
        } => remote::status(config, json, fleet),
        Command::Profile {
            json,
            metadata_only,
            config,
            files,
        } => files::profile(config, json, metadata_only, files),
        Command::Dashboard { config, print } => remote::dashboard(config, print),
        Command::Service { action } => setup::service(action),
        Command::Tray { config } => remote::tray(config),
        Command::Models { config, action } => setup::models(config, action),
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_arguments_are_well_formed() {
        Cli::command().debug_assert();
        let cli =
            Cli::try_parse_from(["realskin", "process", "-r", "--out", "o", "a.png"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Process { recursive: true, ref files, .. } if files == &[PathBuf::from("a.png")]
        ));
    }
}
