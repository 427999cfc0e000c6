/// <reference lib="dom" />
/**
 * report.html as people read it, in Debian's Chromium (headless, playwright-core, file://, a
 * fresh profile): a FAILED cell is a gap and a mark, never a line through it, and its bar is
 * shown; one fixed colour per event kind, apart from the strategy colours; identical lines both
 * visible; wall time not shaded like a regression; the headline first; the model's costs by
 * event kind; the kernel drawn; the command that regenerates each cell.
 *
 * Needs /usr/bin/chromium (`apt-get install -y chromium`); without it the test is skipped and says why.
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { tempDir } from "../test-helpers.js";
import { FAILED_CELL, reportFixture } from "./report-fixture.js";
import { KERNEL_COLOR, STRATEGY_COLORS } from "./svg.js";
import { writeOutputs } from "./write.js";

const CHROMIUM = process.env.FOLIOLAB_CHROMIUM ?? "/usr/bin/chromium";
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

type Rgb = [number, number, number];
function hexToRgb(hex: string): Rgb {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}
function cssRgb(css: string): Rgb {
  if (css.startsWith("#")) return hexToRgb(css);
  const m = /rgb\((\d+), (\d+), (\d+)\)/.exec(css);
  if (!m) throw new Error(`not a colour: ${css}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}
function dist(a: Rgb, b: Rgb): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

/** Count pixels of each colour in a PNG, decoded by the page; `columns` limits to an x range. */
async function countColours(
  page: import("playwright-core").Page,
  png: Buffer,
  colours: Rgb[],
  columns?: [number, number],
): Promise<number[]> {
  return page.evaluate(
    async ({ b64, colours, columns }) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const c = document.createElement("canvas");
      c.width = img.width;
      c.height = img.height;
      const g = c.getContext("2d") as CanvasRenderingContext2D;
      g.drawImage(img, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      const hits = colours.map(() => 0);
      for (let p = 0; p < d.length; p += 4) {
        const x = (p / 4) % c.width;
        if (columns && (x < columns[0] || x > columns[1])) continue;
        colours.forEach(([r, gg, b], k) => {
          if (
            Math.abs((d[p] as number) - r) < 14 &&
            Math.abs((d[p + 1] as number) - gg) < 14 &&
            Math.abs((d[p + 2] as number) - b) < 14
          )
            hits[k] = (hits[k] ?? 0) + 1;
        });
      }
      return hits;
    },
    { b64: png.toString("base64"), colours, columns },
  );
}

describe("report.html as people read it, in headless Chromium", () => {
  if (!HAVE_CHROMIUM) {
    it.skip(`skipped: no Chromium at ${CHROMIUM} (install Debian's package: apt-get install -y chromium)`, () => {});
    return;
  }

  it("gaps and marks for FAILED cells, fixed kind colours, visible equal lines, neutral wall time, headline, breakdown, kernel, commands", async () => {
    const { chromium } = await import("playwright-core");
    const res = reportFixture();
    const dir = tempDir("foliolab-report-browser-");
    writeOutputs(dir, res);
    const ctx = await chromium.launchPersistentContext(join(dir, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1400, height: 1000 },
      offline: true,
    });
    try {
      const page = await ctx.newPage();
      await page.goto(pathToFileURL(join(dir, "report.html")).href);
      const [ppColour, copyColour] = [STRATEGY_COLORS[0] as string, STRATEGY_COLORS[1] as string].map(hexToRgb) as [Rgb, Rgb];

      // The headline comes first, before the run's metadata.
      const firstBlock = page.locator("h1 + *");
      expect(await firstBlock.getAttribute("class")).toBe("headline");
      expect(await firstBlock.textContent()).toMatch(
        /per-page-copy: 1\.00x the modelled time of per-page \(geometric mean over \d+ cells\).*1 FAILED/,
      );

      const munmap = page.locator("section#w-pmfb-munmap");
      const line = munmap.locator('svg[data-chart$="line chart"]');
      // FAILED: no line through the 64K cell; the strategy's line breaks there and a mark stands on the axis.
      const copyLines = line.locator('polyline.series[data-strategy="per-page-copy"]');
      expect(await copyLines.count()).toBe(1);
      const pts = ((await copyLines.getAttribute("points")) ?? "").split(" ");
      expect(pts).toHaveLength(2); // 2M-PTE and 2M-PMD; 4K is a lone point before the gap
      const mark = line.locator(`g.failed-mark[data-strategy="per-page-copy"][data-folio="${FAILED_CELL.folio}"]`);
      expect(await mark.count()).toBe(1);
      expect(await mark.locator("title").textContent()).toContain("FAILED");
      // In pixels: between 4K and 64K (the gap) the copy's colour only appears as the mark near the axis,
      // while per-page's line, drawn wider underneath, is there.
      await line.scrollIntoViewIfNeeded();
      const lbox = await line.boundingBox();
      const xs = await line.evaluate((svg) => {
        const texts = Array.from(svg.querySelectorAll("text")).filter((t) => ["4K", "64K"].includes(t.textContent ?? ""));
        const r = svg.getBoundingClientRect();
        return texts.map((t) => t.getBoundingClientRect().x + t.getBoundingClientRect().width / 2 - r.x);
      });
      const [x4k, x64k] = xs as [number, number];
      const png = await line.screenshot();
      const scale = (lbox?.width ?? 680) / 680;
      const gap: [number, number] = [Math.round(x4k + 12 * scale), Math.round(x64k - 14 * scale)];
      const [ppInGap, copyInGap] = await countColours(page, png, [ppColour, copyColour], gap);
      expect(ppInGap, "per-page's line crosses the 4K-64K interval").toBeGreaterThan(40);
      expect(copyInGap, "no per-page-copy line through its FAILED 64K cell").toBeLessThan(5);

      // The kernel is drawn: a dashed grey line through the measured points.
      const kernel = line.locator("polyline.kernel");
      expect(await kernel.count()).toBe(1);
      const [kernelPixels] = await countColours(page, png, [hexToRgb(KERNEL_COLOR)]);
      expect(kernelPixels).toBeGreaterThan(60);

      // Identical lines stay visible: in a workload without failures, per-page and its copy have the same
      // values, and both colours are on screen.
      const partial = page.locator('section#w-partial-unmap-1-per-folio svg[data-chart$="line chart"]');
      await partial.scrollIntoViewIfNeeded();
      const [ppHits, copyHits] = await countColours(page, await partial.screenshot(), [ppColour, copyColour]);
      expect(ppHits, "the line underneath shows around the equal one on top").toBeGreaterThan(200);
      expect(copyHits).toBeGreaterThan(200);

      // The failed bar is shown, hatched, where the cell belongs.
      const bars = munmap.locator('svg[data-chart$="stacked events"]');
      const failedBar = bars.locator(`rect.bar.failed[data-strategy="per-page-copy"][data-folio="${FAILED_CELL.folio}"]`);
      expect(await failedBar.count()).toBe(1);
      await bars.scrollIntoViewIfNeeded();
      const fb = await failedBar.boundingBox();
      expect(fb?.height ?? 0).toBeGreaterThan(150);
      const [hatch] = await countColours(page, await bars.screenshot(), [hexToRgb("#c0392b")]);
      expect(hatch).toBeGreaterThan(100);

      // One fixed colour per event kind: the same kind has the same colour in every chart, different kinds
      // differ, and none is close to a strategy's colour.
      const legend = await page
        .locator("rect.kind")
        .evaluateAll((els) => els.map((e) => [e.getAttribute("data-kind") ?? "", getComputedStyle(e).fill]));
      const byKind = new Map<string, Set<string>>();
      for (const [k, c] of legend) byKind.set(k as string, (byKind.get(k as string) ?? new Set()).add(c as string));
      expect(byKind.size).toBeGreaterThan(5);
      for (const [k, cs] of byKind) expect(cs.size, `${k} has one colour`).toBe(1);
      const kindColours = [...byKind].map(([k, cs]) => [k, cssRgb([...cs][0] as string)] as const);
      for (const [k, c] of kindColours) {
        for (const s of STRATEGY_COLORS) expect(dist(c, hexToRgb(s)), `${k} apart from strategy colour ${s}`).toBeGreaterThan(40);
      }
      for (let i = 0; i < kindColours.length; i++)
        for (let j = i + 1; j < kindColours.length; j++)
          expect(dist(kindColours[i]?.[1] as Rgb, kindColours[j]?.[1] as Rgb), "kinds differ").toBeGreaterThan(20);

      // Wall time is not shaded like a regression, though the copy's 4K wall time is 3x per-page's.
      const wall = munmap.locator('table[data-metric="wall"]');
      expect(await wall.textContent()).toContain("(3.00x)");
      expect(await wall.locator("td.worse, td.better").count()).toBe(0);
      const wallBg = await wall
        .locator("td.advisory")
        .first()
        .evaluate((e) => getComputedStyle(e).backgroundColor);
      expect(wallBg).toBe("rgba(0, 0, 0, 0)");
      // ...whereas the deterministic tables are.
      expect(await munmap.locator('table[data-metric="modelled"] td.failed').textContent()).toBe("FAILED");

      // The model's costs by event kind, and the command for each cell.
      const breakdown = munmap.locator("details.breakdown");
      await breakdown.locator("summary").click();
      expect(await breakdown.locator("tr").count()).toBeGreaterThan(10);
      expect(await breakdown.textContent()).toMatch(/struct_page_lines/);
      const regen = munmap.locator("details.regenerate");
      await regen.locator("summary").click();
      expect(await regen.textContent()).toContain("foliolab bench -s per-page -w pmfb/munmap -f 64K --size 8M --seed 1");
      expect(await regen.textContent()).toMatch(/-w pmfb\/munmap -f 64K --size 8M --seed 1 \(FAILED\)/);
      const cellTitle = await munmap.locator('table[data-metric="modelled"] td').first().getAttribute("title");
      expect(cellTitle).toMatch(/^foliolab bench -s per-page -w pmfb\/munmap -f 4K/);

      const shot = join(dir, "report.png");
      await page.screenshot({ path: shot, fullPage: true });
      expect(existsSync(shot)).toBe(true);
      if (process.env.FOLIOLAB_KEEP_SCREENSHOT) console.log(`screenshot: ${shot}`);
    } finally {
      await ctx.close();
    }
  });
});
