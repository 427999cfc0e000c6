import { runScenario } from "@foliolab/core";
import { DEFAULT_GATHER_GEOMETRY } from "@foliolab/core/strategy";
import { describe, expect, it } from "vitest";
import batchedAnonDefault, { batchedAnon, createBatchedAnon } from "./index.js";

/** munmap of `size` of faulted anon memory in 64K folios; costs of the whole run. */
function munmap64K(size: string, strategy = batchedAnon) {
  return runScenario(
    {
      name: "munmap-64K",
      config: { mthp: { "64K": "always" } },
      ops: [
        { op: "mmap", id: "a", size, kind: "anon" },
        { op: "write", id: "a" },
        { op: "munmap", id: "a" },
      ],
    },
    { strategy },
  );
}

describe("batched-anon", () => {
  it("is the default and the named export, v4 with the v6.5 gather", () => {
    expect(batchedAnonDefault).toBe(batchedAnon);
    expect(batchedAnon.name).toBe("batched-anon");
    expect(createBatchedAnon({ holdFolioRef: false }).name).toBe("batched-anon-v3");
    expect({ ...DEFAULT_GATHER_GEOMETRY, ...batchedAnon.gather }).toEqual({
      localEntries: 8,
      entriesPerBatch: 510,
      maxBatches: 19,
      reserveOne: false,
      delayedRmapCap: true,
    });
  });

  it("one folio_remove_rmap_range() and a folio_get/folio_put pair per 64K folio", () => {
    // 4M = 64 folios of 16 pages, far below the 9,698-entry gather: no early stop.
    const r = munmap64K("4M");
    expect(r.mthp["hugepages-64kB"]?.anon_fault_alloc).toBe(64);
    expect(r.costs.deferred_split_enqueue).toBe(0);
    // the fault's folio_add_new_anon_rmap() sets _nr_pages_mapped plainly; the zap: 1 per folio
    expect(r.costs.nr_pages_mapped_atomic).toBe(64);
    // one gather entry per page, freed one reference per page
    expect(r.costs.gather_entries).toBe(64 * 16);
  });

  it("v3 drops the get/put pair", () => {
    const v4 = munmap64K("4M");
    const v3 = munmap64K("4M", createBatchedAnon({ holdFolioRef: false }));
    expect((v4.costs.refcount_atomic as number) - (v3.costs.refcount_atomic as number)).toBe(2 * 64);
  });

  it("the posted hunk's off-by-one forces a flush and a free after every batch", () => {
    const intended = munmap64K("4M");
    const posted = munmap64K("4M", createBatchedAnon({ postedEarlyBreak: true }));
    // one gather flush per folio (the last one's is the finish) instead of one at the end
    expect(intended.costs.gather_flush).toBe(1);
    expect(posted.costs.gather_flush).toBe(64);
    expect(posted.meminfo).toEqual(intended.meminfo);
  });
});
