//! The commands that talk to a running daemon through its API (`status`, `dashboard`) and
//! the tray icon, which does the same from the desktop.

use std::path::PathBuf;
use std::process::ExitCode;

use super::load;
use crate::logging;

fn client(config: Option<PathBuf>) -> Result<crate::api::client::Client, ExitCode> {
    let loaded = load(config)?;
    crate::api::client::Client::discover(&loaded.config.daemon.state()).map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(3)
    })
}

pub(super) fn status(config: Option<PathBuf>, json: bool) -> ExitCode {
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
            print!("{}", s.for_people());
            println!("  dashboard: {}", client.url);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(3)
        }
    }
}

pub(super) fn dashboard(config: Option<PathBuf>, print: bool) -> ExitCode {
    let client = match client(config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let url = client.dashboard_url();
    if print {
        println!("{url}");
        return ExitCode::SUCCESS;
    }
    match crate::api::client::open_in_browser(&url) {
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

pub(super) fn tray(config: Option<PathBuf>) -> ExitCode {
    let _guard = logging::init_stderr();
    let loaded = match load(config) {
        Ok(l) => l,
        Err(code) => return code,
    };
    #[cfg(target_os = "linux")]
    {
        match crate::tray::run(&loaded.config.daemon.state()) {
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
