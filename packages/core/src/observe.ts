/**
 * What a process (or a person with /proc and kpageflags) can observe, independent of which
 * physical pages the allocator happened to hand out: per mapping and page, what it reads and
 * how it is mapped; the folios by order; free memory. Two strategies are equivalent on a
 * scenario when their observable states are equal.
 */

import { isHugeZeroPmd } from "./huge-memory.js";
import type { Kernel } from "./kernel.js";
import { PG } from "./mem-map.js";
import { MM_ANONPAGES, MM_FILEPAGES, MM_SWAPENTS } from "./mm.js";
import { PTE, pmdIndex, ptePfn } from "./page-table.js";
import { MTHP } from "./stats.js";
import { peekContent } from "./syscalls.js";
import { MTHP_ORDERS, PTRS_PER_PTE } from "./units.js";

export interface ObservedPage {
  /** Content tag a read returns, or null when the address is not mapped. */
  value: number | null;
  /** "pte" | "pmd" | "zero" | "swap" | "none" (not populated) | "unmapped". */
  map: string;
  /** Order of the folio backing the page (-1 when none). */
  order: number;
  /** Page offset inside its folio (-1 when none). */
  index: number;
}

export interface ObservableState {
  procs: Record<
    string,
    {
      exited: boolean;
      rss: { anon: number; file: number; swap: number };
      mappings: Record<string, ObservedPage[]>;
    }
  >;
  /** Allocated folios by order (page cache included). */
  foliosByOrder: number[];
  freePages: number;
  anonPages: number;
  anonHugePages: number;
  nrAnon: Record<string, number>;
  nrAnonPartiallyMapped: Record<string, number>;
}

function observePage(k: Kernel, mm: import("./mm.js").MmStruct, vpn: number): ObservedPage {
  const value = peekContent(k, mm, vpn);
  if (value === null) return { value, map: "unmapped", order: -1, index: -1 };
  const idx = pmdIndex(vpn);
  const huge = mm.pgtables.hugePmd.get(idx);
  if (huge !== undefined) {
    if (isHugeZeroPmd(huge)) return { value, map: "zero", order: -1, index: -1 };
    return { value, map: "pmd", order: 9, index: vpn - idx * PTRS_PER_PTE };
  }
  const pte = mm.pgtables.readPte(vpn);
  if ((pte & PTE.present) === 0) return { value, map: pte === 0 ? "none" : "swap", order: -1, index: -1 };
  const pfn = ptePfn(pte);
  if (k.mem.isReserved(pfn)) return { value, map: "zero", order: -1, index: -1 };
  const folio = k.mem.pageFolio(pfn);
  return { value, map: "pte", order: k.mem.order[folio] as number, index: pfn - folio };
}

/** Capture the observable state of the model. */
export function observe(k: Kernel): ObservableState {
  const procs: ObservableState["procs"] = {};
  for (const [name, mm] of k.procs) {
    const mappings: Record<string, ObservedPage[]> = {};
    if (!mm.exited) {
      for (const [id, m] of mm.mappings) {
        const pages: ObservedPage[] = [];
        for (let v = m.start; v < m.start + m.nrPages; v++) pages.push(observePage(k, mm, v));
        mappings[id] = pages;
      }
    }
    procs[name] = {
      exited: mm.exited,
      rss: { anon: mm.rss[MM_ANONPAGES] as number, file: mm.rss[MM_FILEPAGES] as number, swap: mm.rss[MM_SWAPENTS] as number },
      mappings,
    };
  }
  const foliosByOrder = new Array<number>(11).fill(0);
  const mem = k.mem;
  for (let pfn = 0; pfn < mem.nrPages; ) {
    const f = mem.flags[pfn] as number;
    const order = mem.order[pfn] as number;
    if ((f & PG.allocated) !== 0 && (f & PG.reserved) === 0) {
      foliosByOrder[order] = (foliosByOrder[order] as number) + 1;
      pfn += 1 << order;
    } else {
      pfn = mem.skipFree(pfn);
    }
  }
  const nrAnon: Record<string, number> = {};
  const nrPartial: Record<string, number> = {};
  for (const o of MTHP_ORDERS) {
    nrAnon[String(o)] = k.stats.mthpValue(o, MTHP.nrAnon);
    nrPartial[String(o)] = k.stats.mthpValue(o, MTHP.nrAnonPartiallyMapped);
  }
  return {
    procs,
    foliosByOrder,
    freePages: mem.nrFree,
    anonPages: k.stats.nrAnonMapped,
    anonHugePages: k.stats.nrAnonThps,
    nrAnon,
    nrAnonPartiallyMapped: nrPartial,
  };
}
