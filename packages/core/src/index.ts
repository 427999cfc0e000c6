/**
 * @foliolab/core: an executable, checked model of the Linux kernel's memory teardown path
 * (Linux 6.18 semantics) and the one interface a zap strategy implements.
 */

export { COST_EVENT_KEYS, COST_EVENT_NAMES, CostEvent, type CostEventName, costsToRecord } from "./costs.js";
export { deferredSplitFolio, folioUnqueueDeferredSplit } from "./deferred-split.js";
export {
  INVARIANTS,
  type InvariantName,
  InvariantViolation,
  ScenarioError,
  StrategyError,
  type ViolationDetail,
} from "./errors.js";
export { accessPage, thpOrderAllowed, unshareAnonPage, wpCanReuseAnonFolio } from "./fault.js";
export {
  ENTIRELY_MAPPED,
  FOLIO_PAGES_MAPPED,
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
  folioRefSubAndTest,
  folioTestAnon,
  folioTestFlag,
  folioTestLarge,
  folioTestLazyfree,
  freeFolio,
  pageFolio,
  pageMapcount,
} from "./folio.js";
export { doFork } from "./fork.js";
export { pinUserPage, unpinUserPages } from "./gup.js";
export { splitFolio, splitHugePmd, zapHugePmd } from "./huge-memory.js";
export { auditInvariants } from "./invariants.js";
export {
  type Arch,
  defaultMthp,
  defaultShmem,
  Kernel,
  type KernelConfig,
  type ShmemPolicy,
  type ThpPolicy,
} from "./kernel.js";
export { madviseColdOrPageout, madviseFree } from "./madvise.js";
export { HUGE_ZERO_PFN, MAX_MEMORY_PAGES, MemMap, NIL, PG, ZERO_PFN } from "./mem-map.js";
export {
  FileObject,
  type Mapping,
  MM_ANONPAGES,
  MM_FILEPAGES,
  MM_SHMEMPAGES,
  MM_SWAPENTS,
  MmStruct,
  type StaleTlb,
  VM,
  type Vma,
  type VmaKind,
} from "./mm.js";
export {
  flushTlbMmRange,
  GATHER,
  MmuGather,
  TLB_SINGLE_PAGE_FLUSH_CEILING,
  tlbDelayRmap,
  tlbFinishMmu,
  tlbFlushMmu,
  tlbFlushMmuTlbonly,
  tlbFlushPteRange,
  tlbGatherMmu,
  tlbRemoveFolioPages,
  tlbRemovePage,
  tlbRemovePmdTlbEntry,
  tlbRemoveTlbEntries,
  tlbRemoveTlbEntry,
} from "./mmu-gather.js";
export { type ObservableState, type ObservedPage, observe, observeDigest } from "./observe.js";
export {
  isSwapPte,
  mkPte,
  PageTables,
  PTE,
  PTE_MAX_PFN,
  type PteTable,
  pteClearFlags,
  pteDirty,
  pteFlags,
  ptePfn,
  ptePresent,
  pteSetFlags,
  pteWrite,
  pteYoung,
} from "./page-table.js";
export {
  folioAddAnonRmapPtes,
  folioAddFileRmapPtes,
  folioAddNewAnonRmap,
  folioAddRmapPmd,
  folioDupRmap,
  folioMaybeDmaPinned,
  folioMmIds,
  folioRemoveRmapPmd,
  folioRemoveRmapPte,
  folioRemoveRmapPtes,
  folioRemoveRmapRange,
  folioTryDupAnonRmap,
  GUP_PIN_COUNTING_BIAS,
  MM_ID_DUMMY,
  pageRemoveRmap,
} from "./rmap.js";
export {
  type FolioPlace,
  folioEstimatedSharers,
  folioLikelyMappedShared,
  folioMappers,
  folioMaybeMappedShared,
  type OracleScore,
  rmapWalk,
  type SharingCensus,
  sharingCensus,
} from "./rmap-walk.js";
export {
  createKernel,
  type ExpectResult,
  kernelConfig,
  MEMINFO_NAMES,
  type MeminfoName,
  MODEL_LIMITS,
  NOT_YET_SUPPORTED,
  PROC_STATUS_NAMES,
  type ProcStatus,
  type RunOptions,
  runScenario,
  runScenarioDetailed,
  type ScenarioResult,
  snapshotCounters,
  validateScenario,
} from "./run-scenario.js";
export {
  configSchema,
  OP_NAMES,
  opSchema,
  parseScenario,
  type Scenario,
  type ScenarioConfig,
  type ScenarioOp,
  scenarioSchema,
} from "./scenario.js";
export { type Backing as CowBacking, COW_BACKINGS, cowSelftestScenarios, type SelftestScenario } from "./selftests/cow.js";
export {
  doSetPmd,
  doShmemFault,
  FAULT_AROUND_PAGES,
  filemapPage,
  shmemAllowableHugeOrders,
  shmemGetFolio,
  shmemTruncate,
  thpVmaSuitableOrder,
} from "./shmem.js";
export { KernelStats, MTHP_STAT_NAMES, VMSTAT_NAMES } from "./stats.js";
export { DEFAULT_GATHER_GEOMETRY, type GatherGeometry, type ReclaimUnmapContext, type ZapStrategy } from "./strategy.js";
export { FolioBatch, foliosPutRefs, freeSwapCache, lruAddDrain, PAGEVEC_SIZE, releasePages, SWAP_CLUSTER_MAX } from "./swap.js";
export { addToSwap, folioFreeSwap, installSwap, SwapDevice } from "./swapfile.js";
export {
  doExit,
  doMmap,
  doMprotect,
  doMremap,
  doMunmap,
  madviseDontneed,
  peekContent,
  userAccessRange,
  userRead,
  userWrite,
} from "./syscalls.js";
export {
  formatBytes,
  HPAGE_PMD_NR,
  HPAGE_PMD_ORDER,
  hugepagesDirName,
  MTHP_ORDERS,
  PAGE_SIZE,
  PTRS_PER_PTE,
  parseSize,
  sizeNameToOrder,
} from "./units.js";
export { deferredSplitScan, reclaimPass, shrinkFolioList, tryToUnmap } from "./vmscan.js";
export {
  clearFullPtes,
  folioMarkAccessed,
  folioMarkDirty,
  folioPteBatch,
  folioPteBatchAt,
  getAndClearFullPtes,
  mmCounter,
  ptepGet,
  ptepGetAndClearFull,
  vmNormalPage,
  ZapContext,
} from "./zap.js";
export { FREE_CHUNK, freePagesAndSwapCacheV65, tlbFlushRmapBatchV65, zapPresentPteV65 } from "./zap-v65.js";
