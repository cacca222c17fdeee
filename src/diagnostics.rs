//! What a check found wrong, for people: a [`Problem`] with its [`Severity`], the file and
//! line it is about, the setting, and a sentence that says what to change. The config
//! checker, the ONNX model checks and `realskin check` speak it; it depends on nothing
//! else in the crate.

use std::fmt;
use std::path::PathBuf;

/// How serious a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// realskin will not start with this.
    Error,
    /// realskin starts, but the user should know.
    Warning,
}

/// One mistake in a config file, with where it is and what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// The config file, when there is one.
    pub file: Option<PathBuf>,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The key, dotted (`hotfolder[1].output`), or empty for the whole file.
    pub key: String,
    /// What is wrong and what to do, as a sentence.
    pub message: String,
    /// About the machine rather than the file (a folder missing or not writable right
    /// now): `run` logs it and starts anyway, retrying jobs until it is fixed.
    pub transient: bool,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{}:{line}: ", file.display())?,
            (Some(file), None) => write!(f, "{}: ", file.display())?,
            (None, Some(line)) => write!(f, "line {line}: ")?,
            (None, None) => {}
        }
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        if self.key.is_empty() {
            write!(f, "{level}: {}", self.message)
        } else {
            write!(f, "{level}: `{}`: {}", self.key, self.message)
        }
    }
}
