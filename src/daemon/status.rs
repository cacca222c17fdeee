//! What the daemon is doing, as a snapshot others can read without asking it: the local
//! API, the dashboard, the tray (through the API) and systemd's `STATUS=` line.
//!
//! The scheduler owns the one mutable copy and publishes a fresh snapshot through a
//! `watch` channel whenever something changes; readers never block it.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

/// Errors kept for the dashboard and `/api/status`.
pub const LAST_ERRORS: usize = 20;

/// Whether the daemon takes new images.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state", content = "reason")]
pub enum RunState {
    /// Starting: watches are being set up and the first listing runs.
    Starting,
    /// Taking new images.
    Running,
    /// Paused by a person (API, dashboard, tray): no new image is taken.
    Paused,
    /// Yielding to other work on the machine; resumes on its own.
    Yielding(String),
    /// Shutting down: running jobs finish, nothing new is taken.
    Stopping,
}

/// Jobs finished since start-up, by outcome.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Outputs written.
    pub processed: u64,
    /// Originals sent to failed/.
    pub failed: u64,
    /// Skipped as duplicates.
    pub duplicate: u64,
    /// Skipped because the output name was taken.
    pub skipped: u64,
    /// Retries scheduled after a destination failed.
    pub retries: u64,
}

/// One hotfolder's watch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HotfolderStatus {
    /// Its name.
    pub name: String,
    /// The watched folder.
    pub input: String,
    /// Where results go.
    pub output: String,
    /// `starting`, `events`, `polling` or `input-missing`.
    pub watch: &'static str,
    /// Whether the first full listing has run.
    pub listed: bool,
}

/// A recent failure, for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorEntry {
    /// When (RFC 3339).
    pub at: String,
    /// The job, if one.
    pub job: Option<i64>,
    /// The file.
    pub file: String,
    /// What went wrong.
    pub message: String,
}

/// Stage time totals, for metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize)]
pub struct StageTotals {
    /// Runs.
    pub count: u64,
    /// Seconds, summed.
    pub seconds: f64,
}

/// The daemon at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// realskin's version.
    pub version: &'static str,
    /// When the daemon started (RFC 3339).
    pub started_at: String,
    /// Taking images or not, and why.
    #[serde(flatten)]
    pub state: RunState,
    /// Images waiting for a worker.
    pub queue: usize,
    /// Images being processed.
    pub running: usize,
    /// Worker threads.
    pub workers: usize,
    /// Finished jobs by outcome since start-up.
    pub counts: Counts,
    /// Jobs finished in the last ten minutes, per minute.
    pub per_minute: f64,
    /// The hotfolders.
    pub hotfolders: Vec<HotfolderStatus>,
    /// The latest failures, newest first.
    pub last_errors: VecDeque<ErrorEntry>,
    /// Seconds spent per stage (and for whole jobs), for metrics.
    pub stage_seconds: BTreeMap<String, StageTotals>,
}

impl Snapshot {
    /// A one-line summary (systemd `STATUS=`, the tray's tooltip).
    pub fn one_line(&self) -> String {
        let state = match &self.state {
            RunState::Starting => "starting".to_string(),
            RunState::Running if self.running > 0 => "working".to_string(),
            RunState::Running => "idle".to_string(),
            RunState::Paused => "paused".to_string(),
            RunState::Yielding(why) => format!("waiting: {why}"),
            RunState::Stopping => "stopping".to_string(),
        };
        format!(
            "{state}; {} queued, {} running; {} processed, {} failed",
            self.queue, self.running, self.counts.processed, self.counts.failed
        )
    }

    /// Adds a failure, keeping the newest [`LAST_ERRORS`].
    pub fn push_error(&mut self, e: ErrorEntry) {
        self.last_errors.push_front(e);
        self.last_errors.truncate(LAST_ERRORS);
    }
}
