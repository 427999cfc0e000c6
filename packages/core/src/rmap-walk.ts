/**
 * rmap_walk_anon() / rmap_walk_file(): every VMA that may map a folio, found from the folio's
 * mapping (anon_vma root or file) and index, as the kernel finds them, and the sharing oracles
 * that answer "is this folio mapped by more than one process?".
 */

import { Ev } from "./costs.js";
import { folioEntireMapcount, folioIndex, folioMapcount, folioMapping } from "./folio.js";
import type { Kernel } from "./kernel.js";
import { PG } from "./mem-map.js";
import type { Vma } from "./mm.js";
import { PTE, pmdIndex, ptePfn } from "./page-table.js";
import { PTRS_PER_PTE } from "./units.js";

export interface FolioPlace {
  vma: Vma;
  /** Virtual page where the folio's first page is (or would be) in this VMA. */
  headVpn: number;
}

/**
 * Every VMA whose range may hold part of the folio, with the address of its head page there.
 * `cost`: the kernel walks (rmap_walk cost events); false for the model's own ground truth.
 */
export function rmapWalk(k: Kernel, folio: number, cost = true): FolioPlace[] {
  const m = k.mem;
  const anon = ((m.flags[folio] as number) & PG.anon) !== 0;
  const mapping = folioMapping(m, folio);
  const index = folioIndex(m, folio);
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
  if (cost) {
    k.costs[Ev.rmapWalk]++;
    k.costs[Ev.rmapWalkVma] += out.length;
  }
  return out;
}

/**
 * folio_referenced() (mm/rmap.c, 6.18) as reclaim's reference check pays for it: an rmap walk,
 * and folio_referenced_one() stepping page_vma_mapped_walk() over the folio's range in each VMA
 * one page table entry at a time (a PMD mapping is one): the cost that grows with a PTE-mapped
 * folio's size and its number of mappers (perf on this project's VM: folio_referenced_one() the
 * top symbol of a reclaim of PTE-mapped 2M lazyfree folios two processes map). The model finds
 * nothing referenced: the folios it reclaims this way have old PTEs (MADV_FREE clears them).
 */
export function folioReferenced(k: Kernel, folio: number): void {
  const nr = 1 << (k.mem.order[folio] as number);
  for (const { vma, headVpn } of rmapWalk(k, folio)) {
    const lo = Math.max(headVpn, vma.start);
    const hi = Math.min(headVpn + nr, vma.end);
    if (hi <= lo) continue;
    k.costs[Ev.rmapWalkPtes] += vma.mm.pgtables.hugePmd.has(pmdIndex(lo)) ? 1 : hi - lo;
  }
}

/** The pfn vpn maps in this VMA's mm right now (PTE or PMD), or -1. */
export function mappedPfnAt(vma: Vma, vpn: number): number {
  const pgt = vma.mm.pgtables;
  const idx = pmdIndex(vpn);
  const huge = pgt.hugePmd.get(idx);
  if (huge !== undefined) return ptePfn(huge) + (vpn - idx * PTRS_PER_PTE);
  const pte = pgt.readPte(vpn);
  return (pte & PTE.present) !== 0 ? ptePfn(pte) : -1;
}

/** Ground truth: the processes that map any page of the folio. */
export function folioMappers(k: Kernel, folio: number): string[] {
  const nr = 1 << (k.mem.order[folio] as number);
  const names = new Set<string>();
  for (const { vma, headVpn } of rmapWalk(k, folio, false)) {
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

/** How one sharing heuristic fares against the ground truth over a set of folios. */
export interface OracleScore {
  /** Said "maybe shared" for a folio only one process maps. */
  falsePositives: number;
  /** Said "not shared" for a folio two or more processes map. */
  falseNegatives: number;
}

export interface SharingCensus {
  /** Large anon folios looked at (small folios' answers are exact: mapcount > 1). */
  folios: number;
  /** Of those, mapped by two or more processes. */
  shared: number;
  maybeMappedShared: OracleScore;
  likelyMappedShared: OracleScore;
  estimatedSharers: OracleScore;
}

/**
 * Ask every large anon folio all three sharing heuristics and compare with the ground truth
 * (the processes whose page tables map it): the false positives and negatives of each.
 */
export function sharingCensus(k: Kernel): SharingCensus {
  const m = k.mem;
  const census: SharingCensus = {
    folios: 0,
    shared: 0,
    maybeMappedShared: { falsePositives: 0, falseNegatives: 0 },
    likelyMappedShared: { falsePositives: 0, falseNegatives: 0 },
    estimatedSharers: { falsePositives: 0, falseNegatives: 0 },
  };
  const score = (s: OracleScore, said: boolean, truth: boolean) => {
    if (said && !truth) s.falsePositives++;
    if (!said && truth) s.falseNegatives++;
  };
  for (let pfn = 0; pfn < m.nrPages; ) {
    const f = m.flags[pfn] as number;
    const order = m.order[pfn] as number;
    if ((f & PG.allocated) !== 0 && (f & PG.reserved) === 0 && (f & PG.anon) !== 0 && order > 0 && folioMapcount(k, pfn) > 0) {
      const truth = folioMappers(k, pfn).length > 1;
      census.folios++;
      if (truth) census.shared++;
      score(census.maybeMappedShared, folioMaybeMappedShared(k, pfn), truth);
      score(census.likelyMappedShared, folioLikelyMappedShared(k, pfn), truth);
      score(census.estimatedSharers, folioEstimatedSharers(k, pfn) > 1, truth);
    }
    pfn = (f & PG.allocated) !== 0 ? pfn + (1 << order) : m.skipFree(pfn);
  }
  return census;
}
