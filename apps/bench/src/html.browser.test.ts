/// <reference lib="dom" />
/**
 * The HTML report in a real browser: Debian's chromium, headless, driven by playwright-core.
 * Checks that every chart is an SVG with a size on the page and that its pixels, as Chromium
 * paints them, hold the strategies' line colours and the stacked bars.
 *
 * Needs /usr/bin/chromium (`apt-get install -y chromium`); without it the test is skipped
 * and says why.
 */

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { STRATEGY_COLORS } from "./report/svg.js";
import { writeOutputs } from "./report/write.js";
import type { ResultsFile } from "./results.js";
import { HAVE_CHROMIUM, hexToRgb, launchChromium, NO_CHROMIUM } from "./test-browser.js";
import { GOLDEN, tempDir } from "./test-helpers.js";

describe("report.html in headless Chromium", () => {
  if (!HAVE_CHROMIUM) {
    it.skip(NO_CHROMIUM, () => {});
    return;
  }

  it("renders every chart", async () => {
    const res = JSON.parse(readFileSync(join(GOLDEN, "results.json"), "utf8")) as ResultsFile;
    const dir = tempDir("foliolab-html-");
    writeOutputs(dir, res);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(pathToFileURL(join(dir, "report.html")).href);
      const charts = page.locator("section.workload svg[data-chart]");
      const workloads = new Set(res.runs.map((r) => r.workload)).size;
      expect(await charts.count()).toBe(2 * workloads);
      const strategies = res.metadata.matrix.strategies;
      for (let i = 0; i < (await charts.count()); i++) {
        const chart = charts.nth(i);
        await chart.scrollIntoViewIfNeeded();
        const box = await chart.boundingBox();
        expect(box?.width ?? 0).toBeGreaterThan(300);
        expect(box?.height ?? 0).toBeGreaterThan(200);
        const label = (await chart.getAttribute("data-chart")) ?? "";
        const png = await chart.screenshot();
        // Decode the screenshot in the page and count painted pixels by colour.
        const colours = label.includes("line chart") ? STRATEGY_COLORS.slice(0, strategies.length).map(hexToRgb) : [];
        const stats = await page.evaluate(
          async ({ b64, colours }) => {
            const img = new Image();
            img.src = `data:image/png;base64,${b64}`;
            await img.decode();
            const c = document.createElement("canvas");
            c.width = img.width;
            c.height = img.height;
            const ctx = c.getContext("2d") as CanvasRenderingContext2D;
            ctx.drawImage(img, 0, 0);
            const d = ctx.getImageData(0, 0, c.width, c.height).data;
            let painted = 0;
            let saturated = 0;
            const hits = colours.map(() => 0);
            for (let p = 0; p < d.length; p += 4) {
              const r = d[p] as number;
              const g = d[p + 1] as number;
              const b = d[p + 2] as number;
              if (r < 245 || g < 245 || b < 245) painted++;
              if (Math.max(r, g, b) - Math.min(r, g, b) > 60) saturated++;
              colours.forEach(([cr, cg, cb], k) => {
                if (Math.abs(r - cr) < 12 && Math.abs(g - cg) < 12 && Math.abs(b - cb) < 12) hits[k] = (hits[k] ?? 0) + 1;
              });
            }
            return { painted, saturated, hits, total: d.length / 4 };
          },
          { b64: png.toString("base64"), colours },
        );
        expect(stats.painted, `${label}: painted pixels`).toBeGreaterThan(stats.total * 0.02);
        // One folio size gives points without lines (file/shared-dirty-munmap): fewer pixels.
        const lines = await chart.locator("polyline.series").count();
        const bars = await chart.locator("rect.bar").count();
        const minColoured = lines > 0 || bars > 0 ? 500 : 100;
        expect(stats.saturated, `${label}: coloured pixels (lines, points or bars)`).toBeGreaterThan(minColoured);
        // The last strategy is drawn on top: its colour must be on screen.
        if (colours.length > 0) expect(stats.hits[colours.length - 1], `${label}: line colour`).toBeGreaterThan(30);
        if (
          label.includes("line chart") &&
          res.runs.filter((r) => r.workload === label.split(" ")[0]).length > strategies.length
        ) {
          expect(lines, `${label}: one line per strategy`).toBe(strategies.length);
        }
      }
      await page.screenshot({ path: join(dir, "report.png"), fullPage: true });
      expect(existsSync(join(dir, "report.png"))).toBe(true);
      process.env.FOLIOLAB_LAST_SCREENSHOT = join(dir, "report.png");
    } finally {
      await browser.close();
    }
  });
});
