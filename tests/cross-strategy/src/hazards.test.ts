/**
 * The hazards: dirty shared file pages (delayed rmap, forced flush, no lost write) and the s390
 * profile (MMU_GATHER_NO_GATHER: gathering frees at once), under every strategy's defaults.
 * The invariant checker is on: a lost write, a free before the flush, or a refcount below the
 * mapcount throws InvariantViolation.
 */

import { InvariantViolation } from "@foliolab/core";
import { PG } from "@foliolab/core/strategy";
import { createBatchedAnon } from "@foliolab/strategy-batched-anon";
import { describe, expect, it } from "vitest";
import { ALL, anonFaulted, batchedAnon, MiB, PAGE, run, withOps } from "./scenarios.js";

const TABLE = 2 * MiB;

describe("dirty shared file pages", () => {
  // 8M shared file mapping, every page written (dirty PTEs), then munmap.
  const SIZE = 8 * MiB;
  const spec = {
    name: "dirty-shared-munmap",
    ops: [
      { op: "mmap", id: "f", size: "8M", kind: "file-shared" },
      { op: "write", id: "f", value: 21 },
      { op: "munmap", id: "f" },
    ],
  };

  it.each(ALL.map((s) => [s.name, s] as const))("%s: every folio marked dirty, a forced flush per PTE table", (_n, s) => {
    const r = run(spec, s);
    const file = r.kernel.files[0];
    expect(file).toBeDefined();
    let dirty = 0;
    for (let i = 0; i < SIZE / PAGE; i++) {
      const folio = file?.folioAt(i) as number;
      if (((r.kernel.mem.flags[folio] as number) & PG.dirty) !== 0) dirty++;
    }
    expect(dirty).toBe(SIZE / PAGE);
    // force_flush at each of the 4 tables frees the gather before the next table; no finish left.
    expect(r.lastOp.gather_flush).toBe(SIZE / TABLE);
    // the page cache still holds every page
    expect(r.result.costs.pages_freed).toBe(0);
  });

  it.each(ALL.map((s) => [s.name, s] as const))("%s: exit with dirty shared and private pages runs clean", (_n, s) => {
    const r = run(
      {
        name: "dirty-shared-exit",
        config: { mthp: { "64K": "always" } },
        ops: [
          { op: "mmap", id: "f", size: "4M", kind: "file-shared" },
          { op: "mmap", id: "a", size: "4M", kind: "anon" },
          // A child that keeps the file open after main's exit, so its page cache can be read.
          { op: "fork", as: "keeper" },
          { op: "write", id: "f", offset: "4K", length: "4K", stride: "8K", value: 2 },
          { op: "read", id: "f" },
          { op: "write", id: "a" },
          { op: "exit" },
        ],
      },
      s,
    );
    expect(r.result.meminfo.AnonPages).toBe(0);
    // every second page was written through a dirty PTE: exit_mmap() must have marked it dirty
    const file = r.kernel.files[0];
    let dirty = 0;
    for (let i = 0; i < (4 * MiB) / PAGE; i++) {
      if (((r.kernel.mem.flags[file?.folioAt(i) as number] as number) & PG.dirty) !== 0) dirty++;
    }
    expect(dirty).toBe((4 * MiB) / (2 * PAGE));
  });
});

describe("s390 (MMU_GATHER_NO_GATHER)", () => {
  const small = withOps(
    anonFaulted(4 * MiB, "4K", { arch: "s390" }),
    "small-and-file",
    { op: "mmap", id: "f", size: "2M", kind: "file-shared" },
    { op: "write", id: "f", value: 6 },
    { op: "munmap", id: "a", offset: "64K", length: "1M" },
    { op: "munmap", id: "f" },
    { op: "exit" },
  );
  const large = withOps(
    anonFaulted(4 * MiB, "64K", { arch: "s390" }),
    "large",
    { op: "munmap", id: "a", offset: "32K", length: "2M" },
    { op: "exit" },
  );

  it.each(ALL.map((s) => [s.name, s] as const))("%s: small anon and dirty file pages pass", (_n, s) => {
    const r = run(small, s);
    expect(r.result.meminfo.AnonPages).toBe(0);
    // no gathering: nothing is ever flushed from a gather
    expect(r.result.costs.gather_flush).toBe(0);
  });

  it.each(ALL.filter((s) => s !== batchedAnon).map((s) => [s.name, s] as const))("%s: large anon folios pass", (_n, s) => {
    const r = run(large, s);
    expect(r.result.meminfo.AnonPages).toBe(0);
  });

  function violation(spec: typeof small, strategy = batchedAnon): InvariantViolation {
    try {
      run(spec, strategy);
    } catch (e) {
      if (e instanceof InvariantViolation) return e;
      throw e;
    }
    throw new Error("no invariant violation");
  }

  it("v3 (holdFolioRef: false) frees a folio while it is still mapped: caught as refcount>=mapcount", () => {
    // v3 takes the batch path for small anon folios too: __tlb_remove_page() frees the page
    // (refcount 1 -> 0) before folio_remove_rmap_range() drops the mapcount.
    const e = violation(small, createBatchedAnon({ holdFolioRef: false }));
    expect(e.violation.invariant).toBe("refcount>=mapcount");
    expect(e.violation.detail).toMatch(/freed while still mapped/);
  });

  it("v4 keeps the folio alive but still drops refcount below mapcount (David Hildenbrand's objection)", () => {
    // folio_get: 16 + 1 references; the second immediate put leaves 15 < mapcount 16.
    const e = violation(large);
    expect(e.violation.invariant).toBe("refcount>=mapcount");
    expect(e.violation.detail).toBe("refcount 15 fell below mapcount 16");
  });
});
