/**
 * The benchmark matrix: plan (strategies x workloads x folio sizes, sharded), then run the
 * cells on worker threads across the cores, or in this thread. Finished records are handed out
 * as they arrive, so an interrupted run keeps all of them.
 */

import { availableParallelism } from "node:os";
import { type CellLimits, cellBackstopMs, defaultLimits, explicitLimits } from "./deadline.js";
import { type CellError, type CellSpec, cellRecord, type RunOptionsForCell, type RunRecord } from "./measure.js";
import { CellPool, isFailure } from "./pool.js";
import type { CostProfile } from "./profile.js";
import { DEFAULT_FOLIOS, folioRank, folioSpec, PAGE } from "./sizes.js";
import {
  BASELINE,
  discoverBuiltins,
  resolveStrategySpec,
  type StrategyFailure,
  type StrategyInfo,
  type StrategyRef,
} from "./strategies.js";
import { counterDifference, type ObservedSummary } from "./verify.js";
import {
  defaultWorkloads,
  effectiveSize,
  findWorkload,
  foliosFor,
  WORKLOADS,
  type Workload,
  workloadNeeds,
} from "./workloads.js";

export interface MatrixOptions {
  strategies?: readonly string[];
  workloads?: readonly string[];
  /** Region size in bytes for every workload (default: each workload's own). */
  size?: number;
  folios?: readonly string[];
  seed: number;
  shard?: { index: number; count: number };
  samples: number;
  checkSize: number;
  profile: CostProfile;
  /** Worker processes (every cell runs in one, for any count). */
  jobs: number;
  /**
   * --timeout in ms: every run's limit. Unset: per-page's cells get 300 s, every other cell
   * limits from per-page's time for the same cell (deadline.ts: 20 x, at least 5 s).
   */
  cellTimeoutMs?: number;
  /** Time limit for importing a strategy module in a worker, in ms (default 5 s, at most --timeout). */
  loadTimeoutMs?: number;
  cwd?: string;
  /** The pool to run in; without one, planMatrix starts one and runMatrix stops it. */
  pool?: CellPool;
}

export const DEFAULT_CELL_TIMEOUT_MS = 300_000;
export const DEFAULT_LOAD_TIMEOUT_MS = 5_000;

export interface PlannedWorkload {
  workload: Workload;
  needs: string[];
  /** Requested explicitly (a missing feature is then a failure, not a silent skip). */
  explicit: boolean;
}

export interface MatrixPlan {
  strategies: StrategyInfo[];
  strategyFailures: StrategyFailure[];
  workloads: PlannedWorkload[];
  folios: string[];
  cells: CellSpec[];
  /** Cells that cannot run: unsupported workload or strategy that failed to load. */
  unrunnable: RunRecord[];
  /** Problems with the request itself (unknown workload id). */
  problems: string[];
  /** The worker pool the strategies were loaded in and the cells run in. */
  pool: CellPool;
}

export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : Number.NaN;
  const count = m ? Number(m[2]) : Number.NaN;
  if (!m || count < 1 || index < 1 || index > count) throw new Error(`--shard: "${text}" is not i/n with 1 <= i <= n (e.g. 1/2)`);
  return { index, count };
}

function skippedRecord(c: CellSpec, kind: "LoadError" | "ScenarioError", message: string): RunRecord {
  return { ...cellRecord(c), status: kind === "LoadError" ? "failed" : "skipped", error: { kind, phase: "load", message } };
}

/**
 * Load the strategies a run asks for (or every builtin) in the worker pool: a module that
 * hangs or throws at import fails by name, after the load time limit at most, and the main
 * process never runs its code.
 */
export async function loadStrategiesInWorkers(
  specs: readonly string[] | undefined,
  pool: CellPool,
  o: { cwd?: string; timeoutMs: number; signal?: AbortSignal },
): Promise<{ loaded: StrategyInfo[]; failures: StrategyFailure[] }> {
  const cwd = o.cwd ?? process.cwd();
  const wanted = specs && specs.length > 0 ? specs.flatMap((s) => s.split(",")).filter((s) => s.trim() !== "") : undefined;
  const list = (wanted ?? discoverBuiltins(cwd).map((b) => b.name)).map((s) => s.trim());
  const answers = await Promise.all(
    list.map(async (spec) => {
      let ref: StrategyRef;
      try {
        ref = resolveStrategySpec(spec, cwd);
      } catch (e) {
        return { spec, message: (e as Error).message };
      }
      const r = await pool.run({ kind: "load", ref }, o.timeoutMs, o.signal);
      if (isFailure(r)) {
        const message =
          r.failure === "timeout"
            ? `importing the module did not finish within ${o.timeoutMs / 1000} s (a loop or a wait at import?)`
            : r.failure === "exit"
              ? "the worker exited while importing the module (process.exit() at import?)"
              : r.message;
        return { spec, message };
      }
      if (r.kind !== "load") return { spec, message: r.kind === "error" ? r.message : "unexpected answer from the worker" };
      if (!r.ok) return { spec, message: r.message, ...(r.stack ? { stack: r.stack } : {}) };
      return { spec, ref, strategies: r.strategies };
    }),
  );
  const loaded: StrategyInfo[] = [];
  const failures: StrategyFailure[] = [];
  for (const a of answers) {
    if (!("strategies" in a) || !a.strategies || !a.ref) {
      const f: StrategyFailure = { name: a.spec, spec: a.spec, kind: "load", message: a.message as string };
      if ("stack" in a && a.stack) f.stack = a.stack;
      failures.push(f);
      continue;
    }
    for (const s of a.strategies) {
      const dup = loaded.find((l) => l.name === s.name);
      if (dup) {
        failures.push({
          name: s.name,
          spec: a.spec,
          kind: "load",
          message: `a strategy named "${s.name}" is already loaded from ${dup.ref.spec}; names must be unique`,
        });
        continue;
      }
      loaded.push({ name: s.name, description: s.description, ref: a.ref, exportName: s.exportName });
    }
  }
  return { loaded, failures };
}

/** Build the matrix and load its strategies (in the worker pool); no cell runs yet. */
export async function planMatrix(o: MatrixOptions, signal?: AbortSignal): Promise<MatrixPlan> {
  const problems: string[] = [];
  const pool = o.pool ?? new CellPool(o.jobs);
  const cellTimeout = o.cellTimeoutMs ?? DEFAULT_CELL_TIMEOUT_MS;
  const { loaded, failures } = await loadStrategiesInWorkers(o.strategies, pool, {
    timeoutMs: Math.min(o.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS, cellTimeout),
    ...(o.cwd ? { cwd: o.cwd } : {}),
    ...(signal ? { signal } : {}),
  });
  let chosen: PlannedWorkload[];
  if (o.workloads && o.workloads.length > 0) {
    chosen = [];
    for (const id of o.workloads.flatMap((w) => w.split(",")).map((w) => w.trim())) {
      if (id === "") continue;
      const matches =
        id.endsWith("/*") || id.endsWith("/") ? WORKLOADS.filter((w) => w.id.startsWith(id.replace(/\*$/, ""))) : [];
      const list = matches.length > 0 ? matches : [findWorkload(id)].filter((w): w is Workload => w !== undefined);
      if (list.length === 0) {
        problems.push(`unknown workload "${id}" (see foliolab list)`);
        continue;
      }
      for (const w of list) {
        if (!chosen.some((c) => c.workload === w)) chosen.push({ workload: w, needs: await workloadNeeds(w), explicit: true });
      }
    }
  } else {
    chosen = (await defaultWorkloads()).map((w) => ({ workload: w, needs: [], explicit: false }));
  }
  const folios = o.folios && o.folios.length > 0 ? [...o.folios] : [...DEFAULT_FOLIOS];
  const all: CellSpec[] = [];
  for (const pw of chosen) {
    for (const folio of foliosFor(pw.workload, folios)) {
      const size = effectiveSize(pw.workload, o.size, folio);
      for (const s of loaded) all.push({ workload: pw.workload.id, folio, size, strategy: s.name, seed: o.seed });
      for (const f of failures) all.push({ workload: pw.workload.id, folio, size, strategy: f.name, seed: o.seed });
    }
  }
  const mine = o.shard ? all.filter((_, i) => i % (o.shard?.count ?? 1) === (o.shard?.index ?? 1) - 1) : all;
  const cells: CellSpec[] = [];
  const unrunnable: RunRecord[] = [];
  for (const c of mine) {
    const f = failures.find((x) => x.name === c.strategy);
    const pw = chosen.find((x) => x.workload.id === c.workload) as PlannedWorkload;
    if (f) unrunnable.push(skippedRecord(c, "LoadError", `strategy "${f.name}" failed to load: ${f.message}`));
    else if (pw.needs.length > 0)
      unrunnable.push(skippedRecord(c, "ScenarioError", `needs: ${pw.needs.join(", ")} (not yet in core)`));
    else cells.push(c);
  }
  return { strategies: loaded, strategyFailures: failures, workloads: chosen, folios, cells, unrunnable, problems, pool };
}

/** A rough cost estimate, to start the long cells first. */
function weight(c: CellSpec): number {
  const f = folioSpec(c.folio);
  const perPageFactor = f.order <= 0 ? 4 : f.order < 4 ? 2 : 1;
  return (c.size / PAGE) * perPageFactor;
}

export interface RunHooks {
  onDone?: (r: RunRecord) => void;
  signal?: AbortSignal;
}

export interface MatrixRun {
  records: RunRecord[];
  interrupted: boolean;
}

/** Sort records into report order: workload list order, folio axis, strategy column order. */
export function sortRecords(
  records: RunRecord[],
  strategyOrder: readonly string[],
  workloadOrder: readonly string[],
): RunRecord[] {
  const si = (s: string) => {
    const i = strategyOrder.indexOf(s);
    return i < 0 ? strategyOrder.length : i;
  };
  const wi = (w: string) => {
    const i = workloadOrder.indexOf(w);
    return i < 0 ? workloadOrder.length : i;
  };
  return [...records].sort(
    (a, b) => wi(a.workload) - wi(b.workload) || folioRank(a.folio) - folioRank(b.folio) || si(a.strategy) - si(b.strategy),
  );
}

function failedRecord(
  c: CellSpec,
  kind: CellError["kind"],
  phase: CellError["phase"],
  message: string,
  stack?: string,
): RunRecord {
  return {
    ...cellRecord(c),
    status: "failed",
    error: stack ? { kind, phase, message, stack } : { kind, phase, message },
  };
}

/** The workload, size and seed of a cell: cells with the same key must end in the same state. */
function stateKey(c: CellSpec): string {
  return `${c.workload}|${c.folio}|${c.size}|${c.seed}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** per-page's run of a cell: the state it ends in, and its times (ms), which set the other strategies' limits. */
interface Reference {
  observed: ObservedSummary | undefined;
  checkMs: number;
  runMs: number;
}

/**
 * Run every cell in the worker pool. Each non-baseline run is verified against per-page's
 * final state for the same workload and size (per-page's own cell when it is in the matrix,
 * else a reference run) before it is handed out.
 */
export async function runMatrix(plan: MatrixPlan, o: MatrixOptions, hooks: RunHooks = {}): Promise<MatrixRun> {
  const records: RunRecord[] = [...plan.unrunnable];
  for (const r of plan.unrunnable) hooks.onDone?.(r);
  const pool = plan.pool;
  const signal = hooks.signal;
  // per-page's cells and reference runs: --timeout, or the default. Every other cell: limits
  // from per-page's time for the same cell (deadline.ts), unless --timeout sets them.
  const timeoutMs = o.cellTimeoutMs ?? DEFAULT_CELL_TIMEOUT_MS;
  const limitsFor = (ref: Reference | undefined): CellLimits =>
    o.cellTimeoutMs !== undefined
      ? explicitLimits(o.cellTimeoutMs)
      : ref
        ? defaultLimits(ref)
        : { ...explicitLimits(timeoutMs), note: "the default limit when per-page's time for this cell is unknown" };
  const byName = new Map(plan.strategies.map((s) => [s.name, s]));
  // Long cells first; per-page before the others of the same weight, so references come early.
  const queue = [...plan.cells].sort(
    (a, b) => weight(b) - weight(a) || Number(b.strategy === BASELINE) - Number(a.strategy === BASELINE),
  );
  const refs = new Map<string, Promise<Reference | undefined>>();
  const settle = new Map<string, (v: Reference | undefined) => void>();
  const baselineInMatrix = byName.has(BASELINE);
  const pending: Array<Promise<unknown>> = [];
  // A strategy that overran a limit once: its later cells are refused at once (each would wait out its own).
  const stuck = new Map<string, string>();
  for (const c of queue) {
    const key = stateKey(c);
    if (refs.has(key)) continue;
    if (baselineInMatrix && queue.some((x) => x.strategy === BASELINE && stateKey(x) === key)) {
      refs.set(key, new Promise((res) => settle.set(key, res)));
    } else {
      // per-page is not in the matrix (or its cell not in this shard): a reference run stands in.
      refs.set(key, referenceRun(c));
    }
  }
  function referenceRun(c: CellSpec): Promise<Reference | undefined> {
    const p = pool
      .run({ kind: "reference", cell: { ...c, strategy: BASELINE }, checkSize: o.checkSize }, timeoutMs, signal)
      .then((r) =>
        !isFailure(r) && r.kind === "reference" ? { observed: r.observed, checkMs: r.checkMs, runMs: r.runMs } : undefined,
      );
    pending.push(p);
    return p;
  }
  const runOne = async (c: CellSpec): Promise<void> => {
    const info = byName.get(c.strategy) as StrategyInfo;
    const baseline = c.strategy === BASELINE;
    // Every other cell waits for per-page's: its time sets the cell's limits, its state verifies it.
    const ref = baseline ? undefined : await refs.get(stateKey(c));
    const limits = baseline ? (o.cellTimeoutMs !== undefined ? explicitLimits(o.cellTimeoutMs) : undefined) : limitsFor(ref);
    const options: RunOptionsForCell = {
      samples: o.samples,
      checkSize: o.checkSize,
      profile: o.profile,
      ...(limits ? { limits } : {}),
    };
    const backstop = limits ? cellBackstopMs(limits, o.samples) : timeoutMs;
    const r = await pool.run(
      { kind: "cell", cell: c, strategy: { url: info.ref.url, exportName: info.exportName }, options },
      backstop,
      signal,
      () => {
        const why = stuck.get(c.strategy);
        return why === undefined ? undefined : `not run: strategy "${c.strategy}" overran a time limit in ${why}`;
      },
    );
    let rec: RunRecord;
    if (isFailure(r)) {
      // Ctrl-C reaches the workers too: a worker that died in the same moment was interrupted.
      if (r.failure === "exit") await sleep(100);
      if (r.failure === "interrupted" || signal?.aborted) {
        settle.get(stateKey(c))?.(undefined);
        return;
      }
      rec =
        r.failure === "timeout"
          ? failedRecord(
              c,
              "Timeout",
              "count",
              `strategy "${c.strategy}" did not finish the cell within ${backstop / 1000} s (${limits?.note ?? "--timeout"}); the worker was stopped`,
            )
          : failedRecord(c, r.failure === "refused" ? "Timeout" : "WorkerExit", "count", r.message);
    } else if (r.kind === "cell") {
      rec = r.record;
    } else {
      rec = failedRecord(c, "Error", "count", r.kind === "error" ? r.message : `unexpected answer from the worker (${r.kind})`);
    }
    if (rec.error?.kind === "Timeout" && !stuck.has(c.strategy) && !rec.error.message.startsWith("not run"))
      stuck.set(c.strategy, `${rec.id}: ${rec.error.message}`);
    if (baseline) {
      const e = rec.elapsedMs;
      settle.get(stateKey(c))?.(
        rec.status === "ok" && e
          ? { observed: rec.verification?.observed, checkMs: e.check, runMs: e.timed / Math.max(1, o.samples) }
          : undefined,
      );
      if (rec.verification) rec.verification.state = "reference";
    } else if (rec.status === "ok" && rec.verification?.observed) {
      const seen = ref?.observed;
      const counters = seen ? counterDifference(seen, rec.verification.observed, c.strategy) : undefined;
      if (seen && seen.digest === rec.verification.observed.digest && !counters) rec.verification.state = "equal";
      else if (seen && seen.digest === rec.verification.observed.digest && counters) {
        rec = {
          ...rec,
          status: "failed",
          error: {
            kind: "StateMismatch",
            phase: "verify",
            message: `the measured run does not count what per-page counts for the same workload and size: ${counters}`,
          },
        };
      } else if (seen) {
        const d = await pool.run(
          { kind: "diagnose", cell: c, strategy: { url: info.ref.url, exportName: info.exportName } },
          limits ? cellBackstopMs(limits, 1) : timeoutMs,
          signal,
        );
        if (signal?.aborted) return;
        const what = !isFailure(d) && d.kind === "diagnose" ? d.difference : "the states differ";
        rec = {
          ...rec,
          status: "failed",
          error: {
            kind: "StateMismatch",
            phase: "verify",
            message: `the measured run does not end in per-page's state for the same workload and size: ${what}`,
          },
        };
      }
    }
    records.push(rec);
    hooks.onDone?.(rec);
  };
  await Promise.all(queue.map(runOne));
  await Promise.all(pending);
  return { records, interrupted: signal?.aborted === true };
}

/** Default worker count: every core the machine has. */
export function defaultJobs(): number {
  return Math.max(1, availableParallelism());
}

export { BASELINE };
