/**
 * The per-page strategy: zap_pte_range() as Linux v6.5 ran it (mm/memory.c), one PTE at a
 * time. For every present PTE: clear it, tlb_remove_tlb_entry(), for file pages the dirty and
 * young handling with the delayed rmap of dirty pages (6.2), page_remove_rmap(), and
 * __tlb_remove_page() into an mmu_gather of 8 local + up to 19 batch pages of 510 entries.
 * Freed through free_pages_and_swap_cache() -> release_pages(), one reference per entry.
 */

import {
  folioMarkAccessed,
  folioMarkDirty,
  folioTestAnon,
  freeSwapCache,
  GATHER,
  lruAddDrain,
  type MmuGather,
  mmCounter,
  pageFolio,
  pageRemoveRmap,
  pteDirty,
  ptepGetAndClearFull,
  pteYoung,
  releasePages,
  tlbDelayRmap,
  tlbRemovePage,
  tlbRemoveTlbEntry,
  vmNormalPage,
  type ZapContext,
  type ZapStrategy,
} from "@foliolab/core";

/** free_pages_and_swap_cache() chunk: tlb_batch_pages_flush() frees at most 512 entries at once. */
const FREE_CHUNK = 512;

export const perPage: ZapStrategy = {
  name: "per-page",
  description: "Linux v6.5 zap_pte_range(): page_remove_rmap() and __tlb_remove_page() per PTE",
  gather: { localEntries: 8, entriesPerBatch: 510, maxBatches: 19, reserveOne: false, delayedRmapCap: true },

  zapPresentPtes(z: ZapContext): number {
    const k = z.k;
    const i = z.index;
    const pfn = vmNormalPage(z, z.ptent);
    const ptent = ptepGetAndClearFull(z, i);
    tlbRemoveTlbEntry(z.tlb, z.vpn(i));
    if (pfn < 0) return 1;
    const folio = pageFolio(k, pfn);
    let delayRmap = false;
    if (!folioTestAnon(k, folio)) {
      if (pteDirty(ptent)) {
        folioMarkDirty(k, folio);
        if (tlbDelayRmap(z.tlb)) {
          delayRmap = true;
          z.forceFlush = true;
        }
      }
      if (pteYoung(ptent)) folioMarkAccessed(k, folio);
    }
    z.addRss(mmCounter(k, folio), -1);
    if (!delayRmap) pageRemoveRmap(k, pfn, z.vma);
    if (tlbRemovePage(z.tlb, pfn, delayRmap)) {
      z.forceFlush = true;
      z.forceBreak = true;
    }
    return 1;
  },

  /** tlb_flush_rmaps() -> tlb_flush_rmap_batch(): page_remove_rmap() for every delayed entry. */
  flushRmaps(z: ZapContext): void {
    const tlb = z.tlb;
    if (!tlb.delayedRmap) return;
    for (let i = 0; i < tlb.count; i++) {
      const flags = tlb.itemFlags[i] as number;
      if ((flags & GATHER.delayRmap) !== 0) {
        pageRemoveRmap(z.k, tlb.itemPfn[i] as number, z.vma);
        tlb.itemFlags[i] = flags & ~GATHER.delayRmap;
      }
    }
    tlb.delayedRmap = false;
  },

  /** free_pages_and_swap_cache() (v6.5): lru_add_drain, free_swap_cache per entry, release_pages. */
  releaseGathered(tlb: MmuGather, from: number, to: number): void {
    const k = tlb.k;
    if (k.noGather) {
      // s390's __tlb_remove_page_size(): free_page_and_swap_cache() at once, no LRU drain.
      for (let i = from; i < to; i++) {
        const folio = pageFolio(k, tlb.itemPfn[i] as number);
        freeSwapCache(k, folio);
        releasePages(k, tlb.itemPfn, i, i + 1);
      }
      return;
    }
    for (let s = from; s < to; s += FREE_CHUNK) {
      const e = Math.min(to, s + FREE_CHUNK);
      lruAddDrain(k);
      for (let i = s; i < e; i++) freeSwapCache(k, pageFolio(k, tlb.itemPfn[i] as number));
      releasePages(k, tlb.itemPfn, s, e);
    }
  },
};

export default perPage;
