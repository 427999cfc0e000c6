/**
 * Folio accessors and the reference-count side of a folio's life: folio_get/folio_put,
 * folio_ref_sub_and_test and the final free. The refcount checks of the invariant checker
 * sit here, at the moment a reference is dropped, so that transient breakage is caught.
 */

import { Ev } from "./costs.js";
import { folioUnqueueDeferredSplit } from "./deferred-split.js";
import type { Kernel } from "./kernel.js";
import { type MemMap, PG } from "./mem-map.js";
import { MTHP } from "./stats.js";

/** ENTIRELY_MAPPED: added to _nr_pages_mapped while the folio is PMD-mapped. */
export const ENTIRELY_MAPPED = 0x800000;
export const FOLIO_PAGES_MAPPED = ENTIRELY_MAPPED - 1;

// ---- the folio overlay (mem-map.ts has the layout) -----------------------------------
// Every read and write of a folio's fields goes through these: the words are the raw atomics
// (as the kernel stores them: the mapcounts start at -1), the "folio*" functions below give
// the kernel's derived values (folio_mapcount(), folio_entire_mapcount(), ...).

/** folio->mapping: the owning file's id, or the anon_vma's for anon folios (0: none). */
export function folioMapping(m: MemMap, folio: number): number {
  return m.aux0[folio] as number;
}
export function folioSetMapping(m: MemMap, folio: number, mapping: number): void {
  m.aux0[folio] = mapping;
}

/** folio->index: the page offset in the file, or the linear page index in the anon_vma. */
export function folioIndex(m: MemMap, folio: number): number {
  return m.aux1[folio] as number;
}
export function folioSetIndex(m: MemMap, folio: number, index: number): void {
  m.aux1[folio] = index;
}

/** folio->_large_mapcount (6.10+), raw: -1 when unmapped. Large folios only. */
export function folioLargeMapcountRaw(m: MemMap, folio: number): number {
  return m.aux0[folio + 1] as number;
}
export function folioSetLargeMapcountRaw(m: MemMap, folio: number, v: number): void {
  m.aux0[folio + 1] = v;
}

/** folio->_nr_pages_mapped, raw (ENTIRELY_MAPPED included). Large folios only. */
export function folioNrPagesMappedRaw(m: MemMap, folio: number): number {
  return m.aux1[folio + 1] as number;
}
export function folioSetNrPagesMappedRaw(m: MemMap, folio: number, v: number): void {
  m.aux1[folio + 1] = v;
}

/** folio->_entire_mapcount, raw: -1 when not PMD-mapped. Large folios only. */
export function folioEntireMapcountRaw(m: MemMap, folio: number): number {
  return m.aux2[folio + 1] as number;
}
export function folioSetEntireMapcountRaw(m: MemMap, folio: number, v: number): void {
  m.aux2[folio + 1] = v;
}

/** folio->_pincount (order >= 1; FOLL_PIN on small folios counts in the refcount). */
export function folioPincount(m: MemMap, folio: number): number {
  return m.aux0[folio + 2] as number;
}
export function folioSetPincount(m: MemMap, folio: number, v: number): void {
  m.aux0[folio + 2] = v;
}

/** folio->_mm_id[slot] (6.15+, order >= 2): the mm's id in MM_ID slot 0 or 1, MM_ID_DUMMY when free. */
export function folioMmId(m: MemMap, folio: number, slot: 0 | 1): number {
  return (slot === 0 ? m.aux1[folio + 2] : m.aux2[folio + 2]) as number;
}
export function folioSetMmId(m: MemMap, folio: number, slot: 0 | 1, id: number): void {
  if (slot === 0) m.aux1[folio + 2] = id;
  else m.aux2[folio + 2] = id;
}

/** folio->_mm_id_mapcount[slot], raw: -1 when the slot's mm maps none of the folio. */
export function folioMmIdMapcountRaw(m: MemMap, folio: number, slot: 0 | 1): number {
  return (slot === 0 ? m.aux0[folio + 3] : m.aux1[folio + 3]) as number;
}
export function folioSetMmIdMapcountRaw(m: MemMap, folio: number, slot: 0 | 1, v: number): void {
  if (slot === 0) m.aux0[folio + 3] = v;
  else m.aux1[folio + 3] = v;
}

/** folio->swap: the swap slot a swap-cache folio owns, -1 when none (kept by the swap device). */
export function folioSwapSlot(k: Kernel, folio: number): number {
  return k.swap?.folioSlot.get(folio) ?? -1;
}

export function folioOrder(k: Kernel, folio: number): number {
  return k.mem.order[folio] as number;
}

export function folioNrPages(k: Kernel, folio: number): number {
  return 1 << (k.mem.order[folio] as number);
}

export function folioTestLarge(k: Kernel, folio: number): boolean {
  return (k.mem.order[folio] as number) > 0;
}

export function folioTestAnon(k: Kernel, folio: number): boolean {
  return ((k.mem.flags[folio] as number) & PG.anon) !== 0;
}

export function folioTestFlag(k: Kernel, folio: number, flag: number): boolean {
  return ((k.mem.flags[folio] as number) & flag) !== 0;
}

/** folio_test_lazyfree(): anon and no longer swap-backed (MADV_FREE). */
export function folioTestLazyfree(k: Kernel, folio: number): boolean {
  const f = k.mem.flags[folio] as number;
  return (f & PG.anon) !== 0 && (f & PG.swapbacked) === 0;
}

/** page_folio(). */
export function pageFolio(k: Kernel, pfn: number): number {
  return k.mem.pageFolio(pfn);
}

/** folio_mapcount(): small: _mapcount + 1; large: _large_mapcount + 1 (6.10+). */
export function folioMapcount(k: Kernel, folio: number): number {
  const m = k.mem;
  return (m.order[folio] as number) === 0 ? (m.mapcount[folio] as number) + 1 : folioLargeMapcountRaw(m, folio) + 1;
}

/** folio_entire_mapcount(): PMD mappings. */
export function folioEntireMapcount(k: Kernel, folio: number): number {
  return (k.mem.order[folio] as number) === 0 ? 0 : folioEntireMapcountRaw(k.mem, folio) + 1;
}

/** folio->_nr_pages_mapped (raw, ENTIRELY_MAPPED included). */
export function folioNrPagesMapped(k: Kernel, folio: number): number {
  return (k.mem.order[folio] as number) === 0 ? 0 : folioNrPagesMappedRaw(k.mem, folio);
}

/** page_mapcount() as the precise per-page count (PTE mappings + entire mappings). */
export function pageMapcount(k: Kernel, pfn: number): number {
  const folio = k.mem.pageFolio(pfn);
  return (k.mem.mapcount[pfn] as number) + 1 + folioEntireMapcount(k, folio);
}

export function folioRefCount(k: Kernel, folio: number): number {
  return k.mem.refcount[folio] as number;
}

/** folio_mapped(). */
export function folioMapped(k: Kernel, folio: number): boolean {
  return folioMapcount(k, folio) > 0;
}

function checkAllocated(k: Kernel, folio: number, what: string): void {
  if (!k.mem.isAllocatedHead(folio) || k.mem.isReserved(folio)) {
    k.violate("no-use-after-free", folio, `${what} on a folio that is not allocated`);
  }
}

/** folio_get() / folio_ref_add(). */
export function folioRefAdd(k: Kernel, folio: number, nr: number): void {
  if (k.invariants) checkAllocated(k, folio, "folio_get");
  k.mem.refcount[folio] = (k.mem.refcount[folio] as number) + nr;
  k.costs[Ev.refcountAtomic]++;
}

export function folioGet(k: Kernel, folio: number): void {
  folioRefAdd(k, folio, 1);
}

/**
 * folio_ref_sub_and_test(): drop nr references; true when the count reached zero. The
 * caller frees. With the checker on, the count may never fall below the mapcount: that is
 * David Hildenbrand's rule (unmap: mapcount first, then refcount) that Ryan Roberts' batch-zap v3
 * (July 2023) broke on s390 (review of v4 3/3, 3 Aug 2023).
 */
export function folioRefSubAndTest(k: Kernel, folio: number, nr: number): boolean {
  if (k.invariants) checkAllocated(k, folio, "dropping a reference");
  const ref = (k.mem.refcount[folio] as number) - nr;
  k.mem.refcount[folio] = ref;
  k.costs[Ev.refcountAtomic]++;
  if (k.invariants) checkRefDropped(k, folio, ref);
  return ref === 0;
}

/** The checker's side of folio_ref_sub_and_test(), out of line so that the put itself inlines. */
function checkRefDropped(k: Kernel, folio: number, ref: number): void {
  const mc = folioMapcount(k, folio);
  if (ref < mc) {
    k.violate(
      "refcount>=mapcount",
      folio,
      ref <= 0 ? `folio freed while still mapped: refcount ${ref}, mapcount ${mc}` : `refcount ${ref} fell below mapcount ${mc}`,
    );
  }
  if (ref < 0) k.violate("refcount>=mapcount", folio, `refcount went negative (${ref})`);
}

/**
 * The part of freeing every path shares (__folio_put -> free_unref_folios / free_one_page):
 * unqueue from the deferred split queue, leave the LRU, update the per-size anon count and
 * give the pages back. Lock and uncharge costs are counted by the caller, which batches them.
 */
export function freeFolio(k: Kernel, folio: number): void {
  const m = k.mem;
  const order = m.order[folio] as number;
  const nr = 1 << order;
  if (k.invariants) checkFreeFolio(k, folio, nr);
  folioUnqueueDeferredSplit(k, folio);
  const flags = m.flags[folio] as number;
  if ((flags & PG.anon) !== 0) k.stats.modMthp(order, MTHP.nrAnon, -1);
  m.freePages(folio, order);
  k.costs[Ev.pagesFreed] += nr;
  k.costs[Ev.foliosFreed]++;
  k.costs[Ev.structPageLines] += order === 0 ? 1 : 3;
}

/** The checker at a free, out of line so that freeFolio() inlines: no stale TLB entry, no mapping. */
function checkFreeFolio(k: Kernel, folio: number, nr: number): void {
  const stale = k.staleTlb as Uint16Array;
  for (let p = folio; p < folio + nr; p++) {
    if ((stale[p] as number) > 0) {
      k.violate("tlb-flush-before-free", p, "folio freed while a stale TLB entry still maps it");
    }
  }
  const mc = folioMapcount(k, folio);
  if (mc > 0) k.violate("refcount>=mapcount", folio, `folio freed while still mapped (mapcount ${mc})`);
}

/**
 * folio_put() -> __folio_put(): drop one reference and free on zero, taking the lruvec lock
 * for LRU removal and uncharging on its own (no batching).
 */
export function folioPutRefs(k: Kernel, folio: number, nr: number): void {
  if (folioRefSubAndTest(k, folio, nr)) {
    if (((k.mem.flags[folio] as number) & PG.lru) !== 0) k.costs[Ev.lruvecLock]++;
    k.costs[Ev.memcgUncharge]++;
    freeFolio(k, folio);
  }
}

export function folioPut(k: Kernel, folio: number): void {
  folioPutRefs(k, folio, 1);
}
