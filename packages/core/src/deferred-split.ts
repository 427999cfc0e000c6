/**
 * The deferred split queue (mm/huge_memory.c, Linux 6.12..6.18 semantics): a large anon folio
 * that becomes partially mapped is flagged PG_partially_mapped and queued once, so that the
 * shrinker can later split it and free its unmapped pages.
 */

import { Ev } from "./costs.js";
import type { Kernel } from "./kernel.js";
import { PG } from "./mem-map.js";
import { MTHP, VMSTAT } from "./stats.js";
import { HPAGE_PMD_ORDER } from "./units.js";

/**
 * deferred_split_folio(folio, partially_mapped) (6.12+): order <= 1, swapcache, and
 * "not partially mapped while underused splitting is off" return early; otherwise the
 * split_queue_lock is taken unconditionally.
 */
export function deferredSplitFolio(k: Kernel, folio: number, partiallyMapped: boolean): void {
  const m = k.mem;
  const order = m.order[folio] as number;
  if (order <= 1) return;
  if (!partiallyMapped && !k.config.shrinkUnderused) return;
  let flags = m.flags[folio] as number;
  if ((flags & PG.swapcache) !== 0) return;
  k.costs[Ev.splitQueueLock]++;
  k.costs[Ev.structPageLines]++; // page[2]: _deferred_list
  if (partiallyMapped && (flags & PG.partiallyMapped) === 0) {
    flags |= PG.partiallyMapped;
    if (order === HPAGE_PMD_ORDER) k.stats.countVm(VMSTAT.thpDeferredSplitPage);
    k.stats.modMthp(order, MTHP.splitDeferred, 1);
    k.stats.modMthp(order, MTHP.nrAnonPartiallyMapped, 1);
  }
  if ((flags & PG.deferredList) === 0) {
    flags |= PG.deferredList;
    k.deferredSplitQueue.add(folio);
    k.costs[Ev.deferredSplitEnqueue]++;
  }
  m.flags[folio] = flags;
}

/**
 * folio_unqueue_deferred_split() (6.12+, named so after CVE-2024-53079): on free or split,
 * leave the queue under the lock and drop the partially-mapped gauge. As in the kernel, the
 * lockless checks (order <= 1, not on the list) stay small enough to inline into every free,
 * and __folio_unqueue_deferred_split() does the rest.
 */
export function folioUnqueueDeferredSplit(k: Kernel, folio: number): void {
  const m = k.mem;
  if ((m.order[folio] as number) < 2) return;
  if (((m.flags[folio] as number) & PG.deferredList) === 0) return;
  __folioUnqueueDeferredSplit(k, folio);
}

/** __folio_unqueue_deferred_split() (mm/huge_memory.c, 6.12+): the folio is on the queue. */
function __folioUnqueueDeferredSplit(k: Kernel, folio: number): void {
  const m = k.mem;
  let flags = m.flags[folio] as number;
  k.costs[Ev.splitQueueLock]++;
  k.costs[Ev.deferredSplitDequeue]++;
  k.deferredSplitQueue.delete(folio);
  flags &= ~PG.deferredList;
  if ((flags & PG.partiallyMapped) !== 0) {
    flags &= ~PG.partiallyMapped;
    k.stats.modMthp(m.order[folio] as number, MTHP.nrAnonPartiallyMapped, -1);
  }
  m.flags[folio] = flags;
}
