//! Scenes shared by the benches.

use image::DynamicImage;

/// Three dev-set portraits pasted at 90, 128 and 180 px face widths on a plain 4096×2731
/// canvas (`None` without `shared/samples`).
pub fn small_faces() -> Option<DynamicImage> {
    let (w, h) = (4096u32, 2731u32);
    let mut canvas = image::RgbImage::from_pixel(w, h, image::Rgb([120, 112, 104]));
    let mut x0 = 400i64;
    for (rel, want) in [
        ("dev/ai-photo/pixart-alpha_woman-portrait.png", 90.0),
        ("dev/real-photo/pulid-input_lifeifei.jpg", 128.0),
        ("dev/real-photo/facerec_rose-leslie.jpg", 180.0),
    ] {
        let p = ["../shared/samples", "/work/shared/samples"]
            .iter()
            .map(|r| std::path::Path::new(r).join(rel))
            .find(|p| p.exists())?;
        let img = image::open(p).expect("sample decodes");
        let f = realskin::face::analyse(&img, 2).first()?.bbox;
        let k = want / f.w;
        let small = img
            .resize_exact(
                (img.width() as f32 * k) as u32,
                (img.height() as f32 * k) as u32,
                image::imageops::FilterType::Lanczos3,
            )
            .to_rgb8();
        image::imageops::replace(&mut canvas, &small, x0, 900);
        x0 += small.width() as i64 + 600;
    }
    Some(DynamicImage::ImageRgb8(canvas))
}
