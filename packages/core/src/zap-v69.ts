/**
 * The Linux 6.9 teardown pieces (David Hildenbrand, "mm/memory: optimize unmap/zap with
 * PTE-mapped THP", merged for 6.9; Matthew Wilcox's folio freeing, 6.9), as 6.18 still runs
 * them (mm/memory.c, mm/mmu_gather.c, mm/swap_state.c): zap_present_ptes() with
 * zap_present_folio_ptes(), tlb_flush_rmap_batch() over folio items, and
 * free_pages_and_swap_cache() over folio batches.
 */

import { folioTestAnon, folioTestLarge, pageFolio } from "./folio.js";
import { MM_ANONPAGES } from "./mm.js";
import { GATHER, type MmuGather, tlbRemoveFolioPages, tlbRemoveTlbEntries, tlbRemoveTlbEntry } from "./mmu-gather.js";
import { pteDirty, pteYoung } from "./page-table.js";
import { folioRemoveRmapPtes } from "./rmap.js";
import { freeSwapCache, lruAddDrain } from "./swap.js";
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
import { flushDelayedRmaps, ZAP_PTE_STEPS_V65 } from "./zap-v65.js";

/**
 * The steps of zap_present_folio_ptes() (mm/memory.c, 6.9, unchanged in 6.18), one per kernel
 * call it makes, for the nr PTEs of one folio from slot z.index, so that a strategy changing one
 * of them reuses the others: zapPresentFolioPtesV69With(), zapPresentPtesV69With(). `folio` is
 * the folio of the batch's first page `pfn`. `folioPteBatch` is zap_present_ptes()'s.
 */
export interface ZapFolioStepsV69<S = unknown> {
  /** folio_pte_batch() (zap_present_ptes()): how many PTEs from slot i map the next pages of `folio`, at most max. */
  folioPteBatch(z: ZapContext<S>, folio: number, i: number, max: number): number;
  /** get_and_clear_full_ptes() (file folios): the PTEs cleared, returns the first with the batch's dirty and young ORed in. */
  getAndClearFullPtes(z: ZapContext<S>, nr: number): number;
  /** clear_full_ptes() (anon folios: "We don't need up-to-date accessed/dirty bits."). */
  clearFullPtes(z: ZapContext<S>, nr: number): void;
  /** folio_mark_dirty(): a file folio one of whose PTEs was dirty. */
  folioMarkDirty(z: ZapContext<S>, folio: number): void;
  /** tlb_delay_rmap() for that dirty file folio: true (and force_flush) when its rmap waits for the TLB flush. */
  delayRmap(z: ZapContext<S>): boolean;
  /** rss[counter] -= nr: mm_counter(folio) for a file folio, MM_ANONPAGES for an anon one. */
  rss(z: ZapContext<S>, counter: number, nr: number): void;
  /** tlb_remove_tlb_entries() of the nr PTEs. */
  removeTlbEntries(z: ZapContext<S>, nr: number): void;
  /** folio_remove_rmap_ptes(folio, page, nr, vma), when the rmap is not delayed. */
  removeRmap(z: ZapContext<S>, folio: number, pfn: number, nr: number): void;
  /** __tlb_remove_folio_pages(tlb, page, nr, delay_rmap): one gather item; full: force_flush and force_break. */
  removeFolioPages(z: ZapContext<S>, pfn: number, nr: number, delayRmap: boolean): void;
}

/** The 6.9 kernel's steps, as zapPresentFolioPtesV69() and zapPresentPtesV69() run them. */
export const ZAP_FOLIO_STEPS_V69: Readonly<ZapFolioStepsV69> = Object.freeze({
  folioPteBatch,
  getAndClearFullPtes(z: ZapContext, nr: number): number {
    return getAndClearFullPtes(z, z.index, nr);
  },
  clearFullPtes(z: ZapContext, nr: number): void {
    clearFullPtes(z, z.index, nr);
  },
  folioMarkDirty(z: ZapContext, folio: number): void {
    folioMarkDirty(z.k, folio);
  },
  // The same `if (tlb_delay_rmap(tlb)) { delay_rmap = true; *force_flush = true; }` as v6.5's.
  delayRmap: ZAP_PTE_STEPS_V65.delayRmap,
  rss(z: ZapContext, counter: number, nr: number): void {
    z.addRss(counter, -nr);
  },
  removeTlbEntries(z: ZapContext, nr: number): void {
    tlbRemoveTlbEntries(z.tlb, z.vpn(z.index), nr);
  },
  removeRmap(z: ZapContext, folio: number, pfn: number, nr: number): void {
    folioRemoveRmapPtes(z.k, folio, pfn, nr, z.vma);
  },
  removeFolioPages(z: ZapContext, pfn: number, nr: number, delayRmap: boolean): void {
    if (tlbRemoveFolioPages(z.tlb, pfn, nr, delayRmap)) {
      z.forceFlush = true;
      z.forceBreak = true;
    }
  },
});

/** zap_present_folio_ptes()'s signature: the nr PTEs of `folio` from z.index, `pfn` the first page. */
export type ZapPresentFolioPtes<S = unknown> = (z: ZapContext<S>, folio: number, pfn: number, nr: number) => void;

/**
 * zap_present_folio_ptes() over the steps `s`: the one copy of 6.9's order of steps. The steps
 * are bound once, as the closure's constants, so the kernel's own body calls them directly.
 */
function zapPresentFolioPtesSteps<S>(s: ZapFolioStepsV69<S>): ZapPresentFolioPtes<S> {
  const { getAndClearFullPtes: getAndClear, clearFullPtes: clear, folioMarkDirty: markDirty } = s;
  const { delayRmap: delay, rss, removeTlbEntries, removeRmap, removeFolioPages } = s;
  return (z: ZapContext<S>, folio: number, pfn: number, nr: number): void => {
    const k = z.k;
    let delayRmap = false;
    if (!folioTestAnon(k, folio)) {
      const ptent = getAndClear(z, nr);
      if (pteDirty(ptent)) {
        markDirty(z, folio);
        delayRmap = delay(z);
      }
      if (pteYoung(ptent)) folioMarkAccessed(k, folio);
      rss(z, mmCounter(k, folio), nr);
    } else {
      clear(z, nr);
      rss(z, MM_ANONPAGES, nr);
    }
    removeTlbEntries(z, nr);
    if (!delayRmap) removeRmap(z, folio, pfn, nr);
    removeFolioPages(z, pfn, nr, delayRmap);
  };
}

/**
 * zap_present_ptes() over the steps `s` (folio_pte_batch() and zap_present_folio_ptes()'s):
 * the zero page alone, a large folio's run of PTEs batched, a small folio with nr = 1.
 */
function zapPresentPtesSteps<S>(s: ZapFolioStepsV69<S>): (z: ZapContext<S>, max: number) => number {
  const zapFolio = zapPresentFolioPtesSteps(s);
  const batch = s.folioPteBatch;
  return (z: ZapContext<S>, max: number): number => {
    const pfn = vmNormalPage(z, z.ptent);
    if (pfn < 0) {
      ptepGetAndClearFull(z, z.index);
      tlbRemoveTlbEntry(z.tlb, z.vpn(z.index));
      return 1;
    }
    const folio = pageFolio(z.k, pfn);
    // "Make sure that the common 'small folio' case is as fast as possible."
    if (folioTestLarge(z.k, folio) && max !== 1) {
      const nr = batch(z, folio, z.index, max);
      zapFolio(z, folio, pfn, nr);
      return nr;
    }
    zapFolio(z, folio, pfn, 1);
    return 1;
  };
}

/**
 * zap_present_folio_ptes() (mm/memory.c, 6.9, unchanged in 6.18): clear the nr PTEs of one
 * folio from slot z.index, one TLB range update, the rmap removed once for the batch (unless a
 * dirty file page delays it until after the flush), and one gather item for the batch.
 */
export const zapPresentFolioPtesV69: ZapPresentFolioPtes = zapPresentFolioPtesSteps(ZAP_FOLIO_STEPS_V69);

/**
 * zap_present_ptes() (mm/memory.c, 6.9+): the zero page alone, a large folio's run of PTEs
 * batched with folio_pte_batch(), a small folio with nr = 1. Returns the PTEs consumed.
 */
export const zapPresentPtesV69: (z: ZapContext, max: number) => number = zapPresentPtesSteps(ZAP_FOLIO_STEPS_V69);

/**
 * zapPresentFolioPtesV69() with the steps in `replace` instead of the kernel's
 * (ZAP_FOLIO_STEPS_V69): a patch that changes one step of 6.9's body, or a broken one, keeps the rest.
 */
export function zapPresentFolioPtesV69With<S = unknown>(replace: Partial<ZapFolioStepsV69<S>>): ZapPresentFolioPtes<S> {
  return zapPresentFolioPtesSteps<S>({ ...ZAP_FOLIO_STEPS_V69, ...replace });
}

/** zapPresentPtesV69() with the steps in `replace` (folio_pte_batch() included) instead of the kernel's. */
export function zapPresentPtesV69With<S = unknown>(
  replace: Partial<ZapFolioStepsV69<S>>,
): (z: ZapContext<S>, max: number) => number {
  return zapPresentPtesSteps<S>({ ...ZAP_FOLIO_STEPS_V69, ...replace });
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
  const { itemPfn, itemNr, itemFlags } = tlb;
  const folios = k.folioBatch;
  for (let i = from; i < to; i++) {
    const folio = pageFolio(k, itemPfn[i] as number);
    freeSwapCache(k, folio);
    folios.add(folio, ((itemFlags[i] as number) & GATHER.nrPagesNext) !== 0 ? (itemNr[i] as number) : 1);
  }
  folios.flush();
}

/** free_pages_and_swap_cache() as 6.9 merged it: lru_add_drain() first, then the 6.18 body. */
export function freePagesAndSwapCacheV69(tlb: MmuGather, from: number, to: number): void {
  lruAddDrain(tlb.k);
  freePagesAndSwapCacheV618(tlb, from, to);
}
