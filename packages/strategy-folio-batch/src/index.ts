/**
 * The folio-batch strategy: zap_pte_range() as Linux 6.18 runs it (mm/memory.c). David
 * Hildenbrand's "mm/memory: optimize unmap/zap with PTE-mapped THP" (merged for 6.9) batches
 * the present PTEs of one folio with folio_pte_batch() and zaps them in zap_present_folio_ptes()
 * with one folio_remove_rmap_ptes() (one _nr_pages_mapped update since 6.12) and one
 * __tlb_remove_folio_pages() item; Matthew Wilcox's folio freeing (6.9) releases the gather
 * through free_pages_and_swap_cache() -> folios_put_refs() in folio batches of 31.
 */

import {
  clearFullPtes,
  FolioBatch,
  folioMarkAccessed,
  folioMarkDirty,
  folioPteBatch,
  folioRemoveRmapPtes,
  folioTestAnon,
  folioTestLarge,
  freeSwapCache,
  GATHER,
  getAndClearFullPtes,
  MM_ANONPAGES,
  type MmuGather,
  mmCounter,
  pageFolio,
  pteDirty,
  ptepGetAndClearFull,
  pteYoung,
  RECLAIM_BATCHING,
  type ReclaimBatching,
  reclaimUnmapBatchOf,
  tlbDelayRmap,
  tlbRemoveFolioPages,
  tlbRemoveTlbEntries,
  tlbRemoveTlbEntry,
  vmNormalPage,
  type ZapContext,
  type ZapStrategy,
} from "@foliolab/core";

/**
 * zap_present_folio_ptes() (6.9, unchanged in 6.18): clear nr PTEs of one folio, one TLB range
 * update, the rmap removed once for the batch (unless a dirty file page delays it until after
 * the flush), and one gather item for the batch.
 */
function zapPresentFolioPtes(z: ZapContext, folio: number, pfn: number, nr: number): void {
  const k = z.k;
  const i = z.index;
  let delayRmap = false;
  if (!folioTestAnon(k, folio)) {
    // get_and_clear_full_ptes(): dirty and young of the whole batch ORed into one value.
    const ptent = getAndClearFullPtes(z, i, nr);
    if (pteDirty(ptent)) {
      folioMarkDirty(k, folio);
      if (tlbDelayRmap(z.tlb)) {
        delayRmap = true;
        z.forceFlush = true;
      }
    }
    if (pteYoung(ptent)) folioMarkAccessed(k, folio);
    z.addRss(mmCounter(k, folio), -nr);
  } else {
    // "We don't need up-to-date accessed/dirty bits."
    clearFullPtes(z, i, nr);
    z.addRss(MM_ANONPAGES, -nr);
  }
  tlbRemoveTlbEntries(z.tlb, z.vpn(i), nr);
  if (!delayRmap) folioRemoveRmapPtes(k, folio, pfn, nr, z.vma);
  if (tlbRemoveFolioPages(z.tlb, pfn, nr, delayRmap)) {
    z.forceFlush = true;
    z.forceBreak = true;
  }
}

export const folioBatch: ZapStrategy = {
  name: "folio-batch",
  description: "Linux 6.18 zap_present_ptes(): folio_pte_batch + one folio_remove_rmap_ptes and one gather item per batch",
  // 6.9+: 8 local + 19 pages of 510 entries; a two-entry item must always fit (max - 1).
  gather: { localEntries: 8, entriesPerBatch: 510, maxBatches: 19, reserveOne: true, delayedRmapCap: true },

  /** zap_present_ptes() (6.9+): the zero page alone, large folios batched, small folios nr = 1. */
  zapPresentPtes(z: ZapContext, max: number): number {
    const k = z.k;
    const pfn = vmNormalPage(z, z.ptent);
    if (pfn < 0) {
      ptepGetAndClearFull(z, z.index);
      tlbRemoveTlbEntry(z.tlb, z.vpn(z.index));
      return 1;
    }
    const folio = pageFolio(k, pfn);
    // "Make sure that the common 'small folio' case is as fast as possible."
    if (folioTestLarge(k, folio) && max !== 1) {
      const nr = folioPteBatch(z, folio, z.index, max);
      zapPresentFolioPtes(z, folio, pfn, nr);
      return nr;
    }
    zapPresentFolioPtes(z, folio, pfn, 1);
    return 1;
  },

  /** tlb_flush_rmaps() -> tlb_flush_rmap_batch() (6.9+): folio_remove_rmap_ptes() per delayed item. */
  flushRmaps(z: ZapContext): void {
    const tlb = z.tlb;
    if (!tlb.delayedRmap) return;
    for (let i = 0; i < tlb.count; i++) {
      const flags = tlb.itemFlags[i] as number;
      if ((flags & GATHER.delayRmap) === 0) continue;
      const pfn = tlb.itemPfn[i] as number;
      folioRemoveRmapPtes(z.k, pageFolio(z.k, pfn), pfn, tlb.itemNr[i] as number, z.vma);
      tlb.itemFlags[i] = flags & ~GATHER.delayRmap;
    }
    tlb.delayedRmap = false;
  },

  /**
   * free_pages_and_swap_cache() (6.18: no lru_add_drain()): free_swap_cache() once per item,
   * then folios_put_refs() per folio_batch of PAGEVEC_SIZE, dropping the item's nr references.
   * A batch page (<= 510 entries) is one MAX_NR_FOLIOS_PER_FREE chunk.
   */
  releaseGathered(tlb: MmuGather, from: number, to: number): void {
    const k = tlb.k;
    const folios = new FolioBatch(k);
    for (let i = from; i < to; i++) {
      const folio = pageFolio(k, tlb.itemPfn[i] as number);
      freeSwapCache(k, folio);
      folios.add(folio, tlb.itemNr[i] as number);
    }
    folios.flush();
  },

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
 * folio-batch with another reclaim batching (seed 004's variants, core's RECLAIM_BATCHING):
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
