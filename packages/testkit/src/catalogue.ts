/**
 * The scenario catalogue the conformance kit runs: core's Scenario objects (the one scenario
 * input type), which runScenario() accepts as they are. Two groups:
 *
 * - "equivalence": teardown shapes every strategy must handle exactly as the per-page
 *   reference does (same observable state and counters; only costs and the cumulative
 *   deferred-split counters may differ, and those only downwards).
 * - "replay": known kernel bugs and hazards, written as scenarios a buggy strategy trips an
 *   invariant on. They are checked for equivalence too.
 */

import type { Scenario, ScenarioOp } from "@foliolab/core";

export interface CatalogueEntry {
  /** "equivalence" (teardown shapes) or "replay" (known kernel bugs and hazards). */
  group: "equivalence" | "replay";
  /** What the entry covers, in a few words (shown in test names). */
  covers: string;
  /** For replays: the bug, who found or fixed it, and what a strategy carrying it trips. */
  replays?: string;
  scenario: Scenario;
}

const W = 0x1000;

function entry(group: CatalogueEntry["group"], covers: string, scenario: Scenario, replays?: string): CatalogueEntry {
  return replays === undefined ? { group, covers, scenario } : { group, covers, scenario, replays };
}

/**
 * The skeleton most entries share: one anon mapping "a" of `size`, written whole with `value`,
 * then `ops`, then the exit.
 */
function anonRun(size: string, value: number, ops: ScenarioOp[]): ScenarioOp[] {
  return [{ op: "mmap", id: "a", size, kind: "anon" }, { op: "write", id: "a", value }, ...ops, { op: "exit" }];
}

/** Equivalence scenarios: the shapes of teardown a strategy meets. */
export const EQUIVALENCE_SCENARIOS: readonly CatalogueEntry[] = [
  entry("equivalence", "whole munmap of 4K pages", {
    name: "munmap-whole-4k",
    ops: anonRun("8M", W + 1, [{ op: "munmap", id: "a" }]),
  }),
  entry("equivalence", "partial munmap of 4K pages", {
    name: "munmap-partial-4k",
    ops: anonRun("8M", W + 2, [
      { op: "munmap", id: "a", offset: "1M", length: "2060K" },
      { op: "expect", id: "a", offset: "4M", value: W + 2 },
    ]),
  }),
  entry("equivalence", "partial munmap of mTHP starting and ending mid-folio", {
    name: "munmap-partial-mthp",
    config: { mthp: { "16K": "always", "64K": "always" } },
    ops: anonRun("4M", W + 3, [
      { op: "munmap", id: "a", offset: "40K", length: "1M" },
      { op: "munmap", id: "a", offset: "2M", length: "36K" },
      { op: "expect", id: "a", offset: "3M", value: W + 3 },
    ]),
  }),
  entry("equivalence", "strided munmap (4K of every 64K folio)", {
    name: "munmap-strided-mthp",
    config: { mthp: { "64K": "always" } },
    ops: anonRun("4M", W + 4, [{ op: "munmap", id: "a", offset: "20K", length: "4K", stride: "64K" }]),
  }),
  entry("equivalence", "exit with anon, file-private and file-shared mappings", {
    name: "exit-mixed",
    config: { mthp: { "32K": "always" } },
    ops: [
      { op: "mmap", id: "anon", size: "4M", kind: "anon" },
      { op: "mmap", id: "priv", size: "1M", kind: "file-private" },
      { op: "mmap", id: "shared", size: "1M", kind: "file-shared" },
      { op: "write", id: "anon", value: W + 5 },
      { op: "write", id: "priv", length: "512K", value: W + 6 },
      { op: "read", id: "priv", offset: "512K" },
      { op: "write", id: "shared", offset: "128K", length: "512K", value: W + 7 },
      { op: "read", id: "shared" },
      { op: "exit" },
    ],
  }),
  entry("equivalence", "MADV_DONTNEED of mTHP, then refault and DONTNEED all", {
    name: "dontneed-mthp",
    config: { mthp: { "64K": "always" } },
    ops: anonRun("4M", W + 8, [
      { op: "madvise", id: "a", offset: "32K", length: "1M", advice: "dontneed" },
      { op: "expect", id: "a", offset: "64K", value: 0 },
      { op: "write", id: "a", offset: "64K", length: "256K", value: W + 9 },
      { op: "madvise", id: "a", advice: "dontneed" },
    ]),
  }),
  entry("equivalence", "file-shared dirty pages: partial munmap, read-only tail, exit", {
    name: "file-shared-dirty",
    ops: [
      { op: "mmap", id: "f", size: "2M", kind: "file-shared" },
      { op: "write", id: "f", length: "1M", value: W + 10 },
      { op: "read", id: "f", offset: "1M" },
      { op: "munmap", id: "f", offset: "512K", length: "1M" },
      { op: "expect", id: "f", offset: "0", value: W + 10 },
      { op: "exit" },
    ],
  }),
  entry("equivalence", "file-shared dirty pages that fill the delayed-rmap gather many times", {
    name: "file-shared-dirty-gather-cap",
    ops: [
      { op: "mmap", id: "f", size: "16M", kind: "file-shared" },
      { op: "write", id: "f", value: W + 11 },
      { op: "madvise", id: "f", offset: "4M", length: "4M", advice: "dontneed" },
      { op: "munmap", id: "f", offset: "8M", length: "4M" },
      { op: "exit" },
    ],
  }),
  entry("equivalence", "shmem 64K folios: dirty munmap, partial and strided munmap, fork, exit", {
    name: "shmem-64k-munmap-exit",
    config: { shmem: { "64K": "always" } },
    ops: [
      { op: "mmap", id: "s", size: "4M", kind: "shmem" },
      { op: "write", id: "s", value: W + 30 },
      { op: "fork", as: "c" },
      { op: "read", proc: "c", id: "s", length: "1M" },
      { op: "munmap", id: "s", offset: "20K", length: "4K", stride: "64K" },
      { op: "munmap", id: "s", offset: "1M", length: "1028K" },
      { op: "madvise", proc: "c", id: "s", offset: "256K", length: "96K", advice: "dontneed" },
      { op: "expect", proc: "c", id: "s", offset: "300K", value: W + 30 },
      { op: "exit" },
      { op: "exit", proc: "c" },
    ],
  }),
  entry("equivalence", "shmem 16K and 2M folios, PMD-mapped and PTE-mapped, dirty and clean", {
    name: "shmem-pmd-and-mthp",
    config: { shmem: { "16K": "always", "2M": "within_size" } },
    ops: [
      { op: "mmap", id: "s", size: "5M", kind: "shmem" },
      { op: "write", id: "s", length: "3M", value: W + 31 },
      { op: "read", id: "s", offset: "3M" },
      { op: "munmap", id: "s", offset: "1M", length: "8K" },
      { op: "read", id: "s", offset: "1032K", length: "64K" },
      { op: "madvise", id: "s", offset: "2M", length: "2M", advice: "dontneed" },
      { op: "write", id: "s", offset: "2M", length: "1M", value: W + 32 },
      { op: "expect", id: "s", offset: "3M", value: 0 },
      { op: "exit" },
    ],
  }),
  entry("equivalence", "64K folio split over three VMAs by mprotect of part of it", {
    name: "folio-straddles-vmas-mprotect",
    config: { mthp: { "64K": "always" } },
    ops: anonRun("2M", W + 12, [
      { op: "mprotect", id: "a", offset: "16K", length: "4K", prot: "r" },
      { op: "mprotect", id: "a", offset: "96K", length: "8K", prot: "none" },
      { op: "munmap", id: "a", offset: "8K", length: "96K" },
      { op: "expect", id: "a", offset: "4K", value: W + 12 },
      { op: "madvise", id: "a", offset: "104K", length: "64K", advice: "dontneed" },
    ]),
  }),
  entry("equivalence", "mTHP in two PTE tables, munmap across the table boundary", {
    name: "folios-across-pte-tables",
    config: { mthp: { "32K": "always", "128K": "always" } },
    ops: [
      { op: "mmap", id: "a", size: "6M", kind: "anon", align: "64K" },
      { op: "write", id: "a", value: W + 13 },
      { op: "munmap", id: "a", offset: "1984K", length: "128K" },
      { op: "munmap", id: "a", offset: "4032K", length: "48K" },
      { op: "exit" },
    ],
  }),
  entry("equivalence", "gather full: 64M of 4K pages in one munmap", {
    name: "gather-full-4k",
    ops: anonRun("64M", W + 14, [{ op: "munmap", id: "a" }]),
  }),
  entry("equivalence", "gather full mid-folio: 64M of 64K mTHP in one munmap", {
    name: "gather-full-mid-folio",
    config: { mthp: { "64K": "always" } },
    ops: anonRun("64M", W + 15, [{ op: "munmap", id: "a" }]),
  }),
  entry("equivalence", "gather full on exit (fullmm) with 16K and 128K mTHP", {
    name: "gather-full-exit",
    config: { mthp: { "16K": "always", "128K": "always" } },
    ops: [
      { op: "mmap", id: "a", size: "40M", kind: "anon", align: "16K" },
      { op: "write", id: "a", value: W + 16 },
      { op: "exit" },
    ],
  }),
  entry("equivalence", "PMD-mapped THP: whole-PMD munmap, partial munmap splitting a PMD, exit", {
    name: "pmd-thp",
    config: { mthp: { "2M": "always" } },
    ops: anonRun("8M", W + 17, [
      { op: "munmap", id: "a", offset: "2M", length: "2M" },
      { op: "munmap", id: "a", offset: "4104K", length: "1M" },
      { op: "expect", id: "a", offset: "7M", value: W + 17 },
    ]),
  }),
  entry("equivalence", "PMD THP by MADV_HUGEPAGE, huge zero page, DONTNEED of a whole PMD", {
    name: "pmd-thp-madvise-zero",
    ops: [
      { op: "mmap", id: "a", size: "6M", kind: "anon" },
      { op: "madvise", id: "a", advice: "hugepage" },
      { op: "read", id: "a", offset: "4M", length: "4K" },
      { op: "write", id: "a", length: "4M", value: W + 18 },
      { op: "madvise", id: "a", offset: "2M", length: "2M", advice: "dontneed" },
      { op: "write", id: "a", offset: "4M", length: "8K", value: W + 19 },
      { op: "exit" },
    ],
  }),
  entry("equivalence", "PTE-mapped THP (mprotect one 4K per 2M to r and back to rw), munmap and exit", {
    name: "pte-mapped-thp",
    config: { mthp: { "2M": "always" } },
    ops: anonRun("8M", W + 20, [
      ...(["r", "rw"] as const).flatMap((prot) =>
        [0, 1, 2, 3].map((i): ScenarioOp => ({ op: "mprotect", id: "a", offset: `${i * 2048 + 12}K`, length: "4K", prot })),
      ),
      { op: "munmap", id: "a", offset: "0", length: "2M" },
      { op: "munmap", id: "a", offset: "2M", length: "1M" },
      { op: "madvise", id: "a", offset: "4M", length: "1028K", advice: "dontneed" },
    ]),
  }),
  entry("equivalence", "mixed mTHP sizes, strided writes and strided munmap", {
    name: "mixed-mthp-strided",
    config: {
      mthp: { "16K": "always", "32K": "always", "64K": "always", "128K": "always", "256K": "always", "1M": "always" },
    },
    ops: [
      { op: "mmap", id: "a", size: "8M", kind: "anon" },
      { op: "read", id: "a", offset: "300K", length: "4K", stride: "1M" },
      { op: "write", id: "a", length: "192K", stride: "320K", value: W + 21 },
      { op: "write", id: "a", value: W + 22 },
      { op: "munmap", id: "a", offset: "100K", length: "12K", stride: "200K" },
      { op: "exit" },
    ],
  }),
  entry("equivalence", "s390 profile (MMU_GATHER_NO_GATHER): mTHP, file-shared dirty pages, PMD THP", {
    name: "s390-profile",
    config: { arch: "s390", mthp: { "64K": "always", "2M": "always" } },
    ops: [
      { op: "mmap", id: "a", size: "6M", kind: "anon" },
      { op: "mmap", id: "f", size: "1M", kind: "file-shared" },
      { op: "write", id: "a", value: W + 23 },
      { op: "write", id: "f", value: W + 24 },
      { op: "munmap", id: "a", offset: "40K", length: "2M" },
      { op: "madvise", id: "f", offset: "256K", length: "256K", advice: "dontneed" },
      { op: "exit" },
    ],
  }),
  entry("equivalence", "fork, COW of mTHP in the child, exits", {
    name: "fork-cow-exit",
    config: { mthp: { "64K": "always" } },
    ops: anonRun("4M", W + 25, [
      { op: "fork", as: "child" },
      { op: "write", proc: "child", id: "a", offset: "16K", length: "1M", value: W + 26 },
      { op: "munmap", id: "a", offset: "512K", length: "1M" },
      { op: "exit", proc: "child" },
    ]),
  }),
  entry("equivalence", "fork of PMD THP, parent exits first", {
    name: "fork-pmd-thp-exit",
    config: { mthp: { "2M": "always" } },
    ops: [
      { op: "mmap", id: "a", size: "4M", kind: "anon" },
      { op: "write", id: "a", value: W + 27 },
      { op: "fork", as: "child" },
      { op: "write", proc: "child", id: "a", offset: "8K", length: "4K", value: W + 28 },
      { op: "exit" },
      { op: "exit", proc: "child" },
    ],
  }),
  entry("equivalence", "lazyfree (MADV_FREE) mTHP, reclaim, re-dirtied folios kept", {
    name: "lazyfree-reclaim",
    config: { mthp: { "64K": "always" } },
    ops: anonRun("4M", W + 29, [
      { op: "madvise", id: "a", advice: "free" },
      { op: "write", id: "a", offset: "1M", length: "4K", stride: "128K", value: W + 30 },
      { op: "reclaim" },
      { op: "munmap", id: "a", offset: "2M", length: "1M" },
    ]),
  }),
  entry("equivalence", "swap: a swapped-in folio a forked child's swap entry kept in the swap cache, freed at munmap", {
    name: "swap-cache-freed-at-unmap",
    config: { swap: "16M", mthp: { "64K": "always" } },
    ops: anonRun("1M", W + 40, [
      { op: "madvise", id: "a", advice: "pageout" },
      { op: "fork", as: "c" },
      { op: "read", id: "a" },
      { op: "exit", proc: "c" },
      { op: "munmap", id: "a" },
    ]),
  }),
  entry("equivalence", "reclaim: a lazyfree 64K folio straddling a VMA boundary (mprotect mid-folio)", {
    name: "lazyfree-folio-straddles-vma",
    config: { mthp: { "64K": "always" } },
    ops: anonRun("1M", W + 41, [
      { op: "madvise", id: "a", advice: "free" },
      { op: "mprotect", id: "a", offset: "40K", length: "64K", prot: "r" },
      { op: "reclaim" },
    ]),
  }),
  entry("equivalence", "reclaim: a PTE hole in a lazyfree folio another process still maps", {
    name: "lazyfree-pte-hole-shared",
    config: { mthp: { "64K": "always" } },
    ops: anonRun("1M", W + 42, [
      { op: "madvise", id: "a", advice: "free" },
      { op: "fork", as: "c" },
      { op: "madvise", id: "a", offset: "20K", length: "4K", stride: "64K", advice: "dontneed" },
      { op: "reclaim" },
      { op: "exit", proc: "c" },
    ]),
  }),
  entry("equivalence", "reclaim: a lazyfree folio whose first PTE is redirtied (kept whole, batched or not)", {
    name: "lazyfree-redirtied-first-pte",
    config: { mthp: { "64K": "always" } },
    ops: anonRun("1M", W + 43, [
      { op: "madvise", id: "a", advice: "free" },
      { op: "write", id: "a", offset: "0", length: "4K", stride: "128K", value: W + 44 },
      { op: "reclaim" },
    ]),
  }),
  entry("equivalence", "zero-page PTEs (reads of untouched anon memory) zapped by MADV_DONTNEED", {
    name: "zero-page-dontneed",
    ops: [
      { op: "mmap", id: "a", size: "1M", kind: "anon" },
      { op: "read", id: "a" },
      { op: "write", id: "a", offset: "256K", length: "4K", value: W + 45 },
      { op: "madvise", id: "a", advice: "dontneed" },
      { op: "exit" },
    ],
  }),
  entry("equivalence", "MADV_PAGEOUT of mTHP, then exit", {
    name: "pageout-exit",
    config: { mthp: { "64K": "always" } },
    ops: anonRun("2M", W + 31, [{ op: "madvise", id: "a", offset: "512K", length: "512K", advice: "pageout" }]),
  }),
  entry("equivalence", "mremap of part of an mTHP region, then munmap and exit", {
    name: "mremap-mthp",
    config: { mthp: { "64K": "always" } },
    ops: anonRun("4M", W + 32, [
      { op: "mremap", id: "a", offset: "32K", length: "1M", to: "b" },
      { op: "munmap", id: "a", offset: "2M", length: "1M" },
    ]),
  }),
  entry("equivalence", "GUP pin held across MADV_DONTNEED", {
    name: "pin-dontneed",
    config: { mthp: { "64K": "always" } },
    ops: anonRun("2M", W + 33, [
      { op: "pin", id: "a", offset: "64K", length: "64K" },
      { op: "madvise", id: "a", offset: "0", length: "1M", advice: "dontneed" },
      { op: "unpin", id: "a", offset: "64K", length: "64K" },
    ]),
  }),
  entry("equivalence", "GUP pin across MADV_DONTNEED and reclaim (deferred split shrinker on a pinned folio)", {
    name: "pin-dontneed-reclaim",
    config: { mthp: { "64K": "always" } },
    ops: anonRun("2M", W + 34, [
      { op: "pin", id: "a", offset: "64K", length: "64K" },
      { op: "madvise", id: "a", offset: "0", length: "1M", advice: "dontneed" },
      { op: "reclaim" },
      { op: "unpin", id: "a", offset: "64K", length: "64K" },
    ]),
  }),
];

/** Replays of known kernel bugs and hazards. */
export const REPLAY_SCENARIOS: readonly CatalogueEntry[] = [
  entry(
    "replay",
    "s390 early free (Ryan Roberts' batch-zap v3, July 2023)",
    {
      name: "replay-s390-early-free-seed000-v3",
      description:
        "On MMU_GATHER_NO_GATHER the gather frees at once, so a strategy that gathers before it removes the rmap frees mapped folios",
      config: { arch: "s390", mthp: { "16K": "always", "32K": "always", "64K": "always" } },
      ops: anonRun("4M", W + 40, [
        { op: "munmap", id: "a", offset: "24K", length: "1M" },
        { op: "munmap", id: "a", offset: "2M", length: "2M" },
      ]),
    },
    "Ryan Roberts' 'Batch-zap large anonymous folio PTE mappings' v3 (July 2023) put the folio in the gather before removing its rmap; " +
      "on s390 the gather frees immediately, so the refcount reached 0 while the folio was still mapped (reported by Nathan Chancellor). " +
      "Trips refcount>=mapcount (or no-use-after-free) on the s390 profile.",
  ),
  entry(
    "replay",
    "lost write of a dirty shared page",
    {
      name: "replay-lost-write-dirty-shared",
      description: "Dirty file-shared PTEs: the rmap may only go after the TLB flush, or folio_mkclean() misses the writer",
      ops: [
        { op: "mmap", id: "f", size: "4M", kind: "file-shared" },
        { op: "mmap", id: "g", size: "1M", kind: "file-shared" },
        { op: "write", id: "f", value: W + 41 },
        { op: "read", id: "g" },
        { op: "write", id: "g", offset: "4K", length: "4K", stride: "8K", value: W + 42 },
        { op: "munmap", id: "f", offset: "4K", length: "3M" },
        { op: "madvise", id: "g", advice: "dontneed" },
        { op: "write", id: "g", length: "64K", value: W + 43 },
        { op: "exit" },
      ],
    },
    "Nadav Amit's PoC (Oct 2022) and Linus' fix for 6.2: removing the rmap of a dirty shared file page before the TLB flush lets " +
      "another CPU keep writing through a stale TLB entry after writeback cleaned the page. Trips no-lost-write.",
  ),
  entry(
    "replay",
    "batch reads past a PTE table or range end",
    {
      name: "replay-batch-past-pte-table-end",
      description:
        "Physically contiguous mTHP on both sides of a PTE-table boundary; ranges ending mid-folio and exactly at the table end",
      config: { mthp: { "64K": "always" } },
      ops: anonRun("4M", W + 44, [
        { op: "munmap", id: "a", offset: "1984K", length: "64K" },
        { op: "madvise", id: "a", offset: "1M", length: "100K", advice: "dontneed" },
        { op: "munmap", id: "a", offset: "2M", length: "36K" },
        { op: "munmap", id: "a", offset: "0", length: "1M" },
      ]),
    },
    "Lance Yang's fix (June 2025, for 6.16) of Barry Song's lazyfree batch unmap: the batch could read past the end of a PTE table " +
      "when the folio's PTEs were not contained in one table; it must be capped at pmd_addr_end(addr, vma->vm_end). For zap the " +
      "cap is zapPresentPtes' max (range and table end). Trips strategy-contract (or refcount/mapcount checks).",
  ),
  entry(
    "replay",
    "batch runs past the folio end",
    {
      name: "replay-batch-past-folio-end",
      description: "Physically contiguous folios of different sizes next to each other in one PTE table",
      config: { mthp: { "16K": "always", "64K": "always" } },
      ops: [
        { op: "mmap", id: "a", size: "2M", kind: "anon" },
        { op: "read", id: "a", offset: "124K", length: "4K" },
        { op: "write", id: "a", length: "124K", value: W + 45 },
        { op: "write", id: "a", offset: "128K", value: W + 46 },
        { op: "munmap", id: "a", offset: "0", length: "1M" },
        { op: "exit" },
      ],
    },
    "folio_pte_batch() must stop at the folio's end (David Hildenbrand, 6.9, VM_WARN_ON_ONCE(page_folio(page) != " +
      "page_folio(page + nr - 1))): the buddy allocator hands out adjacent folios with adjacent pfns, so a batch that only " +
      "checks pfn contiguity walks into the next folio. Trips refcount>=mapcount or mapcount-matches-page-tables.",
  ),
  entry(
    "replay",
    "stale nr_pages applied to the next entry",
    {
      name: "replay-stale-nr-pages",
      description: "A large folio followed by small folios and a file page in the same PTE table",
      config: { mthp: { "64K": "always" } },
      ops: [
        { op: "mmap", id: "a", size: "2M", kind: "anon" },
        { op: "mmap", id: "f", size: "64K", kind: "file-shared" },
        { op: "read", id: "a", offset: "124K", length: "4K" },
        { op: "write", id: "a", length: "64K", value: W + 47 },
        { op: "write", id: "a", offset: "64K", length: "60K", value: W + 48 },
        { op: "write", id: "a", offset: "192K", length: "64K", value: W + 49 },
        { op: "write", id: "a", offset: "256K", length: "16K", value: W + 50 },
        { op: "write", id: "f", value: W + 51 },
        { op: "munmap", id: "a", offset: "0", length: "320K" },
        { op: "exit" },
      ],
    },
    "Dev Jain (2026): try_to_unmap_one() did not reset nr_pages to 1 per walk iteration, so a previous batch size was applied " +
      "to the following entry (refcount/mapcount corruption). For zap the same shape is a gather item whose nr leaks into the " +
      "next item at release time. Trips refcount>=mapcount or no-use-after-free.",
  ),
];

/** Every scenario the kit runs: equivalence first, then the replays. */
export const CATALOGUE: readonly CatalogueEntry[] = [...EQUIVALENCE_SCENARIOS, ...REPLAY_SCENARIOS];
