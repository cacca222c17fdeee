//! The exactly-once state machine of a job, as pure functions: what to do next, from the
//! job's ledger row and what the disk shows. The worker ([`super::worker`]) looks at the
//! disk, asks here, and acts; every decision a resumed job takes after a crash is made in
//! this file and tested beside it.

use std::path::PathBuf;

use crate::config::OnCollision;
use crate::ledger::{JobRow, JobState};
use crate::report::Outcome;

/// What the disk shows about a job, looked at before acting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskFacts {
    /// The job's hotfolder is still in the configuration.
    pub hotfolder_known: bool,
    /// The claimed original is in staging.
    pub staged: bool,
}

/// The next step of a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Finished before: nothing to do but say how it ended.
    Finished(Outcome),
    /// The hotfolder was removed from the config: put the original back where it was dropped.
    PutBack,
    /// The crash came before the claim's rename: the file is still in the input, so the
    /// claim is dropped and the file is taken again at the next listing.
    DropClaim,
    /// Render, then write the output, the report and move the original (a resumed job
    /// renders the same bytes, and finds an output it already placed).
    Render,
    /// The report is written: only the original is left to move.
    PlaceOriginal,
}

/// The next step for `row`, given what the disk shows.
pub fn next_step(row: &JobRow, disk: DiskFacts) -> Step {
    match row.state {
        JobState::Done | JobState::Failed => Step::Finished(finished_outcome(row)),
        _ if !disk.hotfolder_known => Step::PutBack,
        JobState::Claiming if !disk.staged => Step::DropClaim,
        JobState::Claiming | JobState::Claimed | JobState::Retry | JobState::Written => {
            Step::Render
        }
        JobState::Reported => Step::PlaceOriginal,
    }
}

/// How a reported or finished job ended: the outcome the ledger recorded with the report
/// (a finished duplicate stays a duplicate), or, for a row written before outcomes were
/// recorded, what its state says.
pub fn finished_outcome(row: &JobRow) -> Outcome {
    row.outcome.unwrap_or(if row.state == JobState::Failed {
        Outcome::Failed
    } else {
        Outcome::Processed
    })
}

/// Where the output goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputTarget {
    /// A resumed job placed its output before the crash: it is there and it is this job's.
    AlreadyPlaced(PathBuf),
    /// The recorded name, written again (with `on_collision = "overwrite"`, or because the
    /// crash came before the file appeared); a sidecar left there alone is this job's own.
    Recorded(PathBuf),
    /// No name recorded yet: choose one.
    Choose,
}

/// Where the output goes, from the name the ledger recorded (if any) and whether a file is
/// there.
pub fn output_target(row: &JobRow, policy: OnCollision, recorded_exists: bool) -> OutputTarget {
    match &row.output_path {
        Some(p) if policy != OnCollision::Overwrite && recorded_exists => {
            OutputTarget::AlreadyPlaced(p.clone())
        }
        Some(p) => OutputTarget::Recorded(p.clone()),
        None => OutputTarget::Choose,
    }
}

/// What happens to the staged original once the report is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OriginalMove {
    /// It went before a crash: nothing to move.
    Gone,
    /// Move it to its planned place (done/, failed/, or back into the input).
    To(PathBuf),
    /// `on_success = "delete"`: remove it.
    Delete,
}

/// What to do with the staged original of a reported job.
pub fn original_move(row: &JobRow, staged: bool) -> OriginalMove {
    match (&row.final_path, staged) {
        (_, false) => OriginalMove::Gone,
        (Some(dest), true) => OriginalMove::To(dest.clone()),
        (None, true) => OriginalMove::Delete,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn row(state: JobState, outcome: Option<Outcome>) -> JobRow {
        JobRow {
            id: 7,
            hotfolder: "default".into(),
            rel_path: "a.png".into(),
            original_path: "/in/a.png".into(),
            staged_path: "/in/.realskin/processing/x/7/a.png".into(),
            size: None,
            hash: None,
            state,
            attempts: 0,
            next_attempt_at: None,
            output_path: None,
            report_path: None,
            final_path: None,
            outcome,
            error: None,
            created_at: 0,
            updated_at: 0,
            finished_at: None,
            crashes: 0,
        }
    }

    const ALL: [JobState; 7] = [
        JobState::Claiming,
        JobState::Claimed,
        JobState::Written,
        JobState::Reported,
        JobState::Retry,
        JobState::Done,
        JobState::Failed,
    ];

    fn disk(hotfolder_known: bool, staged: bool) -> DiskFacts {
        DiskFacts {
            hotfolder_known,
            staged,
        }
    }

    #[test]
    fn every_state_and_disk_gives_one_step() {
        use JobState::*;
        for state in ALL {
            for known in [true, false] {
                for staged in [true, false] {
                    let got = next_step(&row(state, None), disk(known, staged));
                    let want = match (state, known, staged) {
                        (Done, ..) => Step::Finished(Outcome::Processed),
                        (Failed, ..) => Step::Finished(Outcome::Failed),
                        (_, false, _) => Step::PutBack,
                        (Claiming, true, false) => Step::DropClaim,
                        (Reported, true, _) => Step::PlaceOriginal,
                        (Claiming | Claimed | Written | Retry, true, _) => Step::Render,
                    };
                    assert_eq!(got, want, "{state:?}, hotfolder {known}, staged {staged}");
                }
            }
        }
    }

    #[test]
    fn a_finished_job_keeps_the_outcome_its_report_recorded() {
        // A duplicate or a skipped job counts as what it was, however often it is looked at.
        for o in [Outcome::Duplicate, Outcome::Skipped, Outcome::Processed] {
            assert_eq!(finished_outcome(&row(JobState::Done, Some(o))), o);
            assert_eq!(finished_outcome(&row(JobState::Reported, Some(o))), o);
            assert_eq!(
                next_step(&row(JobState::Done, Some(o)), disk(true, false)),
                Step::Finished(o)
            );
        }
        assert_eq!(
            finished_outcome(&row(JobState::Failed, Some(Outcome::Failed))),
            Outcome::Failed
        );
        // Rows without a recorded outcome: their state decides.
        assert_eq!(
            finished_outcome(&row(JobState::Failed, None)),
            Outcome::Failed
        );
        assert_eq!(
            finished_outcome(&row(JobState::Done, None)),
            Outcome::Processed
        );
    }

    #[test]
    fn a_resumed_job_never_writes_its_output_twice() {
        let mut r = row(JobState::Written, None);
        // No name yet: one is chosen.
        assert_eq!(
            output_target(&r, OnCollision::Version, false),
            OutputTarget::Choose
        );
        let out = PathBuf::from("/out/a.realskin.png");
        r.output_path = Some(out.clone());
        for policy in [OnCollision::Version, OnCollision::Skip] {
            // Placed before the crash: kept, not written again under a second name.
            assert_eq!(
                output_target(&r, policy, true),
                OutputTarget::AlreadyPlaced(out.clone())
            );
            // Named but the crash came before the file appeared: written under that name.
            assert_eq!(
                output_target(&r, policy, false),
                OutputTarget::Recorded(out.clone())
            );
        }
        // Overwrite writes the recorded name again whatever is there.
        assert_eq!(
            output_target(&r, OnCollision::Overwrite, true),
            OutputTarget::Recorded(out)
        );
    }

    #[test]
    fn the_original_moves_once() {
        let mut r = row(JobState::Reported, Some(Outcome::Processed));
        // on_success = "delete" plans no place.
        assert_eq!(original_move(&r, true), OriginalMove::Delete);
        let dest = Path::new("/in/done/a.png").to_path_buf();
        r.final_path = Some(dest.clone());
        assert_eq!(original_move(&r, true), OriginalMove::To(dest));
        // Moved before a crash: not again.
        assert_eq!(original_move(&r, false), OriginalMove::Gone);
    }
}
