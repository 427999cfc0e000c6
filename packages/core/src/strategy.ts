/**
 * The one contract between core and a zap strategy.
 *
 * Core owns the walk (unmap_vmas -> unmap_page_range -> zap_pmd_range), the PMD level,
 * non-present entries, the PT lock and every flush point. A strategy owns what happens to a
 * run of present PTEs inside one PTE table: which PTEs it clears together, when and in what
 * batches it removes the rmap, what it puts into the mmu_gather and in what form, and how the
 * gathered pages are released after the TLB flush.
 */

import type { Kernel } from "./kernel.js";
import type { Vma } from "./mm.js";
import type { MmuGather } from "./mmu-gather.js";
import type { PteTable } from "./page-table.js";
import type { ZapContext } from "./zap.js";

/** The mmu_gather layout a strategy stores its batches in (include/asm-generic/tlb.h). */
export interface GatherGeometry {
  /** MMU_GATHER_BUNDLE: entries of the batch embedded in struct mmu_gather. */
  localEntries: number;
  /** MAX_GATHER_BATCH: entries per batch page. */
  entriesPerBatch: number;
  /** MAX_GATHER_BATCH_COUNT: batch pages per flush cycle. */
  maxBatches: number;
  /** Count a batch full one entry early, so a two-entry item always fits (6.9+). */
  reserveOne: boolean;
  /** While delayed rmaps are pending, stop at local + one batch page (6.2+). */
  delayedRmapCap: boolean;
}

/** v6.5 layout: 8 local + 19 pages of 510 encoded page pointers. */
export const DEFAULT_GATHER_GEOMETRY: GatherGeometry = {
  localEntries: 8,
  entriesPerBatch: 510,
  maxBatches: 19,
  reserveOne: false,
  delayedRmapCap: true,
};

/** What try_to_unmap_one() has in hand when reclaim asks a strategy how far to batch. */
export interface ReclaimUnmapContext {
  k: Kernel;
  vma: Vma;
  /** The PTE table holding the PTE at `index`. */
  ptes: PteTable;
  index: number;
  /** Head pfn of the folio being unmapped, and the page this PTE maps. */
  folio: number;
  pfn: number;
  /** anon && !swapbacked: the MADV_FREE case the batching discussion of seed 004 is about. */
  lazyfree: boolean;
}

export interface ZapStrategy {
  /** Unique name, used on the command line and in reports. */
  readonly name: string;
  /** One line: what the strategy follows (patch, version). */
  readonly description?: string;
  /** mmu_gather layout; missing fields take DEFAULT_GATHER_GEOMETRY's. */
  readonly gather?: Partial<GatherGeometry>;

  /**
   * zap_present_ptes(): unmap the present PTE at `z.index` (its value is `z.ptent`) and, if
   * the strategy batches, more of the PTEs after it. `max` is how many PTE slots remain in
   * this table and range. Returns how many slots it consumed (1..max). Sets `z.forceFlush`
   * and `z.forceBreak` as zap_pte_range()'s locals when the gather fills or a dirty file
   * page needs its rmap delayed.
   */
  zapPresentPtes(z: ZapContext, max: number): number;

  /**
   * Called when zap_pte_range() has taken a PT lock, before the first PTE (where Ryan
   * Roberts' v2 series calls tlb_discard_rmaps()).
   */
  startPteTable?(z: ZapContext): void;

  /**
   * tlb_flush_rmaps(): called at the end of every PTE table, still under the PT lock, after
   * the forced TLB flush when there was one. Remove the rmaps the strategy delayed.
   */
  flushRmaps?(z: ZapContext): void;

  /**
   * tlb_batch_pages_flush(): after the TLB flush, release items [from, to) of one gather
   * batch (or, on s390's MMU_GATHER_NO_GATHER, one item the moment it is gathered).
   */
  releaseGathered(tlb: MmuGather, from: number, to: number): void;

  /**
   * folio_unmap_pte_batch() for reclaim's try_to_unmap_one(): how many PTEs, from the one at
   * `r.index`, to unmap and (for lazyfree folios) discard together. `max` is already bounded by
   * the folio end, the VMA end and the PTE table end. Missing: one PTE at a time (<= 6.14).
   */
  reclaimUnmapBatch?(r: ReclaimUnmapContext, max: number): number;
}
