// Drives a real headless Chromium through the dashboard and an HTML report.
//
//   node dashboard.mjs <dashboard-url-with-token> <html-report-path> <screenshot-dir>
//
// Prints one JSON object with what it saw; tests/dashboard.rs asserts on it (and on the
// daemon's own state through the API). Exits non-zero with a message when a step fails.
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";
import path from "node:path";

const [url, reportPath, shots] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const seen = { console_errors: [] };

const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1500 } });
  page.on("console", (m) => { if (m.type() === "error") seen.console_errors.push(m.text()); });
  page.on("pageerror", (e) => seen.console_errors.push(String(e)));
  page.on("response", (r) => { if (r.status() >= 400) seen.console_errors.push(`${r.status()} ${r.url()}`); });
  // Any request off this machine would mean the page is not self-contained.
  const foreign = [];
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (!["127.0.0.1", "localhost"].includes(u.hostname) && u.protocol !== "data:" && u.protocol !== "file:") foreign.push(r.url());
  });

  // The token in the address logs the browser in (a cookie) and is dropped from the URL.
  await page.goto(url);
  seen.url_after_login = page.url();
  await page.waitForFunction(() => ["idle", "working"].includes(document.getElementById("state").textContent), null, { timeout: 15000 });
  seen.state_shown = await page.textContent("#state");

  // The job the real daemon processed appears, with its thumbnail.
  await page.waitForSelector(".job", { timeout: 15000 });
  seen.jobs_listed = await page.$$eval(".job .name", (els) => els.map((e) => e.textContent));
  seen.badges = await page.$$eval(".job .badge", (els) => els.map((e) => e.textContent));
  seen.processed_count = await page.textContent("#c-processed");

  // Its detail: the before/after comparison and the tabs.
  await page.click(".job");
  await page.waitForSelector("#detail [data-compare] img", { timeout: 15000 });
  await page.waitForFunction(() => [...document.querySelectorAll("#detail img")].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 15000 });
  seen.compare_sliders = await page.$$eval("#detail [data-compare] input[type=range]", (els) => els.length);
  // Dragging the slider moves the divide.
  await page.$eval("#detail [data-compare] input[type=range]", (el) => { el.value = 25; el.dispatchEvent(new Event("input")); });
  seen.after_width_at_25 = await page.$eval("#detail [data-compare] .after", (el) => el.style.width);
  await page.click("[data-tab=stages]");
  seen.stages_text = await page.textContent("#tab");
  // The faces tab: the mask with the landmarks, and each face's verdict.
  await page.click("[data-tab=faces]");
  seen.faces_text = await page.textContent("#tab");
  // The mask picture loads after the tab is drawn: give it time on a busy machine (a
  // picture that never loads still reads false below).
  await page
    .waitForFunction(() => [...document.querySelectorAll("#tab img.mask")].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 15000 })
    .catch(() => {});
  seen.faces_mask_loaded = await page.$$eval("#tab img.mask", (els) => els.map((i) => i.complete && i.naturalWidth > 0));
  await page.screenshot({ path: path.join(shots, "dashboard-faces.png") });
  await page.click("[data-tab=summary]");
  await page.screenshot({ path: path.join(shots, "dashboard.png") });

  // Pause from the page.
  await page.click("#toggle");
  await page.waitForFunction(() => document.getElementById("state").textContent === "paused", null, { timeout: 10000 });
  seen.state_after_pause = await page.textContent("#state");
  seen.toggle_after_pause = await page.textContent("#toggle");
  await page.screenshot({ path: path.join(shots, "dashboard-paused.png") });
  seen.foreign_requests = [...foreign];

  // The HTML report beside the JSON report, opened as a file.
  const report = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  report.on("pageerror", (e) => seen.console_errors.push("report: " + String(e)));
  // A Content-Security-Policy that blocked the report's own script shows here.
  report.on("console", (m) => { if (m.type() === "error") seen.console_errors.push("report: " + m.text()); });
  report.on("request", (r) => { if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) foreign.push(r.url()); });
  await report.goto(pathToFileURL(reportPath).href);
  await report.waitForLoadState("load");
  seen.report_title = await report.title();
  seen.report_images = await report.$$eval("img", (els) => els.map((i) => ({ src: i.getAttribute("src").slice(0, 40), loaded: i.complete && i.naturalWidth > 0 })));
  seen.report_sliders = await report.$$eval("input[type=range]", (els) => els.length);
  // Its script runs: dragging the slider moves the divide.
  await report.$eval("input[type=range]", (el) => { el.value = 30; el.dispatchEvent(new Event("input")); });
  seen.report_after_width_at_30 = await report.$eval(".compare .after", (el) => el.style.width);
  seen.report_text = (await report.textContent("body")).replace(/\s+/g, " ").slice(0, 4000);
  await report.screenshot({ path: path.join(shots, "report.png"), fullPage: true });
  seen.foreign_requests = [...foreign];
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
