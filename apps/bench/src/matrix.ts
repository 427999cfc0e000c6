/**
 * The benchmark matrix: plan (strategies x workloads x folio sizes, sharded), then run the
 * cells on worker threads across the cores, or in this thread. Finished records are handed out
 * as they arrive, so an interrupted run keeps all of them.
 */

import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { type CellSpec, cellId, type RunRecord, regenerateCommand, runCell } from "./measure.js";
import type { CostProfile } from "./profile.js";
import { DEFAULT_FOLIOS, folioRank, folioSpec, formatBytes, PAGE } from "./sizes.js";
import { BASELINE, type LoadedStrategy, loadStrategies, type StrategyFailure } from "./strategies.js";
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
  /** Worker threads; 1 runs in this thread. */
  jobs: number;
  /** Per-cell time limit in ms (worker mode only). */
  cellTimeoutMs?: number;
  cwd?: string;
}

export interface PlannedWorkload {
  workload: Workload;
  needs: string[];
  /** Requested explicitly (a missing feature is then a failure, not a silent skip). */
  explicit: boolean;
}

export interface MatrixPlan {
  strategies: LoadedStrategy[];
  strategyFailures: StrategyFailure[];
  workloads: PlannedWorkload[];
  folios: string[];
  cells: CellSpec[];
  /** Cells that cannot run: unsupported workload or strategy that failed to load. */
  unrunnable: RunRecord[];
  /** Problems with the request itself (unknown workload id). */
  problems: string[];
}

export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : Number.NaN;
  const count = m ? Number(m[2]) : Number.NaN;
  if (!m || count < 1 || index < 1 || index > count) throw new Error(`--shard: "${text}" is not i/n with 1 <= i <= n (e.g. 1/2)`);
  return { index, count };
}

function skippedRecord(c: CellSpec, kind: "LoadError" | "ScenarioError", message: string): RunRecord {
  return {
    id: cellId(c),
    workload: c.workload,
    folio: c.folio,
    size: c.size,
    sizeLabel: formatBytes(c.size),
    pages: c.size / PAGE,
    strategy: c.strategy,
    seed: c.seed,
    status: kind === "LoadError" ? "failed" : "skipped",
    error: { kind, phase: "load", message },
    scenario: { name: c.workload, ops: 0, measuredOps: 0, regenerate: regenerateCommand(c) },
  };
}

/** Build the matrix; nothing runs yet. */
export async function planMatrix(o: MatrixOptions): Promise<MatrixPlan> {
  const problems: string[] = [];
  const { loaded, failures } = await loadStrategies(o.strategies, o.cwd);
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
  return { strategies: loaded, strategyFailures: failures, workloads: chosen, folios, cells, unrunnable, problems };
}

/** A rough cost estimate, to start the long cells first. */
function weight(c: CellSpec): number {
  const f = folioSpec(c.folio);
  const perPageFactor = f.order <= 0 ? 4 : f.order < 4 ? 2 : 1;
  return (c.size / PAGE) * perPageFactor;
}

export interface RunHooks {
  onStart?: (c: CellSpec) => void;
  onDone?: (r: RunRecord) => void;
  signal?: AbortSignal;
  /** URL of the module that starts a worker (dist/cli.js); without it cells run in this thread. */
  workerUrl?: URL;
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

export async function runMatrix(plan: MatrixPlan, o: MatrixOptions, hooks: RunHooks = {}): Promise<MatrixRun> {
  const records: RunRecord[] = [...plan.unrunnable];
  for (const r of plan.unrunnable) hooks.onDone?.(r);
  const queue = [...plan.cells].sort((a, b) => weight(b) - weight(a));
  const jobs = Math.max(1, Math.min(o.jobs, queue.length));
  let interrupted = false;
  if (jobs <= 1 || !hooks.workerUrl) {
    const byName = new Map(plan.strategies.map((s) => [s.name, s.strategy]));
    for (const c of queue) {
      if (hooks.signal?.aborted) {
        interrupted = true;
        break;
      }
      hooks.onStart?.(c);
      const r = await runCell(c, byName.get(c.strategy) as NonNullable<ReturnType<typeof byName.get>>, o);
      records.push(r);
      hooks.onDone?.(r);
      await new Promise((res) => setImmediate(res));
    }
    if (hooks.signal?.aborted) interrupted = true;
    return { records, interrupted };
  }
  interrupted = await runOnWorkers(queue, jobs, plan, o, hooks, records);
  return { records, interrupted };
}

export interface WorkerInit {
  foliolabWorker: true;
  strategies: Array<{ name: string; url: string; exportName: string }>;
  options: { samples: number; checkSize: number; profile: CostProfile };
}

function runOnWorkers(
  queue: CellSpec[],
  jobs: number,
  plan: MatrixPlan,
  o: MatrixOptions,
  hooks: RunHooks,
  records: RunRecord[],
): Promise<boolean> {
  const init: WorkerInit = {
    foliolabWorker: true,
    strategies: plan.strategies.map((s) => ({ name: s.name, url: s.ref.url, exportName: s.exportName })),
    options: { samples: o.samples, checkSize: o.checkSize, profile: o.profile },
  };
  const workerUrl = hooks.workerUrl as URL;
  return new Promise((resolveAll) => {
    let next = 0;
    let live = 0;
    let stopped = false;
    const workers = new Set<Worker>();
    const finish = () => {
      if (live === 0) resolveAll(stopped);
    };
    const stopAll = () => {
      if (stopped) return;
      stopped = true;
      for (const w of workers) void w.terminate();
    };
    hooks.signal?.addEventListener("abort", stopAll, { once: true });
    const spawn = () => {
      const w = new Worker(workerUrl, { workerData: init, stdout: false, stderr: false });
      workers.add(w);
      live++;
      let current: CellSpec | undefined;
      let timer: NodeJS.Timeout | undefined;
      const give = () => {
        if (stopped || next >= queue.length) {
          current = undefined;
          void w.terminate();
          return;
        }
        current = queue[next++] as CellSpec;
        hooks.onStart?.(current);
        if (o.cellTimeoutMs) {
          timer = setTimeout(() => {
            const c = current;
            current = undefined;
            if (c) {
              const r: RunRecord = {
                ...skippedRecord(c, "LoadError", ""),
                status: "failed",
                error: {
                  kind: "Error",
                  phase: "count",
                  message: `timed out after ${o.cellTimeoutMs} ms (the worker was stopped)`,
                },
              };
              records.push(r);
              hooks.onDone?.(r);
            }
            void w.terminate();
          }, o.cellTimeoutMs);
        }
        w.postMessage({ type: "cell", cell: current });
      };
      w.on("message", (m: { type: string; record?: RunRecord }) => {
        if (m.type === "ready") give();
        else if (m.type === "done" && m.record) {
          if (timer) clearTimeout(timer);
          current = undefined;
          records.push(m.record);
          hooks.onDone?.(m.record);
          give();
        }
      });
      w.on("error", (err) => {
        if (timer) clearTimeout(timer);
        if (current && !stopped) {
          const c = current;
          current = undefined;
          const r: RunRecord = {
            ...skippedRecord(c, "LoadError", ""),
            status: "failed",
            error: { kind: "Error", phase: "count", message: `worker crashed: ${err?.message ?? String(err)}` },
          };
          records.push(r);
          hooks.onDone?.(r);
        }
      });
      w.on("exit", () => {
        if (timer) clearTimeout(timer);
        workers.delete(w);
        live--;
        // A worker that died (crash, timeout) while work remains is replaced.
        if (!stopped && next < queue.length) spawn();
        finish();
      });
    };
    for (let i = 0; i < jobs; i++) spawn();
  });
}

/** Default worker count: every core the machine has. */
export function defaultJobs(): number {
  return Math.max(1, availableParallelism());
}

export { BASELINE };
