//! The daemon and its local API, wired together: the daemon runs the hotfolders and hands
//! its handle (status, controls, ledger, config) to whatever serves it; the API serves what
//! it is given. Neither module imports the other (both speak [`crate::status`]); this one
//! knows both.
//!
//! Checks that span several modules live here too: [`preflight`] before the daemon starts,
//! [`check_models`] for the ONNX upscaler, and [`doctor`] (`realskin models doctor` and
//! `bench`), which inspects the configuration, the ONNX Runtime and the model registry.

pub mod cli;
pub mod doctor;

use std::future::Future;

use tracing::warn;

use crate::config::LoadedConfig;
use crate::diagnostics::{Problem, Severity};
use crate::pipeline::upscale::session;
use crate::{api, daemon};

/// What `realskin run` checks before it starts: the configuration (folders, values) and the
/// ONNX model it names, sorted by what each means for the start.
#[derive(Debug, Default)]
pub struct Preflight {
    /// Errors in the file or the model: the daemon does not start.
    pub fatal: Vec<Problem>,
    /// Errors about the machine right now (a folder missing or not writable): the daemon
    /// starts anyway and retries jobs until they are fixed.
    pub transient: Vec<Problem>,
    /// Warnings about the model, for the log.
    pub warnings: Vec<Problem>,
    /// In a fleet: hotfolders (by index) whose ONNX model this machine cannot run, with
    /// the reason. It starts without them and leaves their files to the machines that can.
    pub lacking: Vec<(usize, Problem)>,
}

impl Preflight {
    /// Whether the daemon may start.
    pub fn may_start(&self) -> bool {
        self.fatal.is_empty()
    }
}

/// The ONNX upscaler's start-up check ([`crate::config::check::onnx`]), with its models
/// loaded for `parallel_jobs` jobs at once: the process-wide setting the model cache
/// splits the cores by is set here, where the process is wired, before any is loaded.
pub fn check_models(loaded: &LoadedConfig, parallel_jobs: usize) -> Vec<Problem> {
    session::set_parallel_jobs(parallel_jobs);
    crate::config::check::onnx(loaded)
}

/// Checks a loaded configuration the way `realskin run` does before it starts.
pub fn preflight(loaded: &LoadedConfig) -> Preflight {
    let mut problems = crate::config::check::check(loaded);
    let (warnings, model_errors): (Vec<_>, Vec<_>) =
        check_models(loaded, loaded.config.worker_count())
            .into_iter()
            .partition(|p| p.severity == Severity::Warning);
    // In a fleet a machine without a hotfolder's model is not misconfigured: that
    // hotfolder is for the machines that have it. One that can run none stays fatal.
    let mut lacking: Vec<(usize, Problem)> = Vec::new();
    for p in model_errors {
        match hotfolder_of(&p.key) {
            Some(i) if loaded.config.fleet.is_shared() => lacking.push((i, p)),
            _ => problems.push(p),
        }
    }
    // No ONNX Runtime is reported once, at the first hotfolder that needs it: every
    // hotfolder with the ONNX engine lacks it.
    if let Some((_, p)) = lacking
        .iter()
        .find(|(_, p)| p.key.ends_with(".onnxruntime"))
    {
        let p = p.clone();
        for (i, hf) in loaded.config.hotfolder.iter().enumerate() {
            if hf.upscale.engine == crate::config::UpscaleEngine::Onnx
                && !lacking.iter().any(|(j, _)| *j == i)
            {
                lacking.push((i, p.clone()));
            }
        }
    }
    let runnable = (0..loaded.config.hotfolder.len())
        .filter(|i| !lacking.iter().any(|(j, _)| j == i))
        .count();
    if runnable == 0 {
        problems.extend(lacking.drain(..).map(|(_, p)| p));
    }
    let (transient, fatal) = problems
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .partition(|p| p.transient);
    Preflight {
        fatal,
        transient,
        warnings,
        lacking,
    }
}

/// The hotfolder index a config key starts with (`hotfolder[2].upscale.model` is 2).
fn hotfolder_of(key: &str) -> Option<usize> {
    key.strip_prefix("hotfolder[")?
        .split(']')
        .next()?
        .parse()
        .ok()
}

/// Runs the daemon, with the local API and dashboard when `[api] enabled`, until
/// `shutdown` resolves. An API that cannot start (its port taken) is logged and left off:
/// the hotfolders run without it.
pub async fn run(loaded: LoadedConfig, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    daemon::run(loaded, shutdown, |handle| async move {
        if !handle.config.api.enabled {
            return None;
        }
        let backend = api::Backend {
            status: handle.status,
            control: handle.control,
            ledger: handle.ledger,
            config: handle.config,
        };
        match api::start(backend).await {
            Ok(server) => Some(move || server.stop()),
            Err(e) => {
                warn!("The local API and dashboard are off: {e:#}");
                None
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(dir: &std::path::Path, toml: &str) -> LoadedConfig {
        let path = dir.join("realskin.toml");
        std::fs::write(&path, toml).unwrap();
        LoadedConfig::from_file(&path).unwrap()
    }

    #[test]
    fn a_missing_input_folder_lets_the_daemon_start_and_a_missing_model_does_not() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path().display();
        let missing_input = loaded(
            root.path(),
            &format!(
                "[daemon]\nstate_dir = \"{r}/state\"\ncreate_folders = false\n\n[[hotfolder]]\nname = \"studio\"\ninput = \"{r}/nowhere/in\"\noutput = \"{r}/out\"\n"
            ),
        );
        let p = preflight(&missing_input);
        assert!(p.may_start(), "{:?}", p.fatal);
        assert!(
            p.transient.iter().any(|x| x.message.contains("nowhere")),
            "{:?}",
            p.transient
        );
        // Without ONNX Runtime the runtime is what is missing; with it, the model: either
        // way the `[upscale]` section stops the start.
        let missing_model = loaded(
            root.path(),
            &format!(
                "[daemon]\nstate_dir = \"{r}/state\"\n\n[upscale]\nengine = \"onnx\"\nmodel = \"{r}/no-such-model.onnx\"\n"
            ),
        );
        let p = preflight(&missing_model);
        assert!(!p.may_start());
        assert!(
            p.fatal.iter().all(|x| x.key.contains("upscale.")),
            "{:?}",
            p.fatal
        );
    }
}
