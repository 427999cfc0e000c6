import { runScenario } from "@foliolab/core";
import { DEFAULT_GATHER_GEOMETRY } from "@foliolab/core/strategy";
import { describe, expect, it } from "vitest";
import contigRangeDefault, { contigRange } from "./index.js";

function munmap(size: string, mthp: Record<string, string> | undefined, kind = "anon") {
  return runScenario(
    {
      name: "contig-range",
      ...(mthp ? { config: { mthp } } : {}),
      ops: [
        { op: "mmap", id: "a", size, kind },
        { op: "write", id: "a" },
        { op: "munmap", id: "a" },
      ],
    },
    { strategy: contigRange },
  );
}

describe("contig-range", () => {
  it("is the default and the named export, with 16-byte pfn_range batches", () => {
    expect(contigRangeDefault).toBe(contigRange);
    expect({ ...DEFAULT_GATHER_GEOMETRY, ...contigRange.gather }).toEqual({
      localEntries: 8,
      entriesPerBatch: 255,
      maxBatches: 39,
      reserveOne: false,
      delayedRmapCap: false,
    });
  });

  it("one range per 64K folio, except the folio opening the local batch's last slot", () => {
    // 4M = 64 folios; range slot 7 (last of the 8 local) is closed after one page, so folio 7
    // continues in a second range, and its first rmap removal leaves it partially mapped.
    const r = munmap("4M", { "64K": "always" });
    expect(r.costs.gather_entries).toBe(64 + 1);
    expect(r.costs.free_swap_cache).toBe(64 + 1);
    expect(r.costs.deferred_split_enqueue).toBe(1);
    expect(r.mthp["hugepages-64kB"]?.split_deferred).toBe(1);
  });

  it("small folios: one range per page", () => {
    const r = munmap("4M", undefined);
    expect(r.costs.gather_entries).toBe(1024);
  });

  it("dirty shared file pages force a flush per PTE table before tlb_flush_rmaps()", () => {
    const r = munmap("4M", undefined, "file-shared");
    expect(r.costs.gather_flush).toBe(2);
    expect((r.costs.tlb_flush_full as number) + (r.costs.tlb_flush_range as number)).toBeGreaterThanOrEqual(2);
  });
});
