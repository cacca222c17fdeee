//! Colour that survives the skin engine: a picture in Display P3, Adobe RGB or ProPhoto is
//! measured and rendered through its own profile, so the same face measures the same skin
//! tone whatever space it is encoded in, and nothing off the skin changes.

mod skin_common;

use std::sync::Arc;

use image::{DynamicImage, ImageBuffer, Rgb};
use moxcms::{ColorProfile, Layout, TransformOptions};
use realskin::pipeline::skin::space::Space;
use realskin::pipeline::skin::{SkinOutcome, SkinReport, apply};
use skin_common::*;

const SIZE: u32 = 512;

/// The synthetic face, 16-bit, converted from sRGB into `profile`'s space by moxcms.
fn face_in(profile: &ColorProfile) -> DynamicImage {
    let srgb = DynamicImage::ImageRgb8(face_rgb8(SIZE)).into_rgb16();
    let t = ColorProfile::new_srgb()
        .create_transform_16bit(
            Layout::Rgb,
            profile,
            Layout::Rgb,
            TransformOptions::default(),
        )
        .unwrap();
    let mut out = vec![0u16; srgb.as_raw().len()];
    t.transform(srgb.as_raw(), &mut out).unwrap();
    DynamicImage::ImageRgb16(ImageBuffer::<Rgb<u16>, _>::from_raw(SIZE, SIZE, out).unwrap())
}

fn treat(img: &DynamicImage, icc: Option<&[u8]>) -> (DynamicImage, SkinReport) {
    let mut ctx = face_ctx(SIZE);
    ctx.space = icc.and_then(|b| Space::from_icc(b).unwrap()).map(Arc::new);
    match apply(img, &no_grain(), &ctx) {
        SkinOutcome::Applied { image, report } => (image, report),
        SkinOutcome::Skipped { reason, .. } => panic!("skipped: {reason}"),
    }
}

#[test]
fn the_same_face_measures_the_same_skin_in_p3_adobe_rgb_and_prophoto() {
    let (_, srgb) = treat(&face_in(&ColorProfile::new_srgb()), None);
    let want = srgb.tone.expect("a skin tone");
    for (name, p) in [
        ("Display P3", ColorProfile::new_display_p3()),
        ("Adobe RGB", ColorProfile::new_adobe_rgb()),
        ("ProPhoto", ColorProfile::new_pro_photo_rgb()),
    ] {
        let icc = p.encode().unwrap();
        let img = face_in(&p);
        let (out, report) = treat(&img, Some(&icc));
        let got = report.tone.expect("a skin tone");
        // ΔE of the mean skin colour, from L*, C* and hue.
        let (h1, h2) = (want.hue_deg.to_radians(), got.hue_deg.to_radians());
        let de = ((want.lstar - got.lstar).powi(2)
            + (want.chroma * h1.cos() - got.chroma * h2.cos()).powi(2)
            + (want.chroma * h1.sin() - got.chroma * h2.sin()).powi(2))
        .sqrt();
        assert!(
            de < 1.0,
            "{name}: skin {got:?} vs sRGB {want:?} (ΔE {de:.2})"
        );
        assert!(
            report
                .colour_space
                .as_deref()
                .is_some_and(|c| c.contains("own tone curve and primaries")),
            "{name}: {:?}",
            report.colour_space
        );
        // Off the skin (the picture's border, far from the face), nothing changed at all.
        let (a, b) = (img.to_rgb16(), out.to_rgb16());
        for (x, y) in [(3, 3), (SIZE - 4, 5), (6, SIZE - 7), (SIZE - 2, SIZE - 2)] {
            assert_eq!(a.get_pixel(x, y), b.get_pixel(x, y), "{name} at {x},{y}");
        }
        // And the texture amount is what the sRGB picture gets.
        let depth = |r: &SkinReport| r.amounts.as_ref().expect("amounts").pore_depth;
        let (pa, pb) = (depth(&srgb), depth(&report));
        assert!(
            (pa - pb).abs() <= 0.1 * pa.max(1e-3),
            "{name}: pore depth {pb} vs {pa}"
        );
    }
}

#[test]
fn a_profile_without_matrix_and_curves_is_refused_with_the_reason() {
    // The job then measures the picture as sRGB, as before, and its report says why.
    let mut p = ColorProfile::new_display_p3();
    p.red_trc = None;
    let why = Space::from_icc(&p.encode().unwrap()).unwrap_err();
    assert!(why.contains("LUT-only"), "{why}");
}
