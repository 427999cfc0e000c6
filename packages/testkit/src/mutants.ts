/**
 * Deliberately broken strategies, derived from per-page's code (and from a correct batching
 * strategy in the 6.9 style), each carrying one known class of bug. The kit's own tests run
 * them to prove every check can fail; other tools can use them to test their checkers.
 */

import {
  deferredSplitFolio,
  folioPteBatch,
  folioPteBatchAt,
  folioPutRefs,
  folioRefAdd,
  folioTestAnon,
  folioTestFlag,
  folioTestLarge,
  folioUnqueueDeferredSplit,
  freePagesAndSwapCacheV65,
  freePagesAndSwapCacheV69,
  GATHER,
  lruAddDrain,
  type MmuGather,
  PG,
  PTE,
  pageFolio,
  ptePfn,
  ptepGetAndClearFull,
  type ReclaimUnmapContext,
  releasePages,
  tlbFlushRmapBatchV69,
  vmNormalPage,
  ZAP_FOLIO_STEPS_V69,
  ZAP_PTE_STEPS_V65,
  type ZapContext,
  type ZapStrategy,
  zapPresentPtesV69,
  zapPresentPtesV69With,
  zapPresentPteV65,
  zapPresentPteV65With,
} from "@foliolab/core/strategy";
import { perPage } from "@foliolab/strategy-per-page";

// ---- a correct batching strategy (6.9: zap_present_folio_ptes + folios_put_refs) -----

/**
 * A correct batching strategy (David Hildenbrand's 6.9 zap: folio_pte_batch, one rmap
 * update and one gather item per batch, folios_put_refs), built from core's 6.9 blocks. Used
 * as the positive control for batching: the kit must pass it, and its deferred-split counters
 * come out lower.
 */
export const batchedReference: ZapStrategy = {
  name: "testkit-batched",
  description: "6.9-style batching (folio_pte_batch, folio_remove_rmap_ptes, folios_put_refs): correct",
  gather: { reserveOne: true },
  zapPresentPtes: zapPresentPtesV69,
  flushRmaps: tlbFlushRmapBatchV69,
  releaseGathered: freePagesAndSwapCacheV69,
};

// ---- the mutants ---------------------------------------------------------------------

/** A broken strategy and the invariants the kit must name when it catches it. */
export interface Mutant {
  strategy: ZapStrategy;
  /** The bug, in one line. */
  bug: string;
  /** Invariant names any of which is a correct diagnosis. */
  caughtAs: readonly string[];
  /** Which part of the kit catches it: a catalogue scenario name, or "equivalence"/"property". */
  caughtBy: string;
}

/** Per-page, but each page is released the moment it is unmapped, before any TLB flush. */
const freesBeforeFlush: ZapStrategy = {
  ...perPage,
  name: "mutant-frees-before-flush",
  zapPresentPtes: zapPresentPteV65With({
    removePage(z: ZapContext, pfn: number): void {
      releasePages(z.k, [pfn], 0, 1); // BUG: released instead of gathered, before the flush
    },
  }),
};

/**
 * Per-page, but the reference goes before the rmap (mapcount): the order David Hildenbrand
 * objected to in Ryan Roberts' batch-zap (review of v4 3/3, 3 Aug 2023).
 */
const dropsReferenceEarly: ZapStrategy = {
  ...perPage,
  name: "mutant-drops-reference-early",
  zapPresentPtes(z: ZapContext): number {
    const k = z.k;
    const pfn = vmNormalPage(z, z.ptent);
    if (pfn >= 0) {
      const folio = pageFolio(k, pfn);
      folioPutRefs(k, folio, 1); // BUG: refcount drops below mapcount
      folioRefAdd(k, folio, 1); // (and is given back, so only the order is wrong)
    }
    return zapPresentPteV65(z);
  },
};

/**
 * Per-page, but the rmap removal of file pages is forgotten (the page cache reference hides it):
 * page_remove_rmap() skips them, and no dirty one is left for the delayed removal either.
 */
const forgetsRmap: ZapStrategy = {
  ...perPage,
  name: "mutant-forgets-rmap",
  zapPresentPtes: zapPresentPteV65With({
    delayRmap: () => false,
    removeRmap(z: ZapContext, folio: number, pfn: number): void {
      if (folioTestAnon(z.k, folio)) ZAP_PTE_STEPS_V65.removeRmap(z, folio, pfn); // BUG: not for file pages
    },
  }),
};

/** Per-page, but the release of each gather batch drops one reference too many. */
const dropsExtraReference: ZapStrategy = {
  ...perPage,
  name: "mutant-drops-extra-reference",
  releaseGathered(tlb: MmuGather, from: number, to: number): void {
    freePagesAndSwapCacheV65(tlb, from, to);
    const k = tlb.k;
    const folio = pageFolio(k, tlb.itemPfn[from] as number);
    folioPutRefs(k, folio, 1); // BUG: one put too many
  },
};

/** Per-page without the delayed rmap: dirty shared pages lose their rmap before the flush. */
const rmapBeforeFlush: ZapStrategy = {
  ...perPage,
  name: "mutant-rmap-before-flush",
  zapPresentPtes: zapPresentPteV65With({ delayRmap: () => false }), // BUG: no tlb_delay_rmap(), no force_flush
};

/** A batch that stops at PTE changes and at max but not at the folio's end. */
function batchIgnoringFolioEnd(z: ZapContext, _folio: number, i: number, max: number): number {
  const ptes = z.ptes;
  const first = ptes[i] as number;
  const pfn = ptePfn(first);
  const want = first & (PTE.present | PTE.write);
  let n = 1;
  while (n < max) {
    const p = ptes[i + n] as number;
    if ((p & (PTE.present | PTE.write)) !== want || ptePfn(p) !== pfn + n) break;
    n++;
  }
  return n;
}

const ignoresFolioEnd: ZapStrategy = {
  ...batchedReference,
  name: "mutant-ignores-folio-end",
  zapPresentPtes: zapPresentPtesV69With({ folioPteBatch: batchIgnoringFolioEnd }),
};

/** folio_pte_batch() without its max cap: reads and clears past the range / PTE table end. */
function batchIgnoringMax(z: ZapContext, folio: number, i: number, _max: number): number {
  const room = z.ptes.length - i;
  return folioPteBatch(z, folio, i, room);
}

const ignoresMax: ZapStrategy = {
  ...batchedReference,
  name: "mutant-batch-past-range-end",
  zapPresentPtes: zapPresentPtesV69With({ folioPteBatch: batchIgnoringMax }),
};

/**
 * Release where a gather item's nr leaks into the items after it (Dev Jain's bug shape): each
 * one-page item is read as if it carried the last ENCODED_PAGE_BIT_NR_PAGES_NEXT item's nr, then
 * 6.9's free_pages_and_swap_cache() runs over them.
 */
const staleNrPages: ZapStrategy = {
  ...batchedReference,
  name: "mutant-stale-nr-pages",
  releaseGathered(tlb: MmuGather, from: number, to: number): void {
    let nr = 0;
    for (let i = from; i < to; i++) {
      const flags = tlb.itemFlags[i] as number;
      if ((flags & GATHER.nrPagesNext) !== 0) nr = tlb.itemNr[i] as number;
      else if (nr > 0) {
        // BUG: nr set once, not reset per item
        tlb.itemFlags[i] = flags | GATHER.nrPagesNext;
        tlb.itemNr[i] = nr;
      }
    }
    freePagesAndSwapCacheV69(tlb, from, to);
  },
};

/**
 * Ryan Roberts' batch-zap v3 order (July 2023): gather the folio first, remove its rmap afterwards. Harmless where the
 * gather waits for the flush; on s390 (MMU_GATHER_NO_GATHER) the gather frees at once.
 */
const rmapAfterGather: ZapStrategy = {
  ...batchedReference,
  name: "mutant-rmap-after-gather-seed000-v3",
  zapPresentPtes: zapPresentPtesV69With({
    removeRmap(z: ZapContext, folio: number, pfn: number, nr: number): void {
      if (!folioTestAnon(z.k, folio)) ZAP_FOLIO_STEPS_V69.removeRmap(z, folio, pfn, nr);
    },
    removeFolioPages(z: ZapContext, pfn: number, nr: number, delayRmap: boolean): void {
      const folio = pageFolio(z.k, pfn);
      const anon = folioTestAnon(z.k, folio);
      ZAP_FOLIO_STEPS_V69.removeFolioPages(z, pfn, nr, delayRmap); // BUG: gathered (freed on s390) ...
      if (anon) ZAP_FOLIO_STEPS_V69.removeRmap(z, folio, pfn, nr); // ... before the rmap goes
    },
  }),
};

/** Correct in every invariant, but leaks: large folios keep one reference forever. */
const leaksReference: ZapStrategy = {
  ...perPage,
  name: "mutant-leaks-reference",
  releaseGathered(tlb: MmuGather, from: number, to: number): void {
    const k = tlb.k;
    for (let i = from; i < to; i++) {
      const pfn = tlb.itemPfn[i] as number;
      const folio = pageFolio(k, pfn);
      // BUG: the head page's own entry of a large folio is never released
      if (folioTestLarge(k, folio) && pfn === folio && ((tlb.itemFlags[i] as number) & GATHER.pmd) === 0) continue;
      releasePages(k, tlb.itemPfn, i, i + 1);
    }
  },
};

/**
 * Correct in every invariant and in the final state, but counts a deferred split for every
 * page it unmaps instead of once per folio: split_deferred ends above per-page's.
 */
const recountsDeferredSplit: ZapStrategy = {
  ...perPage,
  name: "mutant-recounts-deferred-split",
  zapPresentPtes(z: ZapContext): number {
    const k = z.k;
    const pfn = vmNormalPage(z, z.ptent);
    const n = zapPresentPteV65(z);
    if (pfn >= 0) {
      const folio = pageFolio(k, pfn);
      if (folioTestAnon(k, folio) && folioTestFlag(k, folio, PG.partiallyMapped)) {
        // BUG: forget the folio was already counted as partially mapped, and count it again
        folioUnqueueDeferredSplit(k, folio);
        deferredSplitFolio(k, folio, true);
      }
    }
    return n;
  },
};

/** Forgets free_swap_cache(): a swapped-in folio nobody maps any more stays in the swap cache. */
const forgetsFreeSwapCache: ZapStrategy = {
  ...perPage,
  name: "mutant-forgets-free-swap-cache",
  releaseGathered(tlb: MmuGather, from: number, to: number): void {
    lruAddDrain(tlb.k);
    // BUG: no free_swap_cache() before release_pages()
    releasePages(tlb.k, tlb.itemPfn, from, to);
  },
};

/** PTEs left in this folio and this PTE table, ignoring the VMA end reclaim passed in `max`. */
function folioAndTableRest(r: ReclaimUnmapContext): number {
  const folioEnd = r.folio + (1 << (r.k.mem.order[r.folio] as number));
  return Math.min(folioEnd - r.pfn, r.ptes.length - r.index);
}

/** Lazyfree reclaim batching that bounds the batch by the folio and the table, not the VMA. */
const reclaimPastVmaEnd: ZapStrategy = {
  ...perPage,
  name: "mutant-reclaim-batch-past-vma-end",
  reclaimUnmapBatch(r: ReclaimUnmapContext): number {
    if (!r.lazyfree) return 1;
    return folioPteBatchAt(r.k, r.ptes, r.folio, r.index, folioAndTableRest(r)); // BUG: max ignored
  },
};

/** Lazyfree reclaim batching that takes the rest of the folio without reading its PTEs. */
const reclaimPastPteHole: ZapStrategy = {
  ...perPage,
  name: "mutant-reclaim-batch-past-pte-hole",
  reclaimUnmapBatch(r: ReclaimUnmapContext, max: number): number {
    if (!r.lazyfree) return 1;
    return max; // BUG: no folio_pte_batch(): a hole in the folio's PTEs is batched over
  },
};

/** Clears a zero-page PTE without recording its TLB entry. */
const zeroPageNoTlbEntry: ZapStrategy = {
  ...perPage,
  name: "mutant-zero-page-no-tlb-entry",
  zapPresentPtes(z: ZapContext): number {
    if (vmNormalPage(z, z.ptent) < 0) {
      ptepGetAndClearFull(z, z.index); // BUG: no tlb_remove_tlb_entry() for the zero page
      return 1;
    }
    return zapPresentPteV65(z);
  },
};

/** Batching that keeps going when the gather is full (no forced flush, no break). */
const ignoresFullGather: ZapStrategy = {
  ...batchedReference,
  name: "mutant-ignores-full-gather",
  zapPresentPtes(z: ZapContext, max: number): number {
    const n = zapPresentPtesV69(z, max);
    // BUG: the gather said it is full; carry on as if it were not
    z.forceFlush = false;
    z.forceBreak = false;
    return n;
  },
};

/** Batching that flushes a full gather but does not break out of the PTE loop. */
const noBreakOnFullGather: ZapStrategy = {
  ...batchedReference,
  name: "mutant-no-break-on-full-gather",
  zapPresentPtes(z: ZapContext, max: number): number {
    const n = zapPresentPtesV69(z, max);
    z.forceBreak = false; // BUG: the flush is deferred to the end of the table, the gather overfills
    return n;
  },
};

/** Batching whose release skips the last item of every batch that is full. */
const dropsLastOfFullBatch: ZapStrategy = {
  ...batchedReference,
  name: "mutant-drops-last-of-full-batch",
  releaseGathered(tlb: MmuGather, from: number, to: number): void {
    const full = to - from >= tlb.geometry.entriesPerBatch - (tlb.geometry.reserveOne ? 1 : 0);
    freePagesAndSwapCacheV69(tlb, from, full ? to - 1 : to); // BUG: off by one on a full batch page
  },
};

/** Drops one reference too many on file pages: the page cache's own. */
const dropsPageCacheRef: ZapStrategy = {
  ...perPage,
  name: "mutant-drops-page-cache-ref",
  releaseGathered(tlb: MmuGather, from: number, to: number): void {
    const k = tlb.k;
    const file: number[] = [];
    for (let i = from; i < to; i++) {
      const folio = pageFolio(k, tlb.itemPfn[i] as number);
      if (!folioTestAnon(k, folio) && ((tlb.itemFlags[i] as number) & GATHER.pmd) === 0) file.push(folio);
    }
    freePagesAndSwapCacheV65(tlb, from, to);
    // BUG: one more put per file page than the mapping held
    for (const folio of file) if (k.mem.isAllocatedHead(folio)) folioPutRefs(k, folio, 1);
  },
};

/** Every mutant with what must catch it. */
export const MUTANTS: readonly Mutant[] = [
  {
    strategy: freesBeforeFlush,
    bug: "frees pages inside zapPresentPtes, before the TLB flush",
    caughtAs: ["tlb-flush-before-free"],
    caughtBy: "munmap-whole-4k",
  },
  {
    strategy: dropsReferenceEarly,
    bug: "drops the reference before removing the rmap",
    caughtAs: ["refcount>=mapcount"],
    caughtBy: "munmap-whole-4k",
  },
  {
    strategy: forgetsRmap,
    bug: "forgets the rmap removal of file pages",
    caughtAs: ["mapcount-matches-page-tables"],
    caughtBy: "file-shared-dirty",
  },
  {
    strategy: dropsExtraReference,
    bug: "drops one reference too many per gather batch",
    caughtAs: ["refcount>=mapcount", "no-use-after-free"],
    caughtBy: "munmap-whole-4k",
  },
  {
    strategy: rmapBeforeFlush,
    bug: "removes the rmap of a dirty shared page before the TLB flush",
    caughtAs: ["no-lost-write"],
    caughtBy: "replay-lost-write-dirty-shared",
  },
  {
    strategy: ignoresFolioEnd,
    bug: "batches past the folio end (pfn contiguity only)",
    caughtAs: ["refcount>=mapcount", "mapcount-matches-page-tables", "no-use-after-free", "strategy-contract"],
    caughtBy: "replay-batch-past-folio-end",
  },
  {
    strategy: ignoresMax,
    bug: "batches past the range / PTE table end (ignores max)",
    caughtAs: ["strategy-contract"],
    caughtBy: "replay-batch-past-pte-table-end",
  },
  {
    strategy: staleNrPages,
    bug: "applies a gather item's nr_pages to the following items",
    caughtAs: ["refcount>=mapcount", "no-use-after-free"],
    caughtBy: "replay-stale-nr-pages",
  },
  {
    strategy: rmapAfterGather,
    bug: "gathers before removing the rmap (batch-zap v3; frees early on s390)",
    caughtAs: ["refcount>=mapcount", "no-use-after-free"],
    caughtBy: "replay-s390-early-free-seed000-v3",
  },
  {
    strategy: leaksReference,
    bug: "leaks one reference of every PTE-mapped large folio",
    caughtAs: [],
    caughtBy: "equivalence",
  },
  {
    strategy: recountsDeferredSplit,
    bug: "counts split_deferred once per unmapped page instead of once per folio",
    caughtAs: [],
    caughtBy: "equivalence",
  },
  {
    strategy: forgetsFreeSwapCache,
    bug: "forgets free_swap_cache() when releasing gathered pages",
    caughtAs: [],
    caughtBy: "swap-cache-freed-at-unmap",
  },
  {
    strategy: reclaimPastVmaEnd,
    bug: "lazyfree reclaim batch runs past the VMA end",
    caughtAs: ["strategy-contract"],
    caughtBy: "lazyfree-folio-straddles-vma",
  },
  {
    strategy: reclaimPastPteHole,
    bug: "lazyfree reclaim batch runs past a hole in the folio's PTEs (another process maps the folio)",
    caughtAs: ["strategy-contract"],
    caughtBy: "lazyfree-pte-hole-shared",
  },
  {
    strategy: zeroPageNoTlbEntry,
    bug: "clears a zero-page PTE without a TLB entry",
    caughtAs: ["tlb-flush-before-free"],
    caughtBy: "zero-page-dontneed",
  },
  {
    strategy: ignoresFullGather,
    bug: "ignores a full gather mid-folio (no flush, no break)",
    caughtAs: ["strategy-contract", "tlb-flush-before-free", "refcount>=mapcount", "no-use-after-free"],
    caughtBy: "property",
  },
  {
    strategy: noBreakOnFullGather,
    bug: "does not break out of the PTE loop when the gather fills mid-folio",
    caughtAs: ["strategy-contract", "tlb-flush-before-free", "refcount>=mapcount", "no-use-after-free"],
    caughtBy: "property",
  },
  {
    strategy: dropsLastOfFullBatch,
    bug: "drops the last item of a full gather batch page (leaks it)",
    caughtAs: [],
    caughtBy: "property",
  },
  {
    strategy: dropsPageCacheRef,
    bug: "drops the page cache's reference of file pages it unmaps",
    caughtAs: ["page-cache-refs"],
    caughtBy: "file-shared-dirty",
  },
];

/** Look a mutant up by its strategy name. */
export function mutant(name: string): Mutant {
  const m = MUTANTS.find((x) => x.strategy.name === name || x.strategy.name === `mutant-${name}`);
  if (!m) throw new Error(`no mutant "${name}" (have ${MUTANTS.map((x) => x.strategy.name).join(", ")})`);
  return m;
}
