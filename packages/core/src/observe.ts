/**
 * What a process (or a person with /proc and kpageflags) can observe, independent of which
 * physical pages the allocator happened to hand out: per mapping and page, what it reads and
 * how it is mapped; the folios by order; free memory. Two strategies are equivalent on a
 * scenario when their observable states are equal.
 */

import { isHugeZeroPmd } from "./huge-memory.js";
import type { Kernel } from "./kernel.js";
import { PG } from "./mem-map.js";
import { MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, MM_SWAPENTS } from "./mm.js";
import { PTE, type PteTable, pmdIndex, ptePfn } from "./page-table.js";
import { filemapPage } from "./shmem.js";
import { MTHP } from "./stats.js";
import { peekSwap } from "./swapfile.js";
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
      rss: { anon: number; file: number; swap: number; shmem: number };
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

/** How a page is mapped, as observe() spells it, by code. */
const MAP_NAMES = ["unmapped", "pte", "pmd", "zero", "swap", "none"] as const;
const MAP = { unmapped: 0, pte: 1, pmd: 2, zero: 3, swap: 4, none: 5 } as const;

/** One page's observation into out: [map code, order, index]; returns the value (null: unmapped). */
function observePageInto(k: Kernel, mm: import("./mm.js").MmStruct, vpn: number, out: Int32Array): number | null {
  const value = peekContent(k, mm, vpn);
  out[1] = -1;
  out[2] = -1;
  if (value === null) {
    out[0] = MAP.unmapped;
    return value;
  }
  const idx = pmdIndex(vpn);
  const huge = mm.pgtables.hugePmd.get(idx);
  if (huge !== undefined) {
    if (isHugeZeroPmd(huge)) {
      out[0] = MAP.zero;
      return value;
    }
    out[0] = MAP.pmd;
    out[1] = 9;
    out[2] = vpn - idx * PTRS_PER_PTE;
    return value;
  }
  const pte = mm.pgtables.readPte(vpn);
  if ((pte & PTE.present) === 0) {
    out[0] = pte === 0 ? MAP.none : MAP.swap;
    return value;
  }
  const pfn = ptePfn(pte);
  if (k.mem.isReserved(pfn)) {
    out[0] = MAP.zero;
    return value;
  }
  const folio = k.mem.pageFolio(pfn);
  out[0] = MAP.pte;
  out[1] = k.mem.order[folio] as number;
  out[2] = pfn - folio;
  return value;
}

const scratch = new Int32Array(3);

function observePage(k: Kernel, mm: import("./mm.js").MmStruct, vpn: number): ObservedPage {
  const value = observePageInto(k, mm, vpn, scratch);
  return { value, map: MAP_NAMES[scratch[0] as number] as string, order: scratch[1] as number, index: scratch[2] as number };
}

/**
 * Order-0 folios only this CPU's lru_add batch still holds (freed when it moves). When that
 * happens depends on the free path (6.5 and 6.9 drain the batches at every release, 6.18 does
 * not), so the observable state counts them free, as after lru_add_drain_all().
 */
function freedByLruAddBatch(k: Kernel): number {
  const b = k.lruAddBatch;
  let n = 0;
  for (let i = 0; i < b.nr; i++) {
    const folio = b.folios[i] as number;
    if ((k.mem.refcount[folio] as number) === 1) n++;
  }
  return n;
}

function countFoliosByOrder(k: Kernel): number[] {
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
  foliosByOrder[0] = (foliosByOrder[0] as number) - freedByLruAddBatch(k);
  return foliosByOrder;
}

/** The free pages observe() reports: the free lists, and what the lru_add batch alone still holds. */
export function observedFreePages(k: Kernel): number {
  return k.mem.nrFree + freedByLruAddBatch(k);
}

/**
 * A digest of observe(k), computed without building it (no per-page objects): equal states
 * give equal digests. For tools that only need "the same state or not" after a large run (the
 * bench verifies every measured run with it); observe() says where two states differ.
 */
export function observeDigest(k: Kernel): string {
  // Two 32-bit multiplicative lanes over every field observe() reports, in its order; the page
  // walk reads each PTE table and huge PMD once per table instead of once per page.
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  const mix = (x: number) => {
    a = Math.imul(a ^ (x | 0), 16777619);
    b = Math.imul(b ^ (x | 0), 0x5bd1e995);
    b ^= b >>> 13;
  };
  const mixString = (str: string) => {
    mix(str.length);
    for (let i = 0; i < str.length; i++) mix(str.charCodeAt(i));
  };
  const mem = k.mem;
  const content = mem.content;
  const flags = mem.flags;
  const order = mem.order;
  for (const [name, mm] of k.procs) {
    mixString(name);
    mix(mm.exited ? 1 : 0);
    mix(mm.rss[MM_ANONPAGES] as number);
    mix(mm.rss[MM_FILEPAGES] as number);
    mix(mm.rss[MM_SWAPENTS] as number);
    mix(mm.rss[MM_SHMEMPAGES] as number);
    if (mm.exited) continue;
    const pgt = mm.pgtables;
    for (const [id, m] of mm.mappings) {
      mixString(id);
      mix(m.nrPages);
      let vma: import("./mm.js").Vma | undefined;
      let tableIdx = -1;
      let huge: number | undefined;
      let ptes: PteTable | undefined;
      // The hot loop, inlined: one packed word (null flag, map code, order + 1, index + 1) and the
      // value per page, into both lanes.
      let ha = a;
      let hb = b;
      const end = m.start + m.nrPages;
      for (let v = m.start; v < end; v++) {
        let word: number;
        let value = 0;
        if (!vma || v < vma.start || v >= vma.end) vma = mm.findVma(v);
        if (!vma) {
          word = 1 | (MAP.unmapped << 1);
        } else {
          const idx = pmdIndex(v);
          if (idx !== tableIdx) {
            tableIdx = idx;
            huge = pgt.hugePmd.get(idx);
            ptes = pgt.pte.get(idx);
          }
          const slot = v - idx * PTRS_PER_PTE;
          if (huge !== undefined) {
            value = content[ptePfn(huge) + slot] as number;
            word = isHugeZeroPmd(huge) ? MAP.zero << 1 : (MAP.pmd << 1) | (10 << 4) | ((slot + 1) << 9);
          } else {
            const pte = ptes ? (ptes[slot] as number) : 0;
            if ((pte & PTE.present) !== 0) {
              const pfn = ptePfn(pte);
              value = content[pfn] as number;
              if (((flags[pfn] as number) & PG.reserved) !== 0) word = MAP.zero << 1;
              else {
                const folio = pfn & ~((1 << (order[pfn] as number)) - 1);
                word = (MAP.pte << 1) | (((order[folio] as number) + 1) << 4) | ((pfn - folio + 1) << 9);
              }
            } else {
              if (pte !== 0 && k.swap) value = peekSwap(k, k.swap, pte);
              else if (vma.file) {
                const page = filemapPage(k, vma.file, vma.pgoff + (v - vma.start));
                value = page === -1 ? 0 : (content[page] as number);
              }
              word = pte === 0 ? MAP.none << 1 : MAP.swap << 1;
            }
          }
        }
        ha = Math.imul(ha ^ word, 16777619);
        hb = Math.imul(hb ^ word, 0x5bd1e995);
        hb ^= hb >>> 13;
        ha = Math.imul(ha ^ (value | 0), 16777619);
        hb = Math.imul(hb ^ (value | 0), 0x5bd1e995);
        hb ^= hb >>> 13;
      }
      a = ha;
      b = hb;
    }
  }
  for (const n of countFoliosByOrder(k)) mix(n);
  mix(observedFreePages(k));
  mix(k.stats.nrAnonMapped);
  mix(k.stats.nrAnonThps);
  for (const o of MTHP_ORDERS) {
    mix(k.stats.mthpValue(o, MTHP.nrAnon));
    mix(k.stats.mthpValue(o, MTHP.nrAnonPartiallyMapped));
  }
  return `${(a >>> 0).toString(16).padStart(8, "0")}${(b >>> 0).toString(16).padStart(8, "0")}`;
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
      rss: {
        anon: mm.rss[MM_ANONPAGES] as number,
        file: mm.rss[MM_FILEPAGES] as number,
        swap: mm.rss[MM_SWAPENTS] as number,
        shmem: mm.rss[MM_SHMEMPAGES] as number,
      },
      mappings,
    };
  }
  const foliosByOrder = countFoliosByOrder(k);
  const nrAnon: Record<string, number> = {};
  const nrPartial: Record<string, number> = {};
  for (const o of MTHP_ORDERS) {
    nrAnon[String(o)] = k.stats.mthpValue(o, MTHP.nrAnon);
    nrPartial[String(o)] = k.stats.mthpValue(o, MTHP.nrAnonPartiallyMapped);
  }
  return {
    procs,
    foliosByOrder,
    freePages: observedFreePages(k),
    anonPages: k.stats.nrAnonMapped,
    anonHugePages: k.stats.nrAnonThps,
    nrAnon,
    nrAnonPartiallyMapped: nrPartial,
  };
}
