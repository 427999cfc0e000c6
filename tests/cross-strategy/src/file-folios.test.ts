/**
 * The file-backed claim of Ryan Roberts' "Optimize mmap_exit for large folios" v2 (30 Aug 2023) with exact counts: "supporting filesystems already use large
 * folios for pagecache memory", and the v2 series batches "rmap removal ... and page release" of
 * pagecache pages too. The file folios here are shmem's (the page cache of MAP_SHARED |
 * MAP_ANONYMOUS), 64K each. Every expected number is derived from the scenario's arithmetic
 * and the strategies' rules.
 */

import {
  COST_EVENT_KEYS,
  GATHER,
  InvariantViolation,
  type MmuGather,
  runScenario,
  runScenarioDetailed,
  type ZapContext,
  type ZapStrategy,
  zapPresentPtesV69With,
} from "@foliolab/core/internals";
import { describe, expect, it } from "vitest";
import {
  ALL,
  batchedAnon,
  contigRange,
  contigRangeSplits,
  folioBatch,
  MiB,
  MMU_GATHER_BUNDLE,
  PAGE,
  perPage,
  run,
  type Spec,
} from "./scenarios.js";

// 32M of 64K shmem folios: 512 folios of 16 pages in 16 PTE tables of 32 folios.
const SIZE = 32 * MiB;
const N = 16;
const FOLIOS = SIZE / (N * PAGE);
const PAGES = SIZE / PAGE;
const TABLES = SIZE / (2 * MiB);

function shmemMunmap(access: "read" | "write"): Spec {
  return {
    name: `shmem-64K-${access}-munmap`,
    config: { shmem: { "64K": "always" } },
    ops: [
      { op: "mmap", id: "s", size: "32M", kind: "shmem" },
      { op: access, id: "s", ...(access === "write" ? { value: 5 } : {}) },
      { op: "munmap", id: "s" },
    ],
  };
}

describe("munmap of clean 64K shmem folios (mmap_exit v2: pagecache rmap removal batched)", () => {
  const spec = shmemMunmap("read");
  const ref = run(spec, perPage);
  const runs = { batchedAnon: run(spec, batchedAnon), contigRange: run(spec, contigRange), folioBatch: run(spec, folioBatch) };

  it("scenario arithmetic holds: 512 shmem folios of 64K, mapped whole by one read fault each", () => {
    expect(ref.result.mthp["hugepages-64kB"]?.shmem_alloc).toBe(FOLIOS);
    expect(ref.result.vmstat.pgfault).toBe(FOLIOS);
  });

  it("no strategy queues a file folio for deferred split, not even per-page's page-at-a-time removal", () => {
    for (const r of [ref, ...Object.values(runs)]) {
      expect(r.lastOp.deferred_split_enqueue).toBe(0);
      expect(r.lastOp.split_queue_lock).toBe(0);
    }
  });

  it("batched-anon's file folios take the per-page path: every cost event is per-page's", () => {
    expect(runs.batchedAnon.lastOp).toEqual(ref.lastOp);
  });

  it("_nr_pages_mapped atomics: one per page (per-page), one per range (contig-range), one per folio (folio-batch)", () => {
    expect(ref.lastOp.nr_pages_mapped_atomic).toBe(PAGES);
    expect(runs.contigRange.lastOp.nr_pages_mapped_atomic).toBe(FOLIOS + contigRangeSplits(FOLIOS));
    expect(runs.folioBatch.lastOp.nr_pages_mapped_atomic).toBe(FOLIOS);
    expect(runs.contigRange.lastOp.large_mapcount_atomic).toBe(FOLIOS + contigRangeSplits(FOLIOS));
  });

  it("gather entries: one per page, one per range, two per folio (page + nr)", () => {
    expect(ref.lastOp.gather_entries).toBe(PAGES);
    expect(runs.contigRange.lastOp.gather_entries).toBe(FOLIOS + contigRangeSplits(FOLIOS));
    expect(runs.folioBatch.lastOp.gather_entries).toBe(2 * FOLIOS);
  });

  it("the zap frees nothing; the last mapping's going evicts the shmem inode, freeing each folio once", () => {
    for (const r of [ref, ...Object.values(runs)]) {
      expect(r.lastOp.folios_freed).toBe(FOLIOS);
      expect(r.lastOp.pages_freed).toBe(PAGES);
      expect(r.result.vmstat.nr_shmem).toBe(0);
    }
  });
});

describe("munmap of dirty 64K shmem folios: the delayed rmap (Linus Torvalds, Oct/Nov 2022, merged for 6.2) per batch", () => {
  const spec = shmemMunmap("write");
  const ref = run(spec, perPage);
  const runs = { batchedAnon: run(spec, batchedAnon), contigRange: run(spec, contigRange), folioBatch: run(spec, folioBatch) };

  it("folio_mark_dirty once per page (per-page, contig-range), once per batch (folio-batch)", () => {
    expect(ref.lastOp.folio_mark_dirty).toBe(PAGES);
    expect(runs.contigRange.lastOp.folio_mark_dirty).toBe(PAGES);
    expect(runs.folioBatch.lastOp.folio_mark_dirty).toBe(FOLIOS);
  });

  it("a delayed rmap forces a flush at the end of each PTE table, under every strategy", () => {
    // A table maps 512 dirty pages: below the delayed-rmap cap of 8 local + 510, so the flushes
    // are the tables' forced ones, and batched-anon is per-page event for event.
    expect((2 * MiB) / PAGE).toBeLessThan(MMU_GATHER_BUNDLE + 510);
    for (const r of [ref, ...Object.values(runs)]) expect(r.lastOp.gather_flush).toBe(TABLES);
    expect(runs.batchedAnon.lastOp).toEqual(ref.lastOp);
  });

  it("contig-range restarts its ranges after each table's flush", () => {
    const perTable = FOLIOS / TABLES;
    expect(runs.contigRange.lastOp.gather_entries).toBe(TABLES * (perTable + contigRangeSplits(perTable)));
  });
});

describe("munmap of a sequentially read ext4 file: the readahead ramp's large folios (seed 001's claim on a regular file)", () => {
  // 32M read from the start: the read-around's 8M of 4K folios, then 8M each of 16K, 64K and
  // 256K folios (ra->order += 2 per window), all PTE-mapped; no madvise anywhere.
  const sizes = [1, 4, 16, 64];
  const counts = sizes.map((n) => (8 * MiB) / (n * PAGE));
  const folioPages = sizes.flatMap((n, i) => Array.from({ length: counts[i] as number }, () => n));
  const SMALL = counts[0] as number;
  const LARGE = folioPages.length - SMALL;
  const LARGE_PAGES = (24 * MiB) / PAGE;
  const ALL_PAGES = (32 * MiB) / PAGE;
  const SPLITS = contigRangeSplits(folioPages);
  const spec: Spec = {
    name: "ext4-readahead-munmap",
    ops: [
      { op: "mmap", id: "f", size: "32M", kind: "file-private" },
      { op: "read", id: "f" },
      { op: "munmap", id: "f" },
    ],
  };
  const ref = run(spec, perPage);
  const runs = { batchedAnon: run(spec, batchedAnon), contigRange: run(spec, contigRange), folioBatch: run(spec, folioBatch) };

  it("scenario arithmetic holds: one major fault, 2048 + 512 + 128 + 32 folios, mapped by fault-around", () => {
    expect(ref.result.vmstat.pgmajfault).toBe(1);
    expect(LARGE).toBe(512 + 128 + 32);
    // 16 pages per fault on 4K, 16K and 64K folios, one fault per 256K folio.
    expect(ref.result.vmstat.pgfault).toBe((3 * 8 * MiB) / (16 * PAGE) + 32);
  });

  it("no strategy queues a file folio for deferred split; batched-anon's file folios take the per-page path", () => {
    for (const r of [ref, ...Object.values(runs)]) expect(r.lastOp.deferred_split_enqueue).toBe(0);
    expect(runs.batchedAnon.lastOp).toEqual(ref.lastOp);
  });

  it("rmap removal: one _nr_pages_mapped atomic per page of a large folio (per-page), per range (contig-range), per folio (folio-batch)", () => {
    expect(ref.lastOp.nr_pages_mapped_atomic).toBe(LARGE_PAGES);
    expect(SPLITS).toBe(2);
    expect(runs.contigRange.lastOp.nr_pages_mapped_atomic).toBe(LARGE + SPLITS);
    expect(runs.folioBatch.lastOp.nr_pages_mapped_atomic).toBe(LARGE);
  });

  it("page release: gather entries one per page, one per range, one per small folio and two per large one", () => {
    expect(ref.lastOp.gather_entries).toBe(ALL_PAGES);
    expect(runs.contigRange.lastOp.gather_entries).toBe(SMALL + LARGE + SPLITS);
    expect(runs.folioBatch.lastOp.gather_entries).toBe(SMALL + 2 * LARGE);
    expect(runs.folioBatch.lastOp.refcount_atomic).toBe(SMALL + LARGE);
  });

  it("the page cache keeps every folio: the file stays open until exit", () => {
    for (const r of [ref, ...Object.values(runs)]) expect(r.lastOp.folios_freed).toBe(0);
  });
});

/** folio-batch with its delayed items recorded as tlb_flush_rmaps() finds them. */
function recordingDelayedItems(items: Array<{ nr: number; delayed: boolean }>): ZapStrategy {
  return {
    ...folioBatch,
    name: "folio-batch-recording",
    flushRmaps(z: ZapContext): void {
      const tlb: MmuGather = z.tlb;
      for (let i = 0; i < tlb.count; i++) {
        const delayed = ((tlb.itemFlags[i] as number) & GATHER.delayRmap) !== 0;
        if (delayed) items.push({ nr: tlb.itemNr[i] as number, delayed });
      }
      folioBatch.flushRmaps?.(z);
    },
  };
}

describe("the delayed rmap of a dirty shared large folio (6.18)", () => {
  it("is one gather item with the folio's page count and the delay bit", () => {
    const items: Array<{ nr: number; delayed: boolean }> = [];
    runScenarioDetailed(
      {
        name: "dirty-shmem-64K",
        config: { shmem: { "64K": "always" } },
        ops: [
          { op: "mmap", id: "s", size: "1M", kind: "shmem" },
          { op: "write", id: "s", offset: "0", length: "512K", value: 3 },
          { op: "read", id: "s", offset: "512K" },
          { op: "munmap", id: "s" },
        ],
      },
      { strategy: recordingDelayedItems(items) },
    );
    // The dirty half: 8 folios, one item of 16 pages each; the clean half is not delayed.
    expect(items).toEqual(Array.from({ length: 8 }, () => ({ nr: 16, delayed: true })));
  });
});

/** folio-batch without tlb_delay_rmap(): a dirty batch's rmap goes before the TLB flush. */
const eagerRmap: ZapStrategy = {
  ...folioBatch,
  name: "folio-batch-eager-rmap",
  zapPresentPtes: zapPresentPtesV69With({ delayRmap: () => false }), // BUG: no tlb_delay_rmap(), no force_flush
};

describe("no-lost-write on large file folios", () => {
  it("a batch of a dirty 64K shmem folio whose rmap goes before the flush breaks no-lost-write", () => {
    const spec = shmemMunmap("write");
    let caught: unknown;
    try {
      runScenario(spec, { strategy: eagerRmap });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(InvariantViolation);
    expect((caught as InvariantViolation).violation.invariant).toBe("no-lost-write");
    // Clean batches break nothing: the rule is about dirty TLB entries.
    expect(() => runScenario(shmemMunmap("read"), { strategy: eagerRmap })).not.toThrow();
  });
});

describe("every strategy on shmem at every folio size: the per-page state", () => {
  const sizes: Array<[string, Record<string, string>]> = [
    ["4K", {}],
    ["16K", { "16K": "always" }],
    ["64K", { "64K": "always" }],
    ["2M", { "2M": "always" }],
  ];
  for (const [name, shmem] of sizes) {
    it(`${name}: fork, partial munmap, MADV_DONTNEED and exit end alike`, () => {
      const spec: Spec = {
        name: `shmem-${name}`,
        config: { shmem },
        ops: [
          { op: "mmap", id: "s", size: "6M", kind: "shmem" },
          { op: "write", id: "s", length: "4M", value: 9 },
          { op: "fork", as: "c" },
          { op: "read", proc: "c", id: "s" },
          { op: "munmap", id: "s", offset: "1M", length: "20K", stride: "256K" },
          { op: "madvise", proc: "c", id: "s", offset: "2M", length: "2M", advice: "dontneed" },
          { op: "expect", proc: "c", id: "s", offset: "3M", value: 9 },
          { op: "exit" },
          { op: "exit", proc: "c" },
        ],
      };
      const base = run(spec, perPage).result;
      for (const s of ALL) {
        const r = run(spec, s).result;
        expect(r.expects.every((e) => e.ok)).toBe(true);
        expect({ ...r, strategy: "", costs: {} }).toEqual({ ...base, strategy: "", costs: {} });
      }
    });
  }
});

it("cost keys exist for what these tests read", () => {
  for (const key of [
    "nr_pages_mapped_atomic",
    "gather_entries",
    "gather_flush",
    "folio_mark_dirty",
    "folios_freed",
    "pages_freed",
  ]) {
    expect(COST_EVENT_KEYS).toContain(key);
  }
});
