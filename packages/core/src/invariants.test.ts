import { describe, expect, it } from "vitest";
import { deferredSplitFolio } from "./deferred-split.js";
import { type InvariantName, InvariantViolation } from "./errors.js";
import { folioPut } from "./folio.js";
import { PG } from "./mem-map.js";
import { runScenario } from "./run-scenario.js";
import type { ZapStrategy } from "./strategy.js";
import { type Breakage, perPteStrategy } from "./testing/per-pte.js";

const anon64 = {
  name: "anon-64k",
  config: { mthp: { "64K": "always" } },
  ops: [
    { op: "mmap", id: "a", size: "1M", kind: "anon" },
    { op: "write", id: "a" },
    { op: "munmap", id: "a" },
  ],
};
const anon4k = {
  name: "anon-4k",
  ops: [
    { op: "mmap", id: "a", size: "256K", kind: "anon" },
    { op: "write", id: "a" },
    { op: "munmap", id: "a" },
  ],
};
const anon4kDontneed = {
  name: "anon-4k-dontneed",
  ops: [
    { op: "mmap", id: "a", size: "256K", kind: "anon" },
    { op: "write", id: "a" },
    { op: "madvise", id: "a", advice: "dontneed" },
  ],
};
const sharedDirty = {
  name: "shared-dirty",
  ops: [
    { op: "mmap", id: "f", size: "64K", kind: "file-shared" },
    { op: "write", id: "f" },
    { op: "munmap", id: "f" },
  ],
};

function violation(spec: object, strategy: ZapStrategy): InvariantViolation {
  try {
    runScenario(spec, { strategy });
  } catch (e) {
    if (e instanceof InvariantViolation) return e;
    throw e;
  }
  throw new Error("expected an invariant violation, the scenario ran clean");
}

function broken(b: Breakage): ZapStrategy {
  return perPteStrategy(`broken-${Object.keys(b).join("-")}`, b);
}

describe("each invariant catches a strategy that breaks it", () => {
  const cases: Array<[InvariantName, object, Breakage]> = [
    ["tlb-flush-before-free", anon4k, { freeBeforeFlush: true }],
    ["tlb-flush-before-free", anon4kDontneed, { skipTlbEntry: true }],
    ["refcount>=mapcount", anon64, { extraPut: true }],
    ["mapcount-matches-page-tables", anon4k, { forgetRmapAndRef: true }],
    ["no-lost-write", sharedDirty, { noDelayRmap: true }],
    ["rss-matches-page-tables", anon4k, { skipRss: true }],
    ["strategy-contract", anon4k, { badReturn: true }],
  ];
  for (const [name, spec, b] of cases) {
    it(`${name} (${Object.keys(b).join(", ")})`, () => {
      const v = violation(spec, broken(b));
      expect(v.violation.invariant).toBe(name);
      expect(v.message).toContain(name);
      expect(v.violation.op).toMatch(/^ops\[\d+\] \(\w+\)$/);
      expect(v.violation.strategy).toBe(broken(b).name);
    });
  }

  it("no-use-after-free: a reference dropped on a folio already freed", () => {
    const doubleRelease: ZapStrategy = {
      ...perPteStrategy("double-release"),
      releaseGathered(tlb, from, to) {
        perPteStrategy().releaseGathered(tlb, from, to);
        perPteStrategy().releaseGathered(tlb, from, to);
      },
    };
    expect(violation(anon4k, doubleRelease).violation.invariant).toMatch(/no-use-after-free|refcount>=mapcount/);
    const v = violation(anon4k, doubleRelease);
    expect(v.violation.invariant).toBe("no-use-after-free");
  });

  it("page-cache-refs: a release that drops the page cache's reference of a file page", () => {
    const filePrivate = {
      name: "file-private-read",
      ops: [
        { op: "mmap", id: "f", size: "64K", kind: "file-private" },
        { op: "read", id: "f" },
        { op: "munmap", id: "f" },
      ],
    };
    expect(() => runScenario(filePrivate, { strategy: perPteStrategy() })).not.toThrow();
    const dropsCacheRef: ZapStrategy = {
      ...perPteStrategy("drops-page-cache-ref"),
      releaseGathered(tlb, from, to) {
        const k = tlb.k;
        const file: number[] = [];
        for (let i = from; i < to; i++) {
          const pfn = tlb.itemPfn[i] as number;
          if (((k.mem.flags[pfn] as number) & PG.anon) === 0) file.push(pfn);
        }
        perPteStrategy().releaseGathered(tlb, from, to);
        for (const pfn of file) folioPut(k, pfn); // BUG: one more reference than the mapping's
      },
    };
    const v = violation(filePrivate, dropsCacheRef);
    expect(v.violation.invariant).toBe("page-cache-refs");
    expect(v.message).toMatch(/the page cache of file \d+ holds a freed folio at index \d+/);
  });

  it("deferred-split-queue: a fully mapped folio put on the queue", () => {
    const spec = {
      name: "queue",
      config: { mthp: { "64K": "always" } },
      ops: [
        { op: "mmap", id: "a", size: "64K", kind: "anon" },
        { op: "write", id: "a" },
        { op: "read", id: "a" },
      ],
    };
    const run = () =>
      runScenario(spec, {
        strategy: perPteStrategy(),
        onOp: (k, _op, i) => {
          if (i !== 1) return;
          const folio = k.mem.pageFolio(k.procs.get("main")!.pgtables.readPte(k.procs.get("main")!.vmas[0]!.start) >>> 8);
          k.deferredSplitQueue.add(folio);
          k.mem.flags[folio] = (k.mem.flags[folio] as number) | PG.deferredList;
        },
      });
    expect(run).toThrow(/deferred-split-queue.*not partially mapped/);
  });

  it("deferred-split-queue: a folio flagged partially mapped but not queued", () => {
    const spec = {
      name: "flag",
      config: { mthp: { "64K": "always" } },
      ops: [
        { op: "mmap", id: "a", size: "64K", kind: "anon" },
        { op: "write", id: "a" },
        { op: "read", id: "a" },
      ],
    };
    expect(() =>
      runScenario(spec, {
        strategy: perPteStrategy(),
        onOp: (k, _op, i) => {
          if (i !== 1) return;
          const mm = k.procs.get("main")!;
          const folio = mm.pgtables.readPte(mm.vmas[0]!.start) >>> 8;
          deferredSplitFolio(k, folio, true);
          k.deferredSplitQueue.delete(folio);
          k.mem.flags[folio] = (k.mem.flags[folio] as number) & ~PG.deferredList;
        },
      }),
    ).toThrow(/deferred-split-queue/);
  });

  it("no-lost-write: a dirty PTE of a clean file folio must be marked dirty before the PT lock goes", () => {
    // Writeback cleaned the folio, then a write through the still-writable PTE set its dirty bit.
    const cleanAfterWrite = (k: import("./kernel.js").Kernel, _op: unknown, i: number) => {
      if (i !== 1) return;
      for (const f of k.files) for (const folio of f.folios()) k.mem.flags[folio] = (k.mem.flags[folio] as number) & ~PG.dirty;
    };
    expect(() => runScenario(sharedDirty, { strategy: broken({ skipMarkDirty: true }), onOp: cleanAfterWrite })).toThrow(
      /no-lost-write.*without marking the folio dirty/,
    );
    expect(() => runScenario(sharedDirty, { strategy: perPteStrategy(), onOp: cleanAfterWrite })).not.toThrow();
  });

  it("the same strategies pass with the rule kept", () => {
    for (const spec of [anon64, anon4k, sharedDirty]) {
      expect(runScenario(spec, { strategy: perPteStrategy() }).expects).toEqual([]);
    }
  });

  it("the checker can be switched off (then a broken strategy is not caught)", () => {
    expect(() => runScenario(anon4k, { strategy: broken({ skipRss: true }), invariants: false })).not.toThrow();
  });
});
