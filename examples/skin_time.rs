//! Timing: runs the engine N times on one image (upscaled to a given long edge) and prints the
//! per-step minimum. `skin_time IN [--size 2048] [--runs 7] [--threads 2] [--faces-from-first]`
use realskin::pipeline::skin::{SkinConfig, SkinContext, SkinOutcome, apply};
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let get = |k: &str, d: f32| {
        a.iter()
            .position(|x| x == k)
            .and_then(|i| a.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let size = get("--size", 2048.0) as u32;
    let runs = get("--runs", 7.0) as usize;
    let threads = get("--threads", 2.0) as usize;
    let reuse = a.iter().any(|x| x == "--faces-from-first");
    let img = image::open(&a[1]).unwrap();
    let img = img.resize_exact(size, size, image::imageops::FilterType::Lanczos3);
    let img = image::DynamicImage::ImageRgb8(img.to_rgb8());
    let cfg = SkinConfig {
        threads,
        grain: get("--grain", 1.0),
        ..SkinConfig::default()
    };
    let mut ctx = SkinContext::default();
    let mut best: Option<realskin::pipeline::skin::Timings> = None;
    let mut totals = Vec::new();
    // CPU time of this process (utime + stime, clock ticks of 10 ms) from /proc, to see the work done
    // independently of other load on the machine.
    let cpu_ticks = || -> Option<u64> {
        let s = std::fs::read_to_string("/proc/self/stat").ok()?;
        let rest = &s[s.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
    };
    let cpu0 = cpu_ticks();
    for i in 0..runs {
        let t = std::time::Instant::now();
        let out = apply(&img, &cfg, &ctx);
        totals.push(t.elapsed().as_secs_f64() * 1e3);
        let r = out.report().clone();
        if let SkinOutcome::Skipped { reason, .. } = &out {
            eprintln!("skipped: {reason}");
        }
        if i == 0 && reuse {
            ctx.faces = Some(r.faces.clone());
            ctx.classification = r.classification.clone();
        }
        let t = r.timings_ms;
        best = Some(match best {
            None => t,
            Some(b) => realskin::pipeline::skin::Timings {
                reduce: b.reduce.min(t.reduce),
                classify: b.classify.min(t.classify),
                faces: b.faces.min(t.faces),
                mask: b.mask.min(t.mask),
                tone: b.tone.min(t.tone),
                measure: b.measure.min(t.measure),
                render: b.render.min(t.render),
                artifacts: b.artifacts.min(t.artifacts),
                total: b.total.min(t.total),
            },
        });
    }
    if let (Some(a), Some(b)) = (cpu0, cpu_ticks()) {
        println!(
            "CPU time per run: {:.0} ms (all threads)",
            (b - a) as f64 * 10.0 / runs as f64
        );
    }
    totals.sort_by(|a, b| a.total_cmp(b));
    let b = best.unwrap();
    println!(
        "{size}² threads {threads}: min per step (ms): reduce {:.1} classify {:.1} faces {:.1} mask {:.1} tone {:.1} measure {:.1} render {:.1} artifacts {:.1} | total min {:.1} median {:.1} → {:.1} MP/s (median)",
        b.reduce,
        b.classify,
        b.faces,
        b.mask,
        b.tone,
        b.measure,
        b.render,
        b.artifacts,
        totals[0],
        totals[totals.len() / 2],
        (size as f64 * size as f64) / 1e6 / (totals[totals.len() / 2] / 1e3)
    );
}
