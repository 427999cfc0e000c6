/**
 * The model's whole state: physical memory, processes, files, the deferred split queue,
 * counters, and the checker's bookkeeping. Functions named after kernel functions take it
 * as their first argument, as kernel functions reach global state.
 */

import { COST_EVENT_COUNT } from "./costs.js";
import { type InvariantName, InvariantViolation } from "./errors.js";
import { MemMap } from "./mem-map.js";
import { FileObject, MmStruct } from "./mm.js";
import { PTE32_MAX_PFN } from "./page-table.js";
import { KernelStats } from "./stats.js";
import { type StrategyHooks, strategyHooks, type ZapStrategy } from "./strategy.js";
import { FolioBatch, PAGEVEC_SIZE } from "./swap.js";
import type { SwapDevice } from "./swapfile.js";
import { HPAGE_PMD_ORDER } from "./units.js";

export type Arch = "x86_64" | "s390";
export type ThpPolicy = "always" | "madvise" | "never";
/** hugepages-<size>kB/shmem_enabled. */
export type ShmemPolicy = "always" | "within_size" | "advise" | "never" | "inherit";

export interface KernelConfig {
  arch: Arch;
  /** hugepages-<size>kB/enabled per order (index = order; orders 2..9 used). */
  mthp: ThpPolicy[];
  /**
   * hugepages-<size>kB/shmem_enabled per order (index = order; orders 2..9 used). "inherit"
   * follows the top-level transparent_hugepage/shmem_enabled, which the model keeps at "never"
   * (this machine's value), so it allocates nothing large.
   */
  shmem: ShmemPolicy[];
  /** Pages of physical memory the model has. */
  memoryPages: number;
  /** Swap slots (pages); 0 = no swap. */
  swapPages: number;
  /** Run the invariant checker. */
  invariants: boolean;
  /** transparent_hugepage/use_zero_page. */
  useHugeZeroPage: boolean;
  /** transparent_hugepage/shrink_underused: PMD THPs are queued (uncounted) at fault. */
  shrinkUnderused: boolean;
}

export function defaultMthp(): ThpPolicy[] {
  const p: ThpPolicy[] = new Array(HPAGE_PMD_ORDER + 1).fill("never");
  p[HPAGE_PMD_ORDER] = "madvise";
  return p;
}

/** The model's shmem_enabled defaults: every size "never" (2M "inherit" of a "never" top level). */
export function defaultShmem(): ShmemPolicy[] {
  const p: ShmemPolicy[] = new Array(HPAGE_PMD_ORDER + 1).fill("never");
  p[HPAGE_PMD_ORDER] = "inherit";
  return p;
}

export class Kernel {
  readonly mem: MemMap;
  readonly costs = new Float64Array(COST_EVENT_COUNT);
  /**
   * The mm of the process the current op runs in (for reclaim, the task that asked for it): the one
   * mm the model's single CPU has loaded, so a TLB flush of any other mm has nothing to flush.
   */
  opMm: import("./mm.js").MmStruct | undefined = undefined;
  readonly stats = new KernelStats();
  readonly procs = new Map<string, MmStruct>();
  readonly files: FileObject[] = [];
  /** The named files (mmap `file`) by name. */
  readonly namedFiles = new Map<string, FileObject>();
  /** The deferred split queue (one node, no memcg split): folio heads in list order. */
  readonly deferredSplitQueue = new Set<number>();
  /**
   * This CPU's lru_lazyfree folio_batch (mm/swap.c, 6.18): folios MADV_FREE marked lazyfree
   * whose PGLAZYFREE is counted only when the batch moves (swap.ts lruLazyfreeAdd/Drain).
   */
  readonly lruLazyfree = { folios: 0, pages: 0 };
  /** This CPU's lru_activate folio_batch (mm/swap.c, 6.18): folios queued for lru_activate(). */
  readonly lruActivate = { folios: 0 };
  /**
   * This CPU's lru_add folio_batch (mm/swap.c, 6.18): new order-0 folios wait here with a
   * reference each until PAGEVEC_SIZE are queued (swap.ts lruAddBatchAdd/Move).
   */
  readonly lruAddBatch = { folios: new Int32Array(PAGEVEC_SIZE), refs: new Int32Array(PAGEVEC_SIZE).fill(1), nr: 0 };
  /**
   * The folio_batch free_pages_and_swap_cache() keeps on its stack, made once: a batch page of
   * the gather is released with it, empty again when the release returns.
   */
  readonly folioBatch: FolioBatch = new FolioBatch(this);
  /** On s390, MMU_GATHER_NO_GATHER: PTE clears invalidate the TLB at once. */
  readonly noGather: boolean;
  readonly invariants: boolean;
  /** Per-pfn count of stale TLB translations and of the dirty ones (checker only). */
  readonly staleTlb: Uint16Array | null;
  readonly staleDirty: Uint16Array | null;
  /** The swap device: present when config.swap gives one (installSwap()), absent (null) otherwise. */
  swap: SwapDevice | null = null;
  /** PTE tables of 8-byte entries: memory or swap beyond 2^24 pages (see page-table.ts). */
  readonly widePtes: boolean;
  /** The strategy's hooks, the missing ones filled with the v6.5 building blocks. */
  readonly hooks: StrategyHooks;
  /** What is running now, for error messages. */
  currentOp = "setup";
  private nextMmId = 1;
  private nextAnonVma = 1;

  constructor(
    readonly config: KernelConfig,
    readonly strategy: ZapStrategy,
  ) {
    this.hooks = strategyHooks(strategy);
    this.mem = new MemMap(config.memoryPages);
    this.noGather = config.arch === "s390";
    this.widePtes = Math.max(config.memoryPages, config.swapPages) > PTE32_MAX_PFN;
    this.invariants = config.invariants;
    this.staleTlb = config.invariants ? new Uint16Array(config.memoryPages) : null;
    this.staleDirty = config.invariants ? new Uint16Array(config.memoryPages) : null;
  }

  newMm(name: string): MmStruct {
    const mm = new MmStruct(this.nextMmId++, name, this.widePtes, this.costs);
    this.procs.set(name, mm);
    return mm;
  }

  newAnonVma(): number {
    return this.nextAnonVma++;
  }

  newFile(nrPages: number, shmem = false, name: string | null = null): FileObject {
    const f = new FileObject(this.files.length + 1, nrPages, shmem, name);
    this.files.push(f);
    if (name !== null) this.namedFiles.set(name, f);
    return f;
  }

  /** The scenario's named file `name` (mmap `file`), created with nrPages on its first mmap. */
  namedFile(name: string, nrPages: number): FileObject {
    return this.namedFiles.get(name) ?? this.newFile(nrPages, false, name);
  }

  /** Throw the named invariant violation for a pfn. */
  violate(invariant: InvariantName, pfn: number, detail: string): never {
    const folio = pfn >= 0 && pfn < this.mem.nrPages ? this.mem.pageFolio(pfn) : pfn;
    throw new InvariantViolation({
      invariant,
      pfn,
      folio,
      op: this.currentOp,
      strategy: this.strategy.name,
      detail,
    });
  }
}
