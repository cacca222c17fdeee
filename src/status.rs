//! What the daemon is doing, as a snapshot others can read without asking it: the local
//! API, the dashboard, the tray and `realskin status` (both through the API's typed client)
//! and systemd's `STATUS=` line.
//!
//! The scheduler owns the one mutable copy and publishes a fresh snapshot through a
//! `watch` channel whenever something changes; readers never block it. The types serialise
//! to `/api/status` and read back from it, so every reader shares them. This module depends
//! on nothing else in the crate.
//!
//! [`Control`] is the other direction: what the API asks of the scheduler.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Errors kept for the dashboard and `/api/status`.
pub const LAST_ERRORS: usize = 20;

/// Whether the daemon takes new images.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// How a hotfolder is being watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Watch {
    /// Watches are being set up.
    Starting,
    /// Native filesystem events (with a slow reconcile listing).
    Events,
    /// Listing the folder on an interval (network shares, or events failed).
    Polling,
    /// The input folder is not there; it is waited for.
    InputMissing,
}

impl Watch {
    /// Its word in `/api/status` and the metrics.
    pub fn word(self) -> &'static str {
        match self {
            Watch::Starting => "starting",
            Watch::Events => "events",
            Watch::Polling => "polling",
            Watch::InputMissing => "input-missing",
        }
    }

    /// Whether files arriving are seen.
    pub fn is_up(self) -> bool {
        matches!(self, Watch::Events | Watch::Polling)
    }
}

/// One hotfolder's watch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HotfolderStatus {
    /// Its name.
    pub name: String,
    /// The watched folder.
    pub input: String,
    /// Where results go.
    pub output: String,
    /// How it is watched.
    pub watch: Watch,
    /// Whether the first full listing has run.
    pub listed: bool,
}

/// A recent failure, for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StageTotals {
    /// Runs.
    pub count: u64,
    /// Seconds, summed.
    pub seconds: f64,
}

/// The daemon at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// realskin's version.
    pub version: String,
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
    /// The state in a word: `working` or `idle` while running, else the state's own word
    /// (`yielding` without its reason).
    pub fn activity(&self) -> &'static str {
        match &self.state {
            RunState::Starting => "starting",
            RunState::Running if self.running > 0 => "working",
            RunState::Running => "idle",
            RunState::Paused => "paused",
            RunState::Yielding(_) => "yielding",
            RunState::Stopping => "stopping",
        }
    }

    /// `realskin status` for people: the state, the counts, each hotfolder, the latest
    /// failures.
    pub fn for_people(&self) -> String {
        use std::fmt::Write;
        let state = match &self.state {
            RunState::Yielding(why) => format!("yielding ({why})"),
            _ => self.activity().to_string(),
        };
        let mut out = format!("realskin {}: {state}\n", self.version);
        let _ = writeln!(
            out,
            "  queue {}, working on {} of {} workers; finished {} ({} failed, {} duplicates) since {}",
            self.queue,
            self.running,
            self.workers,
            self.counts.processed,
            self.counts.failed,
            self.counts.duplicate,
            self.started_at
        );
        for h in &self.hotfolders {
            let _ = writeln!(
                out,
                "  hotfolder {}: {} -> {} [{}]",
                h.name,
                h.input,
                h.output,
                h.watch.word()
            );
        }
        for e in self.last_errors.iter().take(5) {
            let _ = writeln!(out, "  failed: {}: {}", e.file, e.message);
        }
        out
    }

    /// A one-line summary (systemd `STATUS=`, the tray's tooltip).
    pub fn one_line(&self) -> String {
        let state = match &self.state {
            RunState::Yielding(why) => format!("waiting: {why}"),
            _ => self.activity().to_string(),
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

/// What the API can ask of the scheduler; each answer is the snapshot after it (sent back
/// on the channel the command carries).
#[derive(Debug)]
pub enum Control {
    /// Stop taking new images (running ones finish).
    Pause(tokio::sync::oneshot::Sender<Arc<Snapshot>>),
    /// Take new images again.
    Resume(tokio::sync::oneshot::Sender<Arc<Snapshot>>),
    /// List every hotfolder now.
    Rescan(tokio::sync::oneshot::Sender<Arc<Snapshot>>),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(state: RunState) -> Snapshot {
        let mut s = Snapshot {
            version: "1.2.3".into(),
            started_at: "2026-12-04T10:00:00Z".into(),
            state,
            queue: 3,
            running: 1,
            workers: 2,
            counts: Counts {
                processed: 7,
                failed: 1,
                ..Counts::default()
            },
            per_minute: 0.5,
            hotfolders: vec![HotfolderStatus {
                name: "studio".into(),
                input: "/in".into(),
                output: "/out".into(),
                watch: Watch::InputMissing,
                listed: true,
            }],
            last_errors: VecDeque::new(),
            stage_seconds: BTreeMap::from([(
                "skin".to_string(),
                StageTotals {
                    count: 2,
                    seconds: 1.5,
                },
            )]),
        };
        s.push_error(ErrorEntry {
            at: "2026-12-04T10:01:00Z".into(),
            job: Some(4),
            file: "a.png".into(),
            message: "not an image".into(),
        });
        s
    }

    #[test]
    fn status_for_people_says_state_counts_folders_and_failures() {
        let text = snapshot(RunState::Yielding("the CPU is busy".into())).for_people();
        assert_eq!(
            text,
            "realskin 1.2.3: yielding (the CPU is busy)\n\
             \x20 queue 3, working on 1 of 2 workers; finished 7 (1 failed, 0 duplicates) since 2026-12-04T10:00:00Z\n\
             \x20 hotfolder studio: /in -> /out [input-missing]\n\
             \x20 failed: a.png: not an image\n"
        );
        assert!(
            snapshot(RunState::Running)
                .for_people()
                .starts_with("realskin 1.2.3: working\n")
        );
    }

    #[test]
    fn what_the_api_sends_reads_back_the_same() {
        for state in [
            RunState::Starting,
            RunState::Running,
            RunState::Paused,
            RunState::Yielding("the CPU is busy".into()),
            RunState::Stopping,
        ] {
            let s = snapshot(state);
            let json = serde_json::to_value(&s).unwrap();
            let back: Snapshot = serde_json::from_value(json.clone()).unwrap();
            assert_eq!(back, s, "{json}");
        }
        // The words the dashboard and scripts read.
        let json = serde_json::to_value(snapshot(RunState::Yielding("busy".into()))).unwrap();
        assert_eq!(json["state"], "yielding");
        assert_eq!(json["reason"], "busy");
        assert_eq!(json["hotfolders"][0]["watch"], "input-missing");
        assert_eq!(json["hotfolders"][0]["watch"], Watch::InputMissing.word());
    }

    #[test]
    fn the_one_line_summary_names_the_state() {
        assert_eq!(
            snapshot(RunState::Running).one_line(),
            "working; 3 queued, 1 running; 7 processed, 1 failed"
        );
        assert!(
            snapshot(RunState::Yielding("busy".into()))
                .one_line()
                .starts_with("waiting: busy;")
        );
    }
}
