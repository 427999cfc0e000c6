/**
 * rmap_walk_anon() / rmap_walk_file(): every VMA that may map a folio, found from the folio's
 * mapping (anon_vma root or file) and index, as the kernel finds them, and the sharing oracles
 * that answer "is this folio mapped by more than one process?".
 */

import { folioEntireMapcount, folioMapcount } from "./folio.js";
import type { Kernel } from "./kernel.js";
import { PG } from "./mem-map.js";
import type { Vma } from "./mm.js";
import { PTE, PTE_PFN_SHIFT, pmdIndex } from "./page-table.js";
import { PTRS_PER_PTE } from "./units.js";

export interface FolioPlace {
  vma: Vma;
  /** Virtual page where the folio's first page is (or would be) in this VMA. */
  headVpn: number;
}

/** Every VMA whose range may hold part of the folio, with the address of its head page there. */
export function rmapWalk(k: Kernel, folio: number): FolioPlace[] {
  const m = k.mem;
  const anon = ((m.flags[folio] as number) & PG.anon) !== 0;
  const mapping = m.aux0[folio] as number;
  const index = m.aux1[folio] as number;
  const nr = 1 << (m.order[folio] as number);
  const out: FolioPlace[] = [];
  for (const mm of k.procs.values()) {
    if (mm.exited) continue;
    for (const vma of mm.vmas) {
      if (anon ? vma.anonVma !== mapping || vma.kind === "file-shared" : vma.file?.id !== mapping) continue;
      const headVpn = vma.start + (index - vma.pgoff);
      if (headVpn + nr <= vma.start || headVpn >= vma.end) continue;
      out.push({ vma, headVpn });
    }
  }
  return out;
}

/** The pfn vpn maps in this VMA's mm right now (PTE or PMD), or -1. */
export function mappedPfnAt(vma: Vma, vpn: number): number {
  const pgt = vma.mm.pgtables;
  const idx = pmdIndex(vpn);
  const huge = pgt.hugePmd.get(idx);
  if (huge !== undefined) return (huge >>> PTE_PFN_SHIFT) + (vpn - idx * PTRS_PER_PTE);
  const pte = pgt.readPte(vpn);
  return (pte & PTE.present) !== 0 ? pte >>> PTE_PFN_SHIFT : -1;
}

/** Ground truth: the processes that map any page of the folio. */
export function folioMappers(k: Kernel, folio: number): string[] {
  const nr = 1 << (k.mem.order[folio] as number);
  const names = new Set<string>();
  for (const { vma, headVpn } of rmapWalk(k, folio)) {
    for (let i = 0; i < nr; i++) {
      const vpn = headVpn + i;
      if (vpn >= vma.start && vpn < vma.end && mappedPfnAt(vma, vpn) === folio + i) {
        names.add(vma.mm.name);
        break;
      }
    }
  }
  return [...names].sort();
}

/** folio_maybe_mapped_shared() (6.15+, MM_ID): no false negatives. */
export function folioMaybeMappedShared(k: Kernel, folio: number): boolean {
  const mapcount = folioMapcount(k, folio);
  if ((k.mem.order[folio] as number) === 0) return mapcount > 1;
  if (mapcount <= 1) return false;
  if ((k.mem.order[folio] as number) < 2) return true;
  return ((k.mem.flags[folio] as number) & PG.mmIdsShared) !== 0;
}

/** folio_likely_mapped_shared() (6.10..6.14): misses folios split between mms. */
export function folioLikelyMappedShared(k: Kernel, folio: number): boolean {
  const mapcount = folioMapcount(k, folio);
  if ((k.mem.order[folio] as number) === 0) return mapcount > 1;
  if (mapcount <= 1) return false;
  if (folioEntireMapcount(k, folio) > 0 || mapcount > 1 << (k.mem.order[folio] as number)) return true;
  return (k.mem.mapcount[folio] as number) > 0;
}

/** folio_estimated_sharers() (6.3..6.9): page_mapcount() of the first page. */
export function folioEstimatedSharers(k: Kernel, folio: number): number {
  return (k.mem.mapcount[folio] as number) + 1 + folioEntireMapcount(k, folio);
}
