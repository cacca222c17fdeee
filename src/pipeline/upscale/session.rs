//! One super-resolution model loaded into ONNX Runtime: checked to be a model of the
//! common convention (one NCHW RGB input in [0, 1], float32 or float16, fixed or
//! dynamic spatial size), its scale found by a probe inference, and its sessions kept
//! in a process-wide cache so every job reuses them.
//!
//! Sessions are made once per model and device and kept in a small pool: on the CPU up
//! to one per parallel job, each with `cores / jobs` intra-op threads so jobs do not
//! fight over cores; on a GPU one session that jobs take in turn. A GPU provider that
//! fails to start (or fails the probe) falls back to the CPU with a warning, and the
//! model records which provider runs it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use ort::ep::{self, ExecutionProvider, ExecutionProviderDispatch};
use ort::session::Session;
use ort::value::{Tensor, TensorElementType, ValueType};

use super::Device;
use super::runtime::{self, Runtime};

/// Probe input sizes (height, width) for dynamic models, with the alignment a success
/// means: any size (odd sizes work, so nothing is padded), multiples of 16, then of 64
/// for models that need sizes divisible by a bigger window (transformers).
const PROBES: [([u32; 2], u32); 3] = [([29, 37], 1), ([32, 48], 16), ([64, 128], 64)];

/// The element type a model takes and gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// float32.
    F32,
    /// float16.
    F16,
}

impl Precision {
    /// As shown in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "float32",
            Self::F16 => "float16",
        }
    }
}

/// Why a model cannot be used, naming the file and what to do.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{what}")]
pub struct ModelError {
    /// What is wrong, naming the file.
    pub what: String,
    /// What to do.
    pub hint: String,
}

impl ModelError {
    fn new(path: &Path, what: impl std::fmt::Display, hint: impl Into<String>) -> Self {
        Self {
            what: format!("{}: {what}", path.display()),
            hint: hint.into(),
        }
    }
}

impl From<runtime::RuntimeError> for ModelError {
    fn from(e: runtime::RuntimeError) -> Self {
        Self {
            what: e.what,
            hint: e.hint,
        }
    }
}

const NOT_SR_HINT: &str = "Use a super-resolution model exported to ONNX with one NCHW RGB input in [0, 1] (float32 or float16) and an output that is a whole multiple of it, like the ones `realskin models list` names.";

/// A loaded, checked super-resolution model.
pub struct SrModel {
    /// The file.
    pub path: PathBuf,
    /// Output size / input size (2, 4, 8...), found by the probe.
    pub scale: u32,
    /// Input and output element type.
    pub precision: Precision,
    /// Fixed input height and width, where the model has them.
    pub fixed: [Option<u32>; 2],
    /// Dynamic input sizes are padded to a multiple of this.
    pub align: u32,
    /// The execution provider that runs it, like `cpu` or `cuda`.
    pub provider: &'static str,
    /// Why the requested provider is not the one running, when it is not.
    pub fallback: Option<String>,
    /// Intra-op threads per session.
    pub threads: usize,
    input: String,
    runtime: &'static Runtime,
    pool: Pool,
}

struct Pool {
    idle: Mutex<(Vec<Session>, usize)>,
    freed: Condvar,
    limit: usize,
    providers: Vec<(&'static str, ExecutionProviderDispatch)>,
}

impl std::fmt::Debug for SrModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrModel")
            .field("path", &self.path)
            .field("scale", &self.scale)
            .field("precision", &self.precision)
            .field("fixed", &self.fixed)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl SrModel {
    /// The input description for reports: `dynamic` or `fixed 64×64`.
    pub fn input_kind(&self) -> String {
        match self.fixed {
            [None, None] => "dynamic".into(),
            [h, w] => format!(
                "fixed {}×{}",
                w.map_or("any".into(), |v| v.to_string()),
                h.map_or("any".into(), |v| v.to_string())
            ),
        }
    }

    /// Runs the model on one `[1, 3, h, w]` tile of planar RGB; returns the
    /// `[1, 3, h·scale, w·scale]` result, planar.
    pub fn run(&self, data: Vec<f32>, h: u32, w: u32) -> Result<Vec<f32>, String> {
        let mut session = self.take()?;
        let result = run_session(&mut session, &self.input, self.precision, data, h, w);
        self.give_back(session);
        let (out, [oh, ow]) = result?;
        if oh != h * self.scale || ow != w * self.scale {
            return Err(format!(
                "the model gave {ow}×{oh} for a {w}×{h} tile, not ×{}",
                self.scale
            ));
        }
        Ok(out)
    }

    fn take(&self) -> Result<Session, String> {
        let mut guard = self.pool.idle.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(s) = guard.0.pop() {
                return Ok(s);
            }
            if guard.1 < self.pool.limit {
                guard.1 += 1;
                drop(guard);
                let made =
                    build_session(self.runtime, &self.path, &self.pool.providers, self.threads)
                        .map(|(s, _, _)| s)
                        .map_err(|e| format!("could not start another session: {e}"));
                if made.is_err() {
                    self.pool.idle.lock().unwrap_or_else(|p| p.into_inner()).1 -= 1;
                }
                return made;
            }
            guard = self
                .pool
                .freed
                .wait(guard)
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    fn give_back(&self, session: Session) {
        self.pool
            .idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .push(session);
        self.pool.freed.notify_one();
    }
}

/// Runs a session on one tile; returns the planar output and its height and width.
fn run_session(
    session: &mut Session,
    input: &str,
    precision: Precision,
    data: Vec<f32>,
    h: u32,
    w: u32,
) -> Result<(Vec<f32>, [u32; 2]), String> {
    let shape = [1usize, 3, h as usize, w as usize];
    let value = match precision {
        Precision::F32 => Tensor::from_array((shape, data)).map(|t| t.upcast()),
        Precision::F16 => {
            let half: Vec<half::f16> = data.into_iter().map(half::f16::from_f32).collect();
            Tensor::from_array((shape, half)).map(|t| t.upcast())
        }
    }
    .map_err(|e| e.to_string())?;
    let outputs = session
        .run(ort::inputs![input => value])
        .map_err(|e| e.to_string())?;
    let out = &outputs[0];
    let dims = |shape: &[i64]| -> Result<[u32; 2], String> {
        match shape {
            [1, 3, oh, ow] if *oh > 0 && *ow > 0 => Ok([*oh as u32, *ow as u32]),
            other => Err(format!(
                "the output has shape {other:?}, not [1, 3, height, width]"
            )),
        }
    };
    match out.dtype().tensor_type() {
        Some(TensorElementType::Float32) => {
            let (shape, v) = out.try_extract_tensor::<f32>().map_err(|e| e.to_string())?;
            Ok((v.to_vec(), dims(shape)?))
        }
        Some(TensorElementType::Float16) => {
            let (shape, v) = out
                .try_extract_tensor::<half::f16>()
                .map_err(|e| e.to_string())?;
            Ok((v.iter().map(|x| x.to_f32()).collect(), dims(shape)?))
        }
        other => Err(format!(
            "the output is {other:?}, not float32 or float16 pixels"
        )),
    }
}

/// The execution providers to try for `device`, best first, by short name.
fn providers_for(device: Device) -> Vec<(&'static str, ExecutionProviderDispatch)> {
    let cuda = || ("cuda", ep::CUDA::default().build().error_on_failure());
    match device {
        Device::Cpu => Vec::new(),
        Device::Cuda => vec![cuda()],
        Device::Tensorrt => vec![
            (
                "tensorrt",
                ep::TensorRT::default().build().error_on_failure(),
            ),
            cuda(),
        ],
        Device::Coreml => vec![("coreml", ep::CoreML::default().build().error_on_failure())],
        Device::Directml => vec![(
            "directml",
            ep::DirectML::default().build().error_on_failure(),
        )],
        Device::Auto => {
            if ep::CUDA::is_available().unwrap_or(false) {
                vec![cuda()]
            } else if ep::CoreML::is_available().unwrap_or(false) {
                providers_for(Device::Coreml)
            } else if ep::DirectML::is_available().unwrap_or(false) {
                providers_for(Device::Directml)
            } else {
                Vec::new()
            }
        }
    }
}

/// A new session, the short name of the provider running it, and why the providers
/// asked for did not start (when the CPU runs it instead).
type Built = (Session, &'static str, Option<String>);

/// Makes a session with the first provider of `providers` that starts (or the CPU when
/// there are none, or none starts).
fn build_session(
    rt: &Runtime,
    path: &Path,
    providers: &[(&'static str, ExecutionProviderDispatch)],
    threads: usize,
) -> Result<Built, String> {
    let make = |eps: &[ExecutionProviderDispatch]| -> ort::Result<Session> {
        let mut b = Session::builder(&rt.env)?
            .with_intra_threads(threads)?
            .with_intra_op_spinning(threads > 1 && parallel_jobs() == 1)?;
        if !eps.is_empty() {
            b = b.with_execution_providers(eps)?;
        }
        b.commit_from_file(path)
    };
    let mut errors = Vec::new();
    for (name, ep) in providers {
        match make(std::slice::from_ref(ep)) {
            Ok(s) => return Ok((s, name, None)),
            Err(e) => errors.push(format!("{name}: {e}")),
        }
    }
    let fallback = (!errors.is_empty()).then(|| errors.join("; "));
    make(&[])
        .map(|s| (s, "cpu", fallback))
        .map_err(|e| e.to_string())
}

static JOBS: AtomicUsize = AtomicUsize::new(1);

/// Tells the model cache how many jobs run at once (the worker count), so sessions
/// created from now on split the cores between them.
pub fn set_parallel_jobs(n: usize) {
    JOBS.store(n.max(1), Ordering::Relaxed);
}

/// How many jobs share the cores (see [`set_parallel_jobs`]).
pub fn parallel_jobs() -> usize {
    JOBS.load(Ordering::Relaxed)
}

fn cores() -> usize {
    sysinfo::System::physical_core_count()
        .ok()
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
        .max(1)
}

/// Checks the model's declared input and output; returns the precision and fixed size.
fn check_signature(
    path: &Path,
    session: &Session,
) -> Result<(String, Precision, [Option<u32>; 2]), ModelError> {
    let refuse = |what: String| ModelError::new(path, what, NOT_SR_HINT);
    let inputs = session.inputs();
    if inputs.len() != 1 {
        return Err(refuse(format!(
            "it has {} inputs; a super-resolution model has one image input",
            inputs.len()
        )));
    }
    if session.outputs().is_empty() {
        return Err(refuse("it has no output".into()));
    }
    let input = &inputs[0];
    let (ty, shape) = match input.dtype() {
        ValueType::Tensor { ty, shape, .. } => (*ty, shape.to_vec()),
        other => {
            return Err(refuse(format!(
                "its input is a {other:?}, not an image tensor"
            )));
        }
    };
    let precision = match ty {
        TensorElementType::Float32 => Precision::F32,
        TensorElementType::Float16 => Precision::F16,
        other => {
            return Err(refuse(format!(
                "its input is {other:?}; realskin feeds float32 or float16 pixels in [0, 1]"
            )));
        }
    };
    if shape.len() != 4 {
        return Err(refuse(format!(
            "its input has rank {} (shape {shape:?}); an image model takes [1, 3, height, width]",
            shape.len()
        )));
    }
    if shape[1] != 3 && shape[1] != -1 {
        return Err(refuse(format!(
            "its input has {} channel{} (shape {shape:?}); realskin feeds RGB, 3 channels",
            shape[1],
            if shape[1] == 1 { "" } else { "s" }
        )));
    }
    if shape[0] > 1 {
        return Err(refuse(format!(
            "its input has a fixed batch of {} (shape {shape:?}); realskin runs one tile at a time",
            shape[0]
        )));
    }
    let fixed = |d: i64| (d > 0).then_some(d as u32);
    match session.outputs()[0].dtype() {
        ValueType::Tensor { shape: out, ty, .. } => {
            if out.len() != 4 {
                return Err(refuse(format!(
                    "its output has rank {} (shape {:?}); a super-resolution model gives [1, 3, height×s, width×s]",
                    out.len(),
                    out.to_vec()
                )));
            }
            if !matches!(ty, TensorElementType::Float32 | TensorElementType::Float16) {
                return Err(refuse(format!("its output is {ty:?}, not float pixels")));
            }
        }
        other => return Err(refuse(format!("its output is a {other:?}, not an image"))),
    }
    Ok((
        input.name().to_string(),
        precision,
        [fixed(shape[2]), fixed(shape[3])],
    ))
}

/// Loads and checks the model at `path` for `device`, finding its scale by a probe.
pub fn load(rt: &'static Runtime, path: &Path, device: Device) -> Result<SrModel, ModelError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => {
            return Err(ModelError::new(
                path,
                "is not a file",
                "Point `[upscale] model` at an .onnx file, or give a model name from `realskin models list`.",
            ));
        }
        Err(e) => {
            return Err(ModelError::new(
                path,
                format!("cannot be read ({e})"),
                "Install it with `realskin models install NAME`, or fix the path in `[upscale] model`.",
            ));
        }
    }
    let jobs = parallel_jobs();
    let threads = (cores() / jobs).max(1);
    let mut providers = providers_for(device);
    let requested = providers.first().map_or("cpu", |p| p.0);
    let (session, mut provider, mut fallback) = build_session(rt, path, &providers, threads).map_err(|e| {
        let hint = if e.contains("NOT_IMPLEMENTED") || e.contains("implementation") {
            "ONNX Runtime cannot run every operator of this model on this device; for a float16 model, use a float32 export on the CPU or run it on a GPU (device = \"cuda\")."
        } else {
            "Check that the file is a complete ONNX model (`realskin models verify` re-checks installed ones)."
        };
        ModelError::new(path, format!("ONNX Runtime cannot load it: {e}"), hint)
    })?;
    let (input, precision, fixed) = check_signature(path, &session)?;
    let mut session = session;
    let probe = |session: &mut Session| -> Result<(u32, u32), String> {
        // A size the model rejects, or gives an odd size for, may just not suit it:
        // the next probe decides; the verdict is the last probe's.
        let mut last = String::new();
        for (size, align) in PROBES {
            let h = fixed[0].unwrap_or(size[0]);
            let w = fixed[1].unwrap_or(size[1]);
            let data = probe_pattern(h, w);
            match run_session(session, &input, precision, data, h, w) {
                Ok((_, [oh, ow])) => {
                    if oh % h != 0 || ow % w != 0 || oh / h != ow / w {
                        last = format!(
                            "NOTSR for a {w}×{h} input it gives {ow}×{oh}, which is not a whole multiple of it"
                        );
                    } else if oh / h < 2 {
                        return Err(format!(
                            "NOTSR it keeps the size ({w}×{h} in, {ow}×{oh} out): it does not upscale"
                        ));
                    } else {
                        return Ok((oh / h, align));
                    }
                }
                Err(e) if e.contains("not [1, 3,") => return Err(format!("NOTSR {e}")),
                Err(e) => last = e,
            }
            if fixed.iter().all(Option::is_some) {
                break;
            }
        }
        Err(last)
    };
    let probed = match probe(&mut session) {
        Err(e) if !e.starts_with("NOTSR") && provider != "cpu" => {
            // The GPU provider started but cannot run the model: try the CPU.
            let why = format!("{provider} could not run the model ({e})");
            providers.clear();
            let (cpu, _, _) = build_session(rt, path, &providers, threads).map_err(|e| {
                ModelError::new(path, format!("ONNX Runtime cannot load it: {e}"), "")
            })?;
            session = cpu;
            provider = "cpu";
            fallback = Some(why);
            probe(&mut session)
        }
        other => other,
    };
    let (scale, align) = probed.map_err(|e| match e.strip_prefix("NOTSR ") {
        Some(why) => ModelError::new(path, format!("this is not a super-resolution model: {why}"), NOT_SR_HINT),
        None => ModelError::new(
            path,
            format!("the model failed on a small test image: {e}"),
            "Check that it is a super-resolution model of the usual convention; if it needs a particular input size, export it with a fixed size.",
        ),
    })?;
    if let Some(why) = &fallback {
        tracing::warn!(model = %path.display(), requested, reason = %why, "The requested execution provider did not start; the model runs on the CPU");
    }
    let limit = if provider == "cpu" { jobs } else { 1 };
    Ok(SrModel {
        path: path.to_path_buf(),
        scale,
        precision,
        fixed,
        align,
        provider,
        fallback,
        threads: if provider == "cpu" { threads } else { 1 },
        input,
        runtime: rt,
        pool: Pool {
            idle: Mutex::new((vec![session], 1)),
            freed: Condvar::new(),
            limit,
            providers: if provider == "cpu" {
                Vec::new()
            } else {
                providers
            },
        },
    })
}

/// A smooth test pattern in [0, 1] (planar RGB), so probes see image-like input.
fn probe_pattern(h: u32, w: u32) -> Vec<f32> {
    let n = (h * w) as usize;
    let mut v = Vec::with_capacity(3 * n);
    for c in 0..3u32 {
        for y in 0..h {
            for x in 0..w {
                v.push(((x + 2 * y + 7 * c) % 64) as f32 / 63.0);
            }
        }
    }
    v
}

type Key = (PathBuf, Device);

static CACHE: Mutex<Option<HashMap<Key, Arc<SrModel>>>> = Mutex::new(None);

/// The model at `path` on `device`, loaded on first use and shared afterwards. The
/// library is found with `onnxruntime` (`[upscale] onnxruntime`) and `state_dir`.
pub fn cached(
    path: &Path,
    device: Device,
    onnxruntime: &Path,
    state_dir: Option<&Path>,
) -> Result<Arc<SrModel>, ModelError> {
    let rt = runtime::runtime(onnxruntime, state_dir)?;
    let key = (
        std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
        device,
    );
    // Loading holds the lock: a second job wanting the same model waits for it
    // rather than loading it twice.
    let mut guard = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    let map = guard.get_or_insert_with(HashMap::new);
    if let Some(m) = map.get(&key) {
        return Ok(m.clone());
    }
    let model = Arc::new(load(rt, path, device)?);
    tracing::info!(model = %path.display(), scale = model.scale, precision = model.precision.name(), provider = model.provider, input = %model.input_kind(), threads = model.threads, "Loaded super-resolution model");
    map.insert(key, model.clone());
    Ok(model)
}

/// The largest scale among the loaded models (for memory planning).
pub fn loaded_scale() -> Option<u32> {
    let guard = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    guard.as_ref()?.values().map(|m| m.scale).max()
}
