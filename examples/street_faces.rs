//! Small faces in a large picture: each picture given is shrunk to 260, 340 and 440 px wide
//! and pasted onto a 3000×2000 px textured canvas (a figure in a street), and the faces found
//! there are printed, one line per scene. Faces then measure about 30 to 240 px, most below
//! the coarse search's 187 px floor at that size, so they are found by looking closer (see
//! `face::analyse`). Used to choose the score a detection made by looking closer must reach:
//!
//!   cargo run --release --example street_faces -- ../shared/samples/dev/*-photo/*

fn main() {
    for p in std::env::args().skip(1) {
        let img = match image::open(&p) {
            Ok(img) => img,
            Err(e) => {
                eprintln!("{p}: {e}");
                continue;
            }
        };
        for w in [260u32, 340, 440] {
            let h = (img.height() as f32 * w as f32 / img.width() as f32).round() as u32;
            let small = img
                .resize_exact(w, h.max(1), image::imageops::FilterType::Lanczos3)
                .to_rgb8();
            let mut canvas = image::RgbImage::from_fn(3000, 2000, |x, y| {
                let v = 90 + ((x * 7 + y * 13) % 23) as u8;
                image::Rgb([v, v + 10, v + 5])
            });
            image::imageops::overlay(&mut canvas, &small, 1300, 700);
            let faces = realskin::face::analyse(&image::DynamicImage::ImageRgb8(canvas), 2);
            let widths: Vec<i32> = faces.iter().map(|f| f.bbox.w.round() as i32).collect();
            println!("{p}\t{w} px\t{} faces\t{widths:?}", faces.len());
        }
    }
}
