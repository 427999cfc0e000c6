// The cost events that say where time goes outside the rmap/gather path (page zeroing and
// copying, page tables, LRU add, faults, syscalls, VMAs, fork/exit, swap I/O, shootdowns),
// counted exactly on small scenarios whose kernel behaviour is known (Linux 6.18).
import { describe, expect, it } from "vitest";
import { runScenario } from "./run-scenario.js";
import type { ScenarioOp } from "./scenario.js";
import type { ZapStrategy } from "./strategy.js";
import { reference } from "./testing/per-pte.js";
import { memCgroupForceEmptyRounds } from "./vmscan.js";
import { freePagesAndSwapCacheV618, tlbFlushRmapBatchV69, zapPresentPtesV69 } from "./zap-v69.js";

function costs(ops: ScenarioOp[], config: Record<string, unknown> = {}): Record<string, number> {
  return runScenario({ name: "costs", config, ops }, { strategy: reference }).costs;
}

const MIB = 1 << 20;

/** 6.18's zap and release, which (unlike the reference's 6.5 body) do not drain the LRU batches. */
const v618: ZapStrategy = {
  name: "v6.18",
  gather: { reserveOne: true },
  zapPresentPtes: zapPresentPtesV69,
  flushRmaps: tlbFlushRmapBatchV69,
  releaseGathered: freePagesAndSwapCacheV618,
};

describe("cost events outside the zap path", () => {
  it("4K faults: one fault, one LRU add and one zeroed page each, one PTE table per 2M; munmap frees it", () => {
    const c = costs([
      { op: "mmap", id: "a", size: "4M", kind: "anon" },
      { op: "madvise", id: "a", advice: "nohugepage" },
      { op: "write", id: "a" },
      { op: "munmap", id: "a" },
    ]);
    expect(c.page_fault).toBe(1024);
    expect(c.lru_add).toBe(1024);
    expect(c.bytes_zeroed).toBe(4 * MIB);
    expect(c.bytes_copied).toBe(0);
    expect(c.pt_alloc).toBe(2);
    expect(c.pt_free).toBe(2);
    expect(c.user_access_pages).toBe(1024);
    expect(c.user_tlb_miss).toBe(1024);
    expect(c.syscall).toBe(3);
    // mmap inserts one VMA, munmap removes it
    expect(c.vma_update).toBe(2);
  });

  it("PMD THP: one fault and one zeroed 2M folio; the deposited table is allocated and freed with the PMD", () => {
    const c = costs([
      { op: "mmap", id: "a", size: "4M", kind: "anon" },
      { op: "madvise", id: "a", advice: "hugepage" },
      { op: "write", id: "a" },
      { op: "munmap", id: "a" },
    ]);
    expect(c.page_fault).toBe(2);
    expect(c.lru_add).toBe(2);
    expect(c.bytes_zeroed).toBe(4 * MIB);
    expect(c.pt_alloc).toBe(2);
    expect(c.pt_free).toBe(2);
    // every page is touched, but a PMD-mapped 2M needs one TLB entry (and its faulting page one)
    expect(c.user_access_pages).toBe(1024);
    expect(c.user_tlb_miss).toBe(4);
  });

  it("fork then COW: one fork, one copied page per write, the child's PMD deposits allocated", () => {
    const c = costs([
      { op: "mmap", id: "a", size: "2M", kind: "anon" },
      { op: "madvise", id: "a", advice: "nohugepage" },
      { op: "write", id: "a" },
      { op: "fork", as: "child" },
      { op: "write", id: "a", offset: 0, length: "64K", value: 5 },
      { op: "exit", proc: "child" },
    ]);
    expect(c.proc_fork).toBe(1);
    expect(c.proc_exit).toBe(1);
    expect(c.bytes_copied).toBe(16 * 4096);
    // the parent's table, the child's copy
    expect(c.pt_alloc).toBe(2);
    expect(c.vma_update).toBe(2);
    const thp = costs([
      { op: "mmap", id: "a", size: "2M", kind: "anon" },
      { op: "madvise", id: "a", advice: "hugepage" },
      { op: "write", id: "a" },
      { op: "fork", as: "child" },
    ]);
    expect(thp.pt_alloc).toBe(2);
  });

  it("strided madvise: one syscall per stride; a split VMA counts", () => {
    const c = costs([
      { op: "mmap", id: "a", size: "1M", kind: "anon" },
      { op: "madvise", id: "a", offset: 0, length: "4K", stride: "64K", advice: "dontneed" },
      { op: "munmap", id: "a", offset: "4K", length: "4K" },
    ]);
    expect(c.syscall).toBe(1 + 16 + 1);
    // munmap of one page inside the VMA: __split_vma() at both ends, then the page's VMA goes
    expect(c.vma_split).toBe(2);
    // mmap's VMA, the removed one; a munmap of a whole VMA splits nothing
    expect(c.vma_update).toBe(2);
    const whole = costs([
      { op: "mmap", id: "a", size: "1M", kind: "anon" },
      { op: "munmap", id: "a" },
    ]);
    expect(whole.vma_split).toBe(0);
    expect(whole.vma_update).toBe(2);
  });

  it("swap: pageout writes every page, a fault on a swapped page reads one", () => {
    const c = costs(
      [
        { op: "mmap", id: "a", size: "1M", kind: "anon" },
        { op: "madvise", id: "a", advice: "nohugepage" },
        { op: "write", id: "a" },
        { op: "madvise", id: "a", advice: "pageout" },
        { op: "read", id: "a", offset: 0, length: "8K" },
      ],
      { swap: "4M" },
    );
    expect(c.swap_out_pages).toBe(256);
    expect(c.swap_in_pages).toBe(2);
  });

  it("a shmem mapping nothing holds any more is truncated: one page_cache_delete a folio", () => {
    const c = (mthp: string) =>
      costs([
        { op: "mmap", id: "s", size: "4M", kind: "shmem" },
        { op: "madvise", id: "s", advice: mthp === "4K" ? "nohugepage" : "hugepage" },
        { op: "write", id: "s" },
        { op: "munmap", id: "s" },
      ]);
    expect(c("4K").page_cache_delete).toBe(1024);
    // find_lock_entries() takes 31 folios at a time and folio_batch_release() frees them together:
    // one memcg uncharge and one lruvec lock a batch, not one a folio
    expect(c("4K").memcg_uncharge).toBe(Math.ceil(1024 / 31));
    // (and one a move of the lru_add batch that took the new folios, 31 at a time: the last by
    // the reference strategy's lru_add_drain() at the zap)
    expect(c("4K").lruvec_lock).toBe(2 * Math.ceil(1024 / 31));
    expect(c("4K").folios_freed).toBe(1024);
    // one i_pages lock a folio to add it, one to take it out (truncate_inode_folio())
    expect(c("4K").i_pages_lock).toBe(2 * 1024);
    // a regular file's truncation (its fd closed at exit) deletes a batch of 31 folios under one lock
    const file = costs([{ op: "mmap", id: "f", size: "4M", kind: "file-private" }, { op: "read", id: "f" }, { op: "exit" }]);
    expect(file.page_cache_delete).toBeGreaterThan(0);
    expect(file.i_pages_lock).toBe(file.page_cache_delete + Math.ceil(file.page_cache_delete / 31));
  });

  it("TLB flushes of reclaim: the asking process's mm one unmap at a time, another's (loaded on no CPU) not at all; munmap none remote", () => {
    const own = costs([
      { op: "mmap", id: "a", size: "1M", kind: "anon" },
      { op: "write", id: "a" },
      { op: "munmap", id: "a", offset: 0, length: "4K" },
    ]);
    expect(own.tlb_flush_range).toBeGreaterThan(0);
    expect(own.tlb_shootdown).toBe(0);
    const reclaim = (fork: boolean) =>
      costs([
        { op: "mmap", id: "a", size: "1M", kind: "anon" },
        { op: "madvise", id: "a", advice: "nohugepage" },
        { op: "write", id: "a" },
        { op: "madvise", id: "a", advice: "free" },
        ...(fork ? [{ op: "fork" as const, as: "child" }] : []),
        { op: "reclaim" },
      ]);
    // should_defer_flush() is false on one CPU: main asks for the reclaim, its 256 unmaps flush here
    const alone = reclaim(false);
    expect(alone).toMatchObject({ tlb_flush_range: 256, tlb_flush_pages: 256, tlb_shootdown: 0 });
    // the child's mm is loaded nowhere: unmapping its 256 PTEs flushes nothing (measured: no
    // tlb_flush event for the child in foliolab kernel reclaim/lazyfree-shared), and the pages
    // are freed all the same (the invariant checker finds no stale translation)
    const shared = reclaim(true);
    expect(shared.pages_freed).toBe(256);
    expect(shared.tlb_flush_range).toBe(256);
    // (fork's one flush_tlb_mm() of the parent: dup_mmap())
    expect(shared.tlb_flush_full).toBe(alone.tlb_flush_full + 1);
    expect(shared.tlb_shootdown).toBe(0);
  });
});

describe("fork's PTE writes (copy_present_ptes(), 6.18)", () => {
  it("a writable COW PTE is write-protected in the parent (wrprotect_ptes()) and set in the child: two PTE writes; one once write-protected", () => {
    const fork = (twice: boolean) =>
      costs([
        { op: "mmap", id: "a", size: "1M", kind: "anon" },
        { op: "madvise", id: "a", advice: "nohugepage" },
        { op: "write", id: "a" },
        { op: "fork", as: "c1" },
        ...(twice ? [{ op: "fork" as const, as: "c2" }] : []),
      ]);
    const written = costs([
      { op: "mmap", id: "a", size: "1M", kind: "anon" },
      { op: "madvise", id: "a", advice: "nohugepage" },
      { op: "write", id: "a" },
    ]);
    expect(fork(false).pte_set - written.pte_set).toBe(2 * 256);
    // the second fork finds the parent's PTEs read-only already: only the child's are set
    expect(fork(true).pte_set - fork(false).pte_set).toBe(256);
  });
});

describe("the lru_add batch (folio_add_lru(), 6.18): a reference on each new order-0 folio until 31 are queued", () => {
  const ops = (pages: number): ScenarioOp[] => [
    { op: "mmap", id: "a", size: "1M", kind: "anon" },
    { op: "madvise", id: "a", advice: "nohugepage" },
    { op: "write", id: "a", offset: 0, length: "4K" },
    { op: "madvise", id: "a", offset: 0, length: "4K", advice: "dontneed" },
    ...(pages > 0 ? [{ op: "write" as const, id: "a", offset: "4K", length: pages * 4096 }] : []),
  ];

  it("a page written and zapped at once is freed when the batch moves, not at the zap (as wis/tlb_flush2 measures)", () => {
    const run = (pages: number) => runScenario({ name: "lru-add", ops: ops(pages) }, { strategy: v618 }).costs;
    expect(run(0).pages_freed).toBe(0);
    // 29 more adds: the batch holds 30, still waiting
    expect(run(29).pages_freed).toBe(0);
    // the 31st add moves the batch: its put frees the zapped page, with one memcg uncharge
    const moved = run(30);
    expect(moved.pages_freed).toBe(1);
    expect(moved.memcg_uncharge).toBe(1);
  });

  it("COW reuse drains the batch first (wp_can_reuse_anon_folio()'s lru_add_drain()), so a new page is reused, not copied", () => {
    // 6.18's zap does not drain, so the fault's drain is the only one
    const c = runScenario(
      {
        name: "reuse",
        ops: [
          { op: "mmap", id: "a", size: "1M", kind: "anon" },
          { op: "madvise", id: "a", advice: "nohugepage" },
          { op: "write", id: "a", offset: 0, length: "4K" },
          { op: "fork", as: "child" },
          { op: "exit", proc: "child" },
          { op: "write", id: "a", offset: 0, length: "4K" },
        ],
      },
      { strategy: v618 },
    ).costs;
    expect(c.bytes_copied).toBe(0);
    expect(c.lru_add_drain).toBe(1);
  });
});

describe("reclaim frees a batch at a time (shrink_folio_list()'s free_folios, 6.18)", () => {
  it("one memcg uncharge a free batch of 31 folios, per shrink_folio_list() call", () => {
    // each shrink_inactive_list() call of the force_empty loop reclaims its own list
    const { lists } = memCgroupForceEmptyRounds(new Array(256).fill(1));
    const batches = lists.reduce((sum, n) => sum + Math.ceil(n / 31), 0);
    expect(lists.reduce((a, b) => a + b, 0)).toBe(256);
    const reclaim = costs([
      { op: "mmap", id: "a", size: "1M", kind: "anon" },
      { op: "madvise", id: "a", advice: "nohugepage" },
      { op: "write", id: "a" },
      { op: "madvise", id: "a", advice: "free" },
      { op: "reclaim" },
    ]);
    expect(reclaim.memcg_uncharge).toBe(batches);
    // MADV_PAGEOUT: one reclaim_pages() a PMD range, 512 folios each: 17 batches a PMD
    const pageout = costs(
      [
        { op: "mmap", id: "a", size: "6M", kind: "anon" },
        { op: "madvise", id: "a", advice: "nohugepage" },
        { op: "write", id: "a" },
        { op: "madvise", id: "a", advice: "pageout" },
      ],
      { swap: "8M" },
    );
    expect(pageout.swap_out_pages).toBe(1536);
    // (one list for the whole range would make ceil(1536 / 31) = 50)
    expect(pageout.memcg_uncharge).toBe(3 * 17);
  });
});

describe("buffer heads of dirty file folios (ext4's block_dirty_folio())", () => {
  const dirtyMunmap = (kind: "file-shared" | "shmem", advice: "hugepage" | "random", config: Record<string, unknown> = {}) =>
    costs(
      [
        { op: "mmap", id: "a", size: "4M", kind },
        { op: "madvise", id: "a", advice },
        { op: "write", id: "a" },
        { op: "munmap", id: "a" },
      ],
      config,
    );

  it("PMD-mapped 2M file folios: the write fault and zap_huge_pmd() mark each dirty, every buffer head of it", () => {
    const c = dirtyMunmap("file-shared", "hugepage");
    // fault_dirty_shared_page() once per folio, zap_huge_pmd() once per folio
    expect(c.folio_mark_dirty).toBe(4);
    expect(c.buffer_heads_dirtied).toBe(2 * 1024);
  });

  it("4K file folios: one folio_mark_dirty() and one buffer head per page, at the fault and at the zap", () => {
    const c = dirtyMunmap("file-shared", "random");
    expect(c.folio_mark_dirty).toBe(2 * 1024);
    expect(c.block_dirty_folio).toBe(2 * 1024);
    expect(c.buffer_heads_dirtied).toBe(2 * 1024);
  });

  it("shmem has no buffer heads, and its noop_dirty_folio() is no block_dirty_folio()", () => {
    const c = dirtyMunmap("shmem", "hugepage", { shmem: { "2M": "always" } });
    expect(c.buffer_heads_dirtied).toBe(0);
    expect(c.block_dirty_folio).toBe(0);
    const small = dirtyMunmap("shmem", "random");
    expect(small.block_dirty_folio).toBe(0);
    // folio_mark_dirty() is called all the same: at the write fault and at the zap
    expect(small.folio_mark_dirty).toBe(2 * 1024);
  });
});

describe("LRU activation at zap (folio_mark_accessed() of a referenced folio)", () => {
  // 6.18's zap: one folio_mark_accessed() per batch of a folio's PTEs (the per-PTE reference
  // marks a large folio once per page, so it activates on the second PTE, as 6.5 did).
  const sharedMunmaps = (folio: "4K" | "64K", forked: boolean) =>
    runScenario(
      {
        name: "activate",
        config: folio === "4K" ? {} : { shmem: { "64K": "always" } },
        ops: [
          { op: "mmap", id: "a", size: "4M", kind: "shmem" },
          { op: "write", id: "a" },
          // fork copies no PTEs of a shared mapping: the child faults its own in
          ...(forked
            ? ([
                { op: "fork", as: "child" },
                { op: "read", proc: "child", id: "a" },
                { op: "munmap", proc: "child", id: "a" },
              ] as ScenarioOp[])
            : []),
          { op: "munmap", id: "a" },
        ],
      },
      { strategy: v618 },
    ).costs;

  it("the first young zap sets referenced, the second (the other mapper's) activates every folio", () => {
    expect(sharedMunmaps("4K", false).lru_move).toBe(0);
    expect(sharedMunmaps("64K", false).lru_move).toBe(0);
    expect(sharedMunmaps("4K", true).lru_move).toBe(1024);
    expect(sharedMunmaps("64K", true).lru_move).toBe(64);
  });

  it("small folios move to the active list 31 to a lruvec lock, a large folio alone", () => {
    const lock = (folio: "4K" | "64K") => sharedMunmaps(folio, true).lruvec_lock - sharedMunmaps(folio, false).lruvec_lock;
    // 1024 activations: 33 full lru_activate batches; 6.18's gather release does no lru_add_drain()
    expect(lock("4K")).toBe(Math.floor(1024 / 31));
    expect(lock("64K")).toBe(64);
  });

  it("the per-PTE zap of 6.5 activates a large folio on its own second PTE", () => {
    const c = costs(
      [
        { op: "mmap", id: "a", size: "4M", kind: "shmem" },
        { op: "write", id: "a" },
        { op: "munmap", id: "a" },
      ],
      { shmem: { "64K": "always" } },
    );
    expect(c.lru_move).toBe(64);
  });
});

describe("MADV_FREE's per-folio and per-PTE work (madvise_free_pte_range(), 6.18)", () => {
  const freeTwice = (folio: "4K" | "64K", again: boolean) =>
    costs(
      [
        { op: "mmap", id: "a", size: "4M", kind: "anon" },
        { op: "madvise", id: "a", advice: folio === "4K" ? "nohugepage" : "hugepage" },
        { op: "write", id: "a" },
        { op: "madvise", id: "a", advice: "free" },
        ...(again ? ([{ op: "madvise", id: "a", advice: "free" }] as ScenarioOp[]) : []),
      ],
      folio === "4K" ? {} : { mthp: { "64K": "always", "2M": "never" } },
    );

  it("moves every folio to the lazyfree list through the lru_lazyfree batch: one lru_move a folio", () => {
    expect(freeTwice("4K", false).lru_move).toBe(1024);
    expect(freeTwice("64K", false).lru_move).toBe(64);
  });

  it("clears and sets back every young or dirty PTE; a second MADV_FREE finds them old and clean", () => {
    const once = freeTwice("4K", false);
    const twice = freeTwice("4K", true);
    // the writes' faults set the 1024 PTEs; MADV_FREE sets each again, old and clean
    expect(
      once.pte_set -
        costs([
          { op: "mmap", id: "a", size: "4M", kind: "anon" },
          { op: "madvise", id: "a", advice: "nohugepage" },
          { op: "write", id: "a" },
        ]).pte_set,
    ).toBe(1024);
    expect(once.pte_clear).toBe(1024);
    // already lazyfree and clean: no PTE touched, no TLB entry gathered, no folio moved
    expect(twice.pte_clear).toBe(once.pte_clear);
    expect(twice.pte_set).toBe(once.pte_set);
    expect(twice.tlb_range_update).toBe(once.tlb_range_update);
    expect(twice.lru_move).toBe(once.lru_move);
  });
});
