//! Memory planning for jobs in flight: a worker reserves what its image will need before
//! decoding it, and waits while the machine's free memory (from sysinfo) cannot hold
//! it next to the jobs already running. One job always runs, however large, so a big
//! image is slow rather than stuck. This is how "one worker per core" is lowered when
//! memory is short. A job can also ask to run alone (a file that was in flight at a crash):
//! it waits for the jobs in flight to end, and holds new ones off while it runs.

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
    /// A job that must run alone is running.
    alone: bool,
    /// Jobs waiting to run alone: new jobs wait behind them.
    waiting_alone: usize,
}

/// A reservation; released when dropped.
pub struct Permit<'a> {
    budget: &'a MemoryBudget,
    bytes: u64,
    alone: bool,
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
            let blocked = r.alone || r.waiting_alone > 0;
            if !blocked && (r.jobs == 0 || r.bytes.saturating_add(bytes) <= usable) {
                r.bytes += bytes;
                r.jobs += 1;
                return Permit {
                    budget: self,
                    bytes,
                    alone: false,
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

    /// Reserves `bytes` for a job that must run with no other job beside it: waits until
    /// the jobs in flight have ended (new ones wait behind it), then holds every other job
    /// off until the permit is dropped.
    pub fn acquire_alone(&self, bytes: u64) -> Permit<'_> {
        let mut r = self.reserved.lock().unwrap_or_else(|p| p.into_inner());
        r.waiting_alone += 1;
        while r.jobs > 0 {
            r = self
                .freed
                .wait_timeout(r, Duration::from_millis(500))
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        r.waiting_alone -= 1;
        r.alone = true;
        r.bytes += bytes;
        r.jobs += 1;
        Permit {
            budget: self,
            bytes,
            alone: true,
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
        if self.alone {
            r.alone = false;
        }
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

    #[test]
    fn a_job_that_must_run_alone_waits_for_the_others_and_holds_new_ones_off() {
        let budget = Arc::new(MemoryBudget::new());
        let running = budget.acquire(1);
        let b = budget.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let suspect = std::thread::spawn(move || {
            let p = b.acquire_alone(1);
            tx.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(300));
            drop(p);
        });
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            rx.try_recv().is_err(),
            "the suspect must wait for the job in flight"
        );
        // A new job asks while the suspect waits: it must come after the suspect.
        let b = budget.clone();
        let late = std::thread::spawn(move || {
            let _p = b.acquire(1);
            std::time::Instant::now()
        });
        std::thread::sleep(Duration::from_millis(100));
        drop(running);
        rx.recv_timeout(Duration::from_secs(5))
            .expect("the suspect runs once the job in flight ends");
        let suspect_started = std::time::Instant::now();
        let late_started = late.join().unwrap();
        suspect.join().unwrap();
        assert!(
            late_started >= suspect_started + Duration::from_millis(250),
            "a new job ran beside the suspect"
        );
        assert_eq!(budget.reserved(), 0);
    }
}
