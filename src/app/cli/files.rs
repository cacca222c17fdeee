//! `realskin process` and `realskin profile`: the pipeline, or only the profiler, over
//! files given on the command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use super::load;
use crate::config::Severity;
use crate::{logging, process};

pub(super) fn process(
    config: Option<PathBuf>,
    out: Option<PathBuf>,
    recursive: bool,
    paths: Vec<PathBuf>,
) -> ExitCode {
    let _guard = logging::init_stderr();
    let loaded = match load(config) {
        Ok(l) => l,
        Err(code) => return code,
    };
    if let Some(dir) = &out
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprintln!("cannot create the output folder {}: {e}", dir.display());
        return ExitCode::from(2);
    }
    let (files, problems) = process::collect_inputs(&paths, recursive, out.as_deref());
    for p in &problems {
        eprintln!("{p}");
    }
    if files.is_empty() {
        eprintln!(
            "no images to process in {}{}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            if recursive {
                ""
            } else {
                " (add --recursive to take the sub-folders too)"
            }
        );
        return ExitCode::FAILURE;
    }
    let jobs = loaded.config.worker_count().min(files.len()).max(1);
    let problems = crate::app::check_models(&loaded, jobs);
    for p in &problems {
        eprintln!("{p}");
    }
    if problems.iter().any(|p| p.severity == Severity::Error) {
        return ExitCode::from(2);
    }
    let opts = process::ProcessOptions {
        out_dir: out,
        progress: std::io::stderr().is_terminal(),
    };
    let results = process::process_files(&loaded.config, &files, &opts);
    let failed = results.iter().filter(|r| !r.ok).count();
    if failed > 0 {
        eprintln!("{failed} of {} files failed", results.len());
        ExitCode::FAILURE
    } else if !problems.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

pub(super) fn profile(
    config: Option<PathBuf>,
    json: bool,
    metadata_only: bool,
    files: Vec<PathBuf>,
) -> ExitCode {
    let loaded = match load(config) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let opts = loaded.config.profile_options();
    let mut failed = false;
    for file in &files {
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!(
                    "{}: cannot read it ({e}); check the path and permissions",
                    file.display()
                );
                failed = true;
                continue;
            }
        };
        let mut p =
            crate::profile::profile_bytes_with(&file.to_string_lossy(), &bytes, None, &opts);
        if !metadata_only {
            match crate::decode::decode(&bytes, loaded.config.daemon.max_megapixels) {
                Ok(d) => {
                    let skin = &loaded.config.skin;
                    p.pixels = Some(crate::pipeline::pixel_facts(&d.image, 1024, skin));
                }
                Err(e) => p.warnings.push(format!("pixels not read: {e}")),
            }
        }
        if json {
            println!("{}", serde_json::to_string_pretty(&p).unwrap_or_default());
        } else {
            println!("{}\n", p.summary());
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
