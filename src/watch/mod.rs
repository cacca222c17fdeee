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

/// What happened to a hotfolder's input or its native watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// The input folder was checked: there, or not.
    InputPresent(bool),
    /// The kernel's watch limit was reached while watching.
    WatchLimitHit,
}

/// The watch's next state after `change`, or `None` when it stays. A move to `Events`
/// means "start native events"; where they cannot start the task polls instead.
fn next_state(state: WatchHealth, change: Change, poll_only: bool) -> Option<WatchHealth> {
    use WatchHealth::{Events, InputMissing, Polling};
    match (state, change) {
        (InputMissing, Change::InputPresent(true)) => {
            Some(if poll_only { Polling } else { Events })
        }
        (InputMissing, _) => None,
        (_, Change::InputPresent(false)) => Some(InputMissing),
        (Events, Change::WatchLimitHit) => Some(Polling),
        (Events | Polling, _) => None,
    }
}

/// One hotfolder's task: its watch state and the settle gate its files wait in.
struct Task {
    source: Arc<Source>,
    gate: Arc<Mutex<SettleGate>>,
    /// Cloud placeholders already logged, so each is logged once.
    placeholders: Arc<Mutex<HashSet<PathBuf>>>,
    out: mpsc::UnboundedSender<WatchMsg>,
    /// `watch = "poll"`, or `"auto"` on a network mount.
    poll_only: bool,
    ev_tx: EventTx,
    state: WatchHealth,
    /// Set while the state is `Events`.
    watcher: Option<notify::RecommendedWatcher>,
}

impl Task {
    /// Moves to `target`: starts native events (polling when they cannot start) or drops
    /// them, and tells the scheduler.
    fn enter(&mut self, target: WatchHealth) {
        self.watcher = None;
        self.state = target;
        if target == WatchHealth::Events {
            match start_native(&self.source, self.ev_tx.clone()) {
                Ok(w) => self.watcher = Some(w),
                Err(e) => {
                    warn!(hotfolder = %self.source.name, folder = %self.source.input.display(), "{}", watch_error_help(&e));
                    self.state = WatchHealth::Polling;
                }
            }
        }
        let _ = self.out.send(WatchMsg::Health {
            hotfolder: self.source.index,
            health: self.state,
        });
    }

    /// Applies `change`; whether the state moved.
    fn apply(&mut self, change: Change) -> bool {
        match next_state(self.state, change, self.poll_only) {
            Some(target) => {
                self.enter(target);
                true
            }
            None => false,
        }
    }

    fn present(&self) -> bool {
        self.state != WatchHealth::InputMissing
    }

    /// Lists the input (on the blocking pool) and puts every file in the settle gate.
    async fn list(&self) {
        let now = Instant::now();
        let source = self.source.clone();
        let found = tokio::task::spawn_blocking(move || scan(&source)).await;
        if let Ok(Ok(paths)) = found {
            let mut g = self.gate.lock().unwrap_or_else(|p| p.into_inner());
            for p in paths {
                g.observe(p, now);
            }
        }
    }

    /// A native event: files go to the settle gate; a new folder or an overflow means a
    /// listing; the watch limit means polling.
    async fn on_event(&mut self, event: notify::Result<notify::Event>) {
        let event = match event {
            Ok(event) => event,
            Err(e) => {
                warn!(hotfolder = %self.source.name, folder = %self.source.input.display(), "{}", watch_error_help(&e));
                if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) {
                    self.apply(Change::WatchLimitHit);
                }
                return self.list().await;
            }
        };
        match classify(&event) {
            EventAction::Observe(paths) => {
                if self.observe(paths) {
                    // A folder moved or copied in: its files may predate the watch.
                    self.list().await;
                }
            }
            EventAction::Rescan => {
                warn!(hotfolder = %self.source.name, "File-system events overflowed; listing the folder in full");
                self.list().await;
            }
            EventAction::Ignore => {}
        }
    }

    /// Puts the files among `paths` in the settle gate; whether a folder was among them.
    fn observe(&self, paths: Vec<PathBuf>) -> bool {
        let now = Instant::now();
        let rules = &self.source.rules;
        let mut folder = false;
        let mut g = self.gate.lock().unwrap_or_else(|p| p.into_inner());
        for p in paths {
            if rules.skip(&p).is_some() {
                folder |= self.source.recursive && p.is_dir() && !rules.skip_dir(&p);
            } else if p.is_dir() {
                folder = true;
            } else {
                g.observe(p, now);
            }
        }
        folder
    }

    /// Passes on the files that stopped changing (stats on the blocking pool).
    async fn on_gate_tick(&self) {
        if self
            .gate
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
        {
            return;
        }
        let g = self.gate.clone();
        let seen = self.placeholders.clone();
        let name = self.source.name.clone();
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
        })
        .await
        .unwrap_or_default();
        for path in ready {
            let _ = self.out.send(WatchMsg::Ready {
                hotfolder: self.source.index,
                path,
            });
        }
    }

    /// Notices an input folder that went away (an unmounted share) or came back.
    async fn on_health_tick(&mut self) {
        let present = self.source.input.is_dir();
        let (name, folder) = (&self.source.name, self.source.input.display());
        if present && !self.present() {
            info!(hotfolder = %name, folder = %folder, "Input folder is back; watching it again");
        } else if !present && self.present() {
            warn!(hotfolder = %name, folder = %folder,
                "Input folder is gone (an unmounted share?); waiting for it to return");
        }
        if self.apply(Change::InputPresent(present)) && present {
            self.list().await;
        }
    }
}

/// Runs one hotfolder until `cancel` turns true. `rescan` asks for a listing now.
pub async fn run_source(
    source: Source,
    out: mpsc::UnboundedSender<WatchMsg>,
    mut cancel: watch::Receiver<bool>,
    rescan: Arc<Notify>,
) {
    let (mode, fstype) = source.resolved_mode();
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let mut task = Task {
        gate: Arc::new(Mutex::new(SettleGate::new(source.settle))),
        source: Arc::new(source),
        placeholders: Arc::default(),
        out,
        poll_only: mode == WatchMode::Poll,
        ev_tx,
        state: WatchHealth::InputMissing,
        watcher: None,
    };
    let source = task.source.clone();
    let present = source.input.is_dir();
    if !task.apply(Change::InputPresent(present)) {
        task.enter(WatchHealth::InputMissing);
    }
    if present {
        info!(
            hotfolder = %source.name,
            folder = %source.input.display(),
            mode = if task.state == WatchHealth::Polling { "poll" } else { "events" },
            fs = fstype.as_deref().unwrap_or("unknown"),
            "Watching hotfolder"
        );
    } else {
        warn!(hotfolder = %source.name, folder = %source.input.display(),
            "Input folder does not exist (an unmounted share?); waiting for it to appear");
    }

    let tick = (source.settle / 4).clamp(Duration::from_millis(20), Duration::from_millis(250));
    let mut gate_tick = delayed_interval(tick);
    let mut poll_tick = delayed_interval(source.poll_interval);
    let mut rescan_tick = delayed_interval(source.rescan_interval);
    let mut health_tick = tokio::time::interval(Duration::from_secs(2).min(source.poll_interval));
    // The first tick of an interval fires at once; the start-up listing is done here
    // instead, so it can be reported.
    poll_tick.tick().await;
    rescan_tick.tick().await;
    if present {
        task.list().await;
    }
    let _ = task.out.send(WatchMsg::Listed {
        hotfolder: source.index,
    });

    loop {
        let (polling, present) = (task.state == WatchHealth::Polling, task.present());
        tokio::select! {
            _ = cancel.changed() => break,
            Some(event) = ev_rx.recv() => task.on_event(event).await,
            _ = gate_tick.tick() => task.on_gate_tick().await,
            _ = poll_tick.tick(), if polling => task.list().await,
            _ = rescan_tick.tick(), if present => task.list().await,
            _ = rescan.notified() => task.list().await,
            _ = health_tick.tick() => task.on_health_tick().await,
        }
    }
}

/// A tick that, when late, waits a full period again instead of bursting.
fn delayed_interval(period: Duration) -> tokio::time::Interval {
    let mut i = tokio::time::interval(period);
    i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    i
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
    fn the_watch_moves_between_events_polling_and_missing() {
        use WatchHealth::{Events, InputMissing, Polling};
        let present = Change::InputPresent(true);
        let gone = Change::InputPresent(false);
        // An input that appears is watched with events, or polled on a network mount.
        assert_eq!(next_state(InputMissing, present, false), Some(Events));
        assert_eq!(next_state(InputMissing, present, true), Some(Polling));
        assert_eq!(next_state(InputMissing, gone, false), None);
        assert_eq!(next_state(InputMissing, Change::WatchLimitHit, false), None);
        // One that goes away is waited for, whatever the watch was.
        assert_eq!(next_state(Events, gone, false), Some(InputMissing));
        assert_eq!(next_state(Polling, gone, true), Some(InputMissing));
        // Still there: nothing changes.
        assert_eq!(next_state(Events, present, false), None);
        assert_eq!(next_state(Polling, present, true), None);
        // The kernel's watch limit turns events into polling, once.
        assert_eq!(
            next_state(Events, Change::WatchLimitHit, false),
            Some(Polling)
        );
        assert_eq!(next_state(Polling, Change::WatchLimitHit, false), None);
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
