/**
 * @foliolab/testkit: the conformance kit every zap strategy runs.
 *
 *   import { describeStrategyConformance } from "@foliolab/testkit";
 *   describeStrategyConformance(myStrategy);
 *
 * The vitest-free pieces are also at "@foliolab/testkit/lib".
 */

export {
  type ConformanceCheck,
  ConformanceError,
  type ConformanceOptions,
  conformanceChecks,
  describeStrategyConformance,
  firstRejection,
  MUTATION_SCORE_RUNS,
} from "./describe.js";
export * from "./lib.js";
