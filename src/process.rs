//! `realskin process FILE...`: the daemon's pipeline run once over files given on the
//! command line, with a progress bar on a terminal and one line per file.
//!
//! Originals are only read. Outputs and reports go next to each input, or into
//! `--out`; names follow `[output] naming` and `on_collision`, written atomically.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::Config;
use crate::error::JobError;
use crate::job::{self, JobSettings};
use crate::output;
use crate::pipeline::millis;
use crate::report::{self, ErrorInfo, Outcome, OutputInfo, Report};

/// How `process` runs.
#[derive(Debug, Clone, Default)]
pub struct ProcessOptions {
    /// Write outputs here instead of next to each input.
    pub out_dir: Option<PathBuf>,
    /// Show a progress bar (on a terminal).
    pub progress: bool,
}

/// One file's result.
#[derive(Debug, Clone)]
pub struct FileResult {
    /// The input.
    pub input: PathBuf,
    /// The output written, if any.
    pub output: Option<PathBuf>,
    /// The report written, if any.
    pub report: Option<PathBuf>,
    /// What was done, or what went wrong and what to do.
    pub summary: String,
    /// Whole-job milliseconds.
    pub ms: f64,
    /// Whether it succeeded.
    pub ok: bool,
}

impl FileResult {
    /// The line printed for it.
    pub fn line(&self) -> String {
        match (&self.output, self.ok) {
            (Some(out), true) => format!(
                "{} -> {} ({}; {:.0} ms)",
                self.input.display(),
                out.display(),
                self.summary,
                self.ms
            ),
            (_, true) => format!(
                "{}: {} ({:.0} ms)",
                self.input.display(),
                self.summary,
                self.ms
            ),
            (_, false) => format!("{}: FAILED: {}", self.input.display(), self.summary),
        }
    }
}

/// Processes `files` with the global pipeline settings of `cfg`, in parallel.
pub fn process_files(cfg: &Config, files: &[PathBuf], opts: &ProcessOptions) -> Vec<FileResult> {
    let global = crate::config::HotfolderConfig {
        upscale: cfg.upscale.clone(),
        skin: cfg.skin.clone(),
        output_options: cfg.output.clone(),
        ..crate::config::HotfolderConfig::default()
    };
    let threads = cfg.worker_count().min(files.len()).max(1);
    let settings = JobSettings::for_jobs_at_once(&global, cfg, threads);
    let bar = if opts.progress {
        let bar =
            ProgressBar::with_draw_target(Some(files.len() as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:30.cyan/blue} {pos}/{len} {elapsed_precise} (eta {eta}) {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<FileResult>>> = Mutex::new(vec![None; files.len()]);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    bar.set_message(file.display().to_string());
                    let r = process_one(file, &settings, opts.out_dir.as_deref());
                    // Results go to stdout, above the bar on a terminal.
                    bar.suspend(|| println!("{}", r.line()));
                    bar.inc(1);
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
                }
            });
        }
    });
    bar.finish_and_clear();
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

fn process_one(input: &Path, settings: &JobSettings, out_dir: Option<&Path>) -> FileResult {
    let started = Instant::now();
    let name = PathBuf::from(input.file_name().unwrap_or(input.as_os_str()));
    let mut report = Report::new(input, &name);
    let dir = out_dir
        .map(Path::to_path_buf)
        .or_else(|| input.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));

    let mut previews = crate::report::previews::Previews::default();
    let mut sidecar = None;
    let result = (|| -> Result<Option<PathBuf>, JobError> {
        let t = Instant::now();
        let bytes = std::fs::read(input).map_err(|e| {
            JobError::input(
                "unreadable",
                format!("The file cannot be read ({e})."),
                "Check the path and the file's permissions.",
            )
        })?;
        report.input.size = Some(bytes.len() as u64);
        report.input.blake3 = Some(job::content_hash(&bytes));
        report.timings_ms.read = millis(t);
        let rendered = job::render(&name.to_string_lossy(), &bytes, settings, &mut report)?;
        let encoded = rendered.encoded;
        previews = rendered.previews;
        sidecar = rendered.c2pa_sidecar;
        let wanted = dir.join(output::output_file_name(
            &name,
            &settings.output.naming,
            encoded.format.extension(),
            "process",
            &report::today(),
        ));
        let t = Instant::now();
        let companions: Vec<(&str, &[u8])> =
            sidecar.iter().map(|m| (".c2pa", m.as_slice())).collect();
        let written = output::write_new(
            &wanted,
            &encoded.bytes,
            &companions,
            settings.output.on_collision,
            |_| Ok(()),
        )
        .map_err(|e| JobError::destination(&wanted, e))?;
        let Some(path) = written else {
            return Ok(None);
        };
        report.timings_ms.write = millis(t);
        report.output = Some(OutputInfo {
            path: path.clone(),
            facts: encoded.facts,
        });
        Ok(Some(path))
    })();
    report.timings_ms.total = millis(started);

    let (output, ok) = match result {
        Ok(Some(path)) => {
            report.finish(Outcome::Processed, report.what_was_done());
            (Some(path), true)
        }
        Ok(None) => {
            report.finish(
                Outcome::Skipped,
                "the output name is taken and on_collision = \"skip\"".into(),
            );
            (None, true)
        }
        Err(e) => {
            report.error = Some(ErrorInfo::from(&e));
            report.finish(Outcome::Failed, format!("{e} {}", e.hint()));
            (None, false)
        }
    };
    let report_path = output::free_path(&report::report_path(
        &dir,
        &name,
        output.as_deref(),
        report.outcome,
    ));
    let report_written = output::write_atomic(&report_path, &report.to_json()).is_ok();
    let _ = output::write_atomic(
        &report_path.with_extension("html"),
        report::html::render(&report, &previews).as_bytes(),
    );
    FileResult {
        input: input.to_path_buf(),
        output,
        report: report_written.then_some(report_path),
        summary: report.summary.clone(),
        ms: report.timings_ms.total,
        ok,
    }
}
