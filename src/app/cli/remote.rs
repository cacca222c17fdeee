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

pub(super) fn status(config: Option<PathBuf>, json: bool, fleet: bool) -> ExitCode {
    let client = match client(config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if fleet {
        return match client.get_json("/api/fleet") {
            Ok(f) if json => {
                println!("{}", serde_json::to_string_pretty(&f).unwrap_or_default());
                ExitCode::SUCCESS
            }
            Ok(f) => {
                print!("{}", fleet_for_people(&f));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(3)
            }
        };
    }
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

/// `/api/fleet` as a table: one line per machine.
fn fleet_for_people(f: &serde_json::Value) -> String {
    use std::fmt::Write;
    if f["shared"] != serde_json::Value::Bool(true) {
        return "this machine works alone (no [fleet] database is set)\n".into();
    }
    let now = f["now_ms"].as_i64().unwrap_or(0);
    let mut out = format!(
        "fleet on {}, this machine is {}\n{:<24} {:<18} {:<9} {:>7} {:>4} {:>9} {:>6}  last heartbeat\n",
        f["database"].as_str().unwrap_or(""),
        f["node"].as_str().unwrap_or(""),
        "node",
        "host",
        "version",
        "workers",
        "jobs",
        "processed",
        "failed"
    );
    for n in f["nodes"].as_array().into_iter().flatten() {
        let beat = now - n["heartbeat_at"].as_i64().unwrap_or(0);
        let when = if n["stopped_at"].is_i64() {
            format!("stopped {} s ago", beat / 1000)
        } else {
            format!("{:.1} s ago", beat as f64 / 1000.0)
        };
        let _ = writeln!(
            out,
            "{:<24} {:<18} {:<9} {:>7} {:>4} {:>9} {:>6}  {when}",
            n["node"].as_str().unwrap_or(""),
            n["host"].as_str().unwrap_or(""),
            n["version"].as_str().unwrap_or(""),
            n["workers"].as_u64().unwrap_or(0),
            n["current_jobs"].as_u64().unwrap_or(0),
            n["processed"].as_u64().unwrap_or(0),
            n["failed"].as_u64().unwrap_or(0),
        );
    }
    out
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
