/**
 * The system calls a scenario makes: mmap, munmap, madvise, mprotect, exit, and the user
 * accesses (writes and reads) that fault pages in. Each follows the kernel's order of VMA
 * work and teardown (mm/mmap.c, mm/vma.c, mm/madvise.c, mm/mprotect.c, kernel/exit.c).
 */

import { Ev } from "./costs.js";
import { ScenarioError } from "./errors.js";
import { accessPage } from "./fault.js";
import { splitHugePmd, splitHugePmdAddress } from "./huge-memory.js";
import type { Kernel } from "./kernel.js";
import { PG } from "./mem-map.js";
import { MAX_VPN, type Mapping, type MmStruct, mmapPlacement, mremapPlacement, VM, type Vma, type VmaKind } from "./mm.js";
import { flushTlbMmRange } from "./mmu-gather.js";
import { PTE, pmdAddrEnd, pmdIndex, pteClearFlags, pteIndex, ptePfn, pteSetFlags } from "./page-table.js";
import { fileRaStateInit } from "./readahead.js";
import { filemapPage, releaseUnmappedShmem } from "./shmem.js";
import { peekSwap } from "./swapfile.js";
import { PTRS_PER_PTE } from "./units.js";
import { exitMmap, freePgtables, unmapRegion, zapPageRangeSingle } from "./zap.js";

/** validateScenario() refuses this before anything runs; kept as the model's own guard. */
function checkAddressSpace(k: Kernel, end: number): void {
  if (end > MAX_VPN) {
    throw new ScenarioError(`${k.currentOp}: the scenario's mappings need more virtual address space than the model has (8 TiB)`);
  }
}

/** do_mmap(): a new private anon, private file, shared file or shared anonymous (shmem) mapping. */
export function doMmap(
  k: Kernel,
  mm: MmStruct,
  id: string,
  nrPages: number,
  kind: VmaKind,
  alignPages: number,
  locked: boolean,
  fileName?: string,
): Mapping {
  const { start, next } = mmapPlacement(mm.mmapCursor, nrPages, alignPages);
  checkAddressSpace(k, start + nrPages);
  mm.mmapCursor = next;
  // MAP_SHARED | MAP_ANONYMOUS: shmem_zero_setup() gives the VMA an unnamed shmem file.
  // A named file: open() of the scenario's file by name (the plan checked it is large enough).
  const file =
    kind === "anon" ? null : fileName !== undefined ? k.namedFile(fileName, nrPages) : k.newFile(nrPages, kind === "shmem");
  let flags = VM.read | VM.write;
  if (kind === "file-shared" || kind === "shmem") flags |= VM.shared;
  if (locked) flags |= VM.locked;
  const vma: Vma = {
    start,
    end: start + nrPages,
    flags,
    kind,
    file,
    pgoff: kind === "anon" ? start : 0,
    anonVma: kind === "file-shared" || kind === "shmem" ? 0 : k.newAnonVma(),
    mapping: id,
    mm,
  };
  // open(): a regular file's struct file with its readahead state.
  if (kind === "file-private" || kind === "file-shared") vma.ra = fileRaStateInit();
  mm.insertVma(vma);
  const mapping: Mapping = { id, start, nrPages, kind, file };
  mm.mappings.set(id, mapping);
  if (locked) {
    // mm_populate(): MAP_LOCKED faults everything in and mlocks it (FOLL_WRITE on private
    // writable mappings only).
    for (let vpn = start; vpn < start + nrPages; vpn++) {
      const pfn = accessPage(k, mm, vpn, kind === "anon" || kind === "file-private");
      if (!k.mem.isReserved(pfn)) {
        const folio = k.mem.pageFolio(pfn);
        k.mem.flags[folio] = (k.mem.flags[folio] as number) | PG.mlocked;
      }
    }
  }
  return mapping;
}

/** Split VMAs (and any PMD-mapped THP a boundary falls inside) so [start, end) is whole VMAs. */
function splitAround(k: Kernel, mm: MmStruct, start: number, end: number): void {
  for (const at of [start, end]) {
    const v = mm.findVma(at);
    if (v && v.start !== at) {
      splitHugePmdAddress(k, v, at);
      mm.splitVmaAt(at);
    }
  }
}

/** do_vmi_munmap(): split, tear down through one mmu_gather, remove VMAs, free page tables. */
export function doMunmap(k: Kernel, mm: MmStruct, start: number, end: number): void {
  if (mm.vmasIn(start, end).length === 0) return;
  // The lru_lazyfree batch stays: 6.18 does not drain this CPU's LRU batches on munmap (measured
  // with `foliolab kernel`: pglazyfree stays 31 after MADV_FREE of 48 order-0 pages and a munmap;
  // probably Rik van Riel's "mm: remove unnecessary calls to lru_add_drain", which the model's
  // 6.9 free path, freePagesAndSwapCacheV69(), predates).
  splitAround(k, mm, start, end);
  const vmas = mm.vmasIn(start, end);
  unmapRegion(k, mm, vmas, start, end, () => mm.removeVmasIn(start, end));
  releaseUnmappedShmem(k);
}

/**
 * The VMAs of [start, end) whose vm_flags `newFlags` changes, split to the range and given
 * their new flags. A VMA whose flags stay is left whole, with no split of it or of a PMD THP in
 * it: mprotect_fixup() and madvise_update_vma() (6.18) return early when the flags are equal.
 */
function updateVmaFlags(k: Kernel, mm: MmStruct, start: number, end: number, newFlags: (flags: number) => number): Vma[] {
  for (const at of [start, end]) {
    const v = mm.findVma(at);
    if (v && v.start !== at && newFlags(v.flags) !== v.flags) {
      splitHugePmdAddress(k, v, at);
      mm.splitVmaAt(at);
    }
  }
  const changed = mm.vmasIn(start, end).filter((v) => newFlags(v.flags) !== v.flags);
  for (const v of changed) v.flags = newFlags(v.flags);
  return changed;
}

/** madvise(MADV_HUGEPAGE / MADV_NOHUGEPAGE): VMA flags only (split and merged as needed). */
export function madviseHugepage(k: Kernel, mm: MmStruct, start: number, end: number, huge: boolean): void {
  updateVmaFlags(k, mm, start, end, (f) => (huge ? (f | VM.hugepage) & ~VM.nohugepage : (f | VM.nohugepage) & ~VM.hugepage));
  mm.mergeVmas();
}

/** madvise(MADV_DONTFORK / MADV_DOFORK): set or clear VM_DONTCOPY on the range's VMAs. */
export function madviseDontfork(k: Kernel, mm: MmStruct, start: number, end: number, dontfork: boolean): void {
  updateVmaFlags(k, mm, start, end, (f) => (dontfork ? f | VM.dontcopy : f & ~VM.dontcopy));
  mm.mergeVmas();
}

/** madvise(MADV_RANDOM / MADV_NORMAL): set or clear VM_RAND_READ (madvise_update_vma()). */
export function madviseRandom(k: Kernel, mm: MmStruct, start: number, end: number, random: boolean): void {
  updateVmaFlags(k, mm, start, end, (f) => (random ? f | VM.randRead : f & ~VM.randRead));
  mm.mergeVmas();
}

/** madvise(MADV_DONTNEED): zap each VMA's part with its own gather; VMAs stay. */
export function madviseDontneed(k: Kernel, mm: MmStruct, start: number, end: number): void {
  // No lru_add_drain() in 6.18's MADV_DONTNEED path either (measured as for munmap).
  const vmas = mm.vmasIn(start, end);
  for (const v of vmas) {
    if ((v.flags & VM.locked) !== 0) {
      throw new ScenarioError(`${k.currentOp}: MADV_DONTNEED on a VM_LOCKED mapping fails with EINVAL`);
    }
  }
  for (const v of vmas) zapPageRangeSingle(k, mm, v, Math.max(start, v.start), Math.min(end, v.end));
}

/**
 * mprotect(): split VMAs, change_protection() on present PTEs and PMDs, flush, merge back.
 * Making a range writable again only grants write to PTEs that may be written without a
 * fault (can_change_pte_writable): exclusive anon pages and dirty shared file pages.
 */
export function doMprotect(k: Kernel, mm: MmStruct, start: number, end: number, prot: "r" | "rw" | "none"): void {
  const bits = (prot !== "none" ? VM.read : 0) | (prot === "rw" ? VM.write : 0);
  const changed = updateVmaFlags(k, mm, start, end, (f) => (f & ~(VM.read | VM.write)) | bits);
  if (changed.length === 0) return; // nothing to change: no PTE touched, no flush
  const pgt = mm.pgtables;
  for (const v of changed) {
    for (let addr = v.start; addr < v.end; ) {
      const next = pmdAddrEnd(addr, v.end);
      const idx = pmdIndex(addr);
      const huge = pgt.hugePmd.get(idx);
      if (huge !== undefined) {
        if (next - addr < PTRS_PER_PTE) {
          splitHugePmd(k, v, idx);
        } else {
          const folio = ptePfn(huge);
          // Shared shmem has no write-notify: vm_page_prot itself grants write.
          const canWrite =
            prot === "rw" &&
            !k.mem.isReserved(folio) &&
            (v.kind === "shmem" || ((k.mem.flags[folio] as number) & PG.anonExclusive) !== 0);
          pgt.hugePmd.set(idx, canWrite ? pteSetFlags(huge, PTE.write) : pteClearFlags(huge, PTE.write));
          addr = next;
          continue;
        }
      }
      const ptes = pgt.pte.get(idx);
      if (ptes) {
        for (let i = pteIndex(addr); i < pteIndex(addr) + (next - addr); i++) {
          const pte = ptes[i] as number;
          if ((pte & PTE.present) === 0) continue;
          let w = false;
          if (prot === "rw") {
            const pfn = ptePfn(pte);
            if (!k.mem.isReserved(pfn)) {
              const anon = ((k.mem.flags[k.mem.pageFolio(pfn)] as number) & PG.anon) !== 0;
              if (anon) w = ((k.mem.flags[pfn] as number) & PG.anonExclusive) !== 0;
              else w = v.kind === "shmem" || (v.kind === "file-shared" && (pte & PTE.dirty) !== 0);
            }
          }
          ptes[i] = w ? pteSetFlags(pte, PTE.write) : pteClearFlags(pte, PTE.write);
          k.costs[Ev.pteSet]++;
        }
      }
      addr = next;
    }
  }
  flushTlbMmRange(k, mm, start, end, false);
  mm.mergeVmas();
}

/** do_exit() -> exit_mmap(). */
export function doExit(k: Kernel, mm: MmStruct): void {
  // exit_mmap() does not drain this CPU's LRU batches in 6.18 (measured as for munmap).
  exitMmap(k, mm);
  mm.exited = true;
  releaseUnmappedShmem(k);
}

/** A user write of `value` to one page (faulting as needed). */
export function userWrite(k: Kernel, mm: MmStruct, vpn: number, value: number): void {
  k.costs[Ev.userAccessPages]++;
  k.costs[Ev.userTlbMiss]++;
  const pfn = accessPage(k, mm, vpn, true);
  k.mem.content[pfn] = value;
}

/**
 * User accesses of every page in [start, end), in address order: exactly userWrite() (or
 * userRead()) page by page, but a page whose PTE or PMD already allows the access is touched
 * in place, with the VMA, the PMD slot and its PTE table looked up once per run rather than
 * once per page. Only pages that fault take accessPage(). This is what makes writing a TiB
 * affordable; the order of faults, and so every counter, is the page-by-page one.
 */
export function userAccessRange(k: Kernel, mm: MmStruct, start: number, end: number, write: boolean, value: number): void {
  if (end - start === 1) {
    // userWrite() counts the page; userRead() does too.
    // One page: the plain path (property.test.ts holds the ranged path to it).
    if (write) userWrite(k, mm, start, value);
    else userRead(k, mm, start);
    return;
  }
  k.costs[Ev.userAccessPages] += end - start;
  // One TLB entry per PTE-mapped page and per PMD-mapped run; a faulting page counts one of its own.
  let tlb = 0;
  const mem = k.mem;
  const content = mem.content;
  const pgt = mm.pgtables;
  const need = write ? PTE.present | PTE.write : PTE.present;
  const mark = write ? PTE.young | PTE.dirty : PTE.young;
  let vpn = start;
  while (vpn < end) {
    const vma = mm.findVma(vpn);
    if (!vma || (vma.flags & (write ? VM.write : VM.read)) === 0) {
      accessPage(k, mm, vpn, write); // throws the fault's ScenarioError
      tlb++;
      vpn++;
      continue;
    }
    const idx = pmdIndex(vpn);
    const stop = Math.min(end, vma.end, (idx + 1) * PTRS_PER_PTE);
    const huge = pgt.hugePmd.get(idx);
    if (huge !== undefined) {
      // (The huge zero page is never writable, so a write to it faults below.)
      if ((huge & need) === need) {
        pgt.hugePmd.set(idx, pteSetFlags(huge, mark));
        if (write) content.fill(value, ptePfn(huge) + (vpn - idx * PTRS_PER_PTE), ptePfn(huge) + (stop - idx * PTRS_PER_PTE));
        vpn = stop;
      } else {
        const pfn = accessPage(k, mm, vpn, write);
        if (write) content[pfn] = value;
        vpn++;
      }
      tlb++;
      continue;
    }
    const ptes = pgt.pte.get(idx);
    if (!ptes) {
      const pfn = accessPage(k, mm, vpn, write);
      if (write) content[pfn] = value;
      tlb++;
      vpn++;
      continue;
    }
    const base = idx * PTRS_PER_PTE;
    const from = vpn;
    for (; vpn < stop; vpn++) {
      const pte = ptes[vpn - base] as number;
      if ((pte & need) === need) {
        ptes[vpn - base] = pteSetFlags(pte, mark);
        if (write) content[ptePfn(pte)] = value;
      } else {
        const pfn = accessPage(k, mm, vpn, write);
        if (write) content[pfn] = value;
        // The fault may have replaced the table's slot (a PMD THP, a new table): look again.
        if (pgt.pte.get(idx) !== ptes || pgt.hugePmd.has(idx)) {
          vpn++;
          break;
        }
      }
    }
    tlb += vpn - from;
  }
  k.costs[Ev.userTlbMiss] += tlb;
}

/** A user read of one page (faulting as needed); returns the content tag. */
export function userRead(k: Kernel, mm: MmStruct, vpn: number): number {
  k.costs[Ev.userAccessPages]++;
  k.costs[Ev.userTlbMiss]++;
  const pfn = accessPage(k, mm, vpn, false);
  return k.mem.content[pfn] as number;
}

/**
 * What a read at vpn would return, without faulting anything in: present page, huge PMD,
 * page cache of a file mapping, zero for untouched anon memory. Null when nothing is mapped.
 */
export function peekContent(k: Kernel, mm: MmStruct, vpn: number): number | null {
  const vma = mm.findVma(vpn);
  if (!vma) return null;
  const pgt = mm.pgtables;
  const idx = pmdIndex(vpn);
  const huge = pgt.hugePmd.get(idx);
  if (huge !== undefined) return k.mem.content[ptePfn(huge) + (vpn - idx * PTRS_PER_PTE)] as number;
  const pte = pgt.readPte(vpn);
  if ((pte & PTE.present) !== 0) return k.mem.content[ptePfn(pte)] as number;
  if (pte !== 0 && k.swap) return peekSwap(k, k.swap, pte);
  if (vma.file) {
    const page = filemapPage(k, vma.file, vma.pgoff + (vpn - vma.start));
    return page === -1 ? 0 : (k.mem.content[page] as number);
  }
  return 0;
}

/**
 * mremap(MREMAP_MAYMOVE) of [start, end) to a new address, as mapping `to`: the VMAs move
 * with their vm_pgoff (so the rmap still finds anon folios by index), page table entries
 * move (move_ptes / move_huge_pmd; a PMD only partly moved is split first), and the old range's
 * TLB entries are flushed. Folios stay as they are, mapped at the new address.
 */
export function doMremap(k: Kernel, mm: MmStruct, start: number, end: number, to: string): Mapping {
  const len = end - start;
  splitAround(k, mm, start, end);
  const vmas = mm.vmasIn(start, end);
  const first = vmas[0];
  if (!first) throw new ScenarioError(`${k.currentOp}: nothing is mapped in the range to move`);
  const { start: newStart, next } = mremapPlacement(mm.mmapCursor, start, len);
  checkAddressSpace(k, newStart + len);
  mm.mmapCursor = next;
  const delta = newStart - start;
  const pgt = mm.pgtables;
  for (const v of vmas) {
    for (let addr = v.start; addr < v.end; ) {
      const next = pmdAddrEnd(addr, v.end);
      const idx = pmdIndex(addr);
      const huge = pgt.hugePmd.get(idx);
      if (huge !== undefined && next - addr === PTRS_PER_PTE && (addr + delta) % PTRS_PER_PTE === 0) {
        pgt.hugePmd.delete(idx);
        pgt.hugePmd.set(pmdIndex(addr + delta), huge);
        k.costs[Ev.pteSet]++;
        addr = next;
        continue;
      }
      if (huge !== undefined) splitHugePmd(k, v, idx);
      const src = pgt.pte.get(idx);
      if (src) {
        for (let vpn = addr; vpn < next; vpn++) {
          const pte = src[pteIndex(vpn)] as number;
          if (pte === 0) continue;
          src[pteIndex(vpn)] = 0;
          pgt.pteAlloc(pmdIndex(vpn + delta))[pteIndex(vpn + delta)] = pte;
          k.costs[Ev.pteClear]++;
          k.costs[Ev.pteSet]++;
        }
      }
      addr = next;
    }
  }
  flushTlbMmRange(k, mm, start, end, false);
  mm.removeVmasIn(start, end);
  for (const v of vmas) mm.insertVma({ ...v, start: v.start + delta, end: v.end + delta, mapping: to });
  freePgtables(mm, start, end);
  const old = mm.mappings.get(first.mapping);
  const mapping: Mapping = { id: to, start: newStart, nrPages: len, kind: first.kind, file: old?.file ?? first.file };
  mm.mappings.set(to, mapping);
  return mapping;
}
