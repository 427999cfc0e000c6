/**
 * fork(): dup_mmap() -> copy_page_range() (kernel/fork.c, mm/memory.c, mm/huge_memory.c,
 * Linux 6.18). Anon folios are shared read-only with the child, batched per folio
 * (copy_present_ptes + folio_try_dup_anon_rmap_ptes), a reference taken before the mapcount
 * rises; a pinned exclusive page is copied for the child instead (copy_present_page); file
 * mappings are shared; swap entries are duplicated.
 */

import { Ev } from "./costs.js";
import { ScenarioError } from "./errors.js";
import { folioRefAdd } from "./folio.js";
import { isHugeZeroPmd, splitHugePmd } from "./huge-memory.js";
import type { Kernel } from "./kernel.js";
import { NIL, PG } from "./mem-map.js";
import { MM_ANONPAGES, MM_FILEPAGES, MM_SWAPENTS, type MmStruct, VM, type Vma } from "./mm.js";
import { flushTlbMmRange } from "./mmu-gather.js";
import type { PteTable } from "./page-table.js";
import { isSwapPte, mkPte, PTE, pmdAddrEnd, pmdIndex, pteClearFlags, pteIndex, ptePfn } from "./page-table.js";
import { folioAddNewAnonRmap, folioDupRmap, folioTryDupAnonRmap } from "./rmap.js";
import { lruAddBatchAdd } from "./swap.js";
import { swapDuplicate } from "./swapfile.js";
import { HPAGE_PMD_NR, PTRS_PER_PTE } from "./units.js";

function isCowMapping(vma: Vma): boolean {
  return (vma.flags & VM.shared) === 0;
}

/**
 * copy_present_page(): the child gets its own copy of a pinned exclusive page; the parent's
 * mapping (and the pin) stay as they were.
 */
function copyPresentPage(k: Kernel, dstVma: Vma, dst: PteTable, i: number, vpn: number, pfn: number): void {
  const folio = k.mem.allocPages(0);
  if (folio === NIL) throw new ScenarioError(`${k.currentOp}: out of model memory during fork; raise config.memory`);
  k.costs[Ev.foliosAllocated]++;
  k.costs[Ev.bytesCopied] += 4096; // copy_user_highpage()
  k.mem.content[folio] = k.mem.content[pfn] as number;
  folioAddNewAnonRmap(k, folio, dstVma, vpn, false);
  lruAddBatchAdd(k, folio); // folio_add_lru_vma()
  dst[i] = mkPte(folio, PTE.present | PTE.write | PTE.dirty | PTE.young);
  k.costs[Ev.pteSet]++;
}

/** How many PTEs from slot i map consecutive pages of one folio with the same write bit. */
function forkBatch(k: Kernel, src: PteTable, i: number, end: number, folio: number): number {
  const first = src[i] as number;
  const pfn = ptePfn(first);
  const limit = Math.min(end - i, folio + (1 << (k.mem.order[folio] as number)) - pfn);
  let n = 1;
  while (n < limit) {
    const p = src[i + n] as number;
    k.costs[Ev.pteRead]++;
    if ((p & PTE.present) === 0 || (p & PTE.write) !== (first & PTE.write) || ptePfn(p) !== pfn + n) break;
    n++;
  }
  return n;
}

/** copy_pte_range(): one PTE table of a VMA. */
function copyPteRange(k: Kernel, srcVma: Vma, dstVma: Vma, idx: number, start: number, end: number): void {
  const src = srcVma.mm.pgtables.pte.get(idx);
  if (!src) return;
  const dst = dstVma.mm.pgtables.pteAlloc(idx);
  const base = idx * PTRS_PER_PTE;
  const cow = isCowMapping(srcVma);
  const srcPinned = srcVma.mm.hasPinned;
  const rss = dstVma.mm.rss;
  k.costs[Ev.ptLock] += 2;
  for (let i = pteIndex(start); i < end - base; ) {
    const pte = src[i] as number;
    k.costs[Ev.pteRead]++;
    if (pte === 0) {
      i++;
      continue;
    }
    if ((pte & PTE.present) === 0) {
      // copy_nonpresent_pte(): swap entries are duplicated and become shared.
      if (isSwapPte(pte)) {
        if (k.swap) swapDuplicate(k.swap, ptePfn(pte));
        src[i] = pteClearFlags(pte, PTE.swpExclusive);
        dst[i] = src[i] as number;
        rss[MM_SWAPENTS] = (rss[MM_SWAPENTS] as number) + 1;
        k.costs[Ev.pteSet] += 2;
      }
      i++;
      continue;
    }
    const pfn = ptePfn(pte);
    if (k.mem.isReserved(pfn)) {
      dst[i] = pte;
      k.costs[Ev.pteSet]++;
      i++;
      continue;
    }
    const folio = k.mem.pageFolio(pfn);
    const anon = ((k.mem.flags[folio] as number) & PG.anon) !== 0;
    const nr = (k.mem.order[folio] as number) > 0 ? forkBatch(k, src, i, end - base, folio) : 1;
    folioRefAdd(k, folio, nr);
    if (anon) {
      if (!folioTryDupAnonRmap(k, folio, pfn, nr, dstVma, srcPinned, false)) {
        // -EBUSY: undo the batch reference and go page by page, copying pinned exclusive pages.
        k.mem.refcount[folio] = (k.mem.refcount[folio] as number) - nr;
        for (let j = 0; j < nr; j++) {
          const p = pfn + j;
          if (((k.mem.flags[p] as number) & PG.anonExclusive) !== 0) {
            copyPresentPage(k, dstVma, dst, i + j, base + i + j, p);
          } else {
            folioRefAdd(k, folio, 1);
            folioTryDupAnonRmap(k, folio, p, 1, dstVma, false, false);
            const w = cow ? pteClearFlags(src[i + j] as number, PTE.write) : (src[i + j] as number);
            src[i + j] = w;
            dst[i + j] = pteClearFlags(w, PTE.young);
          }
          rss[MM_ANONPAGES] = (rss[MM_ANONPAGES] as number) + 1;
        }
        i += nr;
        continue;
      }
      rss[MM_ANONPAGES] = (rss[MM_ANONPAGES] as number) + nr;
    } else {
      folioDupRmap(k, folio, pfn, nr, dstVma, false);
      rss[MM_FILEPAGES] = (rss[MM_FILEPAGES] as number) + nr;
    }
    // __copy_present_ptes(): write-protect both sides of a COW mapping (the parent's with
    // wrprotect_ptes(), one ptep_set_wrprotect() a PTE), then set_ptes() the child's, old.
    let wrprotected = 0;
    for (let j = i; j < i + nr; j++) {
      let p = src[j] as number;
      if (cow && (p & PTE.write) !== 0) {
        p = pteClearFlags(p, PTE.write);
        src[j] = p;
        wrprotected++;
      }
      dst[j] = pteClearFlags(p, PTE.young);
    }
    k.costs[Ev.pteSet] += nr + wrprotected;
    i += nr;
  }
}

/**
 * copy_huge_pmd(): share a PMD-mapped THP write-protected in both; a pinned exclusive one has
 * the parent's PMD split (-EAGAIN) so the PTE path copies what must be copied.
 */
function copyHugePmd(k: Kernel, srcVma: Vma, dstVma: Vma, idx: number): boolean {
  const pgt = srcVma.mm.pgtables;
  const pmd = pgt.hugePmd.get(idx) as number;
  k.costs[Ev.ptAlloc]++; // pte_alloc_one(): the child's deposited table
  if (isHugeZeroPmd(pmd)) {
    dstVma.mm.pgtables.hugePmd.set(idx, pmd);
    return true;
  }
  const folio = ptePfn(pmd);
  folioRefAdd(k, folio, 1);
  if (!folioTryDupAnonRmap(k, folio, folio, HPAGE_PMD_NR, dstVma, srcVma.mm.hasPinned, true)) {
    k.mem.refcount[folio] = (k.mem.refcount[folio] as number) - 1;
    k.costs[Ev.ptFree]++; // pte_free() of the unused deposit
    splitHugePmd(k, srcVma, idx);
    return false;
  }
  const wp = pteClearFlags(pmd, PTE.write);
  pgt.hugePmd.set(idx, wp);
  dstVma.mm.pgtables.hugePmd.set(idx, pteClearFlags(wp, PTE.young));
  dstVma.mm.rss[MM_ANONPAGES] = (dstVma.mm.rss[MM_ANONPAGES] as number) + HPAGE_PMD_NR;
  k.costs[Ev.pteSet] += 2;
  k.costs[Ev.ptLock] += 2;
  return true;
}

/**
 * vma_needs_copy() (mm/memory.c, 6.18): page tables are copied only for a VMA with an anon_vma
 * (an anon folio was mapped there, or the huge zero page); file pages and 4K zero-page PTEs of
 * a VMA that was only read fault back in the child.
 */
function vmaNeedsCopy(vma: Vma): boolean {
  return vma.anonVmaPrepared === true;
}

/** copy_page_range() for one VMA. */
function copyPageRange(k: Kernel, srcVma: Vma, dstVma: Vma): void {
  if (!vmaNeedsCopy(srcVma)) return;
  for (let addr = srcVma.start; addr < srcVma.end; ) {
    const next = pmdAddrEnd(addr, srcVma.end);
    const idx = pmdIndex(addr);
    if (!srcVma.mm.pgtables.hugePmd.has(idx) || !copyHugePmd(k, srcVma, dstVma, idx)) {
      copyPteRange(k, srcVma, dstVma, idx, addr, next);
    }
    addr = next;
  }
}

/** fork(): a new process named `as` with a copy of the parent's address space. */
export function doFork(k: Kernel, parent: MmStruct, name: string): MmStruct {
  const child = k.newMm(name);
  child.mmapCursor = parent.mmapCursor;
  for (const [id, m] of parent.mappings) child.mappings.set(id, { ...m });
  for (const vma of parent.vmas) {
    if ((vma.flags & VM.dontcopy) !== 0) continue; // MADV_DONTFORK: not in the child at all
    const cv: Vma = { ...vma, mm: child, flags: vma.flags & ~VM.locked };
    child.vmas.push(cv);
    k.costs[Ev.vmaUpdate]++; // vm_area_dup()
    // vma_needs_copy(): a shared anonymous (shmem) VMA has no anon_vma; the child faults its
    // pages in from the page cache.
    if (vma.kind !== "shmem") copyPageRange(k, vma, cv);
  }
  // The parent's PTEs were write-protected: flush_tlb_mm() at the end of dup_mmap().
  if (parent.vmas.length > 0) flushTlbMmRange(k, parent, 0, 0, true);
  return child;
}
