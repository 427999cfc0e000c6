/**
 * Processes (mm_struct), VMAs and the files that file mappings are backed by.
 */

import { COST_EVENT_COUNT, Ev } from "./costs.js";
import { PageTables } from "./page-table.js";
import type { FileRaState } from "./readahead.js";

/** vm_flags bits the model uses. */
export const VM = {
  read: 1 << 0,
  write: 1 << 1,
  shared: 1 << 2,
  locked: 1 << 3,
  hugepage: 1 << 4,
  nohugepage: 1 << 5,
  /** VM_DONTCOPY (MADV_DONTFORK): fork leaves this VMA out of the child. */
  dontcopy: 1 << 6,
  /** VM_RAND_READ (MADV_RANDOM): no readahead on faults. */
  randRead: 1 << 7,
} as const;

/**
 * "shmem" is MAP_SHARED | MAP_ANONYMOUS: a VMA of an unnamed shmem file (shmem_zero_setup()),
 * shared with forked children and released with its last mapping.
 */
export type VmaKind = "anon" | "file-private" | "file-shared" | "shmem";

/** MM counters (enum mm_counters order). */
export const MM_FILEPAGES = 0;
export const MM_ANONPAGES = 1;
export const MM_SWAPENTS = 2;
/** MM_SHMEMPAGES: shmem pages (mm_counter_file() of a swap-backed folio); RssShmem. */
export const MM_SHMEMPAGES = 3;
export const NR_MM_COUNTERS = 4;

/**
 * Where mmap puts things: a bump allocator from 1 TiB (vpn 2^28) up to the model's address
 * space end at 8 TiB (vpn 2^31, because an anon folio records its vm_pgoff, its vpn, in 32
 * bits). So a process can map up to 7 TiB.
 */
export const MMAP_BASE_VPN = 2 ** 28;
/** End of the model's virtual address space (exclusive), in pages. */
export const MAX_VPN = 2 ** 31;
/** Gap left between mappings so that neighbours never merge. */
export const MMAP_GAP = 512;

/** get_unmapped_area() of the bump allocator: [start, start + nrPages) and the next cursor. */
export function mmapPlacement(cursor: number, nrPages: number, alignPages: number): { start: number; next: number } {
  const start = Math.ceil(cursor / alignPages) * alignPages;
  return { start, next: start + nrPages + MMAP_GAP };
}

/** mremap's new range: the old offset inside its PMD kept, so whole PMDs move as PMDs. */
export function mremapPlacement(cursor: number, oldStart: number, nrPages: number): { start: number; next: number } {
  const start = Math.ceil(cursor / 512) * 512 + (oldStart % 512);
  return { start, next: start + nrPages + MMAP_GAP };
}

/**
 * A file with a page cache (its xarray): the cached folio per page index. Stored as pfn + 1 so
 * that the pages of a big file nobody reads stay untouched zeroes. A large folio is a
 * multi-index entry: its head is stored at every index it covers, so folioAt() of any of them
 * finds it, as xa_load() does.
 */
export class FileObject {
  private readonly cache: Int32Array;
  /** An unnamed shmem file whose last mapping went: its inode was evicted. */
  released = false;
  /** Indices of cached folios with PG_readahead set (the async readahead marker). */
  readonly raMarks = new Set<number>();
  /**
   * A shmem file's swapped-out pages: the swap slot its xarray holds as a value entry at each
   * index (shmem_writeout() puts it there, shmem_swapin_folio() takes it back).
   */
  readonly swapEntries = new Map<number, number>();
  /**
   * A regular file's contents on disk, by page index: the content tag of each page writeback has
   * written (reclaim's, see shrinkFolioList()), read back when the page cache reads that index in
   * again. Pages never written back read as the file's zeroes (the probe's files are sparse).
   */
  readonly disk = new Map<number, number>();
  constructor(
    readonly id: number,
    readonly nrPages: number,
    /** shmem_mapping(): a shmem (tmpfs) file; its folios are swap-backed. */
    readonly shmem = false,
    /**
     * A scenario's named file (mmap `file`): it stays linked, so its page cache outlives every
     * mapping and process (the kernel probe removes it after the run).
     */
    readonly name: string | null = null,
  ) {
    this.cache = new Int32Array(nrPages);
  }

  /** filemap_get_folio(): the folio cached at a page index, or -1. */
  folioAt(index: number): number {
    return (this.cache[index] as number) - 1;
  }

  /** Put a folio in the cache at index, or remove it (folio -1). */
  setFolio(index: number, folio: number): void {
    this.cache[index] = folio + 1;
  }

  /** Store a folio of nr pages at [index, index + nr), or clear the range (folio -1). */
  setFolioRange(index: number, nr: number, folio: number): void {
    this.cache.fill(folio + 1, index, index + nr);
  }

  /** xa_find(): true when any index in [first, last] holds a folio. */
  anyPresent(first: number, last: number): boolean {
    for (let i = first; i <= last; i++) if ((this.cache[i] as number) !== 0) return true;
    return false;
  }

  /** Every cached folio once, in index order. */
  *folios(): IterableIterator<number> {
    let prev = -1;
    for (let i = 0; i < this.nrPages; i++) {
      const f = (this.cache[i] as number) - 1;
      if (f >= 0 && f !== prev) yield f;
      prev = f;
    }
  }
}

/** vm_area_struct. Addresses are virtual page numbers; end is exclusive. */
export interface Vma {
  start: number;
  end: number;
  flags: number;
  kind: VmaKind;
  /** Backing file (file mappings). */
  file: FileObject | null;
  /** vm_pgoff: file page (or linear anon index) of `start`. */
  pgoff: number;
  /** anon_vma root id: lets the rmap find every VMA that may map an anon folio. */
  anonVma: number;
  /**
   * vma->anon_vma is set: an anon folio was mapped here at some point (anon_vma_prepare() runs
   * at the first anon fault or COW). A file mapping without it has no anon pages, and fork does
   * not copy its page tables (vma_needs_copy()).
   */
  anonVmaPrepared?: boolean;
  /** Scenario mapping id this VMA came from. */
  mapping: string;
  /** file->f_ra of the open file a regular file mapping maps (shared by its split parts and copies). */
  ra?: FileRaState;
  /** vma->vm_mm. */
  mm: MmStruct;
}

/** A scenario mapping: the address range an `mmap` op created, addressed by its id. */
export interface Mapping {
  id: string;
  start: number;
  nrPages: number;
  kind: VmaKind;
  file: FileObject | null;
}

/** A stale translation left in the TLB by a cleared PTE, until a flush covers it. */
export interface StaleTlb {
  vpn: number[];
  pfn: number[];
  dirty: number[];
}

export class MmStruct {
  readonly pgtables: PageTables;
  vmas: Vma[] = [];
  readonly rss = new Float64Array(NR_MM_COUNTERS);
  readonly mappings = new Map<string, Mapping>();
  /** Pending stale TLB entries (kept only while invariants are checked). */
  readonly staleTlb: StaleTlb = { vpn: [], pfn: [], dirty: [] };
  /** Next free virtual page for mmap (simple bump allocator, see mmapPlacement()). */
  mmapCursor = MMAP_BASE_VPN;
  exited = false;
  /** Some CPU may have this mm loaded (false once exit_mm() switched away from it). */
  loaded = true;
  /** MMF_HAS_PINNED: set once the mm took a long-term pin. */
  hasPinned = false;
  /** Long-term pins this process holds: the page each pinned address had when pinned. */
  pins: Array<{ vpn: number; pfn: number }> = [];

  constructor(
    /** mm->mm_id (MM_ID, 6.15+); never 0 (MM_ID_DUMMY). */
    readonly id: number,
    readonly name: string,
    widePtes: boolean,
    /** The kernel's cost counters (vmaUpdate here, ptAlloc/ptFree in the page tables). */
    private readonly costs: Float64Array = new Float64Array(COST_EVENT_COUNT),
  ) {
    this.pgtables = new PageTables(widePtes, costs);
  }

  /** find_vma(): the VMA containing vpn, or undefined. */
  findVma(vpn: number): Vma | undefined {
    const vmas = this.vmas;
    let lo = 0;
    let hi = vmas.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = vmas[mid] as Vma;
      if (vpn < v.start) hi = mid - 1;
      else if (vpn >= v.end) lo = mid + 1;
      else return v;
    }
    return undefined;
  }

  /** Index of the first VMA that ends after vpn (binary search). */
  private firstEndingAfter(vpn: number): number {
    const vmas = this.vmas;
    let lo = 0;
    let hi = vmas.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((vmas[mid] as Vma).end <= vpn) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insertVma(vma: Vma): void {
    this.costs[Ev.vmaUpdate]++;
    this.placeVma(vma);
  }

  /** The VMA into the address-ordered array, at no cost of its own (the caller counts it). */
  private placeVma(vma: Vma): void {
    this.vmas.splice(this.firstEndingAfter(vma.start), 0, vma);
  }

  /** __split_vma() (mm/vma.c, 6.18): cut the VMA containing `at` so that a VMA starts at `at`. */
  splitVmaAt(at: number): void {
    const v = this.findVma(at);
    if (!v || v.start === at) return;
    const tail: Vma = { ...v, start: at, pgoff: v.pgoff + (at - v.start) };
    v.end = at;
    this.costs[Ev.vmaSplit]++;
    this.placeVma(tail);
  }

  /** VMAs overlapping [start, end), in address order. */
  vmasIn(start: number, end: number): Vma[] {
    const out: Vma[] = [];
    for (let i = this.firstEndingAfter(start); i < this.vmas.length; i++) {
      const v = this.vmas[i] as Vma;
      if (v.start >= end) break;
      out.push(v);
    }
    return out;
  }

  /** Remove the VMAs lying wholly inside [start, end) (they are contiguous in the array). */
  removeVmasIn(start: number, end: number): void {
    const first = this.firstEndingAfter(start);
    let last = first;
    while (last < this.vmas.length && (this.vmas[last] as Vma).end <= end && (this.vmas[last] as Vma).start >= start) last++;
    this.costs[Ev.vmaUpdate] += last - first;
    this.vmas.splice(first, last - first);
  }

  /** vma_merge(): fold neighbours that became identical again. */
  mergeVmas(): void {
    const out: Vma[] = [];
    for (const v of this.vmas) {
      const prev = out[out.length - 1];
      if (
        prev &&
        prev.end === v.start &&
        prev.flags === v.flags &&
        prev.kind === v.kind &&
        prev.file === v.file &&
        prev.anonVma === v.anonVma &&
        prev.mapping === v.mapping &&
        prev.pgoff + (prev.end - prev.start) === v.pgoff
      ) {
        prev.end = v.end;
      } else {
        out.push(v);
      }
    }
    this.vmas = out;
  }
}
