/**
 * Page tables: PTE tables of 512 entries, one per PMD slot, and huge PMD entries.
 *
 * A PTE value is one JS number: `pfn * 256 + flags`, the flags in the low byte and the pfn (or
 * swap slot) above it, exact up to 2^45 frames because a double holds integers to 2^53. A
 * model whose pfns and swap slots all fit 24 bits keeps its tables in Uint32Arrays (4 bytes a
 * PTE); a bigger one in Float64Arrays (8 bytes, as x86-64's own); the value is the same number
 * either way, so no code path depends on which. Flag tests (`pte & PTE.dirty`) read the
 * low 32 bits and stay valid for any pfn; anything that moves the pfn goes through mkPte() and
 * ptePfn(), and flag changes through pteSetFlags()/pteClearFlags(), never `|`/`&` on the whole
 * value (that would truncate the pfn to 24 bits, the bug of the old Uint32 layout).
 */

import { COST_EVENT_COUNT, Ev } from "./costs.js";
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
/** The pfn sits above the flag byte: pte = pfn * PTE_PFN_SCALE + flags. */
export const PTE_PFN_SCALE = 256;
/** Largest pfn (or swap slot) a PTE holds exactly: 2^45 - 1 (the double's 53 bits less the flag byte). */
export const PTE_MAX_PFN = 2 ** 45 - 1;

/** Largest pfn or swap slot a 4-byte PTE table entry holds: tables go 8-byte above it. */
export const PTE32_MAX_PFN = 2 ** 24 - 1;

/** A PTE table: 512 entries, one per 4 KiB page of a 2 MiB slot (see above for the width). */
export type PteTable = Uint32Array | Float64Array;

export function mkPte(pfn: number, flags: number): number {
  return pfn * PTE_PFN_SCALE + flags;
}

/** pte_pfn() (or the swap offset of a swap PTE). */
export function ptePfn(pte: number): number {
  // PTE_PFN_SCALE as a literal: the bundle turns the constant into a module `var` that V8 does
  // not fold, so `/` by it is a real division, the slowest step of every PTE a walk reads;
  // by a literal power of two it compiles to an exact multiplication.
  return Math.floor(pte / 256);
}

/** The flag byte of a PTE. */
export function pteFlags(pte: number): number {
  return pte & PTE_FLAG_MASK;
}

/** The same PTE with `flags` set (pte_mkwrite(), pte_mkdirty(), ...). */
export function pteSetFlags(pte: number, flags: number): number {
  return pte + (flags & ~pte & PTE_FLAG_MASK);
}

/** The same PTE with `flags` cleared (pte_wrprotect(), pte_mkclean(), ...). */
export function pteClearFlags(pte: number, flags: number): number {
  return pte - (flags & pte & PTE_FLAG_MASK);
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

/** PTE tables per slab: 64 tables, 128 MiB of address space, 128 or 256 KiB of entries. */
const TABLES_PER_SLAB = 64;

/** A process's page tables below the PMD level. */
export class PageTables {
  /** PTE tables by PMD index. */
  readonly pte = new Map<number, PteTable>();
  /** Huge PMD entries (PMD-mapped THP or huge zero page) by PMD index, encoded like PTEs. */
  readonly hugePmd = new Map<number, number>();

  /**
   * Tables are carved from slabs of TABLES_PER_SLAB (one ArrayBuffer each, not one per table:
   * allocating a backing store per 2 MiB cost more than the faults that needed it) and freed
   * tables are reused, as the kernel's page-table pages come back from its allocator.
   */
  private slab: PteTable | null = null;
  private slabUsed = 0;
  private readonly freeTables: PteTable[] = [];

  constructor(
    /** Tables of 8-byte entries: some pfn or swap slot needs more than 24 bits. */
    readonly wide: boolean,
    /** The kernel's cost counters (ptAlloc, ptFree are counted here). */
    private readonly costs: Float64Array = new Float64Array(COST_EVENT_COUNT),
  ) {}

  /**
   * pte_alloc(): the PTE table for a PMD slot, created empty on first use. `withdrawn`: the
   * table is the one deposited for a PMD THP (pgtable_trans_huge_withdraw()), no allocation.
   */
  pteAlloc(pmdIdx: number, withdrawn = false): PteTable {
    let t = this.pte.get(pmdIdx);
    if (!t) {
      if (!withdrawn) this.costs[Ev.ptAlloc]++;
      t = this.freeTables.pop();
      if (t) t.fill(0);
      else {
        if (this.slab === null || this.slabUsed === TABLES_PER_SLAB) {
          const n = TABLES_PER_SLAB * PTRS_PER_PTE;
          this.slab = this.wide ? new Float64Array(n) : new Uint32Array(n);
          this.slabUsed = 0;
        }
        const at = this.slabUsed++ * PTRS_PER_PTE;
        t = this.slab.subarray(at, at + PTRS_PER_PTE);
      }
      this.pte.set(pmdIdx, t);
    }
    return t;
  }

  /** pte_free(): the PMD slot no longer has a PTE table; the table is kept for reuse. */
  pteFree(pmdIdx: number): void {
    const t = this.pte.get(pmdIdx);
    if (!t) return;
    this.costs[Ev.ptFree]++;
    this.pte.delete(pmdIdx);
    this.freeTables.push(t);
  }

  /**
   * pgtable_trans_huge_deposit() for a new huge PMD: the PTE table deposited with it. An empty
   * table the slot still holds becomes the deposit; otherwise one is allocated (pte_alloc_one).
   */
  pteDeposit(pmdIdx: number): void {
    const t = this.pte.get(pmdIdx);
    if (!t) {
      this.costs[Ev.ptAlloc]++;
      return;
    }
    this.pte.delete(pmdIdx);
    this.freeTables.push(t);
  }

  /** Free every PTE table (exit_mmap()'s free_pgtables() of the whole address space). */
  pteFreeAll(): void {
    this.costs[Ev.ptFree] += this.pte.size;
    for (const t of this.pte.values()) this.freeTables.push(t);
    this.pte.clear();
  }

  /** Read the PTE for a vpn without allocating (0 when there is no table). */
  readPte(vpn: number): number {
    const t = this.pte.get(pmdIndex(vpn));
    return t ? (t[pteIndex(vpn)] as number) : 0;
  }
}
