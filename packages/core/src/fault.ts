/**
 * Page faults (mm/memory.c, mm/huge_memory.c, Linux 6.18): anonymous faults with mTHP size
 * selection, the zero page and huge zero page, PMD THP faults, file faults through the page
 * cache, and write-protect faults (reuse or copy).
 */

import { Ev } from "./costs.js";
import { ScenarioError } from "./errors.js";
import { folioGet, folioMapcount, folioPut, folioRefAdd } from "./folio.js";
import { doHugePmdAnonymousPage, isHugeZeroPmd, mapHugeZeroPmd, splitHugePmd } from "./huge-memory.js";
import type { Kernel } from "./kernel.js";
import { NIL, PG, ZERO_PFN } from "./mem-map.js";
import { type FileObject, MM_ANONPAGES, MM_FILEPAGES, type MmStruct, VM, type Vma } from "./mm.js";
import { flushTlbMmRange } from "./mmu-gather.js";
import type { PteTable } from "./page-table.js";
import { mkPte, PTE, pmdIndex, pteClearFlags, pteIndex, ptePfn, pteSetFlags } from "./page-table.js";
import { filemapFault } from "./readahead.js";
import { folioAddNewAnonRmap, folioRemoveRmapPte } from "./rmap.js";
import { doFaultAround, doShmemFault, filemapPage, finishFault, linearPageIndex } from "./shmem.js";
import { MTHP, VMSTAT } from "./stats.js";
import { folioInLruAddBatch, lruAddBatchAdd, lruAddDrain } from "./swap.js";
import { doSwapPage, folioFreeSwap } from "./swapfile.js";
import { HPAGE_PMD_ORDER, PTRS_PER_PTE } from "./units.js";
import { folioMarkDirty } from "./zap.js";

/** thp_vma_allowable_order(): may this VMA get folios of `order` at fault? */
export function thpOrderAllowed(k: Kernel, vma: Vma, order: number): boolean {
  if (vma.kind !== "anon" || (vma.flags & VM.nohugepage) !== 0) return false;
  const p = k.config.mthp[order];
  return p === "always" || (p === "madvise" && (vma.flags & VM.hugepage) !== 0);
}

function oom(k: Kernel): never {
  throw new ScenarioError(
    `${k.currentOp}: out of model memory (config.memory = ${(k.config.memoryPages * 4) / 1024} MiB); raise config.memory`,
  );
}

/** Allocate a user folio or fail the scenario with a clear out-of-memory error. */
function allocUserFolio(k: Kernel, order: number): number {
  const folio = k.mem.allocPages(order);
  if (folio === NIL) oom(k);
  k.costs[Ev.foliosAllocated]++;
  return folio;
}

/** pte_range_none(): every PTE in [i, i + nr) is empty. */
function pteRangeNone(ptes: PteTable, i: number, nr: number): boolean {
  for (let j = i; j < i + nr; j++) if ((ptes[j] as number) !== 0) return false;
  return true;
}

/**
 * do_anonymous_page() with alloc_anon_folio(): a read maps the zero page; a write gets the
 * largest enabled mTHP order (below PMD order) whose naturally aligned range lies inside the
 * VMA and is wholly unpopulated, falling back order by order, and maps the whole folio.
 */
function doAnonymousPage(k: Kernel, vma: Vma, ptes: PteTable, vpn: number, write: boolean): number {
  const i = pteIndex(vpn);
  if (!write) {
    ptes[i] = mkPte(ZERO_PFN, PTE.present);
    k.costs[Ev.pteSet]++;
    return ZERO_PFN;
  }
  let order = 0;
  let folio = NIL;
  for (let o = HPAGE_PMD_ORDER - 1; o >= 2; o--) {
    if (!thpOrderAllowed(k, vma, o)) continue;
    const nr = 1 << o;
    const start = vpn - (vpn % nr);
    if (start < vma.start || start + nr > vma.end) continue;
    if (!pteRangeNone(ptes, pteIndex(start), nr)) continue;
    const f = k.mem.allocPages(o);
    if (f === NIL) {
      k.stats.modMthp(o, MTHP.anonFaultFallback, 1);
      continue;
    }
    k.costs[Ev.foliosAllocated]++;
    k.stats.modMthp(o, MTHP.anonFaultAlloc, 1);
    order = o;
    folio = f;
    break;
  }
  if (folio === NIL) folio = allocUserFolio(k, 0);
  const nr = 1 << order;
  const start = vpn - (vpn % nr);
  k.costs[Ev.bytesZeroed] += nr * 4096; // folio_zero_user() / clear_user_highpage()
  if (nr > 1) folioRefAdd(k, folio, nr - 1);
  folioAddNewAnonRmap(k, folio, vma, start, false);
  lruAddBatchAdd(k, folio); // folio_add_lru_vma()
  const si = pteIndex(start);
  for (let j = 0; j < nr; j++) ptes[si + j] = mkPte(folio + j, PTE.present | PTE.write | PTE.dirty | PTE.young);
  k.costs[Ev.pteSet] += nr;
  vma.mm.rss[MM_ANONPAGES] = (vma.mm.rss[MM_ANONPAGES] as number) + nr;
  k.costs[Ev.rssCounterAdd]++;
  return folio + (vpn - start);
}

/**
 * wp_page_copy(): copy the page into a new exclusive order-0 anon folio, switch the PTE (and
 * flush its TLB entry) and only then drop the old mapping and reference.
 */
function wpPageCopy(k: Kernel, vma: Vma, ptes: PteTable, vpn: number): number {
  const i = pteIndex(vpn);
  const old = ptes[i] as number;
  const oldPfn = ptePfn(old);
  const folio = allocUserFolio(k, 0);
  // __wp_page_copy_user(): the zero page is cleared, anything else copied.
  k.costs[oldPfn === ZERO_PFN ? Ev.bytesZeroed : Ev.bytesCopied] += 4096;
  k.mem.content[folio] = oldPfn === ZERO_PFN ? 0 : (k.mem.content[oldPfn] as number);
  folioAddNewAnonRmap(k, folio, vma, vpn, false);
  lruAddBatchAdd(k, folio); // folio_add_lru_vma()
  ptes[i] = mkPte(folio, PTE.present | PTE.write | PTE.dirty | PTE.young);
  k.costs[Ev.pteSet]++;
  flushTlbMmRange(k, vma.mm, vpn, vpn + 1, false); // ptep_clear_flush()
  const mm = vma.mm;
  if (oldPfn === ZERO_PFN || k.mem.isReserved(oldPfn)) {
    mm.rss[MM_ANONPAGES] = (mm.rss[MM_ANONPAGES] as number) + 1;
  } else {
    const oldFolio = k.mem.pageFolio(oldPfn);
    const wasAnon = ((k.mem.flags[oldFolio] as number) & PG.anon) !== 0;
    if (!wasAnon) {
      mm.rss[MM_FILEPAGES] = (mm.rss[MM_FILEPAGES] as number) - 1;
      mm.rss[MM_ANONPAGES] = (mm.rss[MM_ANONPAGES] as number) + 1;
    }
    folioRemoveRmapPte(k, oldFolio, oldPfn, vma);
    folioPut(k, oldFolio);
  }
  return folio;
}

/**
 * wp_can_reuse_anon_folio() (6.15+): an order-0 folio is reused when only we hold it; a
 * PTE-mapped large folio when MM_ID says no other mm may map it and every reference is a
 * mapping (refcount == mapcount), unless only a single page is still mapped.
 */
export function wpCanReuseAnonFolio(k: Kernel, folio: number): boolean {
  const m = k.mem;
  const flags = m.flags[folio] as number;
  if ((m.order[folio] as number) === 0) {
    // a folio not on the LRU yet may be referenced by this CPU's lru_add batch: drain it
    if (folioInLruAddBatch(k, folio)) lruAddDrain(k);
    if ((m.refcount[folio] as number) > 1 + ((flags & PG.swapcache) !== 0 ? 1 : 0)) return false;
    if ((flags & PG.swapcache) !== 0 && k.swap) folioFreeSwap(k, k.swap, folio);
    return (m.refcount[folio] as number) === 1;
  }
  const mapcount = folioMapcount(k, folio);
  if (mapcount <= 1) return false;
  if ((flags & PG.mmIdsShared) !== 0) return false;
  if ((flags & PG.swapcache) !== 0 && k.swap) folioFreeSwap(k, k.swap, folio);
  // The recheck under folio_lock_large_mapcount() (the MM_ID bit spinlock).
  k.costs[Ev.largeMapcountAtomic]++;
  k.costs[Ev.structPageLines] += 2;
  return mapcount === (m.refcount[folio] as number);
}

/**
 * do_wp_page() with FAULT_FLAG_UNSHARE (a R/O long-term pin of a shared anon page): reuse the
 * page if we are its only user, else copy it; either way the page ends up exclusive and the
 * PTE stays read-only.
 */
export function unshareAnonPage(k: Kernel, mm: MmStruct, vpn: number): number {
  const vma = mm.findVma(vpn);
  if (!vma) return -1;
  const idx = pmdIndex(vpn);
  const huge = mm.pgtables.hugePmd.get(idx);
  if (huge !== undefined) {
    // do_huge_pmd_wp_page(unshare): reuse an exclusive or sole-owner THP, else split this PMD.
    const folio = ptePfn(huge);
    const off = vpn - idx * PTRS_PER_PTE;
    if (isHugeZeroPmd(huge)) return folio + off;
    if (((k.mem.flags[folio] as number) & PG.anonExclusive) !== 0) return folio + off;
    if ((k.mem.refcount[folio] as number) === 1) {
      k.mem.flags[folio] = (k.mem.flags[folio] as number) | PG.anonExclusive;
      return folio + off;
    }
    splitHugePmd(k, vma, idx);
  }
  const ptes = mm.pgtables.pte.get(idx);
  if (!ptes) return -1;
  const i = pteIndex(vpn);
  const pte = ptes[i] as number;
  const pfn = ptePfn(pte);
  if ((pte & PTE.present) === 0 || k.mem.isReserved(pfn)) return pfn;
  const folio = k.mem.pageFolio(pfn);
  if (((k.mem.flags[folio] as number) & PG.anon) === 0 || ((k.mem.flags[pfn] as number) & PG.anonExclusive) !== 0) return pfn;
  k.stats.countVm(VMSTAT.pgfault);
  k.costs[Ev.pageFault]++;
  if (wpCanReuseAnonFolio(k, folio)) {
    k.mem.flags[pfn] = (k.mem.flags[pfn] as number) | PG.anonExclusive;
    return pfn;
  }
  const copy = wpPageCopy(k, vma, ptes, vpn);
  ptes[i] = pteClearFlags(ptes[i] as number, PTE.write);
  return copy;
}

/** do_wp_page(): a write to a present, read-only PTE. */
function doWpPage(k: Kernel, vma: Vma, ptes: PteTable, vpn: number): number {
  const i = pteIndex(vpn);
  const pte = ptes[i] as number;
  const pfn = ptePfn(pte);
  if (pfn === ZERO_PFN || k.mem.isReserved(pfn)) return wpPageCopy(k, vma, ptes, vpn);
  const folio = k.mem.pageFolio(pfn);
  const flags = k.mem.flags[folio] as number;
  if (vma.kind === "file-shared" || vma.kind === "shmem") {
    // wp_page_shared(): make it writable and dirty.
    ptes[i] = pteSetFlags(pte, PTE.write | PTE.dirty | PTE.young);
    folioMarkDirty(k, folio);
    return pfn;
  }
  if ((flags & PG.anon) !== 0) {
    const exclusive = ((k.mem.flags[pfn] as number) & PG.anonExclusive) !== 0;
    if (exclusive || wpCanReuseAnonFolio(k, folio)) {
      // wp_page_reuse(): only this page becomes exclusive and writable.
      k.mem.flags[pfn] = (k.mem.flags[pfn] as number) | PG.anonExclusive;
      ptes[i] = pteSetFlags(pte, PTE.write | PTE.dirty | PTE.young);
      k.costs[Ev.pteSet]++;
      k.costs[Ev.structPageLines]++;
      return pfn;
    }
  }
  return wpPageCopy(k, vma, ptes, vpn);
}

/**
 * do_read_fault() / do_shared_fault() / do_cow_fault() (mm/memory.c, 6.18) for a regular file's
 * PTE (or PMD) that was none: a read tries do_fault_around() first; __do_fault() ->
 * filemap_fault() finds or reads the folio (readahead.ts), and when that dropped mmap_lock for
 * I/O the fault is retried, a read with fault-around again; then finish_fault() maps it (the
 * whole large folio, or by PMD, as shmem), or do_cow_fault() copies the page. One pgfault.
 */
function doFileFault(k: Kernel, vma: Vma, vpn: number, write: boolean): number {
  const file = vma.file as FileObject;
  const index = linearPageIndex(vma, vpn);
  if (!write && doFaultAround(k, vma, vpn)) return filemapPage(k, file, index);
  const { folio, retry } = filemapFault(k, vma, index);
  if (retry && !write && doFaultAround(k, vma, vpn)) return filemapPage(k, file, index);
  if (write && vma.kind === "file-private") return doCowFault(k, vma, vpn, folio);
  return finishFault(k, vma, folio, vpn, write);
}

/**
 * do_cow_fault() (6.18): a private write copies the file page into a new order-0 anon folio
 * (folio_prealloc() of one page, whatever the size of the cached folio) mapped by one PTE.
 */
function doCowFault(k: Kernel, vma: Vma, vpn: number, folio: number): number {
  const ptes = vma.mm.pgtables.pteAlloc(pmdIndex(vpn));
  const page = filemapPage(k, vma.file as FileObject, linearPageIndex(vma, vpn));
  const mm = vma.mm;
  folioGet(k, folio);
  const copy = allocUserFolio(k, 0);
  k.costs[Ev.bytesCopied] += 4096;
  k.mem.content[copy] = k.mem.content[page] as number;
  folioAddNewAnonRmap(k, copy, vma, vpn, false);
  lruAddBatchAdd(k, copy); // folio_add_lru_vma()
  ptes[pteIndex(vpn)] = mkPte(copy, PTE.present | PTE.write | PTE.dirty | PTE.young);
  mm.rss[MM_ANONPAGES] = (mm.rss[MM_ANONPAGES] as number) + 1;
  k.costs[Ev.pteSet]++;
  k.costs[Ev.rssCounterAdd]++;
  folioPut(k, folio);
  return copy;
}

/**
 * handle_mm_fault() for one page, followed by the access that faulted: returns the pfn that
 * now backs vpn. Counts pgfault only when a fault was needed.
 */
export function accessPage(k: Kernel, mm: MmStruct, vpn: number, write: boolean): number {
  const vma = mm.findVma(vpn);
  if (!vma) throw new ScenarioError(`${k.currentOp}: address is not mapped (segmentation fault)`);
  if (write ? (vma.flags & VM.write) === 0 : (vma.flags & VM.read) === 0) {
    throw new ScenarioError(
      `${k.currentOp}: ${write ? "write to a mapping without write permission" : "read of a PROT_NONE mapping"} (segmentation fault)`,
    );
  }
  const pgt = mm.pgtables;
  const pmdIdx = pmdIndex(vpn);
  const huge = pgt.hugePmd.get(pmdIdx);
  if (huge !== undefined) {
    const off = vpn - pmdIdx * PTRS_PER_PTE;
    if (!write || (huge & PTE.write) !== 0) {
      pgt.hugePmd.set(pmdIdx, pteSetFlags(huge, PTE.young | (write ? PTE.dirty : 0)));
      return ptePfn(huge) + off;
    }
    k.stats.countVm(VMSTAT.pgfault);
    k.costs[Ev.pageFault]++;
    if (vma.kind === "shmem") {
      // wp_huge_pmd() on a shared mapping without ->huge_fault: split (the PMD goes), then the
      // PTE-level fault maps the folio again (by PMD, through finish_fault()).
      splitHugePmd(k, vma, pmdIdx);
      return doShmemFault(k, vma, vpn, true);
    }
    if (vma.kind === "file-shared" || vma.kind === "file-private") {
      // The same for a file THP: the PMD goes (a COW drops the whole PMD, no PTEs put back);
      // a shared write maps it again by PMD, writable; a private one copies the one page.
      splitHugePmd(k, vma, pmdIdx);
      return doFileFault(k, vma, vpn, true);
    }
    if (isHugeZeroPmd(huge)) {
      // do_huge_zero_wp_pmd(): a fresh PMD THP replaces the huge zero page.
      pgt.hugePmd.delete(pmdIdx);
      flushTlbMmRange(k, mm, pmdIdx * PTRS_PER_PTE, pmdIdx * PTRS_PER_PTE + 1, false);
      if (doHugePmdAnonymousPage(k, vma, pmdIdx)) return ptePfn(pgt.hugePmd.get(pmdIdx) as number) + off;
      pgt.hugePmd.set(pmdIdx, huge);
      splitHugePmd(k, vma, pmdIdx);
    } else {
      const folio = ptePfn(huge);
      if (((k.mem.flags[folio] as number) & PG.anonExclusive) !== 0 || (k.mem.refcount[folio] as number) === 1) {
        // do_huge_pmd_wp_page(): reuse the whole PMD.
        k.mem.flags[folio] = (k.mem.flags[folio] as number) | PG.anonExclusive;
        pgt.hugePmd.set(pmdIdx, pteSetFlags(huge, PTE.write | PTE.dirty | PTE.young));
        k.costs[Ev.pteSet]++;
        return folio + off;
      }
      // Shared: split only this mm's PMD and COW the one page on the PTE path.
      splitHugePmd(k, vma, pmdIdx);
    }
    const ptes = pgt.pte.get(pmdIdx) as PteTable;
    return doWpPage(k, vma, ptes, vpn);
  }
  let ptes = pgt.pte.get(pmdIdx);
  if (vma.kind === "shmem" && (!ptes || (ptes[pteIndex(vpn)] as number) === 0)) {
    k.stats.countVm(VMSTAT.pgfault);
    return doShmemFault(k, vma, vpn, write);
  }
  if ((vma.kind === "file-shared" || vma.kind === "file-private") && (!ptes || (ptes[pteIndex(vpn)] as number) === 0)) {
    k.stats.countVm(VMSTAT.pgfault);
    k.costs[Ev.pageFault]++;
    return doFileFault(k, vma, vpn, write);
  }
  if (!ptes && vma.kind === "anon" && thpOrderAllowed(k, vma, HPAGE_PMD_ORDER)) {
    const start = pmdIdx * PTRS_PER_PTE;
    if (start >= vma.start && start + PTRS_PER_PTE <= vma.end) {
      if (write) {
        k.stats.countVm(VMSTAT.pgfault);
        k.costs[Ev.pageFault]++;
        if (doHugePmdAnonymousPage(k, vma, pmdIdx)) {
          return ptePfn(pgt.hugePmd.get(pmdIdx) as number) + (vpn - start);
        }
        k.stats.countVm(VMSTAT.pgfault, -1);
        k.costs[Ev.pageFault]--;
      } else if (k.config.useHugeZeroPage) {
        k.stats.countVm(VMSTAT.pgfault);
        k.costs[Ev.pageFault]++;
        mapHugeZeroPmd(vma, pmdIdx);
        return ZERO_PFN;
      }
    }
  }
  if (!ptes) ptes = pgt.pteAlloc(pmdIdx);
  const i = pteIndex(vpn);
  const pte = ptes[i] as number;
  if (pte === 0) {
    k.stats.countVm(VMSTAT.pgfault);
    k.costs[Ev.pageFault]++;
    return doAnonymousPage(k, vma, ptes, vpn, write);
  }
  if ((pte & PTE.present) === 0) {
    k.stats.countVm(VMSTAT.pgfault);
    k.costs[Ev.pageFault]++;
    if (!k.swap) throw new ScenarioError(`${k.currentOp}: a swapped-out page but no swap device`);
    // do_swap_page(): a write that could not map the page writable ends in do_wp_page() within
    // the same fault (one pgfault).
    doSwapPage(k, k.swap, vma, ptes, vpn, write);
    if (write && ((ptes[i] as number) & PTE.write) === 0) return doWpPage(k, vma, ptes, vpn);
    ptes[i] = pteSetFlags(ptes[i] as number, PTE.young | (write ? PTE.dirty : 0));
    return ptePfn(ptes[i] as number);
  }
  if (write && (pte & PTE.write) === 0) {
    k.stats.countVm(VMSTAT.pgfault);
    k.costs[Ev.pageFault]++;
    return doWpPage(k, vma, ptes, vpn);
  }
  ptes[i] = pteSetFlags(pte, PTE.young | (write ? PTE.dirty : 0));
  return ptePfn(pte);
}
