//! Before/after crops of a treated portrait, for eyes: `cargo run --release --example gallery --
//! IN OUT SHEET.png`.
//!
//! "Before" is IN enlarged with Lanczos3 to OUT's size (what plain upscaling gives); "after" is OUT.
//! The sheet has one row per region of the largest face OUT's landmarks find (a cheek, the nose,
//! the smoothest spot of the forehead about as close to the cheek in colour as any, so not on a
//! fringe), each row: before and after at 100 % (256 px), then before and after at 200 % (the
//! central 128 px, pixels doubled). A white bar separates before from after. The crops'
//! centres are printed, one region a line.
use image::{DynamicImage, GenericImageView, Rgb, RgbImage, imageops};
use realskin::face::{self, mesh};

const SIDE: u32 = 256;
const GAP: u32 = 6;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [inp, out, sheet] = args.as_slice() else {
        eprintln!("usage: gallery IN OUT SHEET.png");
        std::process::exit(2);
    };
    let open = |p: &str| {
        image::open(p).unwrap_or_else(|e| {
            eprintln!("{p}: {e}");
            std::process::exit(1)
        })
    };
    let (a, b) = (open(inp), open(out));
    let before = if a.dimensions() == b.dimensions() {
        a
    } else {
        realskin::pipeline::upscale::lanczos(&a, [b.width(), b.height()])
    };
    let faces = face::analyse(&b, 2);
    let Some(f) = faces
        .iter()
        .max_by(|x, y| (x.bbox.w * x.bbox.h).total_cmp(&(y.bbox.w * y.bbox.h)))
    else {
        eprintln!("{out}: no face found");
        std::process::exit(1);
    };
    let m = &f.mesh;
    // The cheek turned towards the camera: the one farther from the nose tip.
    let nose = m.at(mesh::NOSE_TIP);
    let (r, l) = (m.at(205), m.at(425));
    let cheek = if mesh::dist(r, nose) >= mesh::dist(l, nose) {
        r
    } else {
        l
    };
    // The forehead: of its middle, sides and the glabella, the smoothest spot (central 128 px,
    // before) among those about as close in colour to the cheek as the closest one. A fringe
    // over the forehead is hair, not skin, and AI hair can be as smooth as skin; a forehead in
    // shadow is far from the cheek everywhere, and then smoothness alone decides.
    let skin = mean_rgb(&before, cheek);
    let spots: Vec<([f32; 2], f32)> = [151, 108, 337, 9]
        .into_iter()
        .map(|i| {
            let c = m.at(i);
            (c, colour_distance(mean_rgb(&before, c), skin))
        })
        .collect();
    let closest = spots.iter().map(|s| s.1).fold(f32::MAX, f32::min);
    let forehead = spots
        .iter()
        .filter(|s| s.1 <= 1.1 * closest + 2.0)
        .map(|s| s.0)
        .min_by(|p, q| roughness(&before, *p).total_cmp(&roughness(&before, *q)))
        .unwrap_or(m.at(151));
    let regions = [cheek, m.at(5), forehead];
    // The crops' centres, for measuring the same spots elsewhere.
    for (name, c) in ["cheek", "nose", "forehead"].iter().zip(&regions) {
        println!("{name} {:.0} {:.0}", c[0], c[1]);
    }
    let (w, h) = (4 * SIDE + 5 * GAP, 3 * SIDE + 4 * GAP);
    let mut page = RgbImage::from_pixel(w, h, Rgb([24, 24, 24]));
    for (row, c) in regions.iter().enumerate() {
        let y = GAP + row as u32 * (SIDE + GAP);
        let crop = |img: &DynamicImage, side: u32| {
            let x0 = (c[0] as i64 - side as i64 / 2).clamp(0, (img.width() - side) as i64) as u32;
            let y0 = (c[1] as i64 - side as i64 / 2).clamp(0, (img.height() - side) as i64) as u32;
            img.crop_imm(x0, y0, side, side).to_rgb8()
        };
        let zoom = |p: RgbImage| imageops::resize(&p, SIDE, SIDE, imageops::FilterType::Nearest);
        let tiles = [
            crop(&before, SIDE),
            crop(&b, SIDE),
            zoom(crop(&before, SIDE / 2)),
            zoom(crop(&b, SIDE / 2)),
        ];
        for (i, t) in tiles.iter().enumerate() {
            let x = GAP + i as u32 * (SIDE + GAP);
            imageops::replace(&mut page, t, x as i64, y as i64);
        }
        // White bars between each before/after pair.
        for x in [GAP + SIDE, 3 * GAP + 3 * SIDE] {
            for yy in y..y + SIDE {
                for xx in x..x + GAP {
                    page.put_pixel(xx, yy, Rgb([230, 230, 230]));
                }
            }
        }
    }
    page.save(sheet).unwrap_or_else(|e| {
        eprintln!("{sheet}: {e}");
        std::process::exit(1)
    });
}

/// The 128 px square around `c` (clamped inside the picture).
fn square(img: &DynamicImage, c: [f32; 2]) -> DynamicImage {
    let side = (SIDE / 2).min(img.width()).min(img.height());
    let x0 = (c[0] as i64 - side as i64 / 2).clamp(0, (img.width() - side) as i64) as u32;
    let y0 = (c[1] as i64 - side as i64 / 2).clamp(0, (img.height() - side) as i64) as u32;
    img.crop_imm(x0, y0, side, side)
}

/// Mean colour of the 128 px square around `c`.
fn mean_rgb(img: &DynamicImage, c: [f32; 2]) -> [f32; 3] {
    let sq = square(img, c).to_rgb8();
    let mut sum = [0f64; 3];
    for p in sq.pixels() {
        for (s, v) in sum.iter_mut().zip(p.0) {
            *s += f64::from(v);
        }
    }
    let n = f64::from(sq.width() * sq.height()).max(1.0);
    sum.map(|s| (s / n) as f32)
}

/// Euclidean distance between two mean colours, in 8-bit steps.
fn colour_distance(a: [f32; 3], b: [f32; 3]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f32>()
        .sqrt()
}

/// Mean absolute luma difference between neighbours in the 128 px square around `c`.
fn roughness(img: &DynamicImage, c: [f32; 2]) -> f32 {
    let g = square(img, c).to_luma8();
    let side = g.width();
    let mut sum = 0u64;
    for y in 0..side - 1 {
        for x in 0..side - 1 {
            let v = i32::from(g.get_pixel(x, y)[0]);
            sum += (v - i32::from(g.get_pixel(x + 1, y)[0])).unsigned_abs() as u64
                + (v - i32::from(g.get_pixel(x, y + 1)[0])).unsigned_abs() as u64;
        }
    }
    sum as f32 / ((side - 1) * (side - 1)) as f32
}
