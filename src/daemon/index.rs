//! The daily index of reports (`reports/index.html` and `reports/index-<date>.html`), kept
//! up to date by one thread off the jobs' path.
//!
//! A finished job only marks its hotfolder ([`IndexWriter::touch`]); the thread rewrites
//! each marked index at most once per [`INDEX_EVERY`], so a burst of ten thousand files
//! costs a handful of rewrites a second instead of one per file. The page lists the newest
//! [`INDEX_ROWS`] jobs with their thumbnails and counts the whole day, so its size, and the
//! time to write it, stay the same however busy the day was. A clean stop writes every
//! index once more ([`IndexWriter::flush`]).

use std::collections::BTreeSet;
use std::fs;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::warn;

use crate::config::{Config, HotfolderConfig};
use crate::ledger::{Ledger, now_ms};
use crate::output;
use crate::report::{self, Outcome};

/// Longest a finished job waits to appear in its index.
pub const INDEX_EVERY: Duration = Duration::from_secs(1);
/// Jobs listed (with thumbnails) on a day's page; the counts cover the whole day.
pub const INDEX_ROWS: u32 = 300;

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
        && let Err(e) = write_day_index(config, ledger, hf)
    {
        warn!(hotfolder = %hf.name, error = %e, "Could not update the daily index of reports");
    }
}

/// Rewrites today's index of the hotfolder's reports (`reports/index-<date>.html`, and
/// `reports/index.html` for the latest day).
fn write_day_index(config: &Config, ledger: &Ledger, hf: &HotfolderConfig) -> std::io::Result<()> {
    let date = report::today();
    let day_start = now_ms() - now_ms().rem_euclid(86_400_000);
    let day_end = day_start + 86_400_000;
    let rows = ledger
        .finished_between_newest(&hf.name, day_start, day_end, INDEX_ROWS)
        .map_err(std::io::Error::other)?;
    let mut totals = report::html::DayTotals::default();
    for (outcome, n) in ledger
        .outcomes_between(&hf.name, day_start, day_end)
        .map_err(std::io::Error::other)?
    {
        totals.all += n;
        match outcome.as_str() {
            "processed" => totals.processed += n,
            "failed" => totals.failed += n,
            _ => {}
        }
    }
    if totals.all == 0 {
        return Ok(());
    }
    let previews = config.daemon.state().previews();
    let entries: Vec<report::html::IndexEntry> = rows
        .iter()
        .map(|r| {
            let outcome = r.outcome.unwrap_or(Outcome::Failed);
            let summary = match (&r.output_path, &r.error) {
                (_, Some(e)) if outcome == Outcome::Failed => e
                    .lines()
                    .find(|l| l.starts_with("What went wrong"))
                    .unwrap_or(e)
                    .to_string(),
                (Some(o), _) => format!("→ {}", o.display()),
                _ => String::new(),
            };
            report::html::IndexEntry {
                name: r.rel_path.display().to_string(),
                outcome,
                finished_at: report::rfc3339_from_ms(r.finished_at.unwrap_or(r.updated_at)),
                report_href: r
                    .report_path
                    .as_ref()
                    .and_then(|p| p.strip_prefix(&hf.reports).ok())
                    .map(|p| {
                        p.with_extension("html")
                            .to_string_lossy()
                            .replace('\\', "/")
                    }),
                icon: fs::read(previews.join(r.id.to_string()).join("icon.jpg")).ok(),
                summary,
            }
        })
        .collect();
    let page = report::html::day_index(&hf.name, &date, &entries, totals);
    output::write_atomic(
        &hf.reports.join(format!("index-{date}.html")),
        page.as_bytes(),
    )?;
    output::write_atomic(&hf.reports.join("index.html"), page.as_bytes())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::ledger::JobState;

    #[test]
    fn a_busy_day_lists_the_newest_jobs_and_counts_them_all() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("ledger.sqlite")).unwrap();
        let mut config = Config::default();
        config.daemon.state_dir = dir.path().join("state");
        config.hotfolder.truncate(1);
        let hf = &mut config.hotfolder[0];
        hf.reports = dir.path().join("reports");
        std::fs::create_dir_all(&hf.reports).unwrap();
        let n = INDEX_ROWS as usize + 100;
        for i in 0..n {
            let rel = format!("img-{i}.png");
            let (id, _) = ledger
                .begin_claim(&hf.name, Path::new(&rel), Path::new(&rel), dir.path())
                .unwrap();
            let (state, outcome) = if i % 10 == 0 {
                (JobState::Failed, Outcome::Failed)
            } else {
                (JobState::Done, Outcome::Processed)
            };
            ledger.finish(id, state, outcome, None, None).unwrap();
        }
        write_day_index(&config, &ledger, &config.hotfolder[0]).unwrap();
        let page = std::fs::read_to_string(config.hotfolder[0].reports.join("index.html")).unwrap();
        assert!(
            page.contains(&format!(
                "{n} images: {} finished, {} failed",
                n - n / 10,
                n / 10
            )),
            "{}",
            &page[..page.len().min(600)]
        );
        assert!(page.contains(&format!("The newest {INDEX_ROWS} are listed")));
        assert_eq!(page.matches("<tr>").count(), INDEX_ROWS as usize);
    }
}
