// The dashboard's Fleet panel in a real headless Chromium.
//
//   node fleet.mjs <dashboard-url-with-token> <screenshot-dir>
//
// Prints one JSON object with the rows the panel shows; tests/fleet.rs asserts on it.
import { chromium } from "playwright-core";
import path from "node:path";

const [url, shots] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const seen = { console_errors: [] };
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (e) => seen.console_errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") seen.console_errors.push(m.text()); });
  await page.goto(url);
  await page.waitForSelector("#fleet-box:not([hidden]) #fleet tr:nth-child(3)", { timeout: 15000 });
  seen.rows = await page.$$eval("#fleet tr", (rows) => rows.slice(1).map((r) => [...r.children].map((c) => c.textContent)));
  await page.screenshot({ path: path.join(shots, "dashboard-fleet.png"), fullPage: true });
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
