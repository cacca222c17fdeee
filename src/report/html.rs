//! The HTML report beside each JSON report, and the daily index of a reports folder.
//!
//! Both are single self-contained files (styles, script and pictures inside), so they
//! open from a shared drive or an e-mail attachment with nothing else around them.
//! A person should understand what happened to their image without reading JSON:
//! pictures first, then what was done and why, then the figures.

use std::fmt::Write;

use super::previews::{Previews, base64};
use super::{Outcome, Report};

/// One row per face the skin engine saw: where, its pose, and the gate's verdict with its figures.
fn faces_section(body: &mut String, report: &Report) {
    let Some(skin) = report
        .stages
        .iter()
        .find(|s| s.stage == crate::pipeline::Stage::Skin)
    else {
        return;
    };
    let Some(checks) = skin.details.get("face_checks").and_then(|c| c.as_array()) else {
        return;
    };
    if checks.is_empty() {
        return;
    }
    body.push_str("<h2>Faces</h2><table><tr><th>face</th><th>pose</th><th>verdict</th></tr>");
    for c in checks {
        let f = |path: &[&str]| {
            path.iter()
                .try_fold(c, |v, k| v.get(*k))
                .and_then(|v| v.as_f64())
                .unwrap_or(0.0)
        };
        let treated = c.get("treated").and_then(|v| v.as_bool()).unwrap_or(false);
        let reason = c
            .get("verdict")
            .and_then(|v| v.get("reason"))
            .and_then(|v| v.as_str())
            .unwrap_or("");
        let _ = write!(
            body,
            "<tr><td>{:.0}×{:.0} px at {:.0}, {:.0}<br><span class=\"dim\">detector {:.2}, mesh {:.2}</span></td><td>roll {:.0}°, yaw {:+.2}</td><td><b>{}</b>: {}</td></tr>",
            f(&["face", "w"]),
            f(&["face", "h"]),
            f(&["face", "x"]),
            f(&["face", "y"]),
            f(&["face", "score"]),
            f(&["verdict", "presence"]),
            f(&["roll_deg"]),
            f(&["yaw"]),
            if treated { "treated" } else { "left alone" },
            esc(reason)
        );
    }
    body.push_str("</table>");
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = r#"
:root{--bg:#fbfaf8;--text:#1d1b19;--dim:#6b665f;--line:#e4e0da;--ok:#1f7a45;--bad:#b3261e;--accent:#a8643a}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--text);font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif}
main{max-width:1100px;margin:0 auto;padding:28px 24px 60px}h1{font-size:22px;margin:0 0 4px;word-break:break-all}
h2{font-size:13px;text-transform:uppercase;letter-spacing:.8px;color:var(--dim);margin:30px 0 10px}
.badge{display:inline-block;font-size:12px;font-weight:700;padding:2px 10px;border-radius:999px;text-transform:uppercase;letter-spacing:.5px}
.processed{background:#dcf1e3;color:var(--ok)}.failed{background:#f8dedc;color:var(--bad)}.duplicate,.skipped{background:#eceae6;color:var(--dim)}
.summary{font-size:17px;margin:10px 0 0}.dim{color:var(--dim);font-size:13px}
.compare{position:relative;max-width:100%;border-radius:10px;overflow:hidden;background:#000;user-select:none;margin-top:8px}
.compare img{display:block;width:100%;height:auto}.compare .after{position:absolute;inset:0;overflow:hidden;width:50%;border-right:2px solid #fff}
.compare .after img{width:auto;height:100%;max-width:none}.compare input{position:absolute;inset:0;width:100%;height:100%;opacity:0;cursor:ew-resize;margin:0}
.tag{position:absolute;top:8px;padding:2px 8px;background:#000a;color:#fff;border-radius:4px;font-size:12px}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:20px}@media(max-width:800px){.grid{grid-template-columns:1fr}}
table{width:100%;border-collapse:collapse;font-size:14px}td,th{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--dim);font-weight:500;width:34%}.err{background:#fbeceb;border:1px solid #efc5c1;border-radius:10px;padding:14px 16px;margin-top:18px}
.err b{color:var(--bad)}.step{padding:10px 0;border-bottom:1px solid var(--line)}.step b{text-transform:capitalize}
a{color:var(--accent)}
"#;

const SLIDER_JS: &str = r#"
for(const c of document.querySelectorAll('.compare')){const a=c.querySelector('.after'),i=a.querySelector('img'),b=c.querySelector('img');
const fit=()=>{i.style.width=b.clientWidth+'px';i.style.height=b.clientHeight+'px'};b.addEventListener('load',fit);addEventListener('resize',fit);fit();
c.querySelector('input').addEventListener('input',e=>{a.style.width=e.target.value+'%'})}
"#;

/// The CSP source that allows exactly one inline script: `'sha256-…'` of its text.
pub fn script_hash_source(script: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("'sha256-{}'", base64(&Sha256::digest(script.as_bytes())))
}

/// The Content-Security-Policy of a report page: its own inline script and nothing else,
/// pictures only from `data:` URLs. A report sits in a shared folder and shows names
/// that anyone could have chosen; if one ever slipped past escaping, it could not run.
fn report_csp() -> String {
    format!(
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src {}; base-uri 'none'; form-action 'none'",
        script_hash_source(SLIDER_JS)
    )
}

/// The daily index runs no script at all.
const INDEX_CSP: &str = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

/// A relative path as a link: `./` and each segment percent-encoded, so that a name like
/// `javascript:alert(1).png` stays a file name, and `#`, `?` and `%` in names keep
/// their links working.
pub fn relative_href(path: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    /// Everything but RFC 3986's unreserved characters.
    const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let mut out = String::from(".");
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        out.extend(utf8_percent_encode(seg, SEGMENT));
    }
    out
}

fn img_src(bytes: &[u8]) -> String {
    format!("data:image/jpeg;base64,{}", base64(bytes))
}

fn compare(before: &[u8], after: &[u8], label: &str) -> String {
    format!(
        r#"<div class="compare"><img src="{}" alt="before"><div class="after"><img src="{}" alt="after"></div><span class="tag" style="left:8px">realskin</span><span class="tag" style="right:8px">before</span><input type="range" min="0" max="100" value="50" aria-label="{}"></div>"#,
        img_src(before),
        img_src(after),
        esc(label)
    )
}

fn row(out: &mut String, k: &str, v: &str) {
    let _ = write!(out, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
}

/// The HTML report for one job.
pub fn render(report: &Report, previews: &Previews) -> String {
    let name = report
        .input
        .relative_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let outcome = report.outcome.as_str();
    let mut body = String::new();
    let _ = write!(
        body,
        r#"<h1>{}</h1><span class="badge {outcome}">{outcome}</span> <span class="dim">{}{}</span><p class="summary">{}</p>"#,
        esc(&name),
        esc(&report.finished_at),
        report
            .hotfolder
            .as_ref()
            .map(|h| format!(" · hotfolder {}", esc(h)))
            .unwrap_or_default(),
        esc(&report.summary)
    );
    if let Some(e) = &report.error {
        let _ = write!(
            body,
            r#"<div class="err"><b>What went wrong:</b> {}<br><b style="color:inherit">What to do:</b> {}</div>"#,
            esc(&e.message),
            esc(&e.hint)
        );
    }

    pictures_section(&mut body, previews);
    faces_section(&mut body, report);

    steps_section(&mut body, report);
    origin_section(&mut body, report);
    figures_section(&mut body, report);

    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" content=\"{}\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{} · realskin report</title><style>{STYLE}</style></head><body><main>{body}</main><script>{SLIDER_JS}</script></body></html>\n",
        report_csp(),
        esc(&name)
    )
}

/// Before/after sliders for the largest face and the whole image, and the skin mask.
fn pictures_section(body: &mut String, previews: &Previews) {
    // Pictures first.
    if let (Some(b), Some(a)) = (previews.get("face-before"), previews.get("face-after")) {
        let _ = write!(
            body,
            "<h2>The largest face at 100 %</h2>{}<p class=\"dim\">Drag across the picture to compare. \"Before\" is the original enlarged the plain way (Lanczos) to the same size.</p>",
            compare(b, a, "largest face")
        );
    }
    if let (Some(b), Some(a)) = (previews.get("before"), previews.get("after")) {
        let _ = write!(
            body,
            "<h2>The whole image</h2>{}<p class=\"dim\">Drag across the picture to compare.</p>",
            compare(b, a, "whole image")
        );
    }
    if let Some(m) = previews.get("mask") {
        let _ = write!(
            body,
            "<h2>Where skin was found</h2><img src=\"{}\" alt=\"skin mask\" style=\"max-width:100%;border-radius:10px\"><p class=\"dim\">Tinted areas are the skin realskin worked on; everything else (eyes, lips, hair, clothes, background) was left alone. Yellow dots are each treated face's 468 landmarks; green lines its face oval, eyes, brows and lips; blue areas are locked.</p>",
            img_src(m)
        );
    }
}

/// Each planned step: done (with its time) or skipped, and why.
fn steps_section(body: &mut String, report: &Report) {
    // What was done and why.
    body.push_str("<h2>What realskin did</h2>");
    if let Some(plan) = &report.plan {
        for step in &plan.steps {
            let done = report.stages.iter().find(|s| s.stage == step.stage);
            let (verb, text) = match done {
                Some(s) if s.status == crate::pipeline::StageStatus::Applied => (
                    "done",
                    format!("{} ({} ms). {}", s.summary, s.ms, step.reason),
                ),
                // It ran and left the image as it was: its own reason ("no person: no face
                // found", "nothing to add: …"), not the plan's.
                Some(s) if !s.summary.is_empty() => ("skipped", s.summary.clone()),
                _ => ("skipped", step.reason.clone()),
            };
            let _ = write!(
                body,
                "<div class=\"step\"><b>{:?}</b>: {verb}. {}</div>",
                step.stage,
                esc(&text)
            );
        }
    } else {
        body.push_str("<p class=\"dim\">Nothing: the image could not be read.</p>");
    }
}

/// Which generator made the image, the evidence, and the provenance notes.
fn origin_section(body: &mut String, report: &Report) {
    // Where it came from.
    if let Some(p) = &report.profile {
        let v = &p.verdict;
        let who = match v.ai {
            Some(true) => format!(
                "AI-generated{}{}{}",
                v.vendor
                    .as_deref()
                    .map(|x| format!(" by {x}"))
                    .unwrap_or_default(),
                v.model
                    .as_deref()
                    .map(|x| format!(", model {x}"))
                    .unwrap_or_default(),
                v.tool
                    .as_deref()
                    .map(|x| format!(", made with {x}"))
                    .unwrap_or_default()
            ),
            Some(false) => "not AI-generated, as far as its metadata says".to_string(),
            None => "unknown: the file carries no generator evidence".to_string(),
        };
        let _ = write!(
            body,
            "<h2>Where it came from</h2><p><b>{}</b> <span class=\"dim\">(confidence {:.0} %)</span><br>Skin preset: {} <span class=\"dim\">({})</span></p>",
            esc(&who),
            v.confidence * 100.0,
            esc(p.preset.preset.name()),
            esc(&p.preset.reason)
        );
        if !v.evidence.is_empty() {
            body.push_str("<table>");
            for e in &v.evidence {
                row(
                    body,
                    &format!("{:?}", e.source).to_lowercase(),
                    &format!("{} (weight {:.2})", e.says, e.weight),
                );
            }
            body.push_str("</table>");
        }
        if let Some(prov) = &report.provenance {
            for n in &prov.notes {
                let _ = write!(body, "<p class=\"dim\">{}</p>", esc(n));
            }
        }
    }
}

/// The input's and the output's facts side by side.
fn figures_section(body: &mut String, report: &Report) {
    // The figures.
    body.push_str("<div class=\"grid\"><div><h2>The image</h2><table>");
    if let Some(p) = &report.profile {
        let f = &p.facts;
        row(
            body,
            "size",
            &format!("{} × {} px ({} MP)", f.width, f.height, f.megapixels),
        );
        row(
            body,
            "format",
            &format!(
                "{}, {} bit, {}{}",
                crate::meta::format_name(f.format),
                f.bit_depth,
                f.colour_model,
                if f.alpha { " + alpha" } else { "" }
            ),
        );
        row(body, "colour", &f.colour_space);
        if let Some(q) = f.jpeg_quality {
            row(body, "JPEG quality", &format!("about {q}"));
        }
        if let Some(o) = f.orientation.filter(|&o| o != 1) {
            row(body, "EXIF orientation", &o.to_string());
        }
        if let Some(px) = &p.pixels {
            if let Some(k) = &px.kind {
                row(body, "picture", k);
            }
            row(body, "faces", &px.faces.len().to_string());
            if let Some(s) = px.skin_fraction {
                row(body, "skin", &format!("{:.1} % of the image", s * 100.0));
            }
            if let Some(s) = px.largest_face_px_per_mm {
                row(
                    body,
                    "scale",
                    &format!("{s:.1} px per mm on the largest face"),
                );
            }
        }
    }
    row(body, "original", &report.input.path.display().to_string());
    if let Some(p) = &report.original {
        row(body, "original moved to", &p.display().to_string());
    }
    body.push_str("</table></div><div><h2>The result</h2><table>");
    if let Some(o) = &report.output {
        row(body, "file", &o.path.display().to_string());
        row(
            body,
            "size",
            &format!(
                "{} × {} px, {:?}, {} bit",
                o.facts.width, o.facts.height, o.facts.format, o.facts.bit_depth
            ),
        );
        row(body, "stored", &o.facts.compression);
        row(
            body,
            "kept from the original",
            &if o.facts.metadata_kept.is_empty() {
                "no metadata".into()
            } else {
                o.facts.metadata_kept.join(", ")
            },
        );
        for n in &o.facts.notes {
            row(body, "note", n);
        }
    } else {
        row(body, "file", "none");
    }
    let t = &report.timings_ms;
    row(
        body,
        "time",
        &format!(
            "{:.0} ms (decode {:.0}, stages {:.0}, encode {:.0}, write {:.0})",
            t.total, t.decode, t.stages, t.encode, t.write
        ),
    );
    row(body, "realskin", report.realskin);
    body.push_str("</table></div></div>");
}

/// One line of a daily index.
#[derive(Debug, Clone)]
pub struct IndexEntry {
    /// The input's relative path.
    pub name: String,
    /// How it ended.
    pub outcome: Outcome,
    /// When (local display is the browser's business; RFC 3339 here).
    pub finished_at: String,
    /// The HTML report, relative to the index.
    pub report_href: Option<String>,
    /// A tiny JPEG thumbnail.
    pub icon: Option<Vec<u8>>,
    /// What happened, in a sentence.
    pub summary: String,
}

/// How many jobs a day's index covers, by outcome, including those beyond its rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayTotals {
    pub all: u64,
    pub processed: u64,
    pub failed: u64,
}

/// The index of one day's jobs in one reports folder: `entries` are the newest (the page
/// stays small however busy the day), `totals` count the whole day.
pub fn day_index(hotfolder: &str, date: &str, entries: &[IndexEntry], totals: DayTotals) -> String {
    let mut body = String::new();
    let shown = if (entries.len() as u64) < totals.all {
        format!(
            " The newest {} are listed; every report is in this folder.",
            entries.len()
        )
    } else {
        String::new()
    };
    let _ = write!(
        body,
        "<h1>realskin · {} · {}</h1><p class=\"dim\">{} images: {} finished, {} failed. Newest first.{shown}</p><table>",
        esc(hotfolder),
        esc(date),
        totals.all,
        totals.processed,
        totals.failed
    );
    for e in entries {
        let icon = e
            .icon
            .as_ref()
            .map(|b| format!("<img src=\"{}\" alt=\"\" style=\"width:64px;height:64px;object-fit:cover;border-radius:6px\">", img_src(b)))
            .unwrap_or_default();
        let name = match &e.report_href {
            Some(href) => format!(
                "<a href=\"{}\">{}</a>",
                esc(&relative_href(href)),
                esc(&e.name)
            ),
            None => esc(&e.name),
        };
        let _ = write!(
            body,
            "<tr><td style=\"width:76px\">{icon}</td><td>{name}<div class=\"dim\">{}</div></td><td><span class=\"badge {o}\">{o}</span><div class=\"dim\">{}</div></td></tr>",
            esc(&e.summary),
            esc(e.finished_at.get(11..19).unwrap_or(&e.finished_at)),
            o = e.outcome.as_str()
        );
    }
    body.push_str("</table>");
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" content=\"{INDEX_CSP}\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>realskin · {}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>\n",
        esc(date)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_to_reports_are_relative_and_percent_encoded() {
        assert_eq!(
            relative_href("javascript:alert(1).realskin.html"),
            "./javascript%3Aalert%281%29.realskin.html"
        );
        assert_eq!(
            relative_href("sub dir/50% off #1?.realskin.html"),
            "./sub%20dir/50%25%20off%20%231%3F.realskin.html"
        );
        assert_eq!(relative_href("é.html"), "./%C3%A9.html");
    }

    #[test]
    fn the_daily_index_has_no_script_and_encoded_links() {
        let page = day_index(
            "hf",
            "2026-12-02",
            &[IndexEntry {
                name: "javascript:alert(1).png".into(),
                outcome: Outcome::Processed,
                finished_at: "2026-12-02T10:00:00Z".into(),
                report_href: Some("javascript:alert(1).realskin.html".into()),
                icon: None,
                summary: String::new(),
            }],
            DayTotals {
                all: 1200,
                processed: 1100,
                failed: 100,
            },
        );
        assert!(page.contains("1200 images: 1100 finished, 100 failed"));
        assert!(page.contains("The newest 1 are listed"));
        assert!(page.contains("href=\"./javascript%3Aalert%281%29.realskin.html\""));
        assert!(page.contains(INDEX_CSP));
        assert!(!page.contains("<script"));
    }

    #[test]
    fn the_report_policy_allows_exactly_its_own_script() {
        // sha256 of "" is the well-known 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=.
        assert_eq!(
            script_hash_source(""),
            "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
        );
        let csp = report_csp();
        assert!(csp.contains(&script_hash_source(SLIDER_JS)));
        let script_src = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .unwrap();
        assert!(!script_src.contains("unsafe"), "{script_src}");
    }
}
