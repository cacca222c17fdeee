//! Anti-aliased sampling of square, rotated crops for the networks: an RGB pyramid (each level
//! half the last, box-averaged) sampled bilinearly at the level nearest the crop's scale.
//!
//! All geometry is in full-image pixels, with pixel centres at `i + 0.5`.

use image::RgbImage;

/// An RGB pyramid of (part of) the image, in 0..1 sRGB.
pub struct Pyramid {
    levels: Vec<Level>,
    /// Full-image pixels per level-0 pixel.
    scale: f32,
    /// Where level 0's corner lies in the full image.
    origin: [f32; 2],
}

struct Level {
    w: usize,
    h: usize,
    texels: Texels,
}

/// A level's pixels: the image's own bytes (the full-size level) or 0..1 values.
enum Texels {
    Bytes(Vec<u8>),
    Floats(Vec<[f32; 3]>),
}

/// 0..1 for each byte value.
static UNIT: [f32; 256] = {
    let mut t = [0f32; 256];
    let mut v = 0;
    while v < 256 {
        t[v] = v as f32 / 255.0;
        v += 1;
    }
    t
};

/// Row-major RGB pixels read as 0..1 values.
trait Pixels {
    fn at(&self, i: usize) -> [f32; 3];
}

impl Pixels for [[f32; 3]] {
    #[inline(always)]
    fn at(&self, i: usize) -> [f32; 3] {
        self[i]
    }
}

/// 8-bit RGB, each byte read as the value a conversion would have stored.
struct Bytes<'a>(&'a [u8]);

impl Pixels for Bytes<'_> {
    #[inline(always)]
    fn at(&self, i: usize) -> [f32; 3] {
        let p = &self.0[3 * i..3 * i + 3];
        [
            UNIT[p[0] as usize],
            UNIT[p[1] as usize],
            UNIT[p[2] as usize],
        ]
    }
}

impl Level {
    /// Pixel `i` (row-major) in 0..1.
    #[inline(always)]
    fn at(&self, i: usize) -> [f32; 3] {
        match &self.texels {
            Texels::Floats(rgb) => rgb[i],
            Texels::Bytes(b) => Bytes(b).at(i),
        }
    }
}

/// A square crop: centre, side and rotation (radians, the crop's x axis in the image).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Roi {
    pub cx: f32,
    pub cy: f32,
    pub side: f32,
    pub angle: f32,
}

impl Roi {
    /// The image point at crop coordinates (u, v), in crop pixels of an `n`-pixel crop.
    pub fn to_image(&self, u: f32, v: f32, n: usize) -> [f32; 2] {
        let k = self.side / n as f32;
        let (du, dv) = ((u - n as f32 * 0.5) * k, (v - n as f32 * 0.5) * k);
        let (s, c) = self.angle.sin_cos();
        [self.cx + du * c - dv * s, self.cy + du * s + dv * c]
    }

    /// The crop coordinates of an image point (inverse of [`Roi::to_image`]).
    pub fn to_crop(&self, x: f32, y: f32, n: usize) -> [f32; 2] {
        let k = n as f32 / self.side;
        let (dx, dy) = (x - self.cx, y - self.cy);
        let (s, c) = self.angle.sin_cos();
        [
            (dx * c + dy * s) * k + n as f32 * 0.5,
            (-dx * s + dy * c) * k + n as f32 * 0.5,
        ]
    }
}

impl Pyramid {
    /// Builds the pyramid of an 8-bit RGB image that shows the full image at `scale` full
    /// pixels per pixel, with its corner at `origin` (full-image pixels).
    pub fn new(img: RgbImage, scale: f32, origin: [f32; 2]) -> Pyramid {
        Pyramid::new_on(img, scale, origin, 1)
    }

    /// [`Pyramid::new`], the first halving done on up to `threads` threads (the same values
    /// whatever the count). The full-size level keeps the image's bytes: crops seldom read it,
    /// and each byte reads as the value a conversion would have stored.
    pub fn new_on(img: RgbImage, scale: f32, origin: [f32; 2], threads: usize) -> Pyramid {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let mut levels = vec![Level {
            w,
            h,
            texels: Texels::Bytes(img.into_raw()),
        }];
        loop {
            let last = levels.last().expect("one level at least");
            if last.w.min(last.h) < 64 {
                break;
            }
            let (w, h) = (last.w / 2, last.h / 2);
            let half = |rows: std::ops::Range<usize>| {
                let mut rgb = Vec::with_capacity(rows.len() * w);
                for y in rows {
                    for x in 0..w {
                        let i = 2 * y * last.w + 2 * x;
                        let q = [
                            last.at(i),
                            last.at(i + 1),
                            last.at(i + last.w),
                            last.at(i + last.w + 1),
                        ];
                        rgb.push(std::array::from_fn(|c| {
                            0.25 * (q[0][c] + q[1][c] + q[2][c] + q[3][c])
                        }));
                    }
                }
                rgb
            };
            let bands = threads.clamp(1, h);
            let rgb = if bands == 1 {
                half(0..h)
            } else {
                std::thread::scope(|s| {
                    let workers: Vec<_> = (0..bands)
                        .map(|b| s.spawn(move || half(h * b / bands..h * (b + 1) / bands)))
                        .collect();
                    let parts: Vec<Vec<[f32; 3]>> = workers
                        .into_iter()
                        .map(|t| t.join().expect("pyramid worker panicked"))
                        .collect();
                    parts.concat()
                })
            };
            levels.push(Level {
                w,
                h,
                texels: Texels::Floats(rgb),
            });
        }
        Pyramid {
            levels,
            scale,
            origin,
        }
    }

    /// Full-image pixels per level-0 pixel.
    pub fn scale(&self) -> f32 {
        self.scale
    }

    /// Samples an `n`×`n` crop, each value mapped by `norm` (for the network's input range),
    /// row-major RGB. Outside the image the crop is black.
    pub fn crop(&self, roi: &Roi, n: usize, norm: impl Fn(f32) -> f32) -> Vec<f32> {
        if roi.angle == 0.0 {
            self.crop_upright(roi, n, norm)
        } else {
            self.crop_rotated(roi, n, norm)
        }
    }

    /// The level a crop samples and its pixel size in level-0 pixels: at most 2 level pixels
    /// per crop pixel, so a 2×2 supersample covers them.
    fn level_for(&self, roi: &Roi, n: usize) -> (&Level, f32) {
        let step0 = roi.side / n as f32 / self.scale;
        let level = (step0.max(1.0).log2().floor() as usize).min(self.levels.len() - 1);
        (&self.levels[level], (1usize << level) as f32)
    }

    /// Any crop: each of the 2×2 subsamples of each crop pixel mapped through the rotation.
    fn crop_rotated(&self, roi: &Roi, n: usize, norm: impl Fn(f32) -> f32) -> Vec<f32> {
        let (lv, f) = self.level_for(roi, n);
        match &lv.texels {
            Texels::Bytes(b) => self.rotated_from(&Bytes(b), lv, f, roi, n, norm),
            Texels::Floats(v) => self.rotated_from(&v[..], lv, f, roi, n, norm),
        }
    }

    fn rotated_from<P: Pixels + ?Sized>(
        &self,
        px: &P,
        lv: &Level,
        f: f32,
        roi: &Roi,
        n: usize,
        norm: impl Fn(f32) -> f32,
    ) -> Vec<f32> {
        // `f` is a power of two, so multiplying by its inverse divides exactly.
        let inv_f = 1.0 / f;
        let mut out = Vec::with_capacity(n * n * 3);
        // `Roi::to_image` with its sine, cosine and scale computed once per crop (the same
        // arithmetic, so the same values).
        let k = roi.side / n as f32;
        let (sin, cos) = roi.angle.sin_cos();
        let half = n as f32 * 0.5;
        let to_image = |u: f32, v: f32| {
            let (du, dv) = ((u - half) * k, (v - half) * k);
            [roi.cx + du * cos - dv * sin, roi.cy + du * sin + dv * cos]
        };
        for v in 0..n {
            for u in 0..n {
                let mut acc = [0f32; 3];
                for (du, dv) in SUBSAMPLES {
                    let p = to_image(u as f32 + du, v as f32 + dv);
                    // Full image → level-0 → level pixel-centre coordinates.
                    let x = (p[0] - self.origin[0]) / self.scale * inv_f - 0.5;
                    let y = (p[1] - self.origin[1]) / self.scale * inv_f - 0.5;
                    let c = match (tap(x, lv.w), tap(y, lv.h)) {
                        (Some(tx), Some(ty)) => blend(px, lv.w, tx, ty),
                        _ => [0.0; 3],
                    };
                    for k in 0..3 {
                        acc[k] += c[k];
                    }
                }
                for a in acc {
                    out.push(norm(a * 0.25));
                }
            }
        }
        out
    }

    /// An unrotated crop (every detector window): x depends on the column only and y on the
    /// row only, so the taps are worked out once per column and per row. With a zero angle
    /// [`Pyramid::crop_rotated`]'s arithmetic reduces to exactly these sums (a sine of 0 and a
    /// cosine of 1 add and multiply exactly), so both give the same values.
    fn crop_upright(&self, roi: &Roi, n: usize, norm: impl Fn(f32) -> f32) -> Vec<f32> {
        let (lv, f) = self.level_for(roi, n);
        match &lv.texels {
            Texels::Bytes(b) => self.upright_from(&Bytes(b), lv, f, roi, n, norm),
            Texels::Floats(v) => self.upright_from(&v[..], lv, f, roi, n, norm),
        }
    }

    fn upright_from<P: Pixels + ?Sized>(
        &self,
        px: &P,
        lv: &Level,
        f: f32,
        roi: &Roi,
        n: usize,
        norm: impl Fn(f32) -> f32,
    ) -> Vec<f32> {
        let k = roi.side / n as f32;
        let half = n as f32 * 0.5;
        let inv_f = 1.0 / f;
        let taps = |centre: f32, origin: f32, len: usize| -> Vec<Option<Tap>> {
            (0..2 * n)
                .map(|t| {
                    let c = (t / 2) as f32 + if t % 2 == 0 { 0.25 } else { 0.75 };
                    let p = centre + (c - half) * k;
                    tap((p - origin) / self.scale * inv_f - 0.5, len)
                })
                .collect()
        };
        let (xs, ys) = (
            taps(roi.cx, self.origin[0], lv.w),
            taps(roi.cy, self.origin[1], lv.h),
        );
        let mut out = Vec::with_capacity(n * n * 3);
        for v in 0..n {
            for u in 0..n {
                let mut acc = [0f32; 3];
                // The order of SUBSAMPLES: (¼, ¼), (¾, ¼), (¼, ¾), (¾, ¾).
                for (tx, ty) in [
                    (xs[2 * u], ys[2 * v]),
                    (xs[2 * u + 1], ys[2 * v]),
                    (xs[2 * u], ys[2 * v + 1]),
                    (xs[2 * u + 1], ys[2 * v + 1]),
                ] {
                    let c = match (tx, ty) {
                        (Some(tx), Some(ty)) => blend(px, lv.w, tx, ty),
                        _ => [0.0; 3],
                    };
                    for k in 0..3 {
                        acc[k] += c[k];
                    }
                }
                for a in acc {
                    out.push(norm(a * 0.25));
                }
            }
        }
        out
    }
}

/// The 2×2 supersample of a crop pixel, in crop pixels from its corner.
const SUBSAMPLES: [(f32, f32); 4] = [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)];

/// Where a bilinear sample reads along one axis: the two neighbours and the weight of the
/// second.
#[derive(Clone, Copy)]
struct Tap {
    i0: usize,
    i1: usize,
    t: f32,
}

/// The tap at level-pixel coordinate `x` on an axis of `len` pixels; `None` beyond half a
/// pixel outside (black there).
#[inline(always)]
fn tap(x: f32, len: usize) -> Option<Tap> {
    if x < -0.5 || x > len as f32 - 0.5 {
        return None;
    }
    let x = x.clamp(0.0, (len - 1) as f32);
    // Clamped to 0 or more (or NaN, which casts to 0 as its floor would), so the cast
    // truncates exactly as `floor` would, without a libm call per sample.
    let i0 = x as usize;
    Some(Tap {
        i0,
        i1: (i0 + 1).min(len - 1),
        t: x - i0 as f32,
    })
}

/// The bilinear blend of the four pixels two taps select, in a level `w` pixels wide.
#[inline(always)]
fn blend<P: Pixels + ?Sized>(px: &P, w: usize, x: Tap, y: Tap) -> [f32; 3] {
    let (top, bottom) = (y.i0 * w, y.i1 * w);
    let (a, b, c, d) = (
        px.at(top + x.i0),
        px.at(top + x.i1),
        px.at(bottom + x.i0),
        px.at(bottom + x.i1),
    );
    std::array::from_fn(|k| {
        let top = a[k] + (b[k] - a[k]) * x.t;
        let bot = c[k] + (d[k] - c[k]) * x.t;
        top + (bot - top) * y.t
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roi_maps_round_trip() {
        let r = Roi {
            cx: 100.0,
            cy: 50.0,
            side: 80.0,
            angle: 0.3,
        };
        let p = r.to_image(10.0, 150.0, 192);
        let q = r.to_crop(p[0], p[1], 192);
        assert!((q[0] - 10.0).abs() < 1e-3 && (q[1] - 150.0).abs() < 1e-3);
    }

    #[test]
    fn an_axis_aligned_crop_reads_the_pixels_it_covers() {
        let img = RgbImage::from_fn(64, 64, |x, _| {
            if x < 32 {
                image::Rgb([255, 0, 0])
            } else {
                image::Rgb([0, 0, 255])
            }
        });
        let pyr = Pyramid::new(img.clone(), 1.0, [0.0, 0.0]);
        let roi = Roi {
            cx: 32.0,
            cy: 32.0,
            side: 64.0,
            angle: 0.0,
        };
        let c = pyr.crop(&roi, 16, |v| v);
        assert!(
            (c[0] - 1.0).abs() < 1e-3 && c[2].abs() < 1e-3,
            "left is red"
        );
        let last = (16 * 16 - 1) * 3;
        assert!(
            c[last].abs() < 1e-3 && (c[last + 2] - 1.0).abs() < 1e-3,
            "right is blue"
        );
    }

    #[test]
    fn an_upright_crop_equals_the_rotated_path_bit_for_bit() {
        let img = RgbImage::from_fn(301, 217, |x, y| {
            let h = x.wrapping_mul(2654435761) ^ y.wrapping_mul(40503) ^ (x * y);
            image::Rgb([h as u8, (h >> 8) as u8, (h >> 16) as u8])
        });
        let pyr = Pyramid::new(img.clone(), 1.7, [13.0, -4.5]);
        for (cx, cy, side) in [
            (200.0, 150.0, 300.0),
            (40.0, 30.0, 97.3),
            (520.0, 380.0, 1100.0),
            (-20.0, 10.0, 64.0),
        ] {
            let roi = Roi {
                cx,
                cy,
                side,
                angle: 0.0,
            };
            for n in [16, 37, 128] {
                let fast = pyr.crop_upright(&roi, n, |v| v * 2.0 - 1.0);
                let slow = pyr.crop_rotated(&roi, n, |v| v * 2.0 - 1.0);
                assert!(
                    fast.iter()
                        .zip(&slow)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{roi:?} n {n}"
                );
            }
        }
    }
}
