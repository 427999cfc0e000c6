/**
 * Releasing gathered pages (mm/swap.c, mm/swap_state.c): the v6.5 release_pages() that drops
 * one reference per entry, the 6.9+ folios_put_refs() that drops many per folio in batches of
 * PAGEVEC_SIZE, and free_swap_cache(). Lock, uncharge and free costs are counted as the
 * kernel pays them, so strategies that batch differently show it.
 */

import { Ev } from "./costs.js";
import { folioMapped, folioRefAdd, folioRefSubAndTest, freeFolio } from "./folio.js";
import type { Kernel } from "./kernel.js";
import { PG } from "./mem-map.js";
import { VMSTAT } from "./stats.js";
import { folioFreeSwap } from "./swapfile.js";

/** SWAP_CLUSTER_MAX: release_pages() drops the lruvec lock this often. */
export const SWAP_CLUSTER_MAX = 32;
/** PAGEVEC_SIZE: folios per folio_batch (31 since 6.10). */
export const PAGEVEC_SIZE = 31;

/**
 * lru_add_drain(): flush this CPU's LRU batches: the lru_add batch's references are put (a folio
 * unmapped meanwhile is freed now), the lru_lazyfree batch's PGLAZYFREE events are counted
 * (lruLazyfreeDrain), the lru_activate batch moves.
 */
export function lruAddDrain(k: Kernel): void {
  k.costs[Ev.lruAddDrain]++;
  lruAddBatchMove(k);
  lruLazyfreeDrain(k);
  lruActivateDrain(k);
}

/**
 * folio_add_lru() (6.18 __folio_batch_add_and_move()): the lru_add batch takes a reference on the
 * folio and moves when it holds PAGEVEC_SIZE folios; a large folio moves at once
 * (folio_may_be_lru_cached()). The model puts the folio on the LRU at once (PG_lru) but keeps the
 * batch's reference: an order-0 folio unmapped while it waits is freed when the batch moves, in
 * whatever op fills it (measured: perf of `foliolab kernel wis/tlb_flush2 -f 4K`, a page written
 * and MADV_DONTNEEDed in turn, has folios_put_refs() in a quarter of its MADV_DONTNEEDs' share
 * of pmfb/pte-dontneed's, whose pages were populated long before).
 */
export function lruAddBatchAdd(k: Kernel, folio: number): void {
  k.costs[Ev.lruAdd]++;
  k.mem.flags[folio] = (k.mem.flags[folio] as number) | PG.lru;
  if ((k.mem.order[folio] as number) > 0) return;
  const b = k.lruAddBatch;
  folioRefAdd(k, folio, 1);
  b.folios[b.nr++] = folio;
  if (b.nr === PAGEVEC_SIZE) lruAddBatchMove(k);
}

/** Whether an order-0 folio still waits in the lru_add batch (the kernel's !folio_test_lru()). */
export function folioInLruAddBatch(k: Kernel, folio: number): boolean {
  const b = k.lruAddBatch;
  for (let i = 0; i < b.nr; i++) if (b.folios[i] === folio) return true;
  return false;
}

/** folio_batch_move_lru() of the lru_add batch: one lruvec lock, then folios_put() of its references. */
export function lruAddBatchMove(k: Kernel): void {
  const b = k.lruAddBatch;
  if (b.nr === 0) return;
  k.costs[Ev.lruvecLock]++;
  const n = b.nr;
  b.nr = 0;
  foliosPutRefs(k, b.folios, b.refs, n);
}

/** folio_batch_move_lru() of this CPU's lru_activate batch: one lruvec lock for the batch. */
export function lruActivateDrain(k: Kernel): void {
  const b = k.lruActivate;
  if (b.folios === 0) return;
  k.costs[Ev.lruvecLock]++;
  b.folios = 0;
}

/**
 * folio_activate()'s folio_batch_add_and_move() (6.18): the batch moves when it is full
 * (PAGEVEC_SIZE folios) or when the folio is large (folio_may_be_lru_cached()).
 */
export function lruActivateAdd(k: Kernel, nrPages: number): void {
  const b = k.lruActivate;
  k.costs[Ev.lruMove]++;
  b.folios++;
  if (b.folios === PAGEVEC_SIZE || nrPages > 1) lruActivateDrain(k);
}

/**
 * lru_lazyfree_fn() over this CPU's batch (mm/swap.c, 6.18): PGLAZYFREE is counted when the
 * batch moves, so pages MADV_FREE marked since the last drain are not counted yet. The model
 * flips the folio's flags at once and defers only the count.
 */
export function lruLazyfreeDrain(k: Kernel): void {
  const b = k.lruLazyfree;
  if (b.folios === 0) return;
  k.costs[Ev.lruvecLock]++;
  k.stats.countVm(VMSTAT.pglazyfree, b.pages);
  b.folios = 0;
  b.pages = 0;
}

/**
 * folio_mark_lazyfree()'s folio_batch_add_and_move() (6.18): the batch moves when it is full
 * (PAGEVEC_SIZE folios) or when the folio is large.
 */
export function lruLazyfreeAdd(k: Kernel, nrPages: number): void {
  const b = k.lruLazyfree;
  k.costs[Ev.lruMove]++;
  b.folios++;
  b.pages += nrPages;
  if (b.folios === PAGEVEC_SIZE || nrPages > 1) lruLazyfreeDrain(k);
}

/**
 * free_swap_cache(): a folio in the swap cache that is no longer mapped leaves it, so its
 * swap slot and the swap cache's references go.
 */
export function freeSwapCache(k: Kernel, folio: number): void {
  k.costs[Ev.freeSwapCache]++;
  if (((k.mem.flags[folio] as number) & PG.swapcache) !== 0 && !folioMapped(k, folio)) {
    if (k.swap) folioFreeSwap(k, k.swap, folio);
  }
}

/**
 * release_pages() (v6.5): one reference per entry (or refs[i], as Ryan Roberts' v2
 * folios_put_refs() built on the same loop). Small folios that hit zero leave the LRU
 * under the lruvec lock, held across up to SWAP_CLUSTER_MAX entries; a large folio's final
 * put drops the lock and takes it again on its own (__page_cache_release).
 */
export function releasePages(k: Kernel, pfns: ArrayLike<number>, from: number, to: number, refs?: ArrayLike<number>): void {
  const m = k.mem;
  let locked = false;
  let lockBatch = 0;
  let freedAny = false;
  for (let i = from; i < to; i++) {
    const folio = m.pageFolio(pfns[i] as number);
    k.costs[Ev.structPageLines]++;
    if (locked && ++lockBatch === SWAP_CLUSTER_MAX) {
      locked = false;
    }
    if (m.isReserved(folio)) continue;
    if (!folioRefSubAndTest(k, folio, refs ? (refs[i] as number) : 1)) continue;
    freedAny = true;
    const onLru = ((m.flags[folio] as number) & PG.lru) !== 0;
    if ((m.order[folio] as number) > 0) {
      locked = false;
      if (onLru) k.costs[Ev.lruvecLock]++;
      freeFolio(k, folio);
      continue;
    }
    if (onLru && !locked) {
      locked = true;
      lockBatch = 0;
      k.costs[Ev.lruvecLock]++;
    }
    freeFolio(k, folio);
  }
  if (freedAny) k.costs[Ev.memcgUncharge]++;
}

/**
 * folios_put_refs() (6.9+): drop refs[i] from folios[i] for a folio_batch; the lruvec lock
 * is taken once and held across the batch, memcg is uncharged once, and the batch is freed
 * together by free_unref_folios().
 */
export function foliosPutRefs(k: Kernel, folios: ArrayLike<number>, refs: ArrayLike<number>, n: number): void {
  const flags = k.mem.flags;
  let locked = false;
  let freedAny = false;
  for (let i = 0; i < n; i++) {
    const folio = folios[i] as number;
    if (((flags[folio] as number) & PG.reserved) !== 0) continue;
    if (!folioRefSubAndTest(k, folio, refs[i] as number)) continue;
    freedAny = true;
    if (((flags[folio] as number) & PG.lru) !== 0 && !locked) {
      locked = true;
      k.costs[Ev.lruvecLock]++;
    }
    freeFolio(k, folio);
  }
  if (freedAny) k.costs[Ev.memcgUncharge]++;
}

/**
 * A folio_batch being filled for folios_put_refs(): free_pages_and_swap_cache() (6.9+)
 * adds each gathered folio with its reference count and puts the batch when it is full.
 */
export class FolioBatch {
  readonly folios = new Int32Array(PAGEVEC_SIZE);
  readonly refs = new Int32Array(PAGEVEC_SIZE);
  nr = 0;

  constructor(private readonly k: Kernel) {}

  /** folio_batch_add(); puts the batch (folios_put_refs) once it holds PAGEVEC_SIZE folios. */
  add(folio: number, refs: number): void {
    this.folios[this.nr] = folio;
    this.refs[this.nr] = refs;
    if (++this.nr === PAGEVEC_SIZE) this.flush();
  }

  flush(): void {
    if (this.nr === 0) return;
    foliosPutRefs(this.k, this.folios, this.refs, this.nr);
    this.nr = 0;
  }
}
