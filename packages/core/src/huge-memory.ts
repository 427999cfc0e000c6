/**
 * PMD-mapped THP (mm/huge_memory.c, Linux 6.18): the PMD fault, the huge zero page,
 * zap_huge_pmd() and __split_huge_pmd().
 */

import { Ev } from "./costs.js";
import { deferredSplitFolio, folioUnqueueDeferredSplit } from "./deferred-split.js";
import {
  folioIndex,
  folioMapcount,
  folioMapping,
  folioPutRefs,
  folioRefAdd,
  folioRefSubAndTest,
  folioSetIndex,
  folioSetMapping,
  freeFolio,
} from "./folio.js";
import type { Kernel } from "./kernel.js";
import { HUGE_ZERO_PFN, NIL, PG, ZERO_PFN } from "./mem-map.js";
import { MM_ANONPAGES, VM, type Vma } from "./mm.js";
import { flushTlbMmRange, GATHER, type MmuGather, recordStaleTlb, tlbFlushMmu, tlbRemovePmdTlbEntry } from "./mmu-gather.js";
import { mkPte, PTE, PTE_FLAG_MASK, type PteTable, pmdIndex, pteIndex, ptePfn } from "./page-table.js";
import {
  folioAddAnonRmapPtes,
  folioAddNewAnonRmap,
  folioMaybeDmaPinned,
  folioRemoveRmapPmd,
  folioRemoveRmapPtes,
} from "./rmap.js";
import { rmapWalk } from "./rmap-walk.js";
import { MTHP, VMSTAT } from "./stats.js";
import { lruAddBatchAdd } from "./swap.js";
import { HPAGE_PMD_NR, HPAGE_PMD_ORDER, PTRS_PER_PTE } from "./units.js";
import { folioMarkDirty, mmCounter } from "./zap.js";

export function isHugeZeroPmd(pmd: number): boolean {
  return ptePfn(pmd) === HUGE_ZERO_PFN;
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
  k.costs[Ev.bytesZeroed] += HPAGE_PMD_NR * 4096; // folio_zero_user()
  k.stats.countVm(VMSTAT.thpFaultAlloc);
  k.stats.modMthp(HPAGE_PMD_ORDER, MTHP.anonFaultAlloc, 1);
  const vpn = pmdIdx * PTRS_PER_PTE;
  folioAddNewAnonRmap(k, folio, vma, vpn, true);
  lruAddBatchAdd(k, folio); // folio_add_lru_vma(): a large folio moves at once
  vma.mm.pgtables.pteDeposit(pmdIdx);
  vma.mm.pgtables.hugePmd.set(pmdIdx, mkPte(folio, PTE.present | PTE.write | PTE.dirty | PTE.young));
  vma.mm.rss[MM_ANONPAGES] = (vma.mm.rss[MM_ANONPAGES] as number) + HPAGE_PMD_NR;
  k.costs[Ev.pteSet]++;
  k.costs[Ev.ptLock]++;
  deferredSplitFolio(k, folio, false);
  return true;
}

/** do_huge_pmd_anonymous_page() on a read fault: map the huge zero page read-only. */
export function mapHugeZeroPmd(vma: Vma, pmdIdx: number): void {
  vma.anonVmaPrepared = true; // do_huge_pmd_anonymous_page(): vmf_anon_prepare() comes first
  vma.mm.pgtables.pteDeposit(pmdIdx);
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
  k.costs[Ev.ptFree]++; // zap_deposited_table()
  const vpn = pmdIdx * PTRS_PER_PTE;
  tlbRemovePmdTlbEntry(tlb, vpn);
  const folio = ptePfn(pmd);
  // The huge zero page's translations are recorded too (never freed, but flushed all the same).
  if (k.invariants) {
    for (let i = 0; i < HPAGE_PMD_NR; i++) recordStaleTlb(k, vma.mm, vpn + i, folio + i, false);
  }
  if (isHugeZeroPmd(pmd)) return;
  // A file THP's dirty PMD goes to the folio (folio_mark_dirty(): on ext4 every buffer head of
  // the 2M folio is set dirty; measured here, 2026-12-02: munmap of 256M of dirty PMD-mapped ext4
  // folios 128.7 ns per 4K page, 1.3 after msync(), block_dirty_folio() under unmap_page_range()).
  if ((pmd & PTE.dirty) !== 0 && ((k.mem.flags[folio] as number) & PG.anon) === 0) folioMarkDirty(k, folio);
  folioRemoveRmapPmd(k, folio, vma);
  const counter = mmCounter(k, folio);
  vma.mm.rss[counter] = (vma.mm.rss[counter] as number) - HPAGE_PMD_NR;
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
  if (!isHugeZeroPmd(pmd) && ((k.mem.flags[ptePfn(pmd)] as number) & PG.anon) === 0) {
    splitHugePmdFile(k, vma, pmd);
    return;
  }
  const ptes = pgt.pteAlloc(pmdIdx, true); // pgtable_trans_huge_withdraw()
  if (isHugeZeroPmd(pmd)) {
    ptes.fill(mkPte(ZERO_PFN, PTE.present));
    k.costs[Ev.pteSet] += HPAGE_PMD_NR;
    return;
  }
  const folio = ptePfn(pmd);
  const flags = pmd & PTE_FLAG_MASK;
  // __split_huge_pmd_locked() (6.18): a dirty PMD marks the folio dirty (folio_set_dirty) as
  // well as every PTE it leaves.
  if ((pmd & PTE.dirty) !== 0) k.mem.flags[folio] = (k.mem.flags[folio] as number) | PG.dirty;
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

/**
 * __split_huge_pmd_locked() on a file (or shmem) VMA: the PMD is cleared and flushed and no
 * PTEs are put back (the page cache still has the folio; later faults map it again). Its dirty
 * and young bits go to the folio, its rmap and reference go, and the RSS counter drops.
 */
function splitHugePmdFile(k: Kernel, vma: Vma, pmd: number): void {
  const folio = ptePfn(pmd);
  const m = k.mem;
  if ((pmd & PTE.dirty) !== 0) folioMarkDirty(k, folio);
  if ((pmd & PTE.young) !== 0) m.flags[folio] = (m.flags[folio] as number) | PG.referenced;
  folioRemoveRmapPmd(k, folio, vma);
  folioPutRefs(k, folio, 1);
  const counter = mmCounter(k, folio);
  vma.mm.rss[counter] = (vma.mm.rss[counter] as number) - HPAGE_PMD_NR;
  k.costs[Ev.rssCounterAdd]++;
}

/**
 * The rmap walk's page_vma_mapped_walk() over PTEs: each page of the folio that a present PTE
 * of this VMA maps, from the folio's head vpn in it (try_to_unmap_one(), try_to_migrate_one()).
 */
function forEachFolioPte(
  vma: Vma,
  folio: number,
  headVpn: number,
  nr: number,
  fn: (ptes: PteTable, j: number, vpn: number, pte: number, i: number) => void,
): void {
  const pgt = vma.mm.pgtables;
  for (let i = 0; i < nr; i++) {
    const vpn = headVpn + i;
    if (vpn < vma.start || vpn >= vma.end) continue;
    const ptes = pgt.pte.get(pmdIndex(vpn));
    if (!ptes) continue;
    const j = pteIndex(vpn);
    const pte = ptes[j] as number;
    if ((pte & PTE.present) === 0 || ptePfn(pte) !== folio + i) continue;
    fn(ptes, j, vpn, pte, i);
  }
}

/**
 * __folio_split(folio, 0) (6.18) of a page-cache folio (shmem here): can_split_folio() wants
 * the cache's nr references, the mappings and the caller's; the folio is unmapped everywhere
 * (try_to_unmap(): a PMD by a PMD split, PTEs one by one) and, unlike anon, not mapped back
 * (remap_page() skips file folios: later faults map the pages again). The cache then holds nr
 * order-0 folios of one reference each; the caller's references stay on the first page.
 */
function splitFileFolio(k: Kernel, folio: number, callerRefs: number): boolean {
  const m = k.mem;
  const order = m.order[folio] as number;
  const nr = 1 << order;
  const file = k.files[folioMapping(m, folio) - 1];
  if (!file || (m.refcount[folio] as number) !== folioMapcount(k, folio) + nr + callerRefs || folioMaybeDmaPinned(k, folio)) {
    k.stats.modMthp(order, MTHP.splitFailed, 1);
    return false;
  }
  for (const { vma, headVpn } of rmapWalk(k, folio)) {
    const pgt = vma.mm.pgtables;
    const idx = pmdIndex(headVpn);
    const huge = pgt.hugePmd.get(idx);
    if (huge !== undefined && ptePfn(huge) === folio) {
      splitHugePmd(k, vma, idx);
      continue;
    }
    forEachFolioPte(vma, folio, headVpn, nr, (ptes, j, vpn, pte, i) => {
      // try_to_unmap_one(): ptep_clear_flush(), the dirty bit to the folio, rmap and reference.
      ptes[j] = 0;
      k.costs[Ev.pteClear]++;
      flushTlbMmRange(k, vma.mm, vpn, vpn + 1, false);
      if ((pte & PTE.dirty) !== 0) folioMarkDirty(k, folio);
      folioRemoveRmapPtes(k, folio, folio + i, 1, vma);
      folioRefSubAndTest(k, folio, 1);
      const counter = mmCounter(k, folio);
      vma.mm.rss[counter] = (vma.mm.rss[counter] as number) - 1;
    });
  }
  k.stats.modMthp(order, MTHP.split, 1);
  if (order === HPAGE_PMD_ORDER) {
    k.stats.countVm(VMSTAT.thpSplitPage);
    if (((m.flags[folio] as number) & PG.swapbacked) !== 0) k.stats.nrShmemThps -= nr;
    else k.stats.nrFileThps -= nr;
  }
  const index = folioIndex(m, folio);
  file.raMarks.delete(index);
  const inherit =
    (m.flags[folio] as number) & (PG.allocated | PG.swapbacked | PG.dirty | PG.lru | PG.mlocked | PG.referenced | PG.active);
  for (let i = 0; i < nr; i++) {
    const p = folio + i;
    m.order[p] = 0;
    m.flags[p] = inherit;
    m.mapcount[p] = -1;
    m.refcount[p] = 1;
    folioSetMapping(m, p, file.id);
    folioSetIndex(m, p, index + i);
    file.setFolio(index + i, p);
  }
  m.refcount[folio] = 1 + callerRefs;
  k.costs[Ev.structPageLines] += nr;
  return true;
}

/** split_huge_pmd_address() for a VMA boundary falling inside a PMD-mapped THP. */
export function splitHugePmdAddress(k: Kernel, vma: Vma, vpn: number): void {
  const idx = Math.floor(vpn / PTRS_PER_PTE);
  if (vpn % PTRS_PER_PTE !== 0 && vma.mm.pgtables.hugePmd.has(idx)) splitHugePmd(k, vma, idx);
}

/**
 * split_folio() -> __folio_split(folio, 0) (6.18) for anon folios: check that only mappings
 * and `callerRefs` hold the folio (can_split_folio), unmap it everywhere through the rmap
 * (PTEs one by one, which briefly leaves a PTE-mapped folio partially mapped and counts
 * split_deferred, as 6.18 does; a PMD through a frozen PMD split, which does not), take it off
 * the deferred split queue, turn it into order-0 folios and map them back, zero-filled pages
 * as the shared zero page (RMP_USE_SHARED_ZEROPAGE). Pages nothing maps are freed; the
 * caller's references stay on the first page.
 */
export function splitFolio(k: Kernel, folio: number, callerRefs: number): boolean {
  const m = k.mem;
  const order = m.order[folio] as number;
  if (order === 0) return true;
  const flags = m.flags[folio] as number;
  if ((flags & PG.anon) === 0) return splitFileFolio(k, folio, callerRefs);
  const expected = folioMapcount(k, folio) + callerRefs;
  if (
    (flags & PG.anon) === 0 ||
    (flags & PG.swapcache) !== 0 ||
    (m.refcount[folio] as number) !== expected ||
    folioMaybeDmaPinned(k, folio)
  ) {
    k.stats.modMthp(order, MTHP.splitFailed, 1);
    return false;
  }
  const nr = 1 << order;
  // Each page's migration entry: where it goes back, its PTE bits, and whether it is exclusive.
  const restore: Array<{ vma: Vma; vpn: number; pfn: number; flags: number; exclusive: boolean }> = [];
  const places = rmapWalk(k, folio); // unmap_folio() -> try_to_migrate()
  for (const { vma, headVpn } of places) {
    const pgt = vma.mm.pgtables;
    const idx = pmdIndex(headVpn);
    const huge = pgt.hugePmd.get(idx);
    if (huge !== undefined && ptePfn(huge) === folio) {
      // __split_huge_pmd_locked(freeze): the PMD goes as one, no partial mapping is seen; a
      // dirty PMD marks the folio dirty. An exclusive PMD (PageAnonExclusive on the head) gives
      // every page a writable or readable-exclusive migration entry (folio_try_share_anon_rmap_pmd()
      // clears the head's bit), so remove_migration_pte() maps each page back exclusive.
      const exclusive = ((m.flags[folio] as number) & PG.anonExclusive) !== 0;
      pgt.hugePmd.delete(idx);
      if ((huge & PTE.dirty) !== 0) m.flags[folio] = (m.flags[folio] as number) | PG.dirty;
      k.costs[Ev.ptLock]++;
      flushTlbMmRange(k, vma.mm, headVpn, headVpn + 1, false);
      k.stats.countVm(VMSTAT.thpSplitPmd);
      folioRemoveRmapPmd(k, folio, vma);
      folioRefSubAndTest(k, folio, 1);
      for (let i = 0; i < nr; i++)
        restore.push({ vma, vpn: headVpn + i, pfn: folio + i, flags: huge & PTE_FLAG_MASK, exclusive });
      continue;
    }
    forEachFolioPte(vma, folio, headVpn, nr, (ptes, j, vpn, pte, i) => {
      // try_to_migrate_one(): ptep_clear_flush() and a migration entry, one PTE at a time; a
      // dirty PTE marks the folio dirty (so every folio of the split is).
      if ((pte & PTE.dirty) !== 0) folioMarkDirty(k, folio);
      ptes[j] = 0;
      k.costs[Ev.pteClear]++;
      flushTlbMmRange(k, vma.mm, vpn, vpn + 1, false);
      folioRemoveRmapPtes(k, folio, folio + i, 1, vma);
      folioRefSubAndTest(k, folio, 1);
      // try_to_migrate_one(): an exclusive page gets an exclusive migration entry.
      const exclusive = ((m.flags[folio + i] as number) & PG.anonExclusive) !== 0;
      restore.push({ vma, vpn, pfn: folio + i, flags: pte & PTE_FLAG_MASK, exclusive });
    });
  }
  folioUnqueueDeferredSplit(k, folio);
  k.stats.modMthp(order, MTHP.split, 1);
  if (order === HPAGE_PMD_ORDER) k.stats.countVm(VMSTAT.thpSplitPage);
  k.stats.modMthp(order, MTHP.nrAnon, -1);
  const mapping = folioMapping(m, folio);
  const index = folioIndex(m, folio);
  // __split_folio_to_order() copies PG_dirty (and the rest) to every new folio.
  const inherit =
    (m.flags[folio] as number) &
    (PG.allocated | PG.anon | PG.swapbacked | PG.dirty | PG.lru | PG.mlocked | PG.referenced | PG.active);
  for (let i = 0; i < nr; i++) {
    const p = folio + i;
    m.order[p] = 0;
    m.flags[p] = inherit; // PageAnonExclusive travels in the migration entries (restore)
    m.mapcount[p] = -1;
    m.refcount[p] = 0;
    folioSetMapping(m, p, mapping);
    folioSetIndex(m, p, index + i);
  }
  m.refcount[folio] = callerRefs;
  k.costs[Ev.structPageLines] += nr;
  // remap_page(RMP_USE_SHARED_ZEROPAGE): remove_migration_ptes(), an rmap walk, per new folio.
  k.costs[Ev.rmapWalk] += nr;
  k.costs[Ev.rmapWalkVma] += nr * places.length;
  for (const r of restore) {
    const pgt = r.vma.mm.pgtables;
    const ptes = pgt.pteAlloc(pmdIndex(r.vpn));
    const zeroFill = (m.content[r.pfn] as number) === 0 && (m.flags[r.pfn] & PG.mlocked) === 0 && (r.vma.flags & VM.locked) === 0;
    if (zeroFill) {
      ptes[pteIndex(r.vpn)] = mkPte(ZERO_PFN, PTE.present);
      r.vma.mm.rss[MM_ANONPAGES] = (r.vma.mm.rss[MM_ANONPAGES] as number) - 1;
    } else {
      folioRefAdd(k, r.pfn, 1);
      folioAddAnonRmapPtes(k, r.pfn, r.pfn, 1, r.vma, r.exclusive); // remove_migration_pte(): RMAP_EXCLUSIVE
      ptes[pteIndex(r.vpn)] = mkPte(r.pfn, r.flags);
    }
    k.costs[Ev.pteSet]++;
  }
  for (let i = 0; i < nr; i++) {
    const p = folio + i;
    if ((m.refcount[p] as number) === 0) {
      k.costs[Ev.memcgUncharge]++;
      freeFolio(k, p);
    }
  }
  return true;
}
