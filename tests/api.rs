//! The local control API on the real daemon: token and Host checks, pause/resume,
//! rescan, metrics, `realskin status`, and the systemd notify protocol.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{Daemon, Hotfolder, photo_png, wait_until};
use realskin::api::client::Client;

/// One raw HTTP request; returns (status code, body).
fn raw(addr: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: 0\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let code = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

fn started(hf: &Hotfolder) -> (Daemon, Client, String) {
    let daemon = Daemon::start(&hf.config);
    assert!(wait_until(Duration::from_secs(10), || hf
        .state
        .join("api.json")
        .exists()));
    let client = Client::discover(&realskin::state_dir::StateDir::new(&hf.state)).unwrap();
    let addr = client
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    (daemon, client, addr)
}

#[test]
fn requests_without_the_right_token_or_from_a_foreign_host_are_refused() {
    let hf = Hotfolder::new("", "");
    let (daemon, client, addr) = started(&hf);
    let token = std::fs::read_to_string(hf.state.join("api-token")).unwrap();
    let host = ("Host", addr.as_str());
    let bearer = format!("Bearer {token}");

    assert_eq!(
        raw(&addr, "GET", "/health", &[host]).0,
        200,
        "health needs no token"
    );
    let (code, body) = raw(&addr, "GET", "/api/status", &[host]);
    assert_eq!(code, 401);
    assert!(body.contains("missing token"), "{body}");
    assert_eq!(
        raw(
            &addr,
            "GET",
            "/api/status",
            &[host, ("Authorization", "Bearer nope")]
        )
        .0,
        401
    );
    assert_eq!(
        raw(
            &addr,
            "POST",
            "/api/pause",
            &[host, ("Authorization", "Bearer nope")]
        )
        .0,
        401
    );
    let (code, body) = raw(
        &addr,
        "GET",
        "/api/status",
        &[host, ("Authorization", &bearer)],
    );
    assert_eq!(code, 200, "{body}");

    // DNS rebinding: a page on evil.example resolving to 127.0.0.1, or on a name that
    // only looks like a loopback address.
    for foreign in [
        "evil.example:7869",
        "127.evil.example",
        "127.0.0.1.nip.io:7869",
    ] {
        let (code, _) = raw(
            &addr,
            "GET",
            "/api/status",
            &[("Host", foreign), ("Authorization", &bearer)],
        );
        assert_eq!(code, 403, "Host: {foreign}");
    }
    let (code, _) = raw(
        &addr,
        "POST",
        "/api/pause",
        &[
            host,
            ("Origin", "http://127.evil.example"),
            ("Authorization", &bearer),
        ],
    );
    assert_eq!(code, 403);
    let (code, _) = raw(
        &addr,
        "POST",
        "/api/pause",
        &[
            host,
            ("Origin", "http://evil.example"),
            ("Authorization", &bearer),
        ],
    );
    assert_eq!(code, 403);
    let s = client.get_json("/api/status").unwrap();
    assert_eq!(s["state"], "running", "the refused pause did nothing: {s}");

    // The browser login: `/?token=` sets an HttpOnly, SameSite=Strict cookie.
    let (code, _) = raw(&addr, "GET", &format!("/?token={}", token.trim()), &[host]);
    assert_eq!(code, 303);
    let (code, body) = raw(
        &addr,
        "GET",
        "/",
        &[
            host,
            ("Cookie", &format!("realskin_token={}", token.trim())),
        ],
    );
    assert_eq!(code, 200);
    assert!(body.contains("<title>realskin</title>"));
    assert_eq!(raw(&addr, "GET", "/", &[host]).0, 401);
    assert!(daemon.stop().success());
    assert!(
        !hf.state.join("api.json").exists(),
        "the address file goes with the daemon"
    );
}

#[test]
fn pause_stops_intake_and_resume_restarts_it() {
    let hf = Hotfolder::new("", "");
    let (daemon, client, _) = started(&hf);
    assert!(wait_until(Duration::from_secs(10), || client
        .get_json("/api/status")
        .unwrap()["state"]
        == "running"));
    let s = client.post_json("/api/pause").unwrap();
    assert_eq!(s["state"], "paused");
    hf.drop_file("while-paused_valid.png", &photo_png(300, 200, 1));
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        hf.input.join("while-paused_valid.png").exists(),
        "not taken while paused"
    );
    assert!(Hotfolder::visible(&hf.output).is_empty());
    let s = client.get_json("/api/status").unwrap();
    assert_eq!(s["queue"], 1, "it is seen and queued: {s}");

    let s = client.post_json("/api/resume").unwrap();
    assert_eq!(s["state"], "running");
    assert!(wait_until(Duration::from_secs(20), || hf
        .output
        .join("while-paused_valid.realskin.png")
        .exists()));
    assert!(wait_until(Duration::from_secs(5), || client
        .get_json("/api/status")
        .unwrap()["counts"]["processed"]
        == 1));

    let jobs = client.get_json("/api/jobs?limit=10").unwrap();
    let id = jobs["jobs"][0]["id"].as_i64().unwrap();
    let job = client.get_json(&format!("/api/jobs/{id}")).unwrap();
    assert_eq!(job["report"]["outcome"], "processed");
    let s = client.post_json("/api/rescan").unwrap();
    assert_eq!(s["state"], "running");

    let metrics = String::from_utf8(client.request("GET", "/metrics").unwrap()).unwrap();
    assert!(
        metrics.contains("realskin_jobs_total{outcome=\"processed\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("realskin_queue_depth 0"), "{metrics}");
    assert!(
        metrics.contains("realskin_stage_duration_seconds_count{stage=\"upscale\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("realskin_hotfolder_up{hotfolder=\"test\",watch=\"events\"} 1"),
        "{metrics}"
    );

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_realskin"))
        .args(["status", "--config", hf.config.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(": idle") && text.contains("finished 1"),
        "{text}"
    );
    assert!(daemon.stop().success());

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_realskin"))
        .args(["status", "--config", hf.config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("realskin is not running"));
}

#[test]
fn systemd_hears_ready_status_and_watchdog() {
    let hf = Hotfolder::new("", "");
    let sock_path = hf.root.path().join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let daemon = Daemon::start_with(
        &hf.config,
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "1000000"),
        ],
    );
    let mut messages = Vec::new();
    let mut buf = [0u8; 4096];
    while messages
        .iter()
        .filter(|m: &&String| m.contains("WATCHDOG=1"))
        .count()
        < 2
    {
        let n = sock.recv(&mut buf).expect("a notify message");
        messages.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    let ready = messages
        .iter()
        .position(|m| m.starts_with("READY=1"))
        .expect("READY=1 sent");
    assert!(
        messages[ready].contains("STATUS=idle; 0 queued"),
        "{messages:?}"
    );
    let log = daemon.log_text();
    assert!(
        log.contains("All hotfolders are watched and listed"),
        "{log}"
    );
    assert!(daemon.stop().success());
    let mut rest = Vec::new();
    while let Ok(n) = sock.recv(&mut buf) {
        rest.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        if rest.last().unwrap().starts_with("STOPPING=1") {
            break;
        }
    }
    assert!(rest.iter().any(|m| m.starts_with("STOPPING=1")), "{rest:?}");
}

#[test]
fn the_generated_unit_passes_systemd_analyze_verify() {
    let Ok(version) = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
    else {
        eprintln!("skipped: systemd-analyze is not installed");
        return;
    };
    assert!(version.status.success());
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_realskin"))
        .args(["service", "print"])
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let unit = String::from_utf8(out.stdout).unwrap();
    assert!(
        unit.contains("Type=notify") && unit.contains(env!("CARGO_BIN_EXE_realskin")),
        "{unit}"
    );
    let path = dir.path().join("realskin.service");
    std::fs::write(&path, &unit).unwrap();
    let verify = std::process::Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&verify.stderr).to_string()
        + &String::from_utf8_lossy(&verify.stdout);
    let problems: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("realskin.service"))
        .collect();
    assert!(verify.status.success() && problems.is_empty(), "{text}");
}
