//! `realskin run`: checks the configuration and the model, prepares the folders and the
//! log, then runs the daemon and its API until a stop signal.

use std::path::PathBuf;
use std::process::ExitCode;

use super::load;
use crate::{daemon, logging};

pub(super) fn run(config: Option<PathBuf>) -> ExitCode {
    let mut loaded = match load(config) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let checked = crate::app::preflight(&loaded);
    for p in &checked.transient {
        eprintln!("{p} (realskin starts anyway and retries)");
    }
    if !checked.may_start() {
        for p in &checked.fatal {
            eprintln!("{p}");
        }
        eprintln!(
            "realskin did not start: fix the configuration above (`realskin config check` shows it again)."
        );
        return ExitCode::from(2);
    }
    // In a fleet: the hotfolders whose model this machine lacks are left to the others.
    let mut index = 0;
    let mut left_out = Vec::new();
    loaded.config.hotfolder.retain(|hf| {
        let lacks = checked.lacking.iter().find(|(i, _)| *i == index);
        index += 1;
        if let Some((_, p)) = lacks {
            left_out.push((hf.name.clone(), hf.needs(), p.to_string()));
        }
        lacks.is_none()
    });
    let cfg = &loaded.config;
    if let Err(e) = daemon::prepare_folders(cfg) {
        eprintln!("realskin did not start: {e:#}");
        return ExitCode::from(2);
    }
    let _guard = match logging::init_daemon(&cfg.daemon.state().logs(), cfg.daemon.log_files) {
        Ok(g) => g,
        Err(e) => {
            eprintln!(
                "realskin did not start: cannot write logs into {}: {e}",
                cfg.daemon.state_dir.display()
            );
            return ExitCode::from(2);
        }
    };
    for p in &checked.warnings {
        tracing::warn!("{p}");
    }
    for (hotfolder, needs, why) in &left_out {
        tracing::warn!(%hotfolder, %needs, "This machine cannot run the hotfolder's model, so it leaves that hotfolder's files to the machines of the fleet that can: {why}");
    }
    match &loaded.path {
        Some(p) => tracing::info!(config = %p.display(), "Using config file"),
        None => tracing::info!(
            "No config file: using the built-in defaults (`realskin config init` writes one to edit)"
        ),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("realskin-async")
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("realskin did not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(crate::app::run(loaded, daemon::shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("realskin stopped: {e:#}");
            ExitCode::FAILURE
        }
    }
}
