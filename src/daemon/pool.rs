//! The worker pool: a fixed set of threads, each taking one job at a time from its own
//! channel and reporting back on a shared one. A job that panics is reported as a ledger
//! failure (it resumes at the next start) and the thread goes on.

use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;

use anyhow::Context;
use tokio::sync::mpsc;
use tracing::error;

use super::worker::{self, Work, WorkResult, WorkerCtx};

/// A worker's report back to the scheduler.
#[derive(Debug)]
pub struct Done {
    /// Which worker (now idle again).
    pub worker: usize,
    /// What it was given.
    pub work: Work,
    /// How it ended.
    pub result: WorkResult,
}

/// The running worker threads.
pub struct Pool {
    senders: Vec<Sender<Work>>,
    threads: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Starts `workers` threads; their reports arrive on the returned receiver.
    pub fn start(
        workers: usize,
        ctx: &Arc<WorkerCtx>,
    ) -> anyhow::Result<(Self, mpsc::UnboundedReceiver<Done>)> {
        let (done_tx, done_rx) = mpsc::unbounded_channel::<Done>();
        let mut senders = Vec::with_capacity(workers);
        let mut threads = Vec::with_capacity(workers);
        for i in 0..workers {
            let (tx, rx) = std::sync::mpsc::channel::<Work>();
            let ctx = ctx.clone();
            let done_tx = done_tx.clone();
            let handle = std::thread::Builder::new()
                .name(format!("realskin-worker-{i}"))
                .spawn(move || {
                    while let Ok(work) = rx.recv() {
                        let result = run_caught(&ctx, &work);
                        let done = Done {
                            worker: i,
                            work,
                            result,
                        };
                        if done_tx.send(done).is_err() {
                            break;
                        }
                    }
                })
                .context("cannot start worker threads")?;
            senders.push(tx);
            threads.push(handle);
        }
        Ok((Self { senders, threads }, done_rx))
    }

    /// Hands `work` to the idle `worker`; `false` if its thread is gone.
    pub fn send(&self, worker: usize, work: Work) -> bool {
        self.senders
            .get(worker)
            .is_some_and(|tx| tx.send(work).is_ok())
    }

    /// Closes the channels: idle threads end. A thread still rendering (past the grace
    /// period) is left to the process exit; its job resumes at the next start.
    pub fn stop(self) {
        drop(self.senders);
        for t in self.threads {
            if t.is_finished() {
                let _ = t.join();
            }
        }
    }
}

/// Runs one job, turning a panic into a ledger failure (the job resumes at the next start).
fn run_caught(ctx: &WorkerCtx, work: &Work) -> WorkResult {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| worker::run(ctx, work)))
        .unwrap_or_else(|_| {
            error!(
                ?work,
                "A job panicked; it will be resumed at the next start. Please report this as a bug"
            );
            WorkResult::LedgerFailed {
                parked: None,
                unreachable: false,
            }
        })
}
