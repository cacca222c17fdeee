//! Where the tiles of a tiled inference go, and the feathered weights that blend their
//! overlaps. Pure arithmetic over one axis at a time; the model runs elsewhere.
//!
//! Tiles overlap by at least `overlap` input pixels. Inside each overlap, a tile's
//! weight is 0 for the quarter of the band nearest its own edge, ramps linearly across
//! the middle half, and is 1 beyond; the neighbour's weight is the mirror image. So a
//! pixel only ever takes values computed at least `overlap / 4` pixels away from a tile
//! edge: when that is more than the model's receptive field, the tiled result equals
//! the untiled one (up to float rounding), and when it is less, the seam is still
//! spread smoothly over the band instead of showing as a line. Weights are normalised
//! per axis, so every output pixel's weights sum to exactly 1.

/// One tile along one axis, in input pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First pixel.
    pub start: u32,
    /// Length.
    pub len: u32,
}

impl Span {
    /// One past the last pixel.
    pub fn end(self) -> u32 {
        self.start + self.len
    }
}

/// The overlap used for tiles of `tile` pixels: an eighth of the tile, at least 16
/// (a quarter of it for tiles under 64), at most 64.
pub fn overlap_for(tile: u32) -> u32 {
    (tile / 8).clamp(16, 64).min(tile / 4)
}

/// The tile length actually used along an axis of `length` pixels when tiles may be up to
/// `max_tile` long: as short as possible for the number of tiles needed, rounded up to
/// `align`, so little work is spent on overlaps (tiles then overlap by at least
/// `overlap_for(max_tile)`). `length` itself when one tile covers it.
pub fn balanced_tile(length: u32, max_tile: u32, align: u32) -> u32 {
    let align = align.max(1);
    let max_tile = (max_tile / align * align).max(align);
    if length <= max_tile {
        return length;
    }
    let overlap = overlap_for(max_tile);
    let n = (length - overlap).div_ceil(max_tile - overlap);
    let even = (length + (n - 1) * overlap).div_ceil(n);
    even.div_ceil(align).saturating_mul(align).min(max_tile)
}

/// Tiles of `tile` pixels covering `length` pixels, each overlapping the next by at
/// least `overlap`, spread evenly, the first at 0 and the last ending at `length`.
pub fn spans(length: u32, tile: u32, overlap: u32) -> Vec<Span> {
    if length <= tile {
        return vec![Span {
            start: 0,
            len: length,
        }];
    }
    let overlap = overlap.min(tile.saturating_sub(1));
    let n = (length - overlap).div_ceil(tile - overlap).max(2);
    let last = u64::from(length - tile);
    (0..u64::from(n))
        .map(|i| Span {
            start: (last * i / u64::from(n - 1)) as u32,
            len: tile,
        })
        .collect()
}

/// The blending weight of every output pixel of every tile along one axis, for a model
/// of scale `scale`: `result[i][x]` is tile `i`'s weight at its local output pixel `x`.
/// At each output pixel, the weights of the tiles covering it sum to 1.
pub fn weights(spans: &[Span], scale: u32) -> Vec<Vec<f32>> {
    let s = f64::from(scale);
    let ramp = |x: f64, lo: f64, hi: f64| ((x - lo) / (hi - lo)).clamp(0.0, 1.0);
    let mut raw: Vec<Vec<f64>> = spans
        .iter()
        .enumerate()
        .map(|(i, span)| {
            let left = (i > 0).then(|| band(spans[i - 1], *span, s));
            let right = spans.get(i + 1).map(|next| band(*span, *next, s));
            (0..span.len * scale)
                .map(|x| {
                    let c = f64::from(span.start) * s + f64::from(x) + 0.5;
                    let wl = left.map_or(1.0, |(a, b)| ramp(c, a, b));
                    let wr = right.map_or(1.0, |(a, b)| 1.0 - ramp(c, a, b));
                    wl * wr
                })
                .collect()
        })
        .collect();
    let out_len = spans.last().map_or(0, |s| s.end()) * scale;
    let mut total = vec![0.0f64; out_len as usize];
    for (span, w) in spans.iter().zip(&raw) {
        let start = (span.start * scale) as usize;
        for (t, v) in total[start..start + w.len()].iter_mut().zip(w) {
            *t += v;
        }
    }
    for (span, w) in spans.iter().zip(raw.iter_mut()) {
        let start = (span.start * scale) as usize;
        for (v, t) in w.iter_mut().zip(&total[start..]) {
            *v = if *t > 0.0 { *v / t } else { 0.0 };
        }
    }
    raw.into_iter()
        .map(|w| w.into_iter().map(|v| v as f32).collect())
        .collect()
}

/// The ramp of the overlap between tile `a` and the following tile `b`, in output
/// pixels: the middle half of the band where both tiles have pixels.
fn band(a: Span, b: Span, s: f64) -> (f64, f64) {
    let lo = f64::from(b.start) * s;
    let hi = f64::from(a.end()) * s;
    let margin = (hi - lo) / 4.0;
    (lo + margin, hi - margin)
}

/// The distance (in input pixels) from a tile's inner edge within which its pixels get
/// no weight: what a model's receptive field may reach without changing the result.
pub fn exact_margin(spans: &[Span]) -> u32 {
    spans
        .windows(2)
        .map(|w| (w[0].end() - w[1].start) / 4)
        .min()
        .unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_tile_when_it_fits() {
        assert_eq!(spans(100, 128, 16), vec![Span { start: 0, len: 100 }]);
        assert_eq!(weights(&spans(10, 16, 4), 2), vec![vec![1.0; 20]]);
    }

    #[test]
    fn tiles_cover_the_axis_with_the_overlap() {
        for (length, tile, overlap) in [(113, 64, 16), (160, 64, 16), (1000, 256, 32), (65, 64, 16)]
        {
            let s = spans(length, tile, overlap);
            assert_eq!(s[0].start, 0);
            assert_eq!(s.last().unwrap().end(), length);
            for w in s.windows(2) {
                assert!(w[1].start > w[0].start, "{s:?}");
                assert!(w[0].end() >= w[1].start + overlap, "{length}: {s:?}");
            }
        }
    }

    #[test]
    fn weights_sum_to_one_and_skip_tile_edges() {
        for (length, tile, overlap, scale) in [(113, 64, 16, 2), (300, 64, 16, 4), (65, 64, 16, 3)]
        {
            let s = spans(length, tile, overlap);
            let w = weights(&s, scale);
            let mut total = vec![0.0f32; (length * scale) as usize];
            for (span, ws) in s.iter().zip(&w) {
                for (x, v) in ws.iter().enumerate() {
                    total[(span.start * scale) as usize + x] += v;
                    let local = x as u32 / scale;
                    let margin = overlap / 4;
                    let inner_left = span.start > 0 && local < margin;
                    let inner_right = span.end() < length && local >= span.len - margin;
                    if inner_left || inner_right {
                        assert_eq!(*v, 0.0, "tile {span:?} pixel {x} is too close to its edge");
                    }
                }
            }
            for t in total {
                assert!((t - 1.0).abs() < 1e-6, "{t}");
            }
            assert!(exact_margin(&s) >= overlap / 4);
        }
    }

    #[test]
    fn balanced_tiles_waste_little() {
        assert_eq!(balanced_tile(512, 1024, 16), 512);
        // Three tiles of 256 would overlap by 128; three of 192 overlap by 32.
        assert_eq!(balanced_tile(512, 256, 16), 192);
        let t = balanced_tile(2000, 512, 16);
        assert!(t <= 512 && t.is_multiple_of(16));
        assert_eq!(
            spans(2000, t, overlap_for(512)).len(),
            spans(2000, 512, 64).len()
        );
    }
}
