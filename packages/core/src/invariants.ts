/**
 * The whole-state audit the checker runs after every scenario op. Event-time checks (refcount
 * drops, frees, rmap removal of dirty file pages, PT lock release) live where the events
 * happen; this pass recounts every mapping from the page tables and compares.
 */

import {
  ENTIRELY_MAPPED,
  FOLIO_PAGES_MAPPED,
  folioEntireMapcount,
  folioIndex,
  folioMapcount,
  folioMapping,
  folioNrPagesMappedRaw,
} from "./folio.js";
import { isHugeZeroPmd } from "./huge-memory.js";
import type { Kernel } from "./kernel.js";
import { PG } from "./mem-map.js";
import { MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, MM_SWAPENTS } from "./mm.js";
import { isSwapPte, PTE, ptePfn } from "./page-table.js";
import { HPAGE_PMD_NR, HPAGE_PMD_ORDER } from "./units.js";

let scratch: Int32Array | null = null;
/** The scratch counts are all zero (the last audit cleared what it set). */
let scratchClean = true;

/**
 * Per-pfn counts, zero. Cleared by the audit itself where it counted (not by a fill over all of
 * memory, which would touch every page of a TiB model after every op); a full fill only after an
 * audit that stopped at a violation.
 */
function counts(n: number): Int32Array {
  if (!scratch || scratch.length < n) scratch = new Int32Array(n);
  else if (!scratchClean) scratch.fill(0); // all of it: the stopped audit may have had a bigger model
  scratchClean = false;
  return scratch;
}

/** Zero the counts the PTE walk set. */
function clearCounts(k: Kernel, pteMaps: Int32Array): void {
  for (const mm of k.procs.values()) {
    if (mm.exited) continue;
    for (const ptes of mm.pgtables.pte.values()) {
      for (let i = 0; i < ptes.length; i++) {
        const pte = ptes[i] as number;
        if ((pte & PTE.present) !== 0) pteMaps[ptePfn(pte)] = 0;
      }
    }
  }
  scratchClean = true;
}

/** Audit every invariant over the whole model state; throws the first violation found. */
export function auditInvariants(k: Kernel): void {
  const m = k.mem;
  const n = m.nrPages;
  // Per page: PTE mappings. PMD mappings are counted on the head page + 1 slot via `pmdMaps`.
  const pteMaps = counts(n);
  const pmdMaps = new Map<number, number>();

  for (const mm of k.procs.values()) {
    if (mm.exited) continue;
    let anon = 0;
    let file = 0;
    let shmem = 0;
    let swap = 0;
    for (const [, ptes] of mm.pgtables.pte) {
      for (let i = 0; i < ptes.length; i++) {
        const pte = ptes[i] as number;
        if (pte === 0) continue;
        if ((pte & PTE.present) === 0) {
          if (isSwapPte(pte)) swap++;
          continue;
        }
        const pfn = ptePfn(pte);
        if (m.isReserved(pfn)) continue;
        const folio = m.pageFolio(pfn);
        if (!m.isAllocatedHead(folio)) {
          k.violate("no-use-after-free", pfn, `a PTE of ${mm.name} maps a freed page`);
        }
        pteMaps[pfn] = (pteMaps[pfn] as number) + 1;
        const ff = m.flags[folio] as number;
        if ((ff & PG.anon) !== 0) anon++;
        else if ((ff & PG.swapbacked) !== 0) shmem++;
        else file++;
      }
    }
    for (const [, pmd] of mm.pgtables.hugePmd) {
      if (isHugeZeroPmd(pmd)) continue;
      const folio = ptePfn(pmd);
      if (!m.isAllocatedHead(folio)) k.violate("no-use-after-free", folio, `a PMD of ${mm.name} maps a freed folio`);
      pmdMaps.set(folio, (pmdMaps.get(folio) ?? 0) + 1);
      const ff = m.flags[folio] as number;
      if ((ff & PG.anon) !== 0) anon += HPAGE_PMD_NR;
      else if ((ff & PG.swapbacked) !== 0) shmem += HPAGE_PMD_NR;
      else file += HPAGE_PMD_NR;
    }
    const rss = mm.rss;
    if (rss[MM_ANONPAGES] !== anon || rss[MM_FILEPAGES] !== file || rss[MM_SWAPENTS] !== swap || rss[MM_SHMEMPAGES] !== shmem) {
      k.violate(
        "rss-matches-page-tables",
        -1,
        `${mm.name}: RSS anon/file/swap/shmem ${rss[MM_ANONPAGES]}/${rss[MM_FILEPAGES]}/${rss[MM_SWAPENTS]}/${rss[MM_SHMEMPAGES]} but page tables map ${anon}/${file}/${swap}/${shmem}`,
      );
    }
    if (mm.staleTlb.vpn.length > 0) {
      k.violate(
        "tlb-flush-before-free",
        mm.staleTlb.pfn[0] as number,
        `${mm.name}: ${mm.staleTlb.vpn.length} cleared PTEs were never covered by a TLB flush`,
      );
    }
  }

  // Walk allocated folios and compare.
  for (let pfn = 0; pfn < n; ) {
    const f = m.flags[pfn] as number;
    if ((f & PG.allocated) === 0 || (f & PG.reserved) !== 0) {
      pfn = m.skipFree(pfn);
      continue;
    }
    const folio = pfn;
    const order = m.order[folio] as number;
    const nr = 1 << order;
    let ptesTotal = 0;
    let pagesMapped = 0;
    for (let p = folio; p < folio + nr; p++) {
      const expect = pteMaps[p] as number;
      const have = (m.mapcount[p] as number) + 1;
      if (order > 0 && have !== expect) {
        k.violate("mapcount-matches-page-tables", p, `page _mapcount says ${have} PTE mappings, page tables have ${expect}`);
      }
      ptesTotal += expect;
      if (expect > 0) pagesMapped++;
    }
    const pmds = pmdMaps.get(folio) ?? 0;
    const mapcount = folioMapcount(k, folio);
    if (mapcount !== ptesTotal + pmds) {
      k.violate(
        "mapcount-matches-page-tables",
        folio,
        `folio mapcount ${mapcount}, page tables map it ${ptesTotal} times by PTE and ${pmds} by PMD`,
      );
    }
    if (order > 0) {
      const entire = folioEntireMapcount(k, folio);
      const raw = folioNrPagesMappedRaw(m, folio);
      const wantRaw = pagesMapped + (pmds > 0 ? ENTIRELY_MAPPED : 0);
      if (entire !== pmds || raw !== wantRaw) {
        k.violate(
          "mapcount-matches-page-tables",
          folio,
          `_entire_mapcount ${entire} / _nr_pages_mapped ${raw & FOLIO_PAGES_MAPPED}${raw >= ENTIRELY_MAPPED ? "+ENTIRELY_MAPPED" : ""} disagree with ${pmds} PMD maps and ${pagesMapped} PTE-mapped pages`,
        );
      }
    }
    const ref = m.refcount[folio] as number;
    if (ref < mapcount) k.violate("refcount>=mapcount", folio, `refcount ${ref} below mapcount ${mapcount}`);
    if ((f & PG.partiallyMapped) !== 0 && (f & PG.deferredList) === 0) {
      k.violate("deferred-split-queue", folio, "folio flagged partially mapped but not on the deferred split queue");
    }
    pfn += nr;
  }

  clearCounts(k, pteMaps);

  for (const folio of k.deferredSplitQueue) {
    const f = m.flags[folio] as number;
    if (!m.isAllocatedHead(folio)) k.violate("no-use-after-free", folio, "the deferred split queue holds a freed folio");
    const order = m.order[folio] as number;
    if ((f & PG.anon) === 0 || order < 2) {
      k.violate("deferred-split-queue", folio, "the deferred split queue holds a folio that is not an anon large folio");
    }
    if ((f & PG.partiallyMapped) === 0 && !(order === HPAGE_PMD_ORDER && k.config.shrinkUnderused)) {
      k.violate("deferred-split-queue", folio, "the deferred split queue holds a folio that is not partially mapped");
    }
    if ((f & PG.deferredList) === 0) k.violate("deferred-split-queue", folio, "queued folio lacks its list membership");
  }

  // The page cache (__filemap_add_folio / shmem_add_to_page_cache, 6.x) holds folio_nr_pages()
  // references per cached folio, on top of one per mapping; they go only when the folio leaves
  // the cache. A large folio sits at every index it covers, from its own index on.
  for (const file of k.files) {
    for (let idx = 0; idx < file.nrPages; idx++) {
      const folio = file.folioAt(idx);
      if (folio < 0) continue;
      if (!m.isAllocatedHead(folio)) {
        k.violate("page-cache-refs", folio, `the page cache of file ${file.id} holds a freed folio at index ${idx}`);
      }
      const nr = 1 << (m.order[folio] as number);
      const first = folioIndex(m, folio);
      if (idx < first || idx >= first + nr || folioMapping(m, folio) !== file.id) {
        k.violate(
          "page-cache-refs",
          folio,
          `the page cache of file ${file.id} holds at index ${idx} a folio of ${nr} pages whose own index is ${first} (file ${folioMapping(m, folio)})`,
        );
      }
      if (idx !== first) continue;
      const ref = m.refcount[folio] as number;
      const mapcount = folioMapcount(k, folio);
      if (ref < mapcount + nr) {
        k.violate(
          "page-cache-refs",
          folio,
          `refcount ${ref} below mapcount ${mapcount} + ${nr} for the page cache (file ${file.id}, index ${idx})`,
        );
      }
    }
  }
}
