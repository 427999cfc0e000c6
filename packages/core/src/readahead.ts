/**
 * Readahead of a regular file's page cache on mmap faults (mm/readahead.c and mm/filemap.c,
 * Linux 6.18): the mmap read-around of the first miss (do_sync_mmap_readahead()), the
 * asynchronous window a PG_readahead folio starts (do_async_mmap_readahead() ->
 * page_cache_async_ra()), whose folio order grows by two per window (ra->order += 2) up to
 * MAX_PAGECACHE_ORDER, and page_cache_ra_order() allocating the window's folios.
 *
 * Measured on this project's machine (Linux 6.18.44, ext4 on a disk with read_ahead_kb 8192):
 * a sequential read of a fresh 64M file mapping leaves 8M each of 4K, 16K, 64K, 256K and 1M
 * folios, then 24M of 2M folios, PMD-mapped, after one major fault.
 */

import { Ev } from "./costs.js";
import { ScenarioError } from "./errors.js";
import { folioIndex, folioRefAdd, folioSetIndex, folioSetMapping } from "./folio.js";
import type { Kernel } from "./kernel.js";
import { NIL } from "./mem-map.js";
import { type FileObject, VM, type Vma } from "./mm.js";
import { VMSTAT } from "./stats.js";
import { lruAddBatchAdd } from "./swap.js";
import { HPAGE_PMD_NR, HPAGE_PMD_ORDER } from "./units.js";

/**
 * file->f_ra.ra_pages: bdi->ra_pages of the disk the scenario's files live on, read_ahead_kb /
 * 4K. This machine's /tmp is on a disk with read_ahead_kb 8192: 2048 pages.
 */
export const RA_PAGES = 2048;

/** MAX_PAGECACHE_ORDER on x86-64 (min(MAX_XAS_ORDER, PREFERRED_MAX_PAGECACHE_ORDER = PMD order)). */
export const MAX_PAGECACHE_ORDER = HPAGE_PMD_ORDER;

/** MMAP_LOTSAMISS: more mmap misses than this without hits and read-around stops. */
const MMAP_LOTSAMISS = 100;

/**
 * struct file_ra_state of an open file (file->f_ra): the last readahead window [start, start +
 * size) with its async tail, the folio order it used, and mmap_miss. One per open file: every
 * VMA of one mmap (split parts, fork's copies, mremap's moves) shares it.
 */
export interface FileRaState {
  start: number;
  size: number;
  asyncSize: number;
  order: number;
  mmapMiss: number;
}

/** file_ra_state_init(): an open file's readahead state. */
export function fileRaStateInit(): FileRaState {
  return { start: 0, size: 0, asyncSize: 0, order: 0, mmapMiss: 0 };
}

/**
 * What __filemap_add_folio() and shmem_add_to_page_cache() share (6.18): the folio enters the
 * xarray at [index, index + nr) with nr references for the cache (folio_ref_add(folio, nr) on
 * top of the allocation's, which the model hands over as the first of them), its mapping and
 * index set; then folio_add_lru(). `flags`: page flags besides PG_lru (PG_swapbacked for shmem).
 */
export function pageCacheInsert(k: Kernel, file: FileObject, folio: number, index: number, flags: number): number {
  const m = k.mem;
  const nr = 1 << (m.order[folio] as number);
  if (nr > 1) folioRefAdd(k, folio, nr - 1);
  folioSetMapping(m, folio, file.id);
  folioSetIndex(m, folio, index);
  m.flags[folio] = (m.flags[folio] as number) | flags;
  file.setFolioRange(index, nr, folio);
  k.costs[Ev.lruvecStatUpdate]++;
  k.costs[Ev.iPagesLock]++;
  lruAddBatchAdd(k, folio);
  return nr;
}

/** __filemap_add_folio() (6.18): a regular file's new folio, counted in NR_FILE_THPS when PMD-sized. */
export function filemapAddFolio(k: Kernel, file: FileObject, folio: number, index: number): void {
  const nr = pageCacheInsert(k, file, folio, index, 0);
  // The read brings in what writeback left on disk.
  if (file.disk.size > 0) for (let i = 0; i < nr; i++) k.mem.content[folio + i] = file.disk.get(index + i) ?? 0;
  if (nr === HPAGE_PMD_NR) k.stats.nrFileThps += nr;
}

/**
 * ractl_alloc_folio() + filemap_add_folio() of a readahead: a folio of `order` at index, false
 * when the allocator has none (readahead allocations fail quietly: __GFP_NORETRY). The
 * scenario's files are sparse, so ext4 zero-fills the folio (a hole) instead of reading it.
 */
function raAllocFolio(k: Kernel, file: FileObject, index: number, order: number): boolean {
  const folio = k.mem.allocPages(order);
  if (folio === NIL) return false;
  k.costs[Ev.foliosAllocated]++;
  k.costs[Ev.bytesZeroed] += 4096 << order;
  filemapAddFolio(k, file, folio, index);
  return true;
}

/**
 * do_page_cache_ra() -> page_cache_ra_unbounded() (6.18): order-0 folios in the gaps of
 * [index, index + nr) (clamped to EOF), skipping what is cached; PG_readahead on the one at
 * index + nr - lookahead.
 */
function doPageCacheRa(k: Kernel, file: FileObject, index: number, nrToRead: number, lookahead: number): void {
  if (file.nrPages === 0 || index > file.nrPages - 1) return;
  const nr = Math.min(nrToRead, file.nrPages - index);
  const mark = lookahead <= nr ? nr - lookahead : -1;
  for (let i = 0; i < nr; i++) {
    if (file.folioAt(index + i) !== -1) continue;
    if (!raAllocFolio(k, file, index + i, 0)) break;
    if (i === mark) file.raMarks.add(index + i);
  }
}

/**
 * page_cache_ra_order() (6.18): the window [start, start + ra->size), clamped to EOF, in folios
 * of ra->order (capped at MAX_PAGECACHE_ORDER and ilog2(ra->size)), smaller where the index is
 * not aligned or EOF is near; PG_readahead on the folio at start + size - async_size. A folio
 * already cached (-EEXIST) or a failed allocation ends it, and do_page_cache_ra() fills the
 * rest of the window's gaps with order-0 folios.
 */
export function pageCacheRaOrder(k: Kernel, file: FileObject, ra: FileRaState, start: number): void {
  const limit = Math.min(file.nrPages - 1, start + ra.size - 1);
  const mark = start + ra.size - ra.asyncSize;
  const newOrder = Math.min(MAX_PAGECACHE_ORDER, ra.order, 31 - Math.clz32(ra.size));
  ra.order = newOrder;
  let index = start;
  let err = false;
  while (index <= limit) {
    let order = newOrder;
    if ((index & ((1 << order) - 1)) !== 0) order = 31 - Math.clz32(index & -index);
    while (order > 0 && index + (1 << order) - 1 > limit) order--;
    const nr = 1 << order;
    if (file.anyPresent(index, index + nr - 1) || !raAllocFolio(k, file, index, order)) {
      err = true;
      break;
    }
    if (index === mark - (mark % nr)) file.raMarks.add(index);
    index += nr;
  }
  if (err && ra.size > index - start) doPageCacheRa(k, file, index, ra.size - (index - start), ra.asyncSize);
}

/** get_next_ra_size(): the next window, ramped up. */
function getNextRaSize(cur: number, max: number): number {
  if (cur < max / 16) return 4 * cur;
  if (cur <= max / 2) return 2 * cur;
  return max;
}

/** page_cache_next_miss(): the first index from `index` on (at most maxScan) not cached. */
function pageCacheNextMiss(file: FileObject, index: number, maxScan: number): number {
  for (let i = index; i < index + maxScan; i++) if (i >= file.nrPages || file.folioAt(i) === -1) return i;
  return index + maxScan;
}

/**
 * page_cache_async_ra() (6.18) for the fault at `index` on the PG_readahead folio: the flag is
 * cleared; at the expected index the window moves on (ra->start += ra->size) and grows, else it
 * is rebuilt from the next hole; ra->order += 2, the window's end is aligned to that order, and
 * the whole window is the async tail.
 */
function pageCacheAsyncRa(k: Kernel, file: FileObject, ra: FileRaState, folio: number, index: number): void {
  const folioIdx = folioIndex(k.mem, folio);
  file.raMarks.delete(folioIdx);
  const maxPages = RA_PAGES;
  const nr = 1 << (k.mem.order[folio] as number);
  const expected = ra.start + ra.size - ra.asyncSize;
  if (index === expected - (expected % nr)) {
    ra.start += ra.size;
    ra.size = Math.max(ra.size, getNextRaSize(ra.size, maxPages));
  } else {
    const start = pageCacheNextMiss(file, index + 1, maxPages);
    if (start - index > maxPages) return;
    ra.start = start;
    ra.size = getNextRaSize(start - index + RA_PAGES, maxPages);
  }
  ra.order += 2;
  const align = 1 << Math.min(ra.order, 31 - Math.clz32(maxPages & -maxPages));
  const end = ra.start + ra.size;
  const alignedEnd = end - (end % align);
  if (alignedEnd > ra.start) ra.size -= end - alignedEnd;
  ra.asyncSize = ra.size;
  pageCacheRaOrder(k, file, ra, ra.start);
}

/**
 * The VM_HUGEPAGE branch of do_sync_mmap_readahead() (6.18): page_cache_ra_order() from the
 * PMD-aligned index with ra->order HPAGE_PMD_ORDER, ra->size 2 * HPAGE_PMD_NR (two PMD-sized
 * folios, smaller ones where the file ends, stopping at a folio already cached) and
 * async_size HPAGE_PMD_NR, so the second folio carries PG_readahead. Its async readahead reads
 * the next such window from where the marked folio's window ends.
 */
export function filemapHugeReadahead(k: Kernel, file: FileObject, index: number): void {
  let i = index - (index % HPAGE_PMD_NR);
  const start = i;
  const limit = Math.min(file.nrPages - 1, i + 2 * HPAGE_PMD_NR - 1);
  while (i <= limit) {
    let order = HPAGE_PMD_ORDER;
    if (i % (1 << order) !== 0) order = 31 - Math.clz32(i & -i);
    while (order > 0 && i + (1 << order) - 1 > limit) order--;
    if (file.anyPresent(i, i + (1 << order) - 1)) break; // ra_alloc_folio(): -EEXIST ends the window
    if (!raAllocFolio(k, file, i, order)) break;
    if (i === start + HPAGE_PMD_NR) file.raMarks.add(i);
    i += 1 << order;
  }
}

/**
 * do_sync_mmap_readahead() (6.18) on a cache miss at index: VM_HUGEPAGE reads PMD-sized folios
 * (filemapHugeReadahead(), even under MADV_RANDOM); VM_RAND_READ reads nothing ahead; otherwise
 * mmap_miss counts the miss and, unless there were more
 * than MMAP_LOTSAMISS, the mmap read-around reads ra_pages order-0 pages from index -
 * ra_pages / 2 with PG_readahead ra_pages / 4 from its end.
 */
function doSyncMmapReadahead(k: Kernel, vma: Vma, index: number): void {
  const file = vma.file as FileObject;
  if ((vma.flags & VM.hugepage) !== 0) {
    filemapHugeReadahead(k, file, index);
    return;
  }
  const ra = vma.ra;
  // VM_RAND_READ (MADV_RANDOM): no read-around.
  if (!ra || (vma.flags & VM.randRead) !== 0) return;
  if (ra.mmapMiss < MMAP_LOTSAMISS * 10) ra.mmapMiss++;
  if (ra.mmapMiss > MMAP_LOTSAMISS) return;
  ra.start = Math.max(0, index - RA_PAGES / 2);
  ra.size = RA_PAGES;
  ra.asyncSize = RA_PAGES / 4;
  ra.order = 0;
  pageCacheRaOrder(k, file, ra, ra.start);
}

/**
 * do_async_mmap_readahead() (6.18): nothing under VM_RAND_READ; a hit lowers mmap_miss; a PG_readahead folio starts the
 * next window (page_cache_async_ra(); on a VM_HUGEPAGE VMA the next PMD-sized window).
 * Returns true when it read ahead (the fault dropped mmap_lock for it and is retried).
 */
function doAsyncMmapReadahead(k: Kernel, vma: Vma, folio: number, index: number): boolean {
  const file = vma.file as FileObject;
  const ra = vma.ra;
  if ((vma.flags & VM.randRead) !== 0) return false;
  if (ra && ra.mmapMiss > 0) ra.mmapMiss--;
  const folioIdx = folioIndex(k.mem, folio);
  if (!file.raMarks.has(folioIdx)) return false;
  if ((vma.flags & VM.hugepage) !== 0 || !ra) {
    file.raMarks.delete(folioIdx);
    filemapHugeReadahead(k, file, folioIdx + HPAGE_PMD_NR);
  } else {
    pageCacheAsyncRa(k, file, ra, folio, index);
  }
  return true;
}

/**
 * filemap_fault() (6.18) of a regular file at index: a cached folio goes through
 * do_async_mmap_readahead(); a miss is a major fault (PGMAJFAULT) whose
 * do_sync_mmap_readahead() fills the cache, and __filemap_get_folio(FGP_CREAT) adds an order-0
 * folio if the page is still missing. `retry`: the fault dropped mmap_lock for I/O and
 * returned VM_FAULT_RETRY, so it runs again (and a read tries fault-around first).
 */
export function filemapFault(k: Kernel, vma: Vma, index: number): { folio: number; retry: boolean } {
  const file = vma.file as FileObject;
  const cached = file.folioAt(index);
  if (cached !== -1) return { folio: cached, retry: doAsyncMmapReadahead(k, vma, cached, index) };
  k.stats.countVm(VMSTAT.pgmajfault);
  doSyncMmapReadahead(k, vma, index);
  if (file.folioAt(index) === -1 && !raAllocFolio(k, file, index, 0)) {
    throw new ScenarioError(
      `${k.currentOp}: out of model memory (config.memory = ${(k.config.memoryPages * 4) / 1024} MiB); raise config.memory`,
    );
  }
  return { folio: file.folioAt(index), retry: true };
}
