//! `realskin models doctor` (which ONNX Runtime is found, its version and execution
//! providers, and whether each configured model loads) and `realskin models bench`
//! (a model's speed on this machine, untiled and tiled).

use std::fmt::Write as _;
use std::time::Instant;

use image::{DynamicImage, RgbImage};

use crate::config::{Config, Device, UpscaleConfig, UpscaleEngine};
use crate::pipeline::upscale::{onnx, runtime, session};

/// The doctor's report and whether everything configured works.
pub fn doctor(cfg: &Config) -> (String, bool) {
    let mut out = String::new();
    let mut ok = true;
    let state_dir = &cfg.daemon.state_dir;
    let _ = writeln!(out, "ONNX Runtime");
    match runtime::runtime(&cfg.upscale.onnxruntime, Some(state_dir)) {
        Ok(rt) => {
            let _ = writeln!(
                out,
                "  library:   {} (found via {})",
                rt.library.path.display(),
                rt.library.source.describe()
            );
            let _ = writeln!(out, "  version:   {}", rt.library.version);
            let _ = writeln!(
                out,
                "  providers: {}",
                runtime::available_providers().join(", ")
            );
        }
        Err(e) => {
            ok = false;
            let _ = writeln!(out, "  NOT USABLE: {}\n  {}", e.what, e.hint);
        }
    }
    let _ = writeln!(out, "\nModels folder: {}", cfg.upscale.models_dir.display());
    let _ = writeln!(out, "\nHotfolders");
    for hf in &cfg.hotfolder {
        let u = &hf.upscale;
        if u.engine == UpscaleEngine::Lanczos {
            let _ = writeln!(
                out,
                "  {}: engine = \"lanczos\" (built in; ONNX Runtime not needed)",
                hf.name
            );
            continue;
        }
        match onnx::load_for(u, state_dir) {
            Ok((r, m)) => {
                let fallback = m
                    .fallback
                    .as_ref()
                    .map(|f| {
                        format!(
                            "\n    WARNING: the requested device did not start, CPU instead: {f}"
                        )
                    })
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  {}: model `{}` = {}\n    ×{} super-resolution, {}, {} input; runs on {} ({} intra-op threads){fallback}",
                    hf.name,
                    r.name,
                    r.path.display(),
                    m.scale,
                    m.precision.name(),
                    m.input_kind(),
                    m.provider,
                    m.threads
                );
                if let Some(expected) = r.expected_scale
                    && expected != m.scale
                {
                    ok = false;
                    let _ = writeln!(
                        out,
                        "    PROBLEM: the manifest says ×{expected}; this file is not that model"
                    );
                }
            }
            Err(e) => {
                ok = false;
                let _ = writeln!(out, "  {}: PROBLEM: {e}", hf.name);
            }
        }
    }
    (out, ok)
}

/// What `realskin models bench` measures.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The model (name or path); `None` takes `[upscale] model`.
    pub model: Option<String>,
    /// Input edge in pixels (square).
    pub size: u32,
    /// Tile edge for the tiled runs.
    pub tile: u32,
    /// Device; `None` takes `[upscale] device`.
    pub device: Option<Device>,
    /// Timed runs of each kind (the median is reported).
    pub runs: u32,
}

/// Runs the benchmark; returns the report.
pub fn bench(cfg: &Config, opts: &BenchOptions) -> Result<String, String> {
    let mut u: UpscaleConfig = cfg.upscale.clone();
    if let Some(m) = &opts.model {
        u.model = if crate::config::model_is_path(m) {
            std::path::absolute(m)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|_| m.clone())
        } else {
            m.clone()
        };
    }
    if let Some(d) = opts.device {
        u.device = d;
    }
    session::set_parallel_jobs(1);
    let (resolved, m) = onnx::load_for(&u, &cfg.daemon.state_dir)?;
    let size = opts.size.max(16);
    let img = DynamicImage::ImageRgb8(RgbImage::from_fn(size, size, |x, y| {
        let v = |k: u32| ((x * k + y * (k + 3) + (x ^ y) % 17) % 256) as u8;
        image::Rgb([v(3), v(5), v(7)])
    }));
    let to = [size * m.scale, size * m.scale];
    let mp = f64::from(to[0]) * f64::from(to[1]) / 1e6;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "model:    {} ({}), ×{}, {}, {} input",
        resolved.name,
        resolved.path.display(),
        m.scale,
        m.precision.name(),
        m.input_kind()
    );
    let _ = writeln!(
        out,
        "runtime:  ONNX Runtime {} on {}{} ({} intra-op threads)",
        runtime::loaded().map_or("?", |r| r.library.version.as_str()),
        m.provider,
        m.fallback
            .as_ref()
            .map(|f| format!(" (requested provider failed: {f})"))
            .unwrap_or_default(),
        m.threads
    );
    let _ = writeln!(
        out,
        "input:    {size}×{size} → {}×{} ({mp:.2} MP out), {} timed runs each, median",
        to[0], to[1], opts.runs
    );
    // Warm-up: the first run allocates arenas (and on a GPU, picks kernels).
    onnx::upscale_with(&m, &img, to, size)?;
    let time = |tile: u32| -> Result<(f64, u32), String> {
        let mut times = Vec::new();
        let mut tiles = 0;
        for _ in 0..opts.runs.max(1) {
            let t = Instant::now();
            let (_, d) = onnx::upscale_with(&m, &img, to, tile)?;
            times.push(t.elapsed().as_secs_f64());
            tiles = d.passes.iter().map(|p| p.tiles).sum();
        }
        times.sort_by(f64::total_cmp);
        Ok((times[times.len() / 2], tiles))
    };
    let (untiled, _) = time(size)?;
    let _ = writeln!(
        out,
        "untiled:  {:>9.1} ms  {:>8.2} MP/s",
        untiled * 1e3,
        mp / untiled
    );
    let (tiled, n) = time(opts.tile)?;
    let _ = writeln!(
        out,
        "tiled:    {:>9.1} ms  {:>8.2} MP/s  ({n} tiles of at most {} px; overhead {:+.1} %)",
        tiled * 1e3,
        mp / tiled,
        opts.tile,
        (tiled / untiled - 1.0) * 100.0
    );
    Ok(out)
}
