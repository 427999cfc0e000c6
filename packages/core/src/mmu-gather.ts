/**
 * struct mmu_gather and the TLB (mm/mmu_gather.c, include/asm-generic/tlb.h, x86 tlb_flush).
 *
 * The gather stores items (pfn, nr, flags); what an item means is the strategy's business
 * (one page, a page plus nr, a pfn range), and each item costs 1 or 2 entries of capacity.
 * The TLB side keeps the pending flush range; with the checker on it also tracks the stale
 * translation every cleared PTE leaves behind until a flush covers it.
 */

import { Ev } from "./costs.js";
import type { Kernel } from "./kernel.js";
import type { MmStruct } from "./mm.js";
import { HPAGE_PMD_NR } from "./units.js";

/** Item flag bits. ENCODED_PAGE_BIT_DELAY_RMAP and _NR_PAGES_NEXT mirror the kernel's. */
export const GATHER = {
  delayRmap: 1 << 0,
  nrPagesNext: 1 << 1,
  /** Gathered by zap_huge_pmd(): the item is a PMD-mapped folio's single reference. */
  pmd: 1 << 2,
} as const;

/** x86 tlb_single_page_flush_ceiling: a range flush of more pages becomes a full flush. */
export const TLB_SINGLE_PAGE_FLUSH_CEILING = 33;

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

/** Items storage starts small and doubles: most gathers hold a few items (one madvise, one page). */
const INITIAL_ITEMS = 64;

/** struct mmu_gather; `S` is the strategy's own state (ZapStrategy.gatherState()). */
export class MmuGather<S = unknown> {
  readonly geometry: GatherGeometry;
  /** Pending flush range [start, end) in virtual pages; start > end when empty. */
  start = Number.POSITIVE_INFINITY;
  end = 0;
  /** cleared_ptes / cleared_pmds: something was unmapped since the last flush. */
  cleared = false;
  freedTables = false;
  /** tlb->delayed_rmap: a gathered item still needs its rmap removed. */
  delayedRmap = false;

  itemPfn = new Int32Array(INITIAL_ITEMS);
  itemNr = new Int32Array(INITIAL_ITEMS);
  itemFlags = new Uint8Array(INITIAL_ITEMS);
  /** Items gathered since the last free. */
  count = 0;
  /** Item index where each filled batch ended (local first). */
  private readonly batchEnds: number[] = [];
  /** Which batch is being filled: 0 = the local batch, then batch pages 1.. (tlb->active). */
  activeIdx = 0;
  /** Entries used in the active batch (batch->nr). */
  activeNr = 0;
  /** batch->max, less the reserved entry when the geometry keeps one (full when reached). */
  private activeLimit: number;
  /** tlb->batch_count: batch pages allocated (kept across flushes until finish). */
  batchCount = 0;
  /** The strategy's own per-gather state (e.g. an open pfn range), from its gatherState(). */
  readonly strategyState: S;

  constructor(
    readonly k: Kernel,
    readonly mm: MmStruct,
    /** tlb->fullmm: exit_mmap(). */
    readonly fullmm: boolean,
  ) {
    this.geometry = { ...DEFAULT_GATHER_GEOMETRY, ...k.strategy.gather };
    // The kernel holds the strategy as ZapStrategy<unknown>; its gatherState() made an S.
    this.strategyState = k.strategy.gatherState?.() as S;
    this.activeLimit = this.geometry.localEntries - (this.geometry.reserveOne ? 1 : 0);
  }

  /** The last add() found no room left: nothing may be gathered until the flush. */
  private full = false;

  private grow(): void {
    const n = this.itemPfn.length * 2;
    const p = new Int32Array(n);
    p.set(this.itemPfn);
    const r = new Int32Array(n);
    r.set(this.itemNr);
    const f = new Uint8Array(n);
    f.set(this.itemFlags);
    this.itemPfn = p;
    this.itemNr = r;
    this.itemFlags = f;
  }

  /** tlb_next_batch(). */
  private nextBatch(): boolean {
    const g = this.geometry;
    if (this.delayedRmap && g.delayedRmapCap && this.activeIdx !== 0) return false;
    if (this.activeIdx >= this.batchCount) {
      if (this.batchCount === g.maxBatches) return false;
      this.batchCount++;
      this.k.costs[Ev.gatherBatchAlloc]++;
    }
    this.batchEnds.push(this.count);
    this.activeIdx++;
    this.activeNr = 0;
    this.activeLimit = g.entriesPerBatch - (g.reserveOne ? 1 : 0);
    return true;
  }

  /**
   * __tlb_remove_page_size() / __tlb_remove_folio_pages_size(): gather an item worth
   * `entries` entries. Returns true when the gather is full and the caller must flush.
   * On MMU_GATHER_NO_GATHER (s390) the item is released at once instead.
   */
  add(pfn: number, nr: number, flags: number, entries: number): boolean {
    // __tlb_remove_folio_pages_size()'s VM_BUG_ON_PAGE(batch->nr > batch->max): once it said
    // "full", nothing more may be gathered before the flush (checked with the checker off too).
    if (this.full) {
      this.k.violate(
        "strategy-contract",
        pfn,
        "a page was gathered into a full mmu_gather: when __tlb_remove_page() returns true the strategy must set forceFlush and forceBreak and stop",
      );
    }
    if (this.count === this.itemPfn.length) this.grow();
    const i = this.count;
    this.itemPfn[i] = pfn;
    this.itemNr[i] = nr;
    this.itemFlags[i] = flags;
    if (this.k.noGather) {
      this.k.hooks.releaseGathered(this, i, i + 1);
      return false;
    }
    this.count = i + 1;
    this.activeNr += entries;
    this.k.costs[Ev.gatherEntries] += entries;
    if (this.activeNr >= this.activeLimit) {
      this.full = !this.nextBatch();
      return this.full;
    }
    return false;
  }

  /** Grow the newest item by n (run-length ranges); no new entry is used. */
  extendLast(n: number): void {
    const i = this.count - 1;
    this.itemNr[i] = (this.itemNr[i] as number) + n;
  }

  /** tlb_batch_pages_flush(): release every batch, then start again at the local batch. */
  batchPagesFlush(): void {
    if (this.count === 0) return;
    this.k.costs[Ev.gatherFlush]++;
    const strategy = this.k.hooks;
    let from = 0;
    for (const end of this.batchEnds) {
      if (end > from) strategy.releaseGathered(this, from, end);
      from = end;
    }
    if (this.count > from) strategy.releaseGathered(this, from, this.count);
    this.count = 0;
    this.batchEnds.length = 0;
    this.activeIdx = 0;
    this.activeNr = 0;
    this.activeLimit = this.geometry.localEntries - (this.geometry.reserveOne ? 1 : 0);
    this.full = false;
  }
}

/** tlb_gather_mmu() / tlb_gather_mmu_fullmm(). */
export function tlbGatherMmu(k: Kernel, mm: MmStruct, fullmm: boolean): MmuGather {
  return new MmuGather(k, mm, fullmm);
}

/** tlb_flush_pte_range(): widen the pending range (tlb_remove_tlb_entry[ies]). */
export function tlbFlushPteRange(tlb: MmuGather, vpn: number, nr: number): void {
  if (vpn < tlb.start) tlb.start = vpn;
  if (vpn + nr > tlb.end) tlb.end = vpn + nr;
  tlb.cleared = true;
  tlb.k.costs[Ev.tlbRangeUpdate]++;
}

/** tlb_remove_tlb_entry(). */
export function tlbRemoveTlbEntry(tlb: MmuGather, vpn: number): void {
  tlbFlushPteRange(tlb, vpn, 1);
}

/** tlb_remove_tlb_entries() (6.9): one range update for nr PTEs. */
export function tlbRemoveTlbEntries(tlb: MmuGather, vpn: number, nr: number): void {
  tlbFlushPteRange(tlb, vpn, nr);
}

/** tlb_remove_pmd_tlb_entry(). */
export function tlbRemovePmdTlbEntry(tlb: MmuGather, vpn: number): void {
  tlbFlushPteRange(tlb, vpn, HPAGE_PMD_NR);
}

/** Record the stale translation a cleared PTE leaves (checker only; none on s390). */
export function recordStaleTlb(k: Kernel, mm: MmStruct, vpn: number, pfn: number, dirty: boolean): void {
  if (!k.invariants || k.noGather) return;
  const s = mm.staleTlb;
  s.vpn.push(vpn);
  s.pfn.push(pfn);
  s.dirty.push(dirty ? 1 : 0);
  const st = k.staleTlb as Uint16Array;
  const n = (st[pfn] as number) + 1;
  // 16-bit counts keep the checker at 4 bytes a page; a page with 65535 unflushed translations
  // (as many cleared mappings of it) is beyond what it can count, and says so.
  if (n === 0x10000) throw new Error(`the checker cannot count more than 65535 stale TLB entries of pfn ${pfn}`);
  st[pfn] = n;
  if (dirty) {
    const sd = k.staleDirty as Uint16Array;
    sd[pfn] = (sd[pfn] as number) + 1;
  }
}

/** Forget stale translations of mm in [start, end) (all when full). */
export function flushStaleTlb(k: Kernel, mm: MmStruct, start: number, end: number, full: boolean): void {
  if (!k.invariants) return;
  const s = mm.staleTlb;
  const st = k.staleTlb as Uint16Array;
  const sd = k.staleDirty as Uint16Array;
  let w = 0;
  for (let r = 0; r < s.vpn.length; r++) {
    const vpn = s.vpn[r] as number;
    const pfn = s.pfn[r] as number;
    const dirty = s.dirty[r] as number;
    if (full || (vpn >= start && vpn < end)) {
      st[pfn] = (st[pfn] as number) - 1;
      if (dirty) sd[pfn] = (sd[pfn] as number) - 1;
    } else {
      s.vpn[w] = vpn;
      s.pfn[w] = pfn;
      s.dirty[w] = dirty;
      w++;
    }
  }
  s.vpn.length = w;
  s.pfn.length = w;
  s.dirty.length = w;
}

/**
 * flush_tlb_mm_range() as x86 does it: fullmm and ranges above the ceiling flush everything.
 * s390's __tlb_flush_mm_lazy() counts as a full flush.
 */
export function flushTlbMmRange(k: Kernel, mm: MmStruct, start: number, end: number, fullmm: boolean): void {
  // The model has one CPU, which runs the op's task (the probe runs every proc on one CPU). An mm
  // it does not run (another process's, reached by reclaim's rmap walk) is no CPU's loaded_mm and
  // has no other CPU in its mm_cpumask: flush_tlb_mm_range() flushes nothing and sends no IPI
  // (measured: a reclaim of folios a sleeping child maps shows no tlb_flush event for the child),
  // and the next switch to it flushes its ASID (switch_mm_irqs_off(), by tlb_gen). An exited mm
  // (exit_mm() switched away from it) is the same. So nothing is counted as a TLB shootdown.
  if (!mm.loaded || (k.opMm !== undefined && mm !== k.opMm)) {
    flushStaleTlb(k, mm, start, end, true);
    return;
  }
  const pages = end - start;
  const full = fullmm || k.noGather || pages > TLB_SINGLE_PAGE_FLUSH_CEILING;
  if (full) {
    k.costs[Ev.tlbFlushFull]++;
  } else {
    k.costs[Ev.tlbFlushRange]++;
    k.costs[Ev.tlbFlushPages] += pages;
  }
  flushStaleTlb(k, mm, start, end, full);
}

/** tlb_flush_mmu_tlbonly(): flush the pending range, if anything was cleared. */
export function tlbFlushMmuTlbonly(tlb: MmuGather): void {
  if (!tlb.cleared && !tlb.freedTables) return;
  flushTlbMmRange(tlb.k, tlb.mm, tlb.start, tlb.end, tlb.fullmm);
  tlb.start = Number.POSITIVE_INFINITY;
  tlb.end = 0;
  tlb.cleared = false;
  tlb.freedTables = false;
}

/** tlb_flush_mmu(): flush, then free what was gathered. */
export function tlbFlushMmu(tlb: MmuGather): void {
  tlbFlushMmuTlbonly(tlb);
  tlb.batchPagesFlush();
}

/** tlb_finish_mmu(): last flush and free; batch pages go back. */
export function tlbFinishMmu(tlb: MmuGather): void {
  tlbFlushMmu(tlb);
  tlb.batchCount = 0;
}

/** tlb_delay_rmap(): true where gathering exists (SMP, not NO_GATHER); sets delayed_rmap. */
export function tlbDelayRmap(tlb: MmuGather): boolean {
  if (tlb.k.noGather) return false;
  tlb.delayedRmap = true;
  return true;
}

/** __tlb_remove_page(): one encoded page pointer (v6.5). Returns true when full. */
export function tlbRemovePage(tlb: MmuGather, pfn: number, delayRmap: boolean): boolean {
  return tlb.add(pfn, 1, delayRmap ? GATHER.delayRmap : 0, 1);
}

/**
 * __tlb_remove_folio_pages() (6.9): nr pages of one folio; nr > 1 takes two entries, the page
 * with ENCODED_PAGE_BIT_NR_PAGES_NEXT and then encode_nr_pages(nr).
 */
export function tlbRemoveFolioPages(tlb: MmuGather, pfn: number, nr: number, delayRmap: boolean): boolean {
  const flags = (delayRmap ? GATHER.delayRmap : 0) | (nr > 1 ? GATHER.nrPagesNext : 0);
  return tlb.add(pfn, nr, flags, nr > 1 ? 2 : 1);
}
