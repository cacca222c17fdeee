//! The job ledger: records every job's claim, progress and outcome, so a restart or a
//! crash never loses, repeats or half-does one. It is one SQLite file in the state dir,
//! or, for a fleet of machines on one share (`[fleet] database`), a PostgreSQL database
//! they all use ([`db`] holds the two behind one interface; the queries here are written
//! once for both).
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
//!
//! Every job belongs to a node (the machine's instance that claimed it) and its claim is
//! a lease: the node renews it while it runs ([`Ledger::heartbeat`]). On a shared ledger a
//! node whose leases lapse (killed, powered off, cut off) loses its jobs to the others
//! ([`Ledger::take_over`]), which resume them from the state recorded here; every state
//! change a node writes is fenced by its ownership, so a node that lost a job cannot
//! write it again. A single machine's SQLite ledger only ever holds its own node.

pub mod db;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use db::{Cell, Conn, DbError, Exec, Val};

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

/// Ledger errors stop the job (it resumes from its recorded state), never the daemon's
/// other work; at start-up they stop the daemon.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The database could not be opened, reached or written.
    #[error("job ledger {place}: {source}")]
    Db {
        /// The database file, or the server (without its password).
        place: String,
        /// What the database said.
        source: DbError,
    },
    /// Another node took this job over (this one's lease had lapsed): this node must
    /// leave it alone.
    #[error("job {id} was taken over by node {by} after this node's lease lapsed")]
    LeaseLost {
        /// The job.
        id: JobId,
        /// Who has it now.
        by: String,
    },
}

impl LedgerError {
    /// The shared database is out of reach (not a bad statement): work waits for it.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, LedgerError::Db { source, .. } if source.is_unreachable())
    }
}

/// Where a ledger lives.
#[derive(Debug, Clone, Copy)]
pub enum Store<'a> {
    /// One SQLite file: one machine's own ledger.
    File(&'a Path),
    /// A PostgreSQL database shared by a fleet, with this machine's node name and the
    /// lease its claims hold between two heartbeats.
    Shared {
        url: &'a str,
        node: &'a str,
        lease: Duration,
    },
}

/// One node of the fleet as the shared ledger has it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeRow {
    /// The node's name (also its staging folder's).
    pub node: String,
    /// The machine.
    pub host: String,
    /// realskin's version there.
    pub version: String,
    /// Images it processes at once.
    pub workers: u32,
    /// What it can run beyond the built-in stages (ONNX models, devices).
    pub capabilities: Vec<String>,
    /// Unix ms.
    pub started_at: i64,
    /// Unix ms of its last heartbeat.
    pub heartbeat_at: i64,
    /// Unix ms of its clean stop, if it stopped.
    pub stopped_at: Option<i64>,
    /// Jobs it holds now (not finished).
    pub current_jobs: u64,
    /// Jobs it finished with an output, and that failed.
    pub processed: u64,
    pub failed: u64,
}

/// The job database. Cheap to share: every call takes a short lock.
pub struct Ledger {
    conn: Mutex<Conn>,
    place: String,
    path: Option<PathBuf>,
    instance: String,
    lease_ms: i64,
    /// What this node can run beyond the built-in stages, as `,tag,tag,` (set by
    /// [`Ledger::register_node`]).
    caps: Mutex<String>,
    /// The hotfolders this node runs, as `,name,name,`: it takes over only their jobs.
    folders: Mutex<String>,
}

const COLUMNS: &str = "id, hotfolder, rel_path, original_path, staged_path, size, hash, state, attempts, \
     next_attempt_at, output_path, report_path, final_path, outcome, error, created_at, updated_at, finished_at, \
     crashes";

/// The lease a single machine's claims carry (nobody else can take them; it only shows
/// in the table).
const LOCAL_LEASE: Duration = Duration::from_secs(60);

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

/// A connection string without its password, for messages.
pub fn redacted(url: &str) -> String {
    match url.parse::<postgres::Config>() {
        Ok(c) => {
            let host = c
                .get_hosts()
                .first()
                .map(|h| match h {
                    postgres::config::Host::Tcp(s) => s.clone(),
                    #[cfg(unix)]
                    postgres::config::Host::Unix(p) => p.display().to_string(),
                })
                .unwrap_or_default();
            format!(
                "postgres://{}@{}/{}",
                c.get_user().unwrap_or(""),
                host,
                c.get_dbname().unwrap_or("")
            )
        }
        Err(_) => "postgres://(unreadable connection string)".into(),
    }
}

impl Ledger {
    /// Opens (or creates) a single machine's ledger at `path`.
    pub fn open(path: &Path) -> Result<Self, LedgerError> {
        Self::open_store(Store::File(path))
    }

    /// Opens the ledger where `store` says, bringing its schema up to date.
    pub fn open_store(store: Store) -> Result<Self, LedgerError> {
        match store {
            Store::File(path) => {
                let place = path.display().to_string();
                let wrap = |source| LedgerError::Db {
                    place: place.clone(),
                    source,
                };
                let mut conn = db::open_sqlite(path).map_err(wrap)?;
                let instance = conn
                    .with(|c| {
                        let found = c
                            .value("SELECT value FROM meta WHERE key = 'instance'", &[])?
                            .text()
                            .map(str::to_owned);
                        let instance = match found {
                            Some(i) => i,
                            None => {
                                let i = new_instance_id(path);
                                c.exec(
                                    "INSERT INTO meta (key, value) VALUES ('instance', ?1)",
                                    &[Val::Text(&i)],
                                )?;
                                i
                            }
                        };
                        // Jobs from before nodes were recorded are this machine's.
                        c.exec(
                            "UPDATE jobs SET node = ?1 WHERE node = ''",
                            &[Val::Text(&instance)],
                        )?;
                        Ok(instance)
                    })
                    .map_err(wrap)?;
                Ok(Self {
                    conn: Mutex::new(conn),
                    place,
                    path: Some(path.to_path_buf()),
                    instance,
                    lease_ms: LOCAL_LEASE.as_millis() as i64,
                    caps: Mutex::new(",".into()),
                    folders: Mutex::new(",".into()),
                })
            }
            Store::Shared { url, node, lease } => {
                let place = redacted(url);
                let conn = db::open_postgres(url, Duration::from_secs(5)).map_err(|source| {
                    LedgerError::Db {
                        place: place.clone(),
                        source,
                    }
                })?;
                Ok(Self {
                    conn: Mutex::new(conn),
                    place,
                    path: None,
                    instance: node.to_string(),
                    lease_ms: lease.as_millis() as i64,
                    caps: Mutex::new(",".into()),
                    folders: Mutex::new(",".into()),
                })
            }
        }
    }

    /// This node's name: a single machine's ledger id, or the node's name in a fleet. It
    /// names the staging folder, so two daemons sharing a folder never resume each other's
    /// jobs except by taking over a lapsed lease.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The database file (none for a shared ledger).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The database, for messages: the file, or the server without its password.
    pub fn place(&self) -> &str {
        &self.place
    }

    /// Whether other nodes share this ledger.
    pub fn is_shared(&self) -> bool {
        self.path.is_none()
    }

    /// The database's own clock in Unix ms, as SQL: every lease is measured by it, so the
    /// machines of a fleet need not agree on the time.
    fn clock(&self) -> &'static str {
        if self.is_shared() {
            "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
        } else {
            "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"
        }
    }

    /// The database's time (Unix ms): what the nodes' heartbeats are measured against.
    pub fn now(&self) -> Result<i64, LedgerError> {
        let sql = format!("SELECT {}", self.clock());
        self.with(|c| Ok(c.value(&sql, &[])?.int().unwrap_or_else(now_ms)))
    }

    /// Before this node works on job `id` (a new claim, a resume, a take-over, a job parked
    /// while the database was away): renews its lease, and fails with
    /// [`LedgerError::LeaseLost`] when another node holds it now, so this one leaves the
    /// job's files alone. `Ok` also when the job is gone (the caller finds out). A single
    /// machine's ledger has nobody to lose a job to: nothing is written.
    pub fn hold(&self, id: JobId) -> Result<(), LedgerError> {
        if !self.is_shared() {
            return Ok(());
        }
        let sql = format!("UPDATE jobs SET lease_until = {} + ?1", self.clock());
        self.fenced(id, &sql, &[Val::Int(self.lease_ms)])
    }

    fn wrap(&self, source: DbError) -> LedgerError {
        LedgerError::Db {
            place: self.place.clone(),
            source,
        }
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut dyn Exec) -> Result<T, DbError>,
    ) -> Result<T, LedgerError> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.with(f).map_err(|e| self.wrap(e))
    }

    fn atomically<T>(
        &self,
        f: impl FnOnce(&mut dyn Exec) -> Result<T, DbError>,
    ) -> Result<T, LedgerError> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.atomically(f).map_err(|e| self.wrap(e))
    }

    /// Runs one fenced update of job `id`: the statement's last placeholder after the
    /// given ones is the job id and the one after it this node, and it must change the
    /// row. When it changes nothing, the job is another node's now (or gone).
    fn fenced(&self, id: JobId, sql: &str, params: &[Val]) -> Result<(), LedgerError> {
        let n = params.len();
        let sql = format!("{sql} WHERE id = ?{} AND node = ?{}", n + 1, n + 2);
        let mut all = params.to_vec();
        all.push(Val::Int(id));
        all.push(Val::Text(&self.instance));
        let changed = self.with(|c| c.exec(&sql, &all))?;
        if changed > 0 {
            return Ok(());
        }
        match self.owner(id)? {
            Some(by) if by != self.instance => Err(LedgerError::LeaseLost { id, by }),
            // The row is gone (an abandoned claim) or unchanged: nothing to fence.
            _ => Ok(()),
        }
    }

    /// Records the intent to claim `original`; returns the job id and the staging path
    /// it must be renamed to (`<staging_root>/<id>/<rel_path>`). `needs` is the capability
    /// its stages need beyond the built-in ones (an ONNX model, a device; empty: none):
    /// only a node that has it takes the job over.
    pub fn begin_claim(
        &self,
        hotfolder: &str,
        rel_path: &Path,
        original: &Path,
        staging_root: &Path,
        needs: &str,
    ) -> Result<(JobId, PathBuf), LedgerError> {
        let (rel, orig) = (path_text(rel_path), path_text(original));
        let sql = format!(
            "INSERT INTO jobs (hotfolder, rel_path, original_path, state, created_at, updated_at, node, lease_until, needs)
             VALUES (?1, ?2, ?3, 'claiming', ?4, ?4, ?5, {} + ?6, ?7) RETURNING id",
            self.clock()
        );
        self.atomically(|c| {
            let now = now_ms();
            let id = c
                .value(
                    &sql,
                    &[
                        Val::Text(hotfolder),
                        Val::Text(&rel),
                        Val::Text(&orig),
                        Val::Int(now),
                        Val::Text(&self.instance),
                        Val::Int(self.lease_ms),
                        Val::Text(needs),
                    ],
                )?
                .int()
                .unwrap_or_default();
            let staged = staging_root.join(id.to_string()).join(rel_path);
            c.exec(
                "UPDATE jobs SET staged_path = ?1 WHERE id = ?2",
                &[Val::Text(&path_text(&staged)), Val::Int(id)],
            )?;
            Ok((id, staged))
        })
    }

    /// The rename failed because the file was gone (another daemon took it): forget it.
    pub fn abandon_claim(&self, id: JobId) -> Result<(), LedgerError> {
        self.with(|c| {
            c.exec(
                "DELETE FROM jobs WHERE id = ?1 AND state = 'claiming' AND node = ?2",
                &[Val::Int(id), Val::Text(&self.instance)],
            )
            .map(drop)
        })
    }

    /// The original is in staging: record its size and content hash.
    pub fn claimed(&self, id: JobId, size: u64, hash: &str) -> Result<(), LedgerError> {
        self.fenced(
            id,
            "UPDATE jobs SET state = 'claimed', size = ?1, hash = ?2, updated_at = ?3",
            &[Val::Int(size as i64), Val::Text(hash), Val::Int(now_ms())],
        )
    }

    /// Records the output's final name before it is written.
    pub fn set_output(&self, id: JobId, output: &Path) -> Result<(), LedgerError> {
        self.fenced(
            id,
            "UPDATE jobs SET output_path = ?1, updated_at = ?2",
            &[Val::Text(&path_text(output)), Val::Int(now_ms())],
        )
    }

    /// Records the report's path before it is written.
    pub fn set_report(&self, id: JobId, report: &Path) -> Result<(), LedgerError> {
        self.fenced(
            id,
            "UPDATE jobs SET report_path = ?1, updated_at = ?2",
            &[Val::Text(&path_text(report)), Val::Int(now_ms())],
        )
    }

    /// Moves a job to a non-terminal state.
    pub fn advance(&self, id: JobId, state: JobState) -> Result<(), LedgerError> {
        self.fenced(
            id,
            "UPDATE jobs SET state = ?1, updated_at = ?2",
            &[Val::Text(state.as_str()), Val::Int(now_ms())],
        )
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
        let fin = planned_final.map(path_text);
        self.fenced(
            id,
            "UPDATE jobs SET state = 'reported', outcome = ?1, final_path = ?2, error = ?3, updated_at = ?4",
            &[
                Val::Text(outcome.as_str()),
                fin.as_deref().into(),
                error.into(),
                Val::Int(now_ms()),
            ],
        )
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
            c.exec(
                "INSERT INTO kept (path, size, mtime_ns, job) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, job = excluded.job",
                &[
                    Val::Text(&path_text(path)),
                    Val::Int(size as i64),
                    Val::Int(mtime_ns),
                    Val::Int(job),
                ],
            )
            .map(drop)
        })
    }

    /// Whether this exact file (path, size, time) is an original kept after success.
    pub fn is_kept(&self, path: &Path, size: u64, mtime_ns: i64) -> Result<bool, LedgerError> {
        self.with(|c| {
            Ok(c.value(
                "SELECT COUNT(*) FROM kept WHERE path = ?1 AND size = ?2 AND mtime_ns = ?3",
                &[
                    Val::Text(&path_text(path)),
                    Val::Int(size as i64),
                    Val::Int(mtime_ns),
                ],
            )?
            .int()
                > Some(0))
        })
    }

    /// A destination failed: try again at `next_at` (Unix ms). Returns the tries so far.
    pub fn schedule_retry(&self, id: JobId, next_at: i64, error: &str) -> Result<u32, LedgerError> {
        self.fenced(
            id,
            "UPDATE jobs SET state = 'retry', attempts = attempts + 1, next_attempt_at = ?1, error = ?2, updated_at = ?3",
            &[Val::Int(next_at), Val::Text(error), Val::Int(now_ms())],
        )?;
        self.with(|c| {
            Ok(
                c.value("SELECT attempts FROM jobs WHERE id = ?1", &[Val::Int(id)])?
                    .int()
                    .unwrap_or(0) as u32,
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
        let fin = final_path.map(path_text);
        let now = now_ms();
        self.fenced(
            id,
            "UPDATE jobs SET state = ?1, outcome = ?2, final_path = ?3, error = ?4,
             next_attempt_at = NULL, updated_at = ?5, finished_at = ?5, lease_until = NULL",
            &[
                Val::Text(state.as_str()),
                Val::Text(outcome.as_str()),
                fin.as_deref().into(),
                error.into(),
                Val::Int(now),
            ],
        )
    }

    /// One job.
    pub fn get(&self, id: JobId) -> Result<Option<JobRow>, LedgerError> {
        self.one(
            &format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"),
            &[Val::Int(id)],
        )
    }

    /// The node that holds job `id` now.
    pub fn owner(&self, id: JobId) -> Result<Option<String>, LedgerError> {
        self.with(|c| {
            Ok(
                c.value("SELECT node FROM jobs WHERE id = ?1", &[Val::Int(id)])?
                    .text()
                    .map(str::to_owned),
            )
        })
    }

    /// The job's picture is being rendered: if the process dies now, the next start counts
    /// it as a crash during this job (see [`Ledger::count_crashes`]).
    pub fn begin_render(&self, id: JobId) -> Result<(), LedgerError> {
        self.fenced(id, "UPDATE jobs SET rendering = 1", &[])
    }

    /// The render returned (either way): the job did not take the process down, so its
    /// run of crashes ends.
    pub fn end_render(&self, id: JobId) -> Result<(), LedgerError> {
        self.fenced(id, "UPDATE jobs SET rendering = 0, crashes = 0", &[])
    }

    /// At start-up: every job of this node that was rendering when the last run ended was
    /// in flight at a crash (a clean stop clears the mark with [`Ledger::stopped_cleanly`]).
    /// A job that was rendering alone gets one more crash; jobs that were rendering side by
    /// side are each marked a suspect (at least one crash) but not counted further, since a
    /// kill or power cut takes every job in flight down with it and says nothing about
    /// which one was to blame. Suspects are resumed alone, so a file that really brings the
    /// process down does it again with nothing beside it. Returns how many jobs were in
    /// flight.
    pub fn count_crashes(&self) -> Result<usize, LedgerError> {
        let me = Val::Text(&self.instance);
        self.atomically(|c| {
            let in_flight = c
                .value(
                    "SELECT COUNT(*) FROM jobs WHERE rendering = 1 AND node = ?1",
                    &[me],
                )?
                .int()
                .unwrap_or(0);
            let sql = if in_flight == 1 {
                "UPDATE jobs SET crashes = crashes + 1, rendering = 0 WHERE rendering = 1 AND node = ?1"
            } else {
                "UPDATE jobs SET crashes = CASE WHEN crashes < 1 THEN 1 ELSE crashes END, rendering = 0
                 WHERE rendering = 1 AND node = ?1"
            };
            Ok(c.exec(sql, &[me])? as usize)
        })
    }

    /// At a clean stop: renders cut short by the stop were not crashes.
    pub fn stopped_cleanly(&self) -> Result<(), LedgerError> {
        let (me, shared) = (Val::Text(&self.instance), self.is_shared());
        let stop = format!(
            "UPDATE nodes SET stopped_at = {0}, heartbeat_at = {0} WHERE node = ?1",
            self.clock()
        );
        self.with(|c| {
            c.exec(
                "UPDATE jobs SET rendering = 0 WHERE rendering = 1 AND node = ?1",
                &[me],
            )?;
            // A single machine's ledger has no node table.
            if shared {
                c.exec(&stop, &[me])?;
            }
            Ok(())
        })
    }

    /// This node's jobs not finished, oldest first: what a restart must resume.
    pub fn unfinished(&self) -> Result<Vec<JobRow>, LedgerError> {
        self.query(
            &format!(
                "SELECT {COLUMNS} FROM jobs WHERE state NOT IN ('done', 'failed') AND node = ?1 ORDER BY id"
            ),
            &[Val::Text(&self.instance)],
        )
    }

    /// This node's `retry` jobs due at `now` (Unix ms).
    pub fn due_retries(&self, now: i64) -> Result<Vec<JobRow>, LedgerError> {
        self.query(
            &format!(
                "SELECT {COLUMNS} FROM jobs WHERE state = 'retry' AND next_attempt_at <= ?1 AND node = ?2
                 ORDER BY next_attempt_at"
            ),
            &[Val::Int(now), Val::Text(&self.instance)],
        )
    }

    /// When this node's next `retry` job is due.
    pub fn next_retry_at(&self) -> Result<Option<i64>, LedgerError> {
        self.with(|c| {
            Ok(c.value(
                "SELECT MIN(next_attempt_at) FROM jobs WHERE state = 'retry' AND node = ?1",
                &[Val::Text(&self.instance)],
            )?
            .int())
        })
    }

    /// Renews the lease of every job this node holds, and (on a shared ledger) the node's
    /// own heartbeat. Returns how many jobs it holds.
    pub fn heartbeat(&self) -> Result<u64, LedgerError> {
        let (me, lease) = (Val::Text(&self.instance), Val::Int(self.lease_ms));
        let shared = self.is_shared();
        let renew = format!(
            "UPDATE jobs SET lease_until = {} + ?2 WHERE node = ?1 AND state NOT IN ('done', 'failed')",
            self.clock()
        );
        let beat = format!(
            "UPDATE nodes SET heartbeat_at = {}, stopped_at = NULL WHERE node = ?1",
            self.clock()
        );
        self.with(|c| {
            let held = c.exec(&renew, &[me, lease])?;
            if shared {
                c.exec(&beat, &[me])?;
            }
            Ok(held)
        })
    }

    /// On a shared ledger: takes over up to `limit` unfinished jobs whose node let its
    /// lease lapse, oldest first, skipping any another node is taking at the same moment
    /// (`FOR UPDATE SKIP LOCKED`). A job that was rendering when its node died is marked a
    /// suspect, as after a crash here, and resumed alone. Only jobs whose `needs` this node
    /// has (see [`Ledger::register_node`]) are taken. Returns the jobs now this node's, each
    /// with the node it came from. A single machine's ledger has nobody to take from.
    pub fn take_over(&self, limit: u32) -> Result<Vec<(JobId, String)>, LedgerError> {
        if !self.is_shared() || limit == 0 {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let caps = self.caps.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let folders = self
            .folders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let lapsed_sql = format!(
            "SELECT id, node FROM jobs
             WHERE state NOT IN ('done', 'failed') AND node <> ?1 AND lease_until < {}
             AND (needs = '' OR strpos(?3, ',' || needs || ',') > 0)
             AND strpos(?4, ',' || hotfolder || ',') > 0
             ORDER BY id LIMIT ?2 FOR UPDATE SKIP LOCKED",
            self.clock()
        );
        let take_sql = format!(
            "UPDATE jobs SET node = ?1, lease_until = {} + ?2, updated_at = ?3, rendering = 0,
             crashes = CASE WHEN rendering = 1 AND crashes < 1 THEN 1 ELSE crashes END
             WHERE id = ?4",
            self.clock()
        );
        let rows = self.atomically(|c| {
            let lapsed = c.rows(
                &lapsed_sql,
                &[
                    Val::Text(&self.instance),
                    Val::Int(limit.into()),
                    Val::Text(&caps),
                    Val::Text(&folders),
                ],
            )?;
            let mut taken = Vec::with_capacity(lapsed.len());
            for row in lapsed {
                let (Some(id), Some(from)) = (row[0].int(), row[1].text()) else {
                    continue;
                };
                c.exec(
                    &take_sql,
                    &[
                        Val::Text(&self.instance),
                        Val::Int(self.lease_ms),
                        Val::Int(now),
                        Val::Int(id),
                    ],
                )?;
                taken.push((id, from.to_string()));
            }
            Ok(taken)
        })?;
        Ok(rows)
    }

    /// On a shared ledger: announces this node (at start-up): its machine, version, workers
    /// and what it can run (tags without commas), which also decides the jobs
    /// [`Ledger::take_over`] may take.
    pub fn register_node(
        &self,
        host: &str,
        workers: usize,
        capabilities: &[String],
        hotfolders: &[String],
    ) -> Result<(), LedgerError> {
        *self.caps.lock().unwrap_or_else(|p| p.into_inner()) =
            format!(",{},", capabilities.join(","));
        *self.folders.lock().unwrap_or_else(|p| p.into_inner()) =
            format!(",{},", hotfolders.join(","));
        if !self.is_shared() {
            return Ok(());
        }
        let now = now_ms();
        let caps = capabilities.join(",");
        let sql = format!(
            "INSERT INTO nodes (node, host, version, workers, capabilities, started_at, heartbeat_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, {})
             ON CONFLICT (node) DO UPDATE SET host = excluded.host, version = excluded.version,
             workers = excluded.workers, capabilities = excluded.capabilities,
             started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, stopped_at = NULL",
            self.clock()
        );
        self.with(|c| {
            c.exec(
                &sql,
                &[
                    Val::Text(&self.instance),
                    Val::Text(host),
                    Val::Text(env!("CARGO_PKG_VERSION")),
                    Val::Int(workers as i64),
                    Val::Text(&caps),
                    Val::Int(now),
                ],
            )
            .map(drop)
        })
    }

    /// Every node of the fleet with its jobs and totals (empty on a single machine's ledger).
    pub fn fleet(&self) -> Result<Vec<NodeRow>, LedgerError> {
        if !self.is_shared() {
            return Ok(Vec::new());
        }
        let rows = self.with(|c| {
            c.rows(
                "SELECT n.node, n.host, n.version, n.workers, n.capabilities, n.started_at, n.heartbeat_at,
                        n.stopped_at,
                        (SELECT COUNT(*) FROM jobs j WHERE j.node = n.node AND j.state NOT IN ('done', 'failed')),
                        (SELECT COUNT(*) FROM jobs j WHERE j.node = n.node AND j.outcome = 'processed'),
                        (SELECT COUNT(*) FROM jobs j WHERE j.node = n.node AND j.state = 'failed')
                 FROM nodes n ORDER BY n.node",
                &[],
            )
        })?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let int = |i: usize| r[i].int().unwrap_or(0);
                let text = |i: usize| r[i].text().unwrap_or("").to_string();
                NodeRow {
                    node: text(0),
                    host: text(1),
                    version: text(2),
                    workers: int(3) as u32,
                    capabilities: text(4)
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    started_at: int(5),
                    heartbeat_at: int(6),
                    stopped_at: r[7].int(),
                    current_jobs: int(8) as u64,
                    processed: int(9) as u64,
                    failed: int(10) as u64,
                }
            })
            .collect())
    }

    /// The earliest successful job with this content in this hotfolder, other than `except`.
    pub fn processed_with_hash(
        &self,
        hotfolder: &str,
        hash: &str,
        except: JobId,
    ) -> Result<Option<JobRow>, LedgerError> {
        self.one(
            &format!(
                "SELECT {COLUMNS} FROM jobs WHERE hash = ?1 AND hotfolder = ?2 AND state = 'done'
                 AND outcome = 'processed' AND id <> ?3 ORDER BY id LIMIT 1"
            ),
            &[Val::Text(hash), Val::Text(hotfolder), Val::Int(except)],
        )
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
            &[
                Val::Text(hotfolder),
                Val::Int(from),
                Val::Int(to),
                Val::Int(limit.into()),
            ],
        )
    }

    /// How many jobs of one hotfolder finished in [from, to), by outcome.
    pub fn outcomes_between(
        &self,
        hotfolder: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<(Outcome, u64)>, LedgerError> {
        let rows = self.with(|c| {
            c.rows(
                "SELECT COALESCE(outcome, 'failed'), COUNT(*) FROM jobs
                 WHERE hotfolder = ?1 AND finished_at >= ?2 AND finished_at < ?3 GROUP BY 1",
                &[Val::Text(hotfolder), Val::Int(from), Val::Int(to)],
            )
        })?;
        // A word this version does not write counts as failed, like a missing one.
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r[0].text()
                        .and_then(Outcome::parse)
                        .unwrap_or(Outcome::Failed),
                    r[1].int().unwrap_or(0) as u64,
                )
            })
            .collect())
    }

    /// The most recent jobs, newest first: this node's, on a shared ledger (their previews
    /// are in this machine's state folder; the fleet's view is [`Ledger::fleet`]).
    pub fn recent(&self, limit: u32, offset: u32) -> Result<Vec<JobRow>, LedgerError> {
        self.query(
            &format!(
                "SELECT {COLUMNS} FROM jobs WHERE (?3 = 0 OR node = ?4) ORDER BY id DESC LIMIT ?1 OFFSET ?2"
            ),
            &[
                Val::Int(limit.into()),
                Val::Int(offset.into()),
                Val::Int(self.is_shared().into()),
                Val::Text(&self.instance),
            ],
        )
    }

    /// Finished jobs by outcome (`processed`, `failed`, ...): this node's, on a shared
    /// ledger (each node's metrics count its own).
    pub fn outcome_counts(&self) -> Result<Vec<(String, u64)>, LedgerError> {
        let rows = self.with(|c| {
            c.rows(
                "SELECT outcome, COUNT(*) FROM jobs WHERE outcome IS NOT NULL AND (?1 = 0 OR node = ?2)
                 GROUP BY outcome ORDER BY outcome",
                &[Val::Int(self.is_shared().into()), Val::Text(&self.instance)],
            )
        })?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r[0].text().unwrap_or("").to_string(),
                    r[1].int().unwrap_or(0) as u64,
                )
            })
            .collect())
    }

    fn query(&self, sql: &str, params: &[Val]) -> Result<Vec<JobRow>, LedgerError> {
        let rows = self.with(|c| c.rows(sql, params))?;
        Ok(rows.iter().map(|r| row(r)).collect())
    }

    fn one(&self, sql: &str, params: &[Val]) -> Result<Option<JobRow>, LedgerError> {
        let r = self.with(|c| c.row(sql, params))?;
        Ok(r.as_deref().map(row))
    }
}

/// A job from its [`COLUMNS`].
fn row(r: &[Cell]) -> JobRow {
    let int = |i: usize| r[i].int();
    let text = |i: usize| r[i].text().unwrap_or("").to_string();
    let path = |i: usize| r[i].text().map(PathBuf::from);
    JobRow {
        id: int(0).unwrap_or(0),
        hotfolder: text(1),
        rel_path: PathBuf::from(text(2)),
        original_path: PathBuf::from(text(3)),
        staged_path: PathBuf::from(text(4)),
        size: int(5).map(|s| s as u64),
        hash: r[6].text().map(str::to_owned),
        state: JobState::parse(&text(7)),
        attempts: int(8).unwrap_or(0) as u32,
        next_attempt_at: int(9),
        output_path: path(10),
        report_path: path(11),
        final_path: path(12),
        outcome: r[13].text().and_then(Outcome::parse),
        error: r[14].text().map(str::to_owned),
        created_at: int(15).unwrap_or(0),
        updated_at: int(16).unwrap_or(0),
        finished_at: int(17),
        crashes: int(18).unwrap_or(0) as u32,
    }
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

/// The tests' throwaway PostgreSQL cluster (shared with the integration tests).
#[cfg(test)]
#[path = "../../tests/common/postgres.rs"]
mod test_pg;

#[cfg(test)]
mod tests {
    use super::*;
    use test_pg as pg;

    /// A fresh ledger in each store this machine has: a SQLite file, and a database in
    /// the test cluster where PostgreSQL is installed.
    fn fresh_ledgers(dir: &Path, node: &str) -> Vec<Ledger> {
        let mut out = vec![Ledger::open(&dir.join("ledger.sqlite")).unwrap()];
        if let Some(c) = pg::cluster() {
            let url = c.fresh_database();
            out.push(shared(&url, node));
        }
        out
    }

    /// A node of a shared ledger with a 300 ms lease, running the hotfolder "default".
    fn shared(url: &str, node: &str) -> Ledger {
        shared_leasing(url, node, Duration::from_millis(300))
    }

    fn shared_leasing(url: &str, node: &str, lease: Duration) -> Ledger {
        let l = Ledger::open_store(Store::Shared { url, node, lease }).unwrap();
        l.register_node("test-host", 1, &[], &["default".into()])
            .unwrap();
        l
    }

    #[test]
    fn a_crash_beside_other_renders_marks_a_suspect_and_only_a_crash_alone_counts_again() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ledger.sqlite");
        let ledger = Ledger::open(&db).unwrap();
        let a = claim(&ledger, "a.png");
        let b = claim(&ledger, "b.png");
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
        let id = claim(&ledger, "a.png");
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
            // Version 1 as realskin wrote it: no recorded version, no crash columns.
            let c = rusqlite::Connection::open(&db).unwrap();
            c.execute_batch(db::SQLITE_MIGRATIONS[0]).unwrap();
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
        let id = claim(&ledger, "a.png");
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
            .with(|c| {
                c.exec(
                    "UPDATE jobs SET outcome = 'exploded' WHERE id = ?1",
                    &[Val::Int(id)],
                )
            })
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
                "",
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
            .begin_claim("h", Path::new("a"), Path::new("/a"), Path::new("/s"), "")
            .unwrap();
        let (b, _) = ledger
            .begin_claim("h", Path::new("b"), Path::new("/b"), Path::new("/s"), "")
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

    fn claim(l: &Ledger, name: &str) -> JobId {
        claim_needing(l, name, "")
    }

    fn claim_needing(l: &Ledger, name: &str, needs: &str) -> JobId {
        l.begin_claim(
            "default",
            Path::new(name),
            &Path::new("/in").join(name),
            &Path::new("/in/.realskin/processing").join(l.instance()),
            needs,
        )
        .unwrap()
        .0
    }

    #[test]
    fn both_stores_keep_the_same_job_story() {
        let dir = tempfile::tempdir().unwrap();
        for l in fresh_ledgers(dir.path(), "n1") {
            let id = claim(&l, "a.png");
            let row = l.get(id).unwrap().unwrap();
            assert_eq!(row.state, JobState::Claiming, "{}", l.place());
            assert_eq!(
                row.staged_path,
                PathBuf::from(format!(
                    "/in/.realskin/processing/{}/{id}/a.png",
                    l.instance()
                ))
            );
            l.claimed(id, 12, "h1").unwrap();
            l.set_output(id, Path::new("/out/a.png")).unwrap();
            l.advance(id, JobState::Written).unwrap();
            l.set_report(id, Path::new("/rep/a.json")).unwrap();
            l.reported(id, Outcome::Processed, Some(Path::new("/done/a.png")), None)
                .unwrap();
            assert_eq!(l.heartbeat().unwrap(), 1);
            l.finish(
                id,
                JobState::Done,
                Outcome::Processed,
                Some(Path::new("/done/a.png")),
                None,
            )
            .unwrap();
            let row = l.get(id).unwrap().unwrap();
            assert_eq!(
                (row.state, row.outcome, row.size, row.hash.as_deref()),
                (
                    JobState::Done,
                    Some(Outcome::Processed),
                    Some(12),
                    Some("h1")
                )
            );
            assert_eq!(row.output_path.as_deref(), Some(Path::new("/out/a.png")));
            assert!(l.unfinished().unwrap().is_empty());
            assert_eq!(l.heartbeat().unwrap(), 0);
            // Retries, kept originals, counts and pages read the same in both.
            let b = claim(&l, "b.png");
            assert_eq!(l.schedule_retry(b, 5_000, "disk full").unwrap(), 1);
            assert_eq!(l.schedule_retry(b, 4_000, "disk full").unwrap(), 2);
            assert_eq!(l.next_retry_at().unwrap(), Some(4_000));
            assert_eq!(
                l.due_retries(4_500)
                    .unwrap()
                    .iter()
                    .map(|r| r.id)
                    .collect::<Vec<_>>(),
                vec![b]
            );
            l.record_kept(Path::new("/in/k.png"), 3, 7, b).unwrap();
            l.record_kept(Path::new("/in/k.png"), 4, 8, b).unwrap();
            assert!(l.is_kept(Path::new("/in/k.png"), 4, 8).unwrap());
            assert!(!l.is_kept(Path::new("/in/k.png"), 3, 7).unwrap());
            assert_eq!(
                l.outcome_counts().unwrap(),
                vec![("processed".to_string(), 1)]
            );
            let recent: Vec<_> = l.recent(10, 0).unwrap().iter().map(|r| r.id).collect();
            assert_eq!(recent, vec![b, id]);
            assert_eq!(
                l.processed_with_hash("default", "h1", -1)
                    .unwrap()
                    .map(|r| r.id),
                Some(id)
            );
            let c = claim(&l, "c.png");
            l.abandon_claim(c).unwrap();
            assert!(l.get(c).unwrap().is_none());
        }
    }

    #[test]
    fn a_lapsed_lease_passes_the_job_to_another_node_and_fences_the_first() {
        let Some(cluster) = pg::cluster() else { return };
        let url = cluster.fresh_database();
        let (n1, n2, n3) = (shared(&url, "n1"), shared(&url, "n2"), shared(&url, "n3"));
        let a = claim(&n1, "a.png");
        n1.claimed(a, 5, "ha").unwrap();
        n1.begin_render(a).unwrap();
        // While n1 renews its lease nobody can take the job.
        for _ in 0..4 {
            std::thread::sleep(Duration::from_millis(120));
            n1.heartbeat().unwrap();
            assert!(n2.take_over(10).unwrap().is_empty());
        }
        // n1 stops renewing (killed): after the lease the job is n2's, once.
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(n2.take_over(10).unwrap(), vec![(a, "n1".to_string())]);
        assert!(n3.take_over(10).unwrap().is_empty());
        assert_eq!(n2.owner(a).unwrap().as_deref(), Some("n2"));
        // It was rendering when n1 died: a suspect, resumed alone.
        assert_eq!(n2.get(a).unwrap().unwrap().crashes, 1);
        assert_eq!(
            n2.unfinished()
                .unwrap()
                .iter()
                .map(|r| r.id)
                .collect::<Vec<_>>(),
            vec![a]
        );
        assert!(n1.unfinished().unwrap().is_empty());
        // n1 comes back and tries to go on: it may not hold the job, and every write is refused.
        assert!(matches!(n1.hold(a), Err(LedgerError::LeaseLost { .. })));
        n2.hold(a).unwrap();
        match n1.advance(a, JobState::Written) {
            Err(LedgerError::LeaseLost { id, by }) => assert_eq!((id, by.as_str()), (a, "n2")),
            other => panic!("n1 wrote a job it lost: {other:?}"),
        }
        assert!(matches!(
            n1.finish(a, JobState::Done, Outcome::Processed, None, None),
            Err(LedgerError::LeaseLost { .. })
        ));
        assert_eq!(n2.get(a).unwrap().unwrap().state, JobState::Claimed);
        // n2 finishes it; the content is now known fleet-wide, for `on_duplicate`.
        n2.finish(a, JobState::Done, Outcome::Processed, None, None)
            .unwrap();
        assert_eq!(
            n3.processed_with_hash("default", "ha", -1)
                .unwrap()
                .map(|r| r.id),
            Some(a)
        );
    }

    #[test]
    fn nodes_taking_over_at_once_split_the_lapsed_jobs_without_overlap() {
        let Some(cluster) = pg::cluster() else { return };
        let url = cluster.fresh_database();
        let dead = shared(&url, "dead");
        let jobs: Vec<JobId> = (0..60).map(|i| claim(&dead, &format!("{i}.png"))).collect();
        std::thread::sleep(Duration::from_millis(400));
        let taken: Vec<Vec<JobId>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..3)
                .map(|k| {
                    let url = url.clone();
                    s.spawn(move || {
                        // Long leases: a slow machine must not see the takers' jobs lapse.
                        let l = shared_leasing(&url, &format!("live{k}"), Duration::from_secs(30));
                        let mut mine = Vec::new();
                        loop {
                            let got = l.take_over(7).unwrap();
                            if got.is_empty() {
                                break;
                            }
                            mine.extend(got.into_iter().map(|(id, _)| id));
                        }
                        mine
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut all: Vec<JobId> = taken.concat();
        all.sort();
        assert_eq!(all, jobs, "every lapsed job taken exactly once");
    }

    #[test]
    fn the_fleet_lists_every_node_with_its_work() {
        let Some(cluster) = pg::cluster() else { return };
        let url = cluster.fresh_database();
        let (n1, n2) = (shared(&url, "n1"), shared(&url, "n2"));
        n1.register_node("host-a", 2, &["onnx:x4".to_string()], &[])
            .unwrap();
        n2.register_node("host-b", 4, &[], &[]).unwrap();
        let a = claim(&n1, "a.png");
        let b = claim(&n1, "b.png");
        n1.finish(a, JobState::Done, Outcome::Processed, None, None)
            .unwrap();
        let c = claim(&n2, "c.png");
        n2.finish(c, JobState::Failed, Outcome::Failed, None, Some("bad"))
            .unwrap();
        n2.stopped_cleanly().unwrap();
        let fleet = n1.fleet().unwrap();
        assert_eq!(fleet.len(), 2);
        let (f1, f2) = (&fleet[0], &fleet[1]);
        assert_eq!(
            (
                f1.node.as_str(),
                f1.host.as_str(),
                f1.workers,
                f1.current_jobs,
                f1.processed,
                f1.failed
            ),
            ("n1", "host-a", 2, 1, 1, 0)
        );
        assert_eq!(f1.capabilities, vec!["onnx:x4".to_string()]);
        assert_eq!(f1.stopped_at, None);
        assert_eq!((f2.node.as_str(), f2.current_jobs, f2.failed), ("n2", 0, 1));
        assert!(f2.stopped_at.is_some());
        // Each node's own page of recent jobs and its own totals (its metrics).
        let mine: Vec<JobId> = n1.recent(10, 0).unwrap().iter().map(|r| r.id).collect();
        assert_eq!(mine, vec![b, a]);
        assert_eq!(n1.outcome_counts().unwrap(), vec![("processed".into(), 1)]);
        assert_eq!(n2.outcome_counts().unwrap(), vec![("failed".into(), 1)]);
        // A single machine's ledger has no fleet.
        let dir = tempfile::tempdir().unwrap();
        assert!(
            Ledger::open(&dir.path().join("l.sqlite"))
                .unwrap()
                .fleet()
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn nodes_starting_together_migrate_the_schema_once() {
        let Some(cluster) = pg::cluster() else { return };
        let url = cluster.fresh_database();
        std::thread::scope(|s| {
            for k in 0..4 {
                let url = url.clone();
                s.spawn(move || drop(shared(&url, &format!("n{k}"))));
            }
        });
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let versions: Vec<i64> = c
            .query("SELECT version FROM realskin_schema ORDER BY version", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(versions, (1..=db::PG_VERSION).collect::<Vec<_>>());
    }

    #[test]
    fn a_database_outage_reads_as_unreachable_and_the_ledger_reconnects() {
        let Some(cluster) = pg::own_cluster() else {
            return;
        };
        let url = cluster.fresh_database();
        let l = shared(&url, "n1");
        let a = claim(&l, "a.png");
        cluster.stop();
        let err = l.heartbeat().unwrap_err();
        assert!(err.is_unreachable(), "{err}");
        assert!(l.get(a).unwrap_err().is_unreachable());
        cluster.restart();
        assert_eq!(l.get(a).unwrap().unwrap().state, JobState::Claiming);
        assert_eq!(l.heartbeat().unwrap(), 1);
    }

    #[test]
    fn a_ledger_an_older_realskin_reopened_is_brought_up_to_date_again() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ledger.sqlite");
        let id = claim(&Ledger::open(&db).unwrap(), "a.png");
        // Version 2 of realskin writes its own version back and adds rows without a node.
        {
            let c = rusqlite::Connection::open(&db).unwrap();
            c.pragma_update(None, "user_version", 2).unwrap();
            c.execute(
                "INSERT INTO jobs (hotfolder, rel_path, original_path, state, created_at, updated_at) \
                 VALUES ('default', 'b.png', '/in/b.png', 'claimed', 1, 1)",
                [],
            )
            .unwrap();
        }
        let l = Ledger::open(&db).unwrap();
        let open: Vec<String> = l
            .unfinished()
            .unwrap()
            .iter()
            .map(|r| r.rel_path.display().to_string())
            .collect();
        assert_eq!(open, vec!["a.png", "b.png"]);
        assert_eq!(l.owner(id).unwrap().as_deref(), Some(l.instance()));
    }

    #[test]
    fn only_a_node_with_what_a_job_needs_takes_it_over() {
        let Some(cluster) = pg::cluster() else { return };
        let url = cluster.fresh_database();
        let (dead, cpu, gpu) = (
            shared(&url, "dead"),
            shared(&url, "cpu"),
            shared(&url, "gpu"),
        );
        cpu.register_node("cpu-box", 2, &[], &["default".into()])
            .unwrap();
        gpu.register_node(
            "gpu-box",
            2,
            &["onnx:realesr-x4:cuda".into()],
            &["default".into()],
        )
        .unwrap();
        let plain = claim(&dead, "plain.png");
        let model = claim_needing(&dead, "model.png", "onnx:realesr-x4:cuda");
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(
            cpu.take_over(10).unwrap(),
            vec![(plain, "dead".to_string())]
        );
        assert_eq!(
            gpu.take_over(10).unwrap(),
            vec![(model, "dead".to_string())]
        );
    }
}
