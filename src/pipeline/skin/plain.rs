//! Pixels off the skin in 8-bit sRGB-like pictures: the cast correction and the grain only.
//!
//! On a portrait most pixels are off the skin, and with grain on each of them is read into
//! linear light, gained by the grain and written back. This is the render pass's widest loop,
//! so on x86-64 with AVX2 it runs eight pixels at a time: the same operations in the same
//! order as [`scalar`], whose bytes it reproduces exactly (table lookups become gathers; no
//! fused multiply-add). Elsewhere, and for the last few pixels of a row, [`scalar`] runs.

use super::pixels::{LUMA, enc_index};
use super::render::{LUT_N, lut_i};

/// What a plain pixel needs: the picture's tables and the grain's scale.
pub struct Tables<'a> {
    /// Encoded value (0..255) to linear light: 256 entries.
    pub lt: &'a [f32],
    /// Linear light quantised by [`enc_index`] to an encoded value, and padding after it
    /// ([`super::space::ENC_PAD`]) for the vector gathers.
    pub et: &'a [u8],
    /// The grain's weight by linear luminance, indexed by [`lut_i`]: [`LUT_N`] + 1 entries.
    pub grain_t: &'a [f32],
    /// Grain amplitude per unit of noise (the grain is off when `grain` is false).
    pub gs: f32,
    pub grain: bool,
    pub cast: [f32; 3],
}

/// Renders `src` (pixels of `ch` = 3 or 4 bytes, alpha copied) into `out` with the grain
/// `noise` (one value per pixel).
pub fn row(t: &Tables, ch: usize, noise: &[f32], src: &[u8], out: &mut [u8]) {
    debug_assert!(ch == 3 || ch == 4);
    debug_assert_eq!(src.len(), out.len());
    #[cfg(target_arch = "x86_64")]
    let done = if std::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is present (checked above); `avx2` bounds every access it makes.
        unsafe { avx2(t, ch, noise, src, out) }
    } else {
        0
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    let k = done * ch;
    scalar(t, ch, &noise[done..], &src[k..], &mut out[k..]);
}

/// One pixel at a time: read, the grain's gain by luminance, write.
pub fn scalar(t: &Tables, ch: usize, noise: &[f32], src: &[u8], out: &mut [u8]) {
    for ((sp, op), &n) in src
        .chunks_exact(ch)
        .zip(out.chunks_exact_mut(ch))
        .zip(noise)
    {
        let c = [
            t.lt[sp[0] as usize] * t.cast[0],
            t.lt[sp[1] as usize] * t.cast[1],
            t.lt[sp[2] as usize] * t.cast[2],
        ];
        let g = if t.grain {
            let yl = LUMA[0] * c[0] + LUMA[1] * c[1] + LUMA[2] * c[2];
            1.0 + t.gs * t.grain_t[lut_i(yl)] * n
        } else {
            1.0
        };
        op[0] = t.et[enc_index(c[0] * g)];
        op[1] = t.et[enc_index(c[1] * g)];
        op[2] = t.et[enc_index(c[2] * g)];
        if ch == 4 {
            op[3] = sp[3];
        }
    }
}

/// Eight pixels at a time while a 32-bit read at the eighth pixel stays inside the row;
/// returns how many pixels it rendered (the rest is the caller's).
///
/// # Safety
/// The CPU must have AVX2. `t.lt` must hold 256 entries, `t.et` [`super::space::ENC_N`] +
/// [`super::space::ENC_PAD`] and `t.grain_t` [`LUT_N`] + 1 (asserted).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn avx2(t: &Tables, ch: usize, noise: &[f32], src: &[u8], out: &mut [u8]) -> usize {
    use super::space::{ENC_N, ENC_PAD};
    use std::arch::x86_64::*;
    assert!(t.lt.len() >= 256 && t.et.len() >= ENC_N + ENC_PAD);
    const { assert!(LUT_N < 0x800) };
    assert!(t.grain_t.len() > LUT_N);
    let px = src.len() / ch;
    assert!(noise.len() >= px && out.len() >= px * ch);
    let mut i = 0;
    // SAFETY (whole block): every gather index is masked or clamped into its table above, and
    // the loop condition keeps the 4-byte reads and writes at the eighth pixel inside the row.
    unsafe {
        let off = _mm256_mullo_epi32(
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
            _mm256_set1_epi32(ch as i32),
        );
        let byte = _mm256_set1_epi32(0xff);
        let (zero, one) = (_mm256_setzero_ps(), _mm256_set1_ps(1.0));
        let magic = _mm256_set1_ps(8_388_608.0);
        let luma = LUMA.map(|v| _mm256_set1_ps(v));
        let cast = t.cast.map(|v| _mm256_set1_ps(v));
        let (lut_n, lut_mask) = (_mm256_set1_ps(LUT_N as f32), _mm256_set1_epi32(0x7ff));
        let (enc_n, enc_mask) = (
            _mm256_set1_ps((ENC_N - 1) as f32),
            _mm256_set1_epi32(0xffff),
        );
        let gs = _mm256_set1_ps(t.gs);
        let alpha = _mm256_set1_epi32(if ch == 4 { 0xff00_0000u32 as i32 } else { 0 });
        let lt = t.lt.as_ptr();
        let et = t.et.as_ptr() as *const i32;
        let gt = t.grain_t.as_ptr();
        // Index of a value clamped to 0..1 in a table of `n` steps (as `enc_index`, `lut_i`).
        let index = |v: __m256, n: __m256, mask: __m256i| {
            let v = _mm256_min_ps(_mm256_max_ps(v, zero), one);
            _mm256_and_si256(
                _mm256_castps_si256(_mm256_add_ps(_mm256_mul_ps(v, n), magic)),
                mask,
            )
        };
        while (i + 7) * ch + 4 <= src.len() {
            let p = _mm256_i32gather_epi32::<1>(src.as_ptr().add(i * ch) as *const i32, off);
            let lin = |shift: __m256i, k: usize| {
                let code = _mm256_and_si256(_mm256_srlv_epi32(p, shift), byte);
                _mm256_mul_ps(_mm256_i32gather_ps::<4>(lt, code), cast[k])
            };
            let r = lin(_mm256_set1_epi32(0), 0);
            let g = lin(_mm256_set1_epi32(8), 1);
            let b = lin(_mm256_set1_epi32(16), 2);
            let gain = if t.grain {
                let yl = _mm256_add_ps(
                    _mm256_add_ps(_mm256_mul_ps(luma[0], r), _mm256_mul_ps(luma[1], g)),
                    _mm256_mul_ps(luma[2], b),
                );
                let w = _mm256_i32gather_ps::<4>(gt, index(yl, lut_n, lut_mask));
                let n = _mm256_loadu_ps(noise.as_ptr().add(i));
                _mm256_add_ps(one, _mm256_mul_ps(_mm256_mul_ps(gs, w), n))
            } else {
                one
            };
            let enc = |c: __m256| {
                let code =
                    _mm256_i32gather_epi32::<1>(et, index(_mm256_mul_ps(c, gain), enc_n, enc_mask));
                _mm256_and_si256(code, byte)
            };
            let rgb = _mm256_or_si256(
                enc(r),
                _mm256_or_si256(
                    _mm256_slli_epi32::<8>(enc(g)),
                    _mm256_slli_epi32::<16>(enc(b)),
                ),
            );
            let packed = _mm256_or_si256(rgb, _mm256_and_si256(p, alpha));
            let mut lanes = [0u32; 8];
            _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, packed);
            // Four bytes per pixel, in order: with 3 channels each write's fourth byte is the
            // next pixel's first, which that pixel's own write (or the caller's) then sets.
            let o = out.as_mut_ptr().add(i * ch);
            for (k, v) in lanes.iter().enumerate() {
                std::ptr::write_unaligned(o.add(k * ch) as *mut [u8; 4], v.to_le_bytes());
            }
            i += 8;
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::skin::space::Space;

    fn tables<'a>(space: &'a Space, grain_t: &'a [f32], grain: bool, cast: [f32; 3]) -> Tables<'a> {
        Tables {
            lt: space.lin8(),
            et: space.enc8_padded(),
            grain_t,
            gs: 0.05,
            grain,
            cast,
        }
    }

    /// The vector path writes exactly the bytes of the one-pixel path, on every row length
    /// (so every tail), with and without grain, cast and alpha.
    #[test]
    fn eight_at_a_time_matches_one_at_a_time_byte_for_byte() {
        let space = Space::srgb();
        let grain_t: Vec<f32> = (0..=LUT_N)
            .map(|i| 0.2 + (i as f32 / LUT_N as f32).sqrt())
            .collect();
        let mut seed = 0x9e37_79b9u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for ch in [3, 4] {
            for w in [1, 7, 8, 9, 16, 31, 100] {
                let src: Vec<u8> = (0..w * ch).map(|_| next() as u8).collect();
                let noise: Vec<f32> = (0..w)
                    .map(|_| (next() % 2001) as f32 / 250.0 - 4.0)
                    .collect();
                for (grain, cast) in [
                    (true, [1.0; 3]),
                    (false, [1.07, 1.0, 0.93]),
                    (true, [0.95, 1.0, 1.1]),
                ] {
                    let t = tables(space, &grain_t, grain, cast);
                    let (mut a, mut b) = (vec![0u8; w * ch], vec![0u8; w * ch]);
                    row(&t, ch, &noise, &src, &mut a);
                    scalar(&t, ch, &noise, &src, &mut b);
                    assert_eq!(a, b, "ch {ch}, {w} px, grain {grain}, cast {cast:?}");
                    if !grain && ch == 4 {
                        assert!(a.chunks(4).zip(src.chunks(4)).all(|(o, s)| o[3] == s[3]));
                    }
                }
            }
        }
    }
}
