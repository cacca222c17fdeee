//! The long-running service: start-up, the scheduler, the worker pool and shutdown.
//!
//! The async side (tokio) only waits: for hotfolder sources to report stable files,
//! for workers to finish, for retries to come due, for a signal. Image work runs on
//! a fixed pool of worker threads, one per physical core by default, each taking one
//! job at a time; memory planning ([`memory`]) holds a job back when the machine
//! cannot fit it. On SIGTERM/SIGINT no new file is taken, running jobs get
//! `shutdown_grace` to finish, and anything unfinished is resumed at the next start
//! from the ledger (outputs are atomic, so nothing is half-written either way).

pub mod guest;
pub mod index;
pub mod memory;
pub mod worker;

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{Notify, mpsc, watch};
use tracing::{error, info, warn};

use crate::config::{Config, LoadedConfig};
use crate::ledger::{Ledger, now_ms};
use crate::output;
use crate::report::Outcome;
use crate::service::notify::Notifier;
pub use crate::status::{Control, Counts, ErrorEntry, HotfolderStatus, RunState, Snapshot, Watch};
use crate::watch::{Source, WatchHealth, WatchMsg, run_source};
use guest::{Guest, Thresholds};
use memory::MemoryBudget;
use worker::{Work, WorkResult, WorkerCtx};

/// A worker's report back to the scheduler.
#[derive(Debug)]
struct Done {
    worker: usize,
    work: Work,
    result: WorkResult,
}

/// Creates the state dir and, when configured, the hotfolder folders. Fails only on the
/// state dir: a missing input is waited for, a missing destination retried per job.
///
/// The state folder is private to its user (0700 on Unix): the ledger and the logs name
/// every file the studio processed, and the API token lives there.
pub fn prepare_folders(cfg: &Config) -> anyhow::Result<()> {
    cfg.daemon
        .state()
        .create_private()
        .map_err(anyhow::Error::msg)?;
    if cfg.daemon.create_folders {
        for hf in &cfg.hotfolder {
            for (key, dir) in hf.folders() {
                if let Err(e) = std::fs::create_dir_all(dir) {
                    warn!(hotfolder = %hf.name, folder = %dir.display(), error = %e,
                        "Could not create the {key} folder; check the path and permissions");
                }
            }
        }
    }
    Ok(())
}

/// Handles the API holds on a running daemon.
#[derive(Clone)]
pub struct DaemonHandle {
    /// The latest snapshot.
    pub status: watch::Receiver<Arc<Snapshot>>,
    /// Commands to the scheduler.
    pub control: mpsc::Sender<Control>,
    /// The job database.
    pub ledger: Arc<Ledger>,
    /// The configuration.
    pub config: Arc<Config>,
}

/// Runs the daemon until `shutdown` resolves. Once its state can be read, `front` is given
/// the handle (the local API serves it; [`crate::app`] wires the two) and may return how to
/// stop what it started, which is called at shutdown.
pub async fn run<F, Fut, S>(
    loaded: LoadedConfig,
    shutdown: impl Future<Output = ()>,
    front: F,
) -> anyhow::Result<()>
where
    F: FnOnce(DaemonHandle) -> Fut,
    Fut: Future<Output = Option<S>>,
    S: FnOnce(),
{
    let cfg = Arc::new(loaded.config);
    prepare_folders(&cfg)?;
    let ledger_path = cfg.daemon.state().ledger();
    let ledger = Arc::new(Ledger::open(&ledger_path).with_context(|| {
        format!(
            "cannot open the job ledger {}; check that the state folder is writable and not used by a different realskin version",
            ledger_path.display()
        )
    })?);

    // The state folder is this daemon's alone: the previews a killed run was writing.
    let n = output::remove_stale_temp_files(&cfg.daemon.state_dir);
    if n > 0 {
        info!(folder = %cfg.daemon.state_dir.display(), files = n, "Removed half-written previews left by an interrupted run");
    }
    for hf in &cfg.hotfolder {
        for (_, dir) in hf.destinations() {
            let n = output::remove_stale_temp_files(dir);
            if n > 0 {
                info!(folder = %dir.display(), files = n, "Removed half-written files left by an interrupted run");
            }
        }
        info!(
            hotfolder = %hf.name,
            input = %hf.input.display(),
            output = %hf.output.display(),
            reports = %hf.reports.display(),
            done = %hf.done.display(),
            failed = %hf.failed.display(),
            "Drop images into {}; results appear in {}",
            hf.input.display(),
            hf.output.display()
        );
    }

    let workers = cfg.worker_count();
    let ctx = Arc::new(WorkerCtx {
        config: cfg.clone(),
        ledger: ledger.clone(),
        budget: Arc::new(MemoryBudget::new()),
        index: index::IndexWriter::start(cfg.clone(), ledger.clone()),
    });
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
    let mut senders = Vec::with_capacity(workers);
    let mut threads = Vec::with_capacity(workers);
    for i in 0..workers {
        let (tx, rx) = std::sync::mpsc::channel::<Work>();
        let ctx = ctx.clone();
        let done_tx = done_tx.clone();
        let handle = std::thread::Builder::new()
            .name(format!("realskin-worker-{i}"))
            .spawn(move || {
                while let Ok(work) = rx.recv() {
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| worker::run(&ctx, &work)))
                        .unwrap_or_else(|_| {
                            error!(?work, "A job panicked; it will be resumed at the next start. Please report this as a bug");
                            WorkResult::LedgerFailed
                        });
                    if done_tx.send(Done { worker: i, work, result }).is_err() {
                        break;
                    }
                }
            })
            .context("cannot start worker threads")?;
        senders.push(tx);
        threads.push(handle);
    }
    drop(done_tx);

    let (watch_tx, mut watch_rx) = mpsc::unbounded_channel::<WatchMsg>();
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let mut rescans = Vec::new();
    for (i, hf) in cfg.hotfolder.iter().enumerate() {
        let source = Source::new(i, hf, cfg.daemon.rescan_interval.get());
        let rescan = Arc::new(Notify::new());
        rescans.push(rescan.clone());
        tokio::spawn(run_source(
            source,
            watch_tx.clone(),
            cancel_rx.clone(),
            rescan,
        ));
    }
    drop(watch_tx);

    let mut sched = Scheduler::new(workers);
    let crashed = ledger.count_crashes()?;
    if crashed > 0 {
        warn!(
            jobs = crashed,
            "The last run ended while rendering (a crash, or the system ran out of memory); a file that was rendering at {} such ends in a row goes to failed/",
            worker::MAX_CRASHES
        );
    }
    let unfinished = ledger.unfinished()?;
    if !unfinished.is_empty() {
        info!(
            jobs = unfinished.len(),
            "Resuming jobs an earlier run did not finish"
        );
    }
    for row in unfinished {
        sched.push_resume(row.id);
    }

    let mut snap = Snapshot {
        version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: crate::report::now_rfc3339(),
        state: RunState::Starting,
        queue: 0,
        running: 0,
        workers,
        counts: Counts::default(),
        per_minute: 0.0,
        hotfolders: cfg
            .hotfolder
            .iter()
            .map(|hf| HotfolderStatus {
                name: hf.name.clone(),
                input: hf.input.display().to_string(),
                output: hf.output.display().to_string(),
                watch: Watch::Starting,
                listed: false,
            })
            .collect(),
        last_errors: VecDeque::new(),
        stage_seconds: BTreeMap::new(),
    };
    let (status_tx, status_rx) = watch::channel(Arc::new(snap.clone()));
    let (control_tx, mut control_rx) = mpsc::channel::<Control>(16);
    let handle = DaemonHandle {
        status: status_rx,
        control: control_tx,
        ledger: ledger.clone(),
        config: cfg.clone(),
    };
    let stop_front = front(handle.clone()).await;

    let notifier = Notifier::from_env();
    let mut watchdog = tokio::time::interval(
        notifier
            .watchdog_interval()
            .unwrap_or(Duration::from_secs(3600)),
    );
    let mut guest = Guest::new(Thresholds {
        cpu_percent: cfg.daemon.yield_above_cpu,
        min_free_memory_mb: cfg.daemon.yield_below_free_memory_mb,
    });
    let mut guest_tick = tokio::time::interval(Duration::from_secs(3));
    guest_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut paused = false;
    let mut yielding: Option<String> = None;
    let mut finished_at: VecDeque<tokio::time::Instant> = VecDeque::new();

    info!(workers, ledger = %ledger_path.display(), version = env!("CARGO_PKG_VERSION"), "realskin is running");

    let grace = cfg.daemon.shutdown_grace.get();
    let mut retry_tick = tokio::time::interval(Duration::from_secs(1));
    retry_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    let mut deadline: Option<tokio::time::Instant> = None;

    loop {
        let intake = deadline.is_none() && !paused && yielding.is_none();
        if intake {
            while let Some((worker, work)) = sched.next_dispatch() {
                if senders[worker].send(work.clone()).is_err() {
                    error!("A worker thread stopped unexpectedly");
                    sched.finished(worker, &work);
                }
            }
        } else if deadline.is_some() && sched.busy() == 0 {
            break;
        }

        // Publish what changed.
        let ten_min = Duration::from_secs(600);
        while finished_at.front().is_some_and(|t| t.elapsed() > ten_min) {
            finished_at.pop_front();
        }
        let all_listed = snap.hotfolders.iter().all(|h| h.listed);
        let state = if deadline.is_some() {
            RunState::Stopping
        } else if !all_listed {
            RunState::Starting
        } else if paused {
            RunState::Paused
        } else if let Some(why) = &yielding {
            RunState::Yielding(why.clone())
        } else {
            RunState::Running
        };
        let became_ready = snap.state == RunState::Starting && state != RunState::Starting;
        snap.state = state;
        snap.queue = sched.queue.len();
        snap.running = sched.busy();
        snap.counts = sched.counts;
        snap.per_minute = finished_at.len() as f64 / 10.0;
        if became_ready {
            notifier.ready(&snap.one_line());
            info!("All hotfolders are watched and listed");
        }
        if **status_tx.borrow() != snap {
            notifier.status(&snap.one_line());
            status_tx.send_replace(Arc::new(snap.clone()));
        }

        tokio::select! {
            () = &mut shutdown, if deadline.is_none() => {
                info!(running = sched.busy(), grace_s = grace.as_secs_f64(),
                    "Stopping: no new images are taken; running jobs may finish");
                notifier.stopping("stopping: running jobs may finish");
                let _ = cancel_tx.send(true);
                deadline = Some(tokio::time::Instant::now() + grace);
            }
            () = sleep_until_opt(deadline) => {
                warn!(running = sched.busy(), "Shutdown grace period over; unfinished jobs resume at the next start");
                break;
            }
            Some(msg) = watch_rx.recv() => match msg {
                WatchMsg::Ready { hotfolder, path } => {
                    // A stat and a ledger query: off the async threads.
                    if deadline.is_none() {
                        let (l, p) = (ledger.clone(), path.clone());
                        let kept = tokio::task::spawn_blocking(move || is_kept_original(&l, &p))
                            .await
                            .unwrap_or(false);
                        if !kept {
                            sched.push_new(hotfolder, path);
                        }
                    }
                }
                WatchMsg::Listed { hotfolder } => {
                    if let Some(h) = snap.hotfolders.get_mut(hotfolder) {
                        h.listed = true;
                    }
                }
                WatchMsg::Health { hotfolder, health } => {
                    if let Some(h) = snap.hotfolders.get_mut(hotfolder) {
                        h.watch = match health {
                            WatchHealth::Events => Watch::Events,
                            WatchHealth::Polling => Watch::Polling,
                            WatchHealth::InputMissing => Watch::InputMissing,
                        };
                    }
                }
            },
            Some(done) = done_rx.recv() => {
                sched.finished(done.worker, &done.work);
                sched.count(&done.result);
                if let WorkResult::Finished(d) = &done.result {
                    finished_at.push_back(tokio::time::Instant::now());
                    for (stage, secs) in &d.seconds {
                        let t = snap.stage_seconds.entry(stage.clone()).or_default();
                        t.count += 1;
                        t.seconds += secs;
                    }
                    if d.outcome == Outcome::Failed {
                        snap.push_error(ErrorEntry {
                            at: crate::report::now_rfc3339(),
                            job: Some(d.job),
                            file: d.file.clone(),
                            message: d.error.clone().unwrap_or_default(),
                        });
                    }
                }
            }
            Some(cmd) = control_rx.recv() => {
                let reply = match cmd {
                    Control::Pause(r) => {
                        if !paused {
                            info!("Paused: no new images are taken until resumed");
                        }
                        paused = true;
                        r
                    }
                    Control::Resume(r) => {
                        if paused {
                            info!("Resumed: taking new images again");
                        }
                        paused = false;
                        r
                    }
                    Control::Rescan(r) => {
                        info!("Listing every hotfolder now, as asked");
                        rescans.iter().for_each(|n| n.notify_one());
                        r
                    }
                };
                // Answer with the state the command led to.
                snap.state = if deadline.is_some() {
                    RunState::Stopping
                } else if paused {
                    RunState::Paused
                } else if let Some(why) = &yielding {
                    RunState::Yielding(why.clone())
                } else {
                    RunState::Running
                };
                status_tx.send_replace(Arc::new(snap.clone()));
                let _ = reply.send(Arc::new(snap.clone()));
            }
            _ = retry_tick.tick() => {
                if deadline.is_none() {
                    let l = ledger.clone();
                    match tokio::task::spawn_blocking(move || l.due_retries(now_ms())).await {
                        Ok(Ok(rows)) => rows.into_iter().for_each(|r| sched.push_resume(r.id)),
                        Ok(Err(e)) => error!(error = %e, "Could not read due retries from the ledger"),
                        Err(e) => error!(error = %e, "Could not read due retries from the ledger"),
                    }
                }
            }
            _ = guest_tick.tick(), if guest.enabled() => {
                let g = guest.sample().map(|load| guest.judge(load));
                if let Some(verdict) = g
                    && verdict != yielding
                {
                    match &verdict {
                        Some(why) => info!("Waiting before taking new images: {why}"),
                        None => info!("The machine has room again; taking new images"),
                    }
                    yielding = verdict;
                }
            }
            _ = watchdog.tick(), if notifier.watchdog_interval().is_some() => notifier.watchdog(),
        }
    }
    if let Some(stop) = stop_front {
        stop();
    }
    drop(senders);
    for t in threads {
        if t.is_finished() {
            let _ = t.join();
        }
    }
    // The daily indexes, complete (their writer batches a second's worth of jobs).
    let flush_ctx = ctx.clone();
    let _ = tokio::task::spawn_blocking(move || flush_ctx.index.flush()).await;
    // Renders cut short by this stop are not crashes.
    if let Err(e) = ledger.stopped_cleanly() {
        warn!(error = %e, "Could not record the clean stop in the ledger");
    }
    info!(
        processed = sched.counts.processed,
        failed = sched.counts.failed,
        duplicates = sched.counts.duplicate,
        retries = sched.counts.retries,
        "realskin stopped"
    );
    Ok(())
}

async fn sleep_until_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// An original kept in its input after success (`on_success = "keep"`), unchanged since.
fn is_kept_original(ledger: &Ledger, path: &Path) -> bool {
    let Ok(m) = std::fs::metadata(path) else {
        return false;
    };
    ledger
        .is_kept(path, m.len(), worker::mtime_ns(&m))
        .unwrap_or(false)
}

/// The queue and the idle workers; plain data, so it is tested without threads.
struct Scheduler {
    queue: VecDeque<Work>,
    queued_paths: HashSet<PathBuf>,
    queued_jobs: HashSet<i64>,
    idle: Vec<usize>,
    workers: usize,
    counts: Counts,
}

impl Scheduler {
    fn new(workers: usize) -> Self {
        Self {
            queue: VecDeque::new(),
            queued_paths: HashSet::new(),
            queued_jobs: HashSet::new(),
            idle: (0..workers).rev().collect(),
            workers,
            counts: Counts::default(),
        }
    }

    /// Queues a stable file unless it is already queued or running.
    fn push_new(&mut self, hotfolder: usize, path: PathBuf) {
        if self.queued_paths.insert(path.clone()) {
            self.queue.push_back(Work::New { hotfolder, path });
        }
    }

    /// Queues a ledger job unless it is already queued or running.
    fn push_resume(&mut self, job: i64) {
        if self.queued_jobs.insert(job) {
            self.queue.push_back(Work::Resume { job });
        }
    }

    fn next_dispatch(&mut self) -> Option<(usize, Work)> {
        if self.queue.is_empty() {
            return None;
        }
        let worker = self.idle.pop()?;
        let work = self.queue.pop_front()?;
        Some((worker, work))
    }

    fn finished(&mut self, worker: usize, work: &Work) {
        self.idle.push(worker);
        match work {
            Work::New { path, .. } => {
                self.queued_paths.remove(path);
            }
            Work::Resume { job } => {
                self.queued_jobs.remove(job);
            }
        }
    }

    fn count(&mut self, result: &WorkResult) {
        match result {
            WorkResult::Finished(done) => match done.outcome {
                Outcome::Processed => self.counts.processed += 1,
                Outcome::Failed => self.counts.failed += 1,
                Outcome::Duplicate => self.counts.duplicate += 1,
                Outcome::Skipped => self.counts.skipped += 1,
            },
            WorkResult::Retrying { .. } => self.counts.retries += 1,
            WorkResult::NotClaimed | WorkResult::LedgerFailed => {}
        }
    }

    fn busy(&self) -> usize {
        self.workers - self.idle.len()
    }
}

/// Resolves on SIGINT or SIGTERM (Ctrl-C elsewhere).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheduler_never_runs_the_same_file_twice_at_once() {
        let mut s = Scheduler::new(2);
        s.push_new(0, "/in/a.png".into());
        s.push_new(0, "/in/a.png".into());
        s.push_resume(7);
        s.push_resume(7);
        assert_eq!(s.queue.len(), 2);
        let (w1, first) = s.next_dispatch().unwrap();
        let (w2, _) = s.next_dispatch().unwrap();
        assert_ne!(w1, w2);
        assert!(s.next_dispatch().is_none());
        assert_eq!(s.busy(), 2);
        s.push_new(0, "/in/a.png".into());
        assert!(s.queue.is_empty(), "still running: not queued again");
        s.finished(w1, &first);
        s.push_new(0, "/in/a.png".into());
        assert_eq!(s.queue.len(), 1, "finished: may be queued again");
    }
}
