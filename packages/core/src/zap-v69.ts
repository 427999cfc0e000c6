/**
 * The Linux 6.9 teardown pieces (David Hildenbrand, "mm/memory: optimize unmap/zap with
 * PTE-mapped THP", merged for 6.9; Matthew Wilcox's folio freeing, 6.9), as 6.18 still runs
 * them (mm/memory.c, mm/mmu_gather.c, mm/swap_state.c): zap_present_ptes() with
 * zap_present_folio_ptes(), tlb_flush_rmap_batch() over folio items, and
 * free_pages_and_swap_cache() over folio batches.
 */

import { folioTestAnon, folioTestLarge, pageFolio } from "./folio.js";
import { MM_ANONPAGES } from "./mm.js";
import {
  GATHER,
  type MmuGather,
  tlbDelayRmap,
  tlbRemoveFolioPages,
  tlbRemoveTlbEntries,
  tlbRemoveTlbEntry,
} from "./mmu-gather.js";
import { pteDirty, pteYoung } from "./page-table.js";
import { folioRemoveRmapPtes } from "./rmap.js";
import { FolioBatch, freeSwapCache, lruAddDrain } from "./swap.js";
import {
  clearFullPtes,
  folioMarkAccessed,
  folioMarkDirty,
  folioPteBatch,
  getAndClearFullPtes,
  mmCounter,
  ptepGetAndClearFull,
  vmNormalPage,
  type ZapContext,
} from "./zap.js";
import { flushDelayedRmaps } from "./zap-v65.js";

/**
 * zap_present_folio_ptes() (mm/memory.c, 6.9, unchanged in 6.18): clear the nr PTEs of one
 * folio from slot z.index, one TLB range update, the rmap removed once for the batch (unless a
 * dirty file page delays it until after the flush), and one gather item for the batch.
 */
export function zapPresentFolioPtesV69(z: ZapContext, folio: number, pfn: number, nr: number): void {
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

/**
 * zap_present_ptes() (mm/memory.c, 6.9+): the zero page alone, a large folio's run of PTEs
 * batched with folio_pte_batch(), a small folio with nr = 1. Returns the PTEs consumed.
 */
export function zapPresentPtesV69(z: ZapContext, max: number): number {
  const pfn = vmNormalPage(z, z.ptent);
  if (pfn < 0) {
    ptepGetAndClearFull(z, z.index);
    tlbRemoveTlbEntry(z.tlb, z.vpn(z.index));
    return 1;
  }
  const folio = pageFolio(z.k, pfn);
  // "Make sure that the common 'small folio' case is as fast as possible."
  if (folioTestLarge(z.k, folio) && max !== 1) {
    const nr = folioPteBatch(z, folio, z.index, max);
    zapPresentFolioPtesV69(z, folio, pfn, nr);
    return nr;
  }
  zapPresentFolioPtesV69(z, folio, pfn, 1);
  return 1;
}

/**
 * tlb_flush_rmaps() -> tlb_flush_rmap_batch() (mm/mmu_gather.c, 6.9+): folio_remove_rmap_ptes()
 * for every item gathered with the delay-rmap bit, over the item's nr pages.
 */
export function tlbFlushRmapBatchV69(z: ZapContext): void {
  flushDelayedRmaps(z, (pfn, nr) => folioRemoveRmapPtes(z.k, pageFolio(z.k, pfn), pfn, nr, z.vma));
}

/**
 * free_pages_and_swap_cache() (mm/swap_state.c) as 6.18 has it: free_swap_cache() once per item,
 * then folios_put_refs() per folio_batch of PAGEVEC_SIZE, dropping the item's nr references
 * (ENCODED_PAGE_BIT_NR_PAGES_NEXT) or one. A batch page (<= 510 entries) is one
 * MAX_NR_FOLIOS_PER_FREE chunk.
 */
export function freePagesAndSwapCacheV618(tlb: MmuGather, from: number, to: number): void {
  const k = tlb.k;
  const folios = new FolioBatch(k);
  for (let i = from; i < to; i++) {
    const folio = pageFolio(k, tlb.itemPfn[i] as number);
    freeSwapCache(k, folio);
    folios.add(folio, ((tlb.itemFlags[i] as number) & GATHER.nrPagesNext) !== 0 ? (tlb.itemNr[i] as number) : 1);
  }
  folios.flush();
}

/** free_pages_and_swap_cache() as 6.9 merged it: lru_add_drain() first, then the 6.18 body. */
export function freePagesAndSwapCacheV69(tlb: MmuGather, from: number, to: number): void {
  lruAddDrain(tlb.k);
  freePagesAndSwapCacheV618(tlb, from, to);
}
