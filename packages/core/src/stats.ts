/**
 * Kernel-visible counters, named as the kernel names them: the per-size mTHP stats
 * (/sys/kernel/mm/transparent_hugepage/hugepages-<size>kB/stats/) and /proc/vmstat events.
 */

import { MAX_FOLIO_ORDER } from "./units.js";

export const MTHP_STAT_NAMES = [
  "anon_fault_alloc",
  "anon_fault_fallback",
  "split",
  "split_failed",
  "split_deferred",
  "nr_anon",
  "nr_anon_partially_mapped",
  "swpout",
  "swpout_fallback",
  "shmem_alloc",
  "shmem_fallback",
  "shmem_fallback_charge",
] as const;
export type MthpStatName = (typeof MTHP_STAT_NAMES)[number];

export const MTHP = {
  anonFaultAlloc: 0,
  anonFaultFallback: 1,
  split: 2,
  splitFailed: 3,
  splitDeferred: 4,
  nrAnon: 5,
  nrAnonPartiallyMapped: 6,
  swpout: 7,
  swpoutFallback: 8,
  shmemAlloc: 9,
  shmemFallback: 10,
  shmemFallbackCharge: 11,
} as const;
const NR_MTHP_STATS = MTHP_STAT_NAMES.length;

export const VMSTAT_NAMES = [
  "thp_fault_alloc",
  "thp_split_pmd",
  "thp_split_page",
  "thp_deferred_split_page",
  "pglazyfree",
  "pglazyfreed",
  "pswpout",
  "pgfault",
  "thp_file_alloc",
  "thp_file_mapped",
  "nr_shmem",
  "pgmajfault",
] as const;
export type VmstatName = (typeof VMSTAT_NAMES)[number];

export const VMSTAT = {
  thpFaultAlloc: 0,
  thpSplitPmd: 1,
  thpSplitPage: 2,
  thpDeferredSplitPage: 3,
  pglazyfree: 4,
  pglazyfreed: 5,
  pswpout: 6,
  pgfault: 7,
  thpFileAlloc: 8,
  thpFileMapped: 9,
  /** NR_SHMEM, a page count (node state), kept here with the events as /proc/vmstat lists it. */
  nrShmem: 10,
  pgmajfault: 11,
} as const;

export class KernelStats {
  /** [order * NR_MTHP_STATS + stat]. */
  readonly mthp = new Float64Array((MAX_FOLIO_ORDER + 1) * NR_MTHP_STATS);
  readonly vmstat = new Float64Array(VMSTAT_NAMES.length);
  /** NR_ANON_MAPPED, NR_ANON_THPS, NR_FILE_MAPPED in pages (AnonPages, AnonHugePages, Mapped). */
  nrAnonMapped = 0;
  nrAnonThps = 0;
  nrFileMapped = 0;
  /** NR_SHMEM_THPS, NR_SHMEM_PMDMAPPED, NR_FILE_THPS, NR_FILE_PMDMAPPED in pages. */
  nrShmemThps = 0;
  nrShmemPmdmapped = 0;
  nrFileThps = 0;
  nrFilePmdmapped = 0;

  /** count_mthp_stat()/mod_mthp_stat(): orders 1..PMD only, as in the kernel. */
  modMthp(order: number, stat: number, delta: number): void {
    if (order <= 0 || order > MAX_FOLIO_ORDER) return;
    const i = order * NR_MTHP_STATS + stat;
    this.mthp[i] = (this.mthp[i] as number) + delta;
  }

  mthpValue(order: number, stat: number): number {
    return this.mthp[order * NR_MTHP_STATS + stat] as number;
  }

  countVm(stat: number, delta = 1): void {
    this.vmstat[stat] = (this.vmstat[stat] as number) + delta;
  }
}
