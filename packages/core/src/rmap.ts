/**
 * Reverse-map accounting (mm/rmap.c, Linux 6.18 with CONFIG_PAGE_MAPCOUNT=y and CONFIG_MM_ID=y):
 * per-page _mapcount, folio _large_mapcount, _nr_pages_mapped with ENTIRELY_MAPPED,
 * _entire_mapcount, the MM_ID owner slots, NR_ANON_MAPPED/NR_FILE_MAPPED and the
 * deferred-split decision. Callers follow the kernel's order: a reference is taken before
 * the mapcount rises and dropped after it falls.
 */

import { Ev } from "./costs.js";
import { deferredSplitFolio } from "./deferred-split.js";
import {
  ENTIRELY_MAPPED,
  FOLIO_PAGES_MAPPED,
  folioEntireMapcountRaw,
  folioLargeMapcountRaw,
  folioMapcount,
  folioMmId,
  folioMmIdMapcountRaw,
  folioNrPagesMappedRaw,
  folioPincount,
  folioSetEntireMapcountRaw,
  folioSetIndex,
  folioSetLargeMapcountRaw,
  folioSetMapping,
  folioSetMmId,
  folioSetMmIdMapcountRaw,
  folioSetNrPagesMappedRaw,
} from "./folio.js";
import type { Kernel } from "./kernel.js";
import { PG } from "./mem-map.js";
import { type MmStruct, VM, type Vma } from "./mm.js";
import { MTHP } from "./stats.js";

/** MM_ID_DUMMY: an empty owner slot. */
export const MM_ID_DUMMY = 0;

// ---- MM_ID owner tracking (include/linux/rmap.h, 6.15+) -------------------------------

/** folio_set_large_mapcount(): a new folio mapped `mapcount` times by one mm. */
function folioSetLargeMapcount(k: Kernel, folio: number, mapcount: number, mm: MmStruct): void {
  const m = k.mem;
  folioSetLargeMapcountRaw(m, folio, mapcount - 1);
  if ((m.order[folio] as number) >= 2) {
    folioSetMmId(m, folio, 0, mm.id);
    folioSetMmId(m, folio, 1, MM_ID_DUMMY);
    folioSetMmIdMapcountRaw(m, folio, 0, mapcount - 1);
    folioSetMmIdMapcountRaw(m, folio, 1, -1);
    m.flags[folio] = (m.flags[folio] as number) & ~PG.mmIdsShared;
  }
}

/** folio_add_large_mapcount(): under the MM_ID bit spinlock. */
function folioAddLargeMapcount(k: Kernel, folio: number, diff: number, mm: MmStruct): void {
  const m = k.mem;
  const total = folioLargeMapcountRaw(m, folio) + diff;
  folioSetLargeMapcountRaw(m, folio, total);
  k.costs[Ev.largeMapcountAtomic]++;
  if ((m.order[folio] as number) < 2) return;
  const id0 = folioMmId(m, folio, 0);
  const id1 = folioMmId(m, folio, 1);
  if (id0 === mm.id) {
    folioSetMmIdMapcountRaw(m, folio, 0, folioMmIdMapcountRaw(m, folio, 0) + diff);
  } else if (id1 === mm.id) {
    folioSetMmIdMapcountRaw(m, folio, 1, folioMmIdMapcountRaw(m, folio, 1) + diff);
  } else if (id0 === MM_ID_DUMMY) {
    folioSetMmId(m, folio, 0, mm.id);
    folioSetMmIdMapcountRaw(m, folio, 0, diff - 1);
    if (total !== diff - 1) m.flags[folio] = (m.flags[folio] as number) | PG.mmIdsShared;
  } else if (id1 === MM_ID_DUMMY) {
    folioSetMmId(m, folio, 1, mm.id);
    folioSetMmIdMapcountRaw(m, folio, 1, diff - 1);
    m.flags[folio] = (m.flags[folio] as number) | PG.mmIdsShared;
  } else {
    m.flags[folio] = (m.flags[folio] as number) | PG.mmIdsShared;
  }
}

/**
 * folio_sub_large_mapcount() (include/linux/rmap.h, 6.15+): returns the new _large_mapcount
 * (-1 based). Slot by slot as the kernel writes it, not a loop over the slots: the last unmap
 * of a folio takes the "went negative" branch, and it is on every folio's teardown.
 */
function folioSubLargeMapcount(k: Kernel, folio: number, diff: number, mm: MmStruct): number {
  const m = k.mem;
  const total = folioLargeMapcountRaw(m, folio) - diff;
  folioSetLargeMapcountRaw(m, folio, total);
  k.costs[Ev.largeMapcountAtomic]++;
  if ((m.order[folio] as number) < 2) return total;
  const id = mm.id;
  // A per-MM mapcount may underflow in valid corner cases: once negative it is reset to -1.
  if (folioMmId(m, folio, 0) === id) {
    const cnt = folioMmIdMapcountRaw(m, folio, 0) - diff;
    if (cnt >= 0) {
      folioSetMmIdMapcountRaw(m, folio, 0, cnt);
      return total;
    }
    folioSetMmIdMapcountRaw(m, folio, 0, -1);
    folioSetMmId(m, folio, 0, MM_ID_DUMMY);
  } else if (folioMmId(m, folio, 1) === id) {
    const cnt = folioMmIdMapcountRaw(m, folio, 1) - diff;
    if (cnt >= 0) {
      folioSetMmIdMapcountRaw(m, folio, 1, cnt);
      return total;
    }
    folioSetMmIdMapcountRaw(m, folio, 1, -1);
    folioSetMmId(m, folio, 1, MM_ID_DUMMY);
  }
  // One slot owns every mapping (or none is left): mapped exclusively.
  if (folioMmIdMapcountRaw(m, folio, 0) === total || folioMmIdMapcountRaw(m, folio, 1) === total) {
    m.flags[folio] = (m.flags[folio] as number) & ~PG.mmIdsShared;
  }
  return total;
}

/** The MM_ID slots of a folio: [id0, mapcount0, id1, mapcount1] (logical counts). */
export function folioMmIds(k: Kernel, folio: number): [number, number, number, number] {
  const m = k.mem;
  if ((m.order[folio] as number) < 2) return [MM_ID_DUMMY, 0, MM_ID_DUMMY, 0];
  return [
    folioMmId(m, folio, 0),
    folioMmIdMapcountRaw(m, folio, 0) + 1,
    folioMmId(m, folio, 1),
    folioMmIdMapcountRaw(m, folio, 1) + 1,
  ];
}

// ---- statistics ---------------------------------------------------------------------

/** __folio_mod_stat(): NR_ANON_MAPPED / NR_FILE_MAPPED and NR_ANON_THPS. */
function folioModStat(k: Kernel, folio: number, nr: number, nrPmdmapped: number): void {
  const anon = ((k.mem.flags[folio] as number) & PG.anon) !== 0;
  if (nr !== 0) {
    if (anon) k.stats.nrAnonMapped += nr;
    else k.stats.nrFileMapped += nr;
    k.costs[Ev.lruvecStatUpdate]++;
  }
  if (nrPmdmapped !== 0) {
    if (anon) k.stats.nrAnonThps += nrPmdmapped;
    // NR_SHMEM_PMDMAPPED / NR_FILE_PMDMAPPED (node state, not per memcg).
    else if (((k.mem.flags[folio] as number) & PG.swapbacked) !== 0) k.stats.nrShmemPmdmapped += nrPmdmapped;
    else k.stats.nrFilePmdmapped += nrPmdmapped;
    k.costs[Ev.lruvecStatUpdate]++;
  }
}

function checkRefAfterMap(k: Kernel, folio: number): void {
  const ref = k.mem.refcount[folio] as number;
  const mc = folioMapcount(k, folio);
  if (ref < mc) {
    k.violate("refcount>=mapcount", folio, `mapcount rose to ${mc} above refcount ${ref}: take the reference first`);
  }
}

// ---- adding mappings ----------------------------------------------------------------

function linearPageIndex(vma: Vma, vpn: number): number {
  return vma.pgoff + (vpn - vma.start);
}

/**
 * folio_add_new_anon_rmap() (6.18): a fresh anon folio mapped by this VMA, either by all
 * its PTEs (`pmd` false) or by one PMD. Exclusive: PageAnonExclusive on every page (PTE)
 * or on the head (PMD). Counts per-size nr_anon.
 */
export function folioAddNewAnonRmap(k: Kernel, folio: number, vma: Vma, vpn: number, pmd: boolean): void {
  const m = k.mem;
  const order = m.order[folio] as number;
  const nr = 1 << order;
  folioSetMapping(m, folio, vma.anonVma);
  vma.anonVmaPrepared = true;
  folioSetIndex(m, folio, linearPageIndex(vma, vpn));
  m.flags[folio] = (m.flags[folio] as number) | PG.anon | PG.swapbacked;
  if (order === 0) {
    m.mapcount[folio] = 0;
    m.flags[folio] = (m.flags[folio] as number) | PG.anonExclusive;
    k.costs[Ev.structPageLines]++;
  } else if (!pmd) {
    for (let p = folio; p < folio + nr; p++) {
      m.mapcount[p] = 0;
      m.flags[p] = (m.flags[p] as number) | PG.anonExclusive;
    }
    folioSetNrPagesMappedRaw(m, folio, nr);
    folioSetLargeMapcount(k, folio, nr, vma.mm);
    k.costs[Ev.structPageLines] += nr + 1;
  } else {
    folioSetEntireMapcountRaw(m, folio, 0);
    folioSetNrPagesMappedRaw(m, folio, ENTIRELY_MAPPED);
    folioSetLargeMapcount(k, folio, 1, vma.mm);
    m.flags[folio] = (m.flags[folio] as number) | PG.anonExclusive;
    k.costs[Ev.structPageLines] += 2;
  }
  folioModStat(k, folio, nr, pmd ? nr : 0);
  k.stats.modMthp(order, MTHP.nrAnon, 1);
  if (k.invariants) checkRefAfterMap(k, folio);
}

/**
 * __folio_add_rmap() at PTE level: nr consecutive pages starting at pfn, all in `folio`.
 * Shared by folio_add_anon_rmap_ptes() and folio_add_file_rmap_ptes().
 */
function folioAddRmapPtes(k: Kernel, folio: number, pfn: number, nr: number, vma: Vma): number {
  const m = k.mem;
  if ((m.order[folio] as number) === 0) {
    const v = (m.mapcount[folio] as number) + 1;
    m.mapcount[folio] = v;
    k.costs[Ev.mapcountAtomic]++;
    k.costs[Ev.structPageLines]++;
    return v === 0 ? 1 : 0;
  }
  folioAddLargeMapcount(k, folio, nr, vma.mm);
  let first = 0;
  for (let p = pfn; p < pfn + nr; p++) {
    const v = (m.mapcount[p] as number) + 1;
    m.mapcount[p] = v;
    if (v === 0) first++;
  }
  k.costs[Ev.mapcountAtomic] += nr;
  k.costs[Ev.structPageLines] += nr + 2;
  if (first === 0) return 0;
  const mapped = folioNrPagesMappedRaw(m, folio) + first;
  folioSetNrPagesMappedRaw(m, folio, mapped);
  k.costs[Ev.nrPagesMappedAtomic]++;
  return mapped < ENTIRELY_MAPPED ? first : 0;
}

/**
 * __folio_rmap_sanity_checks() (mm/internal.h, 6.8+): the pages [pfn, pfn + nr) must all
 * belong to the folio; the kernel's VM_WARN_ON_FOLIO, here a strategy-contract violation whose
 * message names the folio's end (checked whether or not the invariant checker is on).
 */
function folioRmapSanityChecks(k: Kernel, fn: string, folio: number, pfn: number, nr: number): void {
  const end = folio + (1 << (k.mem.order[folio] as number));
  if (nr >= 1 && pfn >= folio && pfn + nr <= end) return;
  k.violate(
    "strategy-contract",
    pfn < folio || pfn >= end ? pfn : end,
    `${fn}(): pages ${pfn}..${pfn + nr - 1} are not all in folio ${folio}, which ends at pfn ${end - 1} (nr ${nr})`,
  );
}

/**
 * folio_add_anon_rmap_ptes(): map nr pages of an existing anon folio (PMD split, swap-in,
 * fork's duplicate uses folio_try_dup_anon_rmap_ptes instead). `exclusive` sets
 * PageAnonExclusive on the pages (RMAP_EXCLUSIVE).
 */
export function folioAddAnonRmapPtes(k: Kernel, folio: number, pfn: number, nr: number, vma: Vma, exclusive: boolean): void {
  folioRmapSanityChecks(k, "folio_add_anon_rmap_ptes", folio, pfn, nr);
  const n = folioAddRmapPtes(k, folio, pfn, nr, vma);
  if (exclusive) {
    for (let p = pfn; p < pfn + nr; p++) k.mem.flags[p] = (k.mem.flags[p] as number) | PG.anonExclusive;
  }
  folioModStat(k, folio, n, 0);
  if (k.invariants) checkRefAfterMap(k, folio);
}

/** folio_add_file_rmap_ptes(). */
export function folioAddFileRmapPtes(k: Kernel, folio: number, pfn: number, nr: number, vma: Vma): void {
  folioRmapSanityChecks(k, "folio_add_file_rmap_ptes", folio, pfn, nr);
  const n = folioAddRmapPtes(k, folio, pfn, nr, vma);
  folioModStat(k, folio, n, 0);
  if (k.invariants) checkRefAfterMap(k, folio);
}

/** __folio_add_rmap() at PMD level (folio_add_anon_rmap_pmd / folio_try_dup_anon_rmap_pmd's add). */
export function folioAddRmapPmd(k: Kernel, folio: number, vma: Vma): void {
  const m = k.mem;
  const nrPages = 1 << (m.order[folio] as number);
  folioAddLargeMapcount(k, folio, 1, vma.mm);
  const entire = folioEntireMapcountRaw(m, folio) + 1;
  folioSetEntireMapcountRaw(m, folio, entire);
  k.costs[Ev.entireMapcountAtomic]++;
  k.costs[Ev.structPageLines] += 2;
  let nr = 0;
  let nrPmdmapped = 0;
  if (entire === 0) {
    const v = folioNrPagesMappedRaw(m, folio) + ENTIRELY_MAPPED;
    folioSetNrPagesMappedRaw(m, folio, v);
    k.costs[Ev.nrPagesMappedAtomic]++;
    if (v < ENTIRELY_MAPPED + ENTIRELY_MAPPED) {
      nrPmdmapped = nrPages;
      nr = nrPages - (v & FOLIO_PAGES_MAPPED);
    }
  }
  folioModStat(k, folio, nr, nrPmdmapped);
  if (k.invariants) checkRefAfterMap(k, folio);
}

// ---- removing mappings --------------------------------------------------------------

/** munlock_vma_folio(): only small folios or whole (PMD) mappings are munlocked here. */
function munlockVmaFolio(k: Kernel, folio: number, vma: Vma, pmd: boolean): void {
  k.costs[Ev.munlockCheck]++;
  if ((vma.flags & VM.locked) !== 0 && (pmd || (k.mem.order[folio] as number) === 0)) {
    k.mem.flags[folio] = (k.mem.flags[folio] as number) & ~PG.mlocked;
  }
}

function maybeDeferredSplit(k: Kernel, folio: number, partiallyMapped: boolean): void {
  const f = k.mem.flags[folio] as number;
  if (partiallyMapped && (f & PG.anon) !== 0 && (f & PG.partiallyMapped) === 0) {
    deferredSplitFolio(k, folio, true);
  }
}

/**
 * folio_remove_rmap_ptes() (6.12+ form, mm/rmap.c __folio_remove_rmap): one _large_mapcount
 * update, nr per-page _mapcount atomics, a single _nr_pages_mapped update, one stat call,
 * and a deferred-split enqueue only when pages stay mapped (Zi Yan, 6.10).
 */
export function folioRemoveRmapPtes(k: Kernel, folio: number, pfn: number, nr: number, vma: Vma): void {
  // The hottest function of a per-page teardown: locals cached, the stat and munlock steps inline.
  const m = k.mem;
  if (pfn < folio || nr < 1 || pfn + nr > folio + (1 << (m.order[folio] as number)))
    folioRmapSanityChecks(k, "folio_remove_rmap_ptes", folio, pfn, nr);
  const costs = k.costs;
  const flags = m.flags[folio] as number;
  const small = (m.order[folio] as number) === 0;
  let unmapped = 0;
  let partiallyMapped = false;
  if (small) {
    const v = (m.mapcount[folio] as number) - 1;
    m.mapcount[folio] = v;
    costs[Ev.mapcountAtomic]++;
    costs[Ev.structPageLines]++;
    if (v === -1) unmapped = 1;
    else if (v < -1 && k.invariants) k.violate("mapcount-matches-page-tables", folio, "mapcount went below zero");
  } else {
    folioSubLargeMapcount(k, folio, nr, vma.mm);
    const mapcount = m.mapcount;
    let last = 0;
    for (let p = pfn; p < pfn + nr; p++) {
      const v = (mapcount[p] as number) - 1;
      mapcount[p] = v;
      if (v === -1) last++;
      else if (v < -1 && k.invariants) k.violate("mapcount-matches-page-tables", p, "page mapcount went below zero");
    }
    costs[Ev.mapcountAtomic] += nr;
    costs[Ev.structPageLines] += nr + 2;
    if (last > 0) {
      const mapped = folioNrPagesMappedRaw(m, folio) - last;
      folioSetNrPagesMappedRaw(m, folio, mapped);
      costs[Ev.nrPagesMappedAtomic]++;
      if (mapped < ENTIRELY_MAPPED) unmapped = last;
      partiallyMapped = unmapped !== 0 && mapped !== 0;
    }
  }
  if (unmapped > 0) {
    const anon = (flags & PG.anon) !== 0;
    if (k.invariants && !anon) checkLostWrite(k, pfn, nr);
    // __folio_mod_stat()
    if (anon) k.stats.nrAnonMapped -= unmapped;
    else k.stats.nrFileMapped -= unmapped;
    costs[Ev.lruvecStatUpdate]++;
  }
  if (partiallyMapped && (flags & (PG.anon | PG.partiallyMapped)) === PG.anon) deferredSplitFolio(k, folio, true);
  // munlock_vma_folio(): a PTE unmap munlocks only small folios.
  costs[Ev.munlockCheck]++;
  if (small && (vma.flags & VM.locked) !== 0) m.flags[folio] = (m.flags[folio] as number) & ~PG.mlocked;
}

/** folio_remove_rmap_pte(). */
export function folioRemoveRmapPte(k: Kernel, folio: number, pfn: number, vma: Vma): void {
  folioRemoveRmapPtes(k, folio, pfn, 1, vma);
}

/**
 * page_remove_rmap(page, vma, false) of v6.5, the per-page call the old zap_pte_range made.
 * On the model's 6.18 state it is folio_remove_rmap_pte() of the page's folio: one page at a
 * time, so a large folio looks partially mapped after its first page.
 */
export function pageRemoveRmap(k: Kernel, pfn: number, vma: Vma): void {
  folioRemoveRmapPtes(k, k.mem.pageFolio(pfn), pfn, 1, vma);
}

/**
 * folio_remove_rmap_range() from Ryan Roberts' series (v4 2/3, July 2023; Aug v1 1/4): the
 * per-page mapcount loop, then one _nr_pages_mapped update, one stat call and the
 * deferred-split decision once. On 6.18 state it also keeps _large_mapcount and the MM_ID
 * slots right, exactly what folio_remove_rmap_ptes() later merged as.
 */
export function folioRemoveRmapRange(k: Kernel, folio: number, pfn: number, nr: number, vma: Vma): void {
  folioRemoveRmapPtes(k, folio, pfn, nr, vma);
}

/** folio_remove_rmap_pmd() (6.18). */
export function folioRemoveRmapPmd(k: Kernel, folio: number, vma: Vma): void {
  const m = k.mem;
  const nrPages = 1 << (m.order[folio] as number);
  folioSubLargeMapcount(k, folio, 1, vma.mm);
  const entire = folioEntireMapcountRaw(m, folio) - 1;
  folioSetEntireMapcountRaw(m, folio, entire);
  k.costs[Ev.entireMapcountAtomic]++;
  k.costs[Ev.structPageLines] += 2;
  let nr = 0;
  let nrPmdmapped = 0;
  let partiallyMapped = false;
  if (entire === -1) {
    const v = folioNrPagesMappedRaw(m, folio) - ENTIRELY_MAPPED;
    folioSetNrPagesMappedRaw(m, folio, v);
    k.costs[Ev.nrPagesMappedAtomic]++;
    if (v < ENTIRELY_MAPPED) {
      nrPmdmapped = nrPages;
      nr = nrPages - v;
      partiallyMapped = nr !== 0 && nr < nrPmdmapped;
    }
  }
  maybeDeferredSplit(k, folio, partiallyMapped);
  folioModStat(k, folio, -nr, -nrPmdmapped);
  munlockVmaFolio(k, folio, vma, true);
}

/**
 * The lost-write rule (Linus, Oct 2022; merged for 6.2): the rmap of a file page whose PTE was
 * dirty may only go once the TLB no longer holds a dirty translation of it, or writeback's
 * folio_mkclean() cannot see the writer and its later writes are lost.
 */
function checkLostWrite(k: Kernel, pfn: number, nr: number): void {
  const dirty = k.staleDirty as Uint16Array;
  for (let p = pfn; p < pfn + nr; p++) {
    if ((dirty[p] as number) > 0) {
      k.violate("no-lost-write", p, "rmap of a dirty shared file page removed before the TLB flush");
    }
  }
}

// ---- fork ---------------------------------------------------------------------------

/** folio_maybe_dma_pinned(): large folios count pins in _pincount; small ones by the GUP bias. */
export function folioMaybeDmaPinned(k: Kernel, folio: number): boolean {
  const m = k.mem;
  if ((m.order[folio] as number) >= 2) return folioPincount(m, folio) > 0;
  return (m.refcount[folio] as number) >= GUP_PIN_COUNTING_BIAS;
}

/** GUP_PIN_COUNTING_BIAS: what a FOLL_PIN adds to a small folio's refcount. */
export const GUP_PIN_COUNTING_BIAS = 1024;

/**
 * folio_try_dup_anon_rmap_ptes() / _pmd() (6.18): fork shares nr pages with the child.
 * A folio that may be pinned (MMF_HAS_PINNED and folio_maybe_dma_pinned) and has an
 * exclusive page in the range cannot be shared: returns false (-EBUSY) so fork copies.
 * Otherwise PageAnonExclusive is cleared and the mapcounts rise under the child's mm id,
 * which is what makes MM_ID set the "maybe mapped shared" bit.
 */
export function folioTryDupAnonRmap(
  k: Kernel,
  folio: number,
  pfn: number,
  nr: number,
  dst: Vma,
  srcPinned: boolean,
  pmd: boolean,
): boolean {
  const m = k.mem;
  const maybePinned = srcPinned && folioMaybeDmaPinned(k, folio);
  const first = pmd ? folio : pfn;
  const last = pmd ? folio + 1 : pfn + nr;
  for (let p = first; p < last; p++) {
    if (((m.flags[p] as number) & PG.anonExclusive) !== 0) {
      if (maybePinned) return false;
    }
  }
  for (let p = first; p < last; p++) m.flags[p] = (m.flags[p] as number) & ~PG.anonExclusive;
  folioDupRmap(k, folio, pfn, nr, dst, pmd);
  return true;
}

/**
 * __folio_dup_file_rmap(): the pages are mapped already, so only the per-page and large
 * mapcounts rise (no _nr_pages_mapped or stat change).
 */
export function folioDupRmap(k: Kernel, folio: number, pfn: number, nr: number, dst: Vma, pmd: boolean): void {
  const m = k.mem;
  if (pmd) {
    folioSetEntireMapcountRaw(m, folio, folioEntireMapcountRaw(m, folio) + 1);
    k.costs[Ev.entireMapcountAtomic]++;
    folioAddLargeMapcount(k, folio, 1, dst.mm);
  } else if ((m.order[folio] as number) === 0) {
    m.mapcount[folio] = (m.mapcount[folio] as number) + 1;
    k.costs[Ev.mapcountAtomic]++;
  } else {
    for (let p = pfn; p < pfn + nr; p++) m.mapcount[p] = (m.mapcount[p] as number) + 1;
    k.costs[Ev.mapcountAtomic] += nr;
    folioAddLargeMapcount(k, folio, nr, dst.mm);
  }
  k.costs[Ev.structPageLines] += pmd ? 2 : nr + 1;
  if (k.invariants) checkRefAfterMap(k, folio);
}
