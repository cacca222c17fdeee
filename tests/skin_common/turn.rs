//! Turning a picture by any angle, shared by the tests and `examples/gate_variants.rs`.

use image::{Rgb, RgbImage};

/// Turned by `deg` counter-clockwise about the centre onto a canvas that holds it all, bilinear,
/// the corners dark grey.
pub fn rotate(img: &RgbImage, deg: f32) -> RgbImage {
    let (s, c) = deg.to_radians().sin_cos();
    let (w, h) = (img.width() as f32, img.height() as f32);
    let (nw, nh) = (w * c.abs() + h * s.abs(), w * s.abs() + h * c.abs());
    RgbImage::from_fn(nw.ceil() as u32, nh.ceil() as u32, |x, y| {
        let (dx, dy) = (x as f32 + 0.5 - nw / 2.0, y as f32 + 0.5 - nh / 2.0);
        let sx = c * dx - s * dy + w / 2.0 - 0.5;
        let sy = s * dx + c * dy + h / 2.0 - 0.5;
        if sx < 0.0 || sy < 0.0 || sx > w - 1.0 || sy > h - 1.0 {
            return Rgb([40, 40, 40]);
        }
        let (x0, y0) = (sx as u32, sy as u32);
        let (x1, y1) = (
            (x0 + 1).min(img.width() - 1),
            (y0 + 1).min(img.height() - 1),
        );
        let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
        let p = |xx, yy, k: usize| img.get_pixel(xx, yy).0[k] as f32;
        Rgb(std::array::from_fn(|k| {
            let top = p(x0, y0, k) + (p(x1, y0, k) - p(x0, y0, k)) * fx;
            let bot = p(x0, y1, k) + (p(x1, y1, k) - p(x0, y1, k)) * fx;
            (top + (bot - top) * fy).round() as u8
        }))
    })
}
