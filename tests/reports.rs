//! The JSON report's shape, snapshot-tested on reports the real daemon wrote.
//! Times, durations, paths and hashes vary from run to run and are redacted.

mod common;

use std::time::Duration;

use common::{Daemon, Hotfolder, photo_png, wait_until};

/// The report with the temporary root written as `[root]`.
fn read_json(path: &std::path::Path, root: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    let root = root.canonicalize().unwrap();
    serde_json::from_str(&text.replace(root.to_str().unwrap(), "[root]")).unwrap()
}

#[test]
fn processed_and_failed_reports_keep_their_shape() {
    let hf = Hotfolder::new("", "");
    let daemon = Daemon::start(&hf.config);
    hf.drop_file("portrait_upscaled.png", &photo_png(300, 200, 42));
    let bytes = photo_png(300, 200, 43);
    hf.drop_file("damaged_truncated.png", &bytes[..bytes.len() / 2]);
    assert!(wait_until(Duration::from_secs(30), || {
        Hotfolder::json_reports(&hf.reports).len() == 2
    }));
    assert!(wait_until(Duration::from_secs(10), || Hotfolder::visible(
        &hf.failed
    )
    .len()
        == 2));
    assert!(daemon.stop().success());

    let processed = read_json(
        &hf.reports.join("portrait_upscaled.realskin.json"),
        hf.root.path(),
    );
    insta::assert_json_snapshot!("processed", processed, {
        ".started_at" => "[time]",
        ".finished_at" => "[time]",
        ".timings_ms.read" => "[ms]",
        ".timings_ms.decode" => "[ms]",
        ".timings_ms.profile" => "[ms]",
        ".timings_ms.stages" => "[ms]",
        ".timings_ms.encode" => "[ms]",
        ".timings_ms.write" => "[ms]",
        ".timings_ms.total" => "[ms]",
        ".stages[].ms" => "[ms]",
        ".stages[].details.timings_ms" => "[timings]",
        ".output.bytes" => "[bytes]",
        ".job" => "[job]",
        ".realskin" => "[version]",
    });

    let failed = read_json(
        &hf.reports.join("damaged_truncated.png.failed.json"),
        hf.root.path(),
    );
    insta::assert_json_snapshot!("failed", failed, {
        ".started_at" => "[time]",
        ".finished_at" => "[time]",
        ".timings_ms.read" => "[ms]",
        ".timings_ms.decode" => "[ms]",
        ".timings_ms.profile" => "[ms]",
        ".timings_ms.total" => "[ms]",
        ".job" => "[job]",
        ".realskin" => "[version]",
    });
}
