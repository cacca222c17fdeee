//! A throwaway PostgreSQL cluster for tests: Debian's server binaries, `initdb` in a
//! temporary folder (as the `postgres` user when the tests run as root, which PostgreSQL
//! refuses to be), listening on a Unix socket in that folder only, so tests never meet a
//! port in use. One cluster per test process; each test takes a fresh database in it.
//! A watchdog stops the server when the test process ends, however it ends.
//!
//! `scripts/test` installs the `postgresql` package where it is missing and sets
//! `REALSKIN_REQUIRE_POSTGRES=1`; elsewhere tests that need a server skip without one.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The cluster: its folder (kept for the process's life) and the socket folder.
pub struct Cluster {
    _dir: tempfile::TempDir,
    durable: bool,
    socket_dir: PathBuf,
    data: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
}

/// The folder holding Debian's `initdb`, `pg_ctl` and `postgres` (newest version first),
/// or whatever `initdb` is on the PATH.
fn server_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").is_file())
        .collect();
    versions.sort();
    if let Some(b) = versions.pop() {
        return Some(b);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find(|p| p.join("initdb").is_file())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Cluster {
    fn run(&self, tool: &str, args: &[&str]) -> std::process::Output {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()))
    }

    /// `durable`: with fsync, as a real server runs (for benchmarks); tests run without.
    /// Runs `tool` and fails the test with its stderr (and `log`'s text, if given) when it fails.
    fn run_ok(&self, tool: &str, args: &[&str], log: Option<&Path>) {
        let out = self.run(tool, args);
        assert!(
            out.status.success(),
            "{tool} {} failed: {}{}",
            args.last().unwrap_or(&""),
            String::from_utf8_lossy(&out.stderr),
            log.and_then(|l| std::fs::read_to_string(l).ok())
                .unwrap_or_default()
        );
    }

    fn start_with(durable: bool) -> Option<Cluster> {
        let bin = server_bin()?;
        let dir = tempfile::Builder::new()
            .prefix("realskin-pg-")
            .tempdir()
            .unwrap();
        let as_postgres = is_root();
        let data = dir.path().join("data");
        let socket_dir = dir.path().join("socket");
        std::fs::create_dir_all(&socket_dir).unwrap();
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            assert!(
                ok,
                "cannot hand {} to the postgres user",
                dir.path().display()
            );
        }
        let c = Cluster {
            _dir: dir,
            durable,
            socket_dir,
            data,
            bin,
            as_postgres,
        };
        c.run_ok(
            "initdb",
            &[
                "-D",
                c.data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
            None,
        );
        c.spawn_server();
        Some(c)
    }

    /// Starts the server (again) under a watchdog that stops it when this process ends.
    fn spawn_server(&self) {
        let opts = format!(
            "-k {} -c listen_addresses='' -c fsync={} -c max_connections=200",
            self.socket_dir.display(),
            if self.durable { "on" } else { "off" }
        );
        let log = self.data.join("server.log");
        self.run_ok(
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-o",
                &opts,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
            Some(&log),
        );
        // The watchdog: a shell that waits for this process to end, then stops the server.
        let stop = if self.as_postgres {
            format!(
                "runuser -u postgres -- {} -D {} -m immediate stop",
                self.bin.join("pg_ctl").display(),
                self.data.display()
            )
        } else {
            format!(
                "{} -D {} -m immediate stop",
                self.bin.join("pg_ctl").display(),
                self.data.display()
            )
        };
        let script = format!(
            "while kill -0 {} 2>/dev/null; do sleep 0.5; done; {stop} >/dev/null 2>&1",
            std::process::id()
        );
        // Never waited for on purpose: it outlives this process (init reaps it).
        #[allow(clippy::zombie_processes)]
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("watchdog");
    }

    /// Stops the server (fast shutdown), as a database outage.
    pub fn stop(&self) {
        self.run_ok(
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
            None,
        );
    }

    /// Starts it again after [`Cluster::stop`].
    pub fn restart(&self) {
        self.spawn_server();
    }

    /// Connection string for database `db`.
    pub fn url(&self, db: &str) -> String {
        format!(
            "host={} user=postgres dbname={db} connect_timeout=5",
            self.socket_dir.display()
        )
    }

    /// A new, empty database.
    pub fn fresh_database(&self) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "t{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let mut client = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .expect("connect to the test cluster");
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create a test database");
        self.url(&name)
    }

    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }
}

/// Starts a cluster; `None` (the caller skips) where PostgreSQL is not installed, unless
/// `REALSKIN_REQUIRE_POSTGRES` is set, which makes that a failure.
fn start_or_skip(durable: bool) -> Option<Cluster> {
    let c = Cluster::start_with(durable);
    if c.is_none() {
        assert!(
            std::env::var_os("REALSKIN_REQUIRE_POSTGRES").is_none(),
            "REALSKIN_REQUIRE_POSTGRES is set but PostgreSQL's initdb was not found (apt-get install postgresql)"
        );
        eprintln!("PostgreSQL is not installed: skipping what needs a server");
    }
    c
}

/// A cluster of the caller's own (to stop and start without disturbing other tests).
pub fn own_cluster() -> Option<Cluster> {
    start_or_skip(false)
}

/// A cluster that syncs to disk as a real server does, for benchmarks.
pub fn durable_cluster() -> Option<Cluster> {
    start_or_skip(true)
}

/// The process's cluster, started on first use and shared by its tests.
pub fn cluster() -> Option<&'static Cluster> {
    static C: OnceLock<Option<Cluster>> = OnceLock::new();
    C.get_or_init(|| start_or_skip(false)).as_ref()
}
