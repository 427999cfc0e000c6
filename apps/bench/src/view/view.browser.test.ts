/// <reference lib="dom" />
/**
 * `foliolab view` in a real browser: Debian's chromium, headless, driven by playwright-core,
 * loading the page from file:// with a fresh profile. Steps with the keyboard and the slider,
 * checks the folio state at a known step and the painted pixels of the page-table strip.
 *
 * Needs /usr/bin/chromium (`apt-get install -y chromium`); without it the test is skipped and says why.
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { main } from "../program.js";
import { captureIo, FIXTURES, tempDir } from "../test-helpers.js";

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

function rgb(css: string): [number, number, number] {
  const m = /rgb\((\d+), (\d+), (\d+)\)/.exec(css);
  if (!m) throw new Error(`not an rgb colour: ${css}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

describe("foliolab view in headless Chromium", () => {
  if (!HAVE_CHROMIUM) {
    it.skip(`skipped: no Chromium at ${CHROMIUM} (install Debian's package: apt-get install -y chromium)`, () => {});
    return;
  }

  it("loads from file://, steps by keyboard and slider, shows the folio state at a known step", async () => {
    const { chromium } = await import("playwright-core");
    const dir = tempDir("foliolab-view-browser-");
    const out = join(dir, "view.html");
    const io = captureIo();
    expect(await main(["view", join(FIXTURES, "view-partial.json"), "--out", out], io), io.text()).toBe(0);
    const ctx = await chromium.launchPersistentContext(join(dir, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1400, height: 1000 },
      offline: true,
    });
    try {
      const page = await ctx.newPage();
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
      await ctx.close();
    }
  });
});
