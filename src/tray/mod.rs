//! `realskin tray`: a small separate process that shows the daemon's state in the
//! system tray and offers the common actions. It talks only to the daemon's local API
//! (found through `<state_dir>/api.json`), so it can start before or after the daemon
//! and survives the daemon's restarts.
//!
//! On Linux it uses tray-icon's KSNI backend: the StatusNotifierItem D-Bus protocol
//! (KDE, and GNOME with the AppIndicator extension), with no GTK and no system
//! packages to build. The icon, tooltip and title follow the daemon: idle, working,
//! paused, waiting, a recent error, or not running (then the menu offers to start the
//! service).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tray_icon::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tray_icon::{Icon, TrayIcon, TrayIconBuilder};

use crate::api::client::{Client, open_in_browser};
use crate::state_dir::StateDir;
use crate::status::{RunState, Snapshot, Watch};

/// What the icon shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayState {
    /// Running, nothing to do.
    Idle,
    /// Processing images.
    Working,
    /// Paused, or waiting for the machine to have room.
    Paused,
    /// The last jobs failed (or the daemon is unhealthy).
    Error,
    /// The daemon does not answer.
    NotRunning,
}

impl TrayState {
    /// The word shown in the tooltip and title.
    pub const fn word(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Working => "working",
            Self::Paused => "paused",
            Self::Error => "needs attention",
            Self::NotRunning => "not running",
        }
    }

    /// The icon's colour.
    const fn colour(self) -> [u8; 3] {
        match self {
            Self::Idle => [92, 201, 138],
            Self::Working => [217, 162, 122],
            Self::Paused => [230, 180, 80],
            Self::Error => [240, 106, 106],
            Self::NotRunning => [140, 140, 140],
        }
    }
}

/// The tray's reading of the daemon's status.
pub fn state_of(status: &Snapshot) -> (TrayState, String) {
    let summary = format!(
        "{} processed, {} failed, {} waiting",
        status.counts.processed, status.counts.failed, status.queue
    );
    let missing_input = status
        .hotfolders
        .iter()
        .any(|h| h.watch == Watch::InputMissing);
    let state = match &status.state {
        RunState::Paused | RunState::Yielding(_) => TrayState::Paused,
        _ if missing_input => TrayState::Error,
        _ if status.running > 0 => TrayState::Working,
        _ if recent_failure(status) => TrayState::Error,
        _ => TrayState::Idle,
    };
    let why = match &status.state {
        RunState::Yielding(r) => format!("; waiting: {r}"),
        _ if missing_input => "; an input folder is missing".to_string(),
        _ => String::new(),
    };
    (state, format!("{summary}{why}"))
}

/// Whether the last status read says paused (the toggle then resumes).
fn is_paused(status: &Option<Snapshot>) -> bool {
    status.as_ref().is_some_and(|s| s.state == RunState::Paused)
}

/// A failure in the last ten minutes.
fn recent_failure(status: &Snapshot) -> bool {
    let Some(at) = status.last_errors.front().map(|e| e.at.as_str()) else {
        return false;
    };
    humantime::parse_rfc3339(at)
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age < Duration::from_secs(600))
}

/// A round icon in the state's colour, with a lighter ring, 32×32 RGBA.
pub fn icon_rgba(state: TrayState) -> Vec<u8> {
    let [r, g, b] = state.colour();
    let size = 32i32;
    let mut px = Vec::with_capacity((size * size * 4) as usize);
    for y in 0..size {
        for x in 0..size {
            let dx = x as f32 + 0.5 - 16.0;
            let dy = y as f32 + 0.5 - 16.0;
            let d = (dx * dx + dy * dy).sqrt();
            let (cr, cg, cb, a) = if d <= 11.0 {
                (r, g, b, 255)
            } else if d <= 14.5 {
                (r / 2 + 127, g / 2 + 127, b / 2 + 127, 255)
            } else if d <= 15.5 {
                (r, g, b, ((15.5 - d) * 255.0) as u8)
            } else {
                (0, 0, 0, 0)
            };
            px.extend_from_slice(&[cr, cg, cb, a]);
        }
    }
    px
}

struct Items {
    toggle: MenuItem,
    dashboard: MenuItem,
    input: MenuItem,
    output: MenuItem,
    report: MenuItem,
    logs: MenuItem,
    start: MenuItem,
    quit: MenuItem,
}

/// Runs the tray until "Quit tray" (or the process is stopped).
pub fn run(folder: &StateDir) -> anyhow::Result<()> {
    let menu = Menu::new();
    let items = Items {
        toggle: MenuItem::new("Pause", false, None),
        dashboard: MenuItem::new("Open dashboard", false, None),
        input: MenuItem::new("Open input folder", false, None),
        output: MenuItem::new("Open output folder", false, None),
        report: MenuItem::new("Open latest report", false, None),
        logs: MenuItem::new("Open logs", true, None),
        start: MenuItem::new("Start the realskin service", false, None),
        quit: MenuItem::new("Quit tray", true, None),
    };
    menu.append(&items.toggle)?;
    menu.append(&PredefinedMenuItem::separator())?;
    for item in [
        &items.dashboard,
        &items.input,
        &items.output,
        &items.report,
        &items.logs,
    ] {
        menu.append(item)?;
    }
    menu.append(&PredefinedMenuItem::separator())?;
    menu.append(&items.start)?;
    menu.append(&items.quit)?;

    let icon = |s: TrayState| Icon::from_rgba(icon_rgba(s), 32, 32);
    let tray: TrayIcon = TrayIconBuilder::new()
        .with_id("realskin")
        .with_title("realskin")
        .with_tooltip("realskin: starting")
        .with_icon(icon(TrayState::NotRunning)?)
        .with_menu(Box::new(menu))
        .build()?;

    let events = MenuEvent::receiver();
    let mut shown: Option<(TrayState, String)> = None;
    let mut last_status: Option<Snapshot> = None;
    let mut next_poll = Instant::now();
    loop {
        if Instant::now() >= next_poll {
            next_poll = Instant::now() + Duration::from_secs(2);
            let client = Client::discover(folder).ok();
            let status = client.as_ref().and_then(|c| c.status().ok());
            let (state, text) = match &status {
                Some(s) => state_of(s),
                None => (
                    TrayState::NotRunning,
                    "realskin is not running; choose \"Start the realskin service\"".to_string(),
                ),
            };
            last_status = status;
            let running = state != TrayState::NotRunning;
            items.toggle.set_enabled(running);
            items.toggle.set_text(if is_paused(&last_status) {
                "Resume"
            } else {
                "Pause"
            });
            for item in [&items.dashboard, &items.input, &items.output, &items.report] {
                item.set_enabled(running);
            }
            items.start.set_enabled(!running);
            if shown.as_ref() != Some(&(state, text.clone())) {
                let tooltip = format!("realskin: {}; {text}", state.word());
                tray.set_tooltip(Some(&tooltip))?;
                tray.set_title(Some(&format!("realskin: {}", state.word())));
                tray.set_icon(Some(icon(state)?))?;
                shown = Some((state, text));
            }
        }
        while let Ok(ev) = events.try_recv() {
            let id = ev.id();
            let client = Client::discover(folder).ok();
            if id == items.quit.id() {
                return Ok(());
            } else if id == items.toggle.id() {
                if let Some(c) = &client {
                    let _ = if is_paused(&last_status) {
                        c.resume()
                    } else {
                        c.pause()
                    };
                    next_poll = Instant::now();
                }
            } else if id == items.dashboard.id() {
                if let Some(c) = &client {
                    let _ = open_in_browser(&c.dashboard_url());
                }
            } else if id == items.input.id() || id == items.output.id() {
                let first = last_status.as_ref().and_then(|s| s.hotfolders.first());
                let dir = first.map(|h| {
                    if id == items.input.id() {
                        &h.input
                    } else {
                        &h.output
                    }
                });
                if let Some(dir) = dir {
                    let _ = open_in_browser(dir);
                }
            } else if id == items.report.id() {
                if let Some(path) = client.as_ref().and_then(latest_report) {
                    let _ = open_in_browser(&path.display().to_string());
                }
            } else if id == items.logs.id() {
                let _ = open_in_browser(&folder.logs().display().to_string());
            } else if id == items.start.id() {
                if let Err(e) = crate::service::control("start") {
                    tracing::warn!("Could not start the service: {e:#}");
                }
                next_poll = Instant::now();
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The HTML report of the most recent job.
fn latest_report(client: &Client) -> Option<PathBuf> {
    let jobs = client.get_json("/api/jobs?limit=1").ok()?;
    let json = jobs["jobs"][0]["report_path"].as_str()?;
    let html = Path::new(json).with_extension("html");
    Some(if html.exists() {
        html
    } else {
        PathBuf::from(json)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A snapshot as `/api/status` sends it, read back through the shared types.
    fn snapshot(extra: serde_json::Value) -> Snapshot {
        let mut s = serde_json::json!({"version": "0", "started_at": "2026-12-04T00:00:00Z",
            "state": "running", "queue": 0, "running": 0, "workers": 2,
            "counts": {"processed": 5, "failed": 0, "duplicate": 0, "skipped": 0, "retries": 0},
            "per_minute": 0.0, "hotfolders": [], "last_errors": [], "stage_seconds": {}});
        for (k, v) in extra.as_object().unwrap() {
            s[k] = v.clone();
        }
        serde_json::from_value(s).unwrap()
    }

    #[test]
    fn the_state_follows_the_status() {
        let (state, text) = state_of(&snapshot(serde_json::json!({"running": 1, "queue": 3})));
        assert_eq!(state, TrayState::Working);
        assert_eq!(text, "5 processed, 0 failed, 3 waiting");
        assert_eq!(
            state_of(&snapshot(serde_json::json!({"state": "paused"}))).0,
            TrayState::Paused
        );
        let (state, text) = state_of(&snapshot(
            serde_json::json!({"state": "yielding", "reason": "the CPU is busy"}),
        ));
        assert_eq!(state, TrayState::Paused);
        assert!(text.ends_with("; waiting: the CPU is busy"), "{text}");
        let failed = serde_json::json!({"last_errors": [{"at": crate::report::now_rfc3339(),
            "job": 1, "file": "a.png", "message": "bad"}]});
        assert_eq!(state_of(&snapshot(failed)).0, TrayState::Error);
        let missing = serde_json::json!({"hotfolders": [{"name": "in", "input": "/in",
            "output": "/out", "watch": "input-missing", "listed": false}]});
        let (state, text) = state_of(&snapshot(missing));
        assert_eq!(state, TrayState::Error);
        assert!(text.ends_with("an input folder is missing"), "{text}");
    }

    #[test]
    fn icons_are_32_by_32_rgba() {
        assert_eq!(icon_rgba(TrayState::Idle).len(), 32 * 32 * 4);
    }
}
