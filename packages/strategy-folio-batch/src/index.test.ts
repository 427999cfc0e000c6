import { runScenario } from "@foliolab/core";
import { DEFAULT_GATHER_GEOMETRY } from "@foliolab/core/strategy";
import { describe, expect, it } from "vitest";
import folioBatchDefault, { folioBatch } from "./index.js";

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
