/**
 * The per-page strategy: zap_pte_range() as Linux v6.5 ran it (mm/memory.c), one PTE at a
 * time. For every present PTE: clear it, tlb_remove_tlb_entry(), for file pages the dirty and
 * young handling with the delayed rmap of dirty pages (6.2), page_remove_rmap(), and
 * __tlb_remove_page() into an mmu_gather of 8 local + up to 19 batch pages of 510 entries.
 * Freed through free_pages_and_swap_cache() -> release_pages(), one reference per entry.
 * The v6.5 pieces live in @foliolab/core (zap-v65), since the 2023 patches build on them too.
 */

import {
  freePagesAndSwapCacheV65,
  type MmuGather,
  tlbFlushRmapBatchV65,
  type ZapContext,
  type ZapStrategy,
  zapPresentPteV65,
} from "@foliolab/core";

export const perPage: ZapStrategy = {
  name: "per-page",
  description: "Linux v6.5 zap_pte_range(): page_remove_rmap() and __tlb_remove_page() per PTE",
  gather: { localEntries: 8, entriesPerBatch: 510, maxBatches: 19, reserveOne: false, delayedRmapCap: true },

  /** zap_pte_range()'s present-PTE body (v6.5), one PTE per call. */
  zapPresentPtes(z: ZapContext): number {
    return zapPresentPteV65(z);
  },

  /** tlb_flush_rmaps() -> tlb_flush_rmap_batch(): page_remove_rmap() for every delayed entry. */
  flushRmaps(z: ZapContext): void {
    tlbFlushRmapBatchV65(z);
  },

  /** free_pages_and_swap_cache() (v6.5); s390 frees each page at once. */
  releaseGathered(tlb: MmuGather, from: number, to: number): void {
    freePagesAndSwapCacheV65(tlb, from, to);
  },
};

export default perPage;
