//! Running realskin as a per-user service: `realskin service install | uninstall | start
//! | stop | status`, with the unit files from `service/` embedded in the binary.
//!
//! Per user, not per machine, because the folders an artist uses (cloud folders, mapped
//! drives) belong to their session:
//! - Linux: a systemd user unit, `Type=notify` ([`notify`]);
//! - macOS: a LaunchAgent with `RunAtLoad` and `KeepAlive`;
//! - Windows: a logon task in the user's session (a machine-wide Windows service could not
//!   see the user's mapped drives or OneDrive, so it is not offered).

pub mod notify;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The systemd user unit template.
pub const SYSTEMD_UNIT: &str = include_str!("../../service/realskin.service");
/// The LaunchAgent template.
pub const LAUNCHD_PLIST: &str = include_str!("../../service/com.realskin.daemon.plist");
/// The Windows logon-task template.
pub const WINDOWS_TASK: &str = include_str!("../../service/realskin-logon-task.xml");

/// What the unit needs to know.
#[derive(Debug, Clone)]
pub struct UnitParams {
    /// The realskin binary.
    pub exec: PathBuf,
    /// The config file, if not the default.
    pub config: Option<PathBuf>,
    /// Seconds the service manager waits after SIGTERM (shutdown grace plus margin).
    pub stop_timeout_s: u64,
    /// Where launchd writes stderr.
    pub log_dir: PathBuf,
}

/// One word of a systemd command line: `%` specifiers and `$` variables escaped (a folder
/// named `100%` or `$HOME` stays that folder), C escapes for backslash, quote and
/// control characters, and quotes around anything with spaces or separators.
fn quote_systemd(p: &Path) -> String {
    let s = p.display().to_string();
    let mut body = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '%' => body.push_str("%%"),
            '$' => body.push_str("$$"),
            '\\' => body.push_str("\\\\"),
            '"' => body.push_str("\\\""),
            '\n' => body.push_str("\\n"),
            '\t' => body.push_str("\\t"),
            c if c.is_ascii_control() => {
                let _ = std::fmt::Write::write_fmt(&mut body, format_args!("\\x{:02x}", c as u32));
            }
            c => body.push(c),
        }
    }
    if s.contains(|c: char| {
        c.is_whitespace() || c.is_ascii_control() || matches!(c, '"' | '\'' | ';')
    }) {
        format!("\"{body}\"")
    } else {
        body
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The systemd user unit for these parameters.
pub fn render_systemd(p: &UnitParams) -> String {
    let config_arg = p
        .config
        .as_ref()
        .map(|c| format!(" --config {}", quote_systemd(c)))
        .unwrap_or_default();
    SYSTEMD_UNIT
        .replace("{{exec}}", &quote_systemd(&p.exec))
        .replace("{{config_arg}}", &config_arg)
        .replace("{{stop_timeout}}", &p.stop_timeout_s.to_string())
}

/// The LaunchAgent plist for these parameters.
pub fn render_launchd(p: &UnitParams) -> String {
    let config_args = p
        .config
        .as_ref()
        .map(|c| {
            format!(
                "\n    <string>--config</string>\n    <string>{}</string>",
                xml_escape(&c.display().to_string())
            )
        })
        .unwrap_or_default();
    LAUNCHD_PLIST
        .replace("{{exec}}", &xml_escape(&p.exec.display().to_string()))
        .replace("{{config_args_xml}}", &config_args)
        .replace("{{stop_timeout}}", &p.stop_timeout_s.to_string())
        .replace("{{log_dir}}", &xml_escape(&p.log_dir.display().to_string()))
}

/// The Windows task XML for these parameters.
pub fn render_windows_task(p: &UnitParams, user: &str) -> String {
    let config_arg = p
        .config
        .as_ref()
        .map(|c| {
            format!(
                " --config &quot;{}&quot;",
                xml_escape(&c.display().to_string())
            )
        })
        .unwrap_or_default();
    WINDOWS_TASK
        .replace("{{exec}}", &xml_escape(&p.exec.display().to_string()))
        .replace("{{config_arg}}", &config_arg)
        .replace("{{user}}", &xml_escape(user))
}

/// Where the unit file goes for this user.
pub fn unit_path() -> anyhow::Result<PathBuf> {
    let dirs = directories::BaseDirs::new().context("no home folder (HOME is not set)")?;
    Ok(if cfg!(target_os = "macos") {
        dirs.home_dir()
            .join("Library/LaunchAgents/com.realskin.daemon.plist")
    } else if cfg!(windows) {
        dirs.data_local_dir()
            .join("realskin/realskin-logon-task.xml")
    } else {
        // $XDG_CONFIG_HOME, else ~/.config.
        dirs.config_dir().join("systemd/user/realskin.service")
    })
}

fn run(cmd: &str, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .with_context(|| format!("cannot run `{cmd}`"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        bail!("`{cmd} {}` failed: {}", args.join(" "), text.trim());
    }
    Ok(text)
}

/// Writes the unit and enables it; returns what to tell the user.
pub fn install(p: &UnitParams) -> anyhow::Result<Vec<String>> {
    let path = unit_path()?;
    let text = if cfg!(target_os = "macos") {
        render_launchd(p)
    } else if cfg!(windows) {
        let user = std::env::var("USERNAME").unwrap_or_default();
        render_windows_task(p, &user)
    } else {
        render_systemd(p)
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    crate::output::write_atomic(&path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    let mut notes = vec![format!("wrote {}", path.display())];
    let enabled = if cfg!(target_os = "macos") {
        run("launchctl", &["load", "-w", &path.display().to_string()])
    } else if cfg!(windows) {
        run(
            "schtasks",
            &[
                "/Create",
                "/F",
                "/TN",
                "realskin",
                "/XML",
                &path.display().to_string(),
            ],
        )
    } else {
        run("systemctl", &["--user", "daemon-reload"]).and_then(|_| {
            run(
                "systemctl",
                &["--user", "enable", "--now", "realskin.service"],
            )
        })
    };
    match enabled {
        Ok(_) => {
            notes.push("enabled and started: realskin now runs whenever you are logged in".into())
        }
        Err(e) => notes.push(format!(
            "could not enable it automatically ({e:#}); run `{}` yourself",
            start_hint()
        )),
    }
    if cfg!(target_os = "linux") {
        notes.push(
            "to keep it running when you are logged out (a render box, a server), run `loginctl enable-linger $USER` once"
                .into(),
        );
    }
    Ok(notes)
}

fn start_hint() -> &'static str {
    if cfg!(target_os = "macos") {
        "launchctl load -w ~/Library/LaunchAgents/com.realskin.daemon.plist"
    } else if cfg!(windows) {
        "schtasks /Run /TN realskin"
    } else {
        "systemctl --user daemon-reload && systemctl --user enable --now realskin"
    }
}

/// Stops, disables and removes the unit.
pub fn uninstall() -> anyhow::Result<Vec<String>> {
    let path = unit_path()?;
    let mut notes = Vec::new();
    let _ = if cfg!(target_os = "macos") {
        run("launchctl", &["unload", "-w", &path.display().to_string()])
    } else if cfg!(windows) {
        run("schtasks", &["/Delete", "/F", "/TN", "realskin"])
    } else {
        run(
            "systemctl",
            &["--user", "disable", "--now", "realskin.service"],
        )
    };
    match std::fs::remove_file(&path) {
        Ok(()) => notes.push(format!("removed {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            notes.push(format!("{} was not installed", path.display()))
        }
        Err(e) => return Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
    if cfg!(target_os = "linux") {
        let _ = run("systemctl", &["--user", "daemon-reload"]);
    }
    Ok(notes)
}

/// `start`, `stop` or `status` through the platform's service manager.
pub fn control(action: &str) -> anyhow::Result<String> {
    if cfg!(target_os = "macos") {
        let verb = match action {
            "start" => "start",
            "stop" => "stop",
            _ => "list",
        };
        run("launchctl", &[verb, "com.realskin.daemon"])
    } else if cfg!(windows) {
        match action {
            "start" => run("schtasks", &["/Run", "/TN", "realskin"]),
            "stop" => run("schtasks", &["/End", "/TN", "realskin"]),
            _ => run(
                "schtasks",
                &["/Query", "/TN", "realskin", "/V", "/FO", "LIST"],
            ),
        }
    } else {
        let out = Command::new("systemctl")
            .args(["--user", action, "realskin.service"])
            .output()
            .context("cannot run `systemctl`")?;
        // `status` exits non-zero for a stopped unit; its text is still the answer.
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() && action != "status" {
            bail!(
                "`systemctl --user {action} realskin` failed: {}",
                text.trim()
            );
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> UnitParams {
        UnitParams {
            exec: PathBuf::from("/opt/real skin/realskin"),
            config: Some(PathBuf::from("/home/a/.config/realskin/realskin.toml")),
            stop_timeout_s: 45,
            log_dir: PathBuf::from("/tmp/logs"),
        }
    }

    #[test]
    fn the_systemd_unit_is_filled_in_and_quoted() {
        let unit = render_systemd(&params());
        assert!(unit.contains(
            "ExecStart=\"/opt/real skin/realskin\" run --config /home/a/.config/realskin/realskin.toml"
        ));
        assert!(unit.contains("Type=notify"));
        assert!(unit.contains("TimeoutStopSec=45"));
        assert!(!unit.contains("{{"), "{unit}");
    }

    #[test]
    fn systemd_specifiers_and_variables_in_paths_are_escaped() {
        let p = UnitParams {
            exec: PathBuf::from("/opt/100%/$HOME/bin/realskin"),
            config: Some(PathBuf::from("/home/a/my \"studio\"/%h.toml")),
            ..params()
        };
        let unit = render_systemd(&p);
        assert!(
            unit.contains(
                "ExecStart=/opt/100%%/$$HOME/bin/realskin run --config \"/home/a/my \\\"studio\\\"/%%h.toml\""
            ),
            "{unit}"
        );
        // A user unit cannot order itself after the system's network target.
        assert!(
            !unit.lines().any(|l| l.starts_with("After=network-online")),
            "{unit}"
        );
    }

    #[test]
    fn the_plist_and_task_are_filled_in() {
        let plist = render_launchd(&params());
        assert!(plist.contains("<string>/opt/real skin/realskin</string>"));
        assert!(plist.contains("<key>RunAtLoad</key>"));
        assert!(!plist.contains("{{"));
        let task = render_windows_task(&params(), "studio\\artist");
        assert!(task.contains("<UserId>studio\\artist</UserId>"));
        assert!(!task.contains("{{"));
    }
}
