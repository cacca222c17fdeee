//! The JSON report written for every image: what came in, what was decided and why,
//! what each stage did and how long it took, what went out, and, on failure, what
//! went wrong and what to do. Built up as the job runs, so a failure still reports
//! everything that was learnt before it.

pub mod html;
pub mod index;
pub mod previews;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::JobError;
use crate::output::encode::OutputFacts;
use crate::pipeline::{Plan, StageRecord};
use crate::profile::GeneratorProfile;

/// Report format version; bumped when a field changes meaning.
pub const REPORT_VERSION: u32 = 1;

/// One image's report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Report format version.
    pub report_version: u32,
    /// realskin's version.
    pub realskin: &'static str,
    /// The ledger's job id (absent for `realskin process`).
    pub job: Option<i64>,
    /// The hotfolder's name (absent for `realskin process`).
    pub hotfolder: Option<String>,
    /// `processed`, `duplicate`, `skipped` or `failed`.
    pub outcome: Outcome,
    /// In a sentence, what happened.
    pub summary: String,
    /// The input file.
    pub input: InputInfo,
    /// What the image is and which generator made it.
    pub profile: Option<GeneratorProfile>,
    /// Which stages were to run, and why.
    pub plan: Option<Plan>,
    /// What each stage did.
    pub stages: Vec<StageRecord>,
    /// The file written.
    pub output: Option<OutputInfo>,
    /// What the output says about where it came from.
    pub provenance: Option<ProvenanceInfo>,
    /// Where the original went.
    pub original: Option<PathBuf>,
    /// What went wrong.
    pub error: Option<ErrorInfo>,
    /// Tries, when the job had to be retried.
    pub attempts: u32,
    /// Milliseconds per step.
    pub timings_ms: Timings,
    /// When the job started (RFC 3339, UTC).
    pub started_at: String,
    /// When it finished.
    pub finished_at: String,
}

/// How a job ended (kept in the ledger, written in the report).
pub use crate::ledger::Outcome;

/// The input file.
#[derive(Debug, Clone, Serialize)]
pub struct InputInfo {
    /// Where it was dropped.
    pub path: PathBuf,
    /// Its path relative to the hotfolder input.
    pub relative_path: PathBuf,
    /// Bytes.
    pub size: Option<u64>,
    /// BLAKE3 of the content.
    pub blake3: Option<String>,
}

/// The written output.
#[derive(Debug, Clone, Serialize)]
pub struct OutputInfo {
    /// Where it is.
    pub path: PathBuf,
    /// What it holds.
    #[serde(flatten)]
    pub facts: OutputFacts,
}

/// Provenance carried into the output.
#[derive(Debug, Clone, Serialize)]
pub struct ProvenanceInfo {
    /// The IPTC DigitalSourceType written into the output, if any.
    pub digital_source_type: Option<String>,
    /// Whether the original's C2PA manifest was kept beside the output (`.c2pa`).
    pub c2pa_sidecar: bool,
    /// What was kept, changed or could not be held, in sentences.
    pub notes: Vec<String>,
}

/// A failure, for people.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorInfo {
    /// Short kind (`corrupt`, `too-large`, `destination`, ...).
    pub kind: String,
    /// What went wrong.
    pub message: String,
    /// What to do.
    pub hint: String,
}

impl From<&JobError> for ErrorInfo {
    fn from(e: &JobError) -> Self {
        Self {
            kind: e.kind().to_string(),
            message: e.to_string(),
            hint: e.hint(),
        }
    }
}

/// Milliseconds per step; absent steps did not run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// Reading the file and hashing it.
    pub read: f64,
    /// Decoding pixels.
    pub decode: f64,
    /// Profiling.
    pub profile: f64,
    /// All stages.
    pub stages: f64,
    /// Encoding, with the previews beside it; a fast PNG is written into its temporary
    /// file during this step (it streams as it is compressed).
    pub encode: f64,
    /// Placing the output: writing it (formats held in memory) and renaming it into place.
    pub write: f64,
    /// The whole job.
    pub total: f64,
}

impl Report {
    /// An empty report for `input`, started now.
    pub fn new(input: &Path, relative: &Path) -> Self {
        Self {
            report_version: REPORT_VERSION,
            realskin: env!("CARGO_PKG_VERSION"),
            job: None,
            hotfolder: None,
            outcome: Outcome::Failed,
            summary: String::new(),
            input: InputInfo {
                path: input.to_path_buf(),
                relative_path: relative.to_path_buf(),
                size: None,
                blake3: None,
            },
            profile: None,
            plan: None,
            stages: Vec::new(),
            output: None,
            provenance: None,
            original: None,
            error: None,
            attempts: 1,
            timings_ms: Timings::default(),
            started_at: now_rfc3339(),
            finished_at: String::new(),
        }
    }

    /// Marks the report finished with `outcome`.
    pub fn finish(&mut self, outcome: Outcome, summary: String) {
        self.outcome = outcome;
        self.summary = summary;
        self.finished_at = now_rfc3339();
    }

    /// Finished with its output in place at `path`: the summary says what was done and where.
    pub fn processed(&mut self, path: &Path, facts: OutputFacts) {
        let summary = format!("{} → {}", self.done_and_left_alone(), path.display());
        self.output = Some(OutputInfo {
            path: path.to_path_buf(),
            facts,
        });
        self.finish(Outcome::Processed, summary);
    }

    /// Finished without output: the output's name is taken and `on_collision = "skip"`.
    pub fn skipped_name_taken(&mut self) {
        self.finish(
            Outcome::Skipped,
            "The output name is already taken and on_collision = \"skip\": nothing was written."
                .into(),
        );
    }

    /// Finished without output because of `err`; the error, with what to do, is recorded.
    pub fn failed(&mut self, err: &JobError) {
        self.error = Some(ErrorInfo::from(err));
        self.finish(Outcome::Failed, format!("Not processed: {err}"));
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// One line for the log and the `process` command: what was done to the image.
    pub fn what_was_done(&self) -> String {
        let applied: Vec<String> = self
            .stages
            .iter()
            .filter(|s| s.status == crate::pipeline::StageStatus::Applied)
            .map(|s| s.summary.clone())
            .collect();
        if applied.is_empty() {
            "no stage applied".to_string()
        } else {
            applied.join("; ")
        }
    }

    /// [`Report::what_was_done`], and, when the skin engine ran and left the picture alone,
    /// why in short ("skin left alone: no person"): the line a person scans in the
    /// dashboard, the daily index and `realskin process`, where "lanczos3 …" alone would not
    /// say that the skin was not treated.
    pub fn done_and_left_alone(&self) -> String {
        let done = self.what_was_done();
        let skin_ran = self.plan.as_ref().is_some_and(|p| {
            p.steps
                .iter()
                .any(|s| s.stage == crate::pipeline::Stage::Skin && s.run)
        });
        let left = self.stages.iter().find(|s| {
            s.stage == crate::pipeline::Stage::Skin
                && s.status == crate::pipeline::StageStatus::Skipped
        });
        match left {
            Some(s) if skin_ran && !s.summary.is_empty() => {
                // The reason's first clause: "no person", "no photographed face", "nothing
                // to add", "no visible skin".
                let why = s.summary.split(':').next().unwrap_or(&s.summary).trim();
                format!("{done}; skin left alone: {why}")
            }
            _ => done,
        }
    }
}

/// Writes `report` at `path` (JSON, atomically) and its HTML page beside it, with the
/// pictures in `previews`. The JSON is the job's record: a failure to write it is returned.
/// The page is for people: a failure to write it is logged, never a reason to hold the job.
pub fn write(path: &Path, report: &Report, previews: &previews::Previews) -> std::io::Result<()> {
    crate::output::write_atomic(path, &report.to_json())?;
    let html_path = path.with_extension("html");
    if let Err(e) =
        crate::output::write_atomic(&html_path, html::render(report, previews).as_bytes())
    {
        tracing::warn!(file = %html_path.display(), error = %e, "Could not write the HTML report");
    }
    Ok(())
}

/// Now, as `2026-11-26T18:02:03.123Z`.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

/// Today's date in UTC, `YYYY-MM-DD`.
pub fn today() -> String {
    now_rfc3339()[..10].to_string()
}

/// Unix milliseconds as RFC 3339 (UTC).
pub fn rfc3339_from_ms(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(t).to_string()
}

/// The report path in `reports_dir`, keeping the input's relative folder: named after
/// the output (`a.realskin.json`), or without one after the input and the outcome
/// (`a.png.failed.json`, `a.png.duplicate.json`).
pub fn report_path(
    reports_dir: &Path,
    relative: &Path,
    output: Option<&Path>,
    outcome: Outcome,
) -> PathBuf {
    let rel_dir = relative.parent().unwrap_or(Path::new(""));
    let stem = match output {
        Some(out) => out
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        None => format!(
            "{}.{}",
            relative
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            outcome.as_str()
        ),
    };
    reports_dir.join(rel_dir).join(format!("{stem}.json"))
}

/// The text of `<name>.error.txt` beside a failed original.
pub fn reason_text(report: &Report, original_name: &str) -> String {
    let (message, hint) = report
        .error
        .as_ref()
        .map(|e| (e.message.as_str(), e.hint.as_str()))
        .unwrap_or(("It failed for an unknown reason.", "Check the log."));
    format!(
        "realskin could not process {original_name}.\n\n\
         What went wrong: {message}\n\
         What to do: {hint}\n\n\
         When it is fixed, drop the image into the hotfolder again.\n\
         (realskin {}, {}{})\n",
        report.realskin,
        report.finished_at,
        report.job.map(|j| format!(", job {j}")).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_paths_follow_the_output() {
        assert_eq!(
            report_path(
                Path::new("/r"),
                Path::new("shoot/a.png"),
                Some(Path::new("/o/shoot/a.realskin-2.png")),
                Outcome::Processed
            ),
            PathBuf::from("/r/shoot/a.realskin-2.json")
        );
        assert_eq!(
            report_path(Path::new("/r"), Path::new("a.png"), None, Outcome::Failed),
            PathBuf::from("/r/a.png.failed.json")
        );
    }
}
