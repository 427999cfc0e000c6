/// <reference lib="dom" />
/**
 * What people see, in a real browser: Debian's Chromium, headless, driven by playwright-core,
 * pages loaded from file:// in a fresh profile (one browser for both tests).
 *
 * - `foliolab view`: loads, steps with the keyboard and the slider, shows the right folio state at a
 *   known step, the first difference, zoom, and the strip's painted colours;
 * - report.html as people read it: a FAILED cell is a gap and a mark, never a line through it, and its
 *   bar is shown; one fixed colour per event kind, apart from the strategy colours; identical lines both
 *   visible; wall time not shaded like a regression; the headline first; the model's costs by event kind;
 *   the kernel drawn; the command that regenerates each cell.
 *
 * Needs /usr/bin/chromium (`apt-get install -y chromium`); without it the tests are skipped and say why.
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "./cli/program.js";
import { FAILED_CELL, reportFixture } from "./report/report-fixture.js";
import { KERNEL_COLOR, STRATEGY_COLORS } from "./report/svg.js";
import { writeOutputs } from "./report/write.js";
import { HAVE_CHROMIUM, hexToRgb, launchChromium, NO_CHROMIUM, type Rgb } from "./test-browser.js";
import { captureIo, FIXTURES, tempDir } from "./test-helpers.js";

function rgb(css: string): [number, number, number] {
  const m = /rgb\((\d+), (\d+), (\d+)\)/.exec(css);
  if (!m) throw new Error(`not an rgb colour: ${css}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
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

describe("in headless Chromium", () => {
  if (!HAVE_CHROMIUM) {
    it.skip(NO_CHROMIUM, () => {});
    return;
  }
  let ctx: BrowserContext;
  beforeAll(async () => {
    ctx = await launchChromium();
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it("foliolab view loads from file://, steps by keyboard and slider, shows the folio state at a known step", async () => {
    const dir = tempDir("foliolab-view-browser-");
    const out = join(dir, "view.html");
    const io = captureIo();
    expect(await main(["view", join(FIXTURES, "view-partial.json"), "--out", out], io), io.text()).toBe(0);
    const page = await ctx.newPage();
    try {
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      await page.goto(pathToFileURL(out).href);
      await page.waitForSelector("body[data-ready='1']");
      expect(await page.getAttribute("body", "data-step")).toBe("0");
      const cols = page.locator("#cols .col");
      expect(await cols.count()).toBe(2);
      const pp = page.locator('.col[data-strategy="per-page"]');

      // Three steps with the keyboard: mmap, madvise, write; then the munmap of one page.
      for (let i = 0; i < 3; i++) await page.keyboard.press("ArrowRight");
      expect(await page.getAttribute("body", "data-step")).toBe("3");
      expect(await page.locator("#oplabel").textContent()).toContain("munmap id=a offset=68K length=4K");
      const partial = pp.locator("tr.folio[data-partial='1']");
      expect(await partial.count()).toBe(1);
      expect(await partial.getAttribute("data-order")).toBe("4");
      expect(await partial.getAttribute("data-mapcount")).toBe("15");
      expect(await partial.getAttribute("data-refcount")).toBe("15");
      expect(await partial.getAttribute("data-nr-pages-mapped")).toBe("15");
      expect(await partial.getAttribute("data-deferred")).toBe("1");
      expect(await pp.locator("tr.folio[data-partial='0'][data-mapcount='16']").count()).toBe(3);
      expect(await pp.locator(".dsq-count").textContent()).toBe("1");
      expect(await pp.locator(".gather-s").textContent()).toContain("flush #1");
      // The first step where the strategies differ is marked, in both columns and in the op list.
      expect(await page.locator(".diverged.first").count()).toBe(2);
      expect(await page.locator("#oplist li.first").getAttribute("data-step")).toBe("3");

      // Mapping a's strip: its two VMAs around the one-page hole. 16 pages of the first folio, then the
      // partially mapped folio's page, the hole (no VMA), its other 14 pages, then two whole folios.
      const partialPfn = Number(await partial.getAttribute("data-pfn"));
      expect(await pp.locator(".vlabel").first().textContent()).toContain("in 2 VMAs, 4K unmapped between");
      const strip = pp.locator("svg.strip").first();
      const runs = strip.locator("rect.run");
      const shape = await runs.evaluateAll((els) =>
        els.map((e) => [Number((e as SVGElement).dataset.folio), Number((e as SVGElement).dataset.pages)]),
      );
      expect(shape.map(([, n]) => n)).toEqual([16, 1, 14, 16, 16]);
      expect(shape[1]?.[0]).toBe(partialPfn);
      expect(shape[2]?.[0]).toBe(partialPfn);
      expect(await strip.locator("rect.hole").count()).toBe(1);
      const fills = await runs.evaluateAll((els) => els.map((e) => getComputedStyle(e).fill));
      const colours = [fills[0] as string, fills[1] as string].map(rgb);
      expect(fills[1]).toBe(fills[2]);
      expect(colours[0]).not.toEqual(colours[1]);
      const png = await strip.screenshot();
      const hits = await page.evaluate(
        async ({ b64, colours }) => {
          const img = new Image();
          img.src = `data:image/png;base64,${b64}`;
          await img.decode();
          const c = document.createElement("canvas");
          c.width = img.width;
          c.height = img.height;
          const g = c.getContext("2d") as CanvasRenderingContext2D;
          g.drawImage(img, 0, 0);
          const d = g.getImageData(0, 0, c.width, c.height).data;
          const n = colours.map(() => 0);
          for (let p = 0; p < d.length; p += 4) {
            colours.forEach(([r, gg, b], k) => {
              if (
                Math.abs((d[p] as number) - r) < 10 &&
                Math.abs((d[p + 1] as number) - gg) < 10 &&
                Math.abs((d[p + 2] as number) - b) < 10
              )
                n[k] = (n[k] ?? 0) + 1;
            });
          }
          return n;
        },
        { b64: png.toString("base64"), colours },
      );
      // Painted in proportion: the first folio's 16 pages against the partially mapped folio's 15.
      expect(hits[1] ?? 0).toBeGreaterThan(500);
      expect((hits[0] ?? 0) / (hits[1] ?? 1)).toBeGreaterThan(0.9);
      expect((hits[0] ?? 0) / (hits[1] ?? 1)).toBeLessThan(1.25);

      // Clicking the partially mapped folio's run selects its row.
      await runs.nth(1).click();
      expect(await pp.locator("tr.folio.selected").getAttribute("data-pfn")).toBe(String(partialPfn));

      // Zoom 2x around the middle: pages 16..47 are in view (the axis starts 16 pages in) and the one-page
      // run is drawn twice as wide; pan right: pages 32..63, the two whole folios.
      const stripNow = () => pp.locator("svg.strip").first();
      const w0 = (await runs.nth(1).boundingBox())?.width ?? 0;
      await page.keyboard.press("+");
      expect(await page.locator("#zoomlabel").textContent()).toContain("zoom 2x");
      expect(await pp.locator(".axis").first().textContent()).toMatch(/^0x10000010000/);
      const zoomed = stripNow().locator("rect.run");
      expect(await zoomed.count()).toBe(3);
      const w1 = (await zoomed.first().boundingBox())?.width ?? 0;
      expect(w1 / w0).toBeGreaterThan(1.8);
      expect(w1 / w0).toBeLessThan(2.2);
      await page.keyboard.press("]");
      expect(await stripNow().locator("rect.run").count()).toBe(2);
      await page.keyboard.press("0");

      // The slider: the last step, the final munmap; per-page zapped 63 PTEs one by one.
      await page.locator("#slider").fill("4");
      expect(await page.getAttribute("body", "data-step")).toBe("4");
      expect(await pp.locator(".gather-s").textContent()).toContain("63 zap_present_ptes batches");
      expect(await page.locator('.col[data-strategy="folio-batch"] .gather-s').textContent()).toContain(
        "batches of PTEs: 1 of 1, 1 of 14, 3 of 16",
      );
      expect(await pp.locator(".dsq-count").textContent()).toBe("0");
      // Home, then d: back to the first difference.
      await page.keyboard.press("Home");
      expect(await page.getAttribute("body", "data-step")).toBe("0");
      await page.keyboard.press("d");
      expect(await page.getAttribute("body", "data-step")).toBe("3");

      await page.screenshot({ path: join(dir, "view.png"), fullPage: true });
      expect(existsSync(join(dir, "view.png"))).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it("report.html: gaps and marks for FAILED cells, fixed kind colours, visible equal lines, neutral wall time, headline, breakdown, kernel, commands", async () => {
    const res = reportFixture();
    const dir = tempDir("foliolab-report-browser-");
    writeOutputs(dir, res);
    const page = await ctx.newPage();
    try {
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
      expect(await breakdown.textContent()).toMatch(/refcount_atomic/);
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
      await page.close();
    }
  });
});
