/**
 * The Linux v6.5 teardown pieces more than one strategy builds on (the per-page reference, and
 * the 2023 patches that started from it): the present-PTE body of zap_pte_range() as its steps,
 * tlb_flush_rmap_batch() for delayed rmaps, and free_pages_and_swap_cache() with s390's
 * immediate free.
 */

import { folioTestAnon, pageFolio } from "./folio.js";
import { GATHER, type MmuGather, tlbDelayRmap, tlbRemovePage, tlbRemoveTlbEntry } from "./mmu-gather.js";
import { pteDirty, pteYoung } from "./page-table.js";
import { folioRemoveRmapPtes, pageRemoveRmap } from "./rmap.js";
import { freeSwapCache, lruAddDrain, releasePages } from "./swap.js";
import { folioMarkAccessed, folioMarkDirty, mmCounter, ptepGetAndClearFull, vmNormalPage, type ZapContext } from "./zap.js";

/** tlb_batch_pages_flush(): free_pages_and_swap_cache() gets at most 512 entries at once. */
export const FREE_CHUNK = 512;

/**
 * The steps of zap_pte_range()'s present-PTE body (v6.5, mm/memory.c), one per kernel call it
 * makes, so that a strategy changing one of them reuses the others: zapPresentPteV65With().
 * `folio` is the folio of the PTE's page `pfn`.
 */
export interface ZapPteStepsV65<S = unknown> {
  /** ptep_get_and_clear_full() and tlb_remove_tlb_entry() of the PTE at z.index; returns the PTE as it was. */
  getAndClear(z: ZapContext<S>): number;
  /** set_page_dirty(): a file page whose PTE was dirty. */
  setPageDirty(z: ZapContext<S>, folio: number): void;
  /** tlb_delay_rmap() for that dirty file page: true (and force_flush) when its rmap waits for the TLB flush. */
  delayRmap(z: ZapContext<S>): boolean;
  /** rss[mm_counter(page)]--. */
  rss(z: ZapContext<S>, folio: number): void;
  /** page_remove_rmap(page, vma, false), for a page whose rmap is not delayed. */
  removeRmap(z: ZapContext<S>, folio: number, pfn: number): void;
  /** __tlb_remove_page(tlb, page, delay_rmap): gather the page; a full gather sets force_flush and breaks the loop. */
  removePage(z: ZapContext<S>, pfn: number, delayRmap: boolean): void;
}

/** The v6.5 kernel's steps, as zapPresentPteV65() runs them. */
export const ZAP_PTE_STEPS_V65: Readonly<ZapPteStepsV65> = Object.freeze({
  getAndClear(z: ZapContext): number {
    const ptent = ptepGetAndClearFull(z, z.index);
    tlbRemoveTlbEntry(z.tlb, z.vpn(z.index));
    return ptent;
  },
  setPageDirty(z: ZapContext, folio: number): void {
    folioMarkDirty(z.k, folio);
  },
  delayRmap(z: ZapContext): boolean {
    if (!tlbDelayRmap(z.tlb)) return false;
    z.forceFlush = true;
    return true;
  },
  rss(z: ZapContext, folio: number): void {
    z.addRss(mmCounter(z.k, folio), -1);
  },
  removeRmap(z: ZapContext, folio: number, pfn: number): void {
    folioRemoveRmapPtes(z.k, folio, pfn, 1, z.vma); // page_remove_rmap(page, vma, false)
  },
  removePage(z: ZapContext, pfn: number, delayRmap: boolean): void {
    if (tlbRemovePage(z.tlb, pfn, delayRmap)) {
      z.forceFlush = true;
      z.forceBreak = true;
    }
  },
});

/**
 * The present-PTE body over the steps `s`: the one copy of v6.5's order of steps. The steps are
 * bound once, as the closure's constants, so the kernel's own body (zapPresentPteV65) calls them
 * directly and the hot path stays as short as a hand-written body.
 */
function zapPresentPteSteps<S>(s: ZapPteStepsV65<S>): (z: ZapContext<S>) => number {
  const { getAndClear, setPageDirty, delayRmap: delay, rss, removeRmap, removePage } = s;
  return (z: ZapContext<S>): number => {
    const pfn = vmNormalPage(z, z.ptent);
    const ptent = getAndClear(z);
    if (pfn < 0) return 1;
    const folio = pageFolio(z.k, pfn);
    let delayRmap = false;
    if (!folioTestAnon(z.k, folio)) {
      if (pteDirty(ptent)) {
        setPageDirty(z, folio);
        delayRmap = delay(z);
      }
      if (pteYoung(ptent)) folioMarkAccessed(z.k, folio);
    }
    rss(z, folio);
    if (!delayRmap) removeRmap(z, folio, pfn);
    removePage(z, pfn, delayRmap);
    return 1;
  };
}

/**
 * zap_pte_range() (v6.5, mm/memory.c) for the one present PTE at z.index: clear it,
 * tlb_remove_tlb_entry(), for file pages set_page_dirty() with the delayed rmap of a dirty page
 * (6.2) and mark_page_accessed(), rss, page_remove_rmap(), __tlb_remove_page(). Returns 1.
 */
export const zapPresentPteV65: (z: ZapContext) => number = zapPresentPteSteps(ZAP_PTE_STEPS_V65);

/**
 * zapPresentPteV65() with the steps in `replace` instead of the kernel's (ZAP_PTE_STEPS_V65):
 * a patch that changes one step of the v6.5 body, or a deliberately broken one, keeps the rest.
 */
export function zapPresentPteV65With<S = unknown>(replace: Partial<ZapPteStepsV65<S>>): (z: ZapContext<S>) => number {
  return zapPresentPteSteps<S>({ ...ZAP_PTE_STEPS_V65, ...replace });
}

/**
 * tlb_flush_rmap_batch()'s walk (mm/mmu_gather.c): every item gathered with the delay-rmap bit,
 * handed to `remove` (pfn, nr) and the bit cleared; then tlb->delayed_rmap = false.
 */
export function flushDelayedRmaps(z: ZapContext, remove: (pfn: number, nr: number) => void): void {
  const tlb = z.tlb;
  if (!tlb.delayedRmap) return;
  for (let i = 0; i < tlb.count; i++) {
    const flags = tlb.itemFlags[i] as number;
    if ((flags & GATHER.delayRmap) === 0) continue;
    remove(tlb.itemPfn[i] as number, tlb.itemNr[i] as number);
    tlb.itemFlags[i] = flags & ~GATHER.delayRmap;
  }
  tlb.delayedRmap = false;
}

/** tlb_flush_rmaps() -> tlb_flush_rmap_batch() (v6.5): page_remove_rmap() per delayed entry. */
export function tlbFlushRmapBatchV65(z: ZapContext): void {
  flushDelayedRmaps(z, (pfn) => pageRemoveRmap(z.k, pfn, z.vma));
}

/**
 * free_pages_and_swap_cache() (v6.5): per chunk, lru_add_drain(), free_swap_cache() per entry,
 * release_pages() (one reference per entry, or the item's nr with `refsFromNr`, as Ryan Roberts'
 * v2 folios_put_refs() over pfn ranges). On s390 (MMU_GATHER_NO_GATHER) the arch's
 * __tlb_remove_page_size() calls free_page_and_swap_cache() at once instead: no drain.
 */
export function freePagesAndSwapCacheV65(tlb: MmuGather, from: number, to: number, refsFromNr = false): void {
  const k = tlb.k;
  const refs = refsFromNr ? tlb.itemNr : undefined;
  if (k.noGather) {
    for (let i = from; i < to; i++) {
      freeSwapCache(k, pageFolio(k, tlb.itemPfn[i] as number));
      releasePages(k, tlb.itemPfn, i, i + 1, refs);
    }
    return;
  }
  for (let s = from; s < to; s += FREE_CHUNK) {
    const e = Math.min(to, s + FREE_CHUNK);
    lruAddDrain(k);
    for (let i = s; i < e; i++) freeSwapCache(k, pageFolio(k, tlb.itemPfn[i] as number));
    releasePages(k, tlb.itemPfn, s, e, refs);
  }
}
