import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../cli/program.js";
import { captureIo, FIXTURES, tempDir } from "../test-helpers.js";
import type { FolioRec, ViewTrace } from "../view/trace.js";

function traceOf(html: string): ViewTrace {
  const m = /<script id="trace" type="application\/json">(.*?)<\/script>/s.exec(html);
  if (!m) throw new Error("no trace in the page");
  return JSON.parse(m[1] as string) as ViewTrace;
}

async function view(args: string[]): Promise<{ code: number; html: string; err: string; trace?: ViewTrace }> {
  const dir = tempDir("foliolab-view-");
  const out = join(dir, "view.html");
  const io = captureIo();
  const code = await main(["view", ...args, "--out", out], io);
  let html = "";
  try {
    html = readFileSync(out, "utf8");
  } catch {
    html = "";
  }
  return { code, html, err: io.stderr.join("\n"), ...(html ? { trace: traceOf(html) } : {}) };
}

describe("foliolab view", () => {
  it("steps through a scenario: a page unmapped inside a 64K folio makes it partially mapped and queues it for deferred split", async () => {
    const r = await view([join(FIXTURES, "view-partial.json")]);
    expect(r.code, r.err).toBe(0);
    expect(r.html).toMatch(/^<!doctype html>/);
    // Self-contained: no external script, style or image.
    expect(r.html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\//);
    const t = r.trace as ViewTrace;
    expect(t.strategies.map((s) => s.name)).toEqual(["per-page", "folio-batch"]);
    expect(t.ops.map((o) => o.op)).toEqual(["mmap", "madvise", "write", "munmap", "munmap"]);
    for (const s of t.strategies) {
      const written = s.steps[2];
      expect(written?.folios.classes).toEqual([
        expect.objectContaining({ order: 4, count: 4, mapcount: 16, refcount: 16, nrPagesMapped: 16, flags: "A" }),
      ]);
      const after = s.steps[3];
      const recs = (after?.folios.list ?? []).map((i) => t.folios[i] as FolioRec);
      const partial = recs.filter((f) => f[6].includes("P"));
      expect(partial).toHaveLength(1);
      const [pfn, order, mapcount, refcount, nrMapped, , flags] = partial[0] as FolioRec;
      expect([order, mapcount, refcount, nrMapped]).toEqual([4, 15, 15, 15]);
      expect(flags).toContain("D");
      expect(after?.deferred).toEqual({ count: 1, folios: [pfn] });
      // The VMA is split around the hole: 17 pages (a whole folio and the first page of the next), 46 pages.
      const vmas = after?.procs[0]?.vmas.map((i) => t.vmas[i]) ?? [];
      expect(vmas.map((v) => (v ? v.end - v.start : 0))).toEqual([17, 46]);
      const first = t.layouts[vmas[0]?.layout ?? -1];
      expect(first?.runs.map((run) => [run[1], run[2], run[4]])).toEqual([
        [16, "P", 4],
        [1, "P", 4],
      ]);
      // The gather flushed the one page.
      expect(after?.gather.filter((g) => g.t === "flush")).toEqual([expect.objectContaining({ items: 1, pages: 1 })]);
      expect(after?.counters).toContainEqual(["mthp.hugepages-64kB.nr_anon_partially_mapped", 0, 1]);
      // The final munmap empties the queue and frees every folio.
      expect(s.steps[4]?.deferred.count).toBe(0);
      expect(s.steps[4]?.folios.total).toBe(0);
    }
    // Where they part: the munmap of the page (per-page touches one more struct page line), and at the
    // final munmap per-page queues the three whole folios for deferred split, folio-batch none.
    expect(t.firstDifference).toBe(3);
    const [pp, fb] = t.strategies;
    const splitDeferred = (s: typeof pp) =>
      s?.steps[4]?.counters.find((c) => c[0] === "mthp.hugepages-64kB.split_deferred") ?? null;
    expect(splitDeferred(pp)).toEqual(["mthp.hugepages-64kB.split_deferred", 1, 4]);
    expect(splitDeferred(fb)).toBeNull();
    expect(t.differences[4]).toEqual(expect.arrayContaining(["cost events", "mmu_gather", "counters"]));
    const zaps = (s: typeof pp) => s?.steps[4]?.gatherTotals;
    expect(zaps(pp)).toMatchObject({ zapCalls: 63, zapPages: 63, bySize: { 1: 63 } });
    expect(zaps(fb)).toMatchObject({ zapPages: 63, bySize: { 1: 1, 14: 1, 16: 3 } });
    expect(r.err).toContain("first difference at step 3");
    // ...and in words.
    expect(pp?.steps[3]?.story).toEqual(
      expect.arrayContaining([
        "1 folio became partially mapped (PG_partially_mapped: pfn 8208)".replace(
          "8208",
          String(t.folios.find((f) => f[6].includes("P"))?.[0]),
        ),
        expect.stringMatching(/^1 folio joined the deferred split queue/),
      ]),
    );
    expect(pp?.steps[4]?.story.join("\n")).toMatch(/deferred_split_enqueue 3 during the op: 3 folios were queued/);
    expect(fb?.steps[4]?.story.join("\n")).not.toMatch(/deferred_split_enqueue/);
    expect(fb?.steps[4]?.story[0]).toMatch(
      /^zapped 63 present PTEs in 5 zap_present_ptes batches \(1 x 1, 1 x 14, 3 x 16 PTEs\)/,
    );
  });

  it("aggregates a 1 GiB mapping: few runs, folios by class, every flush of the munmap", async () => {
    const r = await view(["pmfb/munmap", "-f", "64K", "--size", "1G", "-s", "folio-batch"]);
    expect(r.code, r.err).toBe(0);
    const t = r.trace as ViewTrace;
    expect(t.strategies).toHaveLength(1);
    expect(t.firstDifference).toBeNull();
    const written = t.strategies[0]?.steps.find((s) => s.folios.total > 0);
    expect(written?.folios.list).toBeNull();
    expect(written?.folios.classes).toEqual([expect.objectContaining({ order: 4, count: 16384, mapcount: 16 })]);
    const layout = t.layouts[t.vmas[written?.procs[0]?.vmas[0] ?? -1]?.layout ?? -1];
    expect(layout?.pages).toBe(262144);
    expect(layout?.block).toBeGreaterThan(1);
    expect(layout?.runs.length).toBeLessThanOrEqual(2048);
    const munmap = t.strategies[0]?.steps[t.ops.length - 1];
    expect(munmap?.gatherTotals.zapPages).toBe(262144);
    expect(munmap?.gatherTotals.bySize).toEqual({ 16: 16384 });
    const flushes = munmap?.gather.filter((g) => g.t === "flush") ?? [];
    expect(flushes).toHaveLength(munmap?.gatherTotals.flushes ?? -1);
    expect(flushes.reduce((n, f) => n + (f.t === "flush" ? f.pages : 0), 0)).toBe(262144);
    expect(r.html.length).toBeLessThan(2_000_000);
  });

  it("--range draws a part of a big mapping at full resolution", async () => {
    const r = await view(["pmfb/munmap", "-f", "4K", "--size", "1G", "-s", "per-page", "--range", "0x10000010000+64K"]);
    expect(r.code, r.err).toBe(0);
    const t = r.trace as ViewTrace;
    expect(t.range).toEqual([0x10000010000 / 4096, 0x10000020000 / 4096]);
    const written = t.strategies[0]?.steps[2];
    const vma = t.vmas[written?.procs[0]?.vmas[0] ?? -1];
    expect([vma?.start, vma?.end]).toEqual(t.range);
    const layout = t.layouts[vma?.layout ?? -1];
    expect(layout?.block).toBe(1);
    expect(layout?.runs.map((x) => [x[1], x[2], x[4]])).toEqual(Array.from({ length: 16 }, () => [1, "P", 0]));
    expect(written?.folios.list).toHaveLength(16);
    const bad = await view(["pmfb/munmap", "--range", "0x1001+4K"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--range: "0x1001\+4K" must be page-aligned/);
  });

  it("is deterministic: the same scenario and seed give the same page", async () => {
    const a = await view(["exit/mixed-orders", "--seed", "3"]);
    const b = await view(["exit/mixed-orders", "--seed", "3"]);
    expect(a.code, a.err).toBe(0);
    expect(a.html).toBe(b.html);
  });

  it("refuses bad input by name with exit 2, no stack trace", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["no/such-workload"], /"no\/such-workload" is neither a scenario file nor a workload id/],
      [[join(FIXTURES, "kernel-64k-partial.json"), "--seed", "x"], /--seed/],
      [["pmfb/munmap", "--size", "3Q"], /--size.*"3Q" is not a size/],
    ];
    for (const [args, pattern] of cases) {
      const r = await view(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err).toMatch(pattern);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
    const dir = tempDir("foliolab-view-bad-");
    const bad = join(dir, "bad.json");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(bad, JSON.stringify({ name: "bad", ops: [{ op: "mmap", id: "a", size: "lots", kind: "anon" }] }));
    const r = await view([bad]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad\.json: ops\[0\] \(mmap\): .*size/);
    writeFileSync(bad, "{ nope");
    const r2 = await view([bad]);
    expect(r2.code).toBe(2);
    expect(r2.err).toMatch(/not valid JSON/);
    // A strategy that does not load is a failure (exit 1), as in bench and run.
    const r3 = await view([join(FIXTURES, "view-partial.json"), "-s", "no-such-strategy"]);
    expect(r3.code).toBe(1);
    expect(r3.err).toMatch(/strategy "no-such-strategy" failed to load/);
  });

  it("a strategy that breaks an invariant: the page shows where it failed, exit 1", async () => {
    const r = await view([join(FIXTURES, "view-partial.json"), "-s", `per-page,${join(FIXTURES, "breaks-invariant.mjs")}`]);
    expect(r.code).toBe(1);
    const t = r.trace as ViewTrace;
    const broken = t.strategies[1];
    expect(broken?.error?.kind).toBe("InvariantViolation");
    expect(broken?.steps.length).toBe(broken?.error?.step);
    expect(r.err).toMatch(/FAILED at step \d+: InvariantViolation/);
  });
});
