/**
 * Page tables: PTE tables of 512 entries as Uint32Array, one per PMD slot, and huge PMD
 * entries. A PTE packs its flags in the low byte and the pfn (or swap slot) above it.
 */

import { PTRS_PER_PTE } from "./units.js";

export const PTE = {
  present: 1 << 0,
  write: 1 << 1,
  dirty: 1 << 2,
  young: 1 << 3,
  /** Non-present swap entry: the upper bits hold the swap slot. */
  swap: 1 << 4,
  /** Swap PTE marker: the swapped page was PageAnonExclusive (pte_swp_exclusive). */
  swpExclusive: 1 << 5,
  softDirty: 1 << 6,
} as const;

export const PTE_FLAG_MASK = 0xff;
export const PTE_PFN_SHIFT = 8;
/** Largest pfn a PTE can hold (24 bits: 64 GiB of model memory). */
export const PTE_MAX_PFN = (1 << 24) - 1;

export function mkPte(pfn: number, flags: number): number {
  return ((pfn << PTE_PFN_SHIFT) | flags) >>> 0;
}

export function ptePfn(pte: number): number {
  return pte >>> PTE_PFN_SHIFT;
}

export function pteNone(pte: number): boolean {
  return pte === 0;
}

export function ptePresent(pte: number): boolean {
  return (pte & PTE.present) !== 0;
}

export function pteDirty(pte: number): boolean {
  return (pte & PTE.dirty) !== 0;
}

export function pteYoung(pte: number): boolean {
  return (pte & PTE.young) !== 0;
}

export function pteWrite(pte: number): boolean {
  return (pte & PTE.write) !== 0;
}

export function isSwapPte(pte: number): boolean {
  return (pte & PTE.swap) !== 0;
}

/** pmd_index(): which PTE table (2 MiB slot) a virtual page number belongs to. */
export function pmdIndex(vpn: number): number {
  return Math.floor(vpn / PTRS_PER_PTE);
}

/** pte_index(): slot of a virtual page number in its PTE table. */
export function pteIndex(vpn: number): number {
  return vpn % PTRS_PER_PTE;
}

/** pmd_addr_end(): first vpn of the next PTE table, capped at end. */
export function pmdAddrEnd(vpn: number, end: number): number {
  const next = (pmdIndex(vpn) + 1) * PTRS_PER_PTE;
  return Math.min(next, end);
}

/** A process's page tables below the PMD level. */
export class PageTables {
  /** PTE tables by PMD index. */
  readonly pte = new Map<number, Uint32Array>();
  /** Huge PMD entries (PMD-mapped THP or huge zero page) by PMD index, encoded like PTEs. */
  readonly hugePmd = new Map<number, number>();

  /** pte_alloc(): the PTE table for a PMD slot, created empty on first use. */
  pteAlloc(pmdIdx: number): Uint32Array {
    let t = this.pte.get(pmdIdx);
    if (!t) {
      t = new Uint32Array(PTRS_PER_PTE);
      this.pte.set(pmdIdx, t);
    }
    return t;
  }

  /** Read the PTE for a vpn without allocating (0 when there is no table). */
  readPte(vpn: number): number {
    const t = this.pte.get(pmdIndex(vpn));
    return t ? (t[pteIndex(vpn)] as number) : 0;
  }
}
