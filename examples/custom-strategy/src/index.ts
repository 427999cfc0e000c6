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
  folioPteBatch,
  folioRemoveRmapPtes,
  folioTestAnon,
  folioTestLarge,
  MM_ANONPAGES,
  pageFolio,
  tlbFlushRmapBatchV69,
  tlbRemovePage,
  tlbRemoveTlbEntries,
  vmNormalPage,
  type ZapContext,
  type ZapStrategy,
  zapPresentPteV65,
} from "@foliolab/core/strategy";

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

export const rmapBatchPageGather: ZapStrategy = {
  name: "rmap-batch-page-gather",
  description: "example: folio_pte_batch + one folio_remove_rmap_ptes per batch, v6.5 gather of one page per PTE",
  // The gather layout and releaseGathered are left out: v6.5's (8 local entries + 19 batch pages
  // of 510; free_pages_and_swap_cache() -> release_pages(), one reference per entry), core's defaults.

  zapPresentPtes(z: ZapContext, max: number): number {
    const k = z.k;
    const pfn = vmNormalPage(z, z.ptent);
    if (pfn >= 0) {
      const folio = pageFolio(k, pfn);
      if (folioTestAnon(k, folio) && folioTestLarge(k, folio) && max > 1) {
        return zapAnonBatch(z, folio, pfn, folioPteBatch(z, folio, z.index, max));
      }
    }
    // A file page, the zero page or a small folio: v6.5's present-PTE body.
    return zapPresentPteV65(z);
  },

  /** tlb_flush_rmaps() (6.9): folio_remove_rmap_ptes() for the delayed rmaps of dirty file pages. */
  flushRmaps: tlbFlushRmapBatchV69,
};
