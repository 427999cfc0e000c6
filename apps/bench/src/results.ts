/**
 * results.json: the versioned record of a benchmark run (metadata, environment, and per run
 * every metric with its samples). Every report is rendered from this object alone, so a
 * results.json from another machine renders the same reports.
 */

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { arch, cpus, platform, release, totalmem } from "node:os";
import { type MatrixOptions, type planMatrix, sortRecords } from "./matrix.js";
import type { RunRecord } from "./measure.js";
import type { CostProfile } from "./profile.js";
import { BASELINE } from "./strategies.js";

export const RESULTS_SCHEMA = "foliolab-bench-results";
export const RESULTS_SCHEMA_VERSION = 1;

export interface ResultsFile {
  schema: typeof RESULTS_SCHEMA;
  schemaVersion: number;
  metadata: {
    tool: "foliolab";
    version: string;
    command: string[];
    startedAt: string;
    finishedAt: string;
    /** Every planned cell ran (no interruption). */
    complete: boolean;
    interrupted: boolean;
    seed: number;
    shard: string | null;
    samples: number;
    checkSize: number;
    jobs: number;
    /** The deterministic metric to gate on, and the one the tables lead with. */
    gateMetric: "cost_events";
    primaryMetric: "modelled_ns_per_page";
    baseline: string;
    profile: {
      name: string;
      origin: string;
      /** The machine the profile was fitted on (foliolab calibrate's machine name), when it says. */
      machine?: string;
      description: string;
      overridden: string[];
      ns: Record<string, number>;
      sources: Record<string, string>;
    };
    matrix: { strategies: string[]; workloads: string[]; folios: string[]; size: number | null };
  };
  environment: {
    node: string;
    v8: string;
    platform: string;
    arch: string;
    osRelease: string;
    cpuModel: string;
    cpus: number;
    totalMemoryBytes: number;
    corePackageVersion: string;
  };
  strategies: Array<{ name: string; description: string; spec: string; source: string; package?: string; version?: string }>;
  strategyFailures: Array<{ name: string; spec: string; message: string; stack?: string }>;
  workloads: Array<{
    id: string;
    title: string;
    origin: string;
    description: string;
    needs: string[];
    fixedFolios?: string[];
  }>;
  problems: string[];
  runs: RunRecord[];
  summary: { planned: number; ok: number; failed: number; skipped: number };
  /**
   * Only with `foliolab bench --kernel` (absent otherwise; files without it are plain v1): the
   * "linux (this machine)" column, each workload x folio size run on this machine's kernel by
   * @foliolab/kernel-probe. A compatible extension of schema v1: readers that do not know it
   * ignore it.
   */
  kernel?: KernelSection;
}

/** The measured time of a workload's measured ops on the real kernel, per folio size. */
export interface KernelRunRecord {
  id: string;
  workload: string;
  folio: string;
  size: number;
  sizeLabel: string;
  pages: number;
  /** ok: measured; failed: the run threw or the kernel refused a measured op; skipped: not runnable as asked here. */
  status: "ok" | "failed" | "skipped";
  reason?: string;
  /** Indices of the measured ops (the same as the model's). */
  measuredOps: number[];
  /** Median over repetitions of the measured ops' summed time (on the section's clock), divided by `pages` (region size / 4K). */
  nsPerPage?: number;
  /** Summed time of the measured ops, ns: one sample per repetition. */
  measuredNs?: { samples: number[]; median: number; min: number; max: number; spread: number };
  /**
   * Measured ops timed on the wall clock although the column's clock is "cpu": exits whose CPU time
   * the runner could not read (absent: none).
   */
  wallTimedOps?: number[];
  /** What the probe's two clock reads around an op cost main, taken off every op time (KernelResult.clockCostNs). */
  clockCostNs?: number;
  /** Per measured op: median ns and ns per page of the pages the op covers. */
  ops?: Array<{ op: number; name: string; median: number; nsPerPage: number | null }>;
  /**
   * The kernel samples the cost profile was fitted on for this cell (same workload, folio size
   * and region size), when its calibration recorded them: their number and range, ns per page.
   */
  calibration?: { profile: string; samples: number; minNsPerPage: number; medianNsPerPage: number; maxNsPerPage: number };
  /** Non-zero machine-wide counter deltas over the whole scenario (first repetition). */
  counters?: { mthp: Record<string, Record<string, number>>; vmstat: Record<string, number> };
  warnings: string[];
  missing: string[];
  errors: Array<{ op: number; message: string }>;
}

export interface KernelSection {
  column: "linux (this machine)";
  /** False when the kernel could not be used at all: `reason` says why and `runs` is empty. */
  available: boolean;
  reason?: string;
  /** uname -r */
  kernel: string;
  /** This machine's name as `foliolab calibrate` names profiles (CPU model, kernel release, page size); absent in older files. */
  machine?: string;
  root: boolean;
  /** What was missing or ignored (knobs not writable, no mTHP, ...). */
  limits: string[];
  /** Repetitions per workload x folio size. */
  repeat: number;
  /**
   * Clock of the timings: "cpu" (the proc's CPU time; an exit's from just before _exit() to the end of the
   * exited proc, read from its zombie's schedstat) or "wall". Absent: wall (older files).
   */
  clock?: "wall" | "cpu";
  runs: KernelRunRecord[];
}

function pkgVersion(rel: string): string {
  try {
    return JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")).version ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** This package's version (works from src/ and dist/). */
export function benchVersion(): string {
  return pkgVersion("../package.json");
}

export function environment(): ResultsFile["environment"] {
  const c = cpus();
  let coreVersion = "unknown";
  try {
    const path = createRequire(import.meta.url).resolve("@foliolab/core/package.json");
    coreVersion = JSON.parse(readFileSync(path, "utf8")).version ?? "unknown";
  } catch {
    coreVersion = "unknown";
  }
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: platform(),
    arch: arch(),
    osRelease: release(),
    cpuModel: c[0]?.model ?? "unknown",
    cpus: c.length,
    totalMemoryBytes: totalmem(),
    corePackageVersion: coreVersion,
  };
}

export function profileMeta(p: CostProfile): ResultsFile["metadata"]["profile"] {
  return {
    name: p.name,
    origin: p.origin,
    ...(p.machine ? { machine: p.machine } : {}),
    description: p.description,
    overridden: p.overridden,
    ns: p.ns,
    sources: p.sources,
  };
}

export function summarize(runs: RunRecord[], planned: number): ResultsFile["summary"] {
  return {
    planned,
    ok: runs.filter((r) => r.status === "ok").length,
    failed: runs.filter((r) => r.status === "failed").length,
    skipped: runs.filter((r) => r.status === "skipped").length,
  };
}

/** Read and check a results.json (for compare). */
export function readResults(path: string): ResultsFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  const r = raw as Partial<ResultsFile>;
  if (r.schema !== RESULTS_SCHEMA) throw new Error(`${path}: not a foliolab results file (schema "${String(r.schema)}")`);
  if (typeof r.schemaVersion !== "number" || r.schemaVersion > RESULTS_SCHEMA_VERSION) {
    throw new Error(
      `${path}: results schema version ${String(r.schemaVersion)} is newer than this foliolab understands (${RESULTS_SCHEMA_VERSION})`,
    );
  }
  if (!Array.isArray(r.runs)) throw new Error(`${path}: no "runs" array`);
  return r as ResultsFile;
}

/** Build the results object from a finished (or interrupted) matrix. */
export function buildResults(args: {
  command: string[];
  startedAt: Date;
  plan: Awaited<ReturnType<typeof planMatrix>>;
  o: MatrixOptions;
  records: RunRecord[];
  interrupted: boolean;
  kernel?: KernelSection;
  /** Strategy every ratio is taken against (default per-page). */
  baseline?: string;
}): ResultsFile {
  const { plan, o } = args;
  const strategyOrder = [...plan.strategies.map((s) => s.name), ...plan.strategyFailures.map((f) => f.name)];
  const workloadOrder = plan.workloads.map((w) => w.workload.id);
  const runs = sortRecords(args.records, strategyOrder, workloadOrder);
  const planned = plan.cells.length + plan.unrunnable.length;
  return {
    schema: RESULTS_SCHEMA,
    schemaVersion: RESULTS_SCHEMA_VERSION,
    metadata: {
      tool: "foliolab",
      version: benchVersion(),
      command: args.command,
      startedAt: args.startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      complete: !args.interrupted && runs.length === planned,
      interrupted: args.interrupted,
      seed: o.seed,
      shard: o.shard ? `${o.shard.index}/${o.shard.count}` : null,
      samples: o.samples,
      checkSize: o.checkSize,
      jobs: o.jobs,
      gateMetric: "cost_events",
      primaryMetric: "modelled_ns_per_page",
      baseline: args.baseline ?? BASELINE,
      profile: profileMeta(o.profile),
      matrix: { strategies: strategyOrder, workloads: workloadOrder, folios: plan.folios, size: o.size ?? null },
    },
    environment: environment(),
    strategies: plan.strategies.map((s) => {
      const e: ResultsFile["strategies"][number] = {
        name: s.name,
        description: s.description,
        spec: s.ref.spec,
        source: s.ref.source,
      };
      if (s.ref.packageName) e.package = s.ref.packageName;
      if (s.ref.version) e.version = s.ref.version;
      return e;
    }),
    strategyFailures: plan.strategyFailures.map((f) => ({
      name: f.name,
      spec: f.spec,
      message: f.message,
      ...(f.stack ? { stack: f.stack } : {}),
    })),
    workloads: plan.workloads.map((pw) => {
      const w = pw.workload;
      const e: ResultsFile["workloads"][number] = {
        id: w.id,
        title: w.title,
        origin: w.origin,
        description: w.description,
        needs: pw.needs,
      };
      if (w.fixedFolios) e.fixedFolios = [...w.fixedFolios];
      return e;
    }),
    problems: plan.problems,
    runs,
    summary: summarize(runs, planned),
    ...(args.kernel ? { kernel: args.kernel } : {}),
  };
}
