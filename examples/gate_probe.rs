//! Dumps what the per-face gate looks at, for studying new cues outside Rust: for each face,
//! the crop aligned to the eye line (as `gate::judge` takes it) at the source's own resolution
//! (at most 1024 px) and the 468 landmarks in that crop's pixels.
//!
//! `cargo run --release --example gate_probe -- OUT_DIR FILE...` writes
//! `OUT_DIR/<stem>_<face>.png` and `OUT_DIR/<stem>_<face>.json`.
use realskin::face::{self, mesh};

fn main() {
    let mut args = std::env::args().skip(1);
    let out = std::path::PathBuf::from(args.next().expect("usage: gate_probe OUT_DIR FILE..."));
    std::fs::create_dir_all(&out).expect("create OUT_DIR");
    for p in args {
        let img = match image::open(&p) {
            Ok(i) => i,
            Err(e) => {
                eprintln!("{p}: {e}");
                continue;
            }
        };
        let stem = std::path::Path::new(&p)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        for (k, f) in face::analyse(&img, 2).iter().enumerate() {
            let m = &f.mesh;
            let width =
                mesh::dist(m.at(mesh::RIGHT_CHEEK_EDGE), m.at(mesh::LEFT_CHEEK_EDGE)).max(8.0);
            let b = m.oval_bounds();
            let side = 256.0 * width / 170.0;
            let roi = face::sample::Roi {
                cx: 0.5 * (b[0] + b[2]),
                cy: 0.5 * (b[1] + b[3]),
                side,
                angle: m.roll_deg().to_radians(),
            };
            let n = (side.round() as usize).clamp(256, 1024);
            let pyr = face::crop_pyramid(&img, &roi, n);
            let rgb: Vec<u8> = pyr
                .crop(&roi, n, |v| (v * 255.0).round().clamp(0.0, 255.0))
                .into_iter()
                .map(|v| v as u8)
                .collect();
            let crop = image::RgbImage::from_raw(n as u32, n as u32, rgb).expect("crop size");
            crop.save(out.join(format!("{stem}_{k}.png")))
                .expect("write crop");
            let pts: Vec<[f32; 2]> = m
                .points
                .iter()
                .map(|p| roi.to_crop(p[0], p[1], n))
                .collect();
            let json = format!(
                "{{\"n\":{n},\"side\":{side},\"width\":{width},\"yaw\":{},\"bbox_w\":{},\"points\":{:?}}}",
                m.yaw(),
                f.bbox.w,
                pts
            );
            std::fs::write(out.join(format!("{stem}_{k}.json")), json).expect("write json");
        }
    }
}
