//! Face analysis and the per-face gate on the real pictures in `shared/samples/` (skipped cleanly
//! when they are not there): the skin mask stays on the person in front of a wall and in a jacket of
//! the face's own skin colour and off a cream sweater of its hue, eyes, brows, lips and nostrils of turned faces stay untouched, a
//! black-and-white portrait gets luminance texture only, and every photographed face of the labelled
//! development set is treated while cel-shaded and line-art faces are not.

use image::{DynamicImage, Rgb, RgbImage};
use realskin::face::{self, mesh};
use realskin::pipeline::skin::{
    FaceChoice, SkinConfig, SkinContext, SkinOutcome, SkinReport, apply,
};
mod skin_common;
#[path = "skin_common/turn.rs"]
mod turn;

use skin_common::{no_grain, samples_with};
use std::path::{Path, PathBuf};

fn samples() -> Option<PathBuf> {
    samples_with("dev")
}

/// The engine with grain off: the output when a face passed the gate (the picture itself when
/// its skin needed nothing: "nothing to add"), `None` when the picture was left alone for want
/// of a photographed face.
fn run(img: &DynamicImage) -> (Option<DynamicImage>, SkinReport) {
    match apply(img, &no_grain(), &SkinContext::default()) {
        SkinOutcome::Applied { image, report } => (Some(image), report),
        SkinOutcome::Skipped { reason, report } => {
            let passed = report.face_checks.iter().any(|c| c.treated);
            let same = (passed && reason.starts_with("nothing to add")).then(|| img.clone());
            (same, report)
        }
    }
}

fn open(p: &Path) -> DynamicImage {
    DynamicImage::ImageRgb8(image::open(p).expect("sample decodes").to_rgb8())
}

fn changed(a: &RgbImage, b: &RgbImage, x: u32, y: u32) -> u8 {
    let (p, q) = (a.get_pixel(x, y).0, b.get_pixel(x, y).0);
    (0..3).map(|c| p[c].abs_diff(q[c])).max().unwrap_or(0)
}

#[test]
fn a_wall_of_the_faces_own_skin_colour_and_a_camel_jacket_stay_untouched() {
    let Some(root) = samples() else { return };
    // An ID photo: a plain blue backdrop (keyed out exactly) and a dark suit jacket.
    let src = open(&root.join("dev/ai-photo/nanobanana_id-photo.png")).to_rgb8();
    let faces = face::analyse(&DynamicImage::ImageRgb8(src.clone()), 2);
    let f = faces.first().expect("the ID photo's face is found");
    // The face's own skin colour, from its cheeks.
    let skin: [f32; 3] = {
        let mut acc = [0f32; 3];
        let mut n = 0.0;
        for i in [50usize, 280, 205, 425] {
            let p = f.mesh.at(i);
            for dy in -3i32..=3 {
                for dx in -3i32..=3 {
                    let q = src.get_pixel((p[0] as i32 + dx) as u32, (p[1] as i32 + dy) as u32);
                    for c in 0..3 {
                        acc[c] += q[c] as f32;
                    }
                    n += 1.0;
                }
            }
        }
        acc.map(|v| v / n)
    };
    let chin_y = f.mesh.at(mesh::CHIN)[1];
    let (w, h) = src.dimensions();
    let mut scene = src.clone();
    let mut person = vec![true; (w * h) as usize];
    for y in 0..h {
        for x in 0..w {
            let p = src.get_pixel(x, y).0.map(f32::from);
            let backdrop = p[2] > p[0] + 40.0 && p[2] > p[1] + 10.0;
            let luma = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
            let jacket = !backdrop && y as f32 > chin_y + 40.0 && luma < 70.0;
            if backdrop || jacket {
                // The wall: exactly the face's skin colour under a gentle gradient. The jacket: a
                // camel cloth, skin-coloured as people say (inside the general skin locus, the
                // skin's hue a little richer), with its own folds.
                let c = if backdrop {
                    skin.map(|v| v * (0.92 + 0.16 * y as f32 / h as f32))
                } else {
                    let shade = 0.5 + luma / 70.0;
                    [
                        skin[0] * 0.92 * shade,
                        skin[1] * 0.78 * shade,
                        skin[2] * 0.6 * shade,
                    ]
                };
                scene.put_pixel(x, y, Rgb(c.map(|v| v.round().clamp(0.0, 255.0) as u8)));
                person[(y * w + x) as usize] = false;
            }
        }
    }
    let outside = person.iter().filter(|p| !**p).count();
    assert!(
        outside > (w * h / 3) as usize,
        "the wall and jacket cover the picture"
    );
    let scene = DynamicImage::ImageRgb8(scene);
    let (out, report) = run(&scene);
    let out = out
        .unwrap_or_else(|| panic!("the face is treated: {:?}", report.skipped_reason))
        .to_rgb8();
    if let Some(a) = &report.artifacts {
        let _ = a
            .mask_overlay
            .save(std::env::temp_dir().join("realskin-wall-mask.png"));
    }
    let scene = scene.to_rgb8();
    let (mut all, mut off) = (0usize, 0usize);
    for y in 0..h {
        for x in 0..w {
            if changed(&scene, &out, x, y) > 0 {
                all += 1;
                off += !person[(y * w + x) as usize] as usize;
            }
        }
    }
    assert!(all > 10_000, "the skin was textured ({all} pixels changed)");
    let share = off as f32 / all as f32;
    assert!(
        share <= 0.01,
        "{:.2} % of the changed pixels lie on the wall or the jacket ({off} of {all})",
        share * 100.0
    );
}

#[test]
fn eyes_brows_lips_and_nostrils_of_turned_faces_stay_untouched() {
    let Some(root) = samples() else { return };
    // Three-quarter views (|yaw| about 0.6 by the mesh).
    for name in [
        "dev/ai-photo/kolors-faceid_einstein-tuxedo.png",
        "dev/ai-photo/instantid-sdxl_musk-analog-film.png",
        "portraits/flux-dev_man-stubble_1024.png",
        "portraits/flux-dev-realism-lora_two-women_1024x768.png",
    ] {
        let own = open(&root.join(name));
        // At its own size, or, when its skin already has all the texture due there and comes
        // back as it was, enlarged 2× or 4× as the plan enlarges it (up to 8 px/mm): the
        // locks are checked on a face that was textured.
        let textured = [1, 2, 4].into_iter().any(|k| {
            let img = if k == 1 {
                own.clone()
            } else {
                realskin::pipeline::upscale::lanczos(&own, [k * own.width(), k * own.height()])
            };
            locks_hold(name, &img)
        });
        assert!(
            textured,
            "{name}: textured at its own size or enlarged up to 4×"
        );
    }
}

/// Runs the engine (grain off) on a picture with a turned face, checks that no pixel of its
/// eyes, brows, lips and nostrils moved by more than 1/255, and says whether anything was
/// textured.
fn locks_hold(name: &str, img: &DynamicImage) -> bool {
    let faces = face::analyse(img, 2);
    assert!(
        faces.iter().any(|f| f.mesh.yaw().abs() > 0.4),
        "{name}: a turned face"
    );
    let (out, report) = run(img);
    let out = out
        .unwrap_or_else(|| panic!("{name} is treated: {:?}", report.skipped_reason))
        .to_rgb8();
    let src = img.to_rgb8();
    let (w, h) = src.dimensions();
    for f in &faces {
        let m = &f.mesh;
        let mut parts: Vec<(&str, Vec<[f32; 2]>)> = vec![
            ("right eye", m.polygon(&mesh::RIGHT_EYE)),
            ("left eye", m.polygon(&mesh::LEFT_EYE)),
            ("right brow", m.polygon(&mesh::RIGHT_BROW)),
            ("left brow", m.polygon(&mesh::LEFT_BROW)),
            ("lips", m.polygon(&mesh::LIPS_OUTER)),
        ];
        for idx in [&mesh::RIGHT_NOSTRIL, &mesh::LEFT_NOSTRIL] {
            parts.push(("nostril", m.polygon(idx)));
        }
        for (part, poly) in parts {
            let inside = mesh::fill_polygon(&poly, w as usize, h as usize);
            let mut worst = 0u8;
            for (i, _) in inside.iter().enumerate().filter(|(_, v)| **v) {
                let (x, y) = ((i % w as usize) as u32, (i / w as usize) as u32);
                worst = worst.max(changed(&src, &out, x, y));
            }
            assert!(worst <= 1, "{name}: the {part} changed by {worst}/255");
        }
    }
    out != src
}

/// CIE L*a*b* chroma of an 8-bit sRGB pixel.
fn chroma(p: [u8; 3]) -> f32 {
    let lin = |v: u8| {
        let v = v as f32 / 255.0;
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let (r, g, b) = (lin(p[0]), lin(p[1]), lin(p[2]));
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    let f = |t: f32| {
        if t > 0.008856 {
            t.cbrt()
        } else {
            7.787 * t + 16.0 / 116.0
        }
    };
    let a = 500.0 * (f(x) - f(y));
    let bb = 200.0 * (f(y) - f(z));
    a.hypot(bb)
}

/// The largest change of chroma between two pictures.
fn chroma_shift(a: &RgbImage, b: &RgbImage) -> f32 {
    a.pixels()
        .zip(b.pixels())
        .map(|(p, q)| (chroma(p.0) - chroma(q.0)).abs())
        .fold(0f32, f32::max)
}

/// An old man's face: his forehead's wrinkles are folds of skin and get texture like the skin
/// between them (the busy test took them for hair and left bare bands across the forehead),
/// while his grey moustache, which reads to the mask much as the wrinkles do, stays untouched.
#[test]
fn a_wrinkled_forehead_is_textured_and_a_grey_moustache_is_not() {
    let Some(root) = samples() else { return };
    // Enlarged as the plan enlarges it (to 8 px/mm there, 5 here): at its own 2.5 px/mm its
    // skin already has the pore band's energy.
    let img = open(&root.join("dev/ai-photo/kolors-faceid_einstein-tuxedo.png"));
    let img = realskin::pipeline::upscale::lanczos(&img, [2 * img.width(), 2 * img.height()]);
    let faces = face::analyse(&img, 2);
    let m = &faces.first().expect("the face is found").mesh;
    let (out, report) = run(&img);
    let out = out
        .unwrap_or_else(|| panic!("treated: {:?}", report.skipped_reason))
        .to_rgb8();
    let src = img.to_rgb8();
    let span = m.eye_span();
    // The share of a box's pixels the engine changed: the box centred on `c`, `rx` by `ry`
    // eye spans either side.
    let share = |c: [f32; 2], rx: f32, ry: f32| {
        let (x0, x1) = ((c[0] - rx * span) as u32, (c[0] + rx * span) as u32);
        let (y0, y1) = ((c[1] - ry * span) as u32, (c[1] + ry * span) as u32);
        let (mut n, mut moved) = (0, 0);
        for y in y0..y1 {
            for x in x0..x1 {
                n += 1;
                moved += usize::from(changed(&src, &out, x, y) > 0);
            }
        }
        moved as f32 / n as f32
    };
    // The forehead's middle, across three wrinkles; the moustache between the nose and the
    // upper lip (clear of the nostrils' and the lips' locks).
    let forehead = share(m.at(151), 0.3, 0.08);
    let (nose, lip) = (m.at(164), m.at(0));
    let moustache = share([nose[0], 0.5 * (nose[1] + lip[1])], 0.3, 0.03);
    assert!(forehead > 0.5, "forehead: {forehead:.2} of it textured");
    assert!(moustache < 0.05, "moustache: {moustache:.2} of it textured");
}

#[test]
fn a_black_and_white_portrait_gets_luminance_texture_and_stays_neutral() {
    let Some(root) = samples() else { return };
    // A smooth-skinned AI portrait turned black-and-white, and the same toned sepia.
    let colour = open(&root.join("dev/ai-photo/nanobanana_id-photo.png"));
    let grey = colour.to_luma8();
    let bw = DynamicImage::ImageRgb8(RgbImage::from_fn(grey.width(), grey.height(), |x, y| {
        let v = grey.get_pixel(x, y)[0];
        Rgb([v, v, v])
    }));
    let sepia = DynamicImage::ImageRgb8(RgbImage::from_fn(grey.width(), grey.height(), |x, y| {
        let v = grey.get_pixel(x, y)[0] as f32;
        Rgb([v, v * 0.9, v * 0.75].map(|c| c.round() as u8))
    }));
    for (what, img) in [("black-and-white", &bw), ("sepia", &sepia)] {
        let (out, report) = run(img);
        let out = out
            .unwrap_or_else(|| {
                panic!(
                    "the {what} portrait is treated: {:?}",
                    report.skipped_reason
                )
            })
            .to_rgb8();
        assert!(
            report.monochrome.is_some(),
            "{what}: detected as monochrome"
        );
        let m = report.measure.expect("measured");
        assert!(
            m.after.fine > m.before.fine * 1.3,
            "{what}: luminance texture added: {} → {}",
            m.before.fine,
            m.after.fine
        );
        if what == "sepia" {
            // The toning is kept: every pixel keeps its tone (its channel ratios), only its
            // lightness moves.
            let src = img.to_rgb8();
            let worst = src
                .pixels()
                .zip(out.pixels())
                .filter(|(p, _)| p[0] > 40)
                .map(|(p, q)| {
                    let ratio = |c: [u8; 3]| [c[1] as f32 / c[0] as f32, c[2] as f32 / c[0] as f32];
                    let (a, b) = (ratio(p.0), ratio(q.0));
                    (a[0] - b[0]).abs().max((a[1] - b[1]).abs())
                })
                .fold(0f32, f32::max);
            assert!(
                worst <= 0.03,
                "sepia: tone ratios moved by up to {worst:.3}"
            );
        } else {
            let worst = chroma_shift(&img.to_rgb8(), &out);
            assert!(worst <= 0.5, "{what}: chroma changed by up to {worst:.2}");
        }
    }
    // A real black-and-white AI picture, already grainy: treated, and neutral.
    let img = open(&root.join("dev/ai-photo/gptimage1_bw-portrait.png"));
    let (out, report) = run(&img);
    let out = out.unwrap_or_else(|| panic!("treated: {:?}", report.skipped_reason));
    assert!(report.monochrome.is_some());
    assert!(chroma_shift(&img.to_rgb8(), &out.to_rgb8()) <= 0.5);

    // An 8-bit grey file comes back grey, textured.
    let grey = DynamicImage::ImageLuma8(grey);
    let (out, report) = run(&grey);
    let out = out.unwrap_or_else(|| panic!("grey is treated: {:?}", report.skipped_reason));
    assert!(matches!(out, DynamicImage::ImageLuma8(_)), "stays Luma8");
    assert_ne!(out.as_bytes(), grey.as_bytes());
}

#[test]
fn photographed_faces_of_the_dev_set_are_treated_and_drawn_ones_are_not() {
    let Some(root) = samples() else { return };
    for class in ["ai-photo", "real-photo", "not-photo"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("dev").join(class))
            .expect("dev folder")
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("png" | "jpg" | "jpeg")
                )
            })
            .collect();
        files.sort();
        for p in files {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let (out, report) = run(&open(&p));
            let treated = out.is_some();
            match class {
                "ai-photo" | "real-photo" => assert!(
                    treated,
                    "{name}: a photographed face is treated ({:?})",
                    report.skipped_reason
                ),
                // Anime, comic and painted cel shading: the gate's steps; the big-eyed 3D toon
                // portrait: its irises. (A toon render with human-sized, half-closed eyes and
                // an oil painting shade in ramps and are a known gap of the gate.)
                _ if ["anime", "comic", "ghibli", "noperson", "pixar-portrait"]
                    .iter()
                    .any(|k| name.contains(k)) =>
                {
                    assert!(!treated, "{name} is left alone")
                }
                _ => {}
            }
        }
    }
}

/// A portrait stored on its side (turned a quarter turn either way) still has its face found,
/// its landmarks turned with it, and is treated.
#[test]
fn a_portrait_turned_a_quarter_turn_is_found_and_treated() {
    let Some(root) = samples() else { return };
    for name in [
        "dev/ai-photo/nanobanana_id-photo.png",
        "dev/real-photo/facerec_rose-leslie.jpg",
    ] {
        let p = root.join(name);
        let upright = open(&p);
        let before = face::analyse(&upright, 2);
        assert!(!before.is_empty(), "{name}: found upright");
        for deg in [90.0f32, -90.0] {
            let img = DynamicImage::ImageRgb8(turn::rotate(&upright.to_rgb8(), deg));
            let faces = face::analyse(&img, 2);
            assert_eq!(faces.len(), before.len(), "{name} turned {deg}°");
            let roll = faces[0].mesh.roll_deg();
            assert!(
                (roll.abs() - 90.0).abs() < 25.0,
                "{name} turned {deg}°: eye line at {roll}°"
            );
            let ratio =
                faces[0].bbox.w.max(faces[0].bbox.h) / before[0].bbox.w.max(before[0].bbox.h);
            assert!(
                (0.8..1.25).contains(&ratio),
                "{name} turned {deg}°: size {ratio}"
            );
            let (out, report) = run(&img);
            assert!(
                out.is_some(),
                "{name} turned {deg}°: treated ({:?})",
                report.skipped_reason
            );
        }
    }
}

/// The big-eyed 3D toon portrait stays a toon under a warm grade and mirrored and turned 20°:
/// its irises are measured at their limbus, not at the pupil inside them, whichever of the two
/// edges the grade or the resampling makes the stronger.
#[test]
fn a_graded_or_turned_toon_portrait_is_still_left_alone() {
    let Some(root) = samples() else { return };
    let img = open(&root.join("dev/not-photo/nanobanana_pixar-portrait.png")).to_rgb8();
    // A warm grade, as a colourist's "golden hour": red ×1.12, blue ×0.85.
    let warm = RgbImage::from_fn(img.width(), img.height(), |x, y| {
        let [r, g, b] = img.get_pixel(x, y).0;
        Rgb([
            (r as f32 * 1.12).min(255.0) as u8,
            g,
            (b as f32 * 0.85) as u8,
        ])
    });
    let turned = turn::rotate(&image::imageops::flip_horizontal(&img), 20.0);
    for (what, variant) in [("warm-graded", warm), ("mirrored and turned", turned)] {
        let (out, report) = run(&DynamicImage::ImageRgb8(variant));
        assert!(
            out.is_none(),
            "the {what} toon is left alone; its faces: {:?}",
            report.face_checks
        );
        let reason = &report.face_checks[0].verdict.reason;
        assert!(reason.contains("irises are larger"), "{what}: {reason}");
    }
}

/// `faces = "all"` treats a face the gate judges drawn, and the report keeps the gate's
/// verdict and says why the face was treated anyway.
#[test]
fn faces_all_treats_a_face_the_gate_would_leave_alone() {
    let Some(root) = samples() else { return };
    let img = open(&root.join("dev/not-photo/nanobanana_pixar-portrait.png"));
    let cfg = SkinConfig {
        faces: FaceChoice::All,
        ..no_grain()
    };
    let SkinOutcome::Applied { image, report } = apply(&img, &cfg, &SkinContext::default()) else {
        panic!("faces = \"all\" treats the toon's face");
    };
    assert_ne!(image.to_rgb8().as_raw(), img.to_rgb8().as_raw());
    let check = &report.face_checks[0];
    assert!(check.treated && !check.verdict.photographed, "{check:?}");
    assert!(
        check.verdict.reason.contains("irises are larger")
            && check
                .verdict
                .reason
                .ends_with("treated anyway: [skin] faces = \"all\""),
        "{}",
        check.verdict.reason
    );
}

#[test]
fn same_bytes_at_one_and_three_threads_on_a_real_portrait() {
    let Some(root) = samples() else { return };
    // Enlarged 2×, as the plan enlarges it: at its own size its skin already has all the
    // texture due and nothing would be rendered.
    let img = open(&root.join("dev/real-photo/facerec_rose-leslie.jpg"));
    let img = realskin::pipeline::upscale::lanczos(&img, [2 * img.width(), 2 * img.height()]);
    let out = |threads: usize| match apply(
        &img,
        &SkinConfig {
            threads,
            ..SkinConfig::default()
        },
        &SkinContext::default(),
    ) {
        SkinOutcome::Applied { image, .. } => image.into_bytes(),
        SkinOutcome::Skipped { reason, .. } => panic!("treated: {reason}"),
    };
    assert!(out(1) == out(3), "1 and 3 threads give the same bytes");
}

/// The ID photo with a patch below its face, apart from the neck (the shirt collar lies
/// between): the dark jacket repainted in the skin's hue, its folds kept as shading, `light`
/// times the face's lightness at `saturation` times its saturation. The share of the patch's
/// pixels the engine changed (grain off), or `None` without the shared samples.
fn patch_below_the_face(light: f32, saturation: f32) -> Option<f32> {
    let root = samples()?;
    let src = open(&root.join("dev/ai-photo/nanobanana_id-photo.png")).to_rgb8();
    let faces = face::analyse(&DynamicImage::ImageRgb8(src.clone()), 2);
    let f = faces.first().expect("the ID photo's face is found");
    let skin: [f32; 3] = {
        let mut acc = [0f32; 3];
        for i in [50usize, 280, 205, 425] {
            let p = f.mesh.at(i);
            let q = src.get_pixel(p[0] as u32, p[1] as u32).0;
            for c in 0..3 {
                acc[c] += q[c] as f32 / 4.0;
            }
        }
        acc
    };
    let ys = 0.299 * skin[0] + 0.587 * skin[1] + 0.114 * skin[2];
    let colour = skin.map(|v| light * (ys + saturation * (v - ys)));
    let (b, chin_y) = (f.bbox, f.mesh.at(mesh::CHIN)[1]);
    let (top, bottom) = (chin_y + 0.3 * b.h, chin_y + 0.8 * b.h);
    let (left, right) = (b.cx() - 0.8 * b.w, b.cx() + 0.8 * b.w);
    let (w, h) = src.dimensions();
    let mut scene = src.clone();
    let mut patch = Vec::new();
    for y in (top as u32)..(bottom as u32).min(h) {
        for x in (left.max(0.0) as u32)..(right as u32).min(w) {
            let p = src.get_pixel(x, y).0.map(f32::from);
            let luma = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
            if luma < 70.0 {
                let shade = 0.9 + 0.2 * luma / 70.0;
                let c = colour.map(|v| (v * shade).round().clamp(0.0, 255.0) as u8);
                scene.put_pixel(x, y, Rgb(c));
                patch.push((x, y));
            }
        }
    }
    assert!(
        patch.len() as f32 > 0.3 * b.w * b.h,
        "the patch is painted ({} px)",
        patch.len()
    );
    let scene = DynamicImage::ImageRgb8(scene);
    let (out, report) = run(&scene);
    let out = out
        .unwrap_or_else(|| panic!("the face is treated: {:?}", report.skipped_reason))
        .to_rgb8();
    let scene = scene.to_rgb8();
    let touched = patch
        .iter()
        .filter(|&&(x, y)| changed(&scene, &out, x, y) > 0)
        .count();
    Some(touched as f32 / patch.len() as f32)
}

/// A cream sweater below the face: the skin's hue, lit a quarter brighter than the face and
/// half as saturated. It passes every colour test an arm or a hand passes (the face's own hue,
/// close to its colour model, a person's lightness and size), but body skin in the face's light
/// keeps the face's saturation, so the sweater gets no texture. (Without that rule, 60 % of it
/// did.)
#[test]
fn a_cream_sweater_of_the_skins_hue_below_the_face_stays_untouched() {
    let Some(share) = patch_below_the_face(1.25, 0.5) else {
        return;
    };
    assert!(
        share <= 0.01,
        "{:.1} % of the sweater got texture",
        100.0 * share
    );
}

/// The same patch with the face's own colour, a shade darker (a bare chest below a collar):
/// skin, textured.
#[test]
fn bare_skin_of_the_faces_colour_below_the_collar_is_textured() {
    let Some(share) = patch_below_the_face(0.9, 1.0) else {
        return;
    };
    assert!(
        share >= 0.5,
        "only {:.1} % of the bare skin got texture",
        100.0 * share
    );
}

/// A white shirt under the same warm candlelight as the face (a tuxedo front beside a hand):
/// the skin's hue at a fraction of its chroma is a neutral surface lit by that light, so none of
/// the shirt's near-neutral pixels gets texture.
#[test]
fn a_white_shirt_in_warm_light_stays_untouched() {
    let Some(root) = samples() else { return };
    // At the size the default plan enlarges it to (its face at 8 px/mm, about 3×).
    let img = open(&root.join("dev/ai-photo/kolors-faceid_einstein-tuxedo.png"));
    let img = img.resize_exact(
        img.width() * 3,
        img.height() * 3,
        image::imageops::FilterType::Lanczos3,
    );
    let (out, report) = run(&img);
    let out = out
        .unwrap_or_else(|| panic!("the face is treated: {:?}", report.skipped_reason))
        .to_rgb8();
    let src = img.to_rgb8();
    let chin = report.faces.first().map(|f| f.y + f.h).expect("a face");
    let (mut shirt, mut touched) = (0usize, 0usize);
    for (x, y, p) in src.enumerate_pixels() {
        let p = p.0.map(i32::from);
        let spread = p.iter().max().unwrap() - p.iter().min().unwrap();
        let luma = (299 * p[0] + 587 * p[1] + 114 * p[2]) / 1000;
        // The shirt's own near-neutral (spread about 11 levels). The hand beside it is out of
        // focus, and its edge blends into the shirt over some 30 px: those mixed pixels
        // (spread 16–24) are part hand, and the mask's soft edge may reach them.
        if (y as f32) > chin + 20.0 && spread < 16 && luma > 90 {
            shirt += 1;
            touched += usize::from(changed(&src, &out, x, y) > 1);
        }
    }
    assert!(shirt > 300_000, "the shirt is found ({shirt} pixels)");
    assert!(
        touched as f32 <= 0.0005 * shirt as f32,
        "{touched} of {shirt} shirt pixels got texture"
    );
}

/// Three real portraits pasted at 90, 128 and 180 px face widths on a 4096 px canvas, below
/// the 1/16 of the long edge (256 px) the coarse search stops at: the canvas, and each face's
/// centre and width.
fn small_faces_scene(root: &Path) -> (RgbImage, Vec<(f32, f32, f32)>) {
    let (w, h) = (4096u32, 2731u32);
    let mut canvas = RgbImage::from_fn(w, h, |x, y| {
        let v = (90.0 + 60.0 * x as f32 / w as f32 + 30.0 * y as f32 / h as f32) as u8;
        Rgb([v, v.saturating_sub(8), v.saturating_sub(16)])
    });
    let sources = [
        ("dev/ai-photo/pixart-alpha_woman-portrait.png", 90.0),
        ("dev/real-photo/pulid-input_lifeifei.jpg", 128.0),
        ("dev/real-photo/facerec_rose-leslie.jpg", 180.0),
    ];
    let mut placed = Vec::new();
    let mut x0 = 400i64;
    for (rel, want) in sources {
        let img = open(&root.join(rel));
        let f = face::analyse(&img, 2)[0].bbox;
        let k = want / f.w;
        let small = img.resize_exact(
            (img.width() as f32 * k) as u32,
            (img.height() as f32 * k) as u32,
            image::imageops::FilterType::Lanczos3,
        );
        let y0 = 900i64;
        image::imageops::replace(&mut canvas, &small.to_rgb8(), x0, y0);
        placed.push((x0 as f32 + f.cx() * k, y0 as f32 + f.cy() * k, want));
        x0 += small.width() as i64 + 600;
    }
    (canvas, placed)
}

/// Faces far smaller than the picture (a group, a full figure) are each found where they were
/// put.
#[test]
fn small_faces_on_a_large_picture_are_found() {
    let Some(root) = samples() else { return };
    let (canvas, placed) = small_faces_scene(&root);
    let faces = face::analyse(&DynamicImage::ImageRgb8(canvas), 2);
    for (cx, cy, size) in placed {
        assert!(
            faces.iter().any(|f| (f.bbox.cx() - cx).abs() < 0.3 * size
                && (f.bbox.cy() - cy).abs() < 0.3 * size
                && (f.bbox.w / size - 1.0).abs() < 0.3),
            "the {size} px face at {cx:.0},{cy:.0} is found (found: {:?})",
            faces.iter().map(|f| f.bbox).collect::<Vec<_>>()
        );
    }
    assert_eq!(faces.len(), 3, "no other face on a plain canvas");
}

/// ... and each is treated: the skin of every one of them is found and textured, however small
/// a share of the picture it is (the mask's working copy had 11 cells across the 90 px face,
/// and its eyes and brows took the whole of its skin), and nothing far from them changes.
#[test]
fn small_faces_on_a_large_picture_are_treated() {
    let Some(root) = samples() else { return };
    let (canvas, placed) = small_faces_scene(&root);
    let (out, report) = run(&DynamicImage::ImageRgb8(canvas.clone()));
    let out = out
        .unwrap_or_else(|| panic!("treated, not skipped: {:?}", report.skipped_reason))
        .to_rgb8();
    let treated = report.face_checks.iter().filter(|c| c.treated).count();
    assert_eq!(treated, 3, "every face treated: {:?}", report.face_checks);
    let mut far = 0usize;
    for (x, y, _) in canvas.enumerate_pixels() {
        let near = placed
            .iter()
            .any(|&(cx, cy, s)| (x as f32 - cx).abs() < 1.5 * s && (y as f32 - cy).abs() < 3.0 * s);
        if !near && changed(&canvas, &out, x, y) > 1 {
            far += 1;
        }
    }
    assert_eq!(far, 0, "pixels changed away from the people");
    for (cx, cy, size) in placed {
        // The middle of the face box: cheeks and forehead, with the eyes, nose and mouth that
        // stay as they are (21, 30 and 49 % of it changes on the 90, 128 and 180 px faces).
        let r = (0.3 * size) as i64;
        let (mut n, mut textured) = (0usize, 0usize);
        for y in (cy as i64 - r)..(cy as i64 + r) {
            for x in (cx as i64 - r)..(cx as i64 + r) {
                n += 1;
                textured += (changed(&canvas, &out, x as u32, y as u32) > 0) as usize;
            }
        }
        let share = textured as f32 / n as f32;
        assert!(
            share > 0.15,
            "the {size} px face's skin is textured: {:.0} % of its middle changed",
            share * 100.0
        );
    }
}
