//! The JSON report's shape, snapshot-tested on reports the real daemon wrote.
//! Times, durations, paths and hashes vary from run to run and are redacted.

mod common;

use std::time::Duration;

use common::{Daemon, Hotfolder, photo_png, wait_until};

/// The report with the temporary root written as `[root]`.
fn read_json(path: &std::path::Path, root: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    let root = root.canonicalize().unwrap();
    serde_json::from_str(&text.replace(root.to_str().unwrap(), "[root]")).unwrap()
}

#[test]
fn processed_and_failed_reports_keep_their_shape() {
    let hf = Hotfolder::new("", "");
    let daemon = Daemon::start(&hf.config);
    hf.drop_file("portrait_upscaled.png", &photo_png(300, 200, 42));
    let bytes = photo_png(300, 200, 43);
    hf.drop_file("damaged_truncated.png", &bytes[..bytes.len() / 2]);
    assert!(wait_until(Duration::from_secs(30), || {
        Hotfolder::json_reports(&hf.reports).len() == 2
    }));
    assert!(wait_until(Duration::from_secs(10), || Hotfolder::visible(
        &hf.failed
    )
    .len()
        == 2));
    assert!(daemon.stop().success());

    let processed = read_json(
        &hf.reports.join("portrait_upscaled.realskin.json"),
        hf.root.path(),
    );
    insta::assert_json_snapshot!("processed", processed, {
        ".started_at" => "[time]",
        ".finished_at" => "[time]",
        ".timings_ms.read" => "[ms]",
        ".timings_ms.decode" => "[ms]",
        ".timings_ms.profile" => "[ms]",
        ".timings_ms.stages" => "[ms]",
        ".timings_ms.encode" => "[ms]",
        ".timings_ms.write" => "[ms]",
        ".timings_ms.total" => "[ms]",
        ".stages[].ms" => "[ms]",
        ".stages[].details.timings_ms" => "[timings]",
        ".output.bytes" => "[bytes]",
        ".job" => "[job]",
        ".realskin" => "[version]",
    });

    // The HTML report gives a stage that ran and left the image alone its own reason
    // ("no person: no face found"), not the plan's "the skin engine is on".
    let html = std::fs::read_to_string(hf.reports.join("portrait_upscaled.realskin.html"))
        .expect("HTML report");
    let skin = processed["stages"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["stage"] == "skin"))
        .expect("skin stage");
    assert_eq!(skin["status"], "skipped");
    let why = skin["summary"].as_str().expect("its reason");
    assert!(
        html.contains(&format!("<b>Skin</b>: skipped. {why}</div>")),
        "the report's steps do not give {why:?}"
    );

    let failed = read_json(
        &hf.reports.join("damaged_truncated.png.failed.json"),
        hf.root.path(),
    );
    insta::assert_json_snapshot!("failed", failed, {
        ".started_at" => "[time]",
        ".finished_at" => "[time]",
        ".timings_ms.read" => "[ms]",
        ".timings_ms.decode" => "[ms]",
        ".timings_ms.profile" => "[ms]",
        ".timings_ms.total" => "[ms]",
        ".job" => "[job]",
        ".realskin" => "[version]",
    });
}

/// The `href` values of a page's links.
fn hrefs(html: &str) -> Vec<String> {
    html.split("<a href=\"")
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(h, _)| h.replace("&amp;", "&")))
        .collect()
}

/// Percent-decoding, as a browser resolves a relative link to a file.
fn decode(href: &str) -> String {
    let b = href.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn the_daily_index_links_hostile_file_names_as_files_never_as_script() {
    let hf = Hotfolder::new("", "");
    let daemon = Daemon::start(&hf.config);
    let names = ["javascript:alert(1).png", "50% off #1?.png"];
    for (i, name) in names.iter().enumerate() {
        hf.drop_file(name, &photo_png(200, 150, 50 + i as u32));
    }
    let index = hf.reports.join("index.html");
    assert!(
        wait_until(Duration::from_secs(60), || std::fs::read_to_string(&index)
            .is_ok_and(|t| hrefs(&t).len() == names.len())),
        "no index with {} links:\n{}",
        names.len(),
        daemon.log_text()
    );
    assert!(daemon.stop().success());
    let page = std::fs::read_to_string(&index).unwrap();
    assert!(
        page.contains("http-equiv=\"Content-Security-Policy\""),
        "the index carries no CSP"
    );
    for href in hrefs(&page) {
        // A relative path, each character outside [A-Za-z0-9._~/-] percent-encoded.
        assert!(href.starts_with("./"), "{href}");
        assert!(
            href.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"%-._~/".contains(&b)),
            "{href}"
        );
        let target = hf.reports.join(decode(&href[2..]));
        assert!(
            target.is_file(),
            "{href} leads to no file ({})",
            target.display()
        );
    }
}
