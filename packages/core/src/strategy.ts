/**
 * The one contract between core and a zap strategy.
 *
 * Core owns the walk (unmap_vmas -> unmap_page_range -> zap_pmd_range), the PMD level,
 * non-present entries, the PT lock and every flush point. A strategy owns what happens to a
 * run of present PTEs inside one PTE table: which PTEs it clears together, when and in what
 * batches it removes the rmap, what it puts into the mmu_gather and in what form, and how the
 * gathered pages are released after the TLB flush.
 */

import { InternalError, isDomainError, StrategyError, thrownByCore } from "./errors.js";
import type { Kernel } from "./kernel.js";
import type { Vma } from "./mm.js";
import type { GatherGeometry, MmuGather } from "./mmu-gather.js";
import type { PteTable } from "./page-table.js";
import type { ZapContext } from "./zap.js";
import { freePagesAndSwapCacheV65, tlbFlushRmapBatchV65, zapPresentPteV65 } from "./zap-v65.js";

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
  /** anon && !swapbacked: the MADV_FREE case of Barry Song's "mm: Support batched unmap for lazyfree large folios during reclamation" (v4, June 2025). */
  lazyfree: boolean;
}

/**
 * A zap strategy. `S` is the state it keeps per mmu_gather (what its patch adds to struct
 * mmu_gather): gatherState() makes it for every gather, hooks read it as `tlb.strategyState`.
 */
export interface ZapStrategy<S = unknown> {
  /** Unique name, used on the command line and in reports. */
  readonly name: string;
  /** One line: what the strategy follows (patch, version). */
  readonly description?: string;
  /** mmu_gather layout; missing fields take DEFAULT_GATHER_GEOMETRY's. */
  readonly gather?: Partial<GatherGeometry>;

  /** A fresh per-gather state (tlb_gather_mmu()); missing: the strategy keeps none. */
  gatherState?(): S;

  /**
   * zap_present_ptes(): unmap the present PTE at `z.index` (its value is `z.ptent`) and, if
   * the strategy batches, more of the PTEs after it. `max` is how many PTE slots remain in
   * this table and range. Returns how many slots it consumed (1..max). Sets `z.forceFlush`
   * and `z.forceBreak` as zap_pte_range()'s locals when the gather fills or a dirty file
   * page needs its rmap delayed. Missing: zapPresentPteV65, v6.5's one PTE at a time.
   */
  zapPresentPtes?(z: ZapContext<S>, max: number): number;

  /**
   * Called when zap_pte_range() has taken a PT lock, before the first PTE (where Ryan
   * Roberts' v2 series calls tlb_discard_rmaps()).
   */
  startPteTable?(z: ZapContext<S>): void;

  /**
   * tlb_flush_rmaps(): called at the end of every PTE table, still under the PT lock, after
   * the forced TLB flush when there was one. Remove the rmaps the strategy delayed. Missing:
   * tlbFlushRmapBatchV65, one page_remove_rmap() per delayed item (items of one page).
   */
  flushRmaps?(z: ZapContext<S>): void;

  /**
   * tlb_batch_pages_flush(): after the TLB flush, release items [from, to) of one gather
   * batch (or, on s390's MMU_GATHER_NO_GATHER, one item the moment it is gathered). Missing:
   * freePagesAndSwapCacheV65, one reference per item (items of one page).
   */
  releaseGathered?(tlb: MmuGather<S>, from: number, to: number): void;

  /**
   * folio_unmap_pte_batch() for reclaim's try_to_unmap_one(): how many PTEs, from the one at
   * `r.index`, to unmap and (for lazyfree folios) discard together. `max` is already bounded by
   * the folio end, the VMA end and the PTE table end. Missing: one PTE at a time (<= 6.14).
   */
  reclaimUnmapBatch?(r: ReclaimUnmapContext, max: number): number;
}

/**
 * A strategy's hooks with the missing ones filled in by the kernel's v6.5 building blocks
 * (what the per-page reference is): what core calls.
 */
export interface StrategyHooks {
  zapPresentPtes(z: ZapContext, max: number): number;
  flushRmaps(z: ZapContext): void;
  releaseGathered(tlb: MmuGather, from: number, to: number): void;
  startPteTable: ((z: ZapContext) => void) | undefined;
  reclaimUnmapBatch: ((r: ReclaimUnmapContext, max: number) => number) | undefined;
}

/**
 * What a strategy's own hook threw, as the error to report: errors of the domain (an invariant
 * its calls broke, a scenario limit) as they are; what core's own code threw (a primitive the
 * hook called, e.g. a TypeError in core's dist) as core's InternalError, with its stack; anything
 * else as the strategy's StrategyError with the author's error as `cause`. Decided by where the
 * error was thrown (thrownByCore()), so the hot path pays nothing.
 */
function hookError(s: ZapStrategy, k: Kernel, e: unknown): unknown {
  if (isDomainError(e) || e instanceof InternalError) return e;
  if (thrownByCore(e)) return new InternalError(k.currentOp, e);
  return new StrategyError(s.name, `${k.currentOp} failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}

/**
 * Fill a strategy's missing hooks with the v6.5 building blocks. Its own keep `this`, and what
 * they throw is the strategy's (StrategyError); what core's blocks throw is core's.
 */
export function strategyHooks(s: ZapStrategy): StrategyHooks {
  const zap = s.zapPresentPtes;
  const flush = s.flushRmaps;
  const release = s.releaseGathered;
  const start = s.startPteTable;
  const reclaim = s.reclaimUnmapBatch;
  return {
    zapPresentPtes: zap
      ? (z, max) => {
          try {
            return zap.call(s, z, max);
          } catch (e) {
            throw hookError(s, z.k, e);
          }
        }
      : zapPresentPteV65,
    flushRmaps: flush
      ? (z) => {
          try {
            flush.call(s, z);
          } catch (e) {
            throw hookError(s, z.k, e);
          }
        }
      : tlbFlushRmapBatchV65,
    releaseGathered: release
      ? (tlb, from, to) => {
          try {
            release.call(s, tlb, from, to);
          } catch (e) {
            throw hookError(s, tlb.k, e);
          }
        }
      : freePagesAndSwapCacheV65,
    startPteTable: start
      ? (z) => {
          try {
            start.call(s, z);
          } catch (e) {
            throw hookError(s, z.k, e);
          }
        }
      : undefined,
    reclaimUnmapBatch: reclaim
      ? (r, max) => {
          try {
            return reclaim.call(s, r, max);
          } catch (e) {
            throw hookError(s, r.k, e);
          }
        }
      : undefined,
  };
}
