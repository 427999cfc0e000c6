/**
 * The folio-batch strategy: zap_pte_range() as Linux 6.18 runs it (mm/memory.c). David
 * Hildenbrand's "mm/memory: optimize unmap/zap with PTE-mapped THP" (merged for 6.9) batches
 * the present PTEs of one folio with folio_pte_batch() and zaps them in zap_present_folio_ptes()
 * with one folio_remove_rmap_ptes() (one _nr_pages_mapped update since 6.12) and one
 * __tlb_remove_folio_pages() item; Matthew Wilcox's folio freeing (6.9) releases the gather
 * through free_pages_and_swap_cache() -> folios_put_refs() in folio batches of 31.
 */

import {
  folioPteBatchAt,
  freePagesAndSwapCacheV618,
  type ReclaimUnmapContext,
  tlbFlushRmapBatchV69,
  type ZapStrategy,
  zapPresentPtesV69,
} from "@foliolab/core/strategy";

export const folioBatch: ZapStrategy = {
  name: "folio-batch",
  description: "Linux 6.18 zap_present_ptes(): folio_pte_batch + one folio_remove_rmap_ptes and one gather item per batch",
  // 6.9+: a two-entry item must always fit (max - 1); otherwise the v6.5 layout.
  gather: { reserveOne: true },

  /** zap_present_ptes() (6.9+): the zero page alone, large folios batched, small folios nr = 1. */
  zapPresentPtes: zapPresentPtesV69,

  /** tlb_flush_rmaps() -> tlb_flush_rmap_batch() (6.9+): folio_remove_rmap_ptes() per delayed item. */
  flushRmaps: tlbFlushRmapBatchV69,

  /**
   * free_pages_and_swap_cache() (6.18: no lru_add_drain()): free_swap_cache() once per item,
   * then folios_put_refs() per folio_batch of PAGEVEC_SIZE, dropping the item's nr references.
   */
  releaseGathered: freePagesAndSwapCacheV618,

  /**
   * folio_unmap_pte_batch() (6.15, Barry Song; bounded by the VMA and the PMD since Lance
   * Yang's 6.16 fix): reclaim batches the PTEs of a lazyfree folio, any number from 1 up to the
   * bound; everything else is unmapped one PTE at a time.
   */
  reclaimUnmapBatch(r: ReclaimUnmapContext, max: number): number {
    if (!r.lazyfree) return 1;
    return folioPteBatchAt(r.k, r.ptes, r.folio, r.index, max);
  },
};

export default folioBatch;
