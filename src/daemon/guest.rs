//! Being a good guest on a workstation: when other programs keep the CPU busy (the artist
//! is rendering) or free memory runs low, realskin stops taking new images until the
//! machine has room again, and says why. Jobs already running finish.
//!
//! CPU is sampled every few seconds with sysinfo; realskin's own share is subtracted, so
//! its own work never makes it yield. A small hysteresis keeps it from flapping.

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// Thresholds; 0 turns a check off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Yield when other programs use more than this share of all cores (percent).
    pub cpu_percent: f64,
    /// Yield when free memory is below this (MiB).
    pub min_free_memory_mb: u64,
}

/// Samples the machine's load.
pub struct Guest {
    sys: Option<System>,
    pid: Pid,
    thresholds: Thresholds,
    yielding: bool,
}

/// What a sample found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    /// Share of all cores used by other programs, percent.
    pub other_cpu_percent: f64,
    /// Free memory, MiB.
    pub free_memory_mb: u64,
}

impl Guest {
    /// A sampler with these thresholds.
    pub fn new(thresholds: Thresholds) -> Self {
        let mut sys = System::new().ok();
        if let Some(s) = &mut sys {
            s.refresh_cpu_usage();
        }
        Self {
            sys,
            pid: Pid::from_u32(std::process::id()),
            thresholds,
            yielding: false,
        }
    }

    /// Whether any check is on.
    pub fn enabled(&self) -> bool {
        self.thresholds.cpu_percent > 0.0 || self.thresholds.min_free_memory_mb > 0
    }

    /// Takes a sample (call at least 200 ms apart).
    pub fn sample(&mut self) -> Option<Load> {
        let sys = self.sys.as_mut()?;
        sys.refresh_cpu_usage();
        sys.refresh_memory();
        sys.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[self.pid]),
            false,
            ProcessRefreshKind::nothing().with_cpu(),
        );
        let cores = sys.cpus().len().max(1) as f64;
        let global = f64::from(sys.global_cpu_usage());
        let own = sys
            .process(self.pid)
            .map(|p| f64::from(p.cpu_usage()) / cores)
            .unwrap_or(0.0);
        Some(Load {
            other_cpu_percent: (global - own).max(0.0),
            free_memory_mb: sys.available_memory() >> 20,
        })
    }

    /// Given a sample, the reason to yield now, if any.
    pub fn judge(&mut self, load: Load) -> Option<String> {
        let t = self.thresholds;
        // Once yielding, wait until the load is clearly lower again.
        let slack = if self.yielding { 10.0 } else { 0.0 };
        let cpu_busy = t.cpu_percent > 0.0 && load.other_cpu_percent > t.cpu_percent - slack;
        let mem_short = t.min_free_memory_mb > 0
            && load.free_memory_mb < t.min_free_memory_mb + if self.yielding { 256 } else { 0 };
        let reason = if cpu_busy {
            Some(format!(
                "other programs are using {:.0} % of the CPU (yield_above_cpu = {:.0})",
                load.other_cpu_percent, t.cpu_percent
            ))
        } else if mem_short {
            Some(format!(
                "only {} MiB of memory is free (yield_below_free_memory_mb = {})",
                load.free_memory_mb, t.min_free_memory_mb
            ))
        } else {
            None
        };
        self.yielding = reason.is_some();
        reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yields_on_busy_cpu_and_recovers_with_hysteresis() {
        let mut g = Guest::new(Thresholds {
            cpu_percent: 80.0,
            min_free_memory_mb: 0,
        });
        let load = |cpu| Load {
            other_cpu_percent: cpu,
            free_memory_mb: 8000,
        };
        assert!(g.judge(load(50.0)).is_none());
        assert!(g.judge(load(90.0)).unwrap().contains("90 %"));
        assert!(
            g.judge(load(75.0)).is_some(),
            "still busy within the hysteresis"
        );
        assert!(g.judge(load(60.0)).is_none());
    }

    #[test]
    fn yields_on_low_memory() {
        let mut g = Guest::new(Thresholds {
            cpu_percent: 0.0,
            min_free_memory_mb: 1024,
        });
        let r = g.judge(Load {
            other_cpu_percent: 100.0,
            free_memory_mb: 500,
        });
        assert!(r.unwrap().contains("500 MiB"));
    }
}
