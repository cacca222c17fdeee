//! The command line: `config init`, `config check` and `process`, run as a user would.

mod common;

use std::process::Command;

use common::{Hotfolder, photo_png};

fn realskin(args: &[&str], home: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_realskin"))
        .args(args)
        .env("HOME", home)
        .env_remove("REALSKIN_CONFIG")
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .unwrap()
}

#[test]
fn config_check_reports_all_three_mistakes_with_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("three-mistakes.toml");
    std::fs::write(
        &path,
        "\
[daemon]
workers = \"many\"

[upscale]
min_long_edge = 2048
enigne = \"lanczos\"

[[hotfolder]]
name = \"studio\"
input = \"in\"
output = \"in/out\"
",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    let out = realskin(&["config", "check", path.to_str().unwrap()], dir.path());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let file = path.display().to_string();
    assert!(
        text.contains(&format!("{file}:2: error: `daemon.workers`")),
        "{text}"
    );
    assert!(
        text.contains(&format!("{file}:6: error: `upscale.enigne`")),
        "{text}"
    );
    assert!(text.contains("remove it or fix its spelling"), "{text}");
    assert!(
        text.contains(&format!("{file}:11: error: `hotfolder[0].output`")),
        "{text}"
    );
    assert!(text.contains("inside its own input folder"), "{text}");
    assert!(text.contains("3 errors to fix"), "{text}");
}

#[test]
fn config_check_collects_type_key_and_folder_mistakes_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("realskin.toml");
    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    std::fs::write(
        &path,
        "\
[[hotfolder]]
name = \"studio\"
input = \"in\"
output = \"in/results\"
settle = 2
colour = \"warm\"
",
    )
    .unwrap();
    // Type, key and folder mistakes are all listed in one run.
    let out = realskin(&["config", "check", path.to_str().unwrap()], dir.path());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(":5: error: `hotfolder[0].settle`"), "{text}");
    assert!(text.contains("\"2s\""), "{text}");
    assert!(text.contains(":6: error: `hotfolder[0].colour`"), "{text}");
    assert!(text.contains(":4: error: `hotfolder[0].output`"), "{text}");
}

#[test]
fn config_init_writes_the_repository_default_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/realskin.toml");
    let out = realskin(&["config", "init", path.to_str().unwrap()], dir.path());
    assert!(out.status.success());
    let written = std::fs::read_to_string(&path).unwrap();
    let repo =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/realskin.toml"))
            .unwrap();
    assert_eq!(written, repo);
    let again = realskin(&["config", "init", path.to_str().unwrap()], dir.path());
    assert!(!again.status.success(), "never overwrites without --force");
    let out = realskin(&["config", "check", path.to_str().unwrap()], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn process_writes_outputs_and_reports_and_fails_on_bad_files() {
    let hf = Hotfolder::new("", "");
    let good = hf.root.path().join("good.png");
    std::fs::write(&good, photo_png(300, 200, 1)).unwrap();
    let bad = hf.root.path().join("bad.png");
    std::fs::write(&bad, b"not an image").unwrap();
    let outdir = hf.root.path().join("results");
    let out = realskin(
        &[
            "process",
            "--config",
            hf.config.to_str().unwrap(),
            "--out",
            outdir.to_str().unwrap(),
            good.to_str().unwrap(),
            bad.to_str().unwrap(),
        ],
        hf.root.path(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("good.realskin.png (lanczos3 300×200 → 600×400"),
        "{stdout}"
    );
    assert!(
        stdout.contains("bad.png: FAILED: The file is not an image"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 of 2 files failed"));
    assert_eq!(
        Hotfolder::visible(&outdir),
        vec![
            "bad.png.failed.html",
            "bad.png.failed.json",
            "good.realskin.html",
            "good.realskin.json",
            "good.realskin.png"
        ]
    );
    assert!(good.exists() && bad.exists(), "originals are never touched");
    // The reports are finished and written the way the daemon writes them.
    let report = |name: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(outdir.join(name)).unwrap()).unwrap()
    };
    let ok = report("good.realskin.json");
    let written = outdir.join("good.realskin.png");
    assert_eq!(ok["outcome"], "processed");
    assert_eq!(ok["output"]["path"], written.to_str().unwrap());
    let summary = ok["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("lanczos3 300×200 → 600×400")
            && summary.ends_with(&format!(" → {}", written.display())),
        "{summary}"
    );
    let failed = report("bad.png.failed.json");
    assert_eq!(failed["outcome"], "failed");
    assert!(
        failed["summary"]
            .as_str()
            .unwrap()
            .starts_with("Not processed: The file is not an image"),
        "{failed}"
    );
    assert!(!failed["error"]["hint"].as_str().unwrap().is_empty());
}

#[test]
fn process_walks_a_folder_keeps_its_layout_and_leaves_other_files_alone() {
    let hf = Hotfolder::new("", "");
    let shoot = hf.root.path().join("shoot");
    std::fs::create_dir_all(shoot.join("day2")).unwrap();
    std::fs::write(shoot.join("a.png"), photo_png(120, 80, 1)).unwrap();
    std::fs::write(shoot.join("day2/b.png"), photo_png(120, 80, 2)).unwrap();
    std::fs::write(shoot.join("notes.txt"), b"call list").unwrap();
    std::fs::write(shoot.join(".a.png.icloud"), b"placeholder").unwrap();
    let outdir = hf.root.path().join("results");
    let run = |recursive: bool| {
        let mut args = vec!["process", "--config", hf.config.to_str().unwrap()];
        if recursive {
            args.push("--recursive");
        }
        args.extend(["--out", outdir.to_str().unwrap(), shoot.to_str().unwrap()]);
        realskin(&args, hf.root.path())
    };
    // Without --recursive only the top level is taken.
    let out = run(false);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        Hotfolder::visible(&outdir),
        vec!["a.realskin.html", "a.realskin.json", "a.realskin.png"]
    );
    std::fs::remove_dir_all(&outdir).unwrap();
    let out = run(true);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        Hotfolder::visible(&outdir),
        vec![
            "a.realskin.html",
            "a.realskin.json",
            "a.realskin.png",
            "day2/b.realskin.html",
            "day2/b.realskin.json",
            "day2/b.realskin.png"
        ]
    );
    assert_eq!(
        Hotfolder::visible(&shoot),
        vec!["a.png", "day2/b.png", "notes.txt"],
        "the folder is only read"
    );
    // A folder with nothing to take says so and what to try.
    let empty = hf.root.path().join("empty");
    std::fs::create_dir_all(empty.join("sub")).unwrap();
    let out = realskin(
        &[
            "process",
            "--config",
            hf.config.to_str().unwrap(),
            empty.to_str().unwrap(),
        ],
        hf.root.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("add --recursive"),
        "{out:?}"
    );
}

/// A 64×48 PNG whose transparency lives in a tRNS chunk: palette (entry 0 transparent) or
/// grey (value 0 transparent). The left half is the transparent colour.
fn trns_png(palette: bool) -> Vec<u8> {
    let (w, h) = (64u32, 48u32);
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_depth(png::BitDepth::Eight);
    if palette {
        enc.set_color(png::ColorType::Indexed);
        enc.set_palette(vec![0, 0, 0, 200, 150, 120]);
        enc.set_trns(vec![0u8]);
    } else {
        enc.set_color(png::ColorType::Grayscale);
        enc.set_trns(vec![0u8, 0]);
    }
    let mut writer = enc.write_header().unwrap();
    let data: Vec<u8> = (0..h)
        .flat_map(|_| {
            (0..w).map(|x| {
                if x < w / 2 {
                    0
                } else if palette {
                    1
                } else {
                    180
                }
            })
        })
        .collect();
    writer.write_image_data(&data).unwrap();
    writer.finish().unwrap();
    out
}

#[test]
fn palette_and_grey_pngs_keep_their_transparency() {
    let hf = Hotfolder::new("", "");
    let outdir = hf.root.path().join("results");
    let mut inputs = Vec::new();
    for (name, palette) in [("palette-trns.png", true), ("grey-trns.png", false)] {
        let p = hf.root.path().join(name);
        std::fs::write(&p, trns_png(palette)).unwrap();
        inputs.push(p);
    }
    let mut args = vec![
        "process",
        "--config",
        hf.config.to_str().unwrap(),
        "--out",
        outdir.to_str().unwrap(),
    ];
    args.extend(inputs.iter().map(|p| p.to_str().unwrap()));
    let out = realskin(&args, hf.root.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    for stem in ["palette-trns", "grey-trns"] {
        let report: serde_json::Value = serde_json::from_slice(
            &std::fs::read(outdir.join(format!("{stem}.realskin.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(
            report["profile"]["facts"]["alpha"], true,
            "{stem}: {report}"
        );
        let img = image::open(outdir.join(format!("{stem}.realskin.png"))).unwrap();
        assert!(img.color().has_alpha(), "{stem}: {:?}", img.color());
        let rgba = img.to_rgba8();
        let (w, h) = rgba.dimensions();
        assert_eq!(
            rgba.get_pixel(2, h / 2)[3],
            0,
            "{stem}: the left half stays transparent"
        );
        assert_eq!(
            rgba.get_pixel(w - 3, h / 2)[3],
            255,
            "{stem}: the right half stays opaque"
        );
    }
}

/// A lossy WebP comes back lossy (not megabytes of losslessly stored artefacts), a
/// lossless one lossless, and an LZW TIFF as LZW; the report says how each was stored.
#[test]
fn outputs_are_stored_the_way_their_input_was() {
    let hf = Hotfolder::new("", "");
    let outdir = hf.root.path().join("results");
    let rgb = image::load_from_memory(&photo_png(300, 200, 1))
        .unwrap()
        .to_rgb8();
    let lossy = webp::Encoder::from_rgb(rgb.as_raw(), 300, 200).encode(80.0);
    let lossless = webp::Encoder::from_rgb(rgb.as_raw(), 300, 200).encode_lossless();
    let mut lzw = Vec::new();
    tiff::encoder::TiffEncoder::new(std::io::Cursor::new(&mut lzw))
        .unwrap()
        .with_compression(tiff::encoder::Compression::Lzw)
        .write_image::<tiff::encoder::colortype::RGB8>(300, 200, rgb.as_raw())
        .unwrap();
    let files: [(&str, &[u8]); 3] = [
        ("lossy.webp", &lossy),
        ("lossless.webp", &lossless),
        ("lzw.tif", &lzw),
    ];
    let mut args = vec![
        "process".to_string(),
        "--config".into(),
        hf.config.to_str().unwrap().into(),
        "--out".into(),
        outdir.to_str().unwrap().into(),
    ];
    for (name, bytes) in files {
        let p = hf.root.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        args.push(p.to_str().unwrap().into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = realskin(&args, hf.root.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report = |stem: &str| -> serde_json::Value {
        serde_json::from_slice(
            &std::fs::read(outdir.join(format!("{stem}.realskin.json"))).unwrap(),
        )
        .unwrap()
    };
    assert_eq!(
        report("lossy")["output"]["compression"],
        "lossy, quality 90"
    );
    assert_eq!(report("lossless")["output"]["compression"], "lossless");
    assert_eq!(report("lzw")["output"]["compression"], "lzw");
    // The image data chunk, wherever the metadata chunks put it.
    let has_chunk = |bytes: &[u8], tag: &[u8]| bytes.windows(4).any(|w| w == tag);
    let lossy_out = std::fs::read(outdir.join("lossy.realskin.webp")).unwrap();
    let lossless_out = std::fs::read(outdir.join("lossless.realskin.webp")).unwrap();
    assert!(has_chunk(&lossy_out, b"VP8 ") && !has_chunk(&lossy_out, b"VP8L"));
    assert!(has_chunk(&lossless_out, b"VP8L"));
    assert!(
        lossy_out.len() * 3 < lossless_out.len(),
        "lossy {} bytes, lossless {} bytes",
        lossy_out.len(),
        lossless_out.len()
    );
    let tif = std::fs::read(outdir.join("lzw.realskin.tif")).unwrap();
    let mut dec = tiff::decoder::Decoder::new(std::io::Cursor::new(&tif)).unwrap();
    assert_eq!(
        dec.get_tag_u32(tiff::tags::Tag::Compression).unwrap(),
        5,
        "LZW"
    );
    assert_eq!(image::load_from_memory(&tif).unwrap().width(), 600);
}

/// `realskin profile` reads the pixels with the configured `[skin]`: a Pixar-style portrait's
/// face is judged rendered by default, so no skin is counted, and its skin is counted under a
/// config that treats every face found. Skipped where `../shared/samples` is not present.
#[test]
fn profile_reads_the_pixels_with_the_configured_skin_settings() {
    let picture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/samples/dev/not-photo/nanobanana_pixar-portrait.png");
    if !picture.exists() {
        eprintln!("skipped: ../shared/samples is not here");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let skin_fraction = |config: Option<&std::path::Path>| {
        let mut args = vec!["profile", "--json"];
        if let Some(c) = config {
            args.extend(["--config", c.to_str().unwrap()]);
        }
        args.push(picture.to_str().unwrap());
        let out = realskin(&args, dir.path());
        assert!(out.status.success(), "{out:?}");
        let p: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            p["pixels"]["faces"].as_array().map(Vec::len),
            Some(1),
            "{p}"
        );
        p["pixels"]["skin_fraction"].as_f64().unwrap_or(0.0)
    };
    assert_eq!(
        skin_fraction(None),
        0.0,
        "a rendered face has no skin to treat"
    );
    let config = dir.path().join("all-faces.toml");
    // `enabled = false` turns the engine off for processing; the profile still reads.
    std::fs::write(&config, "[skin]\nfaces = \"all\"\nenabled = false\n").unwrap();
    let all = skin_fraction(Some(&config));
    assert!(
        all > 0.01,
        "every face's skin when the config says so: {all}"
    );
}
