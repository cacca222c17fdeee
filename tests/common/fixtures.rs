//! Fixture images the project makes itself, shared by tests, benches and examples
//! (included with `#[path]`, so it depends on nothing but the `image` crate).

use image::RgbImage;

/// A deterministic photo-like RGB image: smooth light falloff, a soft blob, fine noise.
pub fn photo(w: u32, h: u32, seed: u32) -> RgbImage {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut rand = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 1000) as f32 / 1000.0
    };
    let (cx, cy) = (w as f32 * 0.5, h as f32 * 0.45);
    RgbImage::from_fn(w, h, |x, y| {
        let dx = (x as f32 - cx) / w as f32;
        let dy = (y as f32 - cy) / h as f32;
        let blob = (-(dx * dx + dy * dy) * 8.0).exp();
        let n = rand() * 6.0;
        let base = 40.0 + 150.0 * blob + 30.0 * (y as f32 / h as f32);
        image::Rgb([
            (base * 1.05 + n).min(255.0) as u8,
            (base * 0.85 + n).min(255.0) as u8,
            (base * 0.75 + n + (seed % 7) as f32).min(255.0) as u8,
        ])
    })
}
