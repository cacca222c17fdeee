//! The local control API and the dashboard, on the loopback interface only.
//!
//! | route | what |
//! |---|---|
//! | `GET /health` | `ok` (no token needed) |
//! | `GET /` | the dashboard (self-contained page, no CDN) |
//! | `GET /api/status` | state, queue, counts, hotfolder health, last errors |
//! | `GET /api/jobs?limit=&offset=` | recent jobs, newest first |
//! | `GET /api/jobs/{id}` | a job: its ledger row and its report |
//! | `GET /api/jobs/{id}/file/{kind}` | `input`, `output` or a preview (`before`, `after`, `thumb`, ...) |
//! | `POST /api/pause`, `/api/resume`, `/api/rescan` | control; answer with the new status |
//! | `GET /metrics` | Prometheus text |
//!
//! Every route but `/health` needs the token from `<state_dir>/api-token` (a 0600 file),
//! as `Authorization: Bearer <token>` or, for the dashboard in a browser, a
//! `SameSite=Strict` cookie set by opening `/?token=<token>` once. Requests whose `Host`
//! or `Origin` is not a loopback name are refused, so a web page cannot reach the API
//! through DNS rebinding. The address in use is written to `<state_dir>/api.json` for
//! `realskin status`, `realskin dashboard` and the tray.

pub mod client;
mod metrics;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use tracing::info;

use crate::config::Config;
use crate::ledger::JobRow;
use crate::ledger::Ledger;
use crate::state_dir::StateDir;
use crate::status::{Control, Snapshot};

/// The dashboard cookie.
const COOKIE: &str = "realskin_token";
/// The dashboard page.
const DASHBOARD: &str = include_str!("dashboard.html");

/// What `<state_dir>/api.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Address {
    /// `http://127.0.0.1:7869/`
    pub url: String,
    /// The daemon's process id.
    pub pid: u32,
}

/// A running API server; stopping it removes `api.json`.
pub struct ApiServer {
    stop: tokio::sync::oneshot::Sender<()>,
    address_file: PathBuf,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl ApiServer {
    /// Stops serving.
    pub fn stop(self) {
        let _ = self.stop.send(());
        let _ = std::fs::remove_file(&self.address_file);
    }
}

/// What the API serves, handed over by the running daemon ([`crate::app`] wires the two).
#[derive(Clone)]
pub struct Backend {
    /// The latest snapshot.
    pub status: tokio::sync::watch::Receiver<Arc<Snapshot>>,
    /// Commands to the scheduler.
    pub control: tokio::sync::mpsc::Sender<Control>,
    /// The job database.
    pub ledger: Arc<Ledger>,
    /// The configuration.
    pub config: Arc<Config>,
}

#[derive(Clone)]
struct AppState {
    daemon: Backend,
    token: Arc<str>,
    previews: PathBuf,
}

/// Reads the token, creating a random one (0600) the first time.
pub fn load_or_create_token(state: &StateDir) -> anyhow::Result<String> {
    let path = state.api_token();
    if let Ok(t) = std::fs::read_to_string(&path) {
        let t = t.trim().to_string();
        if t.len() >= 32 {
            return Ok(t);
        }
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("no randomness for the API token: {e}"))?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let tmp = crate::output::temp_path_for(&path);
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        use std::io::Write;
        let mut f = opts
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(token.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok(token)
}

/// Binds the configured address and serves until stopped.
pub async fn start(daemon: Backend) -> anyhow::Result<ApiServer> {
    let cfg = daemon.config.clone();
    let folder = cfg.daemon.state();
    let token = load_or_create_token(&folder)?;
    let listener = tokio::net::TcpListener::bind(&cfg.api.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (another realskin running? set [api] listen to another port)",
                cfg.api.listen
            )
        })?;
    let addr = listener.local_addr()?;
    let state = AppState {
        daemon,
        token: token.into(),
        previews: folder.previews(),
    };
    let app = router(state);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    let address_file = folder.api_address();
    let url = format!("http://{addr}/");
    let record = Address {
        url: url.clone(),
        pid: std::process::id(),
    };
    crate::output::write_atomic(&address_file, &serde_json::to_vec_pretty(&record)?)?;
    info!(url = %url, "Dashboard and API listening (open it with `realskin dashboard`)");
    Ok(ApiServer {
        stop,
        address_file,
        addr,
    })
}

fn router(state: AppState) -> Router {
    let protected = Router::new()
        .route("/", get(dashboard))
        .route("/api/status", get(status))
        .route("/api/jobs", get(jobs))
        .route("/api/jobs/{id}", get(job))
        .route("/api/jobs/{id}/file/{kind}", get(job_file))
        .route("/api/pause", post(pause))
        .route("/api/resume", post(resume))
        .route("/api/rescan", post(rescan))
        .route("/api/fleet", get(fleet))
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .merge(protected)
        .layer(middleware::from_fn(loopback_only))
        .with_state(state)
}

fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((name, port)) if port.is_empty() || is_port(port) => name,
            _ => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if is_port(port) => name,
            Some(_) => return false,
            None => host,
        }
    };
    // A name is loopback only when it is an IP address in 127.0.0.0/8 or ::1, or exactly
    // `localhost`: `127.evil.example` resolves wherever its owner wants (DNS rebinding).
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `:` followed by a port number.
fn is_port(s: &str) -> bool {
    s.strip_prefix(':').unwrap_or(s).parse::<u16>().is_ok()
}

/// Refuses requests whose Host or Origin is not loopback (DNS-rebinding defence).
async fn loopback_only(req: Request, next: Next) -> Response {
    let headers = req.headers();
    let host_ok = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(is_loopback_host);
    let origin_ok = match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        None => true,
        Some(o) => o
            .strip_prefix("http://")
            .is_some_and(|rest| is_loopback_host(rest.trim_end_matches('/'))),
    };
    if !host_ok || !origin_ok {
        return (
            StatusCode::FORBIDDEN,
            "realskin's API answers only requests addressed to 127.0.0.1 or localhost\n",
        )
            .into_response();
    }
    next.run(req).await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn presented_token(headers: &HeaderMap) -> Option<String> {
    if let Some(bearer) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(bearer.trim().to_string());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

async fn authenticate(
    State(state): State<AppState>,
    Query(q): Query<TokenQuery>,
    req: Request,
    next: Next,
) -> Response {
    let ok = |t: &str| constant_time_eq(t.as_bytes(), state.token.as_bytes());
    // Opening `/?token=...` once sets the dashboard cookie, then drops the token from the URL.
    if req.uri().path() == "/"
        && let Some(t) = &q.token
    {
        if ok(t) {
            let mut resp = Redirect::to("/").into_response();
            let cookie = format!("{COOKIE}={t}; Path=/; HttpOnly; SameSite=Strict");
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            return resp;
        }
        return (StatusCode::UNAUTHORIZED, Html(LOGIN_HELP)).into_response();
    }
    match presented_token(req.headers()) {
        Some(t) if ok(&t) => next.run(req).await,
        _ if req.uri().path() == "/" => (StatusCode::UNAUTHORIZED, Html(LOGIN_HELP)).into_response(),
        Some(_) => (StatusCode::UNAUTHORIZED, "wrong token: use the one in <state_dir>/api-token\n").into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            "missing token: send `Authorization: Bearer <token>` with the token from <state_dir>/api-token\n",
        )
            .into_response(),
    }
}

const LOGIN_HELP: &str = "<!doctype html><meta charset=utf-8><title>realskin</title>\
<body style=\"font:16px system-ui;margin:3em\"><h1>realskin</h1>\
<p>Open the dashboard with <code>realskin dashboard</code>, or from the tray icon's menu.</p>\
<p>(The dashboard needs the token in the state folder's <code>api-token</code> file.)</p></body>";

/// The dashboard's Content-Security-Policy: its own inline script (by hash) and nothing
/// else, requests and pictures only from this server.
fn dashboard_csp() -> &'static HeaderValue {
    static CSP: std::sync::OnceLock<HeaderValue> = std::sync::OnceLock::new();
    CSP.get_or_init(|| {
        let script = DASHBOARD
            .split_once("<script>")
            .and_then(|(_, rest)| rest.split_once("</script>"))
            .map_or("", |(s, _)| s);
        let policy = format!(
            "default-src 'self'; img-src 'self' data:; style-src 'unsafe-inline'; script-src {}; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            crate::report::html::script_hash_source(script)
        );
        HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static("default-src 'self'"))
    })
}

async fn dashboard() -> Response {
    let mut resp = Html(DASHBOARD).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, dashboard_csp().clone());
    resp
}

async fn status(State(s): State<AppState>) -> axum::Json<Arc<Snapshot>> {
    axum::Json(s.daemon.status.borrow().clone())
}

#[derive(Deserialize)]
struct Page {
    limit: Option<u32>,
    offset: Option<u32>,
}

/// A job as listed.
#[derive(Serialize)]
struct JobSummary {
    #[serde(flatten)]
    row: JobRow,
    /// Whether previews exist.
    previews: bool,
}

async fn jobs(State(s): State<AppState>, Query(p): Query<Page>) -> Response {
    let limit = p.limit.unwrap_or(50).clamp(1, 500);
    let offset = p.offset.unwrap_or(0);
    let ledger = s.daemon.ledger.clone();
    let rows = tokio::task::spawn_blocking(move || ledger.recent(limit, offset)).await;
    match rows {
        Ok(Ok(rows)) => {
            let jobs: Vec<JobSummary> = rows
                .into_iter()
                .map(|row| JobSummary {
                    previews: s
                        .previews
                        .join(row.id.to_string())
                        .join("thumb.jpg")
                        .exists(),
                    row,
                })
                .collect();
            axum::Json(serde_json::json!({ "jobs": jobs, "limit": limit, "offset": offset }))
                .into_response()
        }
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the job ledger could not be read\n",
        )
            .into_response(),
    }
}

async fn job(State(s): State<AppState>, UrlPath(id): UrlPath<i64>) -> Response {
    let ledger = s.daemon.ledger.clone();
    let row = match tokio::task::spawn_blocking(move || ledger.get(id)).await {
        Ok(Ok(Some(row))) => row,
        Ok(Ok(None)) => return (StatusCode::NOT_FOUND, "no such job\n").into_response(),
        _ => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the job ledger could not be read\n",
            )
                .into_response();
        }
    };
    let report = match &row.report_path {
        Some(p) => tokio::fs::read(p)
            .await
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok()),
        None => None,
    };
    let dir = s.previews.join(id.to_string());
    let previews: Vec<String> = tokio::task::spawn_blocking(move || {
        std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .filter_map(|e| {
                        e.file_name()
                            .to_str()
                            .map(|n| n.trim_end_matches(".jpg").to_string())
                    })
                    .collect()
            })
            .unwrap_or_default()
    })
    .await
    .unwrap_or_default();
    axum::Json(serde_json::json!({ "job": row, "report": report, "previews": previews }))
        .into_response()
}

async fn job_file(
    State(s): State<AppState>,
    UrlPath((id, kind)): UrlPath<(i64, String)>,
) -> Response {
    let ledger = s.daemon.ledger.clone();
    let Ok(Ok(Some(row))) = tokio::task::spawn_blocking(move || ledger.get(id)).await else {
        return (StatusCode::NOT_FOUND, "no such job\n").into_response();
    };
    let path = match kind.as_str() {
        "output" => row.output_path.clone(),
        "input" => row.final_path.clone(),
        "report" => row.report_path.clone(),
        other
            if !other.is_empty()
                && other.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') =>
        {
            Some(s.previews.join(id.to_string()).join(format!("{other}.jpg")))
        }
        _ => None,
    };
    let Some(path) = path else {
        return (StatusCode::NOT_FOUND, "no such file for this job\n").into_response();
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            let mime = match path
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("png") => "image/png",
                Some("jpg" | "jpeg") => "image/jpeg",
                Some("webp") => "image/webp",
                Some("tif" | "tiff") => "image/tiff",
                Some("json") => "application/json",
                _ => "application/octet-stream",
            };
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("file")
                .replace('"', "");
            Response::builder()
                .header(header::CONTENT_TYPE, mime)
                .header(
                    header::CONTENT_DISPOSITION,
                    format!("inline; filename=\"{name}\""),
                )
                .header(header::CACHE_CONTROL, "private, max-age=60")
                .body(Body::from(bytes))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        Err(_) => (StatusCode::NOT_FOUND, "the file is no longer there\n").into_response(),
    }
}

async fn control(
    s: &AppState,
    make: fn(tokio::sync::oneshot::Sender<Arc<Snapshot>>) -> Control,
) -> Response {
    let (tx, rx) = tokio::sync::oneshot::channel();
    if s.daemon.control.send(make(tx)).await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "realskin is stopping\n").into_response();
    }
    match tokio::time::timeout(Duration::from_secs(5), rx).await {
        Ok(Ok(snap)) => axum::Json(snap).into_response(),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "realskin did not answer\n").into_response(),
    }
}

async fn pause(State(s): State<AppState>) -> Response {
    control(&s, Control::Pause).await
}

async fn resume(State(s): State<AppState>) -> Response {
    control(&s, Control::Resume).await
}

async fn rescan(State(s): State<AppState>) -> Response {
    control(&s, Control::Rescan).await
}

/// The fleet: this node's name and every node the shared ledger knows, with its current
/// jobs, totals and last heartbeat (`shared: false` and no nodes on a single machine).
async fn fleet(State(s): State<AppState>) -> Response {
    let ledger = s.daemon.ledger.clone();
    let answer = tokio::task::spawn_blocking(move || {
        let nodes = ledger.fleet()?;
        // The heartbeats are the database's time: so is "now".
        let now = if ledger.is_shared() {
            ledger.now()?
        } else {
            crate::ledger::now_ms()
        };
        Ok::<_, crate::ledger::LedgerError>(serde_json::json!({
            "shared": ledger.is_shared(),
            "node": ledger.instance(),
            "database": ledger.place(),
            "now_ms": now,
            "nodes": nodes,
        }))
    })
    .await;
    match answer {
        Ok(Ok(v)) => axum::Json(v).into_response(),
        Ok(Err(e)) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({ "error": e.to_string() })),
        )
            .into_response(),
        Err(e) => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(serde_json::json!({ "error": e.to_string() })),
        )
            .into_response(),
    }
}

async fn metrics(State(s): State<AppState>) -> Response {
    let snap = s.daemon.status.borrow().clone();
    let ledger = s.daemon.ledger.clone();
    let totals = tokio::task::spawn_blocking(move || ledger.outcome_counts().unwrap_or_default())
        .await
        .unwrap_or_default();
    let text = metrics::render(&snap, &totals);
    // In a fleet every machine's series carry its node name.
    let text = if s.daemon.ledger.is_shared() {
        metrics::with_node(&text, s.daemon.ledger.instance())
    } else {
        text
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_addresses_and_localhost_pass_the_host_check() {
        for h in [
            "127.0.0.1:7869",
            "localhost:7869",
            "localhost",
            "[::1]:7869",
            "127.0.0.2",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "evil.example:7869",
            "192.168.1.5:7869",
            "localhost.evil.example",
            "[::2]:1",
            // DNS-rebinding-style names: they only look like loopback addresses.
            "127.evil.example",
            "127.evil.example:7869",
            "127.0.0.1.nip.io",
            "127.0.0.1.evil.example:7869",
            "localhost:7869.evil.example",
            "127.0.0.1:notaport",
            "[::1].evil.example",
            "0x7f.0.0.1",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn tokens_come_from_bearer_or_cookie() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(presented_token(&h).as_deref(), Some("abc"));
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; realskin_token=xyz"),
        );
        assert_eq!(presented_token(&h).as_deref(), Some("xyz"));
    }

    #[test]
    fn the_token_file_is_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        let a = load_or_create_token(&state).unwrap();
        let b = load_or_create_token(&state).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(state.api_token())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
