//! The daily index of one hotfolder's reports (`index.html`, `index-<date>.html`): the day's
//! newest jobs with their thumbnails and what happened, and the whole day's counts. Read from
//! the ledger and written atomically; the daemon decides when (see `daemon::index`).

use std::fs;
use std::path::Path;

use super::{Outcome, html};
use crate::ledger::{Ledger, now_ms};
use crate::output;

/// Jobs listed (with thumbnails) on a day's page; the counts cover the whole day.
pub const INDEX_ROWS: u32 = 300;

/// Rewrites today's index of one hotfolder's reports (`<reports>/index-<date>.html`, and
/// `<reports>/index.html` for the latest day), with the thumbnails kept under `previews`
/// (`<previews>/<job>/icon.jpg`). A day without a finished job writes nothing.
pub fn write_day(
    ledger: &Ledger,
    hotfolder: &str,
    reports: &Path,
    previews: &Path,
) -> std::io::Result<()> {
    let date = super::today();
    let day_start = now_ms() - now_ms().rem_euclid(86_400_000);
    let day_end = day_start + 86_400_000;
    let rows = ledger
        .finished_between_newest(hotfolder, day_start, day_end, INDEX_ROWS)
        .map_err(std::io::Error::other)?;
    let mut totals = html::DayTotals::default();
    for (outcome, n) in ledger
        .outcomes_between(hotfolder, day_start, day_end)
        .map_err(std::io::Error::other)?
    {
        totals.all += n;
        match outcome {
            Outcome::Processed => totals.processed += n,
            Outcome::Failed => totals.failed += n,
            Outcome::Duplicate | Outcome::Skipped => {}
        }
    }
    if totals.all == 0 {
        return Ok(());
    }
    let entries: Vec<html::IndexEntry> = rows
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
            html::IndexEntry {
                name: r.rel_path.display().to_string(),
                outcome,
                finished_at: super::rfc3339_from_ms(r.finished_at.unwrap_or(r.updated_at)),
                report_href: r
                    .report_path
                    .as_ref()
                    .and_then(|p| p.strip_prefix(reports).ok())
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
    let page = html::day_index(hotfolder, &date, &entries, totals);
    output::write_atomic(&reports.join(format!("index-{date}.html")), page.as_bytes())?;
    output::write_atomic(&reports.join("index.html"), page.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::JobState;

    #[test]
    fn a_busy_day_lists_the_newest_jobs_and_counts_them_all() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("ledger.sqlite")).unwrap();
        let reports = dir.path().join("reports");
        std::fs::create_dir_all(&reports).unwrap();
        let hf = "default";
        let n = INDEX_ROWS as usize + 100;
        for i in 0..n {
            let rel = format!("img-{i}.png");
            let (id, _) = ledger
                .begin_claim(hf, Path::new(&rel), Path::new(&rel), dir.path(), "")
                .unwrap();
            let (state, outcome) = if i % 10 == 0 {
                (JobState::Failed, Outcome::Failed)
            } else {
                (JobState::Done, Outcome::Processed)
            };
            ledger.finish(id, state, outcome, None, None).unwrap();
        }
        write_day(&ledger, hf, &reports, &dir.path().join("previews")).unwrap();
        let page = std::fs::read_to_string(reports.join("index.html")).unwrap();
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
