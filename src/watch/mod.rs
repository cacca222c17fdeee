//! Hotfolder sources: finding files that arrive in an input folder and handing them on
//! once they are stable. Never opens or decodes an image.
//!
//! Events are hints, the folder listing is the truth. Each hotfolder runs one task:
//!
//! - **events** (inotify, FSEvents, ReadDirectoryChangesW) tell it quickly that
//!   something changed; an overflow (`need_rescan`) or an exhausted inotify watch
//!   limit turns into a full listing, and the latter into polling for that folder;
//! - **polling** lists the folder every `poll_interval`, for network and FUSE mounts
//!   where events do not arrive (`watch = "auto"` decides from the mount table);
//! - a **reconcile** listing runs at start-up and every `rescan_interval` whatever the
//!   mode, so nothing an event missed waits forever;
//! - the **settle gate** passes a file on only when it has stopped changing.
//!
//! An input folder that disappears (an unmounted share) is logged once and watched
//! again when it returns. The notify callback only forwards; all decisions are made
//! in the task.

pub mod ignore;
pub mod mounts;
pub mod settle;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher};
use tokio::sync::{Notify, mpsc, watch};
use tracing::{debug, info, warn};

use crate::config::{HotfolderConfig, WatchMode};
use ignore::IgnoreRules;
use settle::{FileState, SettleGate};

/// What a hotfolder task reports to the scheduler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchMsg {
    /// A stable file, ready to be claimed.
    Ready {
        /// Index of the hotfolder in the config.
        hotfolder: usize,
        /// The file.
        path: PathBuf,
    },
    /// The first full listing of a hotfolder is done (or its input is missing).
    Listed {
        /// Index of the hotfolder in the config.
        hotfolder: usize,
    },
    /// The hotfolder's watch changed state.
    Health {
        /// Index of the hotfolder in the config.
        hotfolder: usize,
        /// How it is watched now.
        health: WatchHealth,
    },
}

/// How a hotfolder is being watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchHealth {
    /// Native events plus periodic listings.
    Events,
    /// Polling.
    Polling,
    /// The input folder is missing; waiting for it.
    InputMissing,
}

/// Everything a hotfolder task needs.
#[derive(Debug, Clone)]
pub struct Source {
    /// Index in the config, echoed in messages.
    pub index: usize,
    /// Name, for logs.
    pub name: String,
    /// The watched folder.
    pub input: PathBuf,
    /// Watch subfolders.
    pub recursive: bool,
    /// The configured mode.
    pub mode: WatchMode,
    /// Listing interval when polling.
    pub poll_interval: Duration,
    /// How long a file must stay unchanged.
    pub settle: Duration,
    /// Full listing interval in any mode.
    pub rescan_interval: Duration,
    /// What is never taken.
    pub rules: IgnoreRules,
}

impl Source {
    /// The source for a configured hotfolder.
    pub fn new(index: usize, hf: &HotfolderConfig, rescan_interval: Duration) -> Self {
        let excluded: Vec<PathBuf> = hf
            .destinations()
            .iter()
            .map(|(_, p)| p.to_path_buf())
            .collect();
        Self {
            index,
            name: hf.name.clone(),
            input: hf.input.clone(),
            recursive: hf.recursive,
            mode: hf.watch,
            poll_interval: hf.poll_interval.get(),
            settle: hf.settle.get(),
            rescan_interval,
            rules: IgnoreRules::new(&hf.input, &hf.ignore, &excluded),
        }
    }

    /// Events or polling, for `watch = "auto"` from the mount the input is on.
    pub fn resolved_mode(&self) -> (WatchMode, Option<String>) {
        match self.mode {
            WatchMode::Auto => {
                let fstype = mounts::fs_type(&self.input);
                let remote = fstype.as_deref().is_some_and(mounts::is_remote_type);
                (
                    if remote {
                        WatchMode::Poll
                    } else {
                        WatchMode::Events
                    },
                    fstype,
                )
            }
            other => (other, None),
        }
    }
}

/// Lists every candidate file under the input (recursively if configured).
pub fn scan(source: &Source) -> std::io::Result<Vec<PathBuf>> {
    list_files(
        &source.input,
        &source.rules,
        source.recursive,
        &mut |dir, e| {
            debug!(folder = %dir.display(), error = %e, "Subfolder could not be listed");
        },
    )
}

/// Every file under `dir` that `rules` take, its sub-folders too when `recursive`. Only the
/// top folder's error is returned; a sub-folder that cannot be listed goes to `unreadable`.
pub fn list_files(
    dir: &Path,
    rules: &IgnoreRules,
    recursive: bool,
    unreadable: &mut dyn FnMut(&Path, &std::io::Error),
) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    list_dir(dir, rules, recursive, &mut out, unreadable, true)?;
    Ok(out)
}

fn list_dir(
    dir: &Path,
    rules: &IgnoreRules,
    recursive: bool,
    out: &mut Vec<PathBuf>,
    unreadable: &mut dyn FnMut(&Path, &std::io::Error),
    top: bool,
) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if top => return Err(e),
        Err(e) => {
            unreadable(dir, &e);
            return Ok(());
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            if recursive && !rules.skip_dir(&path) {
                list_dir(&path, rules, recursive, out, unreadable, false)?;
            }
        } else if ft.is_file() && rules.skip(&path).is_none() {
            out.push(path);
        }
    }
    Ok(())
}

/// Size and time of a regular file; `None` for folders, missing files and cloud
/// placeholders whose data is not on this machine.
pub fn stat(path: &Path) -> Option<FileState> {
    let m = std::fs::metadata(path).ok()?;
    if !m.is_file() || is_cloud_placeholder(&m) {
        return None;
    }
    Some(FileState {
        size: m.len(),
        mtime: m.modified().ok(),
    })
}

/// A file that reports a size but holds no local data: reading it would make the cloud
/// client download it, or hang while offline. Windows marks these with the offline and
/// recall-on-access attributes, macOS with the dataless flag.
pub fn is_cloud_placeholder(m: &std::fs::Metadata) -> bool {
    #[cfg(windows)]
    {
        use std::os::windows::fs::MetadataExt;
        const OFFLINE: u32 = 0x1000;
        const RECALL_ON_OPEN: u32 = 0x40000;
        const RECALL_ON_DATA_ACCESS: u32 = 0x400000;
        m.file_attributes() & (OFFLINE | RECALL_ON_OPEN | RECALL_ON_DATA_ACCESS) != 0
    }
    #[cfg(target_os = "macos")]
    {
        use std::os::macos::fs::MetadataExt;
        const SF_DATALESS: u32 = 0x4000_0000;
        m.st_flags() & SF_DATALESS != 0
    }
    #[cfg(not(any(windows, target_os = "macos")))]
    {
        let _ = m;
        false
    }
}

/// What an event means for the task.
#[derive(Debug, PartialEq, Eq)]
enum EventAction {
    /// Look at these paths.
    Observe(Vec<PathBuf>),
    /// The event queue overflowed: list everything.
    Rescan,
    /// Nothing to do.
    Ignore,
}

fn classify(event: &notify::Event) -> EventAction {
    use notify::EventKind;
    if event.need_rescan() {
        return EventAction::Rescan;
    }
    match event.kind {
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Any | EventKind::Other => {
            EventAction::Observe(event.paths.clone())
        }
        EventKind::Access(_) | EventKind::Remove(_) => EventAction::Ignore,
    }
}

/// Why a native watch could not be set up, and whether polling should take over.
fn watch_error_help(e: &notify::Error) -> String {
    match &e.kind {
        notify::ErrorKind::MaxFilesWatch => "the inotify watch limit is exhausted; polling this folder instead. \
             Raise it with `sudo sysctl fs.inotify.max_user_watches=524288` (and in /etc/sysctl.d to keep it)"
            .to_string(),
        notify::ErrorKind::Io(io) if io.raw_os_error() == Some(libc::EMFILE) => {
            "too many inotify instances; polling this folder instead. Raise `fs.inotify.max_user_instances`"
                .to_string()
        }
        other => format!("native events are unavailable ({other:?}); polling this folder instead"),
    }
}

type EventTx = mpsc::UnboundedSender<notify::Result<notify::Event>>;

fn start_native(source: &Source, tx: EventTx) -> Result<notify::RecommendedWatcher, notify::Error> {
    let mut watcher = notify::recommended_watcher(move |res| {
        // Only forward: every decision is taken by the task.
        let _ = tx.send(res);
    })?;
    let mode = if source.recursive {
        RecursiveMode::Recursive
    } else {
        RecursiveMode::NonRecursive
    };
    watcher.watch(&source.input, mode)?;
    Ok(watcher)
}

/// Runs one hotfolder until `cancel` turns true. `rescan` asks for a listing now.
pub async fn run_source(
    source: Source,
    out: mpsc::UnboundedSender<WatchMsg>,
    mut cancel: watch::Receiver<bool>,
    rescan: Arc<Notify>,
) {
    let source = Arc::new(source);
    let gate = Arc::new(Mutex::new(SettleGate::new(source.settle)));
    let (mode, fstype) = source.resolved_mode();
    let mut polling = mode == WatchMode::Poll;
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let mut watcher = None;
    let mut present = source.input.is_dir();
    let placeholders: Arc<Mutex<HashSet<PathBuf>>> = Arc::default();

    let health = |polling: bool, present: bool| {
        let health = if !present {
            WatchHealth::InputMissing
        } else if polling {
            WatchHealth::Polling
        } else {
            WatchHealth::Events
        };
        WatchMsg::Health {
            hotfolder: source.index,
            health,
        }
    };

    if present && !polling {
        match start_native(&source, ev_tx.clone()) {
            Ok(w) => watcher = Some(w),
            Err(e) => {
                warn!(hotfolder = %source.name, folder = %source.input.display(), "{}", watch_error_help(&e));
                polling = true;
            }
        }
    }
    if present {
        info!(
            hotfolder = %source.name,
            folder = %source.input.display(),
            mode = if polling { "poll" } else { "events" },
            fs = fstype.as_deref().unwrap_or("unknown"),
            "Watching hotfolder"
        );
    } else {
        warn!(hotfolder = %source.name, folder = %source.input.display(),
            "Input folder does not exist (an unmounted share?); waiting for it to appear");
    }
    let _ = out.send(health(polling, present));

    let tick = (source.settle / 4).clamp(Duration::from_millis(20), Duration::from_millis(250));
    let mut gate_tick = tokio::time::interval(tick);
    gate_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut poll_tick = tokio::time::interval(source.poll_interval);
    poll_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut rescan_tick = tokio::time::interval(source.rescan_interval);
    rescan_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut health_tick = tokio::time::interval(Duration::from_secs(2).min(source.poll_interval));
    // The first tick of an interval fires at once; the start-up listing is done here
    // instead, so it can be reported.
    poll_tick.tick().await;
    rescan_tick.tick().await;

    let list = |source: Arc<Source>, gate: Arc<Mutex<SettleGate>>| async move {
        let now = Instant::now();
        let found = tokio::task::spawn_blocking(move || scan(&source)).await;
        if let Ok(Ok(paths)) = found {
            let mut g = gate.lock().unwrap_or_else(|p| p.into_inner());
            for p in paths {
                g.observe(p, now);
            }
        }
    };

    if present {
        list(source.clone(), gate.clone()).await;
    }
    let _ = out.send(WatchMsg::Listed {
        hotfolder: source.index,
    });

    loop {
        tokio::select! {
            _ = cancel.changed() => break,
            Some(event) = ev_rx.recv() => match event {
                Ok(event) => match classify(&event) {
                    EventAction::Observe(paths) => {
                        let now = Instant::now();
                        let mut dirs = Vec::new();
                        {
                            let mut g = gate.lock().unwrap_or_else(|p| p.into_inner());
                            for p in paths {
                                if source.rules.skip(&p).is_some() {
                                    if p.is_dir() && !source.rules.skip_dir(&p) && source.recursive {
                                        dirs.push(p);
                                    }
                                    continue;
                                }
                                if p.is_dir() {
                                    dirs.push(p);
                                } else {
                                    g.observe(p, now);
                                }
                            }
                        }
                        if !dirs.is_empty() {
                            // A folder moved or copied in: its files may predate the watch.
                            list(source.clone(), gate.clone()).await;
                        }
                    }
                    EventAction::Rescan => {
                        warn!(hotfolder = %source.name, "File-system events overflowed; listing the folder in full");
                        list(source.clone(), gate.clone()).await;
                    }
                    EventAction::Ignore => {}
                },
                Err(e) => {
                    warn!(hotfolder = %source.name, folder = %source.input.display(), "{}", watch_error_help(&e));
                    if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) && !polling {
                        watcher = None;
                        polling = true;
                        let _ = out.send(health(polling, present));
                    }
                    list(source.clone(), gate.clone()).await;
                }
            },
            _ = gate_tick.tick() => {
                let pending = !gate.lock().unwrap_or_else(|p| p.into_inner()).is_empty();
                if pending {
                    let g = gate.clone();
                    let seen = placeholders.clone();
                    let name = source.name.clone();
                    let ready = tokio::task::spawn_blocking(move || {
                        let mut g = g.lock().unwrap_or_else(|p| p.into_inner());
                        g.check(Instant::now(), |p| {
                            let st = stat(p);
                            if st.is_none()
                                && let Ok(m) = std::fs::metadata(p)
                                && is_cloud_placeholder(&m)
                                && seen.lock().unwrap_or_else(|p| p.into_inner()).insert(p.to_path_buf())
                            {
                                info!(hotfolder = %name, file = %p.display(),
                                    "Skipping a cloud placeholder (its data is not on this machine); make it available offline to process it");
                            }
                            st
                        })
                    }).await.unwrap_or_default();
                    for path in ready {
                        let _ = out.send(WatchMsg::Ready { hotfolder: source.index, path });
                    }
                }
            }
            _ = poll_tick.tick(), if polling && present => list(source.clone(), gate.clone()).await,
            _ = rescan_tick.tick(), if present => list(source.clone(), gate.clone()).await,
            _ = rescan.notified() => list(source.clone(), gate.clone()).await,
            _ = health_tick.tick() => {
                let now_present = source.input.is_dir();
                if now_present != present {
                    present = now_present;
                    if present {
                        info!(hotfolder = %source.name, folder = %source.input.display(), "Input folder is back; watching it again");
                        if mode != WatchMode::Poll {
                            match start_native(&source, ev_tx.clone()) {
                                Ok(w) => { watcher = Some(w); polling = false; }
                                Err(e) => {
                                    warn!(hotfolder = %source.name, "{}", watch_error_help(&e));
                                    polling = true;
                                }
                            }
                        }
                        list(source.clone(), gate.clone()).await;
                    } else {
                        warn!(hotfolder = %source.name, folder = %source.input.display(),
                            "Input folder is gone (an unmounted share?); waiting for it to return");
                        watcher = None;
                    }
                    let _ = out.send(health(polling, present));
                }
            }
        }
    }
    drop(watcher);
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, Flag};

    #[test]
    fn overflow_means_rescan() {
        let ev = notify::Event::new(notify::EventKind::Other).set_flag(Flag::Rescan);
        assert_eq!(classify(&ev), EventAction::Rescan);
        let ev = notify::Event::new(notify::EventKind::Create(CreateKind::File))
            .add_path("/in/a.png".into());
        assert_eq!(
            classify(&ev),
            EventAction::Observe(vec!["/in/a.png".into()])
        );
    }

    #[test]
    fn watch_limit_help_names_the_setting() {
        let e = notify::Error::new(notify::ErrorKind::MaxFilesWatch);
        assert!(watch_error_help(&e).contains("fs.inotify.max_user_watches"));
    }

    #[test]
    fn scan_lists_candidates_and_skips_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        for f in [
            "a.png",
            "sub/b.jpg",
            ".hidden.png",
            "c.part",
            "notes.txt",
            ".realskin/processing/x/1/d.png",
        ] {
            let p = input.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        let hf = HotfolderConfig {
            input: input.clone(),
            ..HotfolderConfig::default()
        };
        let mut found = scan(&Source::new(0, &hf, Duration::from_secs(60))).unwrap();
        found.sort();
        assert_eq!(found, vec![input.join("a.png"), input.join("sub/b.jpg")]);
    }
}
