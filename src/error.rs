//! The two kinds of per-image failure an operator can meet, each told as a sentence
//! saying what went wrong and what to do.
//!
//! A [`JobError::Input`] is the image's fault (empty, damaged, too large, not an
//! image): trying again cannot help, so the original goes to `failed/` with the reason.
//! A [`JobError::Destination`] is the machine's (full disk, read-only share): the
//! original stays safe in staging and the job is tried again later.
//! Start-up and config failures are not here; they stop the daemon (see `config`).

use std::io;
use std::path::{Path, PathBuf};

/// Why one image could not be processed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The input itself is the problem; retrying will not help.
    #[error("{what}")]
    Input {
        /// Short machine-friendly kind (`empty`, `corrupt`, `too-large`, ...).
        kind: &'static str,
        /// What went wrong, as a sentence.
        what: String,
        /// What the operator should do.
        hint: String,
    },
    /// A destination could not be written; the job is retried.
    #[error("cannot write {}: {source}", path.display())]
    Destination {
        /// The file or folder that failed.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
}

impl JobError {
    /// An input problem.
    pub fn input(kind: &'static str, what: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::Input {
            kind,
            what: what.into(),
            hint: hint.into(),
        }
    }

    /// A destination problem at `path`.
    pub fn destination(path: &Path, source: io::Error) -> Self {
        Self::Destination {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_retriable(&self) -> bool {
        matches!(self, Self::Destination { .. })
    }

    /// A short identifier for reports and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Input { kind, .. } => kind,
            Self::Destination { .. } => "destination",
        }
    }

    /// What the operator should do about it.
    pub fn hint(&self) -> String {
        match self {
            Self::Input { hint, .. } => hint.clone(),
            Self::Destination { path, source } => destination_hint(path, source),
        }
    }
}

fn destination_hint(path: &Path, e: &io::Error) -> String {
    let folder = path
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    match e.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => format!(
            "The disk holding {folder} is full. Free some space; realskin tries again on its own and the original is safe meanwhile."
        ),
        Some(libc::EROFS) => format!(
            "{folder} is on a read-only disk or share. Remount it writable or point the hotfolder elsewhere; realskin tries again on its own."
        ),
        Some(libc::EACCES) | Some(libc::EPERM) => format!(
            "This user may not write to {folder}. Fix its permissions; realskin tries again on its own."
        ),
        _ => format!(
            "Check that {folder} exists and is writable; realskin tries again on its own and the original is safe meanwhile."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_errors_are_retriable_and_explained() {
        let e = JobError::destination(
            Path::new("/out/a.png"),
            io::Error::from_raw_os_error(libc::ENOSPC),
        );
        assert!(e.is_retriable());
        assert!(e.hint().contains("full"), "{}", e.hint());
        let e = JobError::input("empty", "The file is empty.", "Copy it again.");
        assert!(!e.is_retriable());
        assert_eq!(e.kind(), "empty");
    }
}
