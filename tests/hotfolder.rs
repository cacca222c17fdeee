//! The hotfolder end to end, on the real daemon and real file-system events (and
//! polling): a burst of images, a slow copy, sync-client temporaries, bad inputs.

mod common;

use std::io::Write;
use std::time::Duration;

use common::{Daemon, Hotfolder, PartialWatch, photo_png, wait_until};

const VALID: usize = 50;

/// Drops 50 images at once, one slow copy, temporaries, a corrupt and an empty file,
/// and checks every valid image gives exactly one output and one report.
fn burst(watch: &str) {
    let hf = Hotfolder::new(&format!("watch = \"{watch}\""), "");
    let daemon = Daemon::start(&hf.config);
    let partial = PartialWatch::start(&hf.output);

    // The slow copy starts first and keeps growing for 5 s (1 KiB every 200 ms).
    let slow_bytes = photo_png(300, 200, 999);
    let slow_path = hf.input.join("slow-copy_valid.png");
    let slow = {
        let path = slow_path.clone();
        let bytes = slow_bytes.clone();
        std::thread::spawn(move || {
            let mut f = std::fs::File::create(&path).unwrap();
            let chunk = 1024;
            let steps = 25;
            for i in 0..steps {
                let end = ((i + 1) * chunk).min(bytes.len());
                f.write_all(&bytes[i * chunk..end]).unwrap();
                f.flush().unwrap();
                std::thread::sleep(Duration::from_millis(200));
            }
            f.write_all(&bytes[(steps * chunk).min(bytes.len())..])
                .unwrap();
        })
    };

    for i in 0..VALID {
        hf.drop_file(
            &format!("batch/valid-{i:03}.png"),
            &photo_png(300, 200, i as u32),
        );
    }
    for temp in [
        "a.png.part",
        "b.png.crdownload",
        "~syncthing~c.png.tmp",
        ".syncthing.d.png.tmp",
        "e.png.!sync",
        ".DS_Store",
        "._valid-000.png",
    ] {
        std::fs::write(hf.input.join(temp), photo_png(64, 64, 1)).unwrap();
    }
    let corrupt = photo_png(300, 200, 77);
    hf.drop_file("corrupt_truncated.png", &corrupt[..corrupt.len() / 3]);
    hf.drop_file("empty_zero-bytes.png", b"");

    // The slow file must not be taken while it grows.
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            slow_path.exists() || slow.is_finished(),
            "the slow copy was taken while still being written"
        );
    }
    slow.join().unwrap();

    let expected = VALID + 1;
    let ok = wait_until(Duration::from_secs(90), || {
        Hotfolder::visible(&hf.output).len() >= expected
            && Hotfolder::visible(&hf.failed).len() >= 4
    });
    let log = daemon.log_text();
    assert!(
        ok,
        "timed out; outputs {:?}\nfailed {:?}\n{log}",
        Hotfolder::visible(&hf.output),
        Hotfolder::visible(&hf.failed)
    );
    std::thread::sleep(Duration::from_millis(1500));

    let outputs = Hotfolder::visible(&hf.output);
    assert_eq!(
        outputs.len(),
        expected,
        "exactly one output per valid image: {outputs:?}"
    );
    for i in 0..VALID {
        assert!(
            outputs.contains(&format!("batch/valid-{i:03}.realskin.png")),
            "{i} missing"
        );
    }
    assert!(outputs.contains(&"slow-copy_valid.realskin.png".to_string()));
    let slow_out = std::fs::read(hf.output.join("slow-copy_valid.realskin.png")).unwrap();
    let slow_img = image::load_from_memory(&slow_out).unwrap();
    assert_eq!(
        (slow_img.width(), slow_img.height()),
        (600, 400),
        "the whole slow file was read"
    );

    let reports = Hotfolder::json_reports(&hf.reports);
    assert_eq!(
        reports.len(),
        expected + 2,
        "one report per image, failed ones included: {reports:?}"
    );

    let failed = Hotfolder::visible(&hf.failed);
    assert_eq!(
        failed,
        vec![
            "corrupt_truncated.png",
            "corrupt_truncated.png.error.txt",
            "empty_zero-bytes.png",
            "empty_zero-bytes.png.error.txt",
        ]
    );
    let reason =
        std::fs::read_to_string(hf.failed.join("corrupt_truncated.png.error.txt")).unwrap();
    assert!(reason.contains("damaged or incomplete"), "{reason}");
    assert!(reason.contains("What to do"), "{reason}");
    let reason = std::fs::read_to_string(hf.failed.join("empty_zero-bytes.png.error.txt")).unwrap();
    assert!(reason.contains("empty"), "{reason}");

    // Originals moved to done/ with their relative paths; temporaries untouched.
    assert_eq!(Hotfolder::visible(&hf.done).len(), expected);
    assert!(hf.done.join("batch/valid-007.png").exists());
    let left = Hotfolder::files(&hf.input);
    for temp in [
        "a.png.part",
        "b.png.crdownload",
        "~syncthing~c.png.tmp",
        ".syncthing.d.png.tmp",
        "e.png.!sync",
        ".DS_Store",
        "._valid-000.png",
    ] {
        assert!(
            left.contains(&temp.to_string()),
            "{temp} was taken: {left:?}"
        );
    }
    assert!(
        !left
            .iter()
            .any(|f| f.starts_with(".realskin/processing/") && !f.ends_with('/')),
        "staging is empty: {left:?}"
    );

    let partial = partial.finish();
    assert!(
        partial.is_empty(),
        "half-written outputs were visible: {partial:?}"
    );
    assert!(daemon.stop().success());
}

#[test]
fn a_burst_with_slow_temp_corrupt_and_empty_files_with_events() {
    burst("events");
}

#[test]
fn a_burst_with_slow_temp_corrupt_and_empty_files_with_polling() {
    burst("poll");
}

#[test]
fn the_same_content_twice_is_a_duplicate_and_keep_leaves_the_original() {
    let hf = Hotfolder::new("on_success = \"keep\"", "");
    let daemon = Daemon::start(&hf.config);
    let bytes = photo_png(200, 100, 5);
    hf.drop_file("first.png", &bytes);
    assert!(wait_until(Duration::from_secs(20), || hf
        .output
        .join("first.realskin.png")
        .exists()));
    hf.drop_file("second-same-content.png", &bytes);
    assert!(wait_until(Duration::from_secs(20), || {
        Hotfolder::json_reports(&hf.reports).len() == 2
    }));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(Hotfolder::visible(&hf.output), vec!["first.realskin.png"]);
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(hf.reports.join("second-same-content.png.duplicate.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["outcome"], "duplicate", "{report:#}");
    // keep: both originals are back where they were dropped, and not taken again.
    assert_eq!(
        Hotfolder::visible(&hf.input),
        vec!["first.png", "second-same-content.png"]
    );
    let log_before = daemon.log_text().matches("outcome=").count();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        daemon.log_text().matches("outcome=").count(),
        log_before,
        "kept originals are not re-taken"
    );
    assert!(daemon.stop().success());
}

#[test]
fn bad_inputs_fail_with_reasons_and_the_daemon_goes_on() {
    let hf = Hotfolder::new("", "");
    std::fs::write(
        &hf.config,
        std::fs::read_to_string(&hf.config)
            .unwrap()
            .replace("[daemon]", "[daemon]\nmax_megapixels = 1.0"),
    )
    .unwrap();
    let daemon = Daemon::start(&hf.config);
    hf.drop_file(
        "not-an-image_text.png",
        b"this is a text file with an image name",
    );
    hf.drop_file("too-large_2000x1000.png", &photo_png(2000, 1000, 1));
    hf.drop_file(
        "unsupported_gif.gif",
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
    );
    let jpeg = common::photo_jpeg(300, 200, 3);
    hf.drop_file("truncated_jpeg.jpg", &jpeg[..jpeg.len() * 2 / 3]);
    hf.drop_file("valid_after-bad-ones.png", &photo_png(300, 200, 4));
    assert!(wait_until(Duration::from_secs(30), || Hotfolder::visible(
        &hf.failed
    )
    .len()
        == 8
        && hf.output.join("valid_after-bad-ones.realskin.png").exists()));
    for (name, words) in [
        ("not-an-image_text.png", "not an image"),
        ("too-large_2000x1000.png", "2000×1000"),
        ("unsupported_gif.gif", "not supported"),
        ("truncated_jpeg.jpg", "damaged or incomplete"),
    ] {
        let reason = std::fs::read_to_string(hf.failed.join(format!("{name}.error.txt"))).unwrap();
        assert!(reason.contains(words), "{name}: {reason}");
        let report: serde_json::Value = serde_json::from_slice(
            &std::fs::read(hf.reports.join(format!("{name}.failed.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(report["outcome"], "failed");
        assert!(report["error"]["hint"].as_str().unwrap().len() > 10);
    }
    assert!(daemon.log_text().contains("Image failed"));
    assert!(daemon.stop().success());
}

#[test]
fn outputs_keep_the_originals_icc_profile_exif_and_orientation() {
    let hf = Hotfolder::new("", "");
    let daemon = Daemon::start(&hf.config);
    // A JPEG with an ICC profile and EXIF orientation 6 (rotate 90° to display).
    let img = common::photo(300, 200, 8);
    let mut jpeg = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90);
    use image::ImageEncoder;
    enc.set_icc_profile(b"test icc profile".to_vec()).unwrap();
    let exif = exif_with_orientation(6);
    enc.set_exif_metadata(exif.clone()).unwrap();
    enc.write_image(img.as_raw(), 300, 200, image::ExtendedColorType::Rgb8)
        .unwrap();
    hf.drop_file("rotated_with-icc.jpg", &jpeg);
    assert!(wait_until(Duration::from_secs(20), || hf
        .output
        .join("rotated_with-icc.realskin.jpg")
        .exists()));
    let out = std::fs::read(hf.output.join("rotated_with-icc.realskin.jpg")).unwrap();
    let d = realskin::decode::decode(&out, 100.0).unwrap();
    assert_eq!(d.icc.as_deref(), Some(&b"test icc profile"[..]));
    assert_eq!(d.orientation.to_exif(), 6);
    assert_eq!(
        (d.image.width(), d.image.height()),
        (600, 400),
        "pixels stay as stored; EXIF turns them"
    );
    assert!(daemon.stop().success());
}

/// A minimal big-endian EXIF block with one IFD0 entry: Orientation.
fn exif_with_orientation(o: u16) -> Vec<u8> {
    let mut e = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
    e.extend_from_slice(&1u16.to_be_bytes());
    e.extend_from_slice(&0x0112u16.to_be_bytes());
    e.extend_from_slice(&3u16.to_be_bytes());
    e.extend_from_slice(&1u32.to_be_bytes());
    e.extend_from_slice(&o.to_be_bytes());
    e.extend_from_slice(&[0, 0]);
    e.extend_from_slice(&0u32.to_be_bytes());
    e
}

#[test]
fn an_input_folder_that_disappears_is_watched_again_when_it_returns() {
    let hf = Hotfolder::new("", "");
    let daemon = Daemon::start(&hf.config);
    let away = hf.root.path().join("in-unmounted");
    std::fs::rename(&hf.input, &away).unwrap();
    daemon.wait_log("Input folder is gone", Duration::from_secs(10));
    std::fs::rename(&away, &hf.input).unwrap();
    daemon.wait_log("Input folder is back", Duration::from_secs(10));
    hf.drop_file("after-return_valid.png", &photo_png(300, 200, 2));
    assert!(wait_until(Duration::from_secs(20), || hf
        .output
        .join("after-return_valid.realskin.png")
        .exists()));
    assert!(daemon.stop().success());
}

#[test]
fn two_daemons_racing_for_the_same_output_names_lose_no_file() {
    // Two machines, each with its own input, deliver into one shared output, reports and
    // done folder; the same file names arrive at both at the same moment.
    let hf = Hotfolder::new("", "");
    let other_in = hf.root.path().join("in-other");
    std::fs::create_dir_all(&other_in).unwrap();
    let other_config = hf.root.path().join("other.toml");
    let text = std::fs::read_to_string(&hf.config)
        .unwrap()
        .replace("state_dir = \"state\"", "state_dir = \"state-other\"")
        .replace("input = \"in\"", "input = \"in-other\"");
    std::fs::write(&other_config, text).unwrap();
    let a = Daemon::start(&hf.config);
    let b = Daemon::start(&other_config);
    const N: u32 = 12;
    let name = |i: u32| format!("same-{i:02}.png");
    for i in 0..N {
        let (mine, theirs) = (photo_png(240, 160, 300 + i), photo_png(240, 160, 400 + i));
        hf.drop_file(&name(i), &mine);
        let tmp = other_in.join(format!(".dropping-{i}"));
        std::fs::write(&tmp, &theirs).unwrap();
        std::fs::rename(&tmp, other_in.join(name(i))).unwrap();
    }
    assert!(
        wait_until(Duration::from_secs(90), || Hotfolder::visible(&hf.done)
            .len()
            == 2 * N as usize),
        "done: {:?}",
        Hotfolder::visible(&hf.done)
    );
    std::thread::sleep(Duration::from_millis(1000));
    let outputs = Hotfolder::visible(&hf.output);
    assert_eq!(
        outputs.len(),
        2 * N as usize,
        "an output was lost: {outputs:?}"
    );
    for i in 0..N {
        let stem = format!("same-{i:02}");
        let pair: Vec<_> = outputs.iter().filter(|o| o.starts_with(&stem)).collect();
        assert_eq!(pair.len(), 2, "{stem}: {pair:?}");
    }
    // Every output is a whole picture, and both originals of each name are in done/.
    for o in &outputs {
        let bytes = std::fs::read(hf.output.join(o)).unwrap();
        assert!(common::decodes(&bytes), "{o} does not decode");
    }
    assert_eq!(Hotfolder::json_reports(&hf.reports).len(), 2 * N as usize);
    assert!(a.stop().success());
    assert!(b.stop().success());
}

#[test]
fn two_daemons_on_one_folder_never_take_a_file_twice() {
    let hf = Hotfolder::new("", "");
    // A second daemon with its own state dir, as on another machine sharing the folder.
    let other_config = hf.root.path().join("other.toml");
    let text = std::fs::read_to_string(&hf.config)
        .unwrap()
        .replace("state_dir = \"state\"", "state_dir = \"state-other\"");
    std::fs::write(&other_config, text).unwrap();
    let a = Daemon::start(&hf.config);
    let b = Daemon::start(&other_config);
    for i in 0..30 {
        hf.drop_file(&format!("shared-{i:02}.png"), &photo_png(300, 200, 100 + i));
    }
    assert!(wait_until(Duration::from_secs(60), || Hotfolder::visible(
        &hf.done
    )
    .len()
        == 30));
    std::thread::sleep(Duration::from_millis(1000));
    let outputs = Hotfolder::visible(&hf.output);
    assert_eq!(outputs.len(), 30, "no file processed twice: {outputs:?}");
    assert!(
        outputs.iter().all(|o| !o.contains("realskin-2")),
        "{outputs:?}"
    );
    let jobs = |d: &Daemon| d.log_text().matches("outcome=\"processed\"").count();
    assert_eq!(jobs(&a) + jobs(&b), 30);
    assert!(a.stop().success());
    assert!(b.stop().success());
}
