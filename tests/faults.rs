//! Faults the daemon must survive without losing, repeating or half-writing a job:
//! a crash mid-burst, a read-only destination, a full disk, a shutdown mid-job.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Daemon, Hotfolder, is_root, photo_png, wait_until};

/// Every image has exactly one output, one report and its original in done/; nothing is
/// left in staging and no temporary file survives.
fn assert_exactly_once(hf: &Hotfolder, names: &[String]) {
    let outputs = Hotfolder::visible(&hf.output);
    let want: Vec<String> = names
        .iter()
        .map(|n| n.replace(".png", ".realskin.png"))
        .collect();
    let mut sorted = want.clone();
    sorted.sort();
    assert_eq!(outputs, sorted, "exactly one output per image");
    for o in &outputs {
        let bytes = std::fs::read(hf.output.join(o)).unwrap();
        assert!(common::decodes(&bytes), "{o} is complete");
    }
    assert_eq!(
        Hotfolder::json_reports(&hf.reports).len(),
        names.len(),
        "one report each"
    );
    let mut done = Hotfolder::visible(&hf.done);
    done.sort();
    let mut originals = names.to_vec();
    originals.sort();
    assert_eq!(done, originals);
    // Outputs, reports and the previews in the state folder: a killed run's half-written
    // files are removed at the next start.
    let hidden_out: Vec<_> = [&hf.output, &hf.reports, &hf.state]
        .into_iter()
        .flat_map(|d| Hotfolder::files(d))
        .filter(|f| f.contains(".realskin-tmp-"))
        .collect();
    assert!(
        hidden_out.is_empty(),
        "temporary files left: {hidden_out:?}"
    );
    let staged: Vec<_> = Hotfolder::files(&hf.input)
        .into_iter()
        .filter(|f| f.starts_with(".realskin/processing"))
        .collect();
    assert!(staged.is_empty(), "staging not empty: {staged:?}");
}

#[test]
fn sigkill_mid_burst_then_restart_completes_every_job_exactly_once() {
    let hf = Hotfolder::new(
        "",
        "[upscale]\nmin_long_edge = 2400\ntarget_long_edge = 2400\n",
    );
    let names: Vec<String> = (0..24).map(|i| format!("crash-{i:02}.png")).collect();
    let mut daemon = Daemon::start(&hf.config);
    for (i, n) in names.iter().enumerate() {
        hf.drop_file(n, &photo_png(800, 600, i as u32));
    }
    // Kill it three times at different points of the burst.
    for round in 1..=3 {
        let target = round * 4;
        assert!(wait_until(Duration::from_secs(60), || Hotfolder::visible(
            &hf.done
        )
        .len()
            >= target));
        daemon.kill();
        daemon = Daemon::start(&hf.config);
    }
    assert!(
        wait_until(Duration::from_secs(120), || Hotfolder::visible(&hf.done)
            .len()
            == names.len()),
        "{}",
        daemon.log_text()
    );
    std::thread::sleep(Duration::from_millis(1000));
    assert_exactly_once(&hf, &names);
    assert!(daemon.stop().success());
}

/// Makes `dir` unwritable even for root; returns a guard that restores it.
struct ReadOnly<'a>(&'a Path, bool);

impl<'a> ReadOnly<'a> {
    fn set(dir: &'a Path) -> Self {
        if is_root() {
            let ok = Command::new("chattr")
                .arg("+i")
                .arg(dir)
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok,
                "as root, this test needs `chattr +i` (e2fsprogs) to make a folder read-only"
            );
            Self(dir, true)
        } else {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
            Self(dir, false)
        }
    }
}

impl Drop for ReadOnly<'_> {
    fn drop(&mut self) {
        if self.1 {
            let _ = Command::new("chattr").arg("-i").arg(self.0).status();
        } else {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(self.0, std::fs::Permissions::from_mode(0o755));
        }
    }
}

#[test]
fn a_read_only_output_folder_fails_cleanly_and_succeeds_once_writable() {
    let hf = Hotfolder::new("", "");
    let daemon = Daemon::start(&hf.config);
    let guard = ReadOnly::set(&hf.output);
    hf.drop_file("blocked_valid.png", &photo_png(300, 200, 1));
    daemon.wait_log("Destination failed", Duration::from_secs(20));
    daemon.wait_log("attempts=2", Duration::from_secs(20));
    // The original is safe in staging, nothing half-written anywhere.
    let staged: Vec<_> = Hotfolder::files(&hf.input)
        .into_iter()
        .filter(|f| f.starts_with(".realskin/processing") && f.ends_with("blocked_valid.png"))
        .collect();
    assert_eq!(staged.len(), 1, "original waits in staging");
    assert!(Hotfolder::files(&hf.output).is_empty());
    assert!(Hotfolder::visible(&hf.done).is_empty());
    assert!(
        Hotfolder::visible(&hf.failed).is_empty(),
        "a destination problem is not the image's fault"
    );
    drop(guard);
    assert!(wait_until(Duration::from_secs(20), || hf
        .done
        .join("blocked_valid.png")
        .exists()));
    assert_exactly_once(&hf, &["blocked_valid.png".to_string()]);
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(hf.reports.join("blocked_valid.realskin.json")).unwrap(),
    )
    .unwrap();
    assert!(report["attempts"].as_u64().unwrap() >= 2, "{report:#}");
    assert!(daemon.stop().success());
}

#[test]
fn a_full_disk_fails_cleanly_and_succeeds_once_space_is_freed() {
    if !is_root() {
        eprintln!("skipped: mounting a small tmpfs as the output needs root");
        return;
    }
    let hf = Hotfolder::new("", "");
    // The daemon runs in its own mount namespace with a 64 KiB tmpfs as its output.
    let log = hf.root.path().join("full-disk.log");
    let mut child = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "mount -t tmpfs -o size=64k tmpfs '{}' && exec '{}' run --config '{}'",
            hf.output.display(),
            env!("CARGO_BIN_EXE_realskin"),
            hf.config.display()
        ))
        .env("HOME", hf.root.path())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        wait_until(Duration::from_secs(20), || log_text()
            .contains("Watching hotfolder")),
        "{}",
        log_text()
    );
    hf.drop_file("big_valid.png", &photo_png(600, 400, 3));
    assert!(
        wait_until(Duration::from_secs(20), || log_text().contains("is full")),
        "{}",
        log_text()
    );
    let in_ns = |args: &[&str]| {
        Command::new("nsenter")
            .arg("-t")
            .arg(child.id().to_string())
            .arg("-m")
            .args(args)
            .output()
            .unwrap()
    };
    let listing =
        String::from_utf8_lossy(&in_ns(&["ls", "-A", hf.output.to_str().unwrap()]).stdout)
            .into_owned();
    assert!(
        listing.trim().is_empty(),
        "no partial output on the full disk: {listing}"
    );
    assert!(Hotfolder::visible(&hf.failed).is_empty());
    // Free space: the next retry succeeds.
    assert!(
        in_ns(&[
            "mount",
            "-o",
            "remount,size=64m",
            hf.output.to_str().unwrap()
        ])
        .status
        .success()
    );
    assert!(
        wait_until(Duration::from_secs(20), || hf
            .done
            .join("big_valid.png")
            .exists()),
        "{}",
        log_text()
    );
    let listing =
        String::from_utf8_lossy(&in_ns(&["ls", "-A", hf.output.to_str().unwrap()]).stdout)
            .into_owned();
    assert_eq!(listing.trim(), "big_valid.realskin.png");
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(child.wait().unwrap().success());
}

#[test]
fn sigterm_lets_the_running_job_finish_and_logs_every_outcome_to_a_file() {
    let hf = Hotfolder::new(
        "",
        "[upscale]\nmin_long_edge = 6000\ntarget_long_edge = 6000\n",
    );
    let daemon = Daemon::start_with(&hf.config, &[("RUST_LOG", "info,realskin=debug")]);
    hf.drop_file("long-job_valid.png", &photo_png(1500, 1000, 9));
    daemon.wait_log("Processing", Duration::from_secs(20));
    let status = daemon.stop();
    assert!(status.success(), "clean exit after the job finished");
    assert!(
        hf.output.join("long-job_valid.realskin.png").exists(),
        "the running job finished"
    );
    assert!(hf.done.join("long-job_valid.png").exists());
    let log_dir = realskin::state_dir::StateDir::new(&hf.state).logs();
    let logs = Hotfolder::files(&log_dir);
    assert_eq!(logs.len(), 1, "{logs:?}");
    let text = std::fs::read_to_string(log_dir.join(&logs[0])).unwrap();
    assert!(text.contains("outcome=\"processed\""), "{text}");
    assert!(text.contains("realskin stopped"), "{text}");
}

/// Whether the ledger shows a job rendering right now; `None` when it cannot be read.
fn ledger_rendering(state: &Path, flags: rusqlite::OpenFlags) -> Option<bool> {
    let c = rusqlite::Connection::open_with_flags(
        realskin::state_dir::StateDir::new(state).ledger(),
        flags,
    )
    .ok()?;
    c.busy_timeout(Duration::from_secs(2)).ok()?;
    c.query_row("SELECT COUNT(*) FROM jobs WHERE rendering = 1", [], |r| {
        r.get::<_, i64>(0)
    })
    .ok()
    .map(|n| n > 0)
}

/// Whether the running daemon's ledger shows a job rendering (read-only, beside the daemon).
fn rendering(state: &Path) -> bool {
    ledger_rendering(state, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap_or(false)
}

/// Whether a job was rendering when the daemon was killed, as the next start will read it.
/// Nothing writes the ledger now, so the answer cannot change: it is read until it can be. A
/// read-only reader cannot recover the write-ahead log of a writer killed mid-write, and on
/// a loaded machine took that for "not rendering" while the daemon counted a crash.
fn rendered_at_kill(state: &Path) -> bool {
    let mut answer = None;
    wait_until(Duration::from_secs(20), || {
        answer = ledger_rendering(state, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE);
        answer.is_some()
    });
    answer.expect("the ledger could not be read after the kill")
}

#[test]
fn a_file_that_was_rendering_at_two_crashes_in_a_row_goes_to_failed_with_the_reason() {
    let hf = Hotfolder::new(
        "",
        "[upscale]\nmin_long_edge = 6000\ntarget_long_edge = 6000\n",
    );
    let mut daemon = Daemon::start(&hf.config);
    hf.drop_file("brings-it-down.png", &photo_png(1500, 1000, 11));
    // A kill is a crash during the render only if the render had not returned by then: on a
    // loaded machine the kill can land just after it (the flag is cleared and the job's run
    // of crashes ends), and the count starts again.
    let mut crashes = 0;
    for attempt in 1..=6 {
        // The mark a killed run left stays in the ledger until the new run has counted it
        // (before it says it is running): read earlier, it is taken for a render of this
        // run, and a kill then counts one crash where the test counted two.
        daemon.wait_log("realskin is running", Duration::from_secs(30));
        assert!(
            wait_until(Duration::from_secs(60), || rendering(&hf.state)),
            "kill {attempt} ({crashes} crashes so far): the file never started rendering:\n{}",
            daemon.log_text()
        );
        daemon.kill();
        crashes = if rendered_at_kill(&hf.state) {
            crashes + 1
        } else {
            0
        };
        daemon = Daemon::start(&hf.config);
        if crashes == 2 {
            break;
        }
    }
    assert_eq!(
        crashes, 2,
        "six kills, but never two in a row while rendering"
    );
    let reason = hf.failed.join("brings-it-down.png.error.txt");
    assert!(
        wait_until(Duration::from_secs(30), || reason.exists()),
        "not set aside after two crashes:\n{}",
        daemon.log_text()
    );
    let text = std::fs::read_to_string(&reason).unwrap();
    assert!(text.contains("2 times in a row"), "{text}");
    assert!(hf.failed.join("brings-it-down.png").exists());
    assert!(Hotfolder::visible(&hf.output).is_empty(), "no output");
    // The daemon goes on: the next file is processed.
    hf.drop_file("next_valid.png", &photo_png(300, 200, 12));
    assert!(
        wait_until(Duration::from_secs(120), || hf
            .done
            .join("next_valid.png")
            .exists()),
        "{}",
        daemon.log_text()
    );
    assert!(daemon.stop().success());
}
