/**
 * @foliolab/kernel-probe: run a foliolab scenario on the real Linux kernel and return the same
 * result contract as the model (ScenarioResult), plus per-op wall times, a `missing` list and
 * the folio layout of mappings from /proc/PID/pagemap and /proc/kpageflags.
 */

export { type KernelAvailability, kernelAvailable } from "./available.js";
export { defaultCacheDir, ensureRunner, findCompiler, type RunnerBinary, runnerSourcePath } from "./compile.js";
export { KernelProbeError } from "./errors.js";
export {
  type FolioInfo,
  type FolioLayout,
  type FolioRun,
  folioLayout,
  formatLayout,
  KPF,
  pmdMappedRanges,
  sizeName,
  smapsAnonHuge,
} from "./layout.js";
export { buildProgram, type Program, type Step, wantedKnobs } from "./program.js";
export {
  type KernelResult,
  type KnobChange,
  type MappingInfo,
  mergeKernelResults,
  type OpContext,
  type OpTiming,
  type RunOnKernelOptions,
  runOnKernel,
} from "./run.js";
export { acquireProbeSwap, activeSwapBytes, type ProbeSwap, probeSwapFiles, type SwapOptions } from "./swap.js";
export { type CounterSnapshot, diffCounters, knobDirs, mthpDirs, readPolicy, snapshotCounters } from "./sysfs.js";
export {
  allowedDifference,
  DEFAULT_TOLERANCE_PERCENT,
  judgeField,
  SYSTEM_WIDE_TOLERANCE,
  type ToleranceRule,
  type Verdict,
} from "./tolerance.js";
