//! `realskin tray` on a real D-Bus session bus: the tray registers its
//! StatusNotifierItem, says when the daemon is not running, and follows the real
//! daemon through pause and resume.
//!
//! Needs `dbus-run-session` and `dbus-send` (Debian's `dbus` package, which
//! `scripts/test` installs). Without them the test says so and passes, unless
//! `REALSKIN_REQUIRE_DBUS=1` (set by `scripts/test`) makes their absence a failure.
#![cfg(target_os = "linux")]

mod common;

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Daemon, Hotfolder, wait_until};
use realskin::api::client::Client;

/// A private session bus started by `dbus-run-session`; it ends when dropped.
struct Bus {
    session: Child,
    address: String,
}

impl Bus {
    fn start(dir: &std::path::Path) -> Option<Self> {
        let have = |tool: &str| {
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if !have("dbus-run-session") || !have("dbus-send") {
            let msg = "dbus-run-session and dbus-send are not installed (Debian package `dbus`)";
            assert!(std::env::var_os("REALSKIN_REQUIRE_DBUS").is_none(), "{msg}");
            eprintln!("skipping the tray test: {msg}");
            return None;
        }
        let file = dir.join("bus-address");
        // The session lives as long as the shell inside it waits on its stdin.
        let session = Command::new("dbus-run-session")
            .arg("--")
            .arg("sh")
            .arg("-c")
            .arg(format!(
                "echo \"$DBUS_SESSION_BUS_ADDRESS\" > '{}.tmp' && mv '{0}.tmp' '{0}' && read _",
                file.display()
            ))
            .stdin(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-run-session");
        assert!(
            wait_until(Duration::from_secs(10), || file.exists()),
            "the session bus did not start"
        );
        let address = std::fs::read_to_string(&file).unwrap().trim().to_string();
        assert!(address.starts_with("unix:"), "{address}");
        Some(Self { session, address })
    }

    fn send(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("dbus-send")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .args(["--session", "--print-reply"])
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The bus names of StatusNotifierItems.
    fn items(&self) -> Vec<String> {
        let names = self
            .send(&[
                "--dest=org.freedesktop.DBus",
                "/",
                "org.freedesktop.DBus.ListNames",
            ])
            .unwrap_or_default();
        names
            .lines()
            .filter_map(|l| l.trim().strip_prefix("string \""))
            .map(|n| n.trim_end_matches('"').to_string())
            .filter(|n| n.starts_with("org.kde.StatusNotifierItem-"))
            .collect()
    }

    /// A string property of the item.
    fn property(&self, item: &str, name: &str) -> String {
        self.send(&[
            &format!("--dest={item}"),
            "/StatusNotifierItem",
            "org.freedesktop.DBus.Properties.Get",
            "string:org.kde.StatusNotifierItem",
            &format!("string:{name}"),
        ])
        .unwrap_or_default()
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.session.stdin.take() {
            let _ = stdin.write_all(b"\n");
        }
        let done = wait_until(Duration::from_secs(5), || {
            self.session.try_wait().ok().flatten().is_some()
        });
        if !done {
            let _ = self.session.kill();
            let _ = self.session.wait();
        }
    }
}

/// The tray process; killed when dropped.
struct Tray(Child);

impl Drop for Tray {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_tray_registers_on_the_session_bus_and_follows_the_daemon() {
    let hf = Hotfolder::new("", "");
    let Some(bus) = Bus::start(hf.state.parent().unwrap()) else {
        return;
    };

    // The tray starts first: the daemon is not running yet, and the tray says so.
    let log = std::fs::File::create(hf.state.parent().unwrap().join("tray.log")).unwrap();
    let tray = Tray(
        Command::new(env!("CARGO_BIN_EXE_realskin"))
            .args(["tray", "--config"])
            .arg(&hf.config)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .env("HOME", hf.state.parent().unwrap())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start realskin tray"),
    );
    let pid = tray.0.id();
    let mut item = String::new();
    assert!(
        wait_until(Duration::from_secs(20), || {
            item = bus.items().into_iter().next().unwrap_or_default();
            !item.is_empty()
        }),
        "the tray never registered a StatusNotifierItem on the bus"
    );
    assert!(
        item.starts_with(&format!("org.kde.StatusNotifierItem-{pid}-")),
        "{item}"
    );
    let title = |bus: &Bus| bus.property(&item, "Title");
    let tooltip = |bus: &Bus| bus.property(&item, "ToolTip");
    let shows = |bus: &Bus, word: &str| {
        wait_until(Duration::from_secs(15), || {
            title(bus).contains(&format!("\"realskin: {word}\""))
        })
    };
    assert!(shows(&bus, "not running"), "{}", title(&bus));
    assert!(
        tooltip(&bus).contains("Start the realskin service"),
        "{}",
        tooltip(&bus)
    );

    // The daemon starts: the tray finds it through the API and shows it idle.
    let daemon = Daemon::start(&hf.config);
    assert!(shows(&bus, "idle"), "{}", title(&bus));
    assert!(
        tooltip(&bus).contains("0 processed, 0 failed, 0 waiting"),
        "{}",
        tooltip(&bus)
    );

    // Pause and resume through the API, as the dashboard or the tray's menu does.
    // The API writes its address a moment after the watcher starts.
    assert!(wait_until(Duration::from_secs(20), || hf
        .state
        .join("api.json")
        .exists()));
    let client = Client::discover(&realskin::state_dir::StateDir::new(&hf.state)).unwrap();
    client.post_json("/api/pause").unwrap();
    assert!(shows(&bus, "paused"), "{}", title(&bus));
    client.post_json("/api/resume").unwrap();
    assert!(shows(&bus, "idle"), "{}", title(&bus));

    // The daemon stops: the tray stays and says so.
    daemon.stop();
    assert!(shows(&bus, "not running"), "{}", title(&bus));
    drop(tray);
}
