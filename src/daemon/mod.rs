//! The long-running service: start-up, the scheduler, the worker pool and shutdown.
//!
//! [`run`] is one loop that waits on events and hands each to one handler of the private
//! `Daemon` (a stable file, a finished job, a control command, a retry or load tick, the
//! shutdown signal); the threads live in [`pool`], the queue in a plain `Scheduler`.
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
pub mod pool;
pub mod steps;
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
use crate::ledger::{JobId, Ledger, Store, now_ms};
use crate::output;
use crate::report::Outcome;
use crate::service::notify::Notifier;
pub use crate::status::{Control, Counts, ErrorEntry, HotfolderStatus, RunState, Snapshot, Watch};
use crate::watch::{Source, WatchHealth, WatchMsg, run_source};
use guest::{Guest, Thresholds};
use memory::MemoryBudget;
use pool::{Done, Pool};
use worker::{Work, WorkResult, WorkerCtx};

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
    let (mut daemon, mut events) = Daemon::start(cfg).await?;
    let stop_front = front(daemon.handle(events.control_tx.clone())).await;
    tokio::pin!(shutdown);
    loop {
        if daemon.drained() {
            break;
        }
        daemon.dispatch();
        daemon.publish();
        let deadline = daemon.deadline;
        tokio::select! {
            () = &mut shutdown, if deadline.is_none() => daemon.on_shutdown(),
            () = sleep_until_opt(deadline) => {
                warn!(running = daemon.sched.busy(), "Shutdown grace period over; unfinished jobs resume at the next start");
                break;
            }
            Some(msg) = events.watch.recv() => daemon.on_watch(msg).await,
            Some(done) = events.done.recv() => daemon.on_done(done),
            Some(cmd) = events.control.recv() => daemon.on_control(cmd),
            _ = events.retry_tick.tick() => daemon.on_retry_tick().await,
            _ = events.fleet_tick.tick(), if daemon.ledger.is_shared() => daemon.on_fleet_tick().await,
            _ = events.guest_tick.tick(), if daemon.guest_enabled => daemon.on_guest_tick().await,
            _ = events.watchdog.tick(), if daemon.notifier.watchdog_interval().is_some() => {
                daemon.notifier.watchdog();
            }
        }
    }
    if let Some(stop) = stop_front {
        stop();
    }
    daemon.finish().await;
    Ok(())
}

/// What the daemon's loop waits on, apart from the shutdown signal.
struct Events {
    watch: mpsc::UnboundedReceiver<WatchMsg>,
    done: mpsc::UnboundedReceiver<Done>,
    control: mpsc::Receiver<Control>,
    /// Kept to hand to the front end (the API).
    control_tx: mpsc::Sender<Control>,
    /// Due retries are looked up every second.
    retry_tick: tokio::time::Interval,
    /// The machine's load is sampled every 3 s when `yield_above_cpu` or
    /// `yield_below_free_memory_mb` is set.
    guest_tick: tokio::time::Interval,
    /// The service manager's watchdog, when it asked for one.
    watchdog: tokio::time::Interval,
    /// In a fleet: heartbeats and take-overs, three times per lease.
    fleet_tick: tokio::time::Interval,
}

/// The running daemon's state: one handler per event the loop in [`run`] waits on.
struct Daemon {
    cfg: Arc<Config>,
    ledger: Arc<Ledger>,
    ctx: Arc<WorkerCtx>,
    pool: Pool,
    sched: Scheduler,
    snap: Snapshot,
    status_tx: watch::Sender<Arc<Snapshot>>,
    /// Tells the watch sources to stop.
    cancel_tx: watch::Sender<bool>,
    /// Asks each hotfolder's source to list its input now.
    rescans: Vec<Arc<Notify>>,
    notifier: Notifier,
    guest: Arc<std::sync::Mutex<Guest>>,
    guest_enabled: bool,
    paused: bool,
    /// Why new images wait for the machine, when they do.
    yielding: Option<String>,
    /// In a fleet: why no image is taken while the shared database is out of reach.
    fleet_down: Option<String>,
    /// Jobs this node holds that stopped when the fleet database went away; resumed when
    /// it is back.
    parked: Vec<JobId>,
    /// When jobs finished in the last ten minutes, for the rate.
    finished_at: VecDeque<tokio::time::Instant>,
    /// Set at shutdown: running jobs may finish until then.
    deadline: Option<tokio::time::Instant>,
    /// The service manager was told the daemon is ready.
    ready_announced: bool,
}

impl Daemon {
    /// Opens the ledger, clears what a killed run left half-written, starts the workers
    /// and the watch sources, and queues the jobs an earlier run did not finish.
    async fn start(cfg: Arc<Config>) -> anyhow::Result<(Self, Events)> {
        prepare_folders(&cfg)?;
        let open_cfg = cfg.clone();
        let ledger = Arc::new(
            tokio::task::spawn_blocking(move || open_ledger(&open_cfg))
                .await
                .context("opening the job ledger stopped")??,
        );
        let startup_cfg = cfg.clone();
        tokio::task::spawn_blocking(move || clean_up_and_announce(&startup_cfg))
            .await
            .context("start-up clean-up stopped")?;

        let workers = cfg.worker_count();
        let ctx = Arc::new(WorkerCtx {
            config: cfg.clone(),
            ledger: ledger.clone(),
            budget: Arc::new(MemoryBudget::new()),
            index: index::IndexWriter::start(cfg.clone(), ledger.clone()),
        });
        let (pool, done) = Pool::start(workers, &ctx)?;

        let (watch_tx, watch_rx) = mpsc::unbounded_channel::<WatchMsg>();
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

        let mut sched = Scheduler::new(workers);
        let l = ledger.clone();
        let unfinished = tokio::task::spawn_blocking(move || unfinished_jobs(&l))
            .await
            .context("reading the ledger stopped")??;
        for id in unfinished {
            sched.push_resume(id);
        }

        let snap = initial_snapshot(&cfg, workers);
        let (status_tx, _) = watch::channel(Arc::new(snap.clone()));
        let (control_tx, control_rx) = mpsc::channel::<Control>(16);
        let notifier = Notifier::from_env();
        let guest = Guest::new(Thresholds {
            cpu_percent: cfg.daemon.yield_above_cpu,
            min_free_memory_mb: cfg.daemon.yield_below_free_memory_mb,
        });
        let events = Events {
            watch: watch_rx,
            done,
            control: control_rx,
            control_tx,
            retry_tick: delayed_interval(Duration::from_secs(1)),
            fleet_tick: delayed_interval(cfg.fleet.lease.get() / 3),
            guest_tick: delayed_interval(Duration::from_secs(3)),
            watchdog: tokio::time::interval(
                notifier
                    .watchdog_interval()
                    .unwrap_or(Duration::from_secs(3600)),
            ),
        };
        info!(workers, ledger = %ledger.place(), node = %ledger.instance(), version = env!("CARGO_PKG_VERSION"), "realskin is running");
        let daemon = Self {
            cfg,
            ledger,
            ctx,
            pool,
            sched,
            snap,
            status_tx,
            cancel_tx,
            rescans,
            notifier,
            guest_enabled: guest.enabled(),
            guest: Arc::new(std::sync::Mutex::new(guest)),
            paused: false,
            yielding: None,
            fleet_down: None,
            parked: Vec::new(),
            finished_at: VecDeque::new(),
            deadline: None,
            ready_announced: false,
        };
        Ok((daemon, events))
    }

    /// What the API serves.
    fn handle(&self, control: mpsc::Sender<Control>) -> DaemonHandle {
        DaemonHandle {
            status: self.status_tx.subscribe(),
            control,
            ledger: self.ledger.clone(),
            config: self.cfg.clone(),
        }
    }

    /// Stopping, and no job is running any more.
    fn drained(&self) -> bool {
        self.deadline.is_some() && self.sched.busy() == 0
    }

    /// Hands queued work to idle workers, unless paused, yielding or stopping.
    fn dispatch(&mut self) {
        if self.deadline.is_some()
            || self.paused
            || self.yielding.is_some()
            || self.fleet_down.is_some()
        {
            return;
        }
        while let Some((worker, work)) = self.sched.next_dispatch() {
            if !self.pool.send(worker, work.clone()) {
                error!("A worker thread stopped unexpectedly");
                self.sched.finished(worker, &work);
            }
        }
    }

    /// Every hotfolder was watched and listed once.
    fn all_listed(&self) -> bool {
        self.snap.hotfolders.iter().all(|h| h.listed)
    }

    /// The state the daemon is in.
    fn run_state(&self) -> RunState {
        run_state(
            self.deadline.is_some(),
            self.paused,
            self.all_listed(),
            self.fleet_down.as_deref().or(self.yielding.as_deref()),
        )
    }

    /// Brings the snapshot up to date and publishes it when it changed.
    fn publish(&mut self) {
        let ten_min = Duration::from_secs(600);
        while self
            .finished_at
            .front()
            .is_some_and(|t| t.elapsed() > ten_min)
        {
            self.finished_at.pop_front();
        }
        self.snap.state = self.run_state();
        self.snap.queue = self.sched.queue.len();
        self.snap.running = self.sched.busy();
        self.snap.counts = self.sched.counts;
        self.snap.per_minute = self.finished_at.len() as f64 / 10.0;
        if !self.ready_announced && (self.all_listed() || self.deadline.is_some()) {
            self.ready_announced = true;
            self.notifier.ready(&self.snap.one_line());
            if self.deadline.is_none() {
                info!("All hotfolders are watched and listed");
            }
        }
        if **self.status_tx.borrow() != self.snap {
            self.notifier.status(&self.snap.one_line());
            self.status_tx.send_replace(Arc::new(self.snap.clone()));
        }
    }

    /// SIGTERM or SIGINT: no new file is taken; running jobs get `shutdown_grace`.
    fn on_shutdown(&mut self) {
        let grace = self.cfg.daemon.shutdown_grace.get();
        info!(
            running = self.sched.busy(),
            grace_s = grace.as_secs_f64(),
            "Stopping: no new images are taken; running jobs may finish"
        );
        self.notifier.stopping("stopping: running jobs may finish");
        let _ = self.cancel_tx.send(true);
        self.deadline = Some(tokio::time::Instant::now() + grace);
    }

    /// A hotfolder source reported a stable file, its first full listing, or its health.
    async fn on_watch(&mut self, msg: WatchMsg) {
        match msg {
            WatchMsg::Ready { hotfolder, path } => {
                if self.deadline.is_some() {
                    return;
                }
                // A stat and a ledger query: off the async threads.
                let (l, p) = (self.ledger.clone(), path.clone());
                let kept = tokio::task::spawn_blocking(move || is_kept_original(&l, &p))
                    .await
                    .unwrap_or(false);
                if !kept {
                    self.sched.push_new(hotfolder, path);
                }
            }
            WatchMsg::Listed { hotfolder } => {
                if let Some(h) = self.snap.hotfolders.get_mut(hotfolder) {
                    h.listed = true;
                }
            }
            WatchMsg::Health { hotfolder, health } => {
                if let Some(h) = self.snap.hotfolders.get_mut(hotfolder) {
                    h.watch = match health {
                        WatchHealth::Events => Watch::Events,
                        WatchHealth::Polling => Watch::Polling,
                        WatchHealth::InputMissing => Watch::InputMissing,
                    };
                }
            }
        }
    }

    /// A worker finished a job: counts, stage times and the error list.
    fn on_done(&mut self, done: Done) {
        self.sched.finished(done.worker, &done.work);
        self.sched.count(&done.result);
        if let WorkResult::LedgerFailed {
            parked,
            unreachable: true,
        } = done.result
            && self.ledger.is_shared()
        {
            self.parked.extend(parked);
            // Stop dispatching at once; the next heartbeat finds out when it is back.
            if self.fleet_down.is_none() {
                warn!(
                    "The fleet database cannot be reached: no new images are taken; running jobs wait for it"
                );
                self.fleet_down = Some(self.fleet_down_reason());
            }
        }
        let WorkResult::Finished(d) = &done.result else {
            return;
        };
        self.finished_at.push_back(tokio::time::Instant::now());
        for (stage, secs) in &d.seconds {
            let t = self.snap.stage_seconds.entry(stage.clone()).or_default();
            t.count += 1;
            t.seconds += secs;
        }
        if d.outcome == Outcome::Failed {
            self.snap.push_error(ErrorEntry {
                at: crate::report::now_rfc3339(),
                job: Some(d.job),
                file: d.file.clone(),
                message: d.error.clone().unwrap_or_default(),
            });
        }
    }

    /// Pause, resume or rescan, from the API; answered with the state it led to.
    fn on_control(&mut self, cmd: Control) {
        let reply = match cmd {
            Control::Pause(r) => {
                if !self.paused {
                    info!("Paused: no new images are taken until resumed");
                }
                self.paused = true;
                r
            }
            Control::Resume(r) => {
                if self.paused {
                    info!("Resumed: taking new images again");
                }
                self.paused = false;
                r
            }
            Control::Rescan(r) => {
                info!("Listing every hotfolder now, as asked");
                self.rescans.iter().for_each(|n| n.notify_one());
                r
            }
        };
        self.publish();
        let _ = reply.send(self.status_tx.borrow().clone());
    }

    /// Queues the jobs whose retry came due (a destination that could not be written).
    async fn on_retry_tick(&mut self) {
        if self.deadline.is_some() {
            return;
        }
        let l = self.ledger.clone();
        match tokio::task::spawn_blocking(move || l.due_retries(now_ms())).await {
            Ok(Ok(rows)) => rows.into_iter().for_each(|r| self.sched.push_resume(r.id)),
            Ok(Err(e)) => error!(error = %e, "Could not read due retries from the ledger"),
            Err(e) => error!(error = %e, "Could not read due retries from the ledger"),
        }
    }

    /// Why no image is taken while the fleet database is away (the status shows it).
    fn fleet_down_reason(&self) -> String {
        format!(
            "the fleet database {} cannot be reached; waiting for it",
            self.ledger.place()
        )
    }

    /// In a fleet: renews this node's leases and heartbeat, and takes over the jobs of
    /// nodes whose leases lapsed (as many as there are idle workers). While the database
    /// is out of reach no image is taken; when it is back, the parked jobs resume and
    /// every hotfolder is listed again.
    async fn on_fleet_tick(&mut self) {
        let l = self.ledger.clone();
        // Up to a worker's worth of a dead machine's jobs at each beat, backlog or not: they
        // wait in this node's queue under its lease instead of behind its whole input.
        let room = if self.deadline.is_some() || self.paused {
            0
        } else {
            self.sched
                .idle
                .len()
                .saturating_sub(self.sched.queue.len())
                .max(1) as u32
        };
        let beat = tokio::task::spawn_blocking(move || {
            l.heartbeat()?;
            l.take_over(room)
        })
        .await;
        match beat {
            Ok(Ok(taken)) => {
                if let Some(why) = self.fleet_down.take() {
                    info!(was = %why, parked = self.parked.len(), "The fleet database is back; taking images again");
                    for id in std::mem::take(&mut self.parked) {
                        self.sched.push_resume(id);
                    }
                    self.rescans.iter().for_each(|r| r.notify_one());
                }
                for (id, from) in taken {
                    info!(job = id, node = %from, "Taking over a job from a machine that stopped renewing its lease");
                    self.sched.push_resume(id);
                }
            }
            Ok(Err(e)) if e.is_unreachable() => {
                if self.fleet_down.is_none() {
                    warn!(error = %e, "The fleet database cannot be reached: no new images are taken; running jobs wait for it");
                }
                self.fleet_down = Some(self.fleet_down_reason());
            }
            Ok(Err(e)) => error!(error = %e, "The fleet heartbeat failed"),
            Err(e) => error!(error = %e, "The fleet heartbeat stopped"),
        }
    }

    /// Samples the machine's load (on the blocking pool) and yields to other programs
    /// while it is above the configured thresholds.
    async fn on_guest_tick(&mut self) {
        let guest = self.guest.clone();
        let verdict = tokio::task::spawn_blocking(move || {
            let mut g = guest.lock().unwrap_or_else(|p| p.into_inner());
            g.sample().map(|load| g.judge(load))
        })
        .await
        .ok()
        .flatten();
        if let Some(verdict) = verdict
            && verdict != self.yielding
        {
            match &verdict {
                Some(why) => info!("Waiting before taking new images: {why}"),
                None => info!("The machine has room again; taking new images"),
            }
            self.yielding = verdict;
        }
    }

    /// Stops the workers, completes the daily indexes and records the clean stop.
    async fn finish(self) {
        self.pool.stop();
        let (ctx, ledger) = (self.ctx, self.ledger);
        // The daily indexes, complete (their writer batches a second's worth of jobs), and
        // the clean stop: renders cut short by it are not crashes.
        let _ = tokio::task::spawn_blocking(move || {
            ctx.index.flush();
            if let Err(e) = ledger.stopped_cleanly() {
                warn!(error = %e, "Could not record the clean stop in the ledger");
            }
        })
        .await;
        let c = self.sched.counts;
        info!(
            processed = c.processed,
            failed = c.failed,
            duplicates = c.duplicate,
            retries = c.retries,
            "realskin stopped"
        );
    }
}

/// The state the daemon is in, the one place it is worked out: stopping wins, then a pause
/// the operator asked for, then the first listing of every hotfolder, then yielding.
fn run_state(stopping: bool, paused: bool, all_listed: bool, yielding: Option<&str>) -> RunState {
    if stopping {
        RunState::Stopping
    } else if paused {
        RunState::Paused
    } else if !all_listed {
        RunState::Starting
    } else if let Some(why) = yielding {
        RunState::Yielding(why.to_string())
    } else {
        RunState::Running
    }
}

/// The first snapshot: every hotfolder starting, nothing counted yet.
fn initial_snapshot(cfg: &Config, workers: usize) -> Snapshot {
    Snapshot {
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
    }
}

/// A tick that, when late, waits a full period again instead of bursting.
fn delayed_interval(period: Duration) -> tokio::time::Interval {
    let mut i = tokio::time::interval(period);
    i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    i
}

/// Removes the temporary files a killed run left (previews in the state folder, outputs
/// in the destinations) and logs where each hotfolder takes and puts images.
fn clean_up_and_announce(cfg: &Config) {
    // On a share with other machines, a temporary file may be another's write in
    // progress: only those untouched for an hour are leftovers.
    let idle = if cfg.fleet.is_shared() {
        Duration::from_secs(3600)
    } else {
        Duration::ZERO
    };
    let n = output::remove_stale_temp_files(&cfg.daemon.state_dir, Duration::ZERO);
    if n > 0 {
        info!(folder = %cfg.daemon.state_dir.display(), files = n, "Removed half-written previews left by an interrupted run");
    }
    for hf in &cfg.hotfolder {
        for (_, dir) in hf.destinations() {
            let n = output::remove_stale_temp_files(dir, idle);
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
}

/// Opens this machine's ledger, or the fleet's shared one (announcing this node there).
fn open_ledger(cfg: &Config) -> anyhow::Result<Ledger> {
    if !cfg.fleet.is_shared() {
        let path = cfg.daemon.state().ledger();
        return Ledger::open(&path).with_context(|| {
            format!(
                "cannot open the job ledger {}; check that the state folder is writable and not used by a different realskin version",
                path.display()
            )
        });
    }
    let node = cfg.fleet.node_name(&cfg.daemon.state_dir);
    let ledger = Ledger::open_store(Store::Shared {
        url: &cfg.fleet.database,
        node: &node,
        lease: cfg.fleet.lease.get(),
    })
    .with_context(|| {
        format!(
            "cannot open the fleet's job ledger at {} ([fleet] database); check that the server runs, that this machine may connect, and that the user may create tables in that database",
            crate::ledger::redacted(&cfg.fleet.database)
        )
    })?;
    let host = sysinfo::System::host_name().unwrap_or_default();
    let hotfolders: Vec<String> = cfg.hotfolder.iter().map(|h| h.name.clone()).collect();
    ledger.register_node(&host, cfg.worker_count(), &capabilities(cfg), &hotfolders)?;
    Ok(ledger)
}

/// What this node can run beyond the built-in stages, for the fleet: the needs of the
/// hotfolders it runs (those whose model it could not load were left out at start-up).
fn capabilities(cfg: &Config) -> Vec<String> {
    let mut caps: Vec<String> = cfg
        .hotfolder
        .iter()
        .map(|h| h.needs())
        .filter(|n| !n.is_empty())
        .collect();
    caps.sort();
    caps.dedup();
    caps
}

/// The jobs an earlier run left unfinished, to resume; warns when it ended mid-render.
fn unfinished_jobs(ledger: &Ledger) -> anyhow::Result<Vec<i64>> {
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
    Ok(unfinished.into_iter().map(|row| row.id).collect())
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
            WorkResult::NotClaimed | WorkResult::LedgerFailed { .. } => {}
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
    fn the_run_state_puts_stopping_then_pause_first() {
        assert_eq!(
            run_state(true, true, false, Some("busy")),
            RunState::Stopping
        );
        assert_eq!(
            run_state(false, true, false, Some("busy")),
            RunState::Paused
        );
        assert_eq!(
            run_state(false, false, false, Some("busy")),
            RunState::Starting
        );
        assert_eq!(
            run_state(false, false, true, Some("busy")),
            RunState::Yielding("busy".into())
        );
        assert_eq!(run_state(false, false, true, None), RunState::Running);
    }

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
