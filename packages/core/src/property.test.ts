import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { observe } from "./observe.js";
import { runScenario, runScenarioDetailed } from "./run-scenario.js";
import { reference } from "./testing/per-pte.js";

/**
 * Random operation sequences: whatever is mapped, written, unmapped, protected or advised,
 * every invariant holds after every op and every process reads back what it wrote.
 */

const SIZES = [1, 3, 4, 16, 17, 64, 512, 600];
const KINDS = ["anon", "anon", "file-private", "file-shared"] as const;
const ACTIONS = [
  "write",
  "read",
  "munmap",
  "dontneed",
  "protect",
  "huge",
  "nohuge",
  "fork",
  "free",
  "pageout",
  "cold",
  "reclaim",
  "pin",
] as const;

const actionArb = fc.record({
  kind: fc.constantFrom(...ACTIONS),
  map: fc.nat(3),
  start: fc.nat(1000),
  len: fc.integer({ min: 1, max: 80 }),
  stride: fc.constantFrom(0, 0, 2, 16, 100),
  value: fc.integer({ min: 1, max: 1000 }),
});

const scenarioArb = fc.record({
  mthp: fc.subarray(["16K", "64K", "2M"]),
  swap: fc.boolean(),
  maps: fc.array(fc.record({ pages: fc.constantFrom(...SIZES), kind: fc.constantFrom(...KINDS) }), {
    minLength: 1,
    maxLength: 4,
  }),
  actions: fc.array(actionArb, { maxLength: 18 }),
  exit: fc.boolean(),
});

type Gen = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

/** Turn abstract actions into a valid scenario, tracking what is mapped and what each page holds. */
function build(g: Gen) {
  const ops: object[] = [];
  const mapped = g.maps.map((m) => new Array<boolean>(m.pages).fill(true));
  const writable = g.maps.map((m) => new Array<boolean>(m.pages).fill(true));
  // Content each page reads; null once MADV_FREE made it discardable (old value or zero).
  const content = g.maps.map((m) => new Array<number | null>(m.pages).fill(0));
  let child: Array<Array<number | null>> | null = null;
  let childMapped: boolean[][] | null = null;
  g.maps.forEach((m, i) => {
    ops.push({ op: "mmap", id: `m${i}`, size: m.pages * 4096, kind: m.kind });
  });
  for (const a of g.actions) {
    const i = a.map % g.maps.length;
    const n = (g.maps[i] as { pages: number }).pages;
    const start = a.start % n;
    const len = Math.min(a.len, n - start);
    const stride = a.stride >= len ? a.stride : 0;
    const pages: number[] = [];
    for (let s = start; s + len <= n; s += stride || n) {
      for (let p = s; p < s + len; p++) pages.push(p);
      if (!stride) break;
    }
    const range = { id: `m${i}`, offset: start * 4096, length: len * 4096, ...(stride ? { stride: stride * 4096 } : {}) };
    const allMapped = pages.every((p) => mapped[i]?.[p]);
    switch (a.kind) {
      case "write":
        if (!allMapped || !pages.every((p) => writable[i]?.[p])) break;
        ops.push({ op: "write", ...range, value: a.value });
        for (const p of pages) (content[i] as Array<number | null>)[p] = a.value;
        break;
      case "read":
        if (allMapped) ops.push({ op: "read", ...range });
        break;
      case "munmap":
        ops.push({ op: "munmap", ...range });
        for (const p of pages) (mapped[i] as boolean[])[p] = false;
        break;
      case "dontneed":
        if (!allMapped) break;
        ops.push({ op: "madvise", ...range, advice: "dontneed" });
        if (g.maps[i]?.kind !== "file-shared") for (const p of pages) (content[i] as Array<number | null>)[p] = 0;
        break;
      case "protect":
        if (!allMapped) break;
        ops.push({ op: "mprotect", ...range, prot: a.value % 2 ? "r" : "rw" });
        for (const p of pages) (writable[i] as boolean[])[p] = a.value % 2 === 0;
        break;
      case "huge":
      case "nohuge":
        if (allMapped) ops.push({ op: "madvise", ...range, advice: a.kind === "huge" ? "hugepage" : "nohugepage" });
        break;
      case "fork":
        if (child) break;
        ops.push({ op: "fork", as: "child" });
        child = content.map((c) => [...c]);
        childMapped = mapped.map((c) => [...c]);
        break;
      case "free":
        if (!allMapped || g.maps[i]?.kind !== "anon") break;
        ops.push({ op: "madvise", ...range, advice: "free" });
        for (const p of pages) (content[i] as Array<number | null>)[p] = null;
        break;
      case "pageout":
      case "cold":
        ops.push({ op: "madvise", ...range, advice: a.kind });
        break;
      case "reclaim":
        ops.push({ op: "reclaim" });
        break;
      case "pin":
        if (!allMapped || !pages.every((p) => writable[i]?.[p])) break;
        ops.push({ op: "pin", id: `m${i}`, offset: start * 4096, length: "4K" });
        break;
    }
  }
  g.maps.forEach((_m, i) => {
    for (let p = 0; p < (mapped[i] as boolean[]).length; p++) {
      const v = content[i]?.[p];
      if (mapped[i]?.[p] && v !== null) ops.push({ op: "expect", id: `m${i}`, offset: p * 4096, value: v });
      const cv = child?.[i]?.[p];
      if (childMapped?.[i]?.[p] && cv !== null && cv !== undefined && g.maps[i]?.kind !== "file-shared") {
        ops.push({ op: "expect", proc: "child", id: `m${i}`, offset: p * 4096, value: cv });
      }
    }
  });
  if (child) ops.push({ op: "exit", proc: "child" });
  if (g.exit) ops.push({ op: "exit" });
  const config = { mthp: Object.fromEntries(g.mthp.map((s) => [s, "always"])), ...(g.swap ? { swap: "16M" } : {}) };
  return { name: "random", config, ops };
}

describe("random operation sequences", () => {
  it("keep every invariant and every written value", () => {
    fc.assert(
      fc.property(scenarioArb, (g) => {
        const spec = build(g);
        const r = runScenario(spec, { strategy: reference });
        const bad = r.expects.filter((e) => !e.ok);
        expect(bad, JSON.stringify(spec)).toEqual([]);
      }),
      {
        numRuns: Number(process.env.FOLIOLAB_PROPERTY_RUNS ?? 300),
        seed: Number(process.env.FOLIOLAB_PROPERTY_SEED ?? 20261122),
      },
    );
    // 300 programs whose checked reads are loads (they fault): seconds on a busy 2-core machine.
  }, 60_000);
});

/** The same program with every write and read split into one op per page, in address order. */
function pageByPage(spec: ReturnType<typeof build>) {
  const ops: object[] = [];
  for (const op of spec.ops as Array<Record<string, unknown>>) {
    if (op.op !== "write" && op.op !== "read") {
      ops.push(op);
      continue;
    }
    const off = op.offset as number;
    const len = op.length as number;
    const stride = (op.stride as number | undefined) ?? 0;
    const size = (
      spec.ops.find((o) => (o as { id?: string }).id === op.id && (o as { op: string }).op === "mmap") as { size: number }
    ).size;
    for (let s = off; s + len <= size; s += stride || size) {
      for (let p = s; p < s + len; p += 4096) ops.push({ ...op, offset: p, length: 4096, stride: undefined });
      if (!stride) break;
    }
  }
  return { ...spec, ops };
}

describe("ranged user accesses", () => {
  it("fault, count and leave the state exactly as page-by-page accesses do", () => {
    fc.assert(
      fc.property(scenarioArb, (g) => {
        const spec = build(g);
        const ranged = runScenarioDetailed(spec, { strategy: reference, invariants: false });
        const paged = runScenarioDetailed(pageByPage(spec), { strategy: reference, invariants: false });
        const { expects: _a, scenario: _s1, ...a } = ranged.result;
        const { expects: _b, scenario: _s2, ...b } = paged.result;
        // A PMD-mapped run needs one TLB entry however long it is; split into one op per page,
        // each op counts its own (user_tlb_miss is the one count that may differ, and only down).
        expect(a.costs.user_tlb_miss).toBeLessThanOrEqual(b.costs.user_tlb_miss as number);
        a.costs = { ...a.costs, user_tlb_miss: 0 };
        b.costs = { ...b.costs, user_tlb_miss: 0 };
        expect(a).toEqual(b);
        expect(observe(ranged.kernel)).toEqual(observe(paged.kernel));
        // The PTEs themselves, young and dirty bits included (same program, same pfns).
        const tables = (k: typeof ranged.kernel) =>
          [...k.procs.values()].map((mm) => [[...mm.pgtables.pte].map(([i, t]) => [i, Array.from(t)]), [...mm.pgtables.hugePmd]]);
        expect(tables(ranged.kernel)).toEqual(tables(paged.kernel));
      }),
      {
        numRuns: Number(process.env.FOLIOLAB_PROPERTY_RUNS ?? 300),
        seed: Number(process.env.FOLIOLAB_PROPERTY_SEED ?? 20261201),
      },
    );
    // 300 programs run twice each: room for a loaded shared machine (no assertion on time).
  }, 60_000);
});
