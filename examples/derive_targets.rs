//! Derives the real-skin targets: measures the real photographs (faces, mask, band energies, chroma,
//! pore-band shape, noise floor) with the engine's own measurement, at their native resolution.
//! `cargo run --release --example derive_targets -- /work/shared/samples/portraits/real_*`
use realskin::pipeline::skin::{filters::Plane, grain, mask, measure, pixels};

fn main() {
    for path in std::env::args().skip(1) {
        let img = image::open(&path).expect("readable image");
        let img = image::DynamicImage::ImageRgb8(img.to_rgb8());
        let (w, h) = (img.width() as usize, img.height() as usize);
        let px = pixels::Pixels::of(&img).unwrap();
        let red = pixels::Reduced::build(&px, w, h, 1, pixels::Space::srgb());
        let used = realskin::face::analyse(&img, 2);
        let Some(face) = used.first() else {
            println!("{path}: no face");
            continue;
        };
        let f = &face.bbox;
        let boxes: Vec<_> = used.iter().map(|f| f.bbox).collect();
        let layers = mask::layers(&used, red.k, red.w, red.h);
        let models = mask::fit_models(&red, &layers);
        let maps = mask::build(&red, &boxes, layers, &models, None, 1);
        let ppm = realskin::pipeline::skin::scale::from_faces(&used, 4.0).px_per_mm;
        let cx = f.cx();
        let cy = f.y + 0.55 * f.h;
        let rect = measure::Rect {
            x0: (cx - 0.4 * f.w).max(0.0) as usize,
            y0: (cy - 0.45 * f.h).max(0.0) as usize,
            x1: ((cx + 0.4 * f.w) as usize).min(w),
            y1: ((cy + 0.45 * f.h) as usize).min(h),
        };
        let pixels::Pixels::U8 { data, channels } = px else {
            unreachable!()
        };
        let lab = measure::lab_of(
            data,
            channels,
            w * channels,
            rect,
            (0, 0),
            pixels::Space::srgb(),
        );
        let k = red.k as f32;
        let m = Plane::from_fn(rect.w(), rect.h(), |x, y| {
            maps.mask.sample(
                (rect.x0 + x) as f32 / k + 0.5 / k - 0.5,
                (rect.y0 + y) as f32 / k + 0.5 / k - 0.5,
            )
        });
        let sel = measure::selection(&lab.l, &m, ppm);
        let b = measure::bands(&lab, &sel, ppm);
        let floor = grain::noise_floor(data, channels, w, h, pixels::Space::srgb());
        println!(
            "{:45} ppm {:.2} fine {:.4} mid {:.4} chroma {:.2} skew {:.2} kurt {:.1} n {} floor {:.3}",
            path.rsplit('/').next().unwrap(),
            ppm,
            b.fine,
            b.mid,
            b.chroma,
            b.fine_skew,
            b.fine_kurt,
            b.samples,
            floor
        );
    }
}
