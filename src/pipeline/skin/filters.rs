//! Small f32 plane filters: separable Gaussian (clamped or wrapped borders), box mean, and the guided filter.
//!
//! They run on reduced copies, face crops and texture tiles, never on the full image.

use super::join;

/// A single-channel f32 image, row-major.
#[derive(Clone, Debug)]
pub struct Plane {
    pub w: usize,
    pub h: usize,
    pub data: Vec<f32>,
}

impl Plane {
    pub fn new(w: usize, h: usize) -> Plane {
        Plane {
            w,
            h,
            data: vec![0.0; w * h],
        }
    }

    pub fn from_fn(w: usize, h: usize, mut f: impl FnMut(usize, usize) -> f32) -> Plane {
        let mut data = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                data.push(f(x, y));
            }
        }
        Plane { w, h, data }
    }

    #[inline]
    pub fn at(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.w + x]
    }

    /// Bilinear sample at continuous coordinates (pixel centres at integer + 0), clamped at the borders.
    #[inline]
    pub fn sample(&self, u: f32, v: f32) -> f32 {
        let u = u.clamp(0.0, (self.w - 1) as f32);
        let v = v.clamp(0.0, (self.h - 1) as f32);
        let x0 = u as usize;
        let y0 = v as usize;
        let x1 = (x0 + 1).min(self.w - 1);
        let y1 = (y0 + 1).min(self.h - 1);
        let fx = u - x0 as f32;
        let fy = v - y0 as f32;
        let a = self.at(x0, y0) + (self.at(x1, y0) - self.at(x0, y0)) * fx;
        let b = self.at(x0, y1) + (self.at(x1, y1) - self.at(x0, y1)) * fx;
        a + (b - a) * fy
    }
}

/// Normalised Gaussian kernel with radius ceil(3σ) (at least 1).
pub fn gauss_kernel(sigma: f32) -> Vec<f32> {
    let r = ((3.0 * sigma).ceil() as usize).max(1);
    let mut k: Vec<f32> = (0..=2 * r)
        .map(|i| {
            let d = i as f32 - r as f32;
            (-d * d / (2.0 * sigma * sigma)).exp()
        })
        .collect();
    let s: f32 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= s);
    k
}

/// Derivative-of-Gaussian kernel (odd, sums of x·k equal -1 so a unit ramp gives slope 1).
pub fn gauss_deriv_kernel(sigma: f32) -> Vec<f32> {
    let r = ((3.0 * sigma).ceil() as usize).max(1);
    let g = gauss_kernel(sigma);
    let mut k: Vec<f32> = (0..=2 * r)
        .map(|i| -(i as f32 - r as f32) / (sigma * sigma) * g[i])
        .collect();
    // Normalise so that convolving a ramp x gives exactly 1.
    let m: f32 = k
        .iter()
        .enumerate()
        .map(|(i, v)| v * (r as f32 - i as f32))
        .sum();
    k.iter_mut().for_each(|v| *v /= m);
    k
}

/// Gradient magnitude at scale σ (derivative-of-Gaussian filters), clamped borders.
pub fn gradient_magnitude(p: &Plane, sigma: f32) -> Plane {
    let g = gauss_kernel(sigma);
    let d = gauss_deriv_kernel(sigma);
    let gx = blur_cols(&blur_rows(p, &d, false), &g, false);
    let gy = blur_rows(&blur_cols(p, &d, false), &g, false);
    Plane {
        w: p.w,
        h: p.h,
        data: gx
            .data
            .iter()
            .zip(&gy.data)
            .map(|(a, b)| (a * a + b * b).sqrt())
            .collect(),
    }
}

/// Separable Gaussian blur; `wrap` makes the borders periodic (for tileable textures), otherwise clamped.
pub fn gaussian(p: &Plane, sigma: f32, wrap: bool) -> Plane {
    gaussian_xy(p, sigma, sigma, wrap)
}

/// Separable Gaussian blur with different σ along x and y.
pub fn gaussian_xy(p: &Plane, sx: f32, sy: f32, wrap: bool) -> Plane {
    let tmp = blur_rows(p, &gauss_kernel(sx), wrap);
    blur_cols(&tmp, &gauss_kernel(sy), wrap)
}

#[inline]
fn idx(i: isize, n: usize, wrap: bool) -> usize {
    if wrap {
        i.rem_euclid(n as isize) as usize
    } else {
        i.clamp(0, n as isize - 1) as usize
    }
}

fn blur_rows(p: &Plane, k: &[f32], wrap: bool) -> Plane {
    let r = (k.len() / 2) as isize;
    let mut out = Plane::new(p.w, p.h);
    let mut padded = vec![0f32; p.w + 2 * r as usize];
    for y in 0..p.h {
        let row = &p.data[y * p.w..(y + 1) * p.w];
        for (i, v) in padded.iter_mut().enumerate() {
            *v = row[idx(i as isize - r, p.w, wrap)];
        }
        let o = &mut out.data[y * p.w..(y + 1) * p.w];
        // Tap-major: each pass is a contiguous multiply-add over the row (vectorises).
        for (j, kv) in k.iter().enumerate() {
            for (ov, sv) in o.iter_mut().zip(&padded[j..j + p.w]) {
                *ov += kv * sv;
            }
        }
    }
    out
}

fn blur_cols(p: &Plane, k: &[f32], wrap: bool) -> Plane {
    let r = (k.len() / 2) as isize;
    let mut out = Plane::new(p.w, p.h);
    for y in 0..p.h {
        let o = &mut out.data[y * p.w..(y + 1) * p.w];
        for (j, kv) in k.iter().enumerate() {
            let sy = idx(y as isize + j as isize - r, p.h, wrap);
            let src = &p.data[sy * p.w..(sy + 1) * p.w];
            for (ov, sv) in o.iter_mut().zip(src) {
                *ov += kv * sv;
            }
        }
    }
    out
}

/// Gaussian blur that switches to three box passes for large σ (cost independent of σ), clamped borders.
pub fn blur(p: &Plane, sigma: f32) -> Plane {
    if sigma <= 3.0 {
        return gaussian(p, sigma, false);
    }
    let r = ((((4.0 * sigma * sigma + 1.0).sqrt() - 1.0) / 2.0).round() as usize).max(1);
    box_mean(&box_mean(&box_mean(p, r), r), r)
}

/// Box mean over a (2r+1)² window with clamped borders (running sums, O(1) per pixel; rows first, then a
/// running sum of whole rows so both passes stream through memory).
pub fn box_mean(p: &Plane, r: usize) -> Plane {
    let (w, h) = (p.w, p.h);
    let norm = 1.0 / (2 * r + 1) as f32;
    let clampi = |i: isize, n: usize| i.clamp(0, n as isize - 1) as usize;
    let mut tmp = Plane::new(w, h);
    for y in 0..h {
        let row = &p.data[y * w..(y + 1) * w];
        let o = &mut tmp.data[y * w..(y + 1) * w];
        let mut acc = 0f32;
        for i in -(r as isize)..=(r as isize) {
            acc += row[clampi(i, w)];
        }
        for (x, ov) in o.iter_mut().enumerate() {
            *ov = acc * norm;
            acc += row[clampi(x as isize + r as isize + 1, w)]
                - row[clampi(x as isize - r as isize, w)];
        }
    }
    let mut out = Plane::new(w, h);
    let mut acc = vec![0f32; w];
    for i in -(r as isize)..=(r as isize) {
        let src = &tmp.data[clampi(i, h) * w..][..w];
        for (a, s) in acc.iter_mut().zip(src) {
            *a += s;
        }
    }
    for y in 0..h {
        for (ov, a) in out.data[y * w..(y + 1) * w].iter_mut().zip(&acc) {
            *ov = a * norm;
        }
        let add = clampi(y as isize + r as isize + 1, h) * w;
        let sub = clampi(y as isize - r as isize, h) * w;
        for (x, a) in acc.iter_mut().enumerate() {
            *a += tmp.data[add + x] - tmp.data[sub + x];
        }
    }
    out
}

/// Guided filter (He et al.): smooths `src` while following the edges of `guide`.
pub fn guided(guide: &Plane, src: &Plane, r: usize, eps: f32, threads: usize) -> Plane {
    let product = |f: &dyn Fn(f32, f32) -> f32| Plane {
        w: guide.w,
        h: guide.h,
        data: guide
            .data
            .iter()
            .zip(&src.data)
            .map(|(a, b)| f(*a, *b))
            .collect(),
    };
    let ((mean_i, mean_ii), (mean_p, mean_ip)) = join(
        threads,
        || (box_mean(guide, r), box_mean(&product(&|a, _| a * a), r)),
        || (box_mean(src, r), box_mean(&product(&|a, b| a * b), r)),
    );
    let n = guide.data.len();
    let mut a = Plane::new(guide.w, guide.h);
    let mut b = Plane::new(guide.w, guide.h);
    for i in 0..n {
        let var = mean_ii.data[i] - mean_i.data[i] * mean_i.data[i];
        let cov = mean_ip.data[i] - mean_i.data[i] * mean_p.data[i];
        a.data[i] = cov / (var + eps);
        b.data[i] = mean_p.data[i] - a.data[i] * mean_i.data[i];
    }
    let (ma, mb) = join(threads, || box_mean(&a, r), || box_mean(&b, r));
    Plane {
        w: guide.w,
        h: guide.h,
        data: (0..n)
            .map(|i| ma.data[i] * guide.data[i] + mb.data[i])
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_preserves_constant_and_mean() {
        let p = Plane::from_fn(17, 9, |x, y| if (x + y) % 3 == 0 { 1.0 } else { 0.0 });
        let g = gaussian(&p, 1.5, true);
        let m0: f32 = p.data.iter().sum::<f32>() / p.data.len() as f32;
        let m1: f32 = g.data.iter().sum::<f32>() / g.data.len() as f32;
        assert!((m0 - m1).abs() < 1e-4);
        let c = gaussian(&Plane::from_fn(8, 8, |_, _| 0.5), 2.0, false);
        assert!(c.data.iter().all(|v| (v - 0.5).abs() < 1e-5));
    }

    #[test]
    fn box_mean_matches_direct() {
        let p = Plane::from_fn(11, 7, |x, y| (x * 7 + y * 3) as f32 % 5.0);
        let b = box_mean(&p, 2);
        let direct = |x: usize, y: usize| {
            let mut s = 0.0;
            for dy in -2i32..=2 {
                for dx in -2i32..=2 {
                    let xx = (x as i32 + dx).clamp(0, 10) as usize;
                    let yy = (y as i32 + dy).clamp(0, 6) as usize;
                    s += p.at(xx, yy);
                }
            }
            s / 25.0
        };
        for y in 0..7 {
            for x in 0..11 {
                assert!((b.at(x, y) - direct(x, y)).abs() < 1e-4, "{x},{y}");
            }
        }
    }
}
