/**
 * Physical memory: the struct page array (mem_map) as typed arrays indexed by pfn, and the
 * buddy allocator that hands out naturally aligned blocks.
 *
 * The kernel's struct page is 64 bytes and struct folio overlays the first pages of a large
 * folio. We do the same at 23 bytes per page: every page has a mapcount, refcount, flags,
 * order and content tag, plus two 32-bit "aux" words; the folio overlays those and the
 * refcount word of its tail pages (which the kernel keeps at zero), named aux2 here:
 *
 * | page      | aux0               | aux1               | aux2 (= refcount word) |
 * |-----------|--------------------|--------------------|------------------------|
 * | head + 0  | mapping id         | index (pgoff)      | _refcount              |
 * | head + 1  | _large_mapcount    | _nr_pages_mapped   | _entire_mapcount       |
 * | head + 2  | _pincount          | _mm_id[0]          | _mm_id[1]              |
 * | head + 3  | _mm_id_mapcount[0] | _mm_id_mapcount[1] | (unused)               |
 *
 * so, as in the kernel, order-1 folios have no MM_ID slots and no deferred list, and the
 * per-folio fields cost nothing extra. folio->swap (page->private) is held only by swap-cache
 * folios, so the swap device keeps it beside its cache instead of every page paying 4 bytes.
 * Free buddy blocks reuse aux0/aux1 of their head as the free-list links, as the kernel
 * reuses page->lru.
 *
 * Memory the scenario never touches costs nothing: the arrays start zeroed (fresh pages from
 * the OS), the 4 MiB blocks never handed out sit below `lazyTop` off the free lists, and the
 * allocator takes them in the order an eagerly built free list would (highest first).
 */

import { HPAGE_PMD_ORDER, MAX_PAGE_ORDER } from "./units.js";

/** Page and folio flags (one Uint16 per page; folio flags live on the head page). */
export const PG = {
  /** Page belongs to an allocated folio (head and tails). */
  allocated: 1 << 0,
  /** Head of a free buddy block (PageBuddy). */
  buddy: 1 << 1,
  anon: 1 << 2,
  swapbacked: 1 << 3,
  dirty: 1 << 4,
  referenced: 1 << 5,
  active: 1 << 6,
  lru: 1 << 7,
  swapcache: 1 << 8,
  /** PG_partially_mapped (6.12+). */
  partiallyMapped: 1 << 9,
  /** On the deferred split queue (!list_empty(&folio->_deferred_list)). */
  deferredList: 1 << 10,
  mlocked: 1 << 11,
  /** PageAnonExclusive: per page, not per folio. */
  anonExclusive: 1 << 12,
  /** FOLIO_MM_IDS_SHARED_BIT: "maybe mapped shared" (MM_ID, 6.15+). */
  mmIdsShared: 1 << 13,
  workingset: 1 << 14,
  /** The shared zero page and the huge zero folio: never allocated or freed. */
  reserved: 1 << 15,
} as const;

/** Sentinel for "none" in aux links. */
export const NIL = -1;

/**
 * Most model memory: 2^31 pages (8 TiB). Pfns must stay Int32 (the free-list links and the
 * folio arithmetic `pfn & ~(nr - 1)` are 32-bit); the PTE holds far more.
 */
export const MAX_MEMORY_PAGES = 2 ** 31;

/** The shared zero page (ZERO_PAGE(0)). */
export const ZERO_PFN = 0;
/** The huge zero folio (order 9) sits in the first reserved 4 MiB block. */
export const HUGE_ZERO_PFN = 512;
/** Pfns below this are reserved: zero page and huge zero folio. */
export const RESERVED_PAGES = 1 << MAX_PAGE_ORDER;

export class MemMap {
  readonly nrPages: number;
  /** page->_mapcount, -1 based as in the kernel. */
  readonly mapcount: Int32Array;
  /** page->_refcount (meaningful on the head page). */
  readonly refcount: Int32Array;
  readonly flags: Uint16Array;
  /** Order of the folio (or free block) the page belongs to. */
  readonly order: Uint8Array;
  /** Content tag: what a write stored, so tests can check what a process reads. */
  readonly content: Uint32Array;
  readonly aux0: Int32Array;
  readonly aux1: Int32Array;
  /** The refcount word: _refcount on a head page, the folio's third overlay word on its tails. */
  readonly aux2: Int32Array;
  /**
   * Pfns in [RESERVED_PAGES, lazyTop) are 4 MiB blocks never allocated: free, but not on the
   * order-10 free list and never written. Taken from the top down, as the list would give them.
   */
  lazyTop: number;

  /** Heads of the buddy free lists, one per order. */
  private readonly freeHead: Int32Array;
  /** Pages on the free lists (NR_FREE_PAGES). */
  nrFree = 0;

  constructor(nrPages: number) {
    if (nrPages % RESERVED_PAGES !== 0 || nrPages <= RESERVED_PAGES || nrPages > MAX_MEMORY_PAGES) {
      throw new RangeError(
        `memory must be a multiple of 4M, larger than 4M and at most ${MAX_MEMORY_PAGES} pages (got ${nrPages} pages)`,
      );
    }
    this.nrPages = nrPages;
    // _mapcount is -1 based; allocPages() sets it for every page it hands out, so free memory
    // stays untouched zeroes.
    this.mapcount = new Int32Array(nrPages);
    this.refcount = new Int32Array(nrPages);
    this.flags = new Uint16Array(nrPages);
    this.order = new Uint8Array(nrPages);
    this.content = new Uint32Array(nrPages);
    this.aux0 = new Int32Array(nrPages);
    this.aux1 = new Int32Array(nrPages);
    this.aux2 = this.refcount;
    this.freeHead = new Int32Array(MAX_PAGE_ORDER + 1).fill(NIL);

    // Reserved block: the zero page at pfn 0 and the huge zero folio at 512..1023.
    for (let pfn = 0; pfn < RESERVED_PAGES; pfn++) this.flags[pfn] = PG.reserved | PG.allocated;
    this.mapcount.fill(-1, 0, RESERVED_PAGES);
    this.order.fill(HPAGE_PMD_ORDER, HUGE_ZERO_PFN, HUGE_ZERO_PFN + (1 << HPAGE_PMD_ORDER));
    this.refcount[ZERO_PFN] = 1;
    this.refcount[HUGE_ZERO_PFN] = 1;
    this.lazyTop = nrPages;
    this.nrFree = nrPages - RESERVED_PAGES;
  }

  /** Bytes of typed-array state per simulated 4 KiB page. */
  static bytesPerPage(): number {
    return 4 + 4 + 2 + 1 + 4 + 4 + 4;
  }

  /**
   * The next pfn a walk over memory must look at after a pfn that is not an allocated folio:
   * past a free buddy block, past the never-touched blocks, or the next page.
   */
  skipFree(pfn: number): number {
    if (((this.flags[pfn] as number) & PG.buddy) !== 0) return pfn + (1 << (this.order[pfn] as number));
    if (pfn >= RESERVED_PAGES && pfn < this.lazyTop) return this.lazyTop;
    return pfn + 1;
  }

  /** compound_head(): the folio's head pfn. Folios are naturally aligned. */
  pageFolio(pfn: number): number {
    const order = this.order[pfn] as number;
    return pfn & ~((1 << order) - 1);
  }

  isReserved(pfn: number): boolean {
    return ((this.flags[pfn] as number) & PG.reserved) !== 0;
  }

  isAllocatedHead(pfn: number): boolean {
    if (pfn < 0 || pfn >= this.nrPages) return false;
    const f = this.flags[pfn] as number;
    return (f & PG.allocated) !== 0 && this.pageFolio(pfn) === pfn;
  }

  private pushFree(pfn: number, order: number): void {
    const head = this.freeHead[order] as number;
    this.flags[pfn] = PG.buddy;
    this.order[pfn] = order;
    this.aux0[pfn] = head;
    this.aux1[pfn] = NIL;
    if (head !== NIL) this.aux1[head] = pfn;
    this.freeHead[order] = pfn;
    this.nrFree += 1 << order;
  }

  private unlinkFree(pfn: number, order: number): void {
    const next = this.aux0[pfn] as number;
    const prev = this.aux1[pfn] as number;
    if (prev === NIL) this.freeHead[order] = next;
    else this.aux0[prev] = next;
    if (next !== NIL) this.aux1[next] = prev;
    this.flags[pfn] = 0;
    this.aux0[pfn] = 0;
    this.aux1[pfn] = 0;
    this.nrFree -= 1 << order;
  }

  /**
   * __rmqueue_smallest() + expand(): take the smallest free block of at least `order`,
   * return its low part and put the high halves back. Returns the head pfn or NIL.
   * The folio's struct pages are reset as prep_new_page()/prep_compound_page() would.
   */
  allocPages(order: number): number {
    let o = order;
    while (o <= MAX_PAGE_ORDER && this.freeHead[o] === NIL) o++;
    let pfn: number;
    if (o > MAX_PAGE_ORDER) {
      // The eager free list would hold the untouched blocks below every merged one.
      if (this.lazyTop <= RESERVED_PAGES) return NIL;
      o = MAX_PAGE_ORDER;
      this.lazyTop -= RESERVED_PAGES;
      pfn = this.lazyTop;
      this.nrFree -= RESERVED_PAGES;
    } else {
      pfn = this.freeHead[o] as number;
      this.unlinkFree(pfn, o);
    }
    while (o > order) {
      o--;
      this.pushFree(pfn + (1 << o), o);
    }
    const nr = 1 << order;
    const end = pfn + nr;
    if (nr <= 16) {
      for (let p = pfn; p < end; p++) {
        this.mapcount[p] = -1;
        this.flags[p] = PG.allocated;
        this.order[p] = order;
        this.content[p] = 0;
        this.aux0[p] = 0;
        this.aux1[p] = 0;
        this.refcount[p] = 0;
      }
    } else {
      this.mapcount.fill(-1, pfn, end);
      this.flags.fill(PG.allocated, pfn, end);
      this.order.fill(order, pfn, end);
      this.content.fill(0, pfn, end);
      this.aux0.fill(0, pfn, end);
      this.aux1.fill(0, pfn, end);
      this.refcount.fill(0, pfn, end);
    }
    this.refcount[pfn] = 1;
    if (order >= 1) {
      // _large_mapcount = -1, _nr_pages_mapped = 0, _entire_mapcount = -1
      this.aux0[pfn + 1] = -1;
      this.aux2[pfn + 1] = -1;
    }
    if (order >= 2) {
      // _mm_id_mapcount[0..1] = -1
      this.aux0[pfn + 3] = -1;
      this.aux1[pfn + 3] = -1;
    }
    return pfn;
  }

  /**
   * __free_one_page(): give a folio back, merging with free buddies. Only the flags are
   * reset: a walk over memory looks at nothing else of a free page (skipFree()), and
   * allocPages() rewrites every field of the pages it hands out, as prep_new_page() does.
   */
  freePages(pfn: number, order: number): void {
    // The arrays in locals: V8 reloads and rechecks `this.flags` at every loop iteration.
    const flags = this.flags;
    const orders = this.order;
    const nrPages = this.nrPages;
    const nr = 1 << order;
    if (nr <= 16) {
      for (let p = pfn; p < pfn + nr; p++) flags[p] = 0;
    } else {
      flags.fill(0, pfn, pfn + nr);
    }
    let head = pfn;
    let o = order;
    while (o < MAX_PAGE_ORDER) {
      const buddy = head ^ (1 << o);
      if (buddy >= nrPages || buddy < RESERVED_PAGES) break;
      if (((flags[buddy] as number) & PG.buddy) === 0 || orders[buddy] !== o) break;
      this.unlinkFree(buddy, o);
      head = Math.min(head, buddy);
      o++;
    }
    this.pushFree(head, o);
  }

  /** Free blocks of each order, for reporting (like /proc/buddyinfo). */
  buddyInfo(): number[] {
    const out: number[] = [];
    for (let o = 0; o <= MAX_PAGE_ORDER; o++) {
      let n = 0;
      for (let p = this.freeHead[o] as number; p !== NIL; p = this.aux0[p] as number) n++;
      if (o === MAX_PAGE_ORDER) n += (this.lazyTop - RESERVED_PAGES) / RESERVED_PAGES;
      out.push(n);
    }
    return out;
  }
}
