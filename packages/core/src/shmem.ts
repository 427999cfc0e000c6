/**
 * Shared anonymous memory (MAP_SHARED | MAP_ANONYMOUS) as Linux 6.18 runs it: an unnamed shmem
 * file (mm/shmem.c shmem_zero_setup()) whose page cache holds large folios of the size the
 * per-size hugepages-<size>kB/shmem_enabled knobs allow (shmem_allowable_huge_orders(),
 * shmem_suitable_orders(), shmem_alloc_and_add_folio()), faulted in through the generic file
 * fault path of mm/memory.c (do_read_fault() with do_fault_around() -> filemap_map_pages(),
 * do_shared_fault(), finish_fault() mapping the whole folio, do_set_pmd() for PMD-sized
 * folios), and released with its last mapping (shmem_evict_inode() -> truncate).
 */

import { Ev } from "./costs.js";
import { ScenarioError } from "./errors.js";
import { folioIndex, folioMapping, folioPutRefs, folioRefAdd } from "./folio.js";
import type { Kernel } from "./kernel.js";
import { NIL, PG } from "./mem-map.js";
import { type FileObject, VM, type Vma } from "./mm.js";
import { mkPte, PTE, type PteTable, pmdIndex, pteIndex } from "./page-table.js";
import { pageCacheInsert } from "./readahead.js";
import { folioAddFileRmapPtes, folioAddRmapPmd } from "./rmap.js";
import { MTHP, VMSTAT } from "./stats.js";
import { FolioBatch } from "./swap.js";
import { addToSwap, freeSwapAndCache, freeSwapAndCacheNr, type SwapDevice, swapDuplicate } from "./swapfile.js";
import { HPAGE_PMD_NR, HPAGE_PMD_ORDER, PTRS_PER_PTE } from "./units.js";
import { folioMarkDirty, mmCounter } from "./zap.js";

/** fault_around_bytes (default 64K): do_fault_around() maps up to this many pages. */
export const FAULT_AROUND_PAGES = 16;

/** Orders 1..PMD_ORDER a file may use (THP_ORDERS_ALL_FILE_DEFAULT; the model's sizes are 2..9). */
const FILE_ORDERS_MASK = ((1 << (HPAGE_PMD_ORDER + 1)) - 1) & ~0b11;

function highestOrder(mask: number): number {
  return 31 - Math.clz32(mask);
}

/** The index of a VMA page in its file (linear_page_index()). */
export function linearPageIndex(vma: Vma, vpn: number): number {
  return vma.pgoff + (vpn - vma.start);
}

/** The page a file's cache holds at index (folio_file_page() of filemap_get_folio()), or -1. */
export function filemapPage(k: Kernel, file: FileObject, index: number): number {
  const folio = file.folioAt(index);
  return folio === -1 ? -1 : folio + (index - folioIndex(k.mem, folio));
}

/**
 * shmem_allowable_huge_orders() (6.18) for anonymous shmem: "always" orders, "within_size"
 * orders once the highest of them that fits below i_size at this index does (all of them then,
 * as the kernel ORs the whole mask in), "advise" orders on a VM_HUGEPAGE VMA, and "inherit"
 * orders when the top-level shmem_enabled allows huge pages (never, here). VM_NOHUGEPAGE: none.
 */
export function shmemAllowableHugeOrders(k: Kernel, file: FileObject, vma: Vma, index: number): number {
  if ((vma.flags & VM.nohugepage) !== 0) return 0;
  let mask = 0;
  let withinSize = 0;
  let advise = 0;
  const policy = k.config.shmem;
  for (let o = 2; o <= HPAGE_PMD_ORDER; o++) {
    const p = policy[o];
    if (p === "always") mask |= 1 << o;
    else if (p === "within_size") withinSize |= 1 << o;
    else if (p === "advise") advise |= 1 << o;
    // "inherit": shmem_huge_global_enabled() is 0 with the top level at "never".
  }
  for (let w = withinSize; w !== 0; ) {
    const o = highestOrder(w);
    const aligned = Math.ceil((index + 1) / (1 << o)) * (1 << o);
    if (file.nrPages >= aligned) {
      mask |= withinSize;
      break;
    }
    w &= ~(1 << o);
  }
  if ((vma.flags & VM.hugepage) !== 0) mask |= advise;
  return mask & FILE_ORDERS_MASK;
}

/**
 * thp_vma_suitable_order(): the naturally aligned range of `order` around vpn lies inside the
 * VMA, and the VMA's file offset is aligned alike (so the folio's index and address agree).
 */
export function thpVmaSuitableOrder(vma: Vma, vpn: number, order: number): boolean {
  const nr = 1 << order;
  if ((((vma.start - vma.pgoff) % nr) + nr) % nr !== 0) return false;
  const haddr = vpn - (vpn % nr);
  return haddr >= vma.start && haddr + nr <= vma.end;
}

/**
 * shmem_suitable_orders(): the orders that fit the VMA at vpn (thp_vma_suitable_orders()),
 * then the highest whose aligned range of the page cache is empty and every order below it.
 */
function shmemSuitableOrders(file: FileObject, vma: Vma, vpn: number, index: number, orders: number): number {
  let o = orders;
  for (let w = orders; w !== 0; ) {
    const order = highestOrder(w);
    w &= ~(1 << order);
    if (!thpVmaSuitableOrder(vma, vpn, order)) o &= ~(1 << order);
  }
  while (o !== 0) {
    const order = highestOrder(o);
    const nr = 1 << order;
    const aligned = index - (index % nr);
    if (!file.anyPresent(aligned, aligned + nr - 1)) break;
    o &= ~(1 << order);
  }
  return o;
}

/**
 * shmem_add_to_page_cache(): the folio enters the xarray at [index, index + nr) with nr
 * references for the cache (pageCacheInsert()), swap-backed, counted in NR_SHMEM (and
 * NR_SHMEM_THPS when PMD-sized) by shmem_update_stats(); then folio_add_lru().
 */
function shmemAddToPageCache(k: Kernel, file: FileObject, folio: number, index: number): void {
  const nr = pageCacheInsert(k, file, folio, index, PG.swapbacked);
  k.stats.countVm(VMSTAT.nrShmem, nr);
  if (nr === HPAGE_PMD_NR) k.stats.nrShmemThps += nr;
}

/**
 * shmem_get_folio_gfp(SGP_CACHE) for a fault: the cached folio, or a new one from
 * shmem_alloc_and_add_folio(): the highest suitable order first, shmem_fallback per order the
 * allocator cannot give, then order 0; shmem_alloc (and thp_file_alloc for PMD size) for the
 * large folio it got. A new folio is zero-filled and clean.
 */
export function shmemGetFolio(k: Kernel, file: FileObject, vma: Vma, vpn: number): number {
  const index = linearPageIndex(vma, vpn);
  const cached = file.folioAt(index);
  if (cached !== -1) return cached;
  const slot = file.swapEntries.get(index);
  if (slot !== undefined && k.swap) return shmemSwapinFolio(k, k.swap, file, index, slot);
  const orders = shmemAllowableHugeOrders(k, file, vma, index);
  let folio = NIL;
  if (orders !== 0) {
    for (let o = shmemSuitableOrders(file, vma, vpn, index, orders); o !== 0; ) {
      const order = highestOrder(o);
      o &= ~(1 << order);
      folio = k.mem.allocPages(order);
      if (folio !== NIL) {
        if (order === HPAGE_PMD_ORDER) k.stats.countVm(VMSTAT.thpFileAlloc);
        k.stats.modMthp(order, MTHP.shmemAlloc, 1);
        break;
      }
      k.stats.modMthp(order, MTHP.shmemFallback, 1);
    }
  }
  if (folio === NIL) folio = k.mem.allocPages(0);
  if (folio === NIL) {
    throw new ScenarioError(
      `${k.currentOp}: out of model memory (config.memory = ${(k.config.memoryPages * 4) / 1024} MiB); raise config.memory`,
    );
  }
  k.costs[Ev.foliosAllocated]++;
  const nr = 1 << (k.mem.order[folio] as number);
  shmemAddToPageCache(k, file, folio, index - (index % nr));
  return folio;
}

/**
 * shmem_swapin_folio() (mm/shmem.c, 6.18) for an order-0 swap entry (shmem_writeout() splits
 * every large folio on this swap file, so no entry is larger): the page is read into a new
 * folio, which goes back into the page cache at its index (shmem_add_to_page_cache()), marked
 * dirty since its swap copy goes: swap_free_nr() drops the xarray's count on the slot and the
 * folio leaves the swap cache. The model has written the page to the slot at swap-out, so
 * there is no swap-cache folio to find; like do_swap_page() it counts no pgmajfault (the
 * kernel measured none: the written folios were still in its swap cache).
 */
function shmemSwapinFolio(k: Kernel, swap: SwapDevice, file: FileObject, index: number, slot: number): number {
  const folio = k.mem.allocPages(0);
  if (folio === NIL) throw new ScenarioError(`${k.currentOp}: out of model memory during swap-in; raise config.memory`);
  k.costs[Ev.foliosAllocated]++;
  k.costs[Ev.swapInPages]++; // swap_read_folio()
  k.mem.content[folio] = swap.content[slot] as number;
  file.swapEntries.delete(index);
  shmemAddToPageCache(k, file, folio, index);
  folioMarkDirty(k, folio);
  freeSwapAndCache(k, swap, slot);
  return folio;
}

/**
 * filemap_unaccount_folio() (mm/filemap.c) and shmem_update_stats(-nr) (6.18): a folio leaving
 * a file's cache is taken off NR_SHMEM (and NR_SHMEM_THPS) for shmem, NR_FILE_THPS when a
 * regular file's PMD-sized folio.
 */
export function filemapUnaccountFolio(k: Kernel, file: FileObject, folio: number): void {
  const order = k.mem.order[folio] as number;
  const nr = 1 << order;
  if (file.shmem) {
    k.stats.countVm(VMSTAT.nrShmem, -nr);
    if (order === HPAGE_PMD_ORDER) k.stats.nrShmemThps -= nr;
  } else if (order === HPAGE_PMD_ORDER) k.stats.nrFileThps -= nr;
  k.costs[Ev.lruvecStatUpdate]++;
}

/**
 * shmem_writeout() (mm/shmem.c, 6.18) for an unmapped, dirty, order-0 shmem folio (the caller
 * has split a large one: on this swap file folio_alloc_swap() has no slot above order 0, and
 * shmem_writeout() then splits with split_folio_to_list() without counting swpout_fallback):
 * folio_alloc_swap() puts it in the swap cache, swap_shmem_alloc() gives the xarray's entry a
 * count on the slot, and shmem_delete_from_page_cache() replaces the folio by that swap entry,
 * taking it off NR_SHMEM and dropping the cache's reference. swap_writeout() follows (the
 * caller: pswpout, unless zero-filled). False when there is no file or no free slot (redirty).
 */
export function shmemWriteout(k: Kernel, swap: SwapDevice, folio: number): boolean {
  const file = k.files[folioMapping(k.mem, folio) - 1];
  if (!file || (k.mem.order[folio] as number) !== 0 || !addToSwap(k, swap, folio)) return false;
  const slot = swap.folioSlot.get(folio) as number;
  const index = folioIndex(k.mem, folio);
  swapDuplicate(swap, slot);
  file.setFolio(index, -1);
  file.swapEntries.set(index, slot);
  k.costs[Ev.pageCacheDelete]++;
  k.costs[Ev.iPagesLock]++;
  filemapUnaccountFolio(k, file, folio);
  folioPutRefs(k, folio, 1);
  return true;
}

/**
 * set_pte_range() with its accounting, as finish_fault() and filemap_map_folio_range() use it:
 * nr references, one folio_add_file_rmap_ptes() for the run, nr PTEs and the RSS counter;
 * writable as fileMapWritable() says, dirty only when the fault was a write.
 */
function setPteRange(
  k: Kernel,
  vma: Vma,
  ptes: PteTable,
  folio: number,
  page: number,
  nr: number,
  vpn: number,
  write: boolean,
): void {
  folioRefAdd(k, folio, nr);
  folioAddFileRmapPtes(k, folio, page, nr, vma);
  let flags = PTE.present | PTE.young;
  if (fileMapWritable(vma, write)) flags |= PTE.write;
  if (write) flags |= PTE.dirty;
  const i = pteIndex(vpn);
  for (let j = 0; j < nr; j++) ptes[i + j] = mkPte(page + j, flags);
  k.costs[Ev.pteSet] += nr;
  const counter = mmCounter(k, folio);
  vma.mm.rss[counter] = (vma.mm.rss[counter] as number) + nr;
  k.costs[Ev.rssCounterAdd]++;
}

/**
 * vm_page_prot's write bit for a page-cache PTE or PMD: a shared shmem VMA has no write-notify,
 * so it is writable from the start; a shared file VMA (ext4: page_mkwrite, dirty accounting)
 * only on a write fault; a private file VMA never (a write COWs).
 */
function fileMapWritable(vma: Vma, write: boolean): boolean {
  if ((vma.flags & VM.write) === 0) return false;
  if (vma.kind === "shmem") return true;
  return write && vma.kind === "file-shared";
}

/**
 * do_set_pmd() (6.18, any page of the folio): a PMD-sized folio whose range fits the VMA is
 * mapped by one PMD: one reference, folio_add_file_rmap_pmd(), HPAGE_PMD_NR on the RSS counter,
 * thp_file_mapped. False (VM_FAULT_FALLBACK) otherwise.
 */
export function doSetPmd(k: Kernel, vma: Vma, folio: number, vpn: number, write: boolean): boolean {
  if ((k.mem.order[folio] as number) !== HPAGE_PMD_ORDER || !thpVmaSuitableOrder(vma, vpn, HPAGE_PMD_ORDER)) return false;
  if ((vma.flags & VM.nohugepage) !== 0) return false;
  const pgt = vma.mm.pgtables;
  const idx = pmdIndex(vpn);
  folioRefAdd(k, folio, 1);
  folioAddRmapPmd(k, folio, vma);
  let flags = PTE.present | PTE.young;
  if (fileMapWritable(vma, write)) flags |= PTE.write;
  if (write) flags |= PTE.dirty;
  pgt.pteFree(idx);
  pgt.hugePmd.set(idx, mkPte(folio, flags));
  const counter = mmCounter(k, folio);
  vma.mm.rss[counter] = (vma.mm.rss[counter] as number) + HPAGE_PMD_NR;
  k.stats.countVm(VMSTAT.thpFileMapped);
  k.costs[Ev.pteSet]++;
  k.costs[Ev.ptLock]++;
  k.costs[Ev.rssCounterAdd]++;
  return true;
}

/**
 * finish_fault() (6.18) for shmem and regular files alike (since "mm/memory: map large folios
 * in one shot", 6.18, a regular file's large folio is mapped whole too): a PMD-sized folio on an
 * empty PMD goes to do_set_pmd(); otherwise the whole folio is mapped when its range lies
 * inside the VMA and this PTE table and every PTE of it is none, else only the faulting page.
 * Returns the pfn now at vpn.
 */
export function finishFault(k: Kernel, vma: Vma, folio: number, vpn: number, write: boolean): number {
  const pgt = vma.mm.pgtables;
  const idx = pmdIndex(vpn);
  const index = linearPageIndex(vma, vpn);
  const page = folio + (index - folioIndex(k.mem, folio));
  if (!pgt.pte.has(idx) && !pgt.hugePmd.has(idx) && doSetPmd(k, vma, folio, vpn, write)) {
    // do_shared_fault() -> fault_dirty_shared_page() after finish_fault(), PMD or not.
    if (write) folioMarkDirty(k, folio);
    return page;
  }
  const ptes = pgt.pteAlloc(idx);
  const nrPages = 1 << (k.mem.order[folio] as number);
  const pidx = page - folio;
  const vmaOff = vpn - vma.start;
  const pteOff = pteIndex(vpn);
  let nr = 1;
  let start = vpn;
  let first = page;
  if (
    nrPages > 1 &&
    !(
      vmaOff < pidx ||
      vmaOff + (nrPages - pidx) > vma.end - vma.start ||
      pteOff < pidx ||
      pteOff + (nrPages - pidx) > PTRS_PER_PTE
    )
  ) {
    let none = true;
    for (let j = pteOff - pidx; j < pteOff - pidx + nrPages; j++) {
      if ((ptes[j] as number) !== 0) {
        none = false;
        break;
      }
    }
    // !pte_range_none(): needs_fallback, the fault is retried for the one page.
    if (none) {
      nr = nrPages;
      start = vpn - pidx;
      first = folio;
    }
  }
  if (write) {
    // do_shared_fault() -> fault_dirty_shared_page().
    folioMarkDirty(k, folio);
  }
  setPteRange(k, vma, ptes, folio, first, nr, start, write);
  return page;
}

/**
 * do_fault_around() -> filemap_map_pages() (6.18): the window of fault_around_bytes around the
 * fault, clamped to the VMA and the PTE table, mapped from what the page cache already holds.
 * can_map_large (shmem, or a first folio that ends before the file's last page: 6.18 reckons it
 * once, from the first folio) allows a PMD-sized first folio on an empty PMD to go to
 * do_set_pmd(), and filemap_map_folio_range() to map a large folio whole when it lies inside the
 * VMA and one PMD; otherwise only the window's pages; a regular file's large folio that ends at
 * EOF not at all. One set_pte_range() per run of none PTEs. True when the faulting page got
 * mapped (VM_FAULT_NOPAGE).
 */
export function doFaultAround(k: Kernel, vma: Vma, vpn: number): boolean {
  const file = vma.file as FileObject;
  const m = k.mem;
  const pteOff = pteIndex(vpn);
  const vmaOff = vpn - vma.start;
  const fromPte = Math.max(pteOff - (pteOff % FAULT_AROUND_PAGES), pteOff - Math.min(pteOff, vmaOff));
  const toPte = Math.min(fromPte + FAULT_AROUND_PAGES, PTRS_PER_PTE, pteOff + (vma.end - vma.start) - vmaOff) - 1;
  const index = linearPageIndex(vma, vpn);
  const startIdx = index + fromPte - pteOff;
  const fileEnd = file.nrPages - 1;
  const endIdx = Math.min(index + toPte - pteOff, fileEnd);
  let i = startIdx;
  // next_uptodate_folio(): the first cached folio without PG_readahead (a marked one is left to
  // the fault, which reads ahead).
  while (i <= endIdx) {
    const f = file.folioAt(i);
    if (f === -1) i++;
    else if (file.raMarks.has(folioIndex(m, f))) i = folioIndex(m, f) + (1 << (m.order[f] as number));
    else break;
  }
  if (i > endIdx) return false;
  const first = file.folioAt(i);
  const canMapLarge = file.shmem || fileEnd >= folioIndex(m, first) + (1 << (m.order[first] as number));
  const pgt = vma.mm.pgtables;
  const idx = pmdIndex(vpn);
  const base = vpn - pteOff;
  if (canMapLarge && !pgt.pte.has(idx) && !pgt.hugePmd.has(idx)) {
    // filemap_map_pmd(): do_set_pmd() checks the folio is PMD-sized and fits the VMA at the fault.
    if (doSetPmd(k, vma, first, vpn, false)) return true;
  }
  if (pgt.hugePmd.has(idx)) return false;
  // Without can_map_large filemap_map_pmd() is not called, so nothing installs a PTE table on an
  // empty PMD: pte_offset_map_lock() fails and nothing is mapped (finish_fault() may use the PMD).
  if (!canMapLarge && !pgt.pte.has(idx)) return false;
  const ptes = pgt.pteAlloc(idx);
  let mapped = false;
  while (i <= endIdx) {
    const folio = file.folioAt(i);
    if (folio === -1) {
      i++;
      continue;
    }
    const folioIdx = folioIndex(m, folio);
    const nr = 1 << (m.order[folio] as number);
    if (file.raMarks.has(folioIdx)) {
      // next_uptodate_folio() skips a PG_readahead folio: the fault reads ahead first.
      i = folioIdx + nr;
      continue;
    }
    if (!file.shmem && nr > 1 && folioIdx + nr - 1 >= fileEnd) {
      // A large folio of a regular file that ends at EOF: fault-around leaves it to the fault
      // (measured on this machine's 6.18: "does not map a large folio that ends exactly at EOF").
      i = folioIdx + nr;
      continue;
    }
    let from = i;
    let last = Math.min(folioIdx + nr - 1, endIdx);
    const headVpn = base + fromPte + (folioIdx - startIdx);
    if (
      nr > 1 &&
      canMapLarge &&
      headVpn >= vma.start &&
      headVpn + nr <= vma.end &&
      pmdIndex(headVpn) === idx &&
      pmdIndex(headVpn + nr - 1) === idx
    ) {
      // The whole folio: it lies inside the VMA and this PTE table.
      from = folioIdx;
      last = folioIdx + nr - 1;
    }
    // filemap_map_folio_range(): runs of none PTEs, one set_pte_range() each.
    for (let j = from; j <= last; ) {
      const slot = fromPte + (j - startIdx);
      if ((ptes[slot] as number) !== 0) {
        j++;
        continue;
      }
      let n = 1;
      while (j + n <= last && (ptes[slot + n] as number) === 0) n++;
      setPteRange(k, vma, ptes, folio, folio + (j - folioIdx), n, base + slot, false);
      if (index >= j && index < j + n) mapped = true;
      // filemap_map_pages(): the pages it maps count against file->f_ra.mmap_miss.
      if (vma.ra) vma.ra.mmapMiss = Math.max(0, vma.ra.mmapMiss - n);
      j += n;
    }
    i = Math.max(i, last + 1);
  }
  return mapped;
}

/**
 * A fault on a none PTE (or an empty PMD) of a shmem VMA: do_read_fault() tries
 * do_fault_around() first; otherwise (and for writes, do_shared_fault()) __do_fault() ->
 * shmem_fault() gets the folio and finish_fault() maps it. Returns the pfn now at vpn.
 */
export function doShmemFault(k: Kernel, vma: Vma, vpn: number, write: boolean): number {
  if (!write && doFaultAround(k, vma, vpn)) return filemapPage(k, vma.file as FileObject, linearPageIndex(vma, vpn));
  const folio = shmemGetFolio(k, vma.file as FileObject, vma, vpn);
  return finishFault(k, vma, folio, vpn, write);
}

/** FOLIO_BATCH_SIZE (include/linux/pagevec.h): folios find_lock_entries() gathers at a time. */
const FOLIO_BATCH_SIZE = 31;

/**
 * truncate_inode_pages() when an unlinked file's inode is evicted (shmem_evict_inode() ->
 * shmem_truncate_range() for shmem): every folio leaves the page cache (NR_SHMEM and
 * NR_SHMEM_THPS, or NR_FILE_THPS) and drops the cache's nr references. find_lock_entries()
 * takes a batch of FOLIO_BATCH_SIZE folios with a reference each, and folio_batch_release()
 * puts them together: the folios are freed a batch at a time (one lruvec lock and one memcg
 * uncharge a batch, folios_put_refs()), not one by one.
 */
export function shmemTruncate(k: Kernel, file: FileObject): void {
  const m = k.mem;
  const folios = [...file.folios()];
  const batch = new FolioBatch(k);
  for (let at = 0; at < folios.length; at += FOLIO_BATCH_SIZE) {
    const end = Math.min(at + FOLIO_BATCH_SIZE, folios.length);
    // shmem_undo_range() takes each folio out with truncate_inode_folio() (an i_pages lock each);
    // truncate_inode_pages_range() deletes the batch under one (delete_from_page_cache_batch()).
    k.costs[Ev.iPagesLock] += file.shmem ? end - at : 1;
    for (let i = at; i < end; i++) {
      const folio = folios[i] as number;
      folioRefAdd(k, folio, 1); // find_lock_entries(): folio_try_get()
      const nr = 1 << (m.order[folio] as number);
      file.setFolioRange(folioIndex(m, folio), nr, -1);
      file.raMarks.delete(folioIndex(m, folio));
      k.costs[Ev.pageCacheDelete]++; // truncate_inode_folio() -> filemap_remove_folio()
      filemapUnaccountFolio(k, file, folio);
      folioPutRefs(k, folio, nr); // filemap_free_folio(): the cache's references
      batch.add(folio, 1);
    }
    batch.flush(); // folio_batch_release()
  }
  // shmem_undo_range() -> shmem_free_swap(): the swapped-out pages free their slots.
  for (const slot of file.swapEntries.values()) if (k.swap) freeSwapAndCacheNr(k, k.swap, slot, 1);
  file.swapEntries.clear();
}

/**
 * fput() of every file nothing holds any more, so its inode is evicted: an unnamed shmem file
 * once no VMA maps it (MAP_SHARED | MAP_ANONYMOUS has no fd), a scenario's (unlinked) file once
 * no live process that mapped it, or inherited it by fork, is left (as the kernel probe's runner
 * keeps each file's fd open until its process exits). A named file (mmap `file`) stays linked:
 * its page cache stays for the whole scenario.
 */
export function releaseUnmappedShmem(k: Kernel): void {
  let any = false;
  for (const f of k.files) if (!f.released && f.name === null) any = true;
  if (!any) return;
  const live = new Set<FileObject>();
  for (const mm of k.procs.values()) {
    for (const v of mm.vmas) if (v.file) live.add(v.file);
    if (!mm.exited) for (const m of mm.mappings.values()) if (m.file && !m.file.shmem) live.add(m.file);
  }
  for (const f of k.files) {
    if (!f.released && f.name === null && !live.has(f)) {
      shmemTruncate(k, f);
      f.released = true;
    }
  }
}
