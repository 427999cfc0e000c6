import { runScenario } from "@foliolab/core";
import { DEFAULT_GATHER_GEOMETRY, RECLAIM_BATCHING, type ReclaimBatching } from "@foliolab/core/strategy";
import { describe, expect, it } from "vitest";
import folioBatchDefault, { folioBatch, folioBatchWith } from "./index.js";

function run(folio: "4K" | "64K", ops: Record<string, unknown>[], kind = "anon") {
  return runScenario(
    {
      name: `folio-batch-${folio}`,
      ...(folio === "64K" ? { config: { mthp: { "64K": "always" } } } : {}),
      ops: [{ op: "mmap", id: "a", size: "4M", kind }, ...ops],
    },
    { strategy: folioBatch },
  );
}

describe("folio-batch", () => {
  it("is the default and the named export, with the 6.9+ gather", () => {
    expect(folioBatchDefault).toBe(folioBatch);
    expect({ ...DEFAULT_GATHER_GEOMETRY, ...folioBatch.gather }).toEqual({
      localEntries: 8,
      entriesPerBatch: 510,
      maxBatches: 19,
      reserveOne: true,
      delayedRmapCap: true,
    });
  });

  it("a 64K folio is one batch: one TLB range update, one rmap call, two gather entries, one reference drop", () => {
    const r = run("64K", [
      { op: "write", id: "a" },
      { op: "munmap", id: "a" },
    ]);
    const folios = (4 << 20) / (64 << 10);
    expect(r.costs.tlb_range_update).toBe(folios);
    expect(r.costs.gather_entries).toBe(2 * folios);
    expect(r.costs.deferred_split_enqueue).toBe(0);
    expect(r.costs.free_swap_cache).toBe(folios);
    // no lru_add_drain() in 6.18's free_pages_and_swap_cache()
    expect(r.costs.lru_add_drain).toBe(0);
  });

  it("small folios take the nr = 1 path: no PTE read beyond the walk's own", () => {
    const r = run("4K", [
      { op: "write", id: "a" },
      { op: "munmap", id: "a" },
    ]);
    expect(r.costs.pte_read).toBe(1024);
    expect(r.costs.gather_entries).toBe(1024);
  });

  it("a dirty shared file page delays its rmap to after the forced flush", () => {
    const r = run(
      "4K",
      [
        { op: "write", id: "a" },
        { op: "munmap", id: "a" },
      ],
      "file-shared",
    );
    // 2 PTE tables, each flushed and freed at its end
    expect(r.costs.gather_flush).toBe(2);
    expect(r.costs.folio_mark_dirty).toBe(1024 + 1024);
  });
});

// The reclaim batching variants of the lazyfree batched-unmap review (Barry Song's v4 3/4, June 2025) on the workloads where they differ, with the model's
// exact counts ("partial" is what 6.18 runs; core's kernel-measured-fuzz.test.ts holds what the
// kernel measured for a partly unmapped, partly redirtied lazyfree folio under MADV_PAGEOUT).
describe("reclaim batching variants (lazyfree batched unmap review, v4 3/4)", () => {
  const cfg = { mthp: { "64K": "madvise", "2M": "never" } } as const;
  const base = [
    { op: "mmap", id: "a", size: "64K", kind: "anon" },
    { op: "madvise", id: "a", advice: "hugepage" },
    { op: "write", id: "a", value: 5 },
  ] as const;
  const run = (ops: unknown[], mode: ReclaimBatching) =>
    runScenario({ name: "rb", config: cfg, ops }, { strategy: folioBatchWith({ reclaimBatching: mode }) });

  it("a lazyfree folio redirtied where the write bits differ: the merged batch stops at the write bit, v4 keeps the folio whole", () => {
    // After fork + exit only page 3 is reused writable; MADV_FREE; page 3 redirtied.
    const ops: unknown[] = [
      ...base,
      { op: "fork", as: "child" },
      { op: "exit", proc: "child" },
      { op: "write", id: "a", offset: "12K", length: "4K", value: 6 },
      { op: "madvise", id: "a", advice: "free" },
      { op: "write", id: "a", offset: "12K", length: "4K", value: 7 },
      { op: "reclaim" },
      { op: "expect", id: "a", offset: "12K", value: 7 },
    ];
    const got = Object.fromEntries(
      RECLAIM_BATCHING.map((m) => {
        const r = run(ops, m);
        expect(r.expects.every((e) => e.ok)).toBe(true);
        return [m, [r.procs.main?.RssAnon, r.mthp["hugepages-64kB"]?.split_deferred, r.costs.nr_pages_mapped_atomic]];
      }),
    );
    // [RssAnon kB, split_deferred, _nr_pages_mapped atomics]
    expect(got).toEqual({ none: [52, 1, 3], "all-or-nothing": [64, 0, 0], partial: [52, 1, 1] });
  });

  it("a lazyfree folio mapped by two processes, partly unmapped in one: same outcome, different cost", () => {
    const ops: unknown[] = [
      ...base,
      { op: "madvise", id: "a", advice: "free" },
      { op: "fork", as: "child" },
      { op: "munmap", proc: "child", id: "a", offset: "0", length: "4K" },
      { op: "reclaim" },
    ];
    const got = Object.fromEntries(
      RECLAIM_BATCHING.map((m) => {
        const r = run(ops, m);
        expect(r.vmstat.pglazyfreed).toBe(16);
        return [m, [r.costs.nr_pages_mapped_atomic, r.costs.large_mapcount_atomic, r.costs.refcount_atomic]];
      }),
    );
    // v4 batches the parent's whole folio but not the child's 15 PTEs (its head is unmapped).
    expect(got).toEqual({ none: [16, 33, 36], "all-or-nothing": [16, 18, 21], partial: [2, 4, 7] });
  });

  it("refuses an unknown variant by name", () => {
    expect(() => folioBatchWith({ reclaimBatching: "some" as ReclaimBatching })).toThrow(/reclaimBatching must be one of none/);
  });
});
