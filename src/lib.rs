//! realskin makes AI-generated people look photographed: a hotfolder daemon that
//! profiles each image, upscales it when it is too small for skin detail, renders real
//! skin texture, and writes the result and a report atomically.
//!
//! The modules read in pipeline order, top to bottom:
//!
//! | module       | owns                                                                  | never touches        |
//! |--------------|-----------------------------------------------------------------------|----------------------|
//! | [`config`]   | settings, defaults, the default file, every-mistake-at-once checking  | files being processed |
//! | [`watch`]    | hotfolder sources: events, polling, reconcile, settle gate, ignores   | image content        |
//! | [`ledger`]   | the job database (SQLite, or PostgreSQL for a fleet): claims as leases | pixels               |
//! | [`decode`]   | bytes to pixels with limits (format sniffing, bombs, truncation)      | the filesystem       |
//! | [`meta`]     | metadata containers: read ICC/EXIF/XMP/IPTC/C2PA, splice into outputs | pixels               |
//! | [`face`]     | faces and their 468 landmarks (embedded MediaPipe models, own ONNX interpreter) | skin, the filesystem |
//! | [`profile`]  | what an image is and which generator made it, with the evidence       | the filesystem       |
//! | [`pipeline`] | face survey, plan (sizes the upscale), stages: pure image functions   | the filesystem       |
//! | [`job`]      | one image: decode → profile → survey → plan → stages → encode (a fast PNG streams into the file `output` stages) | the filesystem otherwise |
//! | [`output`]   | encoding, output names, atomic writes, moving originals               | pixels' meaning      |
//! | [`report`]   | the JSON and HTML reports, the preview pictures (resized copies), the daily index, the reason file | the pipeline's pixels |
//! | [`daemon`]   | start-up, scheduler, worker pool, job steps, retries, shutdown        | pixel maths          |
//! | [`process`]  | `realskin process FILE...`, the pipeline once with a progress bar     | the ledger           |
//! | [`models`]   | the super-resolution model registry: manifest, resolve, install       | the pipeline, config  |
//! | [`api`]      | the local control API, dashboard and metrics (loopback, token)        | pixels               |
//! | [`app`]      | wires the daemon and its API; the command line (`app::cli`); preflight, model check, `models doctor` | pixels, files        |
//! | [`service`]  | per-user service install (systemd, launchd, Windows), systemd notify  | pixels               |
//! | `tray`       | the tray icon process (Linux: KSNI), talking only to the API          | files, the ledger    |
//!
//! No two top-level modules import each other, directly or round a loop
//! (`python3 bench/module-deps.py` prints the graph and fails on a cycle).
//!
//! Shared types live in modules that depend on nothing else in the crate, so any room can
//! use them without tying itself to another:
//!
//! | module          | owns                                                                   |
//! |-----------------|------------------------------------------------------------------------|
//! | [`diagnostics`] | a problem found: severity, file, line, setting, what to change          |
//! | [`state_dir`]   | every path under the state folder (ledger, logs, API files, previews)  |
//! | [`status`]      | the daemon's snapshot (`/api/status`), shared by the API, tray and CLI |
//!
//! Errors come in two kinds ([`error`]): a per-image failure is reported and the daemon
//! goes on; only start-up, configuration and watcher failures stop it.

pub mod api;
pub mod app;
pub mod config;
pub mod daemon;
pub mod decode;
pub mod diagnostics;
pub mod error;
pub mod face;
pub mod job;
pub mod ledger;
pub mod logging;
pub mod meta;
pub mod models;
pub mod output;
pub mod pipeline;
pub mod process;
pub mod profile;
pub mod report;
pub mod service;
pub mod state_dir;
pub mod status;
#[cfg(target_os = "linux")]
pub mod tray;
pub mod watch;

#[doc(hidden)]
pub mod fuzzing;
