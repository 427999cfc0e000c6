/**
 * MADV_FREE, MADV_COLD and MADV_PAGEOUT on large folios (mm/madvise.c, Linux 6.18):
 * madvise_free_pte_range() / madvise_free_huge_pmd() and madvise_cold_or_pageout_pte_range().
 * A large folio the range covers only in part is split, unless it may be mapped by another
 * process (then it is left alone); a fully covered one is handled whole, if exclusive.
 */

import { Ev } from "./costs.js";
import { ScenarioError } from "./errors.js";
import { folioMapcount, folioPutRefs, folioRefAdd } from "./folio.js";
import { isHugeZeroPmd, splitFolio } from "./huge-memory.js";
import type { Kernel } from "./kernel.js";
import { PG } from "./mem-map.js";
import type { MmStruct, Vma } from "./mm.js";
import { type MmuGather, tlbFinishMmu, tlbGatherMmu, tlbRemovePmdTlbEntry, tlbRemoveTlbEntries } from "./mmu-gather.js";
import type { PteTable } from "./page-table.js";
import { isSwapPte, PTE, pmdAddrEnd, pmdIndex, pteClearFlags, pteIndex, ptePfn } from "./page-table.js";
import { folioMaybeMappedShared } from "./rmap-walk.js";
import { lruAddBatchMove, lruAddDrain, lruLazyfreeAdd, lruLazyfreeDrain } from "./swap.js";
import { folioFreeSwap, zapSwapPtes } from "./swapfile.js";
import { PTRS_PER_PTE } from "./units.js";
import { shrinkFolioList } from "./vmscan.js";

/** folio_mark_lazyfree(): a clean anon folio becomes discardable (!swapbacked). */
function folioMarkLazyfree(k: Kernel, folio: number): void {
  const f = k.mem.flags[folio] as number;
  if ((f & PG.anon) === 0 || (f & PG.swapbacked) === 0 || (f & PG.swapcache) !== 0 || (f & PG.mlocked) !== 0) return;
  k.mem.flags[folio] = (f & ~(PG.swapbacked | PG.active | PG.referenced)) | PG.lru;
  lruLazyfreeAdd(k, 1 << (k.mem.order[folio] as number));
}

/** PTEs from slot i mapping consecutive pages of the folio, within the range (folio_pte_batch). */
function batchInRange(k: Kernel, ptes: PteTable, i: number, end: number, folio: number): number {
  const first = ptePfn(ptes[i] as number);
  const limit = Math.min(end - i, folio + (1 << (k.mem.order[folio] as number)) - first);
  let n = 1;
  while (n < limit) {
    const p = ptes[i + n] as number;
    k.costs[Ev.pteRead]++;
    if ((p & PTE.present) === 0 || ptePfn(p) !== first + n) break;
    n++;
  }
  return n;
}

/** Split a large folio the range covers only in part (folio_get + split_folio + folio_put). */
function splitPartial(k: Kernel, folio: number): boolean {
  folioRefAdd(k, folio, 1);
  const ok = splitFolio(k, folio, 1);
  folioPutRefs(k, folio, 1);
  return ok;
}

type PteVisitor = (vma: Vma, ptes: PteTable, i: number, folio: number, nr: number, tlb: MmuGather, vpn: number) => void;

/**
 * The walk MADV_FREE and MADV_COLD/PAGEOUT share: PMD-mapped THPs are handled whole when fully
 * covered and exclusive, split when covered in part (unless maybe shared); PTE-mapped large
 * folios the same; `visit` gets each batch that is to be handled, `beforeVma` each VMA as its walk starts.
 */
function walkRange(
  k: Kernel,
  mm: MmStruct,
  start: number,
  end: number,
  onSwapPte: ((vma: Vma, ptes: PteTable, i: number, max: number) => number) | null,
  visitPmd: (vma: Vma, idx: number, folio: number, tlb: MmuGather) => void,
  visit: PteVisitor,
  beforeVma?: (vma: Vma) => void,
): void {
  const tlb = tlbGatherMmu(k, mm, false);
  for (const vma of mm.vmasIn(start, end)) {
    beforeVma?.(vma);
    const s = Math.max(start, vma.start);
    const e = Math.min(end, vma.end);
    for (let addr = s; addr < e; ) {
      const next = pmdAddrEnd(addr, e);
      const idx = pmdIndex(addr);
      const huge = mm.pgtables.hugePmd.get(idx);
      if (huge !== undefined && !isHugeZeroPmd(huge)) {
        const folio = ptePfn(huge);
        if (folioMaybeMappedShared(k, folio)) {
          addr = next;
          continue;
        }
        if (next - addr === PTRS_PER_PTE) {
          visitPmd(vma, idx, folio, tlb);
          addr = next;
          continue;
        }
        if (!splitPartial(k, folio)) {
          addr = next;
          continue;
        }
      }
      const ptes = mm.pgtables.pte.get(idx);
      if (!ptes) {
        addr = next;
        continue;
      }
      const base = idx * PTRS_PER_PTE;
      for (let i = pteIndex(addr); i < next - base; ) {
        const pte = ptes[i] as number;
        k.costs[Ev.pteRead]++;
        if (pte === 0) {
          i++;
          continue;
        }
        if ((pte & PTE.present) === 0) {
          i += onSwapPte && isSwapPte(pte) ? onSwapPte(vma, ptes, i, next - base - i) : 1;
          continue;
        }
        const pfn = ptePfn(pte);
        if (k.mem.isReserved(pfn)) {
          i++;
          continue;
        }
        const folio = k.mem.pageFolio(pfn);
        const nrPages = 1 << (k.mem.order[folio] as number);
        const nr = nrPages > 1 ? batchInRange(k, ptes, i, next - base, folio) : 1;
        if (nr < nrPages) {
          if (folioMaybeMappedShared(k, folio) || !splitPartial(k, folio)) {
            i += nr;
            continue;
          }
          continue; // rescan: the folio is order 0 now
        }
        visit(vma, ptes, i, folio, nr, tlb, base + i);
        i += nr;
      }
      addr = next;
    }
  }
  tlbFinishMmu(tlb);
}

/** madvise(MADV_FREE). */
export function madviseFree(k: Kernel, mm: MmStruct, start: number, end: number): void {
  for (const v of mm.vmasIn(start, end)) {
    if (v.kind !== "anon") throw new ScenarioError(`${k.currentOp}: MADV_FREE works on private anonymous memory only (EINVAL)`);
  }
  walkRange(
    k,
    mm,
    start,
    end,
    (vma, ptes, i, max) => {
      // swap_pte_batch(), free_swap_and_cache_nr(): swapped-out pages are simply dropped.
      return zapSwapPtes(k, ptes, i, max, ptes[i] as number, vma.mm.rss);
    },
    (vma, idx, folio, tlb) => {
      // madvise_free_huge_pmd(): whole PMD covered; a young or dirty PMD is invalidated and set
      // old and clean (pmdp_invalidate(), set_pmd_at()).
      k.mem.flags[folio] = (k.mem.flags[folio] as number) & ~PG.dirty;
      const pgt = vma.mm.pgtables;
      const pmd = pgt.hugePmd.get(idx) as number;
      if ((pmd & (PTE.dirty | PTE.young)) !== 0) {
        pgt.hugePmd.set(idx, pteClearFlags(pmd, PTE.dirty | PTE.young));
        k.costs[Ev.pteClear]++;
        k.costs[Ev.pteSet]++;
        tlbRemovePmdTlbEntry(tlb, idx * PTRS_PER_PTE);
      }
      folioMarkLazyfree(k, folio);
    },
    (_vma, ptes, i, folio, nr, tlb, vpn) => {
      const f = k.mem.flags[folio] as number;
      if ((f & PG.anon) === 0) return;
      if ((f & (PG.swapcache | PG.dirty)) !== 0) {
        if (folioMapcount(k, folio) !== 1 << (k.mem.order[folio] as number)) return;
        if ((f & PG.swapcache) !== 0 && !(k.swap !== null && folioFreeSwap(k, k.swap, folio))) return;
        k.mem.flags[folio] = (k.mem.flags[folio] as number) & ~PG.dirty;
      }
      // clear_young_dirty_ptes() when any PTE of the batch is young or dirty: get_and_clear and
      // set back old and clean, PTE by PTE (the generic body x86 runs); then the TLB entries.
      let any = 0;
      for (let j = i; j < i + nr; j++) any |= ptes[j] as number;
      if ((any & (PTE.dirty | PTE.young)) !== 0) {
        for (let j = i; j < i + nr; j++) ptes[j] = pteClearFlags(ptes[j] as number, PTE.dirty | PTE.young);
        k.costs[Ev.pteClear] += nr;
        k.costs[Ev.pteSet] += nr;
        tlbRemoveTlbEntries(tlb, vpn, nr);
      }
      folioMarkLazyfree(k, folio);
    },
    // madvise_free_single_vma(): lru_add_drain() for each VMA of the range (measured: MADV_FREE
    // over two VMAs of 16 and 80 written pages counts 16 + 62, not 93).
    () => lruAddDrain(k),
  );
}

/** madvise(MADV_COLD) / madvise(MADV_PAGEOUT). */
export function madviseColdOrPageout(k: Kernel, mm: MmStruct, start: number, end: number, pageout: boolean): void {
  // madvise_cold()/madvise_pageout(): lru_add_drain()
  lruAddBatchMove(k);
  lruLazyfreeDrain(k);
  // madvise_cold_or_pageout_pte_range() isolates a PMD's folios and ends with reclaim_pages() of
  // that list: one shrink_folio_list() a PMD range of a VMA (its free batches and TLB flushes).
  const lists: Array<Set<number>> = [];
  const isolated = new Set<number>(); // folio_isolate_lru() takes a folio once
  let key: Vma | null = null;
  let keyPmd = -1;
  const isolate = (vma: Vma, pmd: number, folio: number): void => {
    if (isolated.has(folio)) return;
    isolated.add(folio);
    if (vma !== key || pmd !== keyPmd) {
      key = vma;
      keyPmd = pmd;
      lists.push(new Set<number>());
    }
    (lists[lists.length - 1] as Set<number>).add(folio);
  };
  walkRange(
    k,
    mm,
    start,
    end,
    null,
    (vma, idx, folio) => {
      const pgt = vma.mm.pgtables;
      pgt.hugePmd.set(idx, pteClearFlags(pgt.hugePmd.get(idx) as number, PTE.young));
      k.mem.flags[folio] = (k.mem.flags[folio] as number) & ~(PG.active | PG.referenced);
      if (pageout) isolate(vma, idx, folio);
    },
    (vma, ptes, i, folio, nr, _tlb, vpn) => {
      const f = k.mem.flags[folio] as number;
      if ((f & PG.lru) === 0) return;
      if (folioMapcount(k, folio) !== 1 << (k.mem.order[folio] as number)) return;
      for (let j = i; j < i + nr; j++) ptes[j] = pteClearFlags(ptes[j] as number, PTE.young);
      k.mem.flags[folio] = f & ~(PG.active | PG.referenced);
      if (pageout) isolate(vma, pmdIndex(vpn), folio);
    },
  );
  for (const list of lists) if (list.size > 0) shrinkFolioList(k, [...list]);
}
