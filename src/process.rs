//! `realskin process FILE|FOLDER...`: the daemon's pipeline run once over files given on
//! the command line, with a progress bar on a terminal and one line per file.
//!
//! A folder is walked with a hotfolder's ignore rules (hidden, temporary and sync files,
//! non-images and realskin's own outputs are left alone), its sub-folders too with
//! `--recursive`. Originals are only read. Outputs and reports go next to each input, or
//! into `--out`, keeping each image's folder relative to the folder it was found in; names
//! follow `[output] naming` and `on_collision`, written atomically. Each file goes through
//! the daemon's own steps: [`job::render`], [`output::write_new`] with its sidecar, and the
//! report finished and written by [`report`] (`Report::processed`, `skipped_name_taken`,
//! `failed`, [`report::write`]); only the ledger is left out.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::Config;
use crate::error::JobError;
use crate::job::{self, JobSettings};
use crate::output::{self, encode::OutputFacts};
use crate::pipeline::millis;
use crate::report::{self, Report};

/// How `process` runs.
#[derive(Debug, Clone, Default)]
pub struct ProcessOptions {
    /// Write outputs here instead of next to each input.
    pub out_dir: Option<PathBuf>,
    /// Show a progress bar (on a terminal).
    pub progress: bool,
}

/// One image to process, and where under `--out` its results go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub path: PathBuf,
    /// Its folder relative to the folder it was found in; empty for a file given by name.
    pub sub_dir: PathBuf,
}

/// The images the command line names: a file as given (one that cannot be read fails with
/// its reason when processed), a folder walked in name order with a hotfolder's ignore
/// rules, its sub-folders only when `recursive`. Anything under `out` and realskin's own
/// outputs (`*.realskin.*`) are left out, so a second run does not process the first's
/// results. Returns the inputs and one sentence per folder that could not be read.
pub fn collect_inputs(
    paths: &[PathBuf],
    recursive: bool,
    out: Option<&Path>,
) -> (Vec<Input>, Vec<String>) {
    let out = out.map(|o| std::fs::canonicalize(o).unwrap_or_else(|_| o.to_path_buf()));
    let mut inputs = Vec::new();
    let mut problems = Vec::new();
    for p in paths {
        if !p.is_dir() {
            inputs.push(Input {
                path: p.clone(),
                sub_dir: PathBuf::new(),
            });
            continue;
        }
        let root = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
        let excluded: Vec<PathBuf> = out.iter().cloned().collect();
        let rules = crate::watch::ignore::IgnoreRules::new(&root, &[], &excluded);
        let mut unreadable = |dir: &Path, e: &std::io::Error| {
            problems.push(format!(
                "cannot read the folder {} ({e}); check its permissions",
                dir.display()
            ));
        };
        let mut found = crate::watch::list_files(&root, &rules, recursive, &mut unreadable)
            .unwrap_or_else(|e| {
                unreadable(&root, &e);
                Vec::new()
            });
        found.retain(|f| !is_realskin_output(f));
        found.sort();
        for path in found {
            let sub_dir = path
                .parent()
                .and_then(|d| d.strip_prefix(&root).ok())
                .map(Path::to_path_buf)
                .unwrap_or_default();
            // Name the file as the user named its folder, not by its canonical path.
            let shown = p.join(path.strip_prefix(&root).unwrap_or(&path));
            inputs.push(Input {
                path: shown,
                sub_dir,
            });
        }
    }
    (inputs, problems)
}

/// realskin's own output or report, by the default naming (`<stem>.realskin.<ext>`).
fn is_realskin_output(path: &Path) -> bool {
    path.file_name().is_some_and(|n| {
        n.to_string_lossy()
            .to_ascii_lowercase()
            .contains(".realskin.")
    })
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
pub fn process_files(cfg: &Config, files: &[Input], opts: &ProcessOptions) -> Vec<FileResult> {
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
                    bar.set_message(file.path.display().to_string());
                    let out_dir = opts.out_dir.as_ref().map(|o| o.join(&file.sub_dir));
                    let r = process_one(&file.path, &settings, out_dir.as_deref());
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
    let result = (|| -> Result<Option<(PathBuf, OutputFacts)>, JobError> {
        std::fs::create_dir_all(&dir).map_err(|e| JobError::destination(&dir, e))?;
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
        let rendered = job::render(
            &name.to_string_lossy(),
            &bytes,
            settings,
            Some(&dir),
            &mut report,
        )?;
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
        let written = output::place_new(
            &wanted,
            &encoded.body,
            &output::companions(sidecar.as_deref()),
            settings.output.on_collision,
            |_| Ok(()),
        )
        .map_err(|e| JobError::destination(&wanted, e))?;
        report.timings_ms.write = millis(t);
        Ok(written.map(|path| (path, encoded.facts)))
    })();
    report.timings_ms.total = millis(started);

    // The report is finished and written as the daemon does (`report::write`); only the
    // line printed here differs: what was done, or what went wrong and what to do.
    let (output, ok, summary) = match result {
        Ok(Some((path, facts))) => {
            let done = report.done_and_left_alone();
            report.processed(&path, facts);
            (Some(path), true, done)
        }
        Ok(None) => {
            report.skipped_name_taken();
            (None, true, report.summary.clone())
        }
        Err(e) => {
            report.failed(&e);
            (None, false, format!("{e} {}", e.hint()))
        }
    };
    let report_path = output::free_path(&report::report_path(
        &dir,
        &name,
        output.as_deref(),
        report.outcome,
    ));
    let report_written = report::write(&report_path, &report, &previews).is_ok();
    FileResult {
        input: input.to_path_buf(),
        output,
        report: report_written.then_some(report_path),
        summary,
        ms: report.timings_ms.total,
        ok,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_walked_with_the_hotfolder_rules_and_keeps_its_layout() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("shoot");
        for f in [
            "b.png",
            "a.jpg",
            "a.realskin.png",
            "notes.txt",
            ".hidden.png",
            "x.png.part",
            "sub/c.webp",
            "sub/deeper/d.png",
            ".cache/e.png",
            "out/old.png",
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        let loose = tmp.path().join("loose.png");
        let names = |inputs: &[Input]| -> Vec<(String, String)> {
            inputs
                .iter()
                .map(|i| {
                    let rel = i.path.strip_prefix(tmp.path()).unwrap_or(&i.path);
                    (
                        rel.to_string_lossy().into_owned(),
                        i.sub_dir.to_string_lossy().into_owned(),
                    )
                })
                .collect()
        };
        let out = root.join("out");
        let (flat, problems) = collect_inputs(&[root.clone(), loose.clone()], false, Some(&out));
        assert!(problems.is_empty());
        let s = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            names(&flat),
            [
                s("shoot/a.jpg", ""),
                s("shoot/b.png", ""),
                s("loose.png", "")
            ]
        );
        let (deep, _) = collect_inputs(std::slice::from_ref(&root), true, Some(&out));
        assert_eq!(
            names(&deep),
            [
                s("shoot/a.jpg", ""),
                s("shoot/b.png", ""),
                s("shoot/sub/c.webp", "sub"),
                s("shoot/sub/deeper/d.png", "sub/deeper"),
            ]
        );
    }
}
