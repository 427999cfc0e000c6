// Behaviours `foliolab fuzz --kernel` found, pinned with the numbers `foliolab kernel` measured on this
// project's machine (the case `foliolab fuzz --kernel` found: seed 2802362293, shrunk to 3 ops).

import { describe, expect, it } from "vitest";
import { runScenario } from "./run-scenario.js";
import { reference } from "./testing/per-pte.js";
import { reclaimUnmapBatchOf } from "./zap.js";
import { freePagesAndSwapCacheV618 } from "./zap-v69.js";

describe("fork copies page tables only where vma_needs_copy()", () => {
  it("leaves a file mapping without anon pages to fault in the child (RssFile 0), copies a COWed private one", () => {
    const r = runScenario(
      {
        name: "fork file",
        ops: [
          { op: "mmap", id: "s", size: "128K", kind: "file-shared" },
          { op: "read", id: "s", offset: "64K", length: "64K" },
          { op: "mmap", id: "p", size: "128K", kind: "file-private" },
          { op: "read", id: "p" },
          { op: "write", id: "p", length: "4K", value: 3 },
          { op: "fork", as: "child" },
          // measured: main RssFile 64 + 124 = 188 kB, RssAnon 4; child RssFile 124 (p's file pages,
          // copied with the table), RssAnon 4 (p's COWed page), nothing of s.
          {
            op: "expect",
            counters: { procs: { main: { RssFile: 188, RssAnon: 4 }, child: { RssFile: 124, RssAnon: 4 } } },
          },
          { op: "expect", proc: "child", id: "p", value: 3 },
        ],
      },
      { strategy: reference },
    );
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
  });

  it("does not copy an anon VMA that was only read (no anon_vma): the child's write gets a fresh mTHP", () => {
    // Found by the fuzzer (seed 1486186692). A read fault maps the zero page without
    // anon_vma_prepare(); fork skips the VMA, so the child's write finds pte_none and gets a
    // 128K folio, while main's write copies its zero-page PTEs to order-0 pages. Measured:
    // anon_fault_alloc 1 (128K), RssAnon 128 kB in each.
    const r = runScenario(
      {
        name: "fork after reads",
        config: { mthp: { "128K": "madvise", "2M": "never" } },
        ops: [
          { op: "mmap", id: "a", size: "128K", kind: "anon" },
          { op: "madvise", id: "a", advice: "hugepage" },
          { op: "read", id: "a", length: "64K" },
          { op: "fork", as: "child" },
          { op: "write", id: "a", proc: "child" },
          { op: "write", id: "a" },
          {
            op: "expect",
            counters: {
              mthp: { "hugepages-128kB": { anon_fault_alloc: 1 } },
              procs: { main: { RssAnon: 128 }, child: { RssAnon: 128 } },
            },
          },
        ],
      },
      { strategy: reference },
    );
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
  });
});

// PGLAZYFREE is counted when this CPU's lru_lazyfree folio_batch moves (lru_lazyfree_fn(),
// 6.18): when it is full, when a large folio joins it, or at lru_add_drain(). `foliolab kernel`
// measured here: 0 after three 4K folios were freed (found by the fuzzer: seed 1401181243), 19
// once a 64K folio joined the batch.
describe("pglazyfree counts when the lru_lazyfree batch moves", () => {
  it("counts nothing for small folios still in the batch, and all of them with the next large one", () => {
    const r = runScenario(
      {
        name: "lazyfree batch",
        config: { mthp: { "64K": "madvise", "2M": "never" } },
        ops: [
          { op: "mmap", id: "a", size: "64K", kind: "anon" },
          { op: "write", id: "a", offset: "8K", length: "12K" },
          { op: "madvise", id: "a", advice: "free" },
          { op: "expect", counters: { vmstat: { pglazyfree: 0 } } },
          { op: "mmap", id: "b", size: "128K", kind: "anon" },
          { op: "madvise", id: "b", advice: "hugepage" },
          { op: "write", id: "b" },
          { op: "madvise", id: "b", length: "64K", advice: "free" },
          { op: "expect", counters: { vmstat: { pglazyfree: 19 } } },
        ],
      },
      { strategy: reference },
    );
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
  });
});

// Fault-around on file read faults (do_fault_around(), fault_around_bytes 64K, 6.18). Found by
// the fuzzer (seed 464040777: one checked load of a fresh 1M file-shared mapping, RssFile 64 kB
// on the kernel). Every row is what `foliolab kernel` measured here for a fresh 1M mapping of
// each kind and the 4K accesses listed (offsets in K).
describe("a read fault on a file page maps the whole 64K fault-around window", () => {
  const rows: Array<[string, Array<["read" | "write", number]>, number, number]> = [
    ["file-shared", [["read", 56]], 64, 0],
    ["file-shared", [["read", 456]], 64, 0],
    ["file-shared", [["read", 0]], 64, 0],
    ["file-shared", [["read", 1020]], 64, 0],
    [
      "file-shared",
      [
        ["read", 56],
        ["read", 120],
      ],
      128,
      0,
    ],
    [
      "file-shared",
      [
        ["write", 56],
        ["read", 120],
      ],
      68,
      0,
    ],
    ["file-shared", [["write", 56]], 4, 0],
    ["file-private", [["read", 56]], 64, 0],
    [
      "file-private",
      [
        ["read", 56],
        ["read", 200],
      ],
      128,
      0,
    ],
    [
      "file-private",
      [
        ["write", 56],
        ["read", 120],
      ],
      64,
      4,
    ],
    ["file-private", [["write", 56]], 0, 4],
  ];
  it.each(rows)("%s %j: RssFile %i kB, RssAnon %i kB", (kind, accesses, rssFile, rssAnon) => {
    const r = runScenario(
      {
        name: "fault-around",
        ops: [
          { op: "mmap", id: "a", size: "1M", kind: kind as "file-shared" | "file-private" },
          ...accesses.map(([op, kb]) => ({ op, id: "a", offset: `${kb}K`, length: "4K" })),
        ],
      },
      { strategy: reference },
    );
    expect(r.procs.main).toMatchObject({ RssFile: rssFile, RssAnon: rssAnon });
  });
});

// Splits carry PG_dirty (6.18): a dirty PTE found while unmapping the folio for the split marks
// it dirty, and every folio of the split inherits PG_dirty, so lazyfree reclaim keeps them.
// `foliolab kernel` measured this program here: the first 64K folio (its first page unmapped,
// page 8 redirtied) is split by MADV_PAGEOUT and all of it kept; the second (page 24
// redirtied) kept whole by the merged batch; the other two discarded: pglazyfreed 32, RssAnon
// 124 kB, split 1.
describe("splits carry PG_dirty into lazyfree reclaim", () => {
  it("keeps every page of a split lazyfree folio that had one dirty PTE", () => {
    const r = runScenario(
      {
        name: "dirty split",
        config: { mthp: { "64K": "madvise", "2M": "never" } },
        ops: [
          { op: "mmap", id: "a", size: "256K", kind: "anon" },
          { op: "madvise", id: "a", advice: "hugepage" },
          { op: "write", id: "a", value: 5 },
          { op: "madvise", id: "a", advice: "free" },
          { op: "munmap", id: "a", offset: "0", length: "4K" },
          { op: "write", id: "a", offset: "32K", length: "4K", value: 6 },
          { op: "write", id: "a", offset: "96K", length: "4K", value: 7 },
          { op: "madvise", id: "a", offset: "4K", advice: "pageout" },
          {
            op: "expect",
            counters: {
              vmstat: { pglazyfree: 64, pglazyfreed: 32 },
              mthp: { "hugepages-64kB": { split: 1 } },
              procs: { main: { RssAnon: 124 } },
            },
          },
          { op: "expect", id: "a", offset: "8K", value: 5 },
          { op: "expect", id: "a", offset: "32K", value: 6 },
        ],
      },
      // 6.18's reclaim batching (folio_unmap_pte_batch), as folio-batch has it.
      { strategy: { ...reference, reclaimUnmapBatch: reclaimUnmapBatchOf("partial") } },
    );
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
  });
});

// mremap(MREMAP_MAYMOVE) keeps the moved range's offset inside its PMD (mremapPlacement(), and
// the probe's runner since the fuzzer found seeds 683131269, 2288741595, 3254384852 and
// 1627193077, where it put the range PMD-aligned and so had mTHPs the model could not fit), so
// alloc_anon_folio() finds the same aligned ranges free. `foliolab kernel` measured this program
// here: the 512K moved from offset 2880K is not 512K-aligned, its writes fault order-0 pages
// (16 kB); the 1M moved from 1536K is, its write at 512K gets one 512K folio: anon_fault_alloc
// 1, RssAnon 528 kB.
describe("mremap keeps the offset inside the PMD", () => {
  it("fits an mTHP only where the moved range is aligned for it", () => {
    const r = runScenario(
      {
        name: "mremap placement",
        config: { mthp: { "512K": "madvise", "2M": "never" } },
        ops: [
          { op: "mmap", id: "a", size: "4M", kind: "anon" },
          { op: "madvise", id: "a", advice: "hugepage" },
          { op: "mremap", id: "a", offset: "2880K", length: "512K", to: "m" },
          { op: "mremap", id: "a", offset: "1536K", length: "1M", to: "n" },
          { op: "write", id: "m", offset: "472K", length: "16K" },
          { op: "expect", counters: { mthp: { "hugepages-512kB": { anon_fault_alloc: 0 } }, procs: { main: { RssAnon: 16 } } } },
          { op: "write", id: "n", offset: "512K", length: "4K" },
          {
            op: "expect",
            counters: { mthp: { "hugepages-512kB": { anon_fault_alloc: 1, nr_anon: 1 } }, procs: { main: { RssAnon: 528 } } },
          },
        ],
      },
      { strategy: reference },
    );
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
  });
});

// Found by the fuzzer (seed 317435801): munmap, MADV_DONTNEED and exit do not drain this CPU's
// lru_lazyfree batch in 6.18. `foliolab kernel` measured each program here: MADV_FREE of 48
// order-0 pages counts 31 (the batch moved once, full), and 31 it stays after a munmap or
// MADV_DONTNEED of another written mapping, or the exit of the process that freed them.
describe("munmap, MADV_DONTNEED and exit leave the lru_lazyfree batch alone", () => {
  const freed = (proc?: string) => {
    const p = proc ? { proc } : {};
    return [
      { op: "mmap", ...p, id: "w", size: "64K", kind: "anon" },
      { op: "write", ...p, id: "w" },
      { op: "mmap", ...p, id: "a", size: "512K", kind: "anon" },
      { op: "write", ...p, id: "a", offset: "256K", length: "256K" },
      { op: "madvise", ...p, id: "a", offset: "256K", length: "192K", advice: "free" },
    ] as const;
  };
  it.each([
    ["munmap", [...freed(), { op: "munmap", id: "w" }]],
    ["MADV_DONTNEED", [...freed(), { op: "madvise", id: "w", advice: "dontneed" }]],
    ["exit", [{ op: "fork", as: "c" }, ...freed("c"), { op: "exit", proc: "c" }]],
  ] as const)("pglazyfree stays 31 of 48 after %s", (_name, ops) => {
    const r = runScenario(
      {
        name: "lazyfree batch kept",
        config: { mthp: { "2M": "never" } },
        ops: [...ops, { op: "expect", counters: { vmstat: { pglazyfree: 31 } } }],
      },
      // 6.18's free path (no lru_add_drain() in free_pages_and_swap_cache()), as folio-batch has it.
      { strategy: { ...reference, releaseGathered: freePagesAndSwapCacheV618 } },
    );
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
  });
});

// Issue 13, item 6: a freeze split (split_folio() of a PMD-mapped THP, here by a partial
// MADV_COLD) keeps PageAnonExclusive on every page: __split_huge_pmd_locked(freeze) writes
// readable-exclusive migration entries that remove_migration_pte() maps back exclusive, so
// mprotect(PROT_READ|PROT_WRITE) afterwards makes them writable at once (can_change_pte_writable())
// and the writes take no faults. `foliolab kernel` measured this program here: split 8,
// thp_split_pmd 8, RssAnon 16384 kB, pgfault 910 machine-wide (other processes included; within
// the probe's tolerance of the model's 8, while one fault per tail page would be 4096).
describe("a freeze split keeps PageAnonExclusive on every page", () => {
  it("takes no faults on writes after mprotect r -> rw of split THPs", () => {
    const r = runScenario(
      {
        name: "freeze split exclusive",
        config: { mthp: { "2M": "madvise" } },
        ops: [
          { op: "mmap", id: "a", size: "16M", kind: "anon" },
          { op: "madvise", id: "a", advice: "hugepage" },
          { op: "write", id: "a", value: 7 },
          { op: "mprotect", id: "a", prot: "r" },
          { op: "madvise", id: "a", length: "1M", stride: "2M", advice: "cold" },
          { op: "mprotect", id: "a", prot: "rw" },
          { op: "write", id: "a", value: 8 },
          {
            op: "expect",
            counters: {
              mthp: { "hugepages-2048kB": { split: 8 } },
              vmstat: { thp_split_pmd: 8, thp_split_page: 8, pgfault: 8 },
              procs: { main: { RssAnon: 16384 } },
            },
          },
          { op: "expect", id: "a", offset: "2M", value: 8 },
        ],
      },
      { strategy: reference },
    );
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
  });
});

// Issue 13, item 6: pinned anon pages are copied at fork (copy_huge_pmd() splits a maybe-pinned
// exclusive PMD THP in the parent and returns -EAGAIN; copy_present_ptes() ->
// folio_try_dup_anon_rmap_ptes() fails with -EBUSY on a maybe-pinned folio with an exclusive
// page, and copy_present_page() gives the child its own copy of every exclusive page of it).
// `foliolab kernel` measured this program here: thp_split_pmd 7 (the seven pinned PMD THPs; the
// unpinned one at 2M is shared as a PMD: AnonHugePages 2048 kB in each process), nr_anon 8
// (2M) and 16 (64K: the child's copies are order 0), RssAnon 18432 kB in each, and the child reads
// the parent's data. (The copies themselves, +14400 kB of AnonPages, were below the machine's
// noise on the system-wide counter when measured.)
describe("pinned pages are copied at fork", () => {
  it("splits pinned PMD THPs in the parent and gives the child copies, sharing the rest", () => {
    const r = runScenario(
      {
        name: "pinned fork",
        config: { mthp: { "64K": "madvise", "2M": "madvise" } },
        ops: [
          { op: "mmap", id: "a", size: "16M", kind: "anon" },
          { op: "madvise", id: "a", advice: "hugepage" },
          { op: "write", id: "a", value: 7 },
          { op: "pin", id: "a", length: "4K" },
          { op: "pin", id: "a", offset: "4M", length: "12M" },
          { op: "mmap", id: "b", size: "2M", kind: "anon" },
          { op: "madvise", id: "b", advice: "hugepage" },
          { op: "madvise", id: "b", advice: "nohugepage", offset: "1M", length: "1M" },
          { op: "write", id: "b", value: 5 },
          { op: "pin", id: "b", offset: "0", length: "16K" },
          { op: "fork", as: "c" },
          {
            op: "expect",
            counters: {
              mthp: { "hugepages-2048kB": { nr_anon: 8 }, "hugepages-64kB": { nr_anon: 16 } },
              vmstat: { thp_split_pmd: 7 },
              procs: {
                main: { RssAnon: 18432, AnonHugePages: 2048 },
                c: { RssAnon: 18432, AnonHugePages: 2048 },
              },
            },
          },
          { op: "expect", proc: "c", id: "a", offset: "6M", value: 7 },
        ],
      },
      { strategy: reference },
    );
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
    // The copies: 7 PMD THPs and the 16 exclusive pages of the pinned 64K folio, 14400 kB on top
    // of the parent's 18432 kB.
    expect(r.meminfo.AnonPages).toBe(18432 + 7 * 2048 + 64);
  });
});

// Found by the fuzzer (seed 1559172728): madvise_free_single_vma() drains this CPU's LRU
// batches (lru_add_drain()) as it starts each VMA of the range. `foliolab kernel` measured this
// program here: MADV_FREE over 16 written pages of a rw VMA and 80 of a PROT_NONE one counts
// pglazyfree 78 (16 at the second VMA's drain, then two full batches of 31; 18 still pending).
describe("MADV_FREE drains the lru_lazyfree batch at each VMA", () => {
  it("counts 16 + 62 over two VMAs", () => {
    const r = runScenario(
      {
        name: "lazyfree two vmas",
        config: { mthp: { "2M": "never" } },
        ops: [
          { op: "mmap", id: "m0", size: "1024K", kind: "anon" },
          { op: "write", id: "m0", offset: "256K", length: "768K" },
          { op: "mprotect", id: "m0", offset: "448K", length: "576K", prot: "none" },
          { op: "madvise", id: "m0", offset: "384K", length: "384K", advice: "free" },
          { op: "expect", counters: { vmstat: { pglazyfree: 78 } } },
        ],
      },
      { strategy: { ...reference, releaseGathered: freePagesAndSwapCacheV618 } },
    );
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
  });
});

describe("MADV_PAGEOUT of dirty file folios: unmapped, kept in the page cache", () => {
  it("try_to_unmap() comes first, then the dirty folio is kept (only kswapd writes filesystem folios back)", () => {
    // Found by the fuzzer (seed 1467748861, shrunk to 3 ops). Measured: RssFile 0 after the
    // pageout of the 64K just written through a shared mapping (the model kept it mapped, 64);
    // reading it back finds what was written in the page cache.
    const r = runScenario(
      {
        name: "pageout dirty file",
        config: { mthp: { "64K": "madvise", "2M": "never" } },
        ops: [
          { op: "mmap", id: "m0", size: "128K", kind: "file-shared" },
          { op: "write", id: "m0", offset: "64K", length: "64K", value: 5 },
          { op: "madvise", id: "m0", offset: "64K", length: "64K", advice: "pageout" },
          { op: "expect", counters: { procs: { main: { RssFile: 0 } } } },
          { op: "expect", id: "m0", offset: "64K", value: 5 },
        ],
      },
      { strategy: reference },
    );
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
  });
});
