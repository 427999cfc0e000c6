// Swap behaviours of Linux 6.18 pinned with the numbers `foliolab kernel` measured on this
// project's machine (Linux 6.18.44, a 64M swap file the kernel probe enabled for the run on a
// rotational virtio disk, zswap off). The scenario files in testing/measured/ hold those numbers
// in their `expect` ops; kernel-probe's kernel.test.ts runs the same files on the kernel.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ptePfn } from "./page-table.js";
import { runScenario, runScenarioDetailed } from "./run-scenario.js";
import type { Scenario } from "./scenario.js";
import { reference } from "./testing/per-pte.js";

const measured = (name: string): Scenario =>
  JSON.parse(readFileSync(new URL(`./testing/measured/${name}.json`, import.meta.url), "utf8")) as Scenario;

describe("swap, as Linux 6.18 does it (numbers measured by foliolab kernel)", () => {
  it("a read fault keeps the swap cache: reclaim drops the clean folio without writing it again", () => {
    // do_swap_page() frees the swap cache only when should_try_to_free_swap() says so (a write
    // fault that will own the page); the 128 pages read back stay in the swap cache, clean, and
    // the next MADV_PAGEOUT drops them with no pswpout: 256 + 64 (the rewritten pages) = 320.
    const r = runScenario(measured("swap-read-keeps-cache"), { strategy: reference });
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
    expect(r.vmstat.pswpout).toBe(320);
    // One fault per page read or written back, one per checked load.
    expect(r.vmstat.pgfault).toBe(256 + 128 + 64 + 2);
  });

  it("a write fault on a swap PTE is one fault, also when do_wp_page() has to copy", () => {
    // The child's write finds the swap entry shared with main (count 2): do_swap_page() maps it
    // read-only and finishes with do_wp_page() (a copy) in the same fault. Main's write then owns
    // the swap-cache folio and reuses it. 4096 pages x 3 writes = 12288 faults (the kernel
    // measured 12379 machine-wide on a quiet machine); the model used to count 16384. The loads at the end hit present pages.
    const r = runScenario(measured("swap-write-fault"), { strategy: reference });
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
    expect(r.vmstat.pgfault).toBe(12288);
  });

  it("gives a split folio's pages their swap slots last page first, so a munmap zaps them one entry at a time", () => {
    // shrink_folio_list() takes folios from the tail of its list and a split adds the tail pages
    // there: a 16K folio's pages get slots s, s+3, s+2, s+1 (the kernel's pagemap, read by
    // kernel-probe's kernel-swap.test.ts). swap_pte_batch() then never finds two consecutive
    // slots: free_swap_and_cache_nr() once per swap PTE (256), where 4K pages paged out in order
    // take one call per PTE table's run (here 1).
    const slots: number[] = [];
    const spec = measured("swap-split-slot-order");
    const { result } = runScenarioDetailed(spec, {
      strategy: reference,
      onOp: (k, _op, i) => {
        if (i !== 3) return;
        const mm = k.procs.get("main")!;
        const start = mm.vmas[0]!.start;
        for (let p = 0; p < 256; p++) slots.push(ptePfn(mm.pgtables.readPte(start + p)));
      },
    });
    expect(result.expects.filter((e) => !e.ok)).toEqual([]);
    const rel = slots.map((s, p) => s - (slots[p - (p % 4)] as number));
    expect(rel.slice(0, 8)).toEqual([0, 3, 2, 1, 0, 3, 2, 1]);
    expect(new Set(slots).size).toBe(256);
    const munmapOnly = (s: Scenario, event = "free_swap_and_cache_nr") => {
      const before = runScenario({ ...s, ops: s.ops.slice(0, 6) }, { strategy: reference }).costs;
      const after = runScenario({ ...s, ops: s.ops.slice(0, 7) }, { strategy: reference }).costs;
      return (after[event] ?? 0) - (before[event] ?? 0);
    };
    expect(munmapOnly(spec)).toBe(256);
    const small = { ...spec, config: { ...spec.config, mthp: { "16K": "never", "2M": "never" } } } as Scenario;
    expect(munmapOnly(small)).toBe(1);
    // ... and every entry of a batch still has its swap_map count dropped, one by one
    expect(munmapOnly(spec, "swap_entries_put")).toBe(256);
    expect(munmapOnly(small, "swap_entries_put")).toBe(256);
    // the child's load at the end swaps one page in: swap_free_nr() drops one more
    const all = runScenario(spec, { strategy: reference }).costs;
    const upToMunmap = runScenario({ ...spec, ops: spec.ops.slice(0, 7) }, { strategy: reference }).costs;
    expect((all.swap_entries_put ?? 0) - (upToMunmap.swap_entries_put ?? 0)).toBe(1);
  });

  it("writes nothing to swap for zero-filled pages (the swap zeromap, 6.12+)", () => {
    // "a" is 256 pages written with 0: they take swap entries (VmSwap 1024 kB) but no IO. "b"'s
    // 16 64K folios fall back to order 0 (swpout_fallback 16); their 15 zero-filled pages each
    // are mapped to the zero page by the split, the 16 written ones go to swap (pswpout 16).
    const r = runScenario(measured("swap-zeromap"), { strategy: reference });
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
    expect(r.vmstat.pswpout).toBe(16);
    expect(r.mthp["hugepages-64kB"]?.swpout_fallback).toBe(16);
    expect(r.procs.main).toMatchObject({ VmSwap: 1080, RssAnon: 8 });
  });

  it("shmem: MADV_PAGEOUT swaps out what it covers, 4K page by page; a read swaps one page back in", () => {
    // shmem_writeout(): each covered page goes to swap (pswpout 128, then 256) and leaves the
    // page cache for a swap entry; RssShmem drops, VmSwap stays 0 (shmem swap is no MM_SWAPENTS).
    // Fault-around finds no folio at swapped-out indices: the 64 pages read back fault one by
    // one, the load at 900K maps one page (260 kB, not 256 + 64).
    const r = runScenario(measured("shmem-swap-4k"), { strategy: reference });
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
    expect(r.vmstat.pswpout).toBe(256);
    expect(r.vmstat.nr_shmem).toBe(65);
    expect(r.procs.main).toMatchObject({ RssShmem: 260, VmSwap: 0 });
  });

  it("shmem: a 2M folio paged out in part is split and nothing swapped; paged out whole it is split and all of it swapped", () => {
    // The partial range: split_folio() (thp_split_pmd, thp_split_page), whose PMD goes without
    // PTEs, so no page is left mapped to page out. The whole PMD: try_to_unmap() splits the
    // PMD, shmem_writeout() the folio (no swpout_fallback), 512 pages written. Read back: one
    // swapped-in page at 2M, 16 pages of fault-around over the split folio at 8K, one at 3M.
    const r = runScenario(measured("shmem-swap-2m"), { strategy: reference });
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
    expect(r.vmstat).toMatchObject({ pswpout: 512, thp_split_pmd: 2, thp_split_page: 2, nr_shmem: 514 });
    expect(r.mthp["hugepages-2048kB"]).toMatchObject({ split: 2, swpout_fallback: 0 });
    expect(r.meminfo).toMatchObject({ ShmemHugePages: 0, ShmemPmdMapped: 0 });
    expect(r.procs.main).toMatchObject({ RssShmem: 72, VmSwap: 0 });
  });

  it("shmem: MADV_PAGEOUT leaves the pages another process maps too (folio_mapcount() != nr_pages)", () => {
    // The child maps the first 512K by reading it: main's MADV_PAGEOUT of the whole mapping swaps
    // only the other 128 pages; the child's load at 768K swaps one page back in.
    const r = runScenario(measured("shmem-swap-shared"), { strategy: reference });
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
    expect(r.vmstat.pswpout).toBe(128);
    expect(r.procs.child).toMatchObject({ RssShmem: 516, VmSwap: 0 });
  });

  it("shmem: clean folios (only read) are dropped from the page cache, not written", () => {
    const r = runScenario(measured("shmem-swap-clean"), { strategy: reference });
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
    expect(r.vmstat.pswpout).toBe(0);
    // The final load faults one page back in (a hole again: zeroes).
    expect(r.vmstat.nr_shmem).toBe(1);
  });

  it("shmem: without swap, a dirty folio paged out stays in the page cache, unmapped", () => {
    const s = measured("shmem-swap-4k");
    const r = runScenario(
      { ...s, config: { ...s.config, swap: undefined }, ops: s.ops.filter((o) => o.op !== "expect") },
      { strategy: reference },
    );
    expect(r.vmstat.pswpout).toBe(0);
    expect(r.vmstat.nr_shmem).toBe(256);
  });
});
