/**
 * Swap (mm/swapfile.c, mm/swap_state.c, Linux 6.18) on a swap file: order-0 slots, a swap map
 * counting the PTEs that hold each entry, and the swap cache, whose folios hold a reference.
 * Large folios are split before they reach a swap file (swpout_fallback), as 6.18 does.
 */

import { Ev } from "./costs.js";
import { ScenarioError } from "./errors.js";
import { folioMapped, folioPutRefs, folioRefAdd } from "./folio.js";
import type { Kernel } from "./kernel.js";
import { NIL, PG } from "./mem-map.js";
import { MM_ANONPAGES, MM_SWAPENTS, VM, type Vma } from "./mm.js";
import type { PteTable } from "./page-table.js";
import { mkPte, PTE, PTE_FLAG_MASK, pteIndex, ptePfn } from "./page-table.js";
import { folioAddAnonRmapPtes, folioAddNewAnonRmap } from "./rmap.js";
import { lruAddBatchAdd } from "./swap.js";

export class SwapDevice {
  /** swap_map: PTE references per slot. */
  readonly count: Int32Array;
  /** The swap cache: folio + 1 per slot, 0 when none (so an unused swap file stays untouched). */
  private readonly cache: Int32Array;
  /** What was written to each slot. */
  readonly content: Uint32Array;
  /**
   * folio->swap of each swap-cache folio (the reverse of `cache`). Only swap-cache folios have
   * one, so it lives here rather than as a word in every struct page.
   */
  readonly folioSlot = new Map<number, number>();
  /** Slot in use (allocated to a folio or referenced by PTEs). */
  readonly used: Uint8Array;
  private next = 0;
  inUse = 0;

  constructor(readonly nrSlots: number) {
    this.count = new Int32Array(nrSlots);
    this.cache = new Int32Array(nrSlots);
    this.content = new Uint32Array(nrSlots);
    this.used = new Uint8Array(nrSlots);
  }

  /** The swap cache folio of a slot, or -1 (swap_cache_get_folio()). */
  cachedFolio(slot: number): number {
    return (this.cache[slot] as number) - 1;
  }

  /** Put a folio in the swap cache at slot, or empty it (folio -1). */
  setCached(slot: number, folio: number): void {
    this.cache[slot] = folio + 1;
  }

  /** get_swap_pages() for one order-0 slot; -1 when full. */
  alloc(): number {
    if (this.inUse === this.nrSlots) return -1;
    for (let i = 0; i < this.nrSlots; i++) {
      const slot = (this.next + i) % this.nrSlots;
      if (!this.used[slot]) {
        this.used[slot] = 1;
        this.next = slot + 1;
        this.inUse++;
        return slot;
      }
    }
    return -1;
  }

  release(slot: number): void {
    this.used[slot] = 0;
    this.count[slot] = 0;
    this.setCached(slot, -1);
    this.inUse--;
  }
}

/** Give the kernel a swap device of nrSlots slots (swapon). */
export function installSwap(k: Kernel, nrSlots: number): SwapDevice {
  const swap = new SwapDevice(nrSlots);
  k.swap = swap;
  return swap;
}

/** swap_duplicate(): one more swap PTE refers to the slot (fork copies it). */
export function swapDuplicate(swap: SwapDevice, slot: number): void {
  swap.count[slot] = (swap.count[slot] as number) + 1;
}

/** The content of a swapped-out page: its swap-cache folio's, or what the slot holds. */
export function peekSwap(k: Kernel, swap: SwapDevice, pte: number): number {
  const slot = ptePfn(pte);
  const folio = swap.cachedFolio(slot);
  return folio >= 0 ? (k.mem.content[folio] as number) : (swap.content[slot] as number);
}

function slotOf(swap: SwapDevice, folio: number): number {
  return swap.folioSlot.get(folio) ?? -1;
}

/** add_to_swap(): give a small anon folio a slot and put it in the swap cache (one reference). */
export function addToSwap(k: Kernel, swap: SwapDevice, folio: number): boolean {
  const slot = swap.alloc();
  if (slot < 0) return false;
  swap.setCached(slot, folio);
  swap.folioSlot.set(folio, slot);
  // add_to_swap() marks the folio dirty: a MADV_FREE'd PTE may have lost its dirty bit.
  k.mem.flags[folio] = (k.mem.flags[folio] as number) | PG.swapcache | PG.dirty;
  folioRefAdd(k, folio, 1);
  return true;
}

/** delete_from_swap_cache() + the slot when no PTE needs it. Drops the cache's reference. */
function deleteFromSwapCache(k: Kernel, swap: SwapDevice, folio: number): void {
  const slot = slotOf(swap, folio);
  swap.setCached(slot, -1);
  swap.folioSlot.delete(folio);
  k.mem.flags[folio] = (k.mem.flags[folio] as number) & ~PG.swapcache;
  if ((swap.count[slot] as number) === 0) swap.release(slot);
  folioPutRefs(k, folio, 1);
}

/** folio_free_swap(): leave the swap cache if no swap PTE still refers to the entry. */
export function folioFreeSwap(k: Kernel, swap: SwapDevice, folio: number): boolean {
  if (((k.mem.flags[folio] as number) & PG.swapcache) === 0) return false;
  const slot = slotOf(swap, folio);
  if ((swap.count[slot] as number) > 0) return false;
  deleteFromSwapCache(k, swap, folio);
  return true;
}

/**
 * pageout() -> swap_writeout() (mm/vmscan.c, mm/page_io.c, 6.18) for a dirty swap-cache folio:
 * the dirty bit is cleared for IO; then nothing is written when folio_free_swap() can drop the
 * swap entry (no swap PTE refers to it any more), nor for a zero-filled folio (its entries go in
 * the swap zeromap, 6.12+, and read back as zeros). Otherwise __swap_writepage() writes it: the
 * caller counts pswpout for a true result.
 */
export function swapWriteout(k: Kernel, swap: SwapDevice, folio: number): boolean {
  k.mem.flags[folio] = (k.mem.flags[folio] as number) & ~PG.dirty;
  if (folioFreeSwap(k, swap, folio)) return false;
  const slot = slotOf(swap, folio);
  const value = k.mem.content[folio] as number;
  swap.content[slot] = value;
  if (value !== 0) k.costs[Ev.swapOutPages] += 1 << (k.mem.order[folio] as number);
  return value !== 0;
}

/** Remove a fully unmapped, written folio from the swap cache (its data lives in the slot now). */
export function swapcacheEvict(k: Kernel, swap: SwapDevice, folio: number): void {
  const slot = slotOf(swap, folio);
  swap.setCached(slot, -1);
  swap.folioSlot.delete(folio);
  k.mem.flags[folio] = (k.mem.flags[folio] as number) & ~PG.swapcache;
  if ((swap.count[slot] as number) === 0) swap.release(slot);
  folioPutRefs(k, folio, 1);
}

/** free_swap_and_cache(): a zapped swap PTE drops its count; the last one frees cache and slot. */
export function freeSwapAndCache(k: Kernel, swap: SwapDevice, slot: number): void {
  k.costs[Ev.swapEntriesPut]++;
  const c = (swap.count[slot] as number) - 1;
  swap.count[slot] = c;
  if (c > 0) return;
  const folio = swap.cachedFolio(slot);
  if (folio >= 0) {
    if (!folioMapped(k, folio)) deleteFromSwapCache(k, swap, folio);
  } else {
    swap.release(slot);
  }
}

/**
 * swap_pte_batch() (mm/internal.h, 6.18): how many swap PTEs from slot i on, at most max, hold
 * consecutive swap slots with the same marker bits (exclusive, ...) as pte, the one at i.
 */
export function swapPteBatch(ptes: PteTable, i: number, max: number, pte: number): number {
  const flags = pte & PTE_FLAG_MASK;
  const slot = ptePfn(pte);
  let n = 1;
  while (n < max) {
    const next = ptes[i + n] as number;
    if ((next & PTE_FLAG_MASK) !== flags || ptePfn(next) !== slot + n) break;
    n++;
  }
  return n;
}

/**
 * The swap-PTE body zap_nonpresent_ptes() and madvise_free_pte_range() share (6.18): the batch of
 * swap PTEs from slot i holding consecutive slots (swap_pte_batch()) is cleared, leaves the mm's
 * MM_SWAPENTS in `rss` and goes to free_swap_and_cache_nr(). Returns the PTEs consumed.
 */
export function zapSwapPtes(k: Kernel, ptes: PteTable, i: number, max: number, pte: number, rss: Float64Array): number {
  const nr = swapPteBatch(ptes, i, max, pte);
  ptes.fill(0, i, i + nr);
  k.costs[Ev.pteRead] += nr - 1;
  rss[MM_SWAPENTS] = (rss[MM_SWAPENTS] as number) - nr;
  if (k.swap) freeSwapAndCacheNr(k, k.swap, ptePfn(pte), nr);
  return nr;
}

/**
 * free_swap_and_cache_nr() (mm/swapfile.c, 6.18): nr consecutive swap entries zapped at once,
 * under one get_swap_device() and one cluster lock. Pages a split folio swapped out hold their
 * slots out of order (shrinkFolioList()), so they come here one entry per call.
 */
export function freeSwapAndCacheNr(k: Kernel, swap: SwapDevice, slot: number, nr: number): void {
  k.costs[Ev.freeSwapAndCacheNr]++;
  for (let j = 0; j < nr; j++) freeSwapAndCache(k, swap, slot + j);
}

/**
 * vm_swap_full() (include/linux/swap.h, 6.18): more than half of the swap space is in use.
 * mem_cgroup_swap_full() is this on a machine without memcg swap limits.
 */
function vmSwapFull(swap: SwapDevice): boolean {
  return (swap.nrSlots - swap.inUse) * 2 < swap.nrSlots;
}

/**
 * should_try_to_free_swap() (mm/memory.c, 6.18): after swap-in, leave the swap cache only when
 * swap is getting full, the VMA or folio is mlocked, or a write fault will likely find us the
 * exclusive user (refcount == 1 + folio_nr_pages: our reference and the swap cache's). A read
 * fault keeps the swap cache, so a later reclaim of the still clean folio needs no write.
 */
function shouldTryToFreeSwap(k: Kernel, swap: SwapDevice, folio: number, vma: Vma, write: boolean): boolean {
  const flags = k.mem.flags[folio] as number;
  if ((flags & PG.swapcache) === 0) return false;
  if (vmSwapFull(swap) || (vma.flags & VM.locked) !== 0 || (flags & PG.mlocked) !== 0) return true;
  return write && (k.mem.refcount[folio] as number) === 1 + (1 << (k.mem.order[folio] as number));
}

/**
 * do_swap_page() (mm/memory.c, 6.18) on a swap file: the folio comes from the swap cache (or is
 * read into it: swapin_readahead() always goes through the swap cache on a swap file), the PTE's
 * swap count is dropped, should_try_to_free_swap() decides whether the swap cache is left, and
 * an exclusive folio (swap PTE marked exclusive, or refcount 1) is mapped writable, and dirty on a
 * write fault. A write fault that could not be mapped writable is finished by do_wp_page() in the
 * same fault (the caller does that).
 */
export function doSwapPage(k: Kernel, swap: SwapDevice, vma: Vma, ptes: PteTable, vpn: number, write: boolean): void {
  const i = pteIndex(vpn);
  const pte = ptes[i] as number;
  const slot = ptePfn(pte);
  let folio = swap.cachedFolio(slot);
  let fresh = false;
  if (folio < 0) {
    folio = k.mem.allocPages(0);
    if (folio === NIL) throw new ScenarioError(`${k.currentOp}: out of model memory during swap-in; raise config.memory`);
    k.costs[Ev.foliosAllocated]++;
    k.costs[Ev.swapInPages]++; // swap_read_folio()
    k.mem.content[folio] = swap.content[slot] as number;
    k.mem.flags[folio] = (k.mem.flags[folio] as number) | PG.swapcache;
    swap.folioSlot.set(folio, slot);
    swap.setCached(slot, folio);
    lruAddBatchAdd(k, folio); // __read_swap_cache_async(): folio_add_lru()
    fresh = true;
  }
  let exclusive = (pte & PTE.swpExclusive) !== 0;
  const mm = vma.mm;
  folioRefAdd(k, folio, 1);
  // swap_free_nr(): this PTE no longer holds the entry.
  k.costs[Ev.swapEntriesPut]++;
  swap.count[slot] = (swap.count[slot] as number) - 1;
  if (shouldTryToFreeSwap(k, swap, folio, vma, write)) folioFreeSwap(k, swap, folio);
  if ((k.mem.refcount[folio] as number) === 1) exclusive = true;
  if (fresh) {
    // The new folio's reference (1 from the allocation) is the swap cache's.
    folioAddNewAnonRmap(k, folio, vma, vpn, false);
    k.mem.flags[folio] = (k.mem.flags[folio] as number) & ~PG.anonExclusive;
  } else {
    folioAddAnonRmapPtes(k, folio, folio, 1, vma, false);
  }
  let flags = PTE.present | PTE.young;
  if (exclusive) {
    k.mem.flags[folio] = (k.mem.flags[folio] as number) | PG.anonExclusive;
    if ((vma.flags & VM.write) !== 0) flags |= PTE.write | (write ? PTE.dirty : 0);
  }
  ptes[i] = mkPte(folio, flags);
  k.costs[Ev.pteSet]++;
  mm.rss[MM_SWAPENTS] = (mm.rss[MM_SWAPENTS] as number) - 1;
  mm.rss[MM_ANONPAGES] = (mm.rss[MM_ANONPAGES] as number) + 1;
}
