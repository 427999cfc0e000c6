/**
 * Cost events: what the kernel would spend, counted exactly, as the code of zap_pte_range()
 * (mm/memory.c), the mmu_gather (mm/mmu_gather.c) and the rmap (mm/rmap.c) spends it.
 * Counters live in one Float64Array so that hot paths increment by index.
 */

/** Internal: the same indices as a const enum, so hot paths index with literals. */
export enum Ev {
  pteRead = 0,
  pteClear = 1,
  pteSet = 2,
  tlbRangeUpdate = 3,
  tlbFlushRange = 4,
  tlbFlushFull = 5,
  tlbFlushPages = 6,
  mapcountAtomic = 7,
  largeMapcountAtomic = 8,
  nrPagesMappedAtomic = 9,
  entireMapcountAtomic = 10,
  refcountAtomic = 11,
  lruvecStatUpdate = 12,
  lruvecLock = 13,
  splitQueueLock = 14,
  deferredSplitEnqueue = 15,
  deferredSplitDequeue = 16,
  gatherEntries = 17,
  gatherBatchAlloc = 18,
  structPageLines = 19,
  ptLock = 20,
  rssCounterAdd = 21,
  folioMarkDirty = 22,
  folioMarkAccessed = 23,
  freeSwapCache = 24,
  lruAddDrain = 25,
  memcgUncharge = 26,
  pagesFreed = 27,
  foliosFreed = 28,
  gatherFlush = 29,
  munlockCheck = 30,
  foliosAllocated = 31,
  bytesZeroed = 32,
  bytesCopied = 33,
  ptAlloc = 34,
  ptFree = 35,
  lruAdd = 36,
  swapOutPages = 37,
  swapInPages = 38,
  tlbShootdown = 39,
  pageFault = 40,
  syscall = 41,
  vmaUpdate = 42,
  procFork = 43,
  procExit = 44,
  userAccessPages = 45,
  bufferHeadsDirtied = 46,
  freeSwapAndCacheNr = 47,
  lruIsolate = 48,
  rmapWalk = 49,
  rmapWalkVma = 50,
  memcgReclaimRound = 51,
  shrinkNode = 52,
  shrinkInactiveList = 53,
  userTlbMiss = 54,
  pageCacheDelete = 55,
  iPagesLock = 56,
  lruAddDrainAll = 57,
  swapEntriesPut = 58,
  rmapWalkPtes = 59,
  vmaSplit = 60,
  blockDirtyFolio = 61,
  lruMove = 62,
}

export const CostEvent = {
  /** ptep_get(): reads of a PTE (the batch scan ahead counts here too). */
  pteRead: 0,
  /** ptep_get_and_clear_full() / clear_full_ptes() (and clear_young_dirty_ptes(), with a set): PTEs cleared. */
  pteClear: 1,
  /** set_pte_at()/set_ptes(): PTEs written by faults, fork, restores. */
  pteSet: 2,
  /** tlb_flush_pte_range() bookkeeping calls (tlb_remove_tlb_entry/entries). */
  tlbRangeUpdate: 3,
  /** flush_tlb_mm_range() that stayed a range flush. */
  tlbFlushRange: 4,
  /** full TLB flushes (fullmm, or x86 range above tlb_single_page_flush_ceiling). */
  tlbFlushFull: 5,
  /** pages covered by range flushes. */
  tlbFlushPages: 6,
  /** atomic RMW on page->_mapcount (or folio->_mapcount of a small folio). */
  mapcountAtomic: 7,
  /** updates of folio->_large_mapcount (MM_ID: bit spinlock acquire). */
  largeMapcountAtomic: 8,
  /** atomic RMW on folio->_nr_pages_mapped. */
  nrPagesMappedAtomic: 9,
  /** atomic RMW on folio->_entire_mapcount. */
  entireMapcountAtomic: 10,
  /** atomic RMW on folio->_refcount (get, put, sub_and_test). */
  refcountAtomic: 11,
  /** __lruvec_stat_mod_folio() calls (NR_ANON_MAPPED, NR_FILE_MAPPED, NR_ANON_THPS). */
  lruvecStatUpdate: 12,
  /** lruvec lock acquisitions (LRU removal on free, a per-CPU LRU batch's move). */
  lruvecLock: 13,
  /** split_queue_lock acquisitions. */
  splitQueueLock: 14,
  /** folios added to the deferred split queue. */
  deferredSplitEnqueue: 15,
  /** folios removed from the deferred split queue. */
  deferredSplitDequeue: 16,
  /** mmu_gather entries written (8 bytes each; contig-range ranges are 16). */
  gatherEntries: 17,
  /** mmu_gather batch pages allocated (tlb_next_batch). */
  gatherBatchAlloc: 18,
  /** struct page cache lines touched (64 bytes each). */
  structPageLines: 19,
  /** PT lock acquisitions (one per PTE table visited). */
  ptLock: 20,
  /** percpu_counter_add() on mm->rss_stat (add_mm_rss_vec folds). */
  rssCounterAdd: 21,
  /**
   * folio_mark_dirty()/set_page_dirty() calls: the a_ops->dirty_folio() call itself, all a shmem or
   * swap cache folio's noop_dirty_folio() does (block_dirty_folio counts a file folio's work).
   */
  folioMarkDirty: 22,
  /** folio_mark_accessed()/mark_page_accessed() calls. */
  folioMarkAccessed: 23,
  /** free_swap_cache() calls. */
  freeSwapCache: 24,
  /** lru_add_drain() calls. */
  lruAddDrain: 25,
  /** memcg uncharge calls (mem_cgroup_uncharge_list / _folios). */
  memcgUncharge: 26,
  /** 4 KiB pages returned to the page allocator. */
  pagesFreed: 27,
  /** folios returned to the page allocator. */
  foliosFreed: 28,
  /** mmu_gather flushes that freed gathered pages (tlb_flush_mmu_free with pages). */
  gatherFlush: 29,
  /** munlock_vma_folio() checks. */
  munlockCheck: 30,
  /** folios allocated by the page allocator for user memory (memcg charge included; zeroing and copying are not). */
  foliosAllocated: 31,
  /** bytes cleared by clear_page()/folio_zero_user() for new anon folios and new page cache pages. */
  bytesZeroed: 32,
  /** bytes copied by copy_user_highpage()/copy_mc_user_highpage() (COW, fork of pinned pages). */
  bytesCopied: 33,
  /** page-table pages allocated: PTE tables (__pte_alloc) and the tables deposited for PMD THPs (pte_alloc_one). */
  ptAlloc: 34,
  /** page-table pages freed: free_pgtables()/pte_free_tlb(), exit, and zap_deposited_table(). */
  ptFree: 35,
  /** folio_add_lru() / folio_add_lru_vma(): new folios put on the per-CPU LRU add batch. */
  lruAdd: 36,
  /** 4 KiB pages written to swap (swap_writeout of a folio). */
  swapOutPages: 37,
  /** 4 KiB pages read from swap (do_swap_page of a folio not in the swap cache). */
  swapInPages: 38,
  /**
   * TLB flushes that must reach another CPU (x86: an IPI to the CPUs in mm_cpumask, and the wait).
   * None on the model's one CPU, the probe's too (every proc runs on one CPU, so another process's
   * mm is loaded nowhere and its flush is left to its next switch-in: flushTlbMmRange()); the
   * event stays so a profile keeps its price for a model of more CPUs.
   */
  tlbShootdown: 39,
  /** page faults taken (exception entry and exit, the per-VMA lock, handle_mm_fault's walk): vmstat pgfault. */
  pageFault: 40,
  /** syscalls of mmap, munmap, madvise, mprotect, mremap (entry and exit, mmap_lock, find_vma). */
  syscall: 41,
  /** VMAs created or freed (vm_area_alloc/free, the maple tree store, unlink_anon_vmas()). */
  vmaUpdate: 42,
  /** fork()s: task, mm and VMA-tree duplication outside copy_page_range. */
  procFork: 43,
  /** process exits: task teardown outside exit_mmap, up to the parent's wakeup. */
  procExit: 44,
  /** 4 KiB pages a user write/read op touches, faulting or not (a store or load and its cache line each). */
  userAccessPages: 45,
  /**
   * Buffer heads set dirty by folio_mark_dirty() of a regular file's folio: ext4's
   * block_dirty_folio() walks every buffer head of the folio (one per 4K block), cold ones.
   */
  bufferHeadsDirtied: 46,
  /**
   * free_swap_and_cache_nr() calls: one per batch of swap PTEs holding consecutive slots
   * (swap_pte_batch()), each taking the swap device and the swap cluster lock once.
   */
  freeSwapAndCacheNr: 47,
  /**
   * folios reclaim takes off the LRU for shrink_folio_list() (isolate_lru_folios() or
   * folio_isolate_lru(), the folio lock, and the putback or free at the end).
   */
  lruIsolate: 48,
  /** rmap_walk() calls: the anon_vma or i_mmap lock and the interval tree walk of one folio. */
  rmapWalk: 49,
  /** VMAs an rmap walk visits (page_vma_mapped_walk() in try_to_unmap_one(), try_to_migrate_one(), ...). */
  rmapWalkVma: 50,
  /**
   * try_to_free_mem_cgroup_pages() rounds of the `reclaim` op's memory.force_empty: SWAP_CLUSTER_MAX
   * pages a round, and the MAX_RECLAIM_RETRIES rounds that find nothing at the end (entry, exit,
   * psi and the memcg's charge checks).
   */
  memcgReclaimRound: 51,
  /** shrink_node() calls of those rounds, one per priority level: the memcg walk, shrink_slab(), vmpressure. */
  shrinkNode: 52,
  /** shrink_inactive_list() calls of those rounds: lru_add_drain(), the isolation under lru_lock, the putback. */
  shrinkInactiveList: 53,
  /**
   * TLB entries those accesses need: one per PTE-mapped page, one per PMD-mapped 2M run (a
   * guest's page walk under nested paging, which is why a PMD-mapped write costs a fraction).
   */
  userTlbMiss: 54,
  /**
   * Folios taken out of a page cache: page_cache_delete() (or shmem_delete_from_page_cache())
   * under the mapping's i_pages lock, with the folio lock truncate or reclaim holds around it.
   */
  pageCacheDelete: 55,
  /**
   * xa_lock_irq() sections of a mapping's i_pages: one a folio added to a page cache or taken out
   * one at a time (shmem truncation's truncate_inode_folio(), reclaim's __remove_mapping(),
   * shmem_writeout()), one a folio batch of a regular file's truncation
   * (delete_from_page_cache_batch()). Dear in a guest: re-enabling interrupts is paravirtualised.
   */
  iPagesLock: 56,
  /**
   * lru_add_drain_all() calls (mem_cgroup_force_empty() starts with one): drain work queued on
   * every CPU with folios in its batches, and waited for (waking an idle vCPU in a guest).
   */
  lruAddDrainAll: 57,
  /**
   * Swap entries whose count is dropped (swap_entries_put_map_nr(): a swap_map byte each, under the
   * cluster lock free_swap_and_cache_nr() or swap_free_nr() takes once per call).
   */
  swapEntriesPut: 58,
  /**
   * Page table entries folio_referenced_one() steps page_vma_mapped_walk() over in reclaim's
   * reference check: a folio's PTE range in each VMA mapping it, one entry at a time (one for a
   * PMD mapping): check_pte() and the accessed bit of each.
   */
  rmapWalkPtes: 59,
  /**
   * VMAs split by __split_vma() (a munmap, mprotect or madvise that ends inside a VMA):
   * vm_area_dup(), anon_vma_clone() under the anon_vma lock, the maple tree preallocation and the
   * store of the new VMA. Apart from vma_update, which a whole VMA's removal costs, because a split
   * allocates and copies where a removal only frees.
   */
  vmaSplit: 60,
  /**
   * block_dirty_folio() calls (ext4_dirty_folio(), a file folio's folio_mark_dirty()): the
   * mapping's i_private_lock and the folio's flag, with __folio_mark_dirty()'s accounting, xarray
   * tag and inode dirtying when the folio was clean (its buffer heads: buffer_heads_dirtied).
   */
  blockDirtyFolio: 61,
  /**
   * Folios a per-CPU LRU batch moves between LRU lists (folio_batch_add_and_move() and
   * folio_batch_move_lru(), one body for every move): the folio's reference and batch slot,
   * folio_test_clear_lru(), the move itself and folios_put() of the batch. Counted for
   * lru_activate (folio_mark_accessed() of a referenced folio: PGACTIVATE) and lru_lazyfree
   * (MADV_FREE's folio_mark_lazyfree(): PGLAZYFREE). The batch's lruvec lock is counted apart
   * (lruvec_lock): a large folio moves at once, 31 small ones share one.
   */
  lruMove: 62,
} as const;

export type CostEventName = keyof typeof CostEvent;
export const COST_EVENT_NAMES: readonly CostEventName[] = Object.keys(CostEvent) as CostEventName[];
export const COST_EVENT_COUNT = COST_EVENT_NAMES.length;

/** Kernel-style snake_case names, used in the result contract. */
export const COST_EVENT_KEYS: readonly string[] = COST_EVENT_NAMES.map((n) => n.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));

export function costsToRecord(costs: Float64Array): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < COST_EVENT_COUNT; i++) out[COST_EVENT_KEYS[i] as string] = costs[i] as number;
  return out;
}
