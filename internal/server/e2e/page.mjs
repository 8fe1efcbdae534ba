// Loads the wanwu web page in headless Chromium, uploads a photo, waits for the result, checks the top
// label and saves a screenshot. Usage: node page.mjs URL PHOTO WANT_LABEL SCREENSHOT
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [url, photo, want, shot] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), "wanwu-e2e-profile-"));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run"],
  viewport: { width: 900, height: 900 },
});
let failed = false;
try {
  const page = browser.pages()[0] || await browser.newPage();
  page.on("console", m => console.log("page console:", m.text()));
  await page.goto(url, { waitUntil: "load" });
  await page.setInputFiles("#file", photo);
  await page.waitForSelector("#results[data-done='1'] .prediction", { timeout: 60000 });
  const labels = await page.$$eval(".prediction .label", els => els.map(e => e.textContent));
  const status = await page.textContent("#status");
  console.log("labels:", labels.join(", "));
  console.log("status:", status);
  if (labels.length !== 5) { console.error(`want 5 predictions, got ${labels.length}`); failed = true; }
  if (labels[0] !== want) { console.error(`top label ${labels[0]}, want ${want}`); failed = true; }
  if (!/毫秒/.test(status)) { console.error("no time shown"); failed = true; }
  await page.screenshot({ path: shot, fullPage: true });
  console.log("screenshot:", shot);
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
