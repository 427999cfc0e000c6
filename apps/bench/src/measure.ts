/**
 * One cell of the matrix: a workload at one folio size under one strategy.
 *   1. check pass: the scenario at a small size with every invariant on;
 *   2. count run: the full size with invariants off, cost events and counter deltas summed
 *      over the measured ops (deterministic: the gate);
 *   3. timed samples (tinybench): the same run again, the wall time of the measured phase is
 *      the sample (advisory), and every sample must count the same events (with one sample,
 *      the check pass runs twice and must count the same events instead).
 */

import {
  COST_EVENT_KEYS,
  InternalError,
  InvariantViolation,
  type Kernel,
  type ObservableState,
  observe,
  runScenarioDetailed,
  ScenarioError,
  StrategyError,
  StrategyTimeout,
  snapshotCounters,
  type ZapStrategy,
} from "@foliolab/core";
import { type SharingCensus, sharingCensus } from "@foliolab/core/internals";
import { Bench } from "tinybench";
import { type CellLimits, withinLimit } from "./deadline.js";
import { type CostProfile, modelledNs } from "./profile.js";
import { formatBytes, PAGE } from "./sizes.js";
import { firstDifference, flattenCounters, type ObservedSummary, summarizeKernel } from "./verify.js";
import { findWorkload, type Generated } from "./workloads.js";

export interface CellSpec {
  workload: string;
  folio: string;
  /** Region size in bytes. */
  size: number;
  strategy: string;
  seed: number;
}

export interface RunOptionsForCell {
  /** Timed samples per cell; the first is also the count run (0 = one untimed count run). */
  samples: number;
  /** Size of the invariant-check pass in bytes; 0 disables it. */
  checkSize: number;
  profile: CostProfile;
  /** Time limits of the check pass and of each measured run (a run that overruns is FAILED, the hook named). */
  limits?: CellLimits;
}

export interface WallStats {
  unit: "ms";
  samples: number[];
  median: number;
  min: number;
  max: number;
  mean: number;
  sd: number;
  /** Relative margin of error, percent (tinybench). */
  rme: number;
}

export interface CellError {
  kind:
    | "ScenarioError"
    | "InvariantViolation"
    | "StrategyError"
    | "InternalError"
    | "LoadError"
    | "Nondeterministic"
    | "StateMismatch"
    | "Timeout"
    | "WorkerExit"
    | "Error"
    | "Interrupted";
  /** `verify`: the measured run ended in another state than per-page's. */
  phase: "load" | "check" | "count" | "timed" | "verify";
  message: string;
  invariant?: string;
  /**
   * The strategy author's own stack (the `cause` of a StrategyError), when their code threw; for
   * an InternalError (a bug of the model, not the strategy's), core's stack.
   */
  stack?: string;
}

export interface CellMetrics {
  costEvents: Record<string, number>;
  costEventsTotal: number;
  costEventsPerPage: number;
  modelledNs: number;
  modelledNsPerPage: number;
  modelledNsByKind: Record<string, number>;
  wall: {
    advisory: true;
    /** Wall time of the measured phase (the teardown ops), per sample. */
    phase: WallStats | null;
    /** Wall time of the whole scenario (setup + measured phase), per sample. */
    total: WallStats | null;
  };
  counters: {
    /** /proc/vmstat deltas over the measured phase (non-zero only). */
    vmstat: Record<string, number>;
    /** Per-size mTHP stat deltas over the measured phase (non-zero only). */
    mthp: Record<string, Record<string, number>>;
    /** /proc/meminfo at the end of the scenario. */
    meminfo: Record<string, number>;
    /** Failed `expect` ops, if the scenario had any. */
    failedExpects: string[];
    /**
     * The sharing heuristics against the ground truth over every large anon folio, at the start
     * of the measured phase (core's sharingCensus): what MM_ID, folio_likely_mapped_shared and
     * folio_estimated_sharers get wrong on this workload.
     */
    sharing?: SharingCensus;
  };
}

export interface RunRecord {
  id: string;
  workload: string;
  folio: string;
  size: number;
  sizeLabel: string;
  pages: number;
  strategy: string;
  seed: number;
  status: "ok" | "failed" | "skipped";
  error?: CellError;
  scenario: { name: string; ops: number; measuredOps: number; regenerate: string };
  metrics?: CellMetrics;
  /**
   * How the run was verified. `invariants`: the invariant-checked pass at --check-size ran
   * ("checked") or was turned off ("unchecked", marked in every report). `state`: the measured
   * run's final observable state equals per-page's ("equal"), or this run is per-page's
   * ("reference"); a different state fails the run.
   */
  verification?: { invariants: "checked" | "unchecked"; state?: "equal" | "reference"; observed?: ObservedSummary };
  /** Where this run's time went (ms): invariant-check pass, count run, timed samples. */
  elapsedMs?: { check: number; count: number; timed: number };
}

export function cellId(c: { workload: string; folio: string; strategy: string }): string {
  return `${c.workload}/${c.folio}/${c.strategy}`;
}

export function regenerateCommand(c: CellSpec): string {
  return `foliolab run ${c.workload} --folio ${c.folio} --size ${formatBytes(c.size)} --seed ${c.seed} --print-scenario`;
}

export function generateCell(c: CellSpec, size = c.size): Generated {
  const w = findWorkload(c.workload);
  if (!w) throw new Error(`unknown workload "${c.workload}"`);
  return w.generate({ size, folio: c.folio, seed: c.seed });
}

interface PhaseMeasure {
  costs: Float64Array;
  vmstat: Record<string, number>;
  mthp: Record<string, Record<string, number>>;
  meminfo: Record<string, number>;
  failedExpects: string[];
  sharing?: SharingCensus;
  phaseMs: number;
  totalMs: number;
  /** observe() at the end of the run, when asked for ("full"). */
  observed?: ObservableState;
  /** What the run ended in, in short, when asked for ("digest"). */
  summary?: ObservedSummary;
  /** Change of the pages in the lru_lazyfree batch (not counted in pglazyfree yet) over the measured stretches. */
  lazyfreePending: number;
}

type Counters = ReturnType<typeof snapshotCounters>;

function addCounterDelta(acc: PhaseMeasure, before: Counters | null, after: Counters): void {
  for (const [k, v] of Object.entries(after.vmstat)) {
    const d = v - (before?.vmstat[k] ?? 0);
    if (d !== 0) acc.vmstat[k] = (acc.vmstat[k] ?? 0) + d;
  }
  for (const [dir, row] of Object.entries(after.mthp)) {
    for (const [k, v] of Object.entries(row)) {
      const d = v - (before?.mthp[dir]?.[k] ?? 0);
      if (d === 0) continue;
      const r = acc.mthp[dir] ?? {};
      r[k] = (r[k] ?? 0) + d;
      acc.mthp[dir] = r;
    }
  }
}

/**
 * Run a generated scenario once, summing cost events over the measured ops and counter
 * deltas over each measured stretch of ops. Works for any scenario: with `measured`
 * undefined every op is measured.
 */
export function measureOnce(
  g: { scenario: unknown; measured?: readonly number[] },
  strategy: ZapStrategy,
  invariants: boolean,
  census = false,
  observeEnd: false | "digest" | "full" = false,
): PhaseMeasure {
  const n = COST_EVENT_KEYS.length;
  const ops = (g.scenario as { ops?: unknown[] }).ops?.length ?? 0;
  const isMeasured = new Uint8Array(ops);
  if (g.measured) for (const i of g.measured) isMeasured[i] = 1;
  else isMeasured.fill(1);
  const acc: PhaseMeasure = {
    costs: new Float64Array(n),
    vmstat: {},
    mthp: {},
    meminfo: {},
    failedExpects: [],
    phaseMs: 0,
    totalMs: 0,
    lazyfreePending: 0,
  };
  const last = new Float64Array(n);
  let before: Counters | null = null;
  let pendingBefore = 0;
  const exited = new Map();
  const t0 = performance.now();
  let tLast = t0;
  const onOp = (k: Kernel, _op: unknown, i: number) => {
    const now = performance.now();
    const c = k.costs;
    if (isMeasured[i]) {
      acc.phaseMs += now - tLast;
      for (let j = 0; j < n; j++) acc.costs[j] = (acc.costs[j] as number) + ((c[j] as number) - (last[j] as number));
      const endOfStretch = i + 1 >= ops || !isMeasured[i + 1];
      if (endOfStretch) {
        addCounterDelta(acc, before, snapshotCounters(k, exited));
        acc.lazyfreePending += k.lruLazyfree.pages - pendingBefore;
      }
    } else if (i + 1 < ops && isMeasured[i + 1]) {
      before = snapshotCounters(k, exited);
      pendingBefore = k.lruLazyfree.pages;
      if (census && acc.sharing === undefined) acc.sharing = sharingCensus(k);
    }
    last.set(c.subarray(0, n));
    tLast = performance.now();
  };
  // A stretch that starts at op 0 is measured from the fresh model (all counters zero).
  const { result, kernel } = runScenarioDetailed(g.scenario, { strategy, invariants, onOp });
  acc.totalMs = performance.now() - t0;
  if (observeEnd === "full") acc.observed = observe(kernel);
  else if (observeEnd === "digest")
    acc.summary = summarizeKernel(kernel, flattenCounters(acc.vmstat, acc.mthp), acc.lazyfreePending);
  acc.meminfo = { ...result.meminfo };
  acc.failedExpects = result.expects.filter((e) => !e.ok).map((e) => `ops[${e.op}]: ${e.message}`);
  return acc;
}

/** The stack of the author's own error: a StrategyError's cause, or what their code threw. */
export function authorStack(e: unknown): string | undefined {
  const cause = (e as Error)?.cause;
  if (cause instanceof Error && typeof cause.stack === "string") return cause.stack;
  if ((e as Error)?.name === "StrategyError" || e instanceof InvariantViolation || e instanceof ScenarioError) return undefined;
  return typeof (e as Error)?.stack === "string" ? (e as Error).stack : undefined;
}

export function classify(e: unknown, phase: CellError["phase"]): CellError {
  if (e instanceof StrategyTimeout) return { kind: "Timeout", phase, message: e.message };
  if (e instanceof InternalError || (e as Error)?.name === "InternalError") {
    const stack = (e as Error).stack;
    return stack
      ? { kind: "InternalError", phase, message: (e as Error).message, stack }
      : { kind: "InternalError", phase, message: (e as Error).message };
  }
  if (e instanceof InvariantViolation) {
    return { kind: "InvariantViolation", phase, message: e.message, invariant: e.violation.invariant };
  }
  if (e instanceof StrategyError) {
    const stack = authorStack(e);
    return stack
      ? { kind: "StrategyError", phase, message: e.message, stack }
      : { kind: "StrategyError", phase, message: e.message };
  }
  if (e instanceof ScenarioError) return { kind: "ScenarioError", phase, message: e.message };
  const name = (e as Error)?.name;
  const message = (e as Error)?.message ?? String(e);
  if (name === "InvariantViolation") return { kind: "InvariantViolation", phase, message };
  const stack = authorStack(e);
  if (name === "StrategyError")
    return stack ? { kind: "StrategyError", phase, message, stack } : { kind: "StrategyError", phase, message };
  if (name === "ScenarioError") return { kind: "ScenarioError", phase, message };
  return stack ? { kind: "Error", phase, message, stack } : { kind: "Error", phase, message };
}

function wallStats(samples: number[], rme: number): WallStats {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const mean = sorted.reduce((s, x) => s + x, 0) / n;
  const median = n % 2 ? (sorted[(n - 1) / 2] as number) : ((sorted[n / 2 - 1] as number) + (sorted[n / 2] as number)) / 2;
  const sd = n > 1 ? Math.sqrt(sorted.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { unit: "ms", samples, median, min: sorted[0] as number, max: sorted[n - 1] as number, mean, sd, rme };
}

/** The one place a run record is built: the cell, and its scenario when it was generated. */
export function cellRecord(c: CellSpec, g?: Generated): RunRecord {
  return {
    id: cellId(c),
    workload: c.workload,
    folio: c.folio,
    size: c.size,
    sizeLabel: formatBytes(c.size),
    pages: c.size / PAGE,
    strategy: c.strategy,
    seed: c.seed,
    status: "ok",
    scenario: {
      name: g?.scenario.name ?? c.workload,
      ops: g?.scenario.ops.length ?? 0,
      measuredOps: g?.measured.length ?? 0,
      regenerate: regenerateCommand(c),
    },
  };
}

function nondeterministic(): Error {
  const err = new Error("cost events differ between two runs of the same scenario (the strategy is not deterministic)");
  err.name = "Nondeterministic";
  return err;
}

function sameCosts(a: Float64Array, b: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Run one cell. Never throws: failures come back in the record, named. */
export async function runCell(c: CellSpec, strategy: ZapStrategy, o: RunOptionsForCell): Promise<RunRecord> {
  let g: Generated;
  try {
    g = generateCell(c);
  } catch (e) {
    return {
      ...cellRecord(c),
      status: "failed",
      error: { kind: "Error", phase: "count", message: (e as Error).message },
    };
  }
  const rec = cellRecord(c, g);
  const elapsed = { check: 0, count: 0, timed: 0 };
  let t = performance.now();
  const lap = (k: keyof typeof elapsed) => {
    const now = performance.now();
    elapsed[k] = Math.round((now - t) * 10) / 10;
    t = now;
  };
  const invariants = o.checkSize > 0 ? "checked" : "unchecked";
  if (o.checkSize > 0) {
    try {
      const sg = checkScenario(c, o.checkSize, g);
      const check = (s: ZapStrategy) => measureOnce(sg, s, true);
      const m = o.limits ? withinLimit(strategy, o.limits.checkMs, o.limits.note, true, check) : check(strategy);
      if (m.failedExpects.length > 0) throw new Error(`expect failed: ${m.failedExpects.join("; ")}`);
      if (o.samples <= 1) {
        // One full-size sample cannot show that the strategy counts the same events every run:
        // the check scenario runs again and must count exactly what it counted.
        const again = o.limits ? withinLimit(strategy, o.limits.checkMs, o.limits.note, true, check) : check(strategy);
        if (!sameCosts(again.costs, m.costs)) throw nondeterministic();
      }
    } catch (e) {
      const err = classify(e, "check");
      if ((e as Error)?.name === "Nondeterministic") err.kind = "Nondeterministic";
      return { ...rec, status: "failed", error: err };
    }
  }
  lap("check");
  // The count run is the first timed sample: every sample runs the same scenario with
  // invariants off, and each must count exactly the same events.
  let first: PhaseMeasure | undefined;
  const phase: number[] = [];
  const total: number[] = [];
  let rme = 0;
  const once = (): PhaseMeasure => {
    // The sharing census runs once, in the count run, outside the measured phase; the count
    // run also keeps its final observable state, to be compared with per-page's.
    const counting = first === undefined;
    const run = (s: ZapStrategy) => measureOnce(g, s, false, counting, counting ? "digest" : false);
    // Without a check pass the count run is traced, so an overrun still names the hook.
    const m = o.limits ? withinLimit(strategy, o.limits.runMs, o.limits.note, counting && o.checkSize === 0, run) : run(strategy);
    if (first === undefined) first = m;
    else if (!sameCosts(m.costs, first.costs)) throw nondeterministic();
    phase.push(m.phaseMs);
    total.push(m.totalMs);
    return m;
  };
  try {
    if (o.samples <= 1) {
      once();
    } else {
      const bench = new Bench({ name: rec.id, iterations: o.samples, time: 0, warmup: false, throws: true, retainSamples: true });
      // async: false, or tinybench calls the function once more to find out.
      bench.add(rec.id, () => ({ overriddenDuration: once().phaseMs }), { async: false });
      await bench.run();
      const r = bench.tasks[0]?.result as { latency?: { rme: number } } | undefined;
      rme = r?.latency?.rme ?? 0;
    }
  } catch (e) {
    const err = classify(e, first === undefined ? "count" : "timed");
    if ((e as Error)?.name === "Nondeterministic") err.kind = "Nondeterministic";
    return { ...rec, status: "failed", error: err };
  }
  const counted = first as PhaseMeasure | undefined;
  if (counted === undefined)
    return { ...rec, status: "failed", error: { kind: "Error", phase: "count", message: "no run completed" } };
  lap("timed");
  rec.elapsedMs = elapsed;
  rec.verification = counted.summary ? { invariants, observed: counted.summary } : { invariants };
  const costEvents: Record<string, number> = {};
  let totalEvents = 0;
  COST_EVENT_KEYS.forEach((k, i) => {
    const v = counted.costs[i] as number;
    costEvents[k] = v;
    totalEvents += v;
  });
  const model = modelledNs(costEvents, o.profile);
  rec.metrics = {
    costEvents,
    costEventsTotal: totalEvents,
    costEventsPerPage: totalEvents / rec.pages,
    modelledNs: model.total,
    modelledNsPerPage: model.total / rec.pages,
    modelledNsByKind: model.byKind,
    wall: {
      advisory: true,
      phase: o.samples > 0 ? wallStats(phase, rme) : null,
      total: o.samples > 0 ? wallStats(total, rme) : null,
    },
    counters: {
      vmstat: counted.vmstat,
      mthp: counted.mthp,
      meminfo: counted.meminfo,
      failedExpects: counted.failedExpects,
      ...(counted.sharing ? { sharing: counted.sharing } : {}),
    },
  };
  return rec;
}

/** The scenario of a cell's invariant-checked pass: the cell at --check-size (within the workload's bounds). */
function checkScenario(c: CellSpec, checkSize: number, full: Generated): Generated {
  const w = findWorkload(c.workload);
  const small = Math.max(Math.min(checkSize, c.size, w?.maxCheckSize ?? Number.POSITIVE_INFINITY), w?.minSize ?? 0);
  return small === c.size ? full : generateCell(c, small);
}

/**
 * The observable state per-page's measured run of a cell ends in (the reference for others),
 * and the times (ms) of its check pass at `checkSize` (0: none) and of the run: they set the
 * other strategies' limits.
 */
export function referenceObserved(
  c: CellSpec,
  reference: ZapStrategy,
  checkSize: number,
): { observed: ObservedSummary; checkMs: number; runMs: number } {
  const g = generateCell(c);
  const t0 = performance.now();
  if (checkSize > 0) measureOnce(checkScenario(c, checkSize, g), reference, true);
  const checkMs = performance.now() - t0;
  const m = measureOnce(g, reference, false, false, "digest");
  return { observed: m.summary as ObservedSummary, checkMs, runMs: m.totalMs };
}

/** Run a cell under per-page and under the strategy once more and name the first difference of their final states. */
export function diagnoseState(c: CellSpec, strategy: ZapStrategy, reference: ZapStrategy): string {
  const g = generateCell(c);
  const ref = measureOnce(g, reference, false, false, "full").observed as ObservableState;
  const got = measureOnce(g, strategy, false, false, "full").observed as ObservableState;
  return (
    firstDifference(ref, got, strategy.name) ?? "the final state differed in one run and not in the next (not deterministic)"
  );
}
