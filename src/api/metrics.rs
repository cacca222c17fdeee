//! The Prometheus text exposition of `/metrics`: jobs by outcome, stage durations,
//! queue depth, workers busy, and each hotfolder's watch health.

use std::fmt::Write;

use crate::status::{RunState, Snapshot};

/// Adds `node="…"` to every series (in a fleet, where several machines report to one
/// Prometheus): first among the labels, so each series stays one per node.
pub fn with_node(text: &str, node: &str) -> String {
    let label = format!("node=\"{}\"", escape(node));
    let mut out = String::with_capacity(text.len() + 64 * 16);
    for line in text.lines() {
        if line.starts_with('#') || line.is_empty() {
            out.push_str(line);
        } else if let Some((name, rest)) = line.split_once('{') {
            let _ = write!(out, "{name}{{{label},{rest}");
        } else if let Some((name, value)) = line.split_once(' ') {
            let _ = write!(out, "{name}{{{label}}} {value}");
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// Renders the metrics for a snapshot and the ledger's all-time outcome counts.
pub fn render(snap: &Snapshot, all_time: &[(String, u64)]) -> String {
    let mut out = String::new();
    let jobs = "realskin_jobs_total";
    let _ = writeln!(
        out,
        "# HELP {jobs} Jobs finished since this daemon started, by outcome.\n# TYPE {jobs} counter"
    );
    for (outcome, n) in [
        ("processed", snap.counts.processed),
        ("failed", snap.counts.failed),
        ("duplicate", snap.counts.duplicate),
        ("skipped", snap.counts.skipped),
    ] {
        let _ = writeln!(out, "{jobs}{{outcome=\"{outcome}\"}} {n}");
    }

    let retries = "realskin_retries_total";
    let _ = writeln!(
        out,
        "# HELP {retries} Retries scheduled after a destination could not be written.\n# TYPE {retries} counter\n{retries} {}",
        snap.counts.retries
    );

    let ledger = "realskin_ledger_jobs";
    let _ = writeln!(
        out,
        "# HELP {ledger} Finished jobs in the ledger (all time), by outcome.\n# TYPE {ledger} gauge"
    );
    for (outcome, n) in all_time {
        let _ = writeln!(out, "{ledger}{{outcome=\"{}\"}} {n}", escape(outcome));
    }

    let stage = "realskin_stage_duration_seconds";
    let _ = writeln!(
        out,
        "# HELP {stage} Time spent per stage (and per whole job, stage=\"total\").\n# TYPE {stage} summary"
    );
    for (name, t) in &snap.stage_seconds {
        let _ = writeln!(
            out,
            "{stage}_sum{{stage=\"{}\"}} {:.6}",
            escape(name),
            t.seconds
        );
        let _ = writeln!(
            out,
            "{stage}_count{{stage=\"{}\"}} {}",
            escape(name),
            t.count
        );
    }

    for (name, help, value) in [
        (
            "realskin_queue_depth",
            "Images waiting for a worker.",
            snap.queue,
        ),
        (
            "realskin_jobs_running",
            "Images being processed.",
            snap.running,
        ),
        ("realskin_workers", "Worker threads.", snap.workers),
    ] {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    }

    let taking = matches!(snap.state, RunState::Running) as u8;
    let _ = writeln!(
        out,
        "# HELP realskin_intake_open 1 when new images are being taken (not paused, yielding, starting or stopping).\n# TYPE realskin_intake_open gauge\nrealskin_intake_open {taking}"
    );

    let health = "realskin_hotfolder_up";
    let _ = writeln!(
        out,
        "# HELP {health} 1 when the hotfolder's input is present and watched, by watch mode.\n# TYPE {health} gauge"
    );
    for h in &snap.hotfolders {
        let up = h.watch.is_up() as u8;
        let _ = writeln!(
            out,
            "{health}{{hotfolder=\"{}\",watch=\"{}\"}} {up}",
            escape(&h.name),
            h.watch.word()
        );
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fleet_node_labels_every_series_and_only_series() {
        let text = "# HELP a A.\n# TYPE a gauge\na 3\nb{outcome=\"x\"} 1\n";
        assert_eq!(
            with_node(text, "gpu-1"),
            "# HELP a A.\n# TYPE a gauge\na{node=\"gpu-1\"} 3\nb{node=\"gpu-1\",outcome=\"x\"} 1\n"
        );
    }
    use crate::status::{Counts, HotfolderStatus};
    use std::collections::{BTreeMap, VecDeque};

    #[test]
    fn renders_counters_gauges_and_summaries() {
        let mut stage_seconds = BTreeMap::new();
        stage_seconds.insert(
            "upscale".to_string(),
            crate::status::StageTotals {
                count: 2,
                seconds: 0.5,
            },
        );
        let snap = Snapshot {
            version: "0".into(),
            started_at: String::new(),
            state: RunState::Running,
            queue: 3,
            running: 1,
            workers: 2,
            counts: Counts {
                processed: 5,
                failed: 1,
                ..Counts::default()
            },
            per_minute: 0.0,
            hotfolders: vec![HotfolderStatus {
                name: "studio \"A\"".into(),
                input: String::new(),
                output: String::new(),
                watch: crate::status::Watch::Events,
                listed: true,
            }],
            last_errors: VecDeque::new(),
            stage_seconds,
        };
        let text = render(&snap, &[("processed".into(), 40)]);
        assert!(text.contains("realskin_jobs_total{outcome=\"processed\"} 5"));
        assert!(text.contains("realskin_queue_depth 3"));
        assert!(text.contains("realskin_stage_duration_seconds_count{stage=\"upscale\"} 2"));
        assert!(
            text.contains(
                "realskin_hotfolder_up{hotfolder=\"studio \\\"A\\\"\",watch=\"events\"} 1"
            )
        );
        assert!(text.contains("realskin_ledger_jobs{outcome=\"processed\"} 40"));
    }
}
