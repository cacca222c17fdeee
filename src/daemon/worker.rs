//! One job, from claim to finish, on a worker thread (never on the async executor).
//!
//! Each step is written to the ledger before the next can leave a trace, and each
//! step looks at the disk before acting, so a job resumed after a crash at any point
//! completes exactly once:
//!
//! 1. **claim**: ledger row, then rename the original into
//!    `<input>/.realskin/processing/<instance>/<job>/<relative path>`;
//! 2. **render**: decode → profile → plan → stages → encode (deterministic, so a
//!    resumed job renders the same bytes);
//! 3. **output**: name chosen and recorded, written atomically; an output already in
//!    place from before a crash is not written twice;
//! 4. **report**: written atomically, with where the original is about to go;
//! 5. **original**: moved to done/ (or kept, or deleted), or to failed/ with its
//!    `.error.txt`.
//!
//! An input problem fails the job for good. A destination problem (full disk,
//! read-only share) leaves the original in staging and schedules a retry.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{debug, error, info, warn};

use super::memory::MemoryBudget;
use super::steps::{
    DiskFacts, OriginalMove, OutputTarget, Step, finished_outcome, next_step, original_move,
    output_target,
};
use crate::config::{Config, HotfolderConfig, OnDuplicate, OnSuccess};
use crate::decode;
use crate::error::JobError;
use crate::job::{self, JobSettings};
use crate::ledger::{JobId, JobRow, JobState, Ledger, LedgerError, now_ms};
use crate::output::{self, encode::Encoded};
use crate::pipeline::millis;
use crate::report::previews::Previews;
use crate::report::{self, Outcome, Report};

/// Work for a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    /// A stable file in a hotfolder's input.
    New {
        /// Hotfolder index.
        hotfolder: usize,
        /// The file.
        path: PathBuf,
    },
    /// A job in the ledger to continue (after a crash, or a retry that is due).
    Resume {
        /// Its id.
        job: JobId,
    },
}

/// A finished job, for the scheduler's status and metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct JobDone {
    /// Its id.
    pub job: JobId,
    /// How it ended.
    pub outcome: Outcome,
    /// The file, relative to its hotfolder input.
    pub file: String,
    /// What went wrong, for a failed job.
    pub error: Option<String>,
    /// Seconds per stage and for the whole job (`total`), when the job ran here.
    pub seconds: Vec<(String, f64)>,
}

/// How a piece of work ended.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkResult {
    /// The job finished.
    Finished(JobDone),
    /// A destination failed; the job waits in staging.
    Retrying {
        /// Its id.
        job: JobId,
    },
    /// The file was gone or could not be claimed; nothing was done.
    NotClaimed,
    /// The ledger failed (or, in a fleet, the job was taken over by another node): the
    /// job stays as the ledger has it. A job this node still holds is parked: resumed when
    /// the fleet database is back, or at the next start.
    LedgerFailed {
        /// The job this node still holds, if one was claimed.
        parked: Option<JobId>,
        /// The fleet database was out of reach (intake pauses until it is back).
        unreachable: bool,
    },
}

/// What every worker shares.
pub struct WorkerCtx {
    /// The configuration.
    pub config: Arc<Config>,
    /// The job database.
    pub ledger: Arc<Ledger>,
    /// Memory planning.
    pub budget: Arc<MemoryBudget>,
    /// Keeps each hotfolder's daily index of reports up to date, off the jobs' path.
    pub index: super::index::IndexWriter,
}

impl WorkerCtx {
    /// Where a hotfolder's claimed files wait: `<input>/.realskin/processing/<instance>`.
    pub fn staging_root(&self, hf: &HotfolderConfig) -> PathBuf {
        staging_root(hf, self.ledger.instance())
    }

    fn hotfolder(&self, name: &str) -> Option<&HotfolderConfig> {
        self.config.hotfolder.iter().find(|h| h.name == name)
    }

    fn settings(&self, hf: &HotfolderConfig) -> JobSettings {
        JobSettings::for_hotfolder(hf, &self.config)
    }

    fn backoff(&self, attempts: u32) -> Duration {
        let base = self.config.daemon.retry_backoff.get();
        let max = self.config.daemon.retry_max_backoff.get();
        base.saturating_mul(1u32 << attempts.saturating_sub(1).min(16))
            .min(max)
    }
}

/// Crashes in a row during one file's render after which the file goes to failed/: one
/// crash may be bad luck (a kill, a power cut); a second one while the file was rendering
/// alone (a suspect is resumed alone, see [`crate::ledger::Ledger::count_crashes`]) means
/// the file itself brings the process down, and retrying it forever would stop every file
/// behind it.
pub const MAX_CRASHES: u32 = 2;

/// `<input>/.realskin/processing/<instance>`.
pub fn staging_root(hf: &HotfolderConfig, instance: &str) -> PathBuf {
    hf.input.join(".realskin").join("processing").join(instance)
}

/// Runs one piece of work to its end (or to its next retry).
pub fn run(ctx: &WorkerCtx, work: &Work) -> WorkResult {
    let mut job = None;
    let result = match work {
        Work::New { hotfolder, path } => match claim(ctx, *hotfolder, path) {
            Ok(Some(id)) => {
                job = Some(id);
                process(ctx, id)
            }
            Ok(None) => Ok(WorkResult::NotClaimed),
            Err(e) => Err(e),
        },
        Work::Resume { job: id } => {
            job = Some(*id);
            process(ctx, *id)
        }
    };
    result.unwrap_or_else(|e| match e {
        LedgerError::LeaseLost { id, ref by } => {
            warn!(job = id, node = %by, "Another machine of the fleet took this job over while this one could not renew its lease; leaving it to that machine");
            WorkResult::LedgerFailed {
                parked: None,
                unreachable: false,
            }
        }
        e if e.is_unreachable() => {
            match job {
                Some(id) => {
                    warn!(job = id, error = %e, "The fleet database cannot be reached; the job waits where it is and resumes when the database is back");
                }
                // Not claimed: the file stays in the input, listed again when the database is back.
                None => debug!(error = %e, "Not taking a file while the fleet database cannot be reached"),
            }
            WorkResult::LedgerFailed {
                parked: job,
                unreachable: true,
            }
        }
        e => {
            error!(error = %e, "The job ledger failed; the job will be resumed at next start");
            WorkResult::LedgerFailed {
                parked: None,
                unreachable: false,
            }
        }
    })
}

/// Moves the original into staging. `None` when it was gone (another daemon or a
/// person took it) or could not be moved.
fn claim(ctx: &WorkerCtx, hf_index: usize, path: &Path) -> Result<Option<JobId>, LedgerError> {
    let Some(hf) = ctx.config.hotfolder.get(hf_index) else {
        return Ok(None);
    };
    let rel = path.strip_prefix(&hf.input).unwrap_or(path);
    let (id, staged) =
        ctx.ledger
            .begin_claim(&hf.name, rel, path, &ctx.staging_root(hf), &hf.needs())?;
    let moved = staged
        .parent()
        .map_or(Ok(()), fs::create_dir_all)
        .and_then(|()| fs::rename(path, &staged));
    match moved {
        Ok(()) => Ok(Some(id)),
        Err(e) => {
            ctx.ledger.abandon_claim(id)?;
            remove_job_staging(ctx, hf, id);
            if e.kind() != std::io::ErrorKind::NotFound {
                warn!(hotfolder = %hf.name, file = %path.display(), error = %e,
                    "Could not claim the file; it stays where it is and is tried again at the next listing");
            }
            Ok(None)
        }
    }
}

fn process(ctx: &WorkerCtx, id: JobId) -> Result<WorkResult, LedgerError> {
    // In a fleet another machine may have taken the job over (this one's lease lapsed
    // while the database was away, or before this start): then its files are left alone.
    ctx.ledger.hold(id)?;
    let Some(row) = ctx.ledger.get(id)? else {
        return Ok(WorkResult::NotClaimed);
    };
    let hf = ctx.hotfolder(&row.hotfolder);
    let disk = DiskFacts {
        hotfolder_known: hf.is_some(),
        staged: row.staged_path.exists(),
    };
    match (next_step(&row, disk), hf) {
        (Step::Finished(outcome), _) => Ok(done(&row, outcome, row.error.clone())),
        (Step::DropClaim, _) => {
            ctx.ledger.abandon_claim(id)?;
            Ok(WorkResult::NotClaimed)
        }
        (Step::PlaceOriginal, Some(hf)) => place_original(ctx, hf, &row),
        (Step::Render, Some(hf)) => render_and_write(ctx, hf, row),
        (Step::PutBack | Step::PlaceOriginal | Step::Render, _) => orphan(ctx, &row),
    }
}

/// A job whose hotfolder was removed from the config: the original goes back to where
/// it was dropped, so nothing is lost.
fn orphan(ctx: &WorkerCtx, row: &JobRow) -> Result<WorkResult, LedgerError> {
    let back = if row.staged_path.exists() {
        output::move_file(&row.staged_path, &row.original_path).ok()
    } else {
        None
    };
    warn!(job = row.id, hotfolder = %row.hotfolder, file = %row.original_path.display(),
        "The job's hotfolder is no longer configured; its original was put back");
    let msg = "its hotfolder is no longer in the configuration";
    ctx.ledger.finish(
        row.id,
        JobState::Failed,
        Outcome::Failed,
        back.as_deref(),
        Some(msg),
    )?;
    Ok(done(row, Outcome::Failed, Some(msg.to_string())))
}

fn render_and_write(
    ctx: &WorkerCtx,
    hf: &HotfolderConfig,
    row: JobRow,
) -> Result<WorkResult, LedgerError> {
    let started = Instant::now();
    let id = row.id;
    debug!(job = id, hotfolder = %hf.name, file = %row.rel_path.display(), attempt = row.attempts + 1, "Processing");
    let mut report = Report::new(&row.original_path, &row.rel_path);
    report.job = Some(id);
    report.hotfolder = Some(hf.name.clone());
    report.attempts = row.attempts + 1;
    if row.crashes >= MAX_CRASHES {
        let err = JobError::input(
            "crashed",
            format!(
                "realskin stopped {} times in a row while working on this file, the last time with nothing else rendering beside it (a crash, or the system ran out of memory), so it was set aside to let the other files go on.",
                row.crashes
            ),
            "If the picture is very large, lower [upscale] max_output_megapixels or give the machine more memory, then drop it in again. If it keeps happening, send the file and the log to the realskin developers.",
        );
        return fail(ctx, hf, &row, report, err, started);
    }

    let t = Instant::now();
    let bytes = match fs::read(&row.staged_path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            error!(job = id, file = %row.staged_path.display(), "The claimed file disappeared from staging");
            ctx.ledger.finish(
                id,
                JobState::Failed,
                Outcome::Failed,
                None,
                Some("the claimed file disappeared from staging"),
            )?;
            let msg = "the claimed file disappeared from staging".to_string();
            return Ok(done(&row, Outcome::Failed, Some(msg)));
        }
        Err(e) => {
            let err = JobError::input(
                "unreadable",
                format!("The file cannot be read ({e})."),
                "Check the file's permissions and that the disk is healthy, then drop it in again.",
            );
            return fail(ctx, hf, &row, report, err, started);
        }
    };
    let hash = job::content_hash(&bytes);
    report.input.size = Some(bytes.len() as u64);
    report.input.blake3 = Some(hash.clone());
    report.timings_ms.read = millis(t);
    if row.hash.is_none() || row.state == JobState::Claiming {
        ctx.ledger.claimed(id, bytes.len() as u64, &hash)?;
    }

    if let Some(why) = duplicate_of_earlier(ctx, hf, id, &hash)? {
        report.finish(Outcome::Duplicate, why);
        report.timings_ms.total = millis(started);
        return write_report_then_original(ctx, hf, &row, report, None, None);
    }

    let settings = ctx.settings(hf);
    let estimate = estimate_memory(&bytes, &settings);
    // A file that was in flight at a crash is rendered alone: if it brings the process down
    // again, nothing else was to blame.
    let permit = if row.crashes > 0 {
        info!(job = id, file = %row.rel_path.display(), "Rendering alone: this file was in flight when realskin last stopped unexpectedly");
        ctx.budget.acquire_alone(estimate)
    } else {
        ctx.budget.acquire(estimate)
    };
    ctx.ledger.begin_render(id)?;
    let stage_in = output_dir(hf, &row);
    let rendered = job::render(
        &file_name(&row.rel_path),
        &bytes,
        &settings,
        Some(&stage_in),
        &mut report,
    );
    ctx.ledger.end_render(id)?;
    drop(bytes);
    let (encoded, previews, sidecar) = match rendered {
        Ok(r) => (r.encoded, r.previews, r.c2pa_sidecar),
        // The output's folder could not take the file (a full disk): the original waits in
        // staging and the job is tried again, as when placing it fails.
        Err(e) if e.is_retriable() => {
            drop(permit);
            return retry(ctx, hf, &row, e);
        }
        Err(e) => {
            drop(permit);
            return fail(ctx, hf, &row, report, e, started);
        }
    };
    drop(permit);

    // The output: each name is recorded before it is tried, so a resumed job finds its file.
    let t = Instant::now();
    let out_path = match place_output(ctx, hf, &row, &settings, &encoded, sidecar.as_deref())? {
        Ok(p) => p,
        Err(e) => return retry(ctx, hf, &row, e),
    };
    let Some(out_path) = out_path else {
        report.skipped_name_taken();
        report.timings_ms.total = millis(started);
        return write_report_then_original(ctx, hf, &row, report, None, None);
    };
    ctx.ledger.advance(id, JobState::Written)?;
    report.timings_ms.write = millis(t);
    report.processed(&out_path, encoded.facts);
    report.timings_ms.total = millis(started);
    write_report_then_original(ctx, hf, &row, report, Some(out_path), Some(previews))
}

/// With `on_duplicate = "skip"`, why this content is not processed again: the earlier
/// job that processed it, and where its output went.
fn duplicate_of_earlier(
    ctx: &WorkerCtx,
    hf: &HotfolderConfig,
    id: JobId,
    hash: &str,
) -> Result<Option<String>, LedgerError> {
    if hf.on_duplicate != OnDuplicate::Skip {
        return Ok(None);
    }
    let Some(prev) = ctx.ledger.processed_with_hash(&hf.name, hash, id)? else {
        return Ok(None);
    };
    let earlier = prev
        .output_path
        .as_ref()
        .map(|p| format!(" into {}", p.display()))
        .unwrap_or_default();
    Ok(Some(format!(
        "Same content as job {} ({}), already processed{earlier}; not processed again (on_duplicate = \"skip\").",
        prev.id,
        prev.original_path.display()
    )))
}

/// The folder the job's output goes to: its recorded name's, or its hotfolder's output
/// folder with the input's subfolders. A streamed PNG is staged there.
fn output_dir(hf: &HotfolderConfig, row: &JobRow) -> PathBuf {
    match row.output_path.as_deref().and_then(Path::parent) {
        Some(dir) => dir.to_path_buf(),
        None => hf.output.join(rel_dir(&row.rel_path)),
    }
}

/// Writes the output (and its C2PA sidecar) under its planned name, recording the name in
/// the ledger before each try. A job resumed after its file was placed finds it there.
/// `Ok(Err(_))`: the destination could not be written (retried later); `Ok(Ok(None))`:
/// the name is taken and `on_collision = "skip"`.
fn place_output(
    ctx: &WorkerCtx,
    hf: &HotfolderConfig,
    row: &JobRow,
    settings: &JobSettings,
    encoded: &Encoded,
    sidecar: Option<&[u8]>,
) -> Result<Result<Option<PathBuf>, JobError>, LedgerError> {
    let policy = settings.output.on_collision;
    let companions = output::companions(sidecar);
    let recorded_exists = row.output_path.as_ref().is_some_and(|p| p.exists());
    let wanted = match output_target(row, policy, recorded_exists) {
        OutputTarget::AlreadyPlaced(p) => return Ok(Ok(Some(p))),
        OutputTarget::Recorded(p) => {
            let _ = fs::remove_file(format!("{}.c2pa", p.display()));
            p
        }
        OutputTarget::Choose => {
            // No name recorded: the folder the streamed PNG was staged in.
            output_dir(hf, row).join(output::output_file_name(
                &row.rel_path,
                &settings.output.naming,
                encoded.format.extension(),
                &hf.name,
                &report::today(),
            ))
        }
    };
    let mut ledger_failed = None;
    let written = output::place_new(&wanted, &encoded.body, &companions, policy, |p| {
        ctx.ledger.set_output(row.id, p).map_err(|e| {
            let io = std::io::Error::other(e.to_string());
            ledger_failed = Some(e);
            io
        })
    });
    if let Some(e) = ledger_failed {
        return Err(e);
    }
    Ok(written.map_err(|e| JobError::destination(&wanted, e)))
}

/// Where the original goes after the job, decided before the report is written.
fn planned_destination(hf: &HotfolderConfig, row: &JobRow, outcome: Outcome) -> Option<PathBuf> {
    if outcome == Outcome::Failed {
        return Some(output::free_path(&hf.failed.join(&row.rel_path)));
    }
    match hf.on_success {
        OnSuccess::Move => Some(output::free_path(&hf.done.join(&row.rel_path))),
        OnSuccess::Keep => Some(output::free_path(&row.original_path)),
        OnSuccess::Delete => None,
    }
}

fn write_report_then_original(
    ctx: &WorkerCtx,
    hf: &HotfolderConfig,
    row: &JobRow,
    mut report: Report,
    output: Option<PathBuf>,
    previews: Option<Previews>,
) -> Result<WorkResult, LedgerError> {
    let planned = planned_destination(hf, row, report.outcome);
    report.original = planned.clone();
    let report_path = match &row.report_path {
        Some(p) => p.clone(),
        None => {
            let p = output::free_path(&report::report_path(
                &hf.reports,
                &row.rel_path,
                output.as_deref(),
                report.outcome,
            ));
            ctx.ledger.set_report(row.id, &p)?;
            p
        }
    };
    let previews = previews.unwrap_or_default();
    if let Err(e) = report::write(&report_path, &report, &previews) {
        return retry(ctx, hf, row, JobError::destination(&report_path, e));
    }
    // The dashboard's pictures are for people: a failure to store them is logged, never a
    // reason to hold the job back.
    let preview_dir = ctx.config.daemon.state().job_previews(row.id);
    for (name, bytes) in &previews.images {
        if let Err(e) = output::write_atomic(&preview_dir.join(format!("{name}.jpg")), bytes) {
            debug!(job = row.id, error = %e, "Could not store a preview picture");
        }
    }
    let reason = report
        .error
        .as_ref()
        .map(|_| report::reason_text(&report, &file_name(&row.rel_path)));
    ctx.ledger.reported(
        row.id,
        report.outcome,
        planned.as_deref(),
        reason.as_deref(),
    )?;
    log_outcome(row, &report, &report_path);
    let row = JobRow {
        state: JobState::Reported,
        outcome: Some(report.outcome),
        final_path: planned,
        error: reason,
        report_path: Some(report_path),
        ..row.clone()
    };
    let mut result = place_original(ctx, hf, &row)?;
    ctx.index.touch(&hf.name);
    if let WorkResult::Finished(done) = &mut result {
        done.seconds = report
            .stages
            .iter()
            .filter(|s| s.status == crate::pipeline::StageStatus::Applied)
            .map(|s| (s.stage.name().to_string(), s.ms / 1000.0))
            .chain([
                ("decode".to_string(), report.timings_ms.decode / 1000.0),
                ("encode".to_string(), report.timings_ms.encode / 1000.0),
                ("total".to_string(), report.timings_ms.total / 1000.0),
            ])
            .collect();
        if let Some(e) = &report.error {
            done.error = Some(e.message.clone());
        }
    }
    Ok(result)
}

/// Step 5: the original to its final place (and the reason file beside a failed one).
fn place_original(
    ctx: &WorkerCtx,
    hf: &HotfolderConfig,
    row: &JobRow,
) -> Result<WorkResult, LedgerError> {
    let outcome = finished_outcome(row);
    let mut final_path = row.final_path.clone();
    match original_move(row, row.staged_path.exists()) {
        OriginalMove::Gone => {}
        OriginalMove::To(dest) => match output::move_file(&row.staged_path, &dest) {
            Ok(went) => final_path = Some(went),
            Err(e) => return retry(ctx, hf, row, JobError::destination(&dest, e)),
        },
        OriginalMove::Delete => {
            if let Err(e) = fs::remove_file(&row.staged_path) {
                return retry(ctx, hf, row, JobError::destination(&row.staged_path, e));
            }
        }
    }
    if outcome == Outcome::Failed
        && let Some(dest) = &final_path
    {
        let reason_file = PathBuf::from(format!("{}.error.txt", dest.display()));
        let text = row.error.clone().unwrap_or_default();
        if let Err(e) = output::write_atomic(&reason_file, text.as_bytes()) {
            return retry(ctx, hf, row, JobError::destination(&reason_file, e));
        }
    }
    if hf.on_success == OnSuccess::Keep
        && outcome != Outcome::Failed
        && let Some(p) = &final_path
        && let Ok(m) = fs::metadata(p)
    {
        ctx.ledger.record_kept(p, m.len(), mtime_ns(&m), row.id)?;
    }
    let state = if outcome == Outcome::Failed {
        JobState::Failed
    } else {
        JobState::Done
    };
    ctx.ledger.finish(
        row.id,
        state,
        outcome,
        final_path.as_deref(),
        row.error.as_deref(),
    )?;
    remove_row_staging(row);
    Ok(done(row, outcome, row.error.clone()))
}

fn done(row: &JobRow, outcome: Outcome, error: Option<String>) -> WorkResult {
    WorkResult::Finished(JobDone {
        job: row.id,
        outcome,
        file: row.rel_path.display().to_string(),
        error,
        seconds: Vec::new(),
    })
}

fn fail(
    ctx: &WorkerCtx,
    hf: &HotfolderConfig,
    row: &JobRow,
    mut report: Report,
    err: JobError,
    started: Instant,
) -> Result<WorkResult, LedgerError> {
    if err.is_retriable() {
        return retry(ctx, hf, row, err);
    }
    report.failed(&err);
    report.timings_ms.total = millis(started);
    write_report_then_original(ctx, hf, row, report, None, None)
}

fn retry(
    ctx: &WorkerCtx,
    hf: &HotfolderConfig,
    row: &JobRow,
    err: JobError,
) -> Result<WorkResult, LedgerError> {
    let wait = ctx.backoff(row.attempts + 1);
    let next = now_ms() + wait.as_millis() as i64;
    let attempts = ctx.ledger.schedule_retry(row.id, next, &err.to_string())?;
    warn!(
        job = row.id,
        hotfolder = %hf.name,
        file = %row.rel_path.display(),
        attempts,
        retry_in_s = wait.as_secs_f64(),
        error = %err,
        "Destination failed; the original is safe in staging and the job will be retried. {}",
        err.hint()
    );
    Ok(WorkResult::Retrying { job: row.id })
}

fn log_outcome(row: &JobRow, report: &Report, report_path: &Path) {
    let t = &report.timings_ms;
    let stage_ms: Vec<String> = report
        .stages
        .iter()
        .map(|s| format!("{:?}={}", s.stage, s.ms).to_lowercase())
        .collect();
    let output = report
        .output
        .as_ref()
        .map(|o| o.path.display().to_string())
        .unwrap_or_default();
    match report.outcome {
        Outcome::Failed => error!(
            job = row.id,
            hotfolder = report.hotfolder.as_deref().unwrap_or(""),
            file = %row.rel_path.display(),
            outcome = report.outcome.as_str(),
            error = report.error.as_ref().map(|e| e.message.as_str()).unwrap_or(""),
            report = %report_path.display(),
            "Image failed; original goes to failed/ with the reason. {}",
            report.error.as_ref().map(|e| e.hint.as_str()).unwrap_or("")
        ),
        _ => info!(
            job = row.id,
            hotfolder = report.hotfolder.as_deref().unwrap_or(""),
            file = %row.rel_path.display(),
            outcome = report.outcome.as_str(),
            output = %output,
            total_ms = t.total,
            read_ms = t.read,
            decode_ms = t.decode,
            stages = %stage_ms.join(","),
            encode_ms = t.encode,
            write_ms = t.write,
            "{}",
            report.summary
        ),
    }
}

/// Memory a job will need at its peak: the decoded image, the upscaled one and the
/// encoder's buffer, at 16 bits per channel to be safe, plus the upscale engine's own
/// buffers (see `upscale::peak_bytes`).
fn estimate_memory(bytes: &[u8], settings: &JobSettings) -> u64 {
    let Some((w, h)) = decode::header_dimensions(bytes) else {
        return 64 << 20;
    };
    crate::pipeline::upscale::peak_bytes(w, h, &settings.stages.upscale)
}

fn remove_job_staging(ctx: &WorkerCtx, hf: &HotfolderConfig, id: JobId) {
    let dir = ctx.staging_root(hf).join(id.to_string());
    if dir.exists() {
        let _ = fs::remove_dir_all(&dir);
    }
}

/// Removes the job's own staging folder, `<staging root>/<id>`, found from the path the
/// ledger recorded: in a fleet it may be another node's, when this one took the job over.
fn remove_row_staging(row: &JobRow) {
    let dir = row
        .staged_path
        .ancestors()
        .nth(row.rel_path.components().count())
        .filter(|d| d.file_name() == Some(std::ffi::OsStr::new(&row.id.to_string())));
    if let Some(dir) = dir
        && dir.exists()
    {
        let _ = fs::remove_dir_all(dir);
    }
}

fn rel_dir(rel: &Path) -> &Path {
    rel.parent().unwrap_or(Path::new(""))
}

fn file_name(rel: &Path) -> String {
    rel.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Modification time in nanoseconds since the epoch (0 when unknown).
pub fn mtime_ns(m: &fs::Metadata) -> i64 {
    m.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}
