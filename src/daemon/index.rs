//! When the daily index of reports (`reports/index.html` and `reports/index-<date>.html`,
//! written by [`report::index`]) is rewritten: by one thread off the jobs' path.
//!
//! A finished job only marks its hotfolder ([`IndexWriter::touch`]); the thread rewrites
//! each marked index at most once per [`INDEX_EVERY`], so a burst of ten thousand files
//! costs a handful of rewrites a second instead of one per file. The page lists the newest
//! [`report::index::INDEX_ROWS`] jobs with their thumbnails and counts the whole day, so its size, and the
//! time to write it, stay the same however busy the day was. A clean stop writes every
//! index once more ([`IndexWriter::flush`]).

use std::collections::BTreeSet;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::warn;

use crate::config::Config;
use crate::ledger::Ledger;
use crate::report;

/// Longest a finished job waits to appear in its index.
pub const INDEX_EVERY: Duration = Duration::from_secs(1);

/// The handle the workers share: marks hotfolders whose index is out of date.
pub struct IndexWriter {
    tx: Mutex<Option<mpsc::Sender<String>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    config: Arc<Config>,
    ledger: Arc<Ledger>,
}

impl IndexWriter {
    /// Starts the thread.
    pub fn start(config: Arc<Config>, ledger: Arc<Ledger>) -> IndexWriter {
        let (tx, rx) = mpsc::channel::<String>();
        let (cfg, led) = (config.clone(), ledger.clone());
        let thread = std::thread::Builder::new()
            .name("realskin-index".into())
            .spawn(move || {
                let mut dirty = BTreeSet::new();
                while let Ok(name) = rx.recv() {
                    dirty.insert(name);
                    // Gather what else finishes meanwhile, then write each index once.
                    let until = Instant::now() + INDEX_EVERY;
                    while let Ok(name) =
                        rx.recv_timeout(until.saturating_duration_since(Instant::now()))
                    {
                        dirty.insert(name);
                    }
                    for name in std::mem::take(&mut dirty) {
                        write_for(&cfg, &led, &name);
                    }
                }
            })
            .ok();
        IndexWriter {
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(thread),
            config,
            ledger,
        }
    }

    /// The hotfolder `name` finished a job: its index is rewritten within [`INDEX_EVERY`].
    pub fn touch(&self, name: &str) {
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        let sent = tx
            .as_ref()
            .is_some_and(|t| t.send(name.to_string()).is_ok());
        drop(tx);
        if !sent {
            // No thread (it could not start, or the daemon is stopping): write it here.
            write_for(&self.config, &self.ledger, name);
        }
    }

    /// Stops the thread after its pending writes, then writes every hotfolder's index
    /// once more, so a clean stop leaves them complete.
    pub fn flush(&self) {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
        for hf in &self.config.hotfolder {
            write_for(&self.config, &self.ledger, &hf.name);
        }
    }
}

fn write_for(config: &Config, ledger: &Ledger, name: &str) {
    if let Some(hf) = config.hotfolder.iter().find(|h| h.name == name)
        && let Err(e) = report::index::write_day(
            ledger,
            &hf.name,
            &hf.reports,
            &config.daemon.state().previews(),
        )
    {
        warn!(hotfolder = %hf.name, error = %e, "Could not update the daily index of reports");
    }
}
