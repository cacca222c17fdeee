//! The state folder (`[daemon] state_dir`) and every path realskin keeps under it, in one
//! place: the job ledger, the logs, the API's address and token, the job previews, and the
//! folders an ONNX Runtime library may be dropped into. The daemon, the API, its client, the
//! tray, the log set-up and the CLI all ask this module instead of joining names of their own.
//! It depends on nothing else in the crate.
//!
//! ```text
//! <state_dir>/            private to its user (0700 on Unix)
//!   ledger.sqlite         the job database (and its -wal, -shm)
//!   api.json              where the running daemon's API listens
//!   api-token             the API's bearer token (0600)
//!   logs/                 daily log files
//!   previews/<job id>/    before/after pictures of each job, for the dashboard
//!   onnxruntime/          an ONNX Runtime library dropped here is found (so is one at the top)
//! ```

use std::path::{Path, PathBuf};

/// The state folder of one daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// The job ledger's file name.
    pub const LEDGER_FILE: &str = "ledger.sqlite";
    /// The API's address file (`{"url": …}`), written when it listens.
    pub const ADDRESS_FILE: &str = "api.json";
    /// The API's token file.
    pub const TOKEN_FILE: &str = "api-token";

    pub fn new(root: impl Into<PathBuf>) -> StateDir {
        StateDir { root: root.into() }
    }

    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The SQLite job ledger.
    pub fn ledger(&self) -> PathBuf {
        self.root.join(Self::LEDGER_FILE)
    }

    /// Daily log files.
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// Where the running daemon's API listens.
    pub fn api_address(&self) -> PathBuf {
        self.root.join(Self::ADDRESS_FILE)
    }

    /// The API's bearer token.
    pub fn api_token(&self) -> PathBuf {
        self.root.join(Self::TOKEN_FILE)
    }

    /// Every job's previews.
    pub fn previews(&self) -> PathBuf {
        self.root.join("previews")
    }

    /// One job's previews.
    pub fn job_previews(&self, job: i64) -> PathBuf {
        self.previews().join(job.to_string())
    }

    /// Folders searched for an ONNX Runtime library, in order.
    pub fn onnxruntime_dirs(&self) -> [PathBuf; 2] {
        [self.root.clone(), self.root.join("onnxruntime")]
    }

    /// Creates the folder and makes it private to its user (0700 on Unix): the ledger and the
    /// logs name every file the studio processed, and the API token lives there. Errors say
    /// what to change.
    pub fn create_private(&self) -> Result<(), String> {
        let shown = self.root.display();
        std::fs::create_dir_all(&self.root).map_err(|e| {
            format!(
                "cannot create the state folder {shown} ({e}); set [daemon] state_dir to a writable folder"
            )
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&self.root)
                .map_err(|e| format!("cannot read the state folder {shown} ({e})"))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                std::fs::set_permissions(&self.root, std::fs::Permissions::from_mode(0o700))
                    .map_err(|e| {
                        format!(
                            "cannot make the state folder {shown} private (chmod 700: {e}); it holds the ledger, the logs and the API token. Set [daemon] state_dir to a folder you own"
                        )
                    })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_lies_under_the_folder() {
        let s = StateDir::new("/var/lib/realskin");
        for p in [
            s.ledger(),
            s.logs(),
            s.api_address(),
            s.api_token(),
            s.previews(),
            s.job_previews(42),
        ]
        .into_iter()
        .chain(s.onnxruntime_dirs())
        {
            assert!(p.starts_with(s.root()), "{}", p.display());
        }
        assert_eq!(
            s.job_previews(42),
            Path::new("/var/lib/realskin/previews/42")
        );
        assert_eq!(s.ledger(), Path::new("/var/lib/realskin/ledger.sqlite"));
    }

    #[cfg(unix)]
    #[test]
    fn the_folder_is_created_private_and_an_open_one_tightened() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let new = StateDir::new(root.path().join("new/state"));
        new.create_private().unwrap();
        assert_eq!(mode(new.root()), 0o700);
        let open = root.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        StateDir::new(&open).create_private().unwrap();
        assert_eq!(mode(&open), 0o700);
    }

    #[test]
    fn a_folder_that_cannot_be_made_says_which_setting_to_change() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("a-file");
        std::fs::write(&file, b"x").unwrap();
        let err = StateDir::new(file.join("state"))
            .create_private()
            .unwrap_err();
        assert!(err.contains("[daemon] state_dir"), "{err}");
        assert!(err.contains("a-file"), "{err}");
    }
}
