//! Memory planning for jobs in flight: a worker reserves what its image will need before
//! decoding it, and waits while the machine's free memory (from sysinfo) cannot hold
//! it next to the jobs already running. One job always runs, however large, so a big
//! image is slow rather than stuck. This is how "one worker per core" is lowered when
//! memory is short.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use tracing::info;

/// Share of the free memory jobs may plan to use.
const USABLE_SHARE: f64 = 0.8;

/// Reservations of memory for jobs in flight.
pub struct MemoryBudget {
    reserved: Mutex<Reserved>,
    freed: Condvar,
    system: Option<Mutex<sysinfo::System>>,
}

#[derive(Default)]
struct Reserved {
    bytes: u64,
    jobs: usize,
}

/// A reservation; released when dropped.
pub struct Permit<'a> {
    budget: &'a MemoryBudget,
    bytes: u64,
}

impl Default for MemoryBudget {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryBudget {
    /// A budget over the machine's free memory.
    pub fn new() -> Self {
        Self {
            reserved: Mutex::new(Reserved::default()),
            freed: Condvar::new(),
            system: sysinfo::System::new().ok().map(Mutex::new),
        }
    }

    /// Free memory in bytes; unlimited where the platform does not say.
    fn available(&self) -> u64 {
        let Some(system) = &self.system else {
            return u64::MAX;
        };
        let mut sys = system.lock().unwrap_or_else(|p| p.into_inner());
        sys.refresh_memory();
        match sys.available_memory() {
            0 => u64::MAX,
            n => n,
        }
    }

    /// Reserves `bytes`, waiting while other jobs hold what the machine has free.
    pub fn acquire(&self, bytes: u64) -> Permit<'_> {
        let mut logged = false;
        let mut r = self.reserved.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            // Reserved memory is not yet allocated, so it is still counted as free.
            let usable = (self.available() as f64 * USABLE_SHARE) as u64;
            if r.jobs == 0 || r.bytes.saturating_add(bytes) <= usable {
                r.bytes += bytes;
                r.jobs += 1;
                return Permit {
                    budget: self,
                    bytes,
                };
            }
            if !logged {
                info!(
                    need_mb = bytes >> 20,
                    reserved_mb = r.bytes >> 20,
                    free_mb = usable >> 20,
                    "Waiting for memory before starting the next image"
                );
                logged = true;
            }
            r = self
                .freed
                .wait_timeout(r, Duration::from_millis(500))
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// Bytes reserved now.
    pub fn reserved(&self) -> u64 {
        self.reserved
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .bytes
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut r = self
            .budget
            .reserved
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        r.bytes = r.bytes.saturating_sub(self.bytes);
        r.jobs = r.jobs.saturating_sub(1);
        self.budget.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn one_job_always_runs_and_the_next_waits_for_room() {
        let budget = Arc::new(MemoryBudget::new());
        let huge = u64::MAX / 4;
        let first = budget.acquire(huge);
        assert_eq!(budget.reserved(), huge);
        let b = budget.clone();
        let waiter = std::thread::spawn(move || {
            let _p = b.acquire(huge);
        });
        std::thread::sleep(Duration::from_millis(200));
        assert!(!waiter.is_finished(), "the second huge job must wait");
        drop(first);
        waiter.join().unwrap();
        assert_eq!(budget.reserved(), 0);
    }
}
