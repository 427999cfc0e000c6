/**
 * @foliolab/core/internals: the model itself, every module's exports. UNSTABLE: no semver
 * promise covers this entry; names and signatures change with the model. The bench app and
 * kernel-probe use it; a strategy uses `@foliolab/core/strategy` and a tool `@foliolab/core`.
 */

export * from "./costs.js";
export * from "./deferred-split.js";
export * from "./errors.js";
export * from "./fault.js";
export * from "./folio.js";
export * from "./fork.js";
export * from "./gup.js";
export * from "./hook-trace.js";
export * from "./huge-memory.js";
export * from "./invariants.js";
export * from "./kernel.js";
export * from "./madvise.js";
export * from "./mem-map.js";
export * from "./mm.js";
export * from "./mmu-gather.js";
export * from "./observe.js";
export * from "./page-table.js";
export * from "./readahead.js";
export * from "./rmap.js";
export * from "./rmap-walk.js";
export * from "./run-scenario.js";
export * from "./scenario.js";
export * from "./scenario-plan.js";
export * from "./selftests/cow.js";
export * from "./shmem.js";
export * from "./stats.js";
export * from "./strategy.js";
export * from "./swap.js";
export * from "./swapfile.js";
export * from "./syscalls.js";
export * from "./units.js";
export * from "./vmscan.js";
export * from "./zap.js";
export * from "./zap-v65.js";
export * from "./zap-v69.js";
