//! Colour that survives: a CMYK JPEG is converted to sRGB through its own profile (the
//! decoder's naive ink inversion is not used), and the output carries the sRGB profile, never
//! the CMYK one (an RGB image that claims to be CMYK is an invalid file).
//!
//! The CMYK profile is Ghostscript's `default_cmyk.icc`; `scripts/test` installs it
//! (Debian package `libgs-common`).

use std::path::Path;

use realskin::decode;

const CMYK_PROFILE: &str = "/usr/share/color/icc/ghostscript/default_cmyk.icc";

/// Ink values (C, M, Y, K; 255 = full ink) and the sRGB that Little CMS gives for them
/// through that profile, perceptual intent, no black-point compensation: libvips 8.15,
/// `vips icc_transform patches.jpg ref.png srgb.icc --intent perceptual`, on a CMYK JPEG of
/// these flat patches written by Pillow at quality 100.
const PATCHES: [([u8; 4], [u8; 3]); 5] = [
    ([20, 90, 110, 10], [222, 170, 141]), // light skin
    ([200, 120, 0, 0], [70, 128, 193]),   // blue
    ([0, 0, 0, 128], [150, 152, 155]),    // half black
    ([0, 0, 0, 0], [255, 255, 255]),      // paper
    ([150, 130, 130, 180], [64, 64, 64]), // rich dark
];
const SIDE: usize = 64;

fn cmyk_profile() -> Vec<u8> {
    std::fs::read(CMYK_PROFILE).unwrap_or_else(|e| {
        panic!("{CMYK_PROFILE}: {e}. scripts/test installs it (apt-get install libgs-common).")
    })
}

/// A CMYK JPEG of the patches side by side, with the profile embedded.
fn patches_jpeg() -> Vec<u8> {
    let w = SIDE * PATCHES.len();
    let mut ink = vec![0u8; w * SIDE * 4];
    for y in 0..SIDE {
        for x in 0..w {
            let i = 4 * (y * w + x);
            ink[i..i + 4].copy_from_slice(&PATCHES[x / SIDE].0);
        }
    }
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 100);
    enc.add_icc_profile(&cmyk_profile()).unwrap();
    enc.encode(&ink, w as u16, SIDE as u16, jpeg_encoder::ColorType::Cmyk)
        .unwrap();
    out
}

/// `realskin process -o OUT INPUTS...`, which must succeed.
fn process(out: &Path, inputs: &[&Path]) {
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_realskin"))
        .args(["process", "-o"])
        .arg(out)
        .args(inputs)
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
}

fn lab(rgb: [u8; 3]) -> [f64; 3] {
    let lin = |v: u8| {
        let v = f64::from(v) / 255.0;
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let [r, g, b] = rgb.map(lin);
    let x = (0.412_456_4 * r + 0.357_576_1 * g + 0.180_437_5 * b) / 0.950_47;
    let y = 0.212_672_9 * r + 0.715_152_2 * g + 0.072_175 * b;
    let z = (0.019_333_9 * r + 0.119_192 * g + 0.950_304_1 * b) / 1.088_83;
    let f = |t: f64| {
        if t > 216.0 / 24389.0 {
            t.cbrt()
        } else {
            (24389.0 / 27.0 * t + 16.0) / 116.0
        }
    };
    [
        116.0 * f(y) - 16.0,
        500.0 * (f(x) - f(y)),
        200.0 * (f(y) - f(z)),
    ]
}

fn delta_e(a: [u8; 3], b: [u8; 3]) -> f64 {
    let (a, b) = (lab(a), lab(b));
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

#[test]
fn a_cmyk_jpeg_is_converted_through_its_profile_within_delta_e_1() {
    let d = decode::decode(&patches_jpeg(), 100.0).unwrap();
    assert!(
        d.converted.as_deref().is_some_and(|c| c.contains("CMYK")),
        "{:?}",
        d.converted
    );
    let icc = d.icc.as_deref().expect("an sRGB profile");
    assert_eq!(&icc[16..20], b"RGB ", "the profile describes RGB data");
    // A valid profile (every tag on a 4-byte boundary, the ICC's exact D50 illuminant),
    // the same bytes every time.
    let be32 = |i: usize| u32::from_be_bytes(icc[i..i + 4].try_into().unwrap());
    for t in 0..be32(128) as usize {
        assert_eq!(be32(132 + 12 * t + 4) % 4, 0, "tag {t} is not aligned");
    }
    assert_eq!(
        &icc[68..80],
        &[0, 0, 0xF6, 0xD6, 0, 1, 0, 0, 0, 0, 0xD3, 0x2D]
    );
    assert_eq!(be32(0) as usize, icc.len());
    let again = decode::decode(&patches_jpeg(), 100.0).unwrap();
    assert_eq!(again.icc.as_deref(), Some(icc));
    let img = d.image.to_rgb8();
    for (k, (ink, want)) in PATCHES.iter().enumerate() {
        let p = img
            .get_pixel((k * SIDE + SIDE / 2) as u32, (SIDE / 2) as u32)
            .0;
        let de = delta_e(p, *want);
        assert!(
            de < 1.0,
            "ink {ink:?}: got {p:?}, Little CMS gives {want:?} (ΔE {de:.2})"
        );
    }
}

#[test]
fn the_output_of_a_cmyk_jpeg_carries_an_rgb_profile_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cmyk-patches.jpg");
    std::fs::write(&input, patches_jpeg()).unwrap();
    let out = dir.path().join("out");
    process(&out, &[&input]);
    let result = std::fs::read(out.join("cmyk-patches.realskin.jpg")).unwrap();
    let icc = realskin::meta::read(&result)
        .icc
        .expect("the output keeps a profile");
    assert_eq!(&icc[16..20], b"RGB ");
    let report = std::fs::read_to_string(out.join("cmyk-patches.realskin.json")).unwrap();
    assert!(
        report.contains("CMYK converted to sRGB through its profile"),
        "{report}"
    );
    assert!(Path::new(&input).exists(), "the original is untouched");
}

/// A 16-bit PNG with a Display P3 profile (`iCCP`), and the same with a profile the engine
/// cannot use, through `realskin process`: the report says how each picture's colour space
/// was handled (the synthetic gradient has no face, so the engine measures it and passes).
#[test]
fn the_report_says_how_a_wide_gamut_picture_was_measured() {
    use image::ImageEncoder;
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (160u32, 120u32);
    let px: Vec<u16> = (0..w * h)
        .flat_map(|i| {
            let (x, y) = (i % w, i / w);
            [40_000 + 100 * x as u16, 30_000 + 80 * y as u16, 25_000]
        })
        .collect();
    let bytes: Vec<u8> = px.iter().flat_map(|v| v.to_be_bytes()).collect();
    let p3 = moxcms::ColorProfile::new_display_p3().encode().unwrap();
    let mut lut_only = moxcms::ColorProfile::new_display_p3();
    lut_only.red_trc = None;
    let lut_only = lut_only.encode().unwrap();
    for (stem, icc) in [("p3-16bit", &p3), ("lut-only", &lut_only)] {
        let mut png = Vec::new();
        let mut enc = image::codecs::png::PngEncoder::new(&mut png);
        enc.set_icc_profile(icc.clone()).unwrap();
        enc.write_image(&bytes, w, h, image::ExtendedColorType::Rgb16)
            .unwrap();
        std::fs::write(dir.path().join(format!("{stem}.png")), png).unwrap();
    }
    let out = dir.path().join("out");
    process(
        &out,
        &[
            &dir.path().join("p3-16bit.png"),
            &dir.path().join("lut-only.png"),
        ],
    );
    let report =
        |stem: &str| std::fs::read_to_string(out.join(format!("{stem}.realskin.json"))).unwrap();
    let p3_report = report("p3-16bit");
    assert!(
        p3_report.contains("measured and rendered through its own tone curve and primaries"),
        "{p3_report}"
    );
    let lut_report = report("lut-only");
    assert!(
        lut_report.contains("measured as sRGB: the profile has no matrix and tone curves"),
        "{lut_report}"
    );
    // The output keeps the picture's own profile, byte for byte.
    let result = std::fs::read(out.join("p3-16bit.realskin.png")).unwrap();
    assert_eq!(realskin::meta::read(&result).icc.as_deref(), Some(&p3[..]));
}

/// A 16-bit PNG whose colour space is only gAMA (1/1.8) and cHRM (Display P3's primaries),
/// as older Mac tools write them: the output carries the ICC profile they describe, and the
/// report says so; a plain libpng PNG (gAMA 1/2.2 alone) stays sRGB without a profile.
#[test]
fn a_png_with_only_gama_and_chrm_keeps_its_colour_as_an_icc_profile() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (128u32, 96u32);
    let bytes: Vec<u8> = (0..w * h)
        .flat_map(|i| [50_000u16 + (i % w) as u16 * 50, 36_000, 30_000])
        .flat_map(|v| v.to_be_bytes())
        .collect();
    let write = |stem: &str, gamma: f32, chrm: bool| {
        let mut png = Vec::new();
        let mut enc = png::Encoder::new(&mut png, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Sixteen);
        enc.set_source_gamma(png::ScaledFloat::new(gamma));
        if chrm {
            enc.set_source_chromaticities(png::SourceChromaticities::new(
                (0.3127, 0.3290),
                (0.680, 0.320),
                (0.265, 0.690),
                (0.150, 0.060),
            ));
        }
        let mut wr = enc.write_header().unwrap();
        wr.write_image_data(&bytes).unwrap();
        wr.finish().unwrap();
        std::fs::write(dir.path().join(format!("{stem}.png")), png).unwrap();
    };
    write("mac-gamma", 1.0 / 1.8, true);
    write("libpng-default", 1.0 / 2.2, false);
    let out = dir.path().join("out");
    process(
        &out,
        &[
            &dir.path().join("mac-gamma.png"),
            &dir.path().join("libpng-default.png"),
        ],
    );
    let mac = std::fs::read(out.join("mac-gamma.realskin.png")).unwrap();
    let icc = realskin::meta::read(&mac)
        .icc
        .expect("the output carries the profile gAMA and cHRM describe");
    let facts = realskin::profile::icc::icc_facts(&icc).unwrap();
    assert_eq!(
        facts.description.as_deref(),
        Some("PNG gamma 1/1.80, cHRM primaries")
    );
    let report = std::fs::read_to_string(out.join("mac-gamma.realskin.json")).unwrap();
    assert!(
        report.contains("gAMA/cHRM colour space is carried as an ICC profile"),
        "{report}"
    );
    assert!(report.contains("PNG gamma 1/1.80"), "{report}");
    let plain = std::fs::read(out.join("libpng-default.realskin.png")).unwrap();
    assert_eq!(realskin::meta::read(&plain).icc, None);
}
