/**
 * describeStrategyConformance(): the whole kit as vitest tests, in the spirit of ESLint's
 * RuleTester. Call it at the top level of a test file with your strategy.
 */

import type { ZapStrategy } from "@foliolab/core";
import { describe, it } from "vitest";
import { CATALOGUE, type CatalogueEntry } from "./catalogue.js";
import { defaultDeadline } from "./deadline.js";
import {
  checkEquivalence,
  describeRunFailure,
  formatEquivalenceReport,
  formatRunError,
  referenceRun,
  runChecked,
  type StrategyRun,
} from "./equivalence.js";
import { type ProgramShape, runProperty } from "./property.js";

export interface ConformanceOptions {
  /** Random sequences for the property test (default 1000; 0 turns the property test off). */
  numRuns?: number;
  /** fast-check seed (default random; a failure prints the seed and path to replay). */
  seed?: number;
  /** fast-check path of a failure to replay (with its seed). */
  path?: string;
  /** Shape of the random programs (mapping sizes, op counts, s390 weight). */
  shape?: ProgramShape;
  /** Scenarios to run instead of the built-in catalogue (default CATALOGUE). */
  scenarios?: readonly CatalogueEntry[];
  /** More scenarios on top of the catalogue (your own regressions). */
  extraScenarios?: readonly CatalogueEntry[];
  /** Per-scenario test timeout in ms (default 120000). */
  scenarioTimeout?: number;
  /** Property test timeout in ms (default 600000). */
  propertyTimeout?: number;
}

/**
 * Thrown by the kit's tests: the message carries the diagnosis (invariant name first). When
 * the strategy's own code threw, `cause` is that error, so the test runner shows the author's
 * stack (their file and line).
 */
export class ConformanceError extends Error {
  override name = "ConformanceError";
}

function conformanceError(message: string, cause: unknown): ConformanceError {
  return cause === undefined ? new ConformanceError(message) : new ConformanceError(message, { cause });
}

function invariantFailure(run: StrategyRun, scenario: CatalogueEntry["scenario"]): string | undefined {
  if (run.error) {
    const msg = describeRunFailure(run.strategy, run.scenario, run.error);
    if (run.error.timedOut) return msg;
    const ref = referenceRun(scenario).error;
    if (ref && ref.kind === run.error.kind && ref.invariant === run.error.invariant) {
      return `${msg}\n(per-page fails here too: ${formatRunError(ref)} -- most likely a core bug, not the strategy's)`;
    }
    return msg;
  }
  const bad = run.result?.expects.filter((e) => !e.ok) ?? [];
  if (bad.length > 0) {
    return `strategy "${run.strategy}" on scenario "${run.scenario}": expect failed: ${bad.map((e) => `ops[${e.op}] ${e.message}`).join("; ")}`;
  }
  return undefined;
}

/** One test the kit registers; `run` throws ConformanceError when the strategy fails it. */
export interface ConformanceCheck {
  suite: "invariants" | "equivalence" | "replays" | "property";
  title: string;
  /** The catalogue scenario the check runs (none for the property test). */
  scenario?: CatalogueEntry["scenario"];
  timeout: number;
  run: () => void;
}

const SUITE_TITLES: Record<ConformanceCheck["suite"], string> = {
  invariants: "invariant suite (every catalogue scenario with the checker on)",
  equivalence: "equivalence with the per-page reference",
  replays: "replays of known kernel bugs and hazards",
  property: "property: random operation sequences match per-page",
};

/**
 * The checks describeStrategyConformance() registers, as plain functions (for other test
 * runners, and for the kit's own tests against broken strategies).
 */
export function conformanceChecks(strategy: ZapStrategy, options: ConformanceOptions = {}): ConformanceCheck[] {
  const entries = [...(options.scenarios ?? CATALOGUE), ...(options.extraScenarios ?? [])];
  const timeout = options.scenarioTimeout ?? 120_000;
  const runs = new Map<CatalogueEntry, StrategyRun>();
  // Once a run is stopped at its time limit, the other checks fail at once with its message
  // instead of each waiting out its own limit: the whole suite is rejected in seconds.
  let stuck: string | undefined;
  const runOf = (e: CatalogueEntry): StrategyRun => {
    let r = runs.get(e);
    if (!r && stuck !== undefined) {
      r = {
        strategy: strategy.name,
        scenario: e.scenario.name,
        error: { kind: "strategy", timedOut: true, message: `not run: an earlier scenario stopped at its time limit: ${stuck}` },
      };
      runs.set(e, r);
    }
    if (!r) {
      // The per-page reference first (cached; the equivalence check needs it anyway): its time sets the limit.
      r = runChecked(strategy, e.scenario, { deadlineMs: defaultDeadline(referenceRun(e.scenario).elapsedMs) });
      runs.set(e, r);
      if (r.error?.timedOut) stuck = `scenario "${e.scenario.name}": ${r.error.message}`;
    }
    return r;
  };
  const invariantCheck = (e: CatalogueEntry) => () => {
    const run = runOf(e);
    const failure = invariantFailure(run, e.scenario);
    if (failure) throw conformanceError(failure, run.error?.cause);
  };
  const equivalenceCheck = (e: CatalogueEntry) => () => {
    const report = checkEquivalence(strategy, e.scenario, { candidate: runOf(e) });
    if (!report.ok) throw conformanceError(formatEquivalenceReport(report), report.error?.cause);
  };
  const checks: ConformanceCheck[] = [];
  const add = (suite: ConformanceCheck["suite"], e: CatalogueEntry, prefix: string, run: () => void) => {
    const check: ConformanceCheck = {
      suite,
      title: `${prefix} ${e.scenario.name}: ${e.covers}`,
      scenario: e.scenario,
      timeout,
      run,
    };
    checks.push(check);
  };
  const shapes = entries.filter((x) => x.group === "equivalence");
  for (const e of shapes) add("invariants", e, "invariants:", invariantCheck(e));
  for (const e of shapes) add("equivalence", e, "equivalent:", equivalenceCheck(e));
  for (const e of entries.filter((x) => x.group === "replay")) {
    add("replays", e, "survives", () => {
      invariantCheck(e)();
      equivalenceCheck(e)();
    });
  }
  const numRuns = options.numRuns ?? 1000;
  if (numRuns > 0) {
    checks.push({
      suite: "property",
      title: `${numRuns} random sequences (seed ${options.seed ?? "random"})`,
      timeout: options.propertyTimeout ?? 600_000,
      run: () => {
        if (stuck !== undefined) throw new ConformanceError(`not run: an earlier scenario stopped at its time limit: ${stuck}`);
        const report = runProperty(strategy, {
          ...options.shape,
          numRuns,
          ...(options.seed !== undefined ? { seed: options.seed } : {}),
          ...(options.path !== undefined ? { path: options.path } : {}),
        });
        if (!report.ok) {
          console.error(report.message);
          throw conformanceError(report.message, report.failure?.error?.cause);
        }
      },
    });
  }
  return checks;
}

/** Default settings of the mutation score: every check, the property with this many runs and seed. */
export const MUTATION_SCORE_RUNS = { numRuns: 300, seed: 42 } as const;

/**
 * Run a strategy's checks in order (invariants, equivalence, replays, property) and return the
 * first one that rejects it, with the message, or undefined when it passes every one: what
 * the kit's mutation score counts.
 */
export function firstRejection(
  strategy: ZapStrategy,
  options: ConformanceOptions = MUTATION_SCORE_RUNS,
): { title: string; message: string } | undefined {
  const quiet = console.error;
  console.error = () => {};
  try {
    for (const c of conformanceChecks(strategy, options)) {
      try {
        c.run();
      } catch (e) {
        return { title: c.title, message: (e as Error)?.message ?? String(e) };
      }
    }
    return undefined;
  } finally {
    console.error = quiet;
  }
}

/**
 * Register the conformance tests for a strategy: the invariant suite over the catalogue,
 * the equivalence check against per-page, the replays of known kernel bugs, and the
 * fast-check property test.
 */
export function describeStrategyConformance(strategy: ZapStrategy, options: ConformanceOptions = {}): void {
  const checks = conformanceChecks(strategy, options);
  describe(`zap strategy conformance: ${strategy.name}`, () => {
    for (const suite of Object.keys(SUITE_TITLES) as Array<ConformanceCheck["suite"]>) {
      const mine = checks.filter((c) => c.suite === suite);
      if (mine.length === 0) continue;
      describe(SUITE_TITLES[suite], () => {
        for (const c of mine) {
          it(c.title, c.run, c.timeout);
        }
      });
    }
  });
}
