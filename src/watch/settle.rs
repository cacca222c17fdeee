//! The stability gate: a file is taken only once its size and modification time have
//! stayed the same for `settle`, so a slow copy, a download or a sync client still
//! writing it is never read half-way.
//!
//! An empty file waits five times longer (some copiers create the file first and fill
//! it later); if it is still empty then, it is taken and fails as empty, with a reason.
//! The gate is plain logic over a clock and a `stat` function, so it is tested without
//! sleeping.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// What `stat` saw of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileState {
    /// Bytes.
    pub size: u64,
    /// Last modification.
    pub mtime: Option<SystemTime>,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    state: Option<FileState>,
    since: Instant,
}

/// Files seen but not yet stable.
#[derive(Debug)]
pub struct SettleGate {
    settle: Duration,
    pending: HashMap<PathBuf, Seen>,
}

impl SettleGate {
    /// A gate that waits `settle`.
    pub fn new(settle: Duration) -> Self {
        Self {
            settle,
            pending: HashMap::new(),
        }
    }

    /// How long an empty file waits before it is taken (and fails as empty).
    pub fn empty_settle(&self) -> Duration {
        self.settle * 5
    }

    /// Notes that `path` may have changed. A path already pending keeps its timer: the
    /// next check compares size and time and restarts the timer only if they moved.
    pub fn observe(&mut self, path: PathBuf, now: Instant) {
        self.pending.entry(path).or_insert(Seen {
            state: None,
            since: now,
        });
    }

    /// Whether `path` is waiting.
    pub fn is_pending(&self, path: &Path) -> bool {
        self.pending.contains_key(path)
    }

    /// Files waiting.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Re-reads every pending file and returns those that are stable; they leave the gate.
    /// Files that vanished leave it too.
    pub fn check(
        &mut self,
        now: Instant,
        mut stat: impl FnMut(&Path) -> Option<FileState>,
    ) -> Vec<PathBuf> {
        let mut ready = Vec::new();
        let settle = self.settle;
        let empty_settle = self.empty_settle();
        self.pending.retain(|path, seen| {
            let Some(current) = stat(path) else {
                return false;
            };
            if seen.state != Some(current) {
                seen.state = Some(current);
                seen.since = now;
                return true;
            }
            let waited = now.saturating_duration_since(seen.since);
            let needed = if current.size == 0 {
                empty_settle
            } else {
                settle
            };
            if waited >= needed {
                ready.push(path.clone());
                return false;
            }
            true
        });
        ready.sort();
        ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn a_growing_file_is_not_taken_until_it_stops() {
        let mut gate = SettleGate::new(Duration::from_secs(2));
        let t0 = Instant::now();
        let p = PathBuf::from("/in/slow.png");
        let size = RefCell::new(1024u64);
        let stat = |_: &Path| {
            Some(FileState {
                size: *size.borrow(),
                mtime: None,
            })
        };
        gate.observe(p.clone(), t0);
        // 1 KiB every 200 ms for 5 s: never ready while it grows.
        for i in 1..=25 {
            let now = t0 + Duration::from_millis(200 * i);
            *size.borrow_mut() += 1024;
            assert!(gate.check(now, stat).is_empty(), "taken early at {i}");
        }
        let stopped = t0 + Duration::from_millis(5000);
        assert!(
            gate.check(stopped + Duration::from_millis(1900), stat)
                .is_empty()
        );
        assert_eq!(
            gate.check(stopped + Duration::from_millis(2000), stat),
            vec![p]
        );
        assert!(gate.is_empty());
    }

    #[test]
    fn empty_files_wait_longer_and_vanished_files_leave() {
        let mut gate = SettleGate::new(Duration::from_secs(1));
        let t0 = Instant::now();
        gate.observe("/in/empty.png".into(), t0);
        gate.observe("/in/gone.png".into(), t0);
        let stat = |p: &Path| {
            (p.ends_with("empty.png")).then_some(FileState {
                size: 0,
                mtime: None,
            })
        };
        assert!(gate.check(t0, stat).is_empty());
        assert_eq!(gate.len(), 1, "the vanished file left");
        assert!(gate.check(t0 + Duration::from_secs(4), stat).is_empty());
        assert_eq!(
            gate.check(t0 + Duration::from_secs(5), stat),
            vec![PathBuf::from("/in/empty.png")]
        );
    }
}
