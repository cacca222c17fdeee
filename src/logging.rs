//! Logging: human-readable lines on stderr and, for the daemon, daily-rotated files in
//! `<state_dir>/logs` (the newest `log_files` kept).
//!
//! The file writer runs on its own thread but is not lossy: when it falls behind,
//! logging waits rather than dropping a line, because each job's outcome is one line
//! an operator may need later. `RUST_LOG` overrides the level (`info` by default).

use std::io::IsTerminal;
use std::path::Path;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, fmt};

/// Keeps the file writer alive; drop it last so the final lines are flushed.
pub struct LogGuard(#[allow(dead_code)] Option<WorkerGuard>);

fn filter() -> EnvFilter {
    // notify reports routine watch bookkeeping at info, and ort (ONNX Runtime) its device
    // discovery and session set-up: only their warnings matter here. c2pa logs each step
    // of reading a manifest and warns about features realskin does not use; what it finds
    // reaches the report as evidence, so only its errors are logged.
    EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,notify=warn,ort=warn,c2pa=error"))
}

fn stderr_layer<S>() -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .with_filter(filter())
}

/// Logs to stderr only (one-shot commands).
pub fn init_stderr() -> LogGuard {
    let _ = tracing_subscriber::registry()
        .with(stderr_layer())
        .try_init();
    LogGuard(None)
}

/// Logs to stderr and to daily files in `dir` (the state folder's `logs`), keeping `keep`.
pub fn init_daemon(dir: &Path, keep: usize) -> anyhow::Result<LogGuard> {
    std::fs::create_dir_all(dir)?;
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix("realskin")
        .filename_suffix("log")
        .max_log_files(keep.max(1))
        .build(dir)?;
    let (file, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("realskin-log")
        .finish(appender);
    let _ = tracing_subscriber::registry()
        .with(stderr_layer())
        .with(
            fmt::layer()
                .with_writer(file)
                .with_ansi(false)
                .with_target(false)
                .with_filter(filter()),
        )
        .try_init();
    Ok(LogGuard(Some(guard)))
}
