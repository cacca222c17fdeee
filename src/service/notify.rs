//! The systemd notify protocol, spoken by hand (one datagram per message, no library):
//! `READY=1` once the hotfolders are watched and listed, `STATUS=` lines with the queue
//! and counts, `WATCHDOG=1` at half the watchdog interval, `STOPPING=1` on shutdown.
//!
//! Outside systemd (no `NOTIFY_SOCKET`) every call does nothing.

use std::time::Duration;

/// Where systemd listens, if it does.
pub struct Notifier {
    #[cfg(unix)]
    socket: Option<(
        std::os::unix::net::UnixDatagram,
        std::os::unix::net::SocketAddr,
    )>,
    watchdog: Option<Duration>,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from the environment.
    pub fn from_env() -> Self {
        let watchdog = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|_| {
                std::env::var("WATCHDOG_PID")
                    .ok()
                    .and_then(|p| p.parse::<u32>().ok())
                    .is_none_or(|pid| pid == std::process::id())
            })
            .filter(|&us| us > 0)
            .map(Duration::from_micros);
        Self {
            #[cfg(unix)]
            socket: std::env::var_os("NOTIFY_SOCKET").and_then(|p| connect(&p)),
            watchdog,
        }
    }

    /// Whether a service manager is listening.
    pub fn is_active(&self) -> bool {
        #[cfg(unix)]
        {
            self.socket.is_some()
        }
        #[cfg(not(unix))]
        {
            false
        }
    }

    /// How often to send `WATCHDOG=1`: half the interval systemd set.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog.map(|d| d / 2)
    }

    /// Sends one message (`KEY=value` lines).
    pub fn send(&self, message: &str) {
        #[cfg(unix)]
        if let Some((socket, addr)) = &self.socket {
            let _ = socket.send_to_addr(message.as_bytes(), addr);
        }
        #[cfg(not(unix))]
        let _ = message;
    }

    /// `READY=1` with a status line.
    pub fn ready(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={}", one_line(status)));
    }

    /// `STATUS=` line.
    pub fn status(&self, status: &str) {
        self.send(&format!("STATUS={}", one_line(status)));
    }

    /// `WATCHDOG=1`.
    pub fn watchdog(&self) {
        self.send("WATCHDOG=1");
    }

    /// `STOPPING=1` with a status line.
    pub fn stopping(&self, status: &str) {
        self.send(&format!("STOPPING=1\nSTATUS={}", one_line(status)));
    }
}

fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}

#[cfg(unix)]
fn connect(
    path: &std::ffi::OsStr,
) -> Option<(
    std::os::unix::net::UnixDatagram,
    std::os::unix::net::SocketAddr,
)> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let bytes = path.as_bytes();
    let addr = match bytes.first() {
        // A leading '@' names an abstract socket (Linux).
        #[cfg(any(target_os = "linux", target_os = "android"))]
        Some(b'@') => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(&bytes[1..]).ok()?
        }
        Some(b'/') => SocketAddr::from_pathname(std::path::Path::new(path)).ok()?,
        _ => return None,
    };
    let socket = UnixDatagram::unbound().ok()?;
    Some((socket, addr))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn messages_reach_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let listener = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        let notifier = Notifier {
            socket: connect(path.as_os_str()),
            watchdog: Some(Duration::from_secs(10)),
        };
        assert!(notifier.is_active());
        notifier.ready("watching 1 hotfolder\nqueue 0");
        let mut buf = [0u8; 256];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=watching 1 hotfolder queue 0");
        assert_eq!(notifier.watchdog_interval(), Some(Duration::from_secs(5)));
    }
}
