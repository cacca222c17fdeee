//! Writes variants of a labelled picture set, for checking that the per-face gate's verdicts
//! generalise beyond the pictures as they were made: each picture of `SRC/{ai-photo,real-photo,
//! not-photo}` is written to `OUT/<class>/` halved, doubled, recompressed as JPEG at quality
//! 55, turned 90°, mirrored and turned 20°, made grey, and warm-graded (red ×1.12, blue
//! ×0.85), as a studio receives pictures that were resized, re-saved, rotated and graded. Each
//! variant keeps its picture's ICC profile.
//!
//! `cargo run --release --example gate_variants -- SRC OUT`, then `bench/gate.sh OUT`
//! (`bench/gate.sh --variants` does both).
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::imageops::{self, FilterType};
use image::{
    DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, ImageReader, Rgb, RgbImage,
};
use std::path::Path;

#[path = "../tests/skin_common/turn.rs"]
mod turn;
use turn::rotate;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(src), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: gate_variants SRC OUT (SRC holds ai-photo/, real-photo/, not-photo/)");
        std::process::exit(2);
    };
    for class in ["ai-photo", "real-photo", "not-photo"] {
        let dir = Path::new(&src).join(class);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let to = Path::new(&out).join(class);
        std::fs::create_dir_all(&to).expect("create the output folder");
        let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for p in files {
            let Some((img, icc)) = open(&p) else { continue };
            let stem = p.file_stem().unwrap_or_default().to_string_lossy();
            let (w, h) = img.dimensions();
            let save = |tag: &str, im: &RgbImage| {
                let mut png = Vec::new();
                let mut enc = PngEncoder::new(&mut png);
                if let Some(icc) = &icc {
                    enc.set_icc_profile(icc.clone())
                        .expect("PNG takes a profile");
                }
                enc.write_image(
                    im.as_raw(),
                    im.width(),
                    im.height(),
                    ExtendedColorType::Rgb8,
                )
                .expect("encode PNG");
                std::fs::write(to.join(format!("{stem}__{tag}.png")), png)
                    .expect("write a variant");
            };
            save(
                "half",
                &imageops::resize(&img, (w / 2).max(1), (h / 2).max(1), FilterType::Lanczos3),
            );
            save(
                "double",
                &imageops::resize(&img, w * 2, h * 2, FilterType::Lanczos3),
            );
            save("rot90", &imageops::rotate90(&img));
            save(
                "mirror_rot20",
                &rotate(&imageops::flip_horizontal(&img), 20.0),
            );
            save(
                "gray",
                &RgbImage::from_fn(w, h, |x, y| {
                    let [r, g, b] = img.get_pixel(x, y).0;
                    let l = (0.299 * r as f32 + 0.587 * g as f32 + 0.114 * b as f32).round() as u8;
                    Rgb([l, l, l])
                }),
            );
            save(
                "warm",
                &RgbImage::from_fn(w, h, |x, y| {
                    let [r, g, b] = img.get_pixel(x, y).0;
                    Rgb([
                        (r as f32 * 1.12).min(255.0) as u8,
                        g,
                        (b as f32 * 0.85) as u8,
                    ])
                }),
            );
            let mut jpeg = Vec::new();
            let mut enc = JpegEncoder::new_with_quality(&mut jpeg, 55);
            if let Some(icc) = &icc {
                enc.set_icc_profile(icc.clone())
                    .expect("JPEG takes a profile");
            }
            enc.write_image(img.as_raw(), w, h, ExtendedColorType::Rgb8)
                .expect("encode JPEG");
            std::fs::write(to.join(format!("{stem}__q55.jpg")), jpeg).expect("write a variant");
        }
    }
}

/// The picture as 8-bit RGB and its ICC profile, which every variant keeps (the gate measures
/// skin colour in the picture's own colour space).
fn open(p: &Path) -> Option<(RgbImage, Option<Vec<u8>>)> {
    let mut dec = ImageReader::open(p)
        .ok()?
        .with_guessed_format()
        .ok()?
        .into_decoder()
        .ok()?;
    let icc = dec.icc_profile().ok().flatten();
    let img = DynamicImage::from_decoder(dec).ok()?;
    Some((img.to_rgb8(), icc))
}
