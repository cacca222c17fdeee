//! A tiny blocking client for realskin's own API on loopback, for `realskin status`,
//! `realskin dashboard` and the tray: finds the running daemon through
//! `<state_dir>/api.json`, sends one HTTP/1.1 request with the token, reads the answer.
//! No HTTP library: the server is ours, on 127.0.0.1, and the requests are few.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::Address;
use crate::state_dir::StateDir;
use crate::status::Snapshot;

/// Why the daemon could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No address file: the daemon is not running (or never ran with this state dir).
    #[error(
        "realskin is not running (no {0}); start it with `realskin service start` or `realskin run`"
    )]
    NotRunning(String),
    /// The address file is there but nobody answers.
    #[error(
        "realskin is not answering at {0} ({1}); it may have stopped: start it with `realskin service start` or `realskin run`"
    )]
    Unreachable(String, std::io::Error),
    /// The token file cannot be read.
    #[error("cannot read the API token {0}: {1}")]
    Token(String, std::io::Error),
    /// The server said no.
    #[error("the daemon answered {0}: {1}")]
    Status(u16, String),
}

/// A connection recipe to the running daemon.
#[derive(Debug, Clone)]
pub struct Client {
    /// `http://127.0.0.1:7869/`
    pub url: String,
    host_port: String,
    token: String,
}

impl Client {
    /// Finds the daemon that uses this state folder.
    pub fn discover(state: &StateDir) -> Result<Self, ClientError> {
        let addr_path = state.api_address();
        let addr: Address = std::fs::read(&addr_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| ClientError::NotRunning(addr_path.display().to_string()))?;
        let token_path = state.api_token();
        let token = std::fs::read_to_string(&token_path)
            .map_err(|e| ClientError::Token(token_path.display().to_string(), e))?
            .trim()
            .to_string();
        let host_port = addr
            .url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        Ok(Self {
            url: addr.url,
            host_port,
            token,
        })
    }

    /// The dashboard URL that logs the browser in.
    pub fn dashboard_url(&self) -> String {
        format!("{}?token={}", self.url, self.token)
    }

    /// Sends a request; returns the body of a 2xx answer.
    pub fn request(&self, method: &str, path: &str) -> Result<Vec<u8>, ClientError> {
        let unreachable = |e| ClientError::Unreachable(self.url.clone(), e);
        let addr = self
            .host_port
            .to_socket_addrs()
            .map_err(unreachable)?
            .next()
            .ok_or_else(|| unreachable(std::io::Error::other("no address")))?;
        let mut stream =
            TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(unreachable)?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(unreachable)?;
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.host_port, self.token
        );
        stream.write_all(req.as_bytes()).map_err(unreachable)?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).map_err(unreachable)?;
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| unreachable(std::io::Error::other("malformed answer")))?;
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut body = raw[split + 4..].to_vec();
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            body = dechunk(&body);
        }
        let code: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        if !(200..300).contains(&code) {
            return Err(ClientError::Status(
                code,
                String::from_utf8_lossy(&body).trim().to_string(),
            ));
        }
        Ok(body)
    }

    /// GET and parse JSON.
    pub fn get_json(&self, path: &str) -> Result<serde_json::Value, ClientError> {
        let body = self.request("GET", path)?;
        serde_json::from_slice(&body)
            .map_err(|e| ClientError::Status(200, format!("not JSON: {e}")))
    }

    /// POST and parse JSON.
    pub fn post_json(&self, path: &str) -> Result<serde_json::Value, ClientError> {
        let body = self.request("POST", path)?;
        serde_json::from_slice(&body)
            .map_err(|e| ClientError::Status(200, format!("not JSON: {e}")))
    }

    /// What the daemon is doing (`GET /api/status`).
    pub fn status(&self) -> Result<Snapshot, ClientError> {
        self.typed("GET", "/api/status")
    }

    /// Stops taking new images; the snapshot after (`POST /api/pause`).
    pub fn pause(&self) -> Result<Snapshot, ClientError> {
        self.typed("POST", "/api/pause")
    }

    /// Takes new images again; the snapshot after (`POST /api/resume`).
    pub fn resume(&self) -> Result<Snapshot, ClientError> {
        self.typed("POST", "/api/resume")
    }

    fn typed<T: DeserializeOwned>(&self, method: &str, path: &str) -> Result<T, ClientError> {
        let body = self.request(method, path)?;
        serde_json::from_slice(&body).map_err(|e| {
            ClientError::Status(
                200,
                format!(
                    "an answer this realskin cannot read ({e}); is the running daemon another version? Restart it with `realskin service stop` and `realskin service start`"
                ),
            )
        })
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = body.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&body[..eol]).trim(), 16).unwrap_or(0);
        body = &body[eol + 2..];
        if size == 0 || size > body.len() {
            break;
        }
        out.extend_from_slice(&body[..size]);
        body = body.get(size + 2..).unwrap_or(&[]);
    }
    out
}

/// Opens `url` in the user's browser.
pub fn open_in_browser(url: &str) -> std::io::Result<()> {
    let mut cmd = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        let mut c = std::process::Command::new("cmd");
        c.args(["/C", "start", ""]);
        c
    } else {
        std::process::Command::new("xdg-open")
    };
    cmd.arg(url).spawn().map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_are_joined() {
        assert_eq!(
            dechunk(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
            b"hello world"
        );
    }
}
