/**
 * PMD-mapped THP (mm/huge_memory.c, Linux 6.18): the PMD fault, the huge zero page,
 * zap_huge_pmd() and __split_huge_pmd().
 */

import { Ev } from "./costs.js";
import { deferredSplitFolio } from "./deferred-split.js";
import { folioRefAdd } from "./folio.js";
import type { Kernel } from "./kernel.js";
import { HUGE_ZERO_PFN, NIL, PG, ZERO_PFN } from "./mem-map.js";
import { MM_ANONPAGES, type Vma } from "./mm.js";
import { flushTlbMmRange, GATHER, type MmuGather, recordStaleTlb, tlbFlushMmu, tlbRemovePmdTlbEntry } from "./mmu-gather.js";
import { mkPte, PTE, PTE_FLAG_MASK, PTE_PFN_SHIFT } from "./page-table.js";
import { folioAddAnonRmapPtes, folioAddNewAnonRmap, folioRemoveRmapPmd } from "./rmap.js";
import { MTHP, VMSTAT } from "./stats.js";
import { HPAGE_PMD_NR, HPAGE_PMD_ORDER, PTRS_PER_PTE } from "./units.js";

export function isHugeZeroPmd(pmd: number): boolean {
  return pmd >>> PTE_PFN_SHIFT === HUGE_ZERO_PFN;
}

/**
 * do_huge_pmd_anonymous_page(): allocate a PMD-sized folio and map it with one PMD. Every
 * new PMD THP is queued (uncounted) for the underused-THP shrinker when shrink_underused is
 * on. Returns false when no order-9 block is free (thp_fault_fallback; the caller falls back).
 */
export function doHugePmdAnonymousPage(k: Kernel, vma: Vma, pmdIdx: number): boolean {
  const folio = k.mem.allocPages(HPAGE_PMD_ORDER);
  if (folio === NIL) {
    k.stats.modMthp(HPAGE_PMD_ORDER, MTHP.anonFaultFallback, 1);
    return false;
  }
  k.costs[Ev.foliosAllocated]++;
  k.stats.countVm(VMSTAT.thpFaultAlloc);
  k.stats.modMthp(HPAGE_PMD_ORDER, MTHP.anonFaultAlloc, 1);
  const vpn = pmdIdx * PTRS_PER_PTE;
  folioAddNewAnonRmap(k, folio, vma, vpn, true);
  k.mem.flags[folio] = (k.mem.flags[folio] as number) | PG.lru;
  vma.mm.pgtables.pte.delete(pmdIdx);
  vma.mm.pgtables.hugePmd.set(pmdIdx, mkPte(folio, PTE.present | PTE.write | PTE.dirty | PTE.young));
  vma.mm.rss[MM_ANONPAGES] = (vma.mm.rss[MM_ANONPAGES] as number) + HPAGE_PMD_NR;
  k.costs[Ev.pteSet]++;
  k.costs[Ev.ptLock]++;
  deferredSplitFolio(k, folio, false);
  return true;
}

/** do_huge_pmd_anonymous_page() on a read fault: map the huge zero page read-only. */
export function mapHugeZeroPmd(vma: Vma, pmdIdx: number): void {
  vma.mm.pgtables.pte.delete(pmdIdx);
  vma.mm.pgtables.hugePmd.set(pmdIdx, mkPte(HUGE_ZERO_PFN, PTE.present | PTE.young));
}

/**
 * zap_huge_pmd(): clear the PMD, widen the flush range, remove the PMD rmap, and gather the
 * folio's one reference (tlb_remove_page_size, which flushes at once when the gather fills).
 */
export function zapHugePmd(k: Kernel, tlb: MmuGather, vma: Vma, pmdIdx: number): void {
  const pgt = vma.mm.pgtables;
  const pmd = pgt.hugePmd.get(pmdIdx) as number;
  pgt.hugePmd.delete(pmdIdx);
  k.costs[Ev.ptLock]++;
  k.costs[Ev.pteClear]++;
  const vpn = pmdIdx * PTRS_PER_PTE;
  tlbRemovePmdTlbEntry(tlb, vpn);
  if (isHugeZeroPmd(pmd)) return;
  const folio = pmd >>> PTE_PFN_SHIFT;
  if (k.invariants) {
    for (let i = 0; i < HPAGE_PMD_NR; i++) recordStaleTlb(k, vma.mm, vpn + i, folio + i, false);
  }
  folioRemoveRmapPmd(k, folio, vma);
  vma.mm.rss[MM_ANONPAGES] = (vma.mm.rss[MM_ANONPAGES] as number) - HPAGE_PMD_NR;
  k.costs[Ev.rssCounterAdd]++;
  if (tlb.add(folio, 1, GATHER.pmd, 1)) tlbFlushMmu(tlb);
}

/**
 * __split_huge_pmd_locked() (not freezing): the PMD is invalidated and flushed, the folio
 * gains HPAGE_PMD_NR - 1 references, is mapped by 512 PTEs (exclusivity of the head carried
 * to every page), and loses its PMD mapping. The folio stays large: only the mapping splits,
 * so no deferred split and no change to AnonPages. Counts thp_split_pmd.
 */
export function splitHugePmd(k: Kernel, vma: Vma, pmdIdx: number): void {
  const pgt = vma.mm.pgtables;
  const pmd = pgt.hugePmd.get(pmdIdx);
  if (pmd === undefined) return;
  pgt.hugePmd.delete(pmdIdx);
  k.costs[Ev.ptLock]++;
  const vpn = pmdIdx * PTRS_PER_PTE;
  flushTlbMmRange(k, vma.mm, vpn, vpn + 1, false); // pmdp_invalidate(): one PMD entry
  k.stats.countVm(VMSTAT.thpSplitPmd);
  const ptes = pgt.pteAlloc(pmdIdx);
  if (isHugeZeroPmd(pmd)) {
    ptes.fill(mkPte(ZERO_PFN, PTE.present));
    k.costs[Ev.pteSet] += HPAGE_PMD_NR;
    return;
  }
  const folio = pmd >>> PTE_PFN_SHIFT;
  const flags = pmd & PTE_FLAG_MASK;
  const exclusive = ((k.mem.flags[folio] as number) & PG.anonExclusive) !== 0;
  // The kernel adds HPAGE_PMD_NR - 1 references and lets the PMD's own reference pass to one
  // PTE, under the PMD lock where nobody can look. The model adds all HPAGE_PMD_NR first and
  // hands the PMD's back after its rmap is gone (one atomic, as folio_ref_add), so that
  // refcount >= mapcount holds at every step the checker can see.
  folioRefAdd(k, folio, HPAGE_PMD_NR);
  for (let i = 0; i < HPAGE_PMD_NR; i++) ptes[i] = mkPte(folio + i, flags);
  k.costs[Ev.pteSet] += HPAGE_PMD_NR;
  folioAddAnonRmapPtes(k, folio, folio, HPAGE_PMD_NR, vma, exclusive);
  folioRemoveRmapPmd(k, folio, vma);
  k.mem.refcount[folio] = (k.mem.refcount[folio] as number) - 1;
}

/** split_huge_pmd_address() for a VMA boundary falling inside a PMD-mapped THP. */
export function splitHugePmdAddress(k: Kernel, vma: Vma, vpn: number): void {
  const idx = Math.floor(vpn / PTRS_PER_PTE);
  if (vpn % PTRS_PER_PTE !== 0 && vma.mm.pgtables.hugePmd.has(idx)) splitHugePmd(k, vma, idx);
}
