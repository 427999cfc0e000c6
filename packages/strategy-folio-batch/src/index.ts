/**
 * The folio-batch strategy: zap_pte_range() as Linux 6.18 runs it (mm/memory.c). David
 * Hildenbrand's "mm/memory: optimize unmap/zap with PTE-mapped THP" (merged for 6.9) batches
 * the present PTEs of one folio with folio_pte_batch() and zaps them in zap_present_folio_ptes()
 * with one folio_remove_rmap_ptes() (one _nr_pages_mapped update since 6.12) and one
 * __tlb_remove_folio_pages() item; Matthew Wilcox's folio freeing (6.9) releases the gather
 * through free_pages_and_swap_cache() -> folios_put_refs() in folio batches of 31.
 */

import {
  freePagesAndSwapCacheV618,
  RECLAIM_BATCHING,
  type ReclaimBatching,
  reclaimUnmapBatchOf,
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
   * Yang's 6.16 fix; FPB_RESPECT_WRITE | FPB_RESPECT_SOFT_DIRTY since 6.17): reclaim batches the
   * PTEs of a lazyfree folio, any run from 1 up to the bound whose write and soft-dirty bits
   * match the first; everything else is unmapped one PTE at a time.
   */
  reclaimUnmapBatch: reclaimUnmapBatchOf("partial"),
};

export default folioBatch;

/**
 * folio-batch with another reclaim batching (the variants of the lazyfree batched-unmap review, Barry Song's v4 3/4, June
 * 2025; core's RECLAIM_BATCHING):
 * "none" (per PTE, <= 6.14), "all-or-nothing" (Barry Song's v4), "partial" (merged; the
 * default `folioBatch`). The zap path is the same.
 */
export function folioBatchWith(o: { reclaimBatching: ReclaimBatching }): ZapStrategy {
  if (!(RECLAIM_BATCHING as readonly string[]).includes(o.reclaimBatching))
    throw new Error(`reclaimBatching must be one of ${RECLAIM_BATCHING.join(", ")} (got ${String(o.reclaimBatching)})`);
  return {
    ...folioBatch,
    name: o.reclaimBatching === "partial" ? folioBatch.name : `folio-batch/reclaim-${o.reclaimBatching}`,
    reclaimUnmapBatch: reclaimUnmapBatchOf(o.reclaimBatching),
  };
}
