/**
 * Reclaim (mm/vmscan.c shrink_folio_list(), mm/rmap.c try_to_unmap_one(), Linux 6.18) and the
 * deferred split shrinker (deferred_split_scan()). Reclaim unmaps a folio through the rmap,
 * asking the strategy how many PTEs to batch; a clean lazyfree folio with no extra reference is
 * discarded, a redirtied one is kept and becomes swap-backed again; swap-backed anon goes to swap
 * (split to order 0 first on a swap file, counted as swpout_fallback) or, with no swap, stays.
 */

import { Ev } from "./costs.js";
import { folioIndex, folioMapcount, folioMapped, folioMapping, folioPutRefs, folioRefAdd, folioSwapSlot } from "./folio.js";
import { splitFolio, splitHugePmd } from "./huge-memory.js";
import type { Kernel } from "./kernel.js";
import { PG } from "./mem-map.js";
import { MM_ANONPAGES, MM_SWAPENTS, type Vma } from "./mm.js";
import { flushTlbMmRange } from "./mmu-gather.js";
import { mkPte, PTE, pmdIndex, pteFlags, pteIndex, ptePfn } from "./page-table.js";
import { folioMaybeDmaPinned, folioRemoveRmapPtes } from "./rmap.js";
import { folioReferenced, rmapWalk } from "./rmap-walk.js";
import { filemapUnaccountFolio, shmemWriteout } from "./shmem.js";
import { MTHP, VMSTAT } from "./stats.js";
import type { ReclaimUnmapContext } from "./strategy.js";
import { FolioBatch, lruAddBatchMove, lruLazyfreeDrain, SWAP_CLUSTER_MAX } from "./swap.js";
import { addToSwap, swapcacheEvict, swapDuplicate, swapWriteout } from "./swapfile.js";
import { PTRS_PER_PTE } from "./units.js";
import { folioMarkDirty, mmCounter } from "./zap.js";

/**
 * try_to_unmap_one() for one VMA. Returns false when the walk had to stop and keep the folio
 * (a redirtied lazyfree batch, an extra reference, a pinned exclusive page).
 */
function tryToUnmapOne(k: Kernel, folio: number, vma: Vma, headVpn: number): boolean {
  const m = k.mem;
  const nrPages = 1 << (m.order[folio] as number);
  const pgt = vma.mm.pgtables;
  const hidx = pmdIndex(headVpn);
  const huge = pgt.hugePmd.get(hidx);
  if (huge !== undefined && ptePfn(huge) === folio) splitHugePmd(k, vma, hidx); // TTU_SPLIT_HUGE_PMD
  const anon = ((m.flags[folio] as number) & PG.anon) !== 0;
  const strategy = k.hooks;
  for (let i = 0; i < nrPages; ) {
    const vpn = headVpn + i;
    if (vpn < vma.start || vpn >= vma.end) {
      i++;
      continue;
    }
    const ptes = pgt.pte.get(pmdIndex(vpn));
    const j = pteIndex(vpn);
    const pte = ptes ? (ptes[j] as number) : 0;
    if (!ptes || (pte & PTE.present) === 0 || ptePfn(pte) !== folio + i) {
      i++;
      continue;
    }
    const lazyfree = anon && ((m.flags[folio] as number) & PG.swapbacked) === 0;
    const tableEnd = (pmdIndex(vpn) + 1) * PTRS_PER_PTE;
    const max = Math.min(nrPages - i, vma.end - vpn, tableEnd - vpn);
    let nr = 1;
    if (strategy.reclaimUnmapBatch && max > 1) {
      const ctx: ReclaimUnmapContext = { k, vma, ptes, index: j, folio, pfn: folio + i, lazyfree };
      nr = strategy.reclaimUnmapBatch(ctx, max);
    }
    if (!Number.isInteger(nr) || nr < 1 || nr > max) {
      k.violate(
        "strategy-contract",
        folio + i,
        `reclaimUnmapBatch returned ${nr}; it must be 1..${max} (bounded by folio, VMA and PTE table)`,
      );
    }
    for (let t = 1; t < nr; t++) {
      const p = ptes[j + t] as number;
      if ((p & PTE.present) === 0 || ptePfn(p) !== folio + i + t) {
        k.violate(
          "strategy-contract",
          folio + i + t,
          `reclaimUnmapBatch batched ${nr} PTEs but PTE ${t} does not map the next page of the folio`,
        );
      }
    }
    // get_and_clear_ptes(): dirty/young of the batch merged.
    let merged = 0;
    for (let t = 0; t < nr; t++) merged |= pteFlags(ptes[j + t] as number);
    const saved = ptes.slice(j, j + nr);
    ptes.fill(0, j, j + nr);
    k.costs[Ev.pteClear] += nr;
    // should_defer_flush() (x86's arch_tlbbatch_should_defer(), 6.18) defers the flush to
    // try_to_unmap_flush() only when another CPU has the mm in its mm_cpumask. The model has one
    // CPU, as the probe runs every proc on one, so nothing is deferred: flush_tlb_range() flushes
    // the reclaiming task's own mm here, and another process's mm, loaded on no CPU, costs nothing
    // (flushTlbMmRange()). Measured with the tlb:tlb_flush tracepoint: MADV_PAGEOUT of 128M of 64K
    // lazyfree folios flushed 2048 times from try_to_unmap_one(), one local flush a folio; the
    // force_empty of `foliolab kernel reclaim/lazyfree-shared -f 4K` (64M, the child mapping 3/4 of
    // the pages) flushed the parent's 16384 pages one by one and nothing of the child's, no IPI.
    flushTlbMmRange(k, vma.mm, vpn, vpn + nr, false);
    if ((merged & PTE.dirty) !== 0) {
      folioMarkDirty(k, folio);
    }
    const mm = vma.mm;
    if (lazyfree) {
      const ref = m.refcount[folio] as number;
      const map = folioMapcount(k, folio);
      if (((m.flags[folio] as number) & PG.dirty) !== 0) {
        ptes.set(saved, j);
        m.flags[folio] = (m.flags[folio] as number) | PG.swapbacked;
        return false;
      }
      if (ref !== 1 + map) {
        ptes.set(saved, j);
        return false;
      }
      mm.rss[MM_ANONPAGES] = (mm.rss[MM_ANONPAGES] as number) - nr;
      folioRemoveRmapPtes(k, folio, folio + i, nr, vma);
      folioPutRefs(k, folio, nr);
      if (nr === nrPages) return true; // walk_done: the whole folio went in one batch
    } else if (anon) {
      const pfn = folio + i;
      const exclusive = ((m.flags[pfn] as number) & PG.anonExclusive) !== 0;
      if (exclusive && folioMaybeDmaPinned(k, folio)) {
        ptes.set(saved, j);
        return false;
      }
      m.flags[pfn] = (m.flags[pfn] as number) & ~PG.anonExclusive;
      const slot = folioSwapSlot(k, folio);
      if (k.swap) swapDuplicate(k.swap, slot);
      ptes[j] = mkPte(slot, PTE.swap | (exclusive ? PTE.swpExclusive : 0));
      mm.rss[MM_ANONPAGES] = (mm.rss[MM_ANONPAGES] as number) - 1;
      mm.rss[MM_SWAPENTS] = (mm.rss[MM_SWAPENTS] as number) + 1;
      folioRemoveRmapPtes(k, folio, pfn, 1, vma);
      folioPutRefs(k, folio, 1);
    } else {
      const counter = mmCounter(k, folio);
      mm.rss[counter] = (mm.rss[counter] as number) - nr;
      folioRemoveRmapPtes(k, folio, folio + i, nr, vma);
      folioPutRefs(k, folio, nr);
    }
    i += nr;
  }
  return true;
}

/** try_to_unmap(): every mapping through the rmap; true when the folio ends up unmapped. */
export function tryToUnmap(k: Kernel, folio: number): boolean {
  for (const { vma, headVpn } of rmapWalk(k, folio)) {
    if (!tryToUnmapOne(k, folio, vma, headVpn)) break;
  }
  return !folioMapped(k, folio);
}

/** A dirty file folio written back (the flusher's writeback): its pages' contents go to disk, the folio is clean. */
function writebackFileFolio(k: Kernel, folio: number): void {
  const m = k.mem;
  const file = k.files[folioMapping(m, folio) - 1];
  if (file) {
    const index = folioIndex(m, folio);
    for (let i = 0; i < 1 << (m.order[folio] as number); i++) {
      const v = m.content[folio + i] as number;
      if (v !== 0) file.disk.set(index + i, v);
      else file.disk.delete(index + i);
    }
  }
  m.flags[folio] = (m.flags[folio] as number) & ~PG.dirty;
}

/** __filemap_remove_folio(): the folio leaves its file's cache with the cache's nr references. */
function removeFromPagecache(k: Kernel, folio: number): void {
  const nr = 1 << (k.mem.order[folio] as number);
  const file = k.files[folioMapping(k.mem, folio) - 1];
  if (file) {
    file.setFolioRange(folioIndex(k.mem, folio), nr, -1);
    file.raMarks.delete(folioIndex(k.mem, folio));
    k.costs[Ev.pageCacheDelete]++; // __remove_mapping() -> __filemap_remove_folio()
    k.costs[Ev.iPagesLock]++;
    filemapUnaccountFolio(k, file, folio);
  }
  folioPutRefs(k, folio, nr);
}

/**
 * shrink_folio_list() over isolated folios (each gets an isolation reference for the pass).
 * `pressure`: the `reclaim` op's memory-pressure reclaim, not MADV_PAGEOUT's reclaim_pages()
 * (which passes ignore_references). Each mapped folio's references are checked first
 * (folio_check_references() -> folio_referenced(): an rmap walk). And the reclaim goes on until
 * nothing more comes free, so the dirty file folios it unmapped and kept are written back by the
 * flusher threads it woke (shrink_inactive_list(): wakeup_flusher_threads(WB_REASON_VMSCAN) when
 * every folio taken was dirty) and dropped by a later round (measured: a shared file mapping
 * written, then reclaimed, takes a major fault on the next write). Returns the number of pages
 * reclaimed.
 */
export function shrinkFolioList(k: Kernel, list: number[], pressure = false): number {
  const m = k.mem;
  // free_it: a reclaimed folio joins free_folios; a full batch (and the last one) is uncharged
  // and freed (mem_cgroup_uncharge_folios(), try_to_unmap_flush(), which has nothing deferred on
  // one CPU, free_unref_folios()). It left the LRU at isolation.
  const freeFolios = new FolioBatch(k);
  let reclaimed = 0;
  let entry: { folio: number; free: "discard" | "swap" | "pagecache" | null } | null = null;
  // The folio's own iteration ends where the kernel's does: kept, or through free_it.
  const finish = (e: { folio: number; free: "discard" | "swap" | "pagecache" | null }): void => {
    const { folio, free } = e;
    const nr = 1 << (m.order[folio] as number);
    if (free === "swap" && k.swap) {
      // A clean swap-cache folio (swapped in by a read fault, which kept the swap cache) is
      // still on swap: it is dropped without being written again.
      if (((m.flags[folio] as number) & PG.dirty) !== 0 && swapWriteout(k, k.swap, folio)) k.stats.countVm(VMSTAT.pswpout, nr);
      if (((m.flags[folio] as number) & PG.swapcache) !== 0) swapcacheEvict(k, k.swap, folio);
      reclaimed += nr;
    } else if (free === "discard") {
      k.stats.countVm(VMSTAT.pglazyfreed, nr);
      reclaimed += nr;
    } else if (free === "pagecache") {
      removeFromPagecache(k, folio);
      reclaimed += nr;
    } else {
      m.flags[folio] = (m.flags[folio] as number) | PG.lru;
      folioPutRefs(k, folio, 1);
      return;
    }
    freeFolios.add(folio, 1);
  };
  // The kernel takes folios from the tail of its list (lru_to_folio()) and a split adds the tail
  // pages there (list_add_tail()), so a split folio's pages come next, last first: a 16K folio's
  // pages get swap slots 0, 3, 2, 1 (measured in pagemap), which no swap_pte_batch() joins.
  const split: number[] = [];
  for (let q = 0; q < list.length || split.length > 0; ) {
    if (entry) finish(entry);
    entry = null;
    const folio = (split.length > 0 ? split.pop() : list[q++]) as number;
    if (!m.isAllocatedHead(folio) || m.isReserved(folio)) continue;
    folioRefAdd(k, folio, 1);
    k.costs[Ev.lruIsolate]++;
    m.flags[folio] = (m.flags[folio] as number) & ~PG.lru;
    entry = { folio, free: null };
    const flags = m.flags[folio] as number;
    const order = m.order[folio] as number;
    if ((flags & PG.mlocked) !== 0 || folioMaybeDmaPinned(k, folio)) continue;
    if (pressure && folioMapped(k, folio)) folioReferenced(k, folio);
    if ((flags & (PG.anon | PG.swapbacked)) === PG.swapbacked) {
      // Shmem: try_to_unmap() first (TTU_SPLIT_HUGE_PMD). A clean folio (only ever read: a
      // hole's zeroes) is dropped by __remove_mapping() with nothing written (measured: 512 read
      // pages paged out, pswpout 0, nr_shmem back to 0). A dirty one goes to pageout() ->
      // shmem_writeout(): without swap it is redirtied and kept (AOP_WRITEPAGE_ACTIVATE); a
      // large one is split first (measured: a PMD-mapped 2M folio paged out whole counts
      // thp_split_page 1, swpout_fallback 0, pswpout 512), its pieces joining the list.
      if (folioMapped(k, folio) && !tryToUnmap(k, folio)) continue;
      if (((m.flags[folio] as number) & PG.dirty) === 0) {
        entry.free = "pagecache";
        continue;
      }
      if (!k.swap) continue;
      if (order > 0) {
        if (!splitFolio(k, folio, 1)) continue;
        for (let p = folio + 1; p < folio + (1 << order); p++) {
          if (m.isAllocatedHead(p)) split.push(p);
        }
      }
      if (shmemWriteout(k, k.swap, folio)) entry.free = "swap";
      continue;
    }
    if ((flags & PG.anon) === 0) {
      // shrink_folio_list() (6.18): try_to_unmap() first, which moves dirty PTE bits to the
      // folio; then a dirty file folio is kept, unmapped (only kswapd writes filesystem folios
      // back: activate_locked), and a clean one is dropped from the page cache.
      if (folioMapped(k, folio) && !tryToUnmap(k, folio)) continue;
      if (pressure && ((m.flags[folio] as number) & PG.dirty) !== 0) writebackFileFolio(k, folio);
      if (((m.flags[folio] as number) & PG.dirty) === 0) entry.free = "pagecache";
      continue;
    }
    if ((flags & PG.swapbacked) !== 0) {
      if ((flags & PG.swapcache) === 0) {
        if (order > 0) {
          // A partially mapped folio is split right away (its unmapped pages need no IO); any
          // other large folio finds no swap for its size on a swap file and falls back to
          // order-0 pages (swpout_fallback). The pieces join the list.
          const partial = (flags & PG.partiallyMapped) !== 0;
          if (!splitFolio(k, folio, 1)) continue;
          if (!partial) k.stats.modMthp(order, MTHP.swpoutFallback, 1);
          for (let p = folio + 1; p < folio + (1 << order); p++) {
            if (m.isAllocatedHead(p)) split.push(p);
          }
        }
        if (!k.swap || !addToSwap(k, k.swap, folio)) continue;
      }
      if (!tryToUnmap(k, folio)) continue;
      entry.free = "swap";
      continue;
    }
    // Lazyfree.
    if (tryToUnmap(k, folio)) entry.free = "discard";
  }
  if (entry) finish(entry);
  freeFolios.flush();
  return reclaimed;
}

/**
 * deferred_split_scan(): split every partially mapped folio on the queue to order 0 (freeing
 * its unmapped pages); folios queued only as underused candidates are dropped from the queue,
 * since thp_underused() is false with the default max_ptes_none of 511.
 */
export function deferredSplitScan(k: Kernel): number {
  const m = k.mem;
  let split = 0;
  k.costs[Ev.splitQueueLock]++;
  for (const folio of [...k.deferredSplitQueue]) {
    folioRefAdd(k, folio, 1); // folio_try_get()
    if (((m.flags[folio] as number) & PG.partiallyMapped) !== 0) {
      if (splitFolio(k, folio, 1)) split++;
    } else {
      k.deferredSplitQueue.delete(folio);
      m.flags[folio] = (m.flags[folio] as number) & ~PG.deferredList;
      k.costs[Ev.deferredSplitDequeue]++;
    }
    folioPutRefs(k, folio, 1);
  }
  k.costs[Ev.splitQueueLock]++;
  return split;
}

/** MAX_RECLAIM_RETRIES (mm/internal.h): mem_cgroup_force_empty()'s rounds without progress. */
const MAX_RECLAIM_RETRIES = 16;
/** DEF_PRIORITY (include/linux/mmzone.h): a reclaim round scans lru_size >> priority, 12 down to 0. */
const DEF_PRIORITY = 12;

/**
 * The loop of mem_cgroup_force_empty() (mm/memcontrol-v1.c, 6.18) over the file LRU, counted:
 * try_to_free_mem_cgroup_pages(memcg, 1) rounds, each do_try_to_free_pages() lowering the priority
 * from DEF_PRIORITY until SWAP_CLUSTER_MAX pages came free (one shrink_node() a priority, with its
 * shrink_slab()); shrink_lruvec() takes lru_size >> priority pages in shrink_inactive_list() calls
 * of at most SWAP_CLUSTER_MAX pages (isolate_lru_folios() counts pages, so a folio larger than the
 * call's share goes whole) and stops once the round has its 32. Rounds that free nothing end the
 * loop after MAX_RECLAIM_RETRIES: the runner's own memory keeps the cgroup's usage above zero.
 * `folioPages` are the reclaimable folios' sizes in LRU order, every one of them reclaimed;
 * `lists` gives how many of them each shrink_inactive_list() call took into its shrink_folio_list().
 * The counts match the kernel's tracepoints here (mm_vmscan_memcg_reclaim_begin,
 * mm_vmscan_lru_shrink_inactive; pinned in vmscan.test.ts).
 */
export function memCgroupForceEmptyRounds(folioPages: readonly number[]): {
  rounds: number;
  shrinkNode: number;
  shrinkInactive: number;
  lists: number[];
} {
  const lists: number[] = [];
  let lruSize = 0;
  for (const n of folioPages) lruSize += n;
  let next = 0;
  let rounds = 0;
  let shrinkNode = 0;
  let shrinkInactive = 0;
  for (let retries = MAX_RECLAIM_RETRIES; retries > 0; ) {
    rounds++;
    let reclaimed = 0;
    for (let priority = DEF_PRIORITY; priority >= 0 && reclaimed < SWAP_CLUSTER_MAX; priority--) {
      shrinkNode++;
      // get_scan_count() with swappiness 0: SCAN_FILE, lru_size >> priority
      let scan = Math.floor(lruSize / 2 ** priority);
      while (scan > 0 && reclaimed < SWAP_CLUSTER_MAX) {
        const nrToScan = Math.min(scan, SWAP_CLUSTER_MAX);
        scan -= nrToScan;
        shrinkInactive++;
        let taken = 0;
        const first = next;
        while (taken < nrToScan && next < folioPages.length) taken += folioPages[next++] as number;
        if (next > first) lists.push(next - first);
        reclaimed += taken;
        lruSize -= taken;
      }
    }
    if (reclaimed === 0) retries--;
  }
  return { rounds, shrinkNode, shrinkInactive, lists };
}

/**
 * The `reclaim` op: reclaim of the scenario's memory cgroup until nothing more comes free, as the
 * kernel probe asks for it (v1 memory.force_empty with memory.swappiness 0, mem_cgroup_force_empty()
 * in mm/memcontrol-v1.c, 6.18): lru_add_drain_all(), then try_to_free_mem_cgroup_pages() rounds
 * that run the deferred split shrinker and scan only the file LRU (get_scan_count(): SCAN_FILE),
 * which holds lazyfree anon folios and the page cache. Lazyfree folios are discarded through every
 * process that maps them; file folios are unmapped from every process and dropped, dirty ones once
 * the flusher threads the reclaim woke have written them back. Swap-backed anon memory and shmem stay:
 * MADV_PAGEOUT names what to page out.
 *
 * The rounds, priority levels and shrink_inactive_list() calls are counted as the kernel runs them
 * (memCgroupForceEmptyRounds()): measured here, a force_empty with nothing to reclaim (16 rounds
 * of 13 priority levels) takes 0.7-1.6 ms of the op's time.
 */
export function reclaimPass(k: Kernel): number {
  k.costs[Ev.lruAddDrainAll]++; // mem_cgroup_force_empty(): lru_add_drain_all()
  lruAddBatchMove(k);
  lruLazyfreeDrain(k); // shrink_inactive_list(): lru_add_drain()
  deferredSplitScan(k);
  const m = k.mem;
  const list: number[] = [];
  const pages: number[] = [];
  for (let pfn = 0; pfn < m.nrPages; ) {
    const f = m.flags[pfn] as number;
    const order = m.order[pfn] as number;
    if ((f & PG.allocated) !== 0 && (f & PG.reserved) === 0) {
      const anon = (f & PG.anon) !== 0;
      if ((f & PG.lru) !== 0 && ((anon && (f & PG.swapbacked) === 0) || (!anon && (f & PG.swapbacked) === 0))) {
        list.push(pfn);
        pages.push(1 << order);
      }
      pfn += 1 << order;
    } else pfn = m.skipFree(pfn);
  }
  const r = memCgroupForceEmptyRounds(pages);
  k.costs[Ev.memcgReclaimRound] += r.rounds;
  k.costs[Ev.shrinkNode] += r.shrinkNode;
  k.costs[Ev.shrinkInactiveList] += r.shrinkInactive;
  // each shrink_inactive_list() call reclaims what it isolated in its own shrink_folio_list()
  let reclaimed = 0;
  let at = 0;
  for (const n of r.lists) {
    reclaimed += shrinkFolioList(k, list.slice(at, at + n), true);
    at += n;
  }
  return reclaimed;
}
