/**
 * The teardown walk (mm/memory.c, Linux 6.18): unmap_vmas() -> unmap_page_range() ->
 * zap_pmd_range() -> zap_pte_range(). Core walks and handles the PMD level, non-present
 * entries, the PT lock and the flush points; the run of present PTEs goes to the strategy
 * through a ZapContext and the primitives below, each named after the kernel function.
 */

import { Ev } from "./costs.js";
import { folioTestAnon } from "./folio.js";
import { splitHugePmd, zapHugePmd } from "./huge-memory.js";
import type { Kernel } from "./kernel.js";
import { PG, ZERO_PFN } from "./mem-map.js";
import { MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, type MmStruct, NR_MM_COUNTERS, type Vma } from "./mm.js";
import { type MmuGather, recordStaleTlb, tlbFinishMmu, tlbFlushMmu, tlbFlushMmuTlbonly, tlbGatherMmu } from "./mmu-gather.js";
import type { PteTable } from "./page-table.js";
import {
  isSwapPte,
  PTE,
  PTE_FLAG_MASK,
  PTE_PFN_SCALE,
  pmdAddrEnd,
  pmdIndex,
  pteIndex,
  ptePfn,
  pteSetFlags,
} from "./page-table.js";
import type { ReclaimUnmapContext } from "./strategy.js";
import { lruActivateAdd } from "./swap.js";
import { zapSwapPtes } from "./swapfile.js";
import { HPAGE_PMD_ORDER, PTRS_PER_PTE } from "./units.js";

/** What zap_pte_range() has in hand while a strategy unmaps present PTEs. */
export class ZapContext<S = unknown> {
  vma!: Vma;
  mm!: MmStruct;
  ptes!: PteTable;
  /** Virtual page of ptes[0]. */
  vpnBase = 0;
  /** Slot of the PTE the strategy is called for. */
  index = 0;
  /** Its value, as zap_pte_range read it. */
  ptent = 0;
  /** rss[] local to this PTE table, folded by add_mm_rss_vec(). */
  readonly rss = new Float64Array(NR_MM_COUNTERS);
  forceFlush = false;
  forceBreak = false;
  /** zap_details.reclaim_pt: MADV_DONTNEED frees PTE tables it empties whole (CONFIG_PT_RECLAIM). */
  reclaimPt = false;
  /** Pages of dirty file PTEs cleared under this PT lock (checker only). */
  readonly dirtyFileCleared: number[] = [];

  constructor(
    readonly k: Kernel,
    readonly tlb: MmuGather<S>,
  ) {}

  /** rss[counter] += delta, the local counter zap_pte_range() folds at the end of the table. */
  addRss(counter: number, delta: number): void {
    this.rss[counter] = (this.rss[counter] as number) + delta;
  }

  /** Virtual page number of slot i. */
  vpn(i: number): number {
    return this.vpnBase + i;
  }
}

/** ptep_get(): read a PTE (counted). */
export function ptepGet(z: ZapContext, i: number): number {
  z.k.costs[Ev.pteRead]++;
  return z.ptes[i] as number;
}

function noteCleared(z: ZapContext, i: number, pte: number): void {
  if ((pte & PTE.present) === 0) return;
  const k = z.k;
  const pfn = ptePfn(pte);
  // The zero page's translation is stale too until flushed: recorded, though it is never freed.
  if (k.mem.isReserved(pfn)) {
    recordStaleTlb(k, z.mm, z.vpn(i), pfn, false);
    return;
  }
  const fileDirty = (pte & PTE.dirty) !== 0 && ((k.mem.flags[k.mem.pageFolio(pfn)] as number) & PG.anon) === 0;
  recordStaleTlb(k, z.mm, z.vpn(i), pfn, fileDirty);
  if (fileDirty) z.dirtyFileCleared.push(pfn);
}

/** ptep_get_and_clear_full(): clear one PTE and return what it held. */
export function ptepGetAndClearFull(z: ZapContext, i: number): number {
  const pte = z.ptes[i] as number;
  z.ptes[i] = 0;
  z.k.costs[Ev.pteClear]++;
  if (z.k.invariants) noteCleared(z, i, pte);
  return pte;
}

/** clear_full_ptes() (6.9): clear nr PTEs whose accessed/dirty bits are not needed (anon). */
export function clearFullPtes(z: ZapContext, i: number, nr: number): void {
  const ptes = z.ptes;
  if (z.k.invariants) for (let j = i; j < i + nr; j++) noteCleared(z, j, ptes[j] as number);
  // A builtin fill() call costs more than a few stores: the common small folio is nr = 1.
  if (nr <= 16) for (let j = i; j < i + nr; j++) ptes[j] = 0;
  else ptes.fill(0, i, i + nr);
  z.k.costs[Ev.pteClear] += nr;
}

/** get_and_clear_full_ptes() (6.9): clear nr PTEs, returning the first with dirty/young ORed in. */
export function getAndClearFullPtes(z: ZapContext, i: number, nr: number): number {
  const ptes = z.ptes;
  let pte = ptes[i] as number;
  for (let j = i; j < i + nr; j++) {
    const p = ptes[j] as number;
    pte = pteSetFlags(pte, p & (PTE.dirty | PTE.young));
    if (z.k.invariants) noteCleared(z, j, p);
  }
  if (nr <= 16) for (let j = i; j < i + nr; j++) ptes[j] = 0;
  else ptes.fill(0, i, i + nr);
  z.k.costs[Ev.pteClear] += nr;
  return pte;
}

/** vm_normal_page(): the pfn a present PTE maps, or -1 for the zero page (no struct page to zap). */
export function vmNormalPage(z: ZapContext, pte: number): number {
  const pfn = ptePfn(pte);
  if (pfn === ZERO_PFN || z.k.mem.isReserved(pfn)) return -1;
  return pfn;
}

/**
 * folio_pte_batch() (6.18 form, flags 0: write, dirty, soft-dirty and young are ignored): how
 * many PTEs from slot i map consecutive pages of `folio`, capped at max and the folio's end.
 * Reads n-1 more PTEs.
 */
export function folioPteBatch(z: ZapContext, folio: number, i: number, max: number): number {
  return folioPteBatchAt(z.k, z.ptes, folio, i, max);
}

/** folio_pte_batch() on any PTE table (reclaim's folio_unmap_pte_batch() uses it too). */
export function folioPteBatchAt(k: Kernel, ptes: PteTable, folio: number, i: number, max: number): number {
  return folioPteBatchFlags(k, ptes, folio, i, max, 0);
}

/**
 * folio_pte_batch_flags() (mm/internal.h, 6.17+): folio_pte_batch() where the PTE bits in
 * `respect` must equal the first PTE's (FPB_RESPECT_WRITE: PTE.write, FPB_RESPECT_SOFT_DIRTY:
 * PTE.softDirty, FPB_RESPECT_DIRTY: PTE.dirty); the others are ignored.
 */
export function folioPteBatchFlags(k: Kernel, ptes: PteTable, folio: number, i: number, max: number, respect: number): number {
  const first = ptes[i] as number;
  const pfn = ptePfn(first);
  const folioEnd = folio + (1 << (k.mem.order[folio] as number));
  let limit = folioEnd - pfn;
  if (max < limit) limit = max;
  // The pfn bits of the first PTE: the n-th PTE of the batch has base + n pfns (no division per
  // PTE). The constants in locals: in the bundle they are module vars, reloaded every iteration.
  const flagMask = PTE_FLAG_MASK;
  const scale = PTE_PFN_SCALE;
  const present = PTE.present;
  let want = first - (first & flagMask) + scale;
  let n = 1;
  while (n < limit) {
    const p = ptes[i + n] as number;
    if ((p & present) === 0 || p - (p & flagMask) !== want || ((p ^ first) & respect) !== 0) break;
    n++;
    want += scale;
  }
  // One PTE read per PTE looked at: the batch's, and the one that ended it.
  k.costs[Ev.pteRead] += n < limit ? n : n - 1;
  return n;
}

/**
 * How reclaim batches a lazyfree folio's PTEs (the review of Barry Song's "mm: Support batched unmap for lazyfree large folios during
 * reclamation" v4 3/4, June 2025), for strategies that batch:
 * - "none": one PTE at a time (<= 6.14);
 * - "all-or-nothing": Barry Song's v4 can_batch_unmap_folio_ptes() (Jan 2025): the whole folio
 *   in one batch when its PTEs from the head page on map it whole (dirty and soft-dirty
 *   ignored), else one PTE;
 * - "partial": what Linux merged, folio_unmap_pte_batch() (6.15, bounded by VMA and PMD since
 *   6.16, FPB_RESPECT_WRITE | FPB_RESPECT_SOFT_DIRTY since 6.17): any run of PTEs from 1 up.
 */
export const RECLAIM_BATCHING = ["none", "all-or-nothing", "partial"] as const;
export type ReclaimBatching = (typeof RECLAIM_BATCHING)[number];

/** The reclaimUnmapBatch() body of each reclaim batching variant (see RECLAIM_BATCHING). */
export function reclaimUnmapBatchOf(mode: ReclaimBatching): (r: ReclaimUnmapContext, max: number) => number {
  switch (mode) {
    case "none":
      return () => 1;
    case "all-or-nothing":
      return (r, max) => {
        if (!r.lazyfree || r.pfn !== r.folio) return 1;
        const nr = 1 << (r.k.mem.order[r.folio] as number);
        if (max < nr) return 1;
        return folioPteBatchFlags(r.k, r.ptes, r.folio, r.index, nr, 0) === nr ? nr : 1;
      };
    case "partial":
      return (r, max) => (r.lazyfree ? folioPteBatchFlags(r.k, r.ptes, r.folio, r.index, max, PTE.write | PTE.softDirty) : 1);
  }
}

/** mm_counter(): which RSS counter a folio is accounted in (mm_counter_file(): shmem when swap-backed). */
export function mmCounter(k: Kernel, folio: number): number {
  if (folioTestAnon(k, folio)) return MM_ANONPAGES;
  return ((k.mem.flags[folio] as number) & PG.swapbacked) !== 0 ? MM_SHMEMPAGES : MM_FILEPAGES;
}

/**
 * folio_mark_dirty() (mm/page-writeback.c, 6.18): the mapping's a_ops->dirty_folio(). A file
 * folio's is ext4_dirty_folio() -> block_dirty_folio() (fs/buffer.c): the i_private_lock,
 * set_buffer_dirty() on every buffer head of the folio, dirty already or not, and for a folio
 * newly dirty __folio_mark_dirty()'s accounting. Shmem's and the swap cache's is
 * noop_dirty_folio(), which only tests and sets the flag (perf on this VM puts folio_mark_dirty()
 * and noop_dirty_folio() at 0.8% of shmem/munmap 4K, where one price with ext4's took 7%).
 */
export function folioMarkDirty(k: Kernel, folio: number): void {
  const f = k.mem.flags[folio] as number;
  k.mem.flags[folio] = f | PG.dirty;
  k.costs[Ev.folioMarkDirty]++;
  if ((f & (PG.anon | PG.swapbacked)) !== 0) return;
  k.costs[Ev.blockDirtyFolio]++;
  k.costs[Ev.bufferHeadsDirtied] += 1 << (k.mem.order[folio] as number);
}

/**
 * folio_mark_accessed() (mm/swap.c, 6.18, classic LRU): the first call sets referenced, the next
 * activates an inactive evictable folio: folio_activate() queues one on the LRU for
 * lru_activate() (its lruvec lock counted as the batch moves), one still in an LRU add batch is
 * only flagged (__lru_cache_activate_folio()).
 */
export function folioMarkAccessed(k: Kernel, folio: number): void {
  k.costs[Ev.folioMarkAccessed]++;
  const f = k.mem.flags[folio] as number;
  if ((f & PG.referenced) === 0) {
    k.mem.flags[folio] = f | PG.referenced;
  } else if ((f & (PG.active | PG.mlocked)) === 0) {
    k.mem.flags[folio] = (f & ~PG.referenced) | PG.active;
    if ((f & PG.lru) !== 0) lruActivateAdd(k, 1 << (k.mem.order[folio] as number));
  }
}

/** add_mm_rss_vec(): fold the table's local rss into the mm (one percpu add per counter). */
function addMmRssVec(k: Kernel, mm: MmStruct, rss: Float64Array): void {
  for (let i = 0; i < NR_MM_COUNTERS; i++) {
    const v = rss[i] as number;
    if (v !== 0) {
      mm.rss[i] = (mm.rss[i] as number) + v;
      k.costs[Ev.rssCounterAdd]++;
      rss[i] = 0;
    }
  }
}

/**
 * zap_pte_range() (6.18, with the do_zap_pte_range() split folded in): one PTE table from
 * addr to end under its PT lock. Returns the address reached: less than end when the gather
 * filled and zap_pmd_range() must call again.
 */
export function zapPteRange(z: ZapContext, ptes: PteTable, pmdIdx: number, addr: number, end: number): number {
  const k = z.k;
  const strategy = k.hooks;
  // Held in locals: the strategy call in the loop makes V8 reload every field it reads.
  const costs = k.costs;
  const invariants = k.invariants;
  z.ptes = ptes;
  z.vpnBase = pmdIdx * PTRS_PER_PTE;
  z.forceFlush = false;
  z.forceBreak = false;
  costs[Ev.ptLock]++;
  if (strategy.startPteTable) strategy.startPteTable(z);
  let i = pteIndex(addr);
  const endIdx = end - z.vpnBase;
  while (i < endIdx) {
    const pte = ptes[i] as number;
    costs[Ev.pteRead]++;
    if (pte === 0) {
      i++;
      continue;
    }
    if ((pte & PTE.present) !== 0) {
      z.index = i;
      z.ptent = pte;
      const n = strategy.zapPresentPtes(z, endIdx - i);
      if (invariants) checkStrategyStep(z, i, n, endIdx - i);
      i += n;
    } else {
      i += zapNonpresentPtes(z, i, pte, endIdx - i);
    }
    if (z.forceBreak) break;
  }
  addMmRssVec(k, z.mm, z.rss);
  if (z.forceFlush) tlbFlushMmuTlbonly(z.tlb);
  strategy.flushRmaps(z);
  ptlUnlock(z);
  if (z.forceFlush) tlbFlushMmu(z.tlb);
  return z.vpnBase + i;
}

function checkStrategyStep(z: ZapContext, i: number, n: number, max: number): void {
  if (!Number.isInteger(n) || n < 1 || n > max) {
    z.k.violate(
      "strategy-contract",
      ptePfn(z.ptes[i] as number),
      `zapPresentPtes returned ${n} at slot ${i}; it must consume 1..${max} PTE slots`,
    );
  }
  for (let j = i; j < i + n; j++) {
    if ((z.ptes[j] as number) !== 0 && !z.forceBreak) {
      z.k.violate(
        "strategy-contract",
        ptePfn(z.ptes[j] as number),
        `zapPresentPtes consumed slot ${j} but left its PTE in place`,
      );
    }
  }
}

/** pte_unmap_unlock(): a dirty file page must be marked dirty before the lock goes. */
function ptlUnlock(z: ZapContext): void {
  const k = z.k;
  if (!k.invariants) return;
  for (const pfn of z.dirtyFileCleared) {
    if (((k.mem.flags[k.mem.pageFolio(pfn)] as number) & PG.dirty) === 0) {
      k.violate(
        "no-lost-write",
        pfn,
        "dirty PTE of a file page cleared without marking the folio dirty before the PT lock was dropped",
      );
    }
  }
  z.dirtyFileCleared.length = 0;
}

/**
 * zap_nonpresent_ptes() (6.18): a run of swap PTEs holding consecutive slots is zapped as one
 * batch (swap_pte_batch(), free_swap_and_cache_nr()); any other entry alone. Returns the slots
 * consumed.
 */
function zapNonpresentPtes(z: ZapContext, i: number, pte: number, max: number): number {
  const k = z.k;
  if (!isSwapPte(pte)) {
    z.ptes[i] = 0;
    k.costs[Ev.pteClear]++;
    return 1;
  }
  const nr = zapSwapPtes(k, z.ptes, i, max, pte, z.rss);
  k.costs[Ev.pteClear] += nr;
  return nr;
}

/**
 * zap_pmd_range(): PMD-mapped THPs covered whole go to zap_huge_pmd(); a partial range
 * splits the PMD first (__split_huge_pmd) and continues on the PTE table.
 */
function zapPmdRange(z: ZapContext, vma: Vma, start: number, end: number): void {
  const k = z.k;
  const pgt = vma.mm.pgtables;
  for (let addr = start; addr < end; ) {
    const next = pmdAddrEnd(addr, end);
    const idx = pmdIndex(addr);
    if (pgt.hugePmd.has(idx)) {
      if (next - addr === 1 << HPAGE_PMD_ORDER) {
        zapHugePmd(k, z.tlb, vma, idx);
        addr = next;
        continue;
      }
      splitHugePmd(k, vma, idx);
    }
    const ptes = pgt.pte.get(idx);
    if (ptes) {
      let a = addr;
      do {
        a = zapPteRange(z, ptes, idx, a, next);
      } while (a !== next);
      if (z.reclaimPt && next - addr === PTRS_PER_PTE) tryToFreePte(z, pgt, ptes, idx);
    }
    addr = next;
  }
}

/**
 * try_to_free_pte() / free_pte() (mm/pt_reclaim.c, 6.13+; CONFIG_PT_RECLAIM=y on x86-64): after
 * MADV_DONTNEED zapped a whole PTE table (reclaim_pt_is_enabled(): end - start >= PMD_SIZE), a
 * table left all pte_none is taken off its PMD and freed through the gather (pte_free_tlb()),
 * so the next fault in that 2 MiB finds pmd_none and may map a PMD THP there.
 */
function tryToFreePte(z: ZapContext, pgt: MmStruct["pgtables"], ptes: PteTable, idx: number): void {
  for (let i = 0; i < PTRS_PER_PTE; i++) if ((ptes[i] as number) !== 0) return;
  pgt.pteFree(idx);
  const tlb = z.tlb;
  const lo = idx * PTRS_PER_PTE;
  if (lo < tlb.start) tlb.start = lo;
  if (lo + PTRS_PER_PTE > tlb.end) tlb.end = lo + PTRS_PER_PTE;
  tlb.freedTables = true;
}

/** unmap_page_range() for one VMA: tlb_end_vma() flushes at the VMA end unless fullmm. */
function unmapPageRange(z: ZapContext, vma: Vma, start: number, end: number): void {
  z.vma = vma;
  z.mm = vma.mm;
  zapPmdRange(z, vma, start, end);
  if (!z.tlb.fullmm) tlbFlushMmuTlbonly(z.tlb);
}

/** unmap_vmas(): zap [start, end) of each VMA through one mmu_gather. */
export function unmapVmas(k: Kernel, tlb: MmuGather, vmas: readonly Vma[], start: number, end: number): void {
  const z = new ZapContext(k, tlb);
  for (const vma of vmas) {
    const s = Math.max(start, vma.start);
    const e = Math.min(end, vma.end);
    if (s < e) unmapPageRange(z, vma, s, e);
  }
}

/**
 * free_pgtables(): drop PTE tables no VMA covers any more. With a gather, each freed table
 * widens the flush range (pte_free_tlb -> tlb_flush_pmd_range, freed_tables), so
 * tlb_finish_mmu() flushes once more: the extra flush a real munmap of PTE-mapped memory shows.
 */
export function freePgtables(mm: MmStruct, start: number, end: number, tlb?: MmuGather): void {
  const pgt = mm.pgtables;
  for (let idx = pmdIndex(start); idx <= pmdIndex(end - 1); idx++) {
    const lo = idx * PTRS_PER_PTE;
    if (!pgt.pte.has(idx) || mm.vmasIn(lo, lo + PTRS_PER_PTE).length > 0) continue;
    pgt.pteFree(idx);
    if (tlb) {
      if (lo < tlb.start) tlb.start = lo;
      if (lo + PTRS_PER_PTE > tlb.end) tlb.end = lo + PTRS_PER_PTE;
      tlb.freedTables = true;
    }
  }
}

/**
 * zap_page_range_single() as MADV_DONTNEED uses it: its own mmu_gather per VMA; VMAs and page
 * tables stay.
 */
export function zapPageRangeSingle(k: Kernel, mm: MmStruct, vma: Vma, start: number, end: number): void {
  const tlb = tlbGatherMmu(k, mm, false);
  const z = new ZapContext(k, tlb);
  z.reclaimPt = true; // madvise_dontneed_single_vma(): .reclaim_pt = true
  unmapPageRange(z, vma, Math.max(start, vma.start), Math.min(end, vma.end));
  tlbFinishMmu(tlb);
}

/**
 * unmap_region(): munmap's teardown of VMAs already split to [start, end): zap, then (once the
 * caller has removed the VMAs) free the page tables through the same gather and finish it.
 */
export function unmapRegion(
  k: Kernel,
  mm: MmStruct,
  vmas: readonly Vma[],
  start: number,
  end: number,
  removeVmas: () => void,
): void {
  const tlb = tlbGatherMmu(k, mm, false);
  unmapVmas(k, tlb, vmas, start, end);
  removeVmas();
  freePgtables(mm, start, end, tlb);
  tlbFinishMmu(tlb);
}

/**
 * exit_mmap(): a fullmm gather over every VMA. The exiting task has already switched away from
 * this mm (exit_mm), so no CPU has it loaded and its TLB flushes send nothing: real exits show
 * no tlb_flush events.
 */
export function exitMmap(k: Kernel, mm: MmStruct): void {
  mm.loaded = false;
  const tlb = tlbGatherMmu(k, mm, true);
  const vmas = mm.vmas;
  if (vmas.length > 0) {
    unmapVmas(k, tlb, vmas, (vmas[0] as Vma).start, (vmas[vmas.length - 1] as Vma).end);
  }
  tlbFinishMmu(tlb);
  mm.vmas = [];
  mm.pgtables.pteFreeAll();
  mm.pgtables.hugePmd.clear();
}
