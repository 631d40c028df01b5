// Opens a page of `gan report` or `gan serve` in headless Chromium (Debian's, driven by
// playwright-core) and prints what the Rust test asserts on, as one JSON line:
// console errors, uncaught exceptions and failed requests; element counts; how many pixels
// each chart canvas has drawn; and the results of the requested interactions.
//
// usage: node check.cjs SPEC_JSON, with SPEC = {url, screenshot, count: [selectors],
//   slider: bool, append: {file, text, selector}}  (PLAYWRIGHT_DIR: where npm put it)
"use strict";
const path = require("path");
const { chromium } = require(path.join(process.env.PLAYWRIGHT_DIR, "node_modules", "playwright-core"));

(async () => {
  const spec = JSON.parse(process.argv[2]);
  const out = { errors: [], counts: {}, ink: [], title: null };
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    // this machine has no network: keep Chromium from reaching for Google's services
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on("console", m => { if (m.type() === "error") out.errors.push("console: " + m.text()); });
    page.on("pageerror", e => out.errors.push("exception: " + e.message));
    page.on("requestfailed", r => out.errors.push("request failed: " + r.url() + " " + (r.failure() || {}).errorText));
    page.on("response", r => { if (r.status() >= 400) out.errors.push("HTTP " + r.status() + ": " + r.url()); });
    await page.goto(spec.url, { waitUntil: "load" });
    await page.waitForSelector("body[data-rendered=true]", { timeout: 20000 });
    out.title = await page.title();
    for (const sel of spec.count || []) out.counts[sel] = await page.locator(sel).count();
    // every chart canvas must have drawn something: count its non-transparent pixels
    out.ink = await page.evaluate(() => Array.from(document.querySelectorAll(".uplot canvas")).map(c => {
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
      return n;
    }));
    out.images_loaded = await page.evaluate(() => Array.from(document.images).every(i => i.complete && i.naturalWidth > 0));
    if (spec.slider) {
      const label = () => page.locator("#timeline .step").textContent();
      const last = await label();
      await page.locator("#frame").fill("0");
      out.slider = { last, first: await label(),
                     first_src: await page.locator("#timeline img").getAttribute("src").catch(() => null) };
    }
    if (spec.screenshot) await page.screenshot({ path: spec.screenshot, fullPage: true });
    if (spec.append) {
      // live refresh: grow a log on disk and wait for the page to draw the new points
      const sel = spec.append.selector;
      const before = Number(await page.locator(sel).getAttribute("data-points"));
      require("fs").appendFileSync(spec.append.file, spec.append.text);
      await page.waitForFunction(([s, b]) => Number(document.querySelector(s).dataset.points) > b,
                                 [sel, before], { timeout: 15000 });
      const after = Number(await page.locator(sel).getAttribute("data-points"));
      out.refresh = { before, after };
      if (spec.screenshot_after) await page.screenshot({ path: spec.screenshot_after, fullPage: true });
    }
  } catch (e) {
    out.errors.push("check: " + e.message);
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(out));
})();
