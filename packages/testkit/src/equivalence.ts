/**
 * Running a scenario under a strategy with the checker on, and comparing the outcome with the
 * per-page reference: the observable state (observe()) and the result contract must be equal;
 * only costs and the cumulative deferred-split counters may differ, and those only downwards.
 */

import {
  InternalError,
  InvariantViolation,
  type ObservableState,
  observe,
  runScenarioDetailed,
  type Scenario,
  ScenarioError,
  type ScenarioResult,
  StrategyError,
  StrategyTimeout,
  snapshotCounters,
  type ViolationDetail,
  type ZapStrategy,
} from "@foliolab/core";
import { perPage } from "@foliolab/strategy-per-page";
import { defaultDeadline, withDeadline } from "./deadline.js";

/** How a run ended when it did not complete. */
export interface RunError {
  /**
   * Whose the failure is: an invariant the run broke, the strategy's own code ("strategy"), the
   * scenario ("scenario"), a bug of the model itself ("internal": core's InternalError, thrown by
   * core's own code even inside a hook, never the strategy's), or anything else ("other").
   */
  kind: "invariant" | "strategy" | "scenario" | "internal" | "other";
  /** The invariant's name for kind "invariant" (e.g. "tlb-flush-before-free"). */
  invariant?: string;
  violation?: ViolationDetail;
  message: string;
  /**
   * For kind "strategy": the error the strategy's own code threw (its stack points at the author's
   * file); for kind "internal": the error core's code threw (its stack points into core).
   */
  cause?: unknown;
  /** For kind "strategy": the run was stopped at its time limit (the message names the hook that did not return). */
  timedOut?: boolean;
}

/** One scenario run under one strategy. */
export interface StrategyRun {
  strategy: string;
  scenario: string;
  result?: ScenarioResult;
  /** observe() at the end of the scenario. */
  observed?: ObservableState;
  /**
   * observe() and the kernel-visible counters (mthp, vmstat) after ops (see
   * RunCheckedOptions.observe): the checkpoints where two runs are compared during the program.
   */
  trace?: Array<{ op: number; state: ObservableState; counters: Checkpoint }>;
  error?: RunError;
  /** How long the run took (ms): the reference's sets the candidate's time limit. */
  elapsedMs?: number;
}

export interface RunCheckedOptions {
  /** Run the invariant checker (default true). */
  invariants?: boolean;
  /**
   * When to record observe() besides the end: after every op ("each-op", the default), only
   * after the op before each exit ("before-exit": cheap, what the property runner uses), or
   * never ("end").
   */
  observe?: ObserveMode;
  /**
   * Stop the run after this long (ms), even a strategy stuck in an endless loop, and report a
   * StrategyTimeout naming the hook that did not return (default: no limit).
   */
  deadlineMs?: number;
}

export type ObserveMode = "each-op" | "before-exit" | "end";

/** The counters of a checkpoint: what /proc/vmstat and the per-size mTHP stats say then. */
export interface Checkpoint {
  mthp: Record<string, Record<string, number>>;
  vmstat: Record<string, number>;
}

function toRunError(e: unknown): RunError {
  if (e instanceof InvariantViolation) {
    return { kind: "invariant", invariant: e.violation.invariant, violation: e.violation, message: e.message };
  }
  if (e instanceof ScenarioError) return { kind: "scenario", message: e.message };
  if (e instanceof InternalError) return { kind: "internal", message: e.message, cause: e.cause };
  if (e instanceof StrategyTimeout) return { kind: "strategy", message: e.message, timedOut: true };
  if (e instanceof StrategyError)
    return e.cause === undefined
      ? { kind: "strategy", message: e.message }
      : { kind: "strategy", message: e.message, cause: e.cause };
  return { kind: "other", message: e instanceof Error ? `${e.name}: ${e.message}` : String(e), cause: e };
}

/** Run a scenario under a strategy (checker on unless told otherwise); never throws. */
export function runChecked(strategy: ZapStrategy, scenario: Scenario, options: RunCheckedOptions = {}): StrategyRun {
  const base = { strategy: strategy.name, scenario: scenario.name };
  const trace: NonNullable<StrategyRun["trace"]> = [];
  const mode = options.observe ?? "each-op";
  const ops = scenario.ops;
  const onOp = (k: Parameters<typeof observe>[0], _op: unknown, i: number) => {
    if (mode === "each-op" || (mode === "before-exit" && ops[i + 1]?.op === "exit" && ops[i]?.op !== "exit")) {
      const { mthp, vmstat } = snapshotCounters(k, new Map());
      trace.push({ op: i, state: observe(k), counters: { mthp, vmstat } });
    }
  };
  const run = (s: ZapStrategy) =>
    runScenarioDetailed(scenario, {
      strategy: s,
      invariants: options.invariants ?? true,
      ...(mode === "end" ? {} : { onOp }),
    });
  const t0 = performance.now();
  try {
    const { result, kernel } = options.deadlineMs === undefined ? run(strategy) : withDeadline(strategy, options.deadlineMs, run);
    const elapsedMs = performance.now() - t0;
    return mode === "end"
      ? { ...base, result, observed: observe(kernel), elapsedMs }
      : { ...base, result, observed: observe(kernel), trace, elapsedMs };
  } catch (e) {
    return { ...base, error: toRunError(e), elapsedMs: performance.now() - t0 };
  }
}

const referenceCache = new Map<string, StrategyRun>();
const REFERENCE_CACHE_MAX = 256;

/** The per-page reference run of a scenario; catalogue runs are cached by scenario JSON. */
export function referenceRun(
  scenario: Scenario,
  cache = true,
  observeMode: ObserveMode = "each-op",
  reference: ZapStrategy = perPage,
): StrategyRun {
  if (!cache) return runChecked(reference, scenario, { observe: observeMode });
  const key = `${observeMode}:${JSON.stringify(reference.gather ?? {})}:${JSON.stringify(scenario)}`;
  let run = referenceCache.get(key);
  if (!run) {
    run = runChecked(reference, scenario, { observe: observeMode });
    if (referenceCache.size >= REFERENCE_CACHE_MAX) referenceCache.clear();
    referenceCache.set(key, run);
  }
  return run;
}

/** One way the strategy's outcome differs from the reference's. */
export interface Difference {
  /** Where: "observe.procs.main.mappings.a[17].value", "result.mthp.hugepages-64kB.split_deferred", ... */
  path: string;
  reference: unknown;
  strategy: unknown;
  /** Set for the counters that may differ only downwards. */
  rule?: string;
}

/**
 * Counters that may differ from the reference, but never exceed it: the cumulative
 * deferred-split counts, and split_failed, since a folio per-page queued while unmapping it
 * whole but that stays alive (pinned) makes the shrinker try and fail to split it.
 */
export const MAY_BE_LOWER = {
  mthp: ["split_deferred", "split_failed"],
  vmstat: ["thp_deferred_split_page"],
} as const;

class DiffSink {
  readonly list: Difference[] = [];
  total = 0;
  constructor(readonly max: number) {}
  push(d: Difference): void {
    this.total++;
    if (this.list.length < this.max) this.list.push(d);
  }
}

/** Structural equality without building paths (the fast path of deepDiff). */
function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  let n = 0;
  for (const key in ao) {
    if (!(key in bo) || !deepEqual(ao[key], bo[key])) return false;
    n++;
  }
  for (const _ in bo) n--;
  return n === 0;
}

function deepDiff(a: unknown, b: unknown, path: string, out: DiffSink): void {
  if (deepEqual(a, b)) return;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
    out.push({ path, reference: a, strategy: b });
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.push({ path: `${path}.length`, reference: a.length, strategy: b.length });
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) if (!deepEqual(a[i], b[i])) deepDiff(a[i], b[i], `${path}[${i}]`, out);
    return;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const key of keys) {
    if (!(key in bo)) out.push({ path: `${path}.${key}`, reference: ao[key], strategy: undefined });
    else if (!(key in ao)) out.push({ path: `${path}.${key}`, reference: undefined, strategy: bo[key] });
    else deepDiff(ao[key], bo[key], `${path}.${key}`, out);
  }
}

/**
 * Observable fields that may be lower than per-page's at a checkpoint during the program, in
 * scenarios where another process or a GUP pin keeps a folio alive (fork, pin): there
 * nr_anon_partially_mapped, a gauge of the deferred split queue that per-page fills more
 * eagerly, may count a folio per-page queued and nobody freed yet. Without fork and pin it is
 * compared exactly at every checkpoint; at the end always exactly.
 */
export const END_ONLY_FIELDS = ["nrAnonPartiallyMapped"] as const;

function withoutEndOnly(o: ObservableState | undefined): unknown {
  if (!o) return o;
  const copy: Record<string, unknown> = { ...o };
  for (const f of END_ONLY_FIELDS) delete copy[f];
  return copy;
}

/** Scenarios where a folio can outlive its unmapping by this process (see END_ONLY_FIELDS). */
function keepsFoliosAlive(scenario: { ops?: ReadonlyArray<Record<string, unknown>> } | undefined): boolean {
  return (scenario?.ops ?? []).some((o) => o.op === "fork" || o.op === "pin");
}

function compareCounters(r: Checkpoint, c: Checkpoint, prefix: string, exactPartial: boolean, out: DiffSink): void {
  for (const dir of new Set([...Object.keys(r.mthp), ...Object.keys(c.mthp)])) {
    const rr = r.mthp[dir] ?? {};
    const cc = c.mthp[dir] ?? {};
    for (const name of new Set([...Object.keys(rr), ...Object.keys(cc)])) {
      const path = `${prefix}mthp.${dir}.${name}`;
      const rv = rr[name];
      const cv = cc[name];
      if ((MAY_BE_LOWER.mthp as readonly string[]).includes(name)) {
        if (typeof rv !== "number" || typeof cv !== "number" || cv > rv) {
          out.push({ path, reference: rv, strategy: cv, rule: "may be lower than per-page's, never higher" });
        }
      } else if (name === "nr_anon_partially_mapped" && !exactPartial) {
        if (typeof rv !== "number" || typeof cv !== "number" || cv > rv) {
          out.push({
            path,
            reference: rv,
            strategy: cv,
            rule: "may be lower than per-page's while a fork or pin keeps folios alive, never higher",
          });
        }
      } else if (rv !== cv) out.push({ path, reference: rv, strategy: cv });
    }
  }
  for (const name of new Set([...Object.keys(r.vmstat), ...Object.keys(c.vmstat)])) {
    const path = `${prefix}vmstat.${name}`;
    const rv = r.vmstat[name];
    const cv = c.vmstat[name];
    if ((MAY_BE_LOWER.vmstat as readonly string[]).includes(name)) {
      if (typeof rv !== "number" || typeof cv !== "number" || cv > rv) {
        out.push({ path, reference: rv, strategy: cv, rule: "may be lower than per-page's, never higher" });
      }
    } else if (rv !== cv) out.push({ path, reference: rv, strategy: cv });
  }
}

function comparePartiallyMapped(r: ObservableState, c: ObservableState, path: string, exact: boolean, out: DiffSink): void {
  for (const order of new Set([...Object.keys(r.nrAnonPartiallyMapped), ...Object.keys(c.nrAnonPartiallyMapped)])) {
    const rv = r.nrAnonPartiallyMapped[order];
    const cv = c.nrAnonPartiallyMapped[order];
    if (exact ? rv !== cv : typeof rv !== "number" || typeof cv !== "number" || cv > rv) {
      out.push({
        path: `${path}.nrAnonPartiallyMapped.${order}`,
        reference: rv,
        strategy: cv,
        ...(exact ? {} : { rule: "may be lower than per-page's while a fork or pin keeps folios alive, never higher" }),
      });
    }
  }
}

/**
 * Compare two completed runs: the observable state after every op (up to the first op where
 * they part), the final observable state, and the result contract minus costs.
 */
export function compareRuns(
  reference: StrategyRun,
  candidate: StrategyRun,
  maxDifferences = 25,
  scenario?: Scenario,
): { differences: Difference[]; total: number } {
  const out = new DiffSink(maxDifferences);
  const r = reference.result as ScenarioResult;
  const c = candidate.result as ScenarioResult;
  if (reference.trace && candidate.trace) {
    // Checkpoints: the observable state and the counters after each recorded op, up to the
    // first checkpoint where the runs part.
    const exactPartial = !keepsFoliosAlive(scenario);
    const theirs = new Map(candidate.trace.map((t) => [t.op, t]));
    for (const { op, state, counters } of reference.trace) {
      const t = theirs.get(op);
      if (!t) continue;
      const before = out.total;
      deepDiff(withoutEndOnly(state), withoutEndOnly(t.state), `after ops[${op}]: observe`, out);
      comparePartiallyMapped(state, t.state, `after ops[${op}]: observe`, exactPartial, out);
      compareCounters(counters, t.counters, `after ops[${op}]: `, exactPartial, out);
      if (out.total > before) break;
    }
  }
  deepDiff(reference.observed, candidate.observed, "observe", out);
  // mthp, vmstat: every counter equal except the deferred-split ones, which may only be lower.
  compareCounters(r, c, "result.", true, out);
  deepDiff(r.meminfo, c.meminfo, "result.meminfo", out);
  deepDiff(r.procs, c.procs, "result.procs", out);
  deepDiff(r.expects, c.expects, "result.expects", out);
  if (r.arch !== c.arch) out.push({ path: "result.arch", reference: r.arch, strategy: c.arch });
  return { differences: out.list, total: out.total };
}

export interface EquivalenceReport {
  scenario: string;
  strategy: string;
  /** True when the strategy ran cleanly and matched the reference. */
  ok: boolean;
  /** The first differences (up to maxDifferences); see totalDifferences for the count. */
  differences: Difference[];
  totalDifferences: number;
  /** The strategy's run failed: invariant violation, strategy error, scenario error. */
  error?: RunError;
  /** The reference failed where the strategy did not, or differently (a core or scenario problem). */
  referenceError?: RunError;
}

export interface CheckEquivalenceOptions {
  /** Cache the reference run by scenario JSON (default true; the property runner turns it off). */
  cacheReference?: boolean;
  maxDifferences?: number;
  /** Precomputed run of the strategy (to share one run between the invariant and equivalence checks). */
  candidate?: StrategyRun;
  /** When to compare observable states besides the end (default "each-op"). */
  observe?: ObserveMode;
  /** The reference to compare with (default per-page; the property runner passes per-page with its gather geometry). */
  reference?: ZapStrategy;
  /** Time limit of the strategy's run, ms (default: 10 x the reference's time, at least 3 s; see deadline.ts). */
  deadlineMs?: number;
}

/**
 * Run a scenario under the strategy and under per-page (both with the checker on) and
 * compare. Never throws: the report says what differed or broke.
 */
export function checkEquivalence(
  strategy: ZapStrategy,
  scenario: Scenario,
  options: CheckEquivalenceOptions = {},
): EquivalenceReport {
  const base = { scenario: scenario.name, strategy: strategy.name };
  const mode = options.observe ?? "each-op";
  const ref = referenceRun(scenario, options.cacheReference ?? true, mode, options.reference ?? perPage);
  const got =
    options.candidate ??
    runChecked(strategy, scenario, { observe: mode, deadlineMs: options.deadlineMs ?? defaultDeadline(ref.elapsedMs) });
  if (ref.error || got.error) {
    // Both refuse the scenario the same way (e.g. out of model memory): equivalent.
    if (
      ref.error &&
      got.error &&
      ref.error.kind === "scenario" &&
      got.error.kind === "scenario" &&
      ref.error.message === got.error.message
    ) {
      return { ...base, ok: true, differences: [], totalDifferences: 0 };
    }
    const report: EquivalenceReport = { ...base, ok: false, differences: [], totalDifferences: 0 };
    if (got.error) report.error = got.error;
    if (ref.error) report.referenceError = ref.error;
    return report;
  }
  const { differences, total } = compareRuns(ref, got, options.maxDifferences ?? 25, scenario);
  return { ...base, ok: total === 0, differences, totalDifferences: total };
}

function show(v: unknown): string {
  return v === undefined ? "(missing)" : JSON.stringify(v);
}

/** Describe a run error in one line, invariant name first. */
export function formatRunError(e: RunError): string {
  if (e.kind === "invariant")
    return e.message.startsWith("invariant") ? e.message : `invariant "${e.invariant}" violated: ${e.message}`;
  if (e.kind === "internal")
    return e.message.startsWith("internal error") ? e.message : `internal error in the model: ${e.message}`;
  return `${e.kind} error: ${e.message}`;
}

/**
 * A failed run in one line, put on whom it is about: a strategy's failure names the strategy, a
 * scenario's mistake only the scenario, a bug of the model says so and is not the strategy's.
 */
export function describeRunFailure(strategy: string, scenario: string, e: RunError): string {
  if (e.kind === "scenario") return `scenario "${scenario}": ${formatRunError(e)}`;
  if (e.kind === "internal")
    return `${formatRunError(e)} (scenario "${scenario}", run under strategy "${strategy}": not its fault)`;
  return `strategy "${strategy}" on scenario "${scenario}": ${formatRunError(e)}`;
}

/** A readable failure message for a report (empty string when ok). */
export function formatEquivalenceReport(r: EquivalenceReport): string {
  if (r.ok) return "";
  const lines: string[] = [];
  if (r.error) lines.push(describeRunFailure(r.strategy, r.scenario, r.error));
  if (r.referenceError) {
    lines.push(
      `reference per-page on scenario "${r.scenario}": ${formatRunError(r.referenceError)}` +
        (r.error
          ? r.error.kind === r.referenceError.kind && r.error.invariant === r.referenceError.invariant
            ? " (per-page fails the same way: most likely a core bug, not the strategy's)"
            : ""
          : " (the reference fails where the strategy does not: a core or scenario problem)"),
    );
  }
  if (r.totalDifferences > 0) {
    lines.push(
      `strategy "${r.strategy}" differs from per-page on scenario "${r.scenario}" in ${r.totalDifferences} place${r.totalDifferences > 1 ? "s" : ""}:`,
    );
    for (const d of r.differences) {
      lines.push(`  ${d.path}: per-page ${show(d.reference)}, ${r.strategy} ${show(d.strategy)}${d.rule ? ` (${d.rule})` : ""}`);
    }
    if (r.totalDifferences > r.differences.length) lines.push(`  ... and ${r.totalDifferences - r.differences.length} more`);
  }
  return lines.join("\n");
}
