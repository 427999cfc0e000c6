/**
 * @foliolab/testkit/lib: the kit's pieces without vitest, for other tools (fuzzers, the
 * bench, CLIs): the scenario catalogue, checkEquivalence(), the property runner, and the
 * deliberately broken strategies.
 */

export {
  CATALOGUE,
  type CatalogueEntry,
  EQUIVALENCE_SCENARIOS,
  REPLAY_SCENARIOS,
} from "./catalogue.js";
export { DEADLINE_FACTOR, DEADLINE_FLOOR_MS, defaultDeadline, withDeadline } from "./deadline.js";
export {
  type CheckEquivalenceOptions,
  type Checkpoint,
  checkEquivalence,
  compareRuns,
  type Difference,
  describeRunFailure,
  END_ONLY_FIELDS,
  type EquivalenceReport,
  formatEquivalenceReport,
  formatRunError,
  MAY_BE_LOWER,
  type ObserveMode,
  type RunCheckedOptions,
  type RunError,
  referenceRun,
  runChecked,
  type StrategyRun,
} from "./equivalence.js";
export { batchedReference, MUTANTS, type Mutant, mutant } from "./mutants.js";
export {
  checkProgram,
  type GenAdvice,
  type GenKind,
  type GenMapping,
  type GenOp,
  type GenProgram,
  type GenProt,
  type ProgramShape,
  type PropertyOptions,
  type PropertyReport,
  programArbitrary,
  programToScenario,
  runProperty,
  SMALL_GATHER,
  withGatherGeometry,
} from "./property.js";
