/**
 * The seeds' claims (000, 001) reproduced with exact counts. Every expected number is derived
 * here from the scenario's arithmetic and the kernel rules; none is copied from a run.
 */

import { describe, expect, it } from "vitest";
import {
  anonFaulted,
  batchedAnon,
  contigRange,
  contigRangeSplits,
  folioBatch,
  MiB,
  PAGE,
  pageGatherSplits,
  perPage,
  run,
  withOps,
} from "./scenarios.js";

// 32M of 64K folios: 512 folios of 16 pages, 8,192 pages, below the 9,698-page v6.5 gather, so
// no gather fills and no PTE table (32 folios each) or VMA cuts a folio.
const SIZE = 32 * MiB;
const N = 16;
const FOLIOS = SIZE / (N * PAGE);
const PAGES = SIZE / PAGE;
const whole64K = withOps(anonFaulted(SIZE, "64K"), "munmap", { op: "munmap", id: "a" });

describe("munmap of whole 64K folios (batch-zap v4 review: spurious deferred split)", () => {
  const ref = run(whole64K, perPage);
  const runs = {
    batchedAnon: run(whole64K, batchedAnon),
    contigRange: run(whole64K, contigRange),
    folioBatch: run(whole64K, folioBatch),
  };

  it("scenario arithmetic holds: 512 folios of 64K were faulted", () => {
    expect(FOLIOS).toBe(512);
    expect(ref.result.mthp["hugepages-64kB"]?.anon_fault_alloc).toBe(FOLIOS);
  });

  it("per-page enqueues every folio once and takes split_queue_lock twice per folio", () => {
    // page_remove_rmap() of page 0 leaves 15 of 16 pages mapped: partially mapped -> enqueue (lock);
    // the free dequeues it (lock again).
    expect(ref.lastOp.deferred_split_enqueue).toBe(FOLIOS);
    expect(ref.lastOp.deferred_split_dequeue).toBe(FOLIOS);
    expect(ref.lastOp.split_queue_lock).toBe(2 * FOLIOS);
    expect(ref.result.mthp["hugepages-64kB"]?.split_deferred).toBe(FOLIOS);
  });

  it("batched-anon and folio-batch enqueue none", () => {
    for (const r of [runs.batchedAnon, runs.folioBatch]) {
      expect(r.lastOp.deferred_split_enqueue).toBe(0);
      expect(r.lastOp.split_queue_lock).toBe(0);
      expect(r.result.mthp["hugepages-64kB"]?.split_deferred).toBe(0);
    }
  });

  it("contig-range enqueues only the folios a batch-page boundary cuts (the last range of a batch has one page)", () => {
    // Ranges 0..7 fill the local batch; the folio whose range opens in slot 7 continues in the
    // next batch page; then every 255 ranges again: for 512 folios, slots 7 and 262.
    const splits = contigRangeSplits(FOLIOS);
    expect(splits).toBe(2);
    expect(runs.contigRange.lastOp.deferred_split_enqueue).toBe(splits);
    expect(runs.contigRange.lastOp.split_queue_lock).toBe(2 * splits);
    expect(runs.contigRange.result.mthp["hugepages-64kB"]?.split_deferred).toBe(splits);
  });

  it("_nr_pages_mapped atomics drop from one per page to one per batch", () => {
    expect(ref.lastOp.nr_pages_mapped_atomic).toBe(PAGES);
    expect(runs.batchedAnon.lastOp.nr_pages_mapped_atomic).toBe(FOLIOS);
    expect(runs.folioBatch.lastOp.nr_pages_mapped_atomic).toBe(FOLIOS);
    // one folio_remove_rmap_range() per range
    expect(runs.contigRange.lastOp.nr_pages_mapped_atomic).toBe(FOLIOS + contigRangeSplits(FOLIOS));
  });

  it("contig-range holds about one gather entry per folio where per-page holds one per page", () => {
    expect(ref.lastOp.gather_entries).toBe(PAGES);
    expect(runs.batchedAnon.lastOp.gather_entries).toBe(PAGES);
    expect(runs.contigRange.lastOp.gather_entries).toBe(FOLIOS + contigRangeSplits(FOLIOS));
    // folio-batch: page + encode_nr_pages(nr), two entries per folio
    expect(runs.folioBatch.lastOp.gather_entries).toBe(2 * FOLIOS);
  });

  it("reference drops at free: one per page (per-page), plus get/put per batch (batched-anon), one per range or folio", () => {
    expect(ref.lastOp.refcount_atomic).toBe(PAGES);
    expect(runs.batchedAnon.lastOp.refcount_atomic).toBe(PAGES + 2 * FOLIOS);
    expect(runs.contigRange.lastOp.refcount_atomic).toBe(FOLIOS + contigRangeSplits(FOLIOS));
    expect(runs.folioBatch.lastOp.refcount_atomic).toBe(FOLIOS);
  });

  it("folio-batch and contig-range call free_swap_cache once per item, the others once per page", () => {
    expect(ref.lastOp.free_swap_cache).toBe(PAGES);
    expect(runs.batchedAnon.lastOp.free_swap_cache).toBe(PAGES);
    expect(runs.contigRange.lastOp.free_swap_cache).toBe(FOLIOS + contigRangeSplits(FOLIOS));
    expect(runs.folioBatch.lastOp.free_swap_cache).toBe(FOLIOS);
  });
});

describe("small folios", () => {
  const specs = [
    withOps(anonFaulted(8 * MiB, "4K"), "munmap", { op: "munmap", id: "a", offset: "12K", length: "5M" }),
    {
      name: "small-file-and-anon-exit",
      ops: [
        { op: "mmap", id: "s", size: "1M", kind: "file-shared" },
        { op: "mmap", id: "a", size: "3M", kind: "anon" },
        { op: "write", id: "s", offset: "0", length: "512K" },
        { op: "read", id: "s" },
        { op: "write", id: "a" },
        { op: "exit" },
      ],
    },
  ];
  it.each(specs.map((s) => [s.name, s] as const))("%s: batched-anon costs exactly what per-page costs", (_n, spec) => {
    expect(run(spec, batchedAnon).result.costs).toEqual(run(spec, perPage).result.costs);
  });
});

describe("folios that must still be enqueued, under every strategy", () => {
  const all = [perPage, batchedAnon, contigRange, folioBatch];

  it("a partial munmap leaves each cut folio partially mapped", () => {
    // 4M of 64K folios; unmap 8K..40K of every other folio (stride 128K): 16 folios cut.
    const spec = withOps(anonFaulted(4 * MiB, "64K"), "partial", {
      op: "munmap",
      id: "a",
      offset: "8K",
      length: "32K",
      stride: "128K",
    });
    const cut = (4 * MiB) / (128 * 1024);
    for (const s of all) {
      const r = run(spec, s);
      expect(r.result.mthp["hugepages-64kB"]?.nr_anon_partially_mapped, s.name).toBe(cut);
      expect(r.result.mthp["hugepages-64kB"]?.split_deferred, s.name).toBe(cut);
    }
  });

  it("a folio straddling two VMAs is unmapped in two rmap calls and enqueued", () => {
    // mprotect(r) of [8K, 8K + 1M) cuts the 64K folios at 0 and 1M into two VMAs each.
    const spec = withOps(
      anonFaulted(4 * MiB, "64K"),
      "two-vmas",
      { op: "mprotect", id: "a", offset: "8K", length: "1M", prot: "r" },
      {
        op: "munmap",
        id: "a",
      },
    );
    for (const s of all) {
      const r = run(spec, s);
      const expected = s === perPage ? (4 * MiB) / (64 * 1024) : s === contigRange ? 2 + contigRangeSplits(64 + 2) : 2;
      expect(r.lastOp.deferred_split_enqueue, s.name).toBe(expected);
    }
  });

  it("a gather that fills mid-folio cuts that folio; folio-batch's items are whole folios", () => {
    // 80M of 16K folios: 5,120 folios of 4 pages. The v6.5 gather fills every 9,698 pages:
    // at page 9,698 (mid-folio) and 19,396 (a folio end). folio-batch fills after
    // 4 + 19 * 255 = 4,849 two-entry items, always at an item (folio) boundary.
    const folios = (80 * MiB) / (16 * 1024);
    const spec = withOps(anonFaulted(80 * MiB, "16K"), "fill", { op: "munmap", id: "a" });
    const pp = run(spec, perPage, false);
    const ba = run(spec, batchedAnon, false);
    const cr = run(spec, contigRange, false);
    const fb = run(spec, folioBatch, false);
    expect(pp.lastOp.deferred_split_enqueue).toBe(folios);
    expect(pageGatherSplits(folios, 4)).toBe(1);
    expect(ba.lastOp.deferred_split_enqueue).toBe(pageGatherSplits(folios, 4));
    expect(ba.lastOp.gather_flush).toBe(Math.ceil((folios * 4) / (8 + 19 * 510)));
    expect(cr.lastOp.deferred_split_enqueue).toBe(contigRangeSplits(folios));
    const items = 8 / 2 + 19 * (510 / 2);
    expect(items).toBe(4849);
    expect(fb.lastOp.gather_flush).toBe(Math.ceil(folios / items));
    expect(fb.lastOp.deferred_split_enqueue).toBe(0);
  });
});
