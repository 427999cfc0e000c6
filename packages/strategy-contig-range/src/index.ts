/**
 * The contig-range strategy: Ryan Roberts, "Optimize mmap_exit for large folios" v2 (30 Aug 2023,
 * <20230830095011.1228673-1-ryan.roberts@arm.com>). zap_pte_range() still clears and gathers
 * page by page, but the mmu_gather stores run-length [start, end) pfn ranges that never cross a
 * folio (5/5), every rmap is removed through the gather in tlb_flush_rmaps() at the end of each
 * PTE table, one folio_remove_rmap_range() per range (2/5), and the gather is freed with one
 * free_swap_cache() and one folios_put_refs() reference drop of end - start per range (4/5, 5/5).
 * On s390 (MMU_GATHER_NO_GATHER) rmaps stay per page and pages are freed at once.
 */

import {
  folioNrPages,
  folioRemoveRmapRange,
  freePagesAndSwapCacheV65,
  type MmuGather,
  pageFolio,
  ZAP_PTE_STEPS_V65,
  type ZapContext,
  type ZapStrategy,
  zapPresentPteV65With,
} from "@foliolab/core/strategy";

/** ULONG_MAX: no range open. */
const NO_RANGE = -1;

/** What v2 adds to struct mmu_gather: the strategy's gather state (tlb.strategyState). */
export interface RangeState {
  /** tlb->range_limit: pfn end of the open range's folio, or NO_RANGE. */
  rangeLimit: number;
  /** Item index of the open range (the last item while rangeLimit is set). */
  rangeIdx: number;
  /** tlb->rmap_pend/rmap_pend_first: first item whose rmap is pending, -1 when none. */
  rmapPend: number;
}

/** What tlb_gather_mmu() starts with: no range open, no rmap pending. */
function initRangeState(): RangeState {
  return { rangeLimit: NO_RANGE, rangeIdx: -1, rmapPend: -1 };
}

/**
 * True when the item just added at index count - 1 filled its batch page, i.e. the gather moved
 * on to the next batch (tlb_next_batch(), which resets range_limit) or found none.
 */
function batchFilled(tlb: MmuGather): boolean {
  const g = tlb.geometry;
  const c = tlb.count;
  return c === g.localEntries || (c > g.localEntries && (c - g.localEntries) % g.entriesPerBatch === 0);
}

/**
 * __tlb_remove_page_size() (v2 5/5): extend the open range when pfn is its end, else open a new
 * one whose limit is the folio's end. A range is closed at its folio's end and when it is the
 * last of its batch page ("the last range in a batch always only has a single page"). Returns
 * true when the gather is full. On s390 the page is freed at once (arch __tlb_remove_page_size).
 */
function tlbRemovePageRange(tlb: MmuGather<RangeState>, pfn: number): boolean {
  if (tlb.k.noGather) return tlb.add(pfn, 1, 0, 1);
  const st = tlb.strategyState;
  let end: number;
  let full = false;
  if (
    st.rangeLimit !== NO_RANGE &&
    st.rangeIdx === tlb.count - 1 &&
    pfn === (tlb.itemPfn[st.rangeIdx] as number) + (tlb.itemNr[st.rangeIdx] as number)
  ) {
    tlb.extendLast(1);
    end = pfn + 1;
  } else {
    const folio = pageFolio(tlb.k, pfn);
    full = tlb.add(pfn, 1, 0, 1);
    st.rangeIdx = tlb.count - 1;
    if (st.rmapPend < 0) st.rmapPend = st.rangeIdx;
    st.rangeLimit = folio + folioNrPages(tlb.k, folio);
    end = pfn + 1;
    if (full || batchFilled(tlb)) st.rangeLimit = NO_RANGE;
  }
  // Never span multiple folios in the same range.
  if (end === st.rangeLimit) st.rangeLimit = NO_RANGE;
  return full;
}

export const contigRange: ZapStrategy<RangeState> = {
  name: "contig-range",
  description: "Ryan Roberts' mmu_gather of pfn ranges (v2, Aug 2023): rmap per range in tlb_flush_rmaps, refs per range",
  // struct pfn_range is 16 bytes: (4096 - 16) / 16 = 255 ranges per batch page, 10000 / 255 = 39
  // pages; delayed_rmap and its cap are gone (every rmap is batched).
  gather: { entriesPerBatch: 255, maxBatches: 39, delayedRmapCap: false },
  gatherState: initRangeState,

  /**
   * zap_pte_range()'s present-PTE branch (v2 2/5): v6.5's, but the rmap goes through the gather
   * (tlb_batch_rmap(): wherever the gather exists, not on s390) and the page into a pfn range.
   */
  zapPresentPtes: zapPresentPteV65With<RangeState>({
    removeRmap(z, folio, pfn) {
      if (z.k.noGather) ZAP_PTE_STEPS_V65.removeRmap(z, folio, pfn);
    },
    // The lost-write rule: the rmap of a dirty page may go only after the TLB flush.
    delayRmap(z) {
      if (z.k.noGather) return false;
      z.forceFlush = true;
      return true;
    },
    removePage(z, pfn) {
      if (tlbRemovePageRange(z.tlb, pfn)) {
        z.forceFlush = true;
        z.forceBreak = true;
      }
    },
  }),

  /**
   * tlb_flush_rmaps() (v2 2/5 + 5/5): at every PTE table's end, under the PT lock and after the
   * forced TLB flush, one folio_remove_rmap_range() per range gathered since the table began;
   * then range_limit = ULONG_MAX and tlb_discard_rmaps().
   */
  flushRmaps(z: ZapContext<RangeState>): void {
    const tlb = z.tlb;
    const st = tlb.strategyState;
    if (st.rmapPend >= 0) {
      for (let i = st.rmapPend; i < tlb.count; i++) {
        const start = tlb.itemPfn[i] as number;
        folioRemoveRmapRange(z.k, pageFolio(z.k, start), start, tlb.itemNr[i] as number, z.vma);
      }
    }
    st.rmapPend = -1;
    st.rangeLimit = NO_RANGE;
  },

  /**
   * free_folios_and_swap_cache() (v2 5/5): lru_add_drain(), free_swap_cache() once per range,
   * folios_put_refs() with end - start references per range. On s390 the arch's
   * __tlb_remove_page_size() calls free_page_and_swap_cache() at once: no drain, put_page().
   */
  releaseGathered(tlb: MmuGather<RangeState>, from: number, to: number): void {
    freePagesAndSwapCacheV65(tlb, from, to, true);
  },
};

export default contigRange;
