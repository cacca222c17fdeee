//! The picture's own colour space, so skin is measured and rendered in the right colours.
//!
//! The engine works in linear light with Rec. 709 / sRGB primaries (D65): its Lab, its
//! luminance weights, its skin targets and its cast correction are all given there. A
//! picture in another space (Display P3 from a phone or a design tool, Adobe RGB, ProPhoto
//! from a raw converter, grey with a gamma curve) keeps its own encoding: per pixel, its
//! values go through its own transfer curve to linear light, through a 3×3 matrix to linear
//! sRGB (unclamped, so P3's and ProPhoto's wider colours survive the round trip), and back
//! the same way when written. Pixels the engine does not change are never converted at all.
//!
//! The curve and the matrix come from the embedded ICC profile through moxcms: matrix/TRC
//! profiles (every RGB profile cameras, phones and editors embed) and grey TRC profiles.
//! A LUT-only profile, or one whose three channel curves differ, is measured as sRGB with
//! a note in the report, as before.

use moxcms::{ColorProfile, DataColorSpace, ToneReprCurve};
use std::sync::OnceLock;

/// Size of the linear-to-encoded tables: linear light is quantised to 1/65535, fine enough that a
/// round trip of an untouched 16-bit value changes it by at most one code in the darkest tones.
pub const ENC_N: usize = 65536;
/// Bytes after the 8-bit encoding table's end, so a vector gather of 32 bits reads inside it.
pub const ENC_PAD: usize = 3;

/// An 8-bit encoding table with [`ENC_PAD`] zeros after it.
fn padded(mut t: Vec<u8>) -> Vec<u8> {
    t.extend([0; ENC_PAD]);
    t
}

/// A picture's transfer tables and the matrices between its linear RGB and linear sRGB.
pub struct Space {
    /// What the report calls it ("sRGB", or the profile's description).
    pub name: String,
    lin8: Vec<f32>,
    lin16: Vec<f32>,
    /// [`ENC_N`] entries and [`ENC_PAD`] zeros.
    enc8: Vec<u8>,
    enc16: Vec<u16>,
    /// Own linear RGB → linear sRGB and back; `None` when the primaries are sRGB's.
    to_srgb: Option<[[f32; 3]; 3]>,
    from_srgb: Option<[[f32; 3]; 3]>,
}

impl std::fmt::Debug for Space {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Space")
            .field("name", &self.name)
            .field("to_srgb", &self.to_srgb)
            .finish_non_exhaustive()
    }
}

fn srgb_to_linear(v: f64) -> f64 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

fn linear_to_srgb(v: f64) -> f64 {
    if v <= 0.003_130_8 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

impl Space {
    /// sRGB (also what a picture without a profile is taken to be).
    pub fn srgb() -> &'static Space {
        static S: OnceLock<Space> = OnceLock::new();
        S.get_or_init(|| {
            let enc =
                |n: f64| (0..ENC_N).map(move |i| linear_to_srgb(i as f64 / (ENC_N - 1) as f64) * n);
            Space {
                name: "sRGB".into(),
                lin8: (0..256)
                    .map(|i| srgb_to_linear(i as f64 / 255.0) as f32)
                    .collect(),
                lin16: (0..65536)
                    .map(|i| srgb_to_linear(i as f64 / 65535.0) as f32)
                    .collect(),
                enc8: padded(enc(255.0).map(|v| v.round() as u8).collect()),
                enc16: enc(65535.0).map(|v| v.round() as u16).collect(),
                to_srgb: None,
                from_srgb: None,
            }
        })
    }

    /// The space of an embedded ICC profile: `Ok(None)` when it is sRGB itself (same curve and
    /// primaries within rounding, as most AI generators and cameras embed), an error naming
    /// why when the engine cannot use it (the caller then measures as sRGB and says so).
    pub fn from_icc(icc: &[u8]) -> Result<Option<Space>, String> {
        let p = ColorProfile::new_from_slice(icc)
            .map_err(|e| format!("the ICC profile could not be read ({e})"))?;
        let name = crate::profile::icc::icc_facts(icc)
            .and_then(|f| f.description)
            .unwrap_or_else(|| "ICC profile (no description)".into());
        let curve = match p.color_space {
            DataColorSpace::Gray => p
                .gray_trc
                .as_ref()
                .ok_or("the grey profile has no tone curve")?,
            DataColorSpace::Rgb => {
                let (r, g, b) = match (&p.red_trc, &p.green_trc, &p.blue_trc) {
                    (Some(r), Some(g), Some(b)) => (r, g, b),
                    _ => {
                        return Err(
                            "the profile has no matrix and tone curves (a LUT-only profile)".into(),
                        );
                    }
                };
                let (tr, tg, tb) = (table(r)?, table(g)?, table(b)?);
                let differ =
                    |a: &[f32], b: &[f32]| a.iter().zip(b).any(|(x, y)| (x - y).abs() > 2e-4);
                if differ(&tr, &tg) || differ(&tb, &tg) {
                    return Err("its red, green and blue tone curves differ".into());
                }
                g
            }
            other => {
                return Err(format!(
                    "the profile's colour space is {other:?}, not RGB or grey"
                ));
            }
        };
        let lin16 = table(curve)?;
        let matrix = if p.color_space == DataColorSpace::Rgb {
            let own = p.colorant_matrix();
            let srgb = ColorProfile::new_srgb().colorant_matrix();
            let m = srgb.inverse().mat_mul(own);
            let f = |m: moxcms::Matrix3d| m.v.map(|r| r.map(|v| v as f32));
            let identity = (0..3)
                .all(|i| (0..3).all(|j| (m.v[i][j] - f64::from(u8::from(i == j))).abs() < 2e-3));
            (!identity).then(|| (f(m), f(m.inverse())))
        } else {
            None
        };
        let srgb = Space::srgb();
        let same_curve = lin16
            .iter()
            .zip(&srgb.lin16)
            .all(|(a, b)| (a - b).abs() < 5e-4);
        if same_curve && matrix.is_none() {
            return Ok(None);
        }
        let lin8: Vec<f32> = (0..256).map(|i| lin16[i * 257]).collect();
        let (to_srgb, from_srgb) = matrix.unzip();
        Ok(Some(Space {
            name,
            enc8: padded(inverse(&lin8, 255)),
            enc16: inverse(&lin16, 65535),
            lin8,
            lin16,
            to_srgb,
            from_srgb,
        }))
    }

    /// True for sRGB itself (the engine's own space: no conversion anywhere).
    pub fn is_srgb(&self) -> bool {
        std::ptr::eq(self, Space::srgb())
    }

    pub fn lin8(&self) -> &[f32] {
        &self.lin8
    }
    pub fn lin16(&self) -> &[f32] {
        &self.lin16
    }
    pub fn enc8(&self) -> &[u8] {
        &self.enc8[..ENC_N]
    }
    /// [`Space::enc8`] and [`ENC_PAD`] zeros after it: a 32-bit gather may read its last entry.
    pub fn enc8_padded(&self) -> &[u8] {
        &self.enc8
    }
    pub fn enc16(&self) -> &[u16] {
        &self.enc16
    }

    /// Own linear RGB to linear sRGB (unclamped).
    #[inline]
    pub fn to_srgb(&self, c: [f32; 3]) -> [f32; 3] {
        match &self.to_srgb {
            None => c,
            Some(m) => mul(m, c),
        }
    }

    /// Linear sRGB back to own linear RGB.
    #[inline]
    pub fn from_srgb(&self, c: [f32; 3]) -> [f32; 3] {
        match &self.from_srgb {
            None => c,
            Some(m) => mul(m, c),
        }
    }

    /// Whether the primaries differ from sRGB's (a matrix sits between the two).
    #[inline]
    pub fn has_matrix(&self) -> bool {
        self.to_srgb.is_some()
    }

    /// An encoded value 0..1 to own linear light (interpolated in the 16-bit table).
    pub fn decode_unit(&self, v: f32) -> f32 {
        let u = v.clamp(0.0, 1.0) * 65535.0;
        let i = (u as usize).min(65534);
        let f = u - i as f32;
        self.lin16[i] + (self.lin16[i + 1] - self.lin16[i]) * f
    }
}

#[inline]
fn mul(m: &[[f32; 3]; 3], c: [f32; 3]) -> [f32; 3] {
    [
        m[0][0] * c[0] + m[0][1] * c[1] + m[0][2] * c[2],
        m[1][0] * c[0] + m[1][1] * c[1] + m[1][2] * c[2],
        m[2][0] * c[0] + m[2][1] * c[1] + m[2][2] * c[2],
    ]
}

/// A tone curve as 65536 linear values of the 16-bit codes, made non-decreasing.
fn table(curve: &ToneReprCurve) -> Result<Vec<f32>, String> {
    let eval = curve
        .make_linear_evaluator()
        .map_err(|e| format!("its tone curve cannot be evaluated ({e})"))?;
    let mut last = 0f32;
    Ok((0..65536)
        .map(|i| {
            let v = eval
                .evaluate_value(i as f32 / 65535.0)
                .clamp(0.0, 1.0)
                .max(last);
            last = v;
            v
        })
        .collect())
}

/// The encoded code (0..=max) nearest each of ENC_N evenly spaced linear values, through a
/// non-decreasing table of the codes' linear values (interpolated between codes).
fn inverse<T: TryFrom<usize>>(lin: &[f32], max: usize) -> Vec<T>
where
    T::Error: std::fmt::Debug,
{
    let mut out = Vec::with_capacity(ENC_N);
    let mut c = 0usize;
    for i in 0..ENC_N {
        let v = i as f32 / (ENC_N - 1) as f32;
        while c < max && lin[c + 1] <= v {
            c += 1;
        }
        let code = if c == max {
            max
        } else {
            let span = lin[c + 1] - lin[c];
            let f = if span > 0.0 { (v - lin[c]) / span } else { 0.0 };
            c + usize::from(f >= 0.5)
        };
        out.push(T::try_from(code).expect("code fits its sample type"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::skin::pixels::lin_to_lab;

    fn profile(p: ColorProfile) -> Vec<u8> {
        p.encode().expect("moxcms writes its own profiles")
    }

    /// The Lab of a known colour encoded in a profile's space by moxcms, read back by the
    /// engine through that profile, and (as before this module) as if it were sRGB.
    fn lab_through(icc: &[u8], srgb_colour: [f32; 3]) -> ([f32; 3], [f32; 3]) {
        use moxcms::{Layout, TransformOptions};
        let dst = ColorProfile::new_from_slice(icc).unwrap();
        let t = ColorProfile::new_srgb()
            .create_transform_16bit(Layout::Rgb, &dst, Layout::Rgb, TransformOptions::default())
            .unwrap();
        let src: Vec<u16> = srgb_colour
            .iter()
            .map(|v| (v * 65535.0).round() as u16)
            .collect();
        let mut enc = vec![0u16; 3];
        t.transform(&src, &mut enc).unwrap();
        let space = Space::from_icc(icc).unwrap().unwrap();
        let lin = |s: &Space| std::array::from_fn(|k| s.lin16()[enc[k] as usize]);
        (
            lin_to_lab(space.to_srgb(lin(&space))),
            lin_to_lab(lin(Space::srgb())),
        )
    }

    #[test]
    fn srgb_profiles_are_srgb() {
        assert!(
            Space::from_icc(&profile(ColorProfile::new_srgb()))
                .unwrap()
                .is_none()
        );
        assert!(Space::srgb().is_srgb());
    }

    /// A skin tone and a saturated red measure the same Lab whether the picture is sRGB,
    /// Display P3, Adobe RGB or ProPhoto, within ΔE 1.
    #[test]
    fn a_known_colour_measures_the_same_in_every_space() {
        for colour in [[0.82, 0.62, 0.52], [0.55, 0.38, 0.30], [0.9, 0.15, 0.1]] {
            let lin = colour.map(|v: f32| srgb_to_linear(f64::from(v)) as f32);
            let want = lin_to_lab(lin);
            for (name, p) in [
                ("Display P3", ColorProfile::new_display_p3()),
                ("Adobe RGB", ColorProfile::new_adobe_rgb()),
                ("ProPhoto", ColorProfile::new_pro_photo_rgb()),
            ] {
                let (got, naive) = lab_through(&profile(p), colour);
                let de = |x: [f32; 3]| (0..3).map(|i| (x[i] - want[i]).powi(2)).sum::<f32>().sqrt();
                assert!(
                    de(got) < 1.0,
                    "{name} {colour:?}: {got:?} vs {want:?} (ΔE {:.2})",
                    de(got)
                );
                // Read as sRGB, the same values measure several ΔE off.
                assert!(
                    de(naive) > 2.0,
                    "{name} {colour:?}: as sRGB only ΔE {:.2}",
                    de(naive)
                );
            }
        }
    }

    #[test]
    fn a_grey_gamma_profile_uses_its_own_curve() {
        let s = Space::from_icc(&profile(ColorProfile::new_gray_with_gamma(1.8)))
            .unwrap()
            .unwrap();
        assert!(!s.has_matrix());
        let mid = s.lin16()[32768];
        assert!((mid - 0.5f32.powf(1.8)).abs() < 1e-3, "{mid}");
    }

    /// Every 8-bit code survives the round trip through linear light; a 16-bit code lands
    /// within a step of linear light's 1/65535 quantisation (within one code from a quarter up).
    #[test]
    fn encoding_inverts_the_curve() {
        use crate::pipeline::skin::pixels::enc_index;
        let s = Space::from_icc(&profile(ColorProfile::new_pro_photo_rgb()))
            .unwrap()
            .unwrap();
        for code in 0..=255u8 {
            let v = s.lin8()[code as usize];
            assert_eq!(s.enc8()[enc_index(v)], code);
        }
        for code in (0..=65535u16).step_by(7) {
            let v = s.lin16()[code as usize];
            let back = s.enc16()[enc_index(v)];
            let err = (s.lin16()[back as usize] - v).abs();
            assert!(err <= 1.0 / 65535.0, "{code} → {v} → {back}");
            if code >= 16384 {
                assert!(back.abs_diff(code) <= 1, "{code} → {back}");
            }
        }
    }
}
