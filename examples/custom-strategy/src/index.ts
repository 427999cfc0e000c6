/**
 * rmap-batch-page-gather: a zap strategy written against @foliolab/core's public API only.
 *
 * The question it answers: how much of what Linux 6.9+ gained on PTE-mapped large folios comes
 * from batching the rmap, and how much from the gather? It takes 6.9's half of the work, one
 * folio_pte_batch() per run of PTEs, one TLB range update and ONE folio_remove_rmap_ptes() per
 * batch, but keeps v6.5's mmu_gather: one encoded page pointer per PTE (__tlb_remove_page()),
 * released through free_pages_and_swap_cache() -> release_pages(), one reference per entry.
 * Compare it with `folio-batch` (both halves) and `per-page` (neither) in `foliolab bench`.
 *
 * The order-of-operations rules it has to respect (core's checker enforces each):
 * - a page's reference is dropped only after the TLB flush (`tlb-flush-before-free`): gathered
 *   pages are released in releaseGathered(), which core calls after the flush;
 * - the mapcount falls before the refcount (`refcount>=mapcount`). On s390
 *   (MMU_GATHER_NO_GATHER) gathering a page drops its reference at once, so there the rmap is
 *   removed for the whole batch BEFORE the pages are gathered;
 * - a dirty shared file page is marked dirty under the PT lock and its rmap is removed only
 *   after the flush (`no-lost-write`): its gather entry carries GATHER.delayRmap and
 *   flushRmaps() removes the rmap;
 * - every consumed PTE is cleared, and no more than `max` are consumed (`strategy-contract`).
 */

import {
  clearFullPtes,
  folioMarkAccessed,
  folioMarkDirty,
  folioPteBatch,
  folioRemoveRmapPtes,
  folioTestAnon,
  folioTestLarge,
  freeSwapCache,
  GATHER,
  lruAddDrain,
  MM_ANONPAGES,
  type MmuGather,
  mmCounter,
  pageFolio,
  pteDirty,
  ptepGetAndClearFull,
  pteYoung,
  releasePages,
  tlbDelayRmap,
  tlbRemovePage,
  tlbRemoveTlbEntries,
  tlbRemoveTlbEntry,
  vmNormalPage,
  type ZapContext,
  type ZapStrategy,
} from "@foliolab/core";

/** tlb_batch_pages_flush() frees at most 512 entries at once (v6.5). */
const FREE_CHUNK = 512;

/** Anon pages of one folio, from slot z.index: batched rmap, one gather entry per page. */
function zapAnonBatch(z: ZapContext, folio: number, pfn: number, nr: number): number {
  const k = z.k;
  const i = z.index;
  if (k.noGather) {
    // s390: __tlb_remove_page() frees at once, so the mapcount must already be down.
    clearFullPtes(z, i, nr);
    tlbRemoveTlbEntries(z.tlb, z.vpn(i), nr);
    z.addRss(MM_ANONPAGES, -nr);
    folioRemoveRmapPtes(k, folio, pfn, nr, z.vma);
    for (let j = 0; j < nr; j++) tlbRemovePage(z.tlb, pfn + j, false);
    return nr;
  }
  // Gather page by page until the gather is full. Nothing gathered is released before the TLB
  // flush, so the one rmap removal for the pages actually taken can follow.
  let n = 0;
  let full = false;
  while (n < nr && !full) {
    full = tlbRemovePage(z.tlb, pfn + n, false);
    n++;
  }
  clearFullPtes(z, i, n);
  tlbRemoveTlbEntries(z.tlb, z.vpn(i), n);
  z.addRss(MM_ANONPAGES, -n);
  folioRemoveRmapPtes(k, folio, pfn, n, z.vma);
  if (full) {
    z.forceFlush = true;
    z.forceBreak = true;
  }
  return n;
}

/** A file page, the zero page or a small folio: v6.5's per-PTE path, with the 6.9 rmap call. */
function zapOnePte(z: ZapContext, pfn: number): number {
  const k = z.k;
  const i = z.index;
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
  if (!delayRmap) folioRemoveRmapPtes(k, folio, pfn, 1, z.vma);
  if (tlbRemovePage(z.tlb, pfn, delayRmap)) {
    z.forceFlush = true;
    z.forceBreak = true;
  }
  return 1;
}

export const rmapBatchPageGather: ZapStrategy = {
  name: "rmap-batch-page-gather",
  description: "example: folio_pte_batch + one folio_remove_rmap_ptes per batch, v6.5 gather of one page per PTE",
  // v6.5 layout: 8 local entries + 19 batch pages of 510.
  gather: { localEntries: 8, entriesPerBatch: 510, maxBatches: 19, reserveOne: false, delayedRmapCap: true },

  zapPresentPtes(z: ZapContext, max: number): number {
    const k = z.k;
    const pfn = vmNormalPage(z, z.ptent);
    if (pfn >= 0) {
      const folio = pageFolio(k, pfn);
      if (folioTestAnon(k, folio) && folioTestLarge(k, folio) && max > 1) {
        return zapAnonBatch(z, folio, pfn, folioPteBatch(z, folio, z.index, max));
      }
    }
    return zapOnePte(z, pfn);
  },

  /** tlb_flush_rmaps(): the delayed rmaps of dirty file pages, after the forced TLB flush. */
  flushRmaps(z: ZapContext): void {
    const tlb = z.tlb;
    if (!tlb.delayedRmap) return;
    for (let i = 0; i < tlb.count; i++) {
      const flags = tlb.itemFlags[i] as number;
      if ((flags & GATHER.delayRmap) === 0) continue;
      const pfn = tlb.itemPfn[i] as number;
      folioRemoveRmapPtes(z.k, pageFolio(z.k, pfn), pfn, 1, z.vma);
      tlb.itemFlags[i] = flags & ~GATHER.delayRmap;
    }
    tlb.delayedRmap = false;
  },

  /** free_pages_and_swap_cache() (v6.5): lru_add_drain(), free_swap_cache() per entry, release_pages(). */
  releaseGathered(tlb: MmuGather, from: number, to: number): void {
    const k = tlb.k;
    if (k.noGather) {
      // s390 frees each page the moment it is gathered, without an LRU drain.
      for (let i = from; i < to; i++) {
        freeSwapCache(k, pageFolio(k, tlb.itemPfn[i] as number));
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

export default rmapBatchPageGather;
