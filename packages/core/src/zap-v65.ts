/**
 * The Linux v6.5 teardown pieces more than one strategy builds on (the per-page reference, and
 * the 2023 patches that started from it): the present-PTE body of zap_pte_range(),
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
 * zap_pte_range() (v6.5, mm/memory.c) for the one present PTE at z.index: clear it,
 * tlb_remove_tlb_entry(), for file pages set_page_dirty() with the delayed rmap of a dirty page
 * (6.2) and mark_page_accessed(), rss, page_remove_rmap(), __tlb_remove_page(). Returns 1.
 */
export function zapPresentPteV65(z: ZapContext): number {
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
  if (!delayRmap) folioRemoveRmapPtes(k, folio, pfn, 1, z.vma); // page_remove_rmap(page, vma, false)
  if (tlbRemovePage(z.tlb, pfn, delayRmap)) {
    z.forceFlush = true;
    z.forceBreak = true;
  }
  return 1;
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
