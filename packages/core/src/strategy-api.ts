/**
 * @foliolab/core/strategy: everything a zap strategy is built with, and the surface the
 * strategies' peer range on @foliolab/core promises.
 *
 * - the contract: ZapStrategy, the ZapContext core hands to it, the MmuGather and its layout;
 * - the kernel's primitives under their kernel names: folios, PTEs, rmap, the mmu_gather, the
 *   release of gathered pages, the deferred split queue;
 * - the kernel's building blocks by version, which a strategy reuses for what its patch does
 *   not change.
 *
 * docs/write-a-strategy.md shows each one's signature.
 */

export { CostEvent } from "./costs.js";
export { deferredSplitFolio, folioUnqueueDeferredSplit } from "./deferred-split.js";
export {
  folioEntireMapcount,
  folioGet,
  folioMapcount,
  folioMapped,
  folioNrPages,
  folioNrPagesMapped,
  folioOrder,
  folioPut,
  folioPutRefs,
  folioRefAdd,
  folioRefCount,
  folioTestAnon,
  folioTestFlag,
  folioTestLarge,
  folioTestLazyfree,
  pageFolio,
  pageMapcount,
} from "./folio.js";
export type { Kernel } from "./kernel.js";
export { PG } from "./mem-map.js";
export { MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, MM_SWAPENTS, type Vma } from "./mm.js";
export {
  DEFAULT_GATHER_GEOMETRY,
  GATHER,
  type GatherGeometry,
  MmuGather,
  tlbDelayRmap,
  tlbRemoveFolioPages,
  tlbRemovePage,
  tlbRemoveTlbEntries,
  tlbRemoveTlbEntry,
} from "./mmu-gather.js";
export { isSwapPte, PTE, type PteTable, pteDirty, ptePfn, ptePresent, pteWrite, pteYoung } from "./page-table.js";
export { folioRemoveRmapPtes, folioRemoveRmapRange, pageRemoveRmap } from "./rmap.js";
export type { ReclaimUnmapContext, ZapStrategy } from "./strategy.js";
export { FolioBatch, foliosPutRefs, freeSwapCache, lruAddDrain, PAGEVEC_SIZE, releasePages } from "./swap.js";
export { HPAGE_PMD_NR, PAGE_SIZE, PTRS_PER_PTE } from "./units.js";
export {
  clearFullPtes,
  folioMarkAccessed,
  folioMarkDirty,
  folioPteBatch,
  folioPteBatchAt,
  folioPteBatchFlags,
  getAndClearFullPtes,
  mmCounter,
  ptepGet,
  ptepGetAndClearFull,
  RECLAIM_BATCHING,
  type ReclaimBatching,
  reclaimUnmapBatchOf,
  vmNormalPage,
  ZapContext,
} from "./zap.js";
// The kernel's building blocks, by the version whose code they are.
export {
  freePagesAndSwapCacheV65,
  tlbFlushRmapBatchV65,
  ZAP_PTE_STEPS_V65,
  type ZapPteStepsV65,
  zapPresentPteV65,
  zapPresentPteV65With,
} from "./zap-v65.js";
export {
  freePagesAndSwapCacheV69,
  freePagesAndSwapCacheV618,
  tlbFlushRmapBatchV69,
  ZAP_FOLIO_STEPS_V69,
  type ZapFolioStepsV69,
  type ZapPresentFolioPtes,
  zapPresentFolioPtesV69,
  zapPresentFolioPtesV69With,
  zapPresentPtesV69,
  zapPresentPtesV69With,
} from "./zap-v69.js";
