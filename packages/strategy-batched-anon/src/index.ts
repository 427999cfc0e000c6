/**
 * The batched-anon strategy: Ryan Roberts, "mm: Batch-zap large anonymous folio PTE mappings"
 * (v4 3/3, 27 Jul 2023, <20230727141837.3386072-4-ryan.roberts@arm.com>) on top of v6.5's
 * zap_pte_range(). A run of present PTEs mapping consecutive pages of one large anon folio is
 * zapped by try_zap_anon_pte_range(): folio_get(), then per page the clear, the TLB entry and
 * __tlb_remove_page(), then ONE folio_remove_rmap_range() and folio_put(). Everything else
 * (small folios, file folios, the zero page) takes the v6.5 per-page path.
 */

import {
  folioGet,
  folioNrPages,
  folioPut,
  folioRemoveRmapRange,
  folioTestAnon,
  folioTestLarge,
  mmCounter,
  PTE,
  pageFolio,
  ptePfn,
  ptepGet,
  ptepGetAndClearFull,
  tlbRemovePage,
  tlbRemoveTlbEntry,
  vmNormalPage,
  type ZapContext,
  type ZapStrategy,
  zapPresentPteV65,
} from "@foliolab/core/strategy";

export interface BatchedAnonOptions {
  /**
   * folio_get()/folio_put() around the batch (v4, the default). false reproduces v3 (in
   * mm-unstable as 904d9713b3b0): no reference held, and the batch path taken by every anon
   * folio, small ones included. On MMU_GATHER_NO_GATHER (s390) __tlb_remove_page() then frees
   * the folio while it is still mapped (Nathan Chancellor's report).
   */
  holdFolioRef?: boolean;
  /**
   * Reproduce the posted zap_pte_range() hunk literally: it decrements nr_pages before testing
   * `nr_pages < nr_pages_req`, so every batch sets force_flush and breaks (a TLB flush and a
   * free per batch). Off by default: the model follows the stated intent, force_flush exactly
   * when __tlb_remove_page() reported the gather full (also when that was the batch's last page,
   * which the posted test, read as intended, would have missed).
   */
  postedEarlyBreak?: boolean;
}

/**
 * folio_nr_pages_cont_mapped() (v4 3/3): how many PTEs from slot i are present and map the next
 * pfns of the folio, bounded by the folio end and the zap end. Reads each PTE it looks at
 * (ptep_get); unlike folio_pte_batch() it compares only present and pfn.
 */
function folioNrPagesContMapped(z: ZapContext, folio: number, pfn: number, i: number, max: number): number {
  if (!folioTestLarge(z.k, folio)) return 1;
  const floops = Math.min(folio + folioNrPages(z.k, folio) - pfn, max);
  let n = 1;
  for (; n < floops; n++) {
    const pte = ptepGet(z, i + n);
    if ((pte & PTE.present) === 0 || ptePfn(pte) !== pfn + n) break;
  }
  return n;
}

/**
 * try_zap_anon_pte_range() (v4 3/3): the gather happens per page BEFORE the one rmap removal,
 * so on s390, where __tlb_remove_page() drops the reference at once, only the extra reference
 * keeps the folio alive (v4), and even then the refcount dips below the mapcount (David
 * Hildenbrand's objection, 3 Aug 2023).
 */
function tryZapAnonPteRange(z: ZapContext, folio: number, pfn: number, nrPages: number, hold: boolean): [number, boolean] {
  const k = z.k;
  const start = z.index;
  if (hold) folioGet(k, folio);
  let i = 0;
  let full = false;
  while (i < nrPages) {
    ptepGetAndClearFull(z, start + i);
    tlbRemoveTlbEntry(z.tlb, z.vpn(start + i));
    full = tlbRemovePage(z.tlb, pfn + i, false);
    i++;
    if (full) break;
  }
  folioRemoveRmapRange(k, folio, pfn, i, z.vma);
  if (hold) folioPut(k, folio);
  return [i, full];
}

/** A batched-anon strategy; `holdFolioRef: false` is v3, the default v4. */
export function createBatchedAnon(options: BatchedAnonOptions = {}): ZapStrategy {
  const hold = options.holdFolioRef ?? true;
  const postedEarlyBreak = options.postedEarlyBreak ?? false;
  let name = hold ? "batched-anon" : "batched-anon-v3";
  if (postedEarlyBreak) name += "-posted";
  return {
    name,
    description: `Ryan Roberts' batch-zap of large anon folios (${hold ? "v4" : "v3"}, July 2023) on v6.5 zap_pte_range()`,
    // The v6.5 gather layout, tlb_flush_rmaps() and free_pages_and_swap_cache(): core's defaults.

    /** zap_pte_range()'s present-PTE branch with the v4 3/3 hunk. */
    zapPresentPtes(z: ZapContext, max: number): number {
      const k = z.k;
      const pfn = vmNormalPage(z, z.ptent);
      if (pfn >= 0) {
        const folio = pageFolio(k, pfn);
        // v4 takes the batch path for large anon folios only; v3 for every anon folio.
        if (folioTestAnon(k, folio) && (!hold || folioTestLarge(k, folio))) {
          const counter = mmCounter(k, folio);
          const req = folioNrPagesContMapped(z, folio, pfn, z.index, max);
          // folio may be freed on return.
          const [nr, full] = tryZapAnonPteRange(z, folio, pfn, req, hold);
          z.addRss(counter, -nr);
          if (full || postedEarlyBreak) {
            z.forceFlush = true;
            z.forceBreak = true;
          }
          return nr;
        }
      }
      return zapPresentPteV65(z);
    },
  };
}

/** v4 3/3 as posted for review: folio_get/put held, large anon folios only. */
export const batchedAnon: ZapStrategy = createBatchedAnon();

export default batchedAnon;
