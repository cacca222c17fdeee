//! The job ledger: one SQLite file in the state dir that records every job's claim,
//! progress and outcome, so a restart or a crash never loses, repeats or half-does one.
//!
//! A job moves through states in order, each written before the step that follows
//! it could leave a trace on disk:
//!
//! ```text
//! claiming -> claimed -> written -> reported -> done
//!                 \          \          \
//!                  -> retry   -> retry   -> failed
//! ```
//!
//! `claiming` is written before the original is renamed into staging, `written` once
//! the output is in place, `reported` once the report is. At start-up every job not
//! `done` or `failed` is resumed from its state, and each step first looks at the disk
//! (is the output already there?) so repeating it cannot duplicate anything.
//! The ledger knows nothing about pixels.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// A job's row id.
pub type JobId = i64;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobState {
    /// Row written; the original is being renamed into staging.
    Claiming,
    /// The original is in staging; processing may run.
    Claimed,
    /// The output is in place under its final name.
    Written,
    /// The report is in place.
    Reported,
    /// A destination failed; the original waits in staging for the next try.
    Retry,
    /// Finished: output, report and original all where they belong.
    Done,
    /// Finished without output: original in failed/ with its reason.
    Failed,
}

impl JobState {
    /// The text stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Claiming => "claiming",
            Self::Claimed => "claimed",
            Self::Written => "written",
            Self::Reported => "reported",
            Self::Retry => "retry",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "claiming" => Self::Claiming,
            "claimed" => Self::Claimed,
            "written" => Self::Written,
            "reported" => Self::Reported,
            "retry" => Self::Retry,
            "done" => Self::Done,
            _ => Self::Failed,
        }
    }

    /// Whether the job is finished.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Done | Self::Failed)
    }
}

/// How a job ended: stored in the `outcome` column by its word, read back typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Output written.
    Processed,
    /// Same content already processed; not done again.
    Duplicate,
    /// Nothing written on purpose (the output name was taken and `on_collision = "skip"`).
    Skipped,
    /// Could not be processed; the original is in failed/.
    Failed,
}

impl Outcome {
    /// The word used in the ledger, logs and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Processed => "processed",
            Self::Duplicate => "duplicate",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
        }
    }

    /// The outcome a ledger word names; `None` for a word this version does not write.
    pub fn parse(word: &str) -> Option<Self> {
        [
            Self::Processed,
            Self::Duplicate,
            Self::Skipped,
            Self::Failed,
        ]
        .into_iter()
        .find(|o| o.as_str() == word)
    }
}

/// One job as the ledger has it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRow {
    /// Row id.
    pub id: JobId,
    /// The hotfolder's name.
    pub hotfolder: String,
    /// Path relative to the hotfolder's input (kept in output, done/ and failed/).
    pub rel_path: PathBuf,
    /// Where the file was dropped.
    pub original_path: PathBuf,
    /// Where the file waits while it is processed.
    pub staged_path: PathBuf,
    /// Bytes, once claimed.
    pub size: Option<u64>,
    /// BLAKE3 of the content, once claimed.
    pub hash: Option<String>,
    /// Current state.
    pub state: JobState,
    /// Tries so far.
    pub attempts: u32,
    /// When a `retry` job is due (Unix ms).
    pub next_attempt_at: Option<i64>,
    /// The output's final name, chosen before writing.
    pub output_path: Option<PathBuf>,
    /// The report's path.
    pub report_path: Option<PathBuf>,
    /// Where the original ended (done/, failed/, back in input), if it still exists.
    pub final_path: Option<PathBuf>,
    /// How it ended, once reported.
    pub outcome: Option<Outcome>,
    /// The last error, for the operator.
    pub error: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
    /// Unix ms, once finished.
    pub finished_at: Option<i64>,
    /// Runs in a row that ended in a crash while this job was rendering: the first such
    /// crash counts 1 whatever else was rendering beside it; each further one counts only
    /// when this job was rendering alone (a suspect is resumed alone, see
    /// [`Ledger::count_crashes`]).
    pub crashes: u32,
}

/// Ledger errors are start-up failures or bugs, never a per-image problem.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The database could not be opened or written.
    #[error("job ledger {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
}

/// The job database. Cheap to share: every call takes a short lock.
pub struct Ledger {
    conn: Mutex<Connection>,
    path: PathBuf,
    instance: String,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    hotfolder       TEXT NOT NULL,
    rel_path        TEXT NOT NULL,
    original_path   TEXT NOT NULL,
    staged_path     TEXT NOT NULL DEFAULT '',
    size            INTEGER,
    hash            TEXT,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    output_path     TEXT,
    report_path     TEXT,
    final_path      TEXT,
    outcome         TEXT,
    error           TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    rendering       INTEGER NOT NULL DEFAULT 0,
    crashes         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_by_hash ON jobs(hash, state);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state);
CREATE INDEX IF NOT EXISTS jobs_by_finish ON jobs(hotfolder, finished_at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS kept (
    path     TEXT PRIMARY KEY,
    size     INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    job      INTEGER NOT NULL
);
";

const COLUMNS: &str = "id, hotfolder, rel_path, original_path, staged_path, size, hash, state, attempts, \
     next_attempt_at, output_path, report_path, final_path, outcome, error, created_at, updated_at, finished_at, \
     crashes";

/// Columns added after version 1 of the schema, for ledgers written by an older realskin.
const MIGRATION_2: &str = "
ALTER TABLE jobs ADD COLUMN rendering INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0;
";

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn path_text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

impl Ledger {
    /// Opens (or creates) the ledger at `path`.
    pub fn open(path: &Path) -> Result<Self, LedgerError> {
        let wrap = |source| LedgerError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(wrap)?;
        // WAL survives a killed process; FULL also survives power loss at a small cost
        // (a handful of transactions per image).
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(wrap)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(wrap)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(wrap)?;
        conn.execute_batch(SCHEMA).map_err(wrap)?;
        let has_crashes: bool = conn
            .query_row(
                "SELECT COUNT(*) > 0 FROM pragma_table_info('jobs') WHERE name = 'crashes'",
                [],
                |r| r.get(0),
            )
            .map_err(wrap)?;
        if !has_crashes {
            conn.execute_batch(MIGRATION_2).map_err(wrap)?;
        }
        conn.pragma_update(None, "user_version", 2).map_err(wrap)?;
        let instance: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'instance'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(wrap)?;
        let instance = match instance {
            Some(i) => i,
            None => {
                let i = new_instance_id(path);
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('instance', ?1)",
                    params![i],
                )
                .map_err(wrap)?;
                i
            }
        };
        Ok(Self {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            instance,
        })
    }

    /// This ledger's id; names the staging folder so two daemons sharing a folder
    /// never resume each other's jobs.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, LedgerError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn).map_err(|source| LedgerError::Sqlite {
            path: self.path.clone(),
            source,
        })
    }

    /// Records the intent to claim `original`; returns the job id and the staging path
    /// it must be renamed to (`<staging_root>/<id>/<rel_path>`).
    pub fn begin_claim(
        &self,
        hotfolder: &str,
        rel_path: &Path,
        original: &Path,
        staging_root: &Path,
    ) -> Result<(JobId, PathBuf), LedgerError> {
        self.with(|c| {
            let now = now_ms();
            let tx = c.unchecked_transaction()?;
            tx.execute(
                "INSERT INTO jobs (hotfolder, rel_path, original_path, state, created_at, updated_at)
                 VALUES (?1, ?2, ?3, 'claiming', ?4, ?4)",
                params![hotfolder, path_text(rel_path), path_text(original), now],
            )?;
            let id = tx.last_insert_rowid();
            let staged = staging_root.join(id.to_string()).join(rel_path);
            tx.execute(
                "UPDATE jobs SET staged_path = ?1 WHERE id = ?2",
                params![path_text(&staged), id],
            )?;
            tx.commit()?;
            Ok((id, staged))
        })
    }

    /// The rename failed because the file was gone (another daemon took it): forget it.
    pub fn abandon_claim(&self, id: JobId) -> Result<(), LedgerError> {
        self.with(|c| {
            c.execute(
                "DELETE FROM jobs WHERE id = ?1 AND state = 'claiming'",
                params![id],
            )
            .map(drop)
        })
    }

    /// The original is in staging: record its size and content hash.
    pub fn claimed(&self, id: JobId, size: u64, hash: &str) -> Result<(), LedgerError> {
        self.with(|c| {
            c.execute(
                "UPDATE jobs SET state = 'claimed', size = ?1, hash = ?2, updated_at = ?3 WHERE id = ?4",
                params![size as i64, hash, now_ms(), id],
            )
            .map(drop)
        })
    }

    /// Records the output's final name before it is written.
    pub fn set_output(&self, id: JobId, output: &Path) -> Result<(), LedgerError> {
        self.with(|c| {
            c.execute(
                "UPDATE jobs SET output_path = ?1, updated_at = ?2 WHERE id = ?3",
                params![path_text(output), now_ms(), id],
            )
            .map(drop)
        })
    }

    /// Records the report's path before it is written.
    pub fn set_report(&self, id: JobId, report: &Path) -> Result<(), LedgerError> {
        self.with(|c| {
            c.execute(
                "UPDATE jobs SET report_path = ?1, updated_at = ?2 WHERE id = ?3",
                params![path_text(report), now_ms(), id],
            )
            .map(drop)
        })
    }

    /// Moves a job to a non-terminal state.
    pub fn advance(&self, id: JobId, state: JobState) -> Result<(), LedgerError> {
        self.with(|c| {
            c.execute(
                "UPDATE jobs SET state = ?1, updated_at = ?2 WHERE id = ?3",
                params![state.as_str(), now_ms(), id],
            )
            .map(drop)
        })
    }

    /// The report is written: records the outcome, where the original is about to go
    /// (so a resumed job puts it in the same place) and, on failure, the reason.
    pub fn reported(
        &self,
        id: JobId,
        outcome: Outcome,
        planned_final: Option<&Path>,
        error: Option<&str>,
    ) -> Result<(), LedgerError> {
        self.with(|c| {
            c.execute(
                "UPDATE jobs SET state = 'reported', outcome = ?1, final_path = ?2, error = ?3,
                 updated_at = ?4 WHERE id = ?5",
                params![
                    outcome.as_str(),
                    planned_final.map(path_text),
                    error,
                    now_ms(),
                    id
                ],
            )
            .map(drop)
        })
    }

    /// Remembers an original left in its input (`on_success = "keep"`), so the watcher
    /// does not take it again until it changes.
    pub fn record_kept(
        &self,
        path: &Path,
        size: u64,
        mtime_ns: i64,
        job: JobId,
    ) -> Result<(), LedgerError> {
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO kept (path, size, mtime_ns, job) VALUES (?1, ?2, ?3, ?4)",
                params![path_text(path), size as i64, mtime_ns, job],
            )
            .map(drop)
        })
    }

    /// Whether this exact file (path, size, time) is an original kept after success.
    pub fn is_kept(&self, path: &Path, size: u64, mtime_ns: i64) -> Result<bool, LedgerError> {
        self.with(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM kept WHERE path = ?1 AND size = ?2 AND mtime_ns = ?3",
                params![path_text(path), size as i64, mtime_ns],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
        })
    }

    /// A destination failed: try again at `next_at` (Unix ms).
    pub fn schedule_retry(&self, id: JobId, next_at: i64, error: &str) -> Result<u32, LedgerError> {
        self.with(|c| {
            c.execute(
                "UPDATE jobs SET state = 'retry', attempts = attempts + 1, next_attempt_at = ?1,
                 error = ?2, updated_at = ?3 WHERE id = ?4",
                params![next_at, error, now_ms(), id],
            )?;
            c.query_row(
                "SELECT attempts FROM jobs WHERE id = ?1",
                params![id],
                |r| r.get::<_, u32>(0),
            )
        })
    }

    /// Finishes a job.
    pub fn finish(
        &self,
        id: JobId,
        state: JobState,
        outcome: Outcome,
        final_path: Option<&Path>,
        error: Option<&str>,
    ) -> Result<(), LedgerError> {
        debug_assert!(state.is_terminal());
        self.with(|c| {
            let now = now_ms();
            c.execute(
                "UPDATE jobs SET state = ?1, outcome = ?2, final_path = ?3, error = ?4,
                 next_attempt_at = NULL, updated_at = ?5, finished_at = ?5 WHERE id = ?6",
                params![
                    state.as_str(),
                    outcome.as_str(),
                    final_path.map(path_text),
                    error,
                    now,
                    id
                ],
            )
            .map(drop)
        })
    }

    /// One job.
    pub fn get(&self, id: JobId) -> Result<Option<JobRow>, LedgerError> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"),
                params![id],
                row,
            )
            .optional()
        })
    }

    /// The job's picture is being rendered: if the process dies now, the next start counts
    /// it as a crash during this job (see [`Ledger::count_crashes`]).
    pub fn begin_render(&self, id: JobId) -> Result<(), LedgerError> {
        self.with(|c| {
            c.execute("UPDATE jobs SET rendering = 1 WHERE id = ?1", params![id])
                .map(drop)
        })
    }

    /// The render returned (either way): the job did not take the process down, so its
    /// run of crashes ends.
    pub fn end_render(&self, id: JobId) -> Result<(), LedgerError> {
        self.with(|c| {
            c.execute(
                "UPDATE jobs SET rendering = 0, crashes = 0 WHERE id = ?1",
                params![id],
            )
            .map(drop)
        })
    }

    /// At start-up: every job that was rendering when the last run ended was in flight at
    /// a crash (a clean stop clears the mark with [`Ledger::stopped_cleanly`]). A job that
    /// was rendering alone gets one more crash; jobs that were rendering side by side are
    /// each marked a suspect (at least one crash) but not counted further, since a kill or
    /// power cut takes every job in flight down with it and says nothing about which one
    /// was to blame. Suspects are resumed alone, so a file that really brings the process
    /// down does it again with nothing beside it. Returns how many jobs were in flight.
    pub fn count_crashes(&self) -> Result<usize, LedgerError> {
        self.with(|c| {
            let in_flight: i64 =
                c.query_row("SELECT COUNT(*) FROM jobs WHERE rendering = 1", [], |r| {
                    r.get(0)
                })?;
            c.execute(
                "UPDATE jobs SET crashes = CASE WHEN ?1 THEN crashes + 1 ELSE MAX(crashes, 1) END,
                 rendering = 0 WHERE rendering = 1",
                params![in_flight == 1],
            )
        })
    }

    /// At a clean stop: renders cut short by the stop were not crashes.
    pub fn stopped_cleanly(&self) -> Result<(), LedgerError> {
        self.with(|c| {
            c.execute("UPDATE jobs SET rendering = 0 WHERE rendering = 1", [])
                .map(drop)
        })
    }

    /// Jobs not finished, oldest first: what a restart must resume.
    pub fn unfinished(&self) -> Result<Vec<JobRow>, LedgerError> {
        self.query(
            &format!(
                "SELECT {COLUMNS} FROM jobs WHERE state NOT IN ('done', 'failed') ORDER BY id"
            ),
            [],
        )
    }

    /// `retry` jobs due at `now` (Unix ms).
    pub fn due_retries(&self, now: i64) -> Result<Vec<JobRow>, LedgerError> {
        self.query(
            &format!(
                "SELECT {COLUMNS} FROM jobs WHERE state = 'retry' AND next_attempt_at <= ?1 ORDER BY next_attempt_at"
            ),
            params![now],
        )
    }

    /// When the next `retry` job is due.
    pub fn next_retry_at(&self) -> Result<Option<i64>, LedgerError> {
        self.with(|c| {
            c.query_row(
                "SELECT MIN(next_attempt_at) FROM jobs WHERE state = 'retry'",
                [],
                |r| r.get(0),
            )
        })
    }

    /// The earliest successful job with this content in this hotfolder, other than `except`.
    pub fn processed_with_hash(
        &self,
        hotfolder: &str,
        hash: &str,
        except: JobId,
    ) -> Result<Option<JobRow>, LedgerError> {
        self.with(|c| {
            c.query_row(
                &format!(
                    "SELECT {COLUMNS} FROM jobs WHERE hash = ?1 AND hotfolder = ?2 AND state = 'done'
                     AND outcome = 'processed' AND id != ?3 ORDER BY id LIMIT 1"
                ),
                params![hash, hotfolder, except],
                row,
            )
            .optional()
        })
    }

    /// The newest `limit` jobs of one hotfolder finished in [from, to), newest first.
    pub fn finished_between_newest(
        &self,
        hotfolder: &str,
        from: i64,
        to: i64,
        limit: u32,
    ) -> Result<Vec<JobRow>, LedgerError> {
        self.query(
            &format!(
                "SELECT {COLUMNS} FROM jobs WHERE hotfolder = ?1 AND finished_at >= ?2 AND finished_at < ?3
                 ORDER BY finished_at DESC LIMIT ?4"
            ),
            params![hotfolder, from, to, limit],
        )
    }

    /// How many jobs of one hotfolder finished in [from, to), by outcome.
    pub fn outcomes_between(
        &self,
        hotfolder: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<(Outcome, u64)>, LedgerError> {
        let counts: Vec<(String, u64)> = self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT COALESCE(outcome, 'failed'), COUNT(*) FROM jobs
                 WHERE hotfolder = ?1 AND finished_at >= ?2 AND finished_at < ?3 GROUP BY 1",
            )?;
            stmt.query_map(params![hotfolder, from, to], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))
            })?
            .collect()
        })?;
        // A word this version does not write counts as failed, like a missing one.
        Ok(counts
            .into_iter()
            .map(|(w, n)| (Outcome::parse(&w).unwrap_or(Outcome::Failed), n))
            .collect())
    }

    /// The most recent jobs, newest first.
    pub fn recent(&self, limit: u32, offset: u32) -> Result<Vec<JobRow>, LedgerError> {
        self.query(
            &format!("SELECT {COLUMNS} FROM jobs ORDER BY id DESC LIMIT ?1 OFFSET ?2"),
            params![limit, offset],
        )
    }

    /// Finished jobs by outcome (`processed`, `failed`, ...).
    pub fn outcome_counts(&self) -> Result<Vec<(String, u64)>, LedgerError> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT outcome, COUNT(*) FROM jobs WHERE outcome IS NOT NULL GROUP BY outcome ORDER BY outcome",
            )?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?
                .collect()
        })
    }

    fn query(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<JobRow>, LedgerError> {
        self.with(|c| {
            let mut stmt = c.prepare(sql)?;
            stmt.query_map(params, row)?.collect()
        })
    }
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRow> {
    let path = |i: usize| -> rusqlite::Result<Option<PathBuf>> {
        Ok(r.get::<_, Option<String>>(i)?.map(PathBuf::from))
    };
    Ok(JobRow {
        id: r.get(0)?,
        hotfolder: r.get(1)?,
        rel_path: PathBuf::from(r.get::<_, String>(2)?),
        original_path: PathBuf::from(r.get::<_, String>(3)?),
        staged_path: PathBuf::from(r.get::<_, String>(4)?),
        size: r.get::<_, Option<i64>>(5)?.map(|s| s as u64),
        hash: r.get(6)?,
        state: JobState::parse(&r.get::<_, String>(7)?),
        attempts: r.get(8)?,
        next_attempt_at: r.get(9)?,
        output_path: path(10)?,
        report_path: path(11)?,
        final_path: path(12)?,
        outcome: r
            .get::<_, Option<String>>(13)?
            .as_deref()
            .and_then(Outcome::parse),
        error: r.get(14)?,
        created_at: r.get(15)?,
        updated_at: r.get(16)?,
        finished_at: r.get(17)?,
        crashes: r.get(18)?,
    })
}

/// A fresh id for this ledger: hashed from the moment, the process and the path.
fn new_instance_id(path: &Path) -> String {
    let mut h = blake3::Hasher::new();
    h.update(&now_ms().to_le_bytes());
    h.update(&std::process::id().to_le_bytes());
    h.update(path.as_os_str().as_encoded_bytes());
    if let Ok(t) = SystemTime::now().duration_since(UNIX_EPOCH) {
        h.update(&t.subsec_nanos().to_le_bytes());
    }
    h.finalize().to_hex()[..12].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_job(ledger: &Ledger) -> JobId {
        ledger
            .begin_claim(
                "default",
                Path::new("a.png"),
                Path::new("/in/a.png"),
                Path::new("/in/.realskin/processing/x"),
            )
            .unwrap()
            .0
    }

    #[test]
    fn a_crash_beside_other_renders_marks_a_suspect_and_only_a_crash_alone_counts_again() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ledger.sqlite");
        let ledger = Ledger::open(&db).unwrap();
        let a = one_job(&ledger);
        let b = ledger
            .begin_claim(
                "default",
                Path::new("b.png"),
                Path::new("/in/b.png"),
                Path::new("/in/.realskin/processing/y"),
            )
            .unwrap()
            .0;
        let crashes = |l: &Ledger, id| l.get(id).unwrap().unwrap().crashes;
        // Killed with both rendering, twice: both are suspects, neither is counted twice.
        for _ in 0..2 {
            ledger.begin_render(a).unwrap();
            ledger.begin_render(b).unwrap();
            assert_eq!(ledger.count_crashes().unwrap(), 2);
            assert_eq!((crashes(&ledger, a), crashes(&ledger, b)), (1, 1));
        }
        // The suspect resumed alone finishes: its run ends. The other, alone, is killed again.
        ledger.begin_render(a).unwrap();
        ledger.end_render(a).unwrap();
        ledger.begin_render(b).unwrap();
        assert_eq!(ledger.count_crashes().unwrap(), 1);
        assert_eq!((crashes(&ledger, a), crashes(&ledger, b)), (0, 2));
    }

    #[test]
    fn crashes_count_only_renders_cut_short_in_a_row() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ledger.sqlite");
        let ledger = Ledger::open(&db).unwrap();
        let id = one_job(&ledger);
        let crashes = |l: &Ledger| l.get(id).unwrap().unwrap().crashes;
        // Killed while rendering, twice: two crashes.
        ledger.begin_render(id).unwrap();
        drop(ledger);
        let ledger = Ledger::open(&db).unwrap();
        assert_eq!(ledger.count_crashes().unwrap(), 1);
        assert_eq!(crashes(&ledger), 1);
        ledger.begin_render(id).unwrap();
        assert_eq!(ledger.count_crashes().unwrap(), 1);
        assert_eq!(crashes(&ledger), 2);
        // A start with nothing rendering counts nothing.
        assert_eq!(ledger.count_crashes().unwrap(), 0);
        // A render that returns ends the run; a clean stop mid-render is no crash.
        ledger.begin_render(id).unwrap();
        ledger.end_render(id).unwrap();
        assert_eq!(crashes(&ledger), 0);
        ledger.begin_render(id).unwrap();
        ledger.stopped_cleanly().unwrap();
        assert_eq!(ledger.count_crashes().unwrap(), 0);
        assert_eq!(crashes(&ledger), 0);
    }

    #[test]
    fn a_ledger_from_schema_version_1_gains_the_crash_columns() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ledger.sqlite");
        {
            let c = Connection::open(&db).unwrap();
            let v1 = SCHEMA
                .replace(
                    "finished_at     INTEGER,\n    rendering       INTEGER NOT NULL DEFAULT 0,\n    crashes         INTEGER NOT NULL DEFAULT 0\n",
                    "finished_at     INTEGER\n",
                );
            assert_ne!(v1, SCHEMA, "the test rebuilt version 1");
            c.execute_batch(&v1).unwrap();
            c.execute(
                "INSERT INTO jobs (hotfolder, rel_path, original_path, state, created_at, updated_at) \
                 VALUES ('default', 'a.png', '/in/a.png', 'claimed', 1, 1)",
                [],
            )
            .unwrap();
        }
        let ledger = Ledger::open(&db).unwrap();
        let open = ledger.unfinished().unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].crashes, 0);
        ledger.begin_render(open[0].id).unwrap();
        assert_eq!(ledger.count_crashes().unwrap(), 1);
    }

    #[test]
    fn the_outcome_is_stored_by_its_word_and_read_back_typed() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ledger.sqlite");
        let ledger = Ledger::open(&db).unwrap();
        for o in [
            Outcome::Processed,
            Outcome::Duplicate,
            Outcome::Skipped,
            Outcome::Failed,
        ] {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(Outcome::parse("exploded"), None);
        let id = one_job(&ledger);
        assert_eq!(ledger.get(id).unwrap().unwrap().outcome, None);
        ledger.reported(id, Outcome::Duplicate, None, None).unwrap();
        drop(ledger);
        let ledger = Ledger::open(&db).unwrap();
        assert_eq!(
            ledger.get(id).unwrap().unwrap().outcome,
            Some(Outcome::Duplicate)
        );
        // A word this version does not write reads as no outcome, not as a wrong one.
        ledger
            .with(|c| c.execute("UPDATE jobs SET outcome = 'exploded' WHERE id = ?1", [id]))
            .unwrap();
        assert_eq!(ledger.get(id).unwrap().unwrap().outcome, None);
    }

    #[test]
    fn a_job_walks_through_its_states_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ledger.sqlite");
        let ledger = Ledger::open(&db).unwrap();
        let instance = ledger.instance().to_string();
        let (id, staged) = ledger
            .begin_claim(
                "default",
                Path::new("sub/a.png"),
                Path::new("/in/sub/a.png"),
                Path::new("/in/.realskin/processing/x"),
            )
            .unwrap();
        assert_eq!(
            staged,
            PathBuf::from(format!("/in/.realskin/processing/x/{id}/sub/a.png"))
        );
        ledger.claimed(id, 10, "abc").unwrap();
        ledger
            .set_output(id, Path::new("/out/sub/a.realskin.png"))
            .unwrap();
        ledger.advance(id, JobState::Written).unwrap();
        drop(ledger);

        let ledger = Ledger::open(&db).unwrap();
        assert_eq!(ledger.instance(), instance, "instance id is stable");
        let open = ledger.unfinished().unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].state, JobState::Written);
        assert_eq!(
            open[0].output_path.as_deref(),
            Some(Path::new("/out/sub/a.realskin.png"))
        );
        ledger
            .finish(
                id,
                JobState::Done,
                Outcome::Processed,
                Some(Path::new("/done/sub/a.png")),
                None,
            )
            .unwrap();
        assert!(ledger.unfinished().unwrap().is_empty());
        assert_eq!(
            ledger
                .processed_with_hash("default", "abc", -1)
                .unwrap()
                .map(|r| r.id),
            Some(id)
        );
        assert!(
            ledger
                .processed_with_hash("default", "abc", id)
                .unwrap()
                .is_none()
        );
        assert_eq!(
            ledger.outcome_counts().unwrap(),
            vec![("processed".to_string(), 1)]
        );
    }

    #[test]
    fn retries_come_due_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("l.sqlite")).unwrap();
        let (a, _) = ledger
            .begin_claim("h", Path::new("a"), Path::new("/a"), Path::new("/s"))
            .unwrap();
        let (b, _) = ledger
            .begin_claim("h", Path::new("b"), Path::new("/b"), Path::new("/s"))
            .unwrap();
        assert_eq!(ledger.schedule_retry(a, 2_000, "disk full").unwrap(), 1);
        assert_eq!(ledger.schedule_retry(a, 1_000, "disk full").unwrap(), 2);
        ledger.schedule_retry(b, 5_000, "read-only").unwrap();
        let due: Vec<_> = ledger
            .due_retries(1_500)
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(due, vec![a]);
        assert_eq!(ledger.next_retry_at().unwrap(), Some(1_000));
    }
}
