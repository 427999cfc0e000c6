// The whole conformance kit against this strategy: the invariant suite, equivalence with the
// per-page reference, the bug replays and a fast-check property test. numRuns is kept small so
// the file runs in well under a minute; raise it (the kit's default is 1000) before you trust
// your numbers, or run the fuzz script shipped with @foliolab/testkit.
import { runScenario } from "@foliolab/core";
import { describeStrategyConformance } from "@foliolab/testkit";
import { describe, expect, it } from "vitest";
import { rmapBatchPageGather } from "./index.js";

describeStrategyConformance(rmapBatchPageGather, { numRuns: 200, seed: 8 });

describe("rmap-batch-page-gather costs", () => {
  // 8M of 64K anon folios: 128 folios of 16 pages. Costs count from the scenario's start, so
  // the munmap's share is the difference between a run with it and a run without it.
  const setup = [
    { op: "mmap" as const, id: "a", size: "8M", kind: "anon" as const },
    { op: "write" as const, id: "a" },
  ];
  const config = { mthp: { "64K": "always" as const } };
  const costsOf = (ops: typeof setup | [...typeof setup, { op: "munmap"; id: string }]) =>
    runScenario({ name: "munmap 8M of 64K folios", config, ops }, { strategy: rmapBatchPageGather }).costs;

  it("removes the rmap once per folio but gathers one entry per page", () => {
    const before = costsOf(setup);
    const after = costsOf([...setup, { op: "munmap", id: "a" }]);
    const munmap = (event: string) => (after[event] ?? 0) - (before[event] ?? 0);
    const pages = (8 << 20) / 4096;
    const folios = pages / 16;
    expect(munmap("pte_clear")).toBe(pages);
    expect(munmap("large_mapcount_atomic")).toBe(folios); // one folio_remove_rmap_ptes() per folio
    expect(munmap("gather_entries")).toBe(pages); // one encoded page per PTE
    expect(munmap("pages_freed")).toBe(pages);
    expect(munmap("deferred_split_enqueue")).toBe(0); // whole folios never look partially mapped
  });
});
