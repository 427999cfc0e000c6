// Shared anonymous memory with large folios. The two "measured" scenarios are what `foliolab
// kernel` ran on this project's machine (Linux 6.18.44, x86-64): every mthp, vmstat (bar
// pgfault, machine-wide) and procs field agreed with the model; nr_shmem and Shmem, which the
// kernel keeps in per-cpu deltas, read 16 (first) and 4 (second) pages low mid-run.
import { describe, expect, it } from "vitest";
import { auditInvariants } from "./invariants.js";
import { PG } from "./mem-map.js";
import { observe } from "./observe.js";
import { runScenario, runScenarioDetailed } from "./run-scenario.js";
import { shmemAllowableHugeOrders } from "./shmem.js";
import { reference } from "./testing/per-pte.js";

const run = (spec: object) => runScenario({ name: "t", ...spec }, { strategy: reference });

describe("shmem folio sizes (shmem_allowable_huge_orders, 6.18)", () => {
  it("measured: within_size gives a PMD THP only where 2M fits below i_size; advise needs MADV_HUGEPAGE", () => {
    const r = run({
      config: { memory: "64M", shmem: { "2M": "within_size", "64K": "advise" } },
      ops: [
        { op: "mmap", id: "s", size: "3M", kind: "shmem" },
        { op: "write", id: "s", value: 7 },
        { op: "mmap", id: "t", size: "1M", kind: "shmem" },
        { op: "write", id: "t", offset: "0", length: "512K", value: 8 },
        { op: "madvise", id: "t", advice: "hugepage" },
        { op: "write", id: "t", offset: "512K", length: "512K", value: 9 },
        {
          op: "expect",
          counters: {
            mthp: { "hugepages-2048kB": { shmem_alloc: 1 }, "hugepages-64kB": { shmem_alloc: 8, shmem_fallback: 0 } },
            vmstat: { thp_file_alloc: 1, thp_file_mapped: 1, nr_shmem: 1024, pgfault: 1 + 256 + 128 + 8 },
            meminfo: { Shmem: 4096, ShmemHugePages: 2048, ShmemPmdMapped: 2048 },
            procs: { main: { RssShmem: 4096, RssFile: 0, RssAnon: 0, AnonHugePages: 0 } },
          },
        },
        // A partial munmap of the PMD THP drops the whole PMD; of 64K folios, keeps them whole.
        { op: "munmap", id: "t", offset: "512K", length: "4K", stride: "64K" },
        { op: "munmap", id: "s", offset: "1M", length: "4K" },
        {
          op: "expect",
          counters: {
            mthp: { "hugepages-64kB": { split_deferred: 0, nr_anon_partially_mapped: 0, split: 0 } },
            vmstat: { thp_split_pmd: 1, thp_deferred_split_page: 0, nr_shmem: 1024 },
            meminfo: { Shmem: 4096, ShmemHugePages: 2048, ShmemPmdMapped: 0 },
            procs: { main: { RssShmem: 1024 + 1024 - 32 } },
          },
        },
        // Read faults map from the cache, 16 pages a fault (fault-around).
        { op: "read", id: "s", offset: "1028K", length: "1020K" },
        { op: "expect", id: "s", offset: "1536K", value: 7 },
        { op: "expect", counters: { procs: { main: { RssShmem: 2016 + 1020 } } } },
        { op: "exit" },
        { op: "expect", counters: { vmstat: { nr_shmem: 0 }, meminfo: { Shmem: 0, ShmemHugePages: 0 } } },
      ],
    });
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
    expect(r.meminfo.MemFree).toBe(run({ config: { memory: "64M" }, ops: [] }).meminfo.MemFree);
  });

  it("measured: a read allocates (no zero page); MADV_DONTNEED keeps the page cache; the child shares it", () => {
    const r = run({
      config: { shmem: { "16K": "always" } },
      ops: [
        { op: "mmap", id: "s", size: "1M", kind: "shmem" },
        { op: "read", id: "s" },
        {
          op: "expect",
          counters: {
            mthp: { "hugepages-16kB": { shmem_alloc: 64 } },
            vmstat: { nr_shmem: 256, pgfault: 64 },
            procs: { main: { RssShmem: 1024 } },
          },
        },
        { op: "write", id: "s", value: 5 },
        { op: "madvise", id: "s", advice: "dontneed" },
        { op: "expect", counters: { vmstat: { nr_shmem: 256 }, meminfo: { Shmem: 1024 }, procs: { main: { RssShmem: 0 } } } },
        { op: "fork", as: "c" },
        // fork copies no shmem PTE; the child's read fault maps the 64K fault-around window, and
        // so does the load of the checked read at 256K.
        { op: "expect", counters: { procs: { c: { RssShmem: 0 } } } },
        { op: "read", proc: "c", id: "s", offset: "0", length: "4K" },
        { op: "expect", proc: "c", id: "s", offset: "256K", value: 5 },
        { op: "expect", counters: { procs: { c: { RssShmem: 128 } } } },
        // A write fault maps the whole 16K folio.
        { op: "write", proc: "c", id: "s", offset: "512K", length: "4K", value: 6 },
        { op: "expect", counters: { procs: { c: { RssShmem: 144 } } } },
        { op: "exit" },
        { op: "expect", proc: "c", id: "s", offset: "512K", value: 6 },
        { op: "expect", proc: "c", counters: { vmstat: { nr_shmem: 256 } } },
        { op: "exit", proc: "c" },
        { op: "expect", counters: { vmstat: { nr_shmem: 0 }, meminfo: { Shmem: 0 } } },
      ],
    });
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
  });

  it("measured: a 2M PMD THP per fault, shared by a forked reader, a partial munmap drops its PMD", () => {
    const r = run({
      config: { shmem: { "2M": "always" } },
      ops: [
        { op: "mmap", id: "s", size: "4M", kind: "shmem" },
        { op: "write", id: "s" },
        { op: "fork", as: "c" },
        { op: "read", proc: "c", id: "s" },
        { op: "munmap", id: "s", offset: "4K", length: "8K" },
        { op: "madvise", id: "s", offset: "1M", length: "1M", advice: "dontneed" },
        { op: "read", id: "s", offset: "1M", length: "4K" },
        {
          op: "expect",
          counters: {
            mthp: { "hugepages-2048kB": { shmem_alloc: 2 } },
            vmstat: { thp_file_alloc: 2, thp_file_mapped: 4, thp_split_pmd: 1, pgfault: 5 },
            // NR_SHMEM_PMDMAPPED counts a folio once, however many PMDs map it.
            meminfo: { ShmemPmdMapped: 4096, ShmemHugePages: 4096 },
            procs: { main: { RssShmem: 2048 + 64 }, c: { RssShmem: 4096 } },
          },
        },
      ],
    });
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
  });

  it("never and inherit (of a never top level) allocate order 0 only; VM_NOHUGEPAGE overrides always", () => {
    for (const policy of ["never", "inherit"]) {
      const r = run({
        config: { shmem: { "64K": policy } },
        ops: [
          { op: "mmap", id: "s", size: "1M", kind: "shmem" },
          { op: "write", id: "s" },
        ],
      });
      expect(r.mthp["hugepages-64kB"]?.shmem_alloc).toBe(0);
      expect(r.vmstat.pgfault).toBe(256);
    }
    const r = run({
      config: { shmem: { "64K": "always" } },
      ops: [
        { op: "mmap", id: "s", size: "1M", kind: "shmem" },
        { op: "madvise", id: "s", advice: "nohugepage" },
        { op: "write", id: "s" },
      ],
    });
    expect(r.mthp["hugepages-64kB"]?.shmem_alloc).toBe(0);
  });

  it("within_size ORs in every within_size order once one fits (the kernel's mask), the VMA then filters", () => {
    const { kernel } = runScenarioDetailed(
      {
        name: "t",
        config: { shmem: { "64K": "within_size", "2M": "within_size" } },
        ops: [{ op: "mmap", id: "s", size: "1M", kind: "shmem" }],
      },
      { strategy: reference },
    );
    const vma = kernel.procs.get("main")?.vmas[0];
    if (!vma?.file) throw new Error("no shmem VMA");
    // index 0 of a 1M file: 2M does not fit below i_size, 64K does; the mask gets both.
    expect(shmemAllowableHugeOrders(kernel, vma.file, vma, 0)).toBe((1 << 4) | (1 << 9));
    // The last page: no within_size order fits past it... 64K ends exactly at i_size, so it does.
    expect(shmemAllowableHugeOrders(kernel, vma.file, vma, 255)).toBe((1 << 4) | (1 << 9));
    // And a fault there gets a 64K folio: the 2M one does not fit the 1M VMA.
    const r = run({
      config: { shmem: { "64K": "within_size", "2M": "within_size" } },
      ops: [
        { op: "mmap", id: "s", size: "1M", kind: "shmem" },
        { op: "write", id: "s" },
      ],
    });
    expect(r.mthp["hugepages-64kB"]?.shmem_alloc).toBe(16);
    expect(r.mthp["hugepages-2048kB"]?.shmem_alloc).toBe(0);
  });

  it("a size the allocator cannot give counts shmem_fallback and the next size down is taken", () => {
    // 8M of model memory less the reserved 4M block: no free 2M block is left after 1M of 64K.
    const r = run({
      config: { memory: "8M", shmem: { "2M": "always", "64K": "always" } },
      ops: [
        { op: "mmap", id: "a", size: "3M", kind: "anon" },
        { op: "write", id: "a" },
        { op: "mmap", id: "s", size: "2M", kind: "shmem" },
        { op: "write", id: "s", length: "64K" },
      ],
    });
    expect(r.mthp["hugepages-2048kB"]?.shmem_fallback).toBe(1);
    expect(r.mthp["hugepages-64kB"]?.shmem_alloc).toBe(1);
    expect(r.vmstat.thp_file_alloc).toBe(0);
  });
});

describe("MADV_PAGEOUT and MADV_COLD on shmem folios (no swap)", () => {
  it("measured: pageout unmaps whole folios and keeps them cached; a partial one splits (unmapped, not remapped); cold unmaps nothing", () => {
    const r = run({
      config: { shmem: { "64K": "always" } },
      ops: [
        { op: "mmap", id: "s", size: "1M", kind: "shmem" },
        { op: "write", id: "s", value: 3 },
        { op: "madvise", id: "s", offset: "0", length: "512K", advice: "pageout" },
        { op: "expect", counters: { procs: { main: { RssShmem: 512 } }, vmstat: { nr_shmem: 256 } } },
        // 8K inside the folio at 512K: split_folio() unmaps all 16 pages and leaves them unmapped.
        { op: "madvise", id: "s", offset: "516K", length: "8K", advice: "pageout" },
        {
          op: "expect",
          counters: { procs: { main: { RssShmem: 448 } }, mthp: { "hugepages-64kB": { split: 1, split_failed: 0 } } },
        },
        { op: "madvise", id: "s", offset: "768K", length: "256K", advice: "cold" },
        { op: "expect", counters: { procs: { main: { RssShmem: 448 } }, vmstat: { nr_shmem: 256 } } },
        // The checked reads are loads: the one at 4K maps its 64K folio again, the one at 520K
        // brings the 16 split pages back from the cache in one fault-around window.
        { op: "expect", id: "s", offset: "4K", value: 3 },
        { op: "expect", id: "s", offset: "520K", value: 3 },
        { op: "read", id: "s", offset: "512K", length: "64K" },
        { op: "expect", counters: { procs: { main: { RssShmem: 576 } }, vmstat: { pgfault: 16 + 2 } } },
      ],
    });
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
  });
});

describe("shmem folios in teardown", () => {
  it("are never queued for deferred split, whatever part of them is unmapped", () => {
    const r = run({
      config: { shmem: { "64K": "always", "2M": "always" } },
      ops: [
        { op: "mmap", id: "s", size: "4M", kind: "shmem" },
        { op: "mmap", id: "t", size: "1M", kind: "shmem" },
        { op: "write", id: "s" },
        { op: "write", id: "t" },
        { op: "munmap", id: "t", offset: "4K", length: "4K", stride: "16K" },
        { op: "madvise", id: "s", offset: "8K", length: "1M", advice: "dontneed" },
        { op: "reclaim" },
      ],
    });
    expect(r.vmstat.thp_deferred_split_page).toBe(0);
    for (const row of Object.values(r.mthp)) {
      expect(row.split_deferred).toBe(0);
      expect(row.split).toBe(0);
    }
  });

  it("a shmem folio on the deferred split queue breaks deferred-split-queue", () => {
    const { kernel } = runScenarioDetailed(
      {
        name: "t",
        config: { shmem: { "64K": "always" } },
        ops: [
          { op: "mmap", id: "s", size: "1M", kind: "shmem" },
          { op: "write", id: "s" },
        ],
      },
      { strategy: reference },
    );
    const file = kernel.files[0];
    const folio = file?.folioAt(0) ?? -1;
    kernel.deferredSplitQueue.add(folio);
    kernel.mem.flags[folio] = (kernel.mem.flags[folio] as number) | PG.deferredList | PG.partiallyMapped;
    expect(() => auditInvariants(kernel)).toThrow(/deferred-split-queue/);
  });

  it("the page cache holds folio_nr_pages references: one fewer breaks page-cache-refs", () => {
    const { kernel } = runScenarioDetailed(
      {
        name: "t",
        config: { shmem: { "64K": "always" } },
        ops: [
          { op: "mmap", id: "s", size: "1M", kind: "shmem" },
          { op: "write", id: "s" },
          { op: "madvise", id: "s", advice: "dontneed" },
        ],
      },
      { strategy: reference },
    );
    const folio = kernel.files[0]?.folioAt(5) ?? -1;
    expect(kernel.mem.refcount[folio]).toBe(16);
    auditInvariants(kernel);
    kernel.mem.refcount[folio] = 15;
    expect(() => auditInvariants(kernel)).toThrow(/page-cache-refs/);
  });

  it("RssShmem, not RssFile, counts shmem pages; a file-shared mapping's stay in RssFile", () => {
    const r = run({
      config: { shmem: { "64K": "always" } },
      ops: [
        { op: "mmap", id: "s", size: "1M", kind: "shmem" },
        { op: "mmap", id: "f", size: "1M", kind: "file-shared" },
        { op: "write", id: "s" },
        { op: "write", id: "f" },
      ],
    });
    expect(r.procs.main).toMatchObject({ RssShmem: 1024, RssFile: 1024, RssAnon: 0 });
    expect(r.meminfo.Shmem).toBe(1024);
  });

  it("mprotect back to rw makes shmem PTEs writable again without a fault (no write-notify)", () => {
    const r = run({
      config: { shmem: { "2M": "always" } },
      ops: [
        { op: "mmap", id: "s", size: "4M", kind: "shmem" },
        { op: "mmap", id: "t", size: "1M", kind: "shmem" },
        { op: "read", id: "s" },
        { op: "read", id: "t" },
        { op: "mprotect", id: "s", prot: "r" },
        { op: "mprotect", id: "t", prot: "r" },
        { op: "mprotect", id: "s", prot: "rw" },
        { op: "mprotect", id: "t", prot: "rw" },
        { op: "write", id: "s", value: 3 },
        { op: "write", id: "t", value: 3 },
        { op: "expect", id: "s", offset: "3M", value: 3 },
      ],
    });
    // 2 PMD read faults and 256 of order-0 folios (2M does not fit the 1M VMA), then no write fault.
    expect(r.vmstat.pgfault).toBe(2 + 256);
    expect(r.expects.every((e) => e.ok)).toBe(true);
  });

  it("observe() sees the page cache of a large folio page by page", () => {
    const { kernel } = runScenarioDetailed(
      {
        name: "t",
        config: { shmem: { "64K": "always" } },
        ops: [
          { op: "mmap", id: "s", size: "128K", kind: "shmem" },
          { op: "write", id: "s", offset: "4K", length: "4K", value: 9 },
          { op: "madvise", id: "s", advice: "dontneed" },
        ],
      },
      { strategy: reference },
    );
    const pages = observe(kernel).procs.main?.mappings.s ?? [];
    expect(pages.map((p) => p.value).slice(0, 3)).toEqual([0, 9, 0]);
    expect(observe(kernel).procs.main?.rss.shmem).toBe(0);
  });
});
