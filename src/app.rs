//! The daemon and its local API, wired together: the daemon runs the hotfolders and hands
//! its handle (status, controls, ledger, config) to whatever serves it; the API serves what
//! it is given. Neither module imports the other (both speak [`crate::status`]); this one
//! knows both.

use std::future::Future;

use tracing::warn;

use crate::config::LoadedConfig;
use crate::{api, daemon};

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
