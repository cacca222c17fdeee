//! A fleet: several real daemons on one shared hotfolder, their ledger in a real
//! PostgreSQL (a throwaway cluster from Debian's server, see `common/postgres.rs`).
//! Each image must give exactly one output and one report, whoever took it, also when a
//! daemon is killed mid-run or the database goes away for a while.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Daemon, Hotfolder, photo_png, wait_until};

#[path = "common/postgres.rs"]
mod pg;

/// Writes one node's config beside the shared hotfolder's: its own state folder, the
/// shared database, its node name and lease.
fn node_config(hf: &Hotfolder, url: &str, node: &str, lease: &str, workers: usize) -> PathBuf {
    let text = std::fs::read_to_string(&hf.config)
        .unwrap()
        .replace(
            "state_dir = \"state\"",
            &format!("state_dir = \"state-{node}\""),
        )
        .replace("workers = 2", &format!("workers = {workers}"));
    let text =
        format!("{text}\n[fleet]\ndatabase = \"{url}\"\nnode = \"{node}\"\nlease = \"{lease}\"\n");
    let path = hf.root.path().join(format!("{node}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn query(url: &str, sql: &str) -> Vec<postgres::Row> {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    c.query(sql, &[]).unwrap()
}

/// Finished jobs per node.
fn done_per_node(url: &str) -> BTreeMap<String, i64> {
    query(
        url,
        "SELECT node, COUNT(*) FROM jobs WHERE state = 'done' GROUP BY node",
    )
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

/// Every image has exactly one output, one JSON report and its original in done/, and
/// nothing is left in input or staging.
fn assert_each_once(hf: &Hotfolder, names: &[String]) {
    let outputs = Hotfolder::visible(&hf.output);
    assert_eq!(outputs.len(), names.len(), "outputs: {outputs:?}");
    for n in names {
        let stem = Path::new(n)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let mine: Vec<_> = outputs
            .iter()
            .filter(|o| o.starts_with(&format!("{stem}.")))
            .collect();
        assert_eq!(mine.len(), 1, "{n}: {mine:?}");
    }
    assert_eq!(
        Hotfolder::json_reports(&hf.reports).len(),
        names.len(),
        "one report per image"
    );
    assert_eq!(Hotfolder::visible(&hf.done).len(), names.len());
    assert!(Hotfolder::visible(&hf.failed).is_empty());
    let left: Vec<_> = Hotfolder::files(&hf.input)
        .into_iter()
        .filter(|f| !f.ends_with(".json") && !f.contains("/.lock"))
        .collect();
    assert!(left.is_empty(), "left in input or staging: {left:?}");
}

fn outputs_done(hf: &Hotfolder, n: usize) -> bool {
    Hotfolder::visible(&hf.done).len() == n && Hotfolder::json_reports(&hf.reports).len() == n
}

#[test]
fn three_nodes_share_bursts_of_images_and_make_each_output_once() {
    let Some(cluster) = pg::cluster() else { return };
    let url = cluster.fresh_database();
    let hf = Hotfolder::new("", "");
    let nodes: Vec<Daemon> = ["a", "b", "c"]
        .iter()
        .map(|n| Daemon::start(&node_config(&hf, &url, n, "6s", 2)))
        .collect();
    let mut names = Vec::new();
    for burst in 0..3 {
        for i in 0..20 {
            let name = format!("b{burst}-{i:02}.png");
            hf.drop_file(&name, &photo_png(96, 64, burst * 100 + i));
            names.push(name);
        }
        std::thread::sleep(Duration::from_millis(700));
    }
    assert!(
        wait_until(Duration::from_secs(120), || outputs_done(&hf, names.len())),
        "not all done: {:?}",
        done_per_node(&url)
    );
    // `realskin status --fleet` on any node lists all three.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_realskin"))
        .args(["status", "--fleet", "--config"])
        .arg(hf.root.path().join("b.toml"))
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{table}");
    eprintln!("{table}");
    for n in ["a ", "b ", "c "] {
        assert!(table.lines().any(|l| l.starts_with(n)), "{table}");
    }
    assert!(table.contains("this machine is b"), "{table}");
    dashboard_lists(&hf, "a", &["a", "b", "c"]);
    // Each machine's metrics carry its node name.
    let metrics = String::from_utf8(client(&hf, "c").request("GET", "/metrics").unwrap()).unwrap();
    assert!(
        metrics.contains("realskin_jobs_total{node=\"c\",outcome=\"processed\"}"),
        "{metrics}"
    );
    for d in nodes {
        assert!(d.stop().success());
    }
    assert_each_once(&hf, &names);
    let per_node = done_per_node(&url);
    eprintln!("images per node: {per_node:?}");
    assert_eq!(per_node.values().sum::<i64>(), names.len() as i64);
    assert!(
        per_node.len() >= 2,
        "the work is spread over the nodes: {per_node:?}"
    );
    // One job row per image, each processed once.
    let rows = query(
        &url,
        "SELECT rel_path, COUNT(*) FROM jobs WHERE outcome = 'processed' GROUP BY rel_path HAVING COUNT(*) <> 1",
    );
    assert!(rows.is_empty(), "an image was processed twice");
    // The fleet saw every node, stopped cleanly.
    let stopped = query(
        &url,
        "SELECT COUNT(*) FROM nodes WHERE stopped_at IS NOT NULL",
    );
    assert_eq!(stopped[0].get::<_, i64>(0), 3);
}

#[test]
fn a_killed_node_s_jobs_are_finished_by_the_others_exactly_once() {
    let Some(cluster) = pg::cluster() else { return };
    let url = cluster.fresh_database();
    // Big enough that each image takes a while, so the kill lands mid-job.
    let hf = Hotfolder::new(
        "",
        "[upscale]\nmin_long_edge = 2400\ntarget_long_edge = 2400\n",
    );
    let lease = Duration::from_secs(3);
    let victim = Daemon::start(&node_config(&hf, &url, "victim", "3s", 2));
    let heir = Daemon::start(&node_config(&hf, &url, "heir", "3s", 1));
    let names: Vec<String> = (0..10).map(|i| format!("k{i}.png")).collect();
    for (i, n) in names.iter().enumerate() {
        hf.drop_file(n, &photo_png(600, 400, 40 + i as u32));
    }
    // Kill the victim once it holds a job mid-way.
    let held = || {
        query(
            &url,
            "SELECT COUNT(*) FROM jobs WHERE node = 'victim' AND state = 'claimed' AND hash IS NOT NULL",
        )[0]
        .get::<_, i64>(0)
    };
    assert!(wait_until(Duration::from_secs(30), || held() > 0));
    victim.kill();
    let killed_at = Instant::now();
    let orphans = query(
        &url,
        "SELECT id FROM jobs WHERE node = 'victim' AND state NOT IN ('done', 'failed')",
    )
    .len();
    assert!(orphans > 0);
    // Taken over within the lease plus one heartbeat (a third of it), with a second's slack.
    assert!(
        wait_until(lease + lease / 3 + Duration::from_secs(1), || heir
            .log_text()
            .contains("Taking over a job")),
        "no take-over {:?} after the kill:\n{}",
        killed_at.elapsed(),
        heir.log_text()
    );
    let took = killed_at.elapsed();
    assert!(
        wait_until(Duration::from_secs(120), || outputs_done(&hf, names.len())),
        "not all done: {:?}",
        done_per_node(&url)
    );
    eprintln!("{orphans} orphaned jobs, taken over {took:?} after the kill");
    let log = heir.log_text();
    assert!(heir.stop().success());
    assert_each_once(&hf, &names);
    assert!(
        query(
            &url,
            "SELECT id FROM jobs WHERE node = 'victim' AND state NOT IN ('done', 'failed')"
        )
        .is_empty(),
        "the victim's jobs were all taken over"
    );
    assert!(log.contains("node=victim"), "{log}");
}

/// The node's API client, once its address file is written.
fn client(hf: &Hotfolder, node: &str) -> realskin::api::client::Client {
    let state = hf.root.path().join(format!("state-{node}"));
    assert!(wait_until(Duration::from_secs(10), || state
        .join("api.json")
        .exists()));
    realskin::api::client::Client::discover(&realskin::state_dir::StateDir::new(&state)).unwrap()
}

#[test]
fn a_database_outage_pauses_intake_and_loses_or_repeats_nothing() {
    // A cluster of its own: stopping it must not disturb the other tests.
    let Some(cluster) = pg::own_cluster() else {
        return;
    };
    let url = cluster.fresh_database();
    let hf = Hotfolder::new(
        "",
        "[upscale]\nmin_long_edge = 1600\ntarget_long_edge = 1600\n",
    );
    let a = Daemon::start(&node_config(&hf, &url, "a", "3s", 2));
    let b = Daemon::start(&node_config(&hf, &url, "b", "3s", 2));
    let mut names: Vec<String> = Vec::new();
    for i in 0..12 {
        let n = format!("o{i:02}.png");
        hf.drop_file(&n, &photo_png(500, 400, 70 + i));
        names.push(n);
    }
    assert!(wait_until(Duration::from_secs(60), || Hotfolder::visible(
        &hf.done
    )
    .len()
        >= 2));
    // Ten seconds without the database, mid-run, with more files arriving meanwhile.
    cluster.stop();
    let down_at = Instant::now();
    for i in 12..16 {
        let n = format!("o{i:02}.png");
        hf.drop_file(&n, &photo_png(500, 400, 70 + i));
        names.push(n);
    }
    let api = client(&hf, "a");
    assert!(
        wait_until(Duration::from_secs(5), || api
            .get_json("/api/status")
            .map(|s| s.to_string().contains("fleet database"))
            .unwrap_or(false)),
        "the API does not say why: {:?}",
        api.get_json("/api/status")
    );
    a.wait_log(
        "The fleet database cannot be reached",
        Duration::from_secs(5),
    );
    let done_while_down = Hotfolder::visible(&hf.done).len();
    std::thread::sleep(Duration::from_secs(10).saturating_sub(down_at.elapsed()));
    // Intake stopped: nothing new was finished while the database was away (a job that
    // had passed its last ledger step before the outage may complete).
    assert!(Hotfolder::visible(&hf.done).len() <= done_while_down + 4);
    cluster.restart();
    assert!(
        wait_until(Duration::from_secs(120), || outputs_done(&hf, names.len())),
        "not all done after the outage: {:?}",
        done_per_node(&url)
    );
    a.wait_log("The fleet database is back", Duration::from_secs(5));
    for (n, d) in [("a", &a), ("b", &b)] {
        for l in d
            .log_text()
            .lines()
            .filter(|l| l.contains("fleet database") || l.contains("waits where it is"))
        {
            eprintln!("{n}: {l}");
        }
    }
    let status = api.get_json("/api/status").unwrap().to_string();
    assert!(!status.contains("fleet database"), "{status}");
    assert!(a.stop().success());
    assert!(b.stop().success());
    assert_each_once(&hf, &names);
    let rows = query(
        &url,
        "SELECT rel_path FROM jobs WHERE outcome = 'processed' GROUP BY rel_path HAVING COUNT(*) <> 1",
    );
    assert!(rows.is_empty(), "an image was processed twice");
}

#[test]
fn a_duplicate_dropped_on_another_node_follows_on_duplicate() {
    let Some(cluster) = pg::cluster() else { return };
    let url = cluster.fresh_database();
    let hf = Hotfolder::new("", "");
    let bytes = photo_png(120, 80, 5);
    // Node a alone takes the first copy.
    let a = Daemon::start(&node_config(&hf, &url, "a", "6s", 1));
    hf.drop_file("first.png", &bytes);
    assert!(wait_until(Duration::from_secs(30), || outputs_done(&hf, 1)));
    assert!(a.stop().success());
    // Node b alone gets the same content under another name: a duplicate fleet-wide.
    let b = Daemon::start(&node_config(&hf, &url, "b", "6s", 1));
    hf.drop_file("again.png", &bytes);
    assert!(wait_until(Duration::from_secs(30), || Hotfolder::visible(
        &hf.done
    )
    .len()
        == 2));
    assert!(b.stop().success());
    let outcomes: Vec<(String, String, String)> =
        query(&url, "SELECT rel_path, node, outcome FROM jobs ORDER BY id")
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
    assert_eq!(
        outcomes,
        vec![
            ("first.png".into(), "a".into(), "processed".into()),
            ("again.png".into(), "b".into(), "duplicate".into()),
        ]
    );
    assert_eq!(
        Hotfolder::visible(&hf.output).len(),
        1,
        "the default on_duplicate skips: no second output"
    );
}

/// The dashboard of `node`, in a real headless browser, lists every one of `nodes` in its
/// Fleet panel (skipped where the browser tools are missing, unless required).
fn dashboard_lists(hf: &Hotfolder, node: &str, nodes: &[&str]) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() || !dir.join("node_modules/playwright-core").exists() {
        assert!(
            std::env::var_os("REALSKIN_REQUIRE_BROWSER").is_none(),
            "the browser tools are missing (scripts/test installs them)"
        );
        eprintln!("skipping the fleet panel's browser check: no chromium or playwright-core");
        return;
    }
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let out = std::process::Command::new("node")
        .arg(dir.join("fleet.mjs"))
        .arg(client(hf, node).dashboard_url())
        .arg(&shots)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "the browser script failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["console_errors"], serde_json::json!([]), "{seen}");
    let rows = seen["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r[0].as_str().unwrap()).collect();
    let want: Vec<String> = nodes
        .iter()
        .map(|n| {
            if *n == node {
                format!("{n} (this one)")
            } else {
                n.to_string()
            }
        })
        .collect();
    assert_eq!(names, want, "{seen}");
    eprintln!("fleet panel: {seen}");
}

#[test]
fn a_node_without_a_hotfolder_s_model_leaves_its_files_to_the_others() {
    let Some(cluster) = pg::cluster() else { return };
    let url = cluster.fresh_database();
    let hf = Hotfolder::new("", "");
    // A second hotfolder whose ONNX model this machine does not have (nor the library).
    let cfg = node_config(&hf, &url, "cpu", "6s", 1);
    let gpu_in = hf.root.path().join("gpu-in");
    let text = std::fs::read_to_string(&cfg).unwrap()
        + r#"
[[hotfolder]]
name = "gpu"
input = "gpu-in"
output = "gpu-out"
reports = "gpu-reports"
done = "gpu-done"
failed = "gpu-failed"
settle = "400ms"
[hotfolder.upscale]
engine = "onnx"
model = "models/missing-x4.onnx"
"#;
    std::fs::write(&cfg, text).unwrap();
    let cpu = Daemon::start(&cfg);
    cpu.wait_log("leaves that hotfolder's files", Duration::from_secs(5));
    assert!(
        cpu.log_text().contains("needs=onnx:missing-x4"),
        "{}",
        cpu.log_text()
    );
    std::fs::create_dir_all(&gpu_in).unwrap();
    std::fs::write(gpu_in.join("for-the-gpu.png"), photo_png(120, 80, 9)).unwrap();
    let names: Vec<String> = (0..4).map(|i| format!("m{i}.png")).collect();
    for (i, n) in names.iter().enumerate() {
        hf.drop_file(n, &photo_png(120, 80, 300 + i as u32));
    }
    assert!(wait_until(Duration::from_secs(60), || outputs_done(
        &hf,
        names.len()
    )));
    let fleet = client(&hf, "cpu").get_json("/api/fleet").unwrap();
    assert!(cpu.stop().success());
    assert_each_once(&hf, &names);
    // The other hotfolder's file waits for a machine with the model.
    assert!(gpu_in.join("for-the-gpu.png").exists());
    assert_eq!(
        fleet["nodes"][0]["capabilities"],
        serde_json::json!([]),
        "{fleet}"
    );
}
