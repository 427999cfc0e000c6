/**
 * @foliolab/core: an executable, checked model of the Linux kernel's memory teardown path
 * (Linux 6.18 semantics).
 *
 * This entry runs scenarios: validate and plan them, run them under a strategy, observe the
 * model's state, and read the result contract and the errors. What a strategy author builds
 * with is at `@foliolab/core/strategy`; the model itself, unstable, at `@foliolab/core/internals`.
 */

export { COST_EVENT_KEYS, COST_EVENT_NAMES, type CostEventName, costsToRecord } from "./costs.js";
export {
  INVARIANTS,
  InternalError,
  type InvariantName,
  InvariantViolation,
  ScenarioError,
  StrategyError,
  type ViolationDetail,
} from "./errors.js";
export { type HookTrace, StrategyTimeout, traceHooks } from "./hook-trace.js";
export type { Kernel } from "./kernel.js";
export { type ObservableState, type ObservedPage, observe, observeDigest, observedFreePages } from "./observe.js";
export {
  createKernel,
  type ExpectResult,
  type ProcStatus,
  type RunOptions,
  runScenario,
  runScenarioDetailed,
  type ScenarioResult,
  snapshotCounters,
} from "./run-scenario.js";
export { OP_NAMES, parseScenario, type Scenario, type ScenarioConfig, type ScenarioOp, scenarioSchema } from "./scenario.js";
export {
  MEMINFO_NAMES,
  type MeminfoName,
  MODEL_LIMITS,
  type PlannedMapping,
  type PlannedOp,
  type PlannedRange,
  PROC_STATUS_NAMES,
  planScenario,
  type ScenarioPlan,
  validateScenario,
} from "./scenario-plan.js";
export { MTHP_STAT_NAMES, VMSTAT_NAMES } from "./stats.js";
export type { ZapStrategy } from "./strategy.js";
export { formatBytes, parseSize } from "./units.js";
