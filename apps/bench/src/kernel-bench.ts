/**
 * `foliolab bench --kernel`: the "linux (this machine)" column. Every workload x folio size of
 * the matrix is generated exactly as for the model and run on this machine's kernel by
 * @foliolab/kernel-probe, one run after another after the model's matrix (so the workers'
 * load does not disturb the kernel's timings), in `repeat` passes over the cells: one run of each
 * cell a pass, so a slow minute of the host (a VM's neighbours) lands on one sample of a cell, not
 * on all of them, as `foliolab calibrate` measures the samples the profile is fitted on. The measured time is the wall time of the
 * workload's measured ops (the probe's per-op timings on the proc's CPU clock, exits included,
 * so a loaded machine does not inflate them), per 4K page of the region, the unit of the model's
 * modelled time.
 */

import { type KernelAvailability, type KernelResult, mergeKernelResults, runOnKernel } from "@foliolab/kernel-probe";
import { machineInfo } from "./machine.js";
import { generateCell } from "./measure.js";
import type { KernelRunRecord, KernelSection } from "./results.js";
import { folioRank, formatBytes, PAGE } from "./sizes.js";

export const LINUX_COLUMN = "linux (this machine)" as const;

export interface KernelCell {
  workload: string;
  folio: string;
  size: number;
  seed: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function nonZeroMthp(m: Record<string, Record<string, number>>): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [dir, row] of Object.entries(m)) {
    const nz = Object.entries(row).filter(([, v]) => v !== 0);
    if (nz.length > 0) out[dir] = Object.fromEntries(nz);
  }
  return out;
}

/** The one place a kernel column record is built: the cell, nothing measured yet. */
function kernelCellRecord(c: KernelCell, status: KernelRunRecord["status"]): KernelRunRecord {
  return {
    id: `${c.workload}/${c.folio}/linux`,
    workload: c.workload,
    folio: c.folio,
    size: c.size,
    sizeLabel: formatBytes(c.size),
    pages: c.size / PAGE,
    status,
    measuredOps: [],
    warnings: [],
    missing: [],
    errors: [],
  };
}

/** Turn one probe result into the column's record (pure: tested on canned results). */
export function kernelRecord(c: KernelCell, measured: readonly number[], r: KernelResult): KernelRunRecord {
  const pages = c.size / PAGE;
  const rec: KernelRunRecord = {
    ...kernelCellRecord(c, "ok"),
    measuredOps: [...measured],
    warnings: r.warnings,
    missing: r.missing.filter((m) => m !== "costs"),
    errors: r.errors,
    counters: { mthp: nonZeroMthp(r.mthp), vmstat: Object.fromEntries(Object.entries(r.vmstat).filter(([, v]) => v !== 0)) },
  };
  const knob = r.missing.filter((m) => m.startsWith("config.mthp."));
  if (knob.length > 0) {
    rec.status = "skipped";
    rec.reason = `folio size not obtainable: ${knob.map((k) => k.slice("config.mthp.".length)).join(", ")} could not be set (${r.warnings.find((w) => w.includes("enabled")) ?? "see warnings"})`;
    return rec;
  }
  const refused = r.errors.filter((e) => measured.includes(e.op));
  if (refused.length > 0) {
    rec.status = "failed";
    rec.reason = `the kernel refused a measured op: ${refused.map((e) => `ops[${e.op}]: ${e.message}`).join("; ")}`;
    return rec;
  }
  const timed = r.timings.filter((t) => measured.includes(t.op));
  if (timed.length === 0) {
    rec.status = "failed";
    rec.reason = "no timing for the measured ops";
    return rec;
  }
  const reps = timed.reduce((m, t) => Math.min(m, t.samples.length), Number.POSITIVE_INFINITY);
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) samples.push(timed.reduce((s, t) => s + (t.samples[i] as number), 0));
  const med = median(samples);
  const min = Math.min(...samples);
  const max = Math.max(...samples);
  rec.measuredNs = { samples, median: med, min, max, spread: med > 0 ? (max - min) / med : 0 };
  rec.nsPerPage = med / pages;
  rec.ops = timed.map((t) => ({ op: t.op, name: t.name, median: t.median, nsPerPage: t.nsPerPage ?? null }));
  if (r.clockCostNs !== undefined) rec.clockCostNs = r.clockCostNs;
  const wall = timed.filter((t) => t.clock === "wall" && r.clock === "cpu").map((t) => t.op);
  if (wall.length > 0) rec.wallTimedOps = wall;
  return rec;
}

export interface KernelColumnOptions {
  /** Samples per cell: passes over the cells, one run of each a pass. */
  repeat: number;
  /**
   * Clock of the kernel timings (default "cpu": the proc's thread CPU time, an exit's up to the end
   * of the exited proc, so other jobs on a shared machine do not inflate them).
   */
  clock?: "wall" | "cpu";
  signal?: AbortSignal;
  /** After each run: the cell's record over the passes so far, its index in the pass, and the pass (0-based). */
  onDone?: (r: KernelRunRecord, index: number, total: number, pass: number) => void;
  /** The first pass a cell is run in (default 0): a cell with samples from before gets fewer runs. */
  firstPass?: (c: KernelCell) => number;
  /** For tests: the runner (default: the probe's runOnKernel). */
  run?: typeof runOnKernel;
}

/** The cells of the column: one per workload x folio size, in report order. */
export function kernelCells(cells: ReadonlyArray<KernelCell>, workloadOrder: readonly string[]): KernelCell[] {
  const seen = new Map<string, KernelCell>();
  for (const c of cells) {
    const k = `${c.workload}\u0000${c.folio}`;
    if (!seen.has(k)) seen.set(k, { workload: c.workload, folio: c.folio, size: c.size, seed: c.seed });
  }
  const wi = (w: string) => {
    const i = workloadOrder.indexOf(w);
    return i < 0 ? workloadOrder.length : i;
  };
  return [...seen.values()].sort((a, b) => wi(a.workload) - wi(b.workload) || folioRank(a.folio) - folioRank(b.folio));
}

/** The section when the kernel cannot be used at all. */
export function unavailableSection(a: KernelAvailability, repeat: number): KernelSection {
  return {
    column: LINUX_COLUMN,
    available: false,
    reason: a.reason ?? "unknown",
    kernel: a.kernel,
    machine: machineInfo().name,
    root: a.root,
    limits: a.limits,
    repeat,
    runs: [],
  };
}

/** Run every cell on the kernel, one after another, in `repeat` passes. */
export async function runKernelColumn(
  cells: ReadonlyArray<KernelCell>,
  availability: KernelAvailability,
  o: KernelColumnOptions,
): Promise<KernelSection> {
  const run = o.run ?? runOnKernel;
  const section: KernelSection = {
    column: LINUX_COLUMN,
    available: true,
    kernel: availability.kernel,
    machine: machineInfo().name,
    root: availability.root,
    limits: availability.limits,
    repeat: o.repeat,
    clock: o.clock ?? "cpu",
    runs: [],
  };
  const records = new Map<KernelCell, KernelRunRecord>();
  const results = new Map<KernelCell, KernelResult[]>();
  const lost = new Map<KernelCell, string[]>();
  const passes = Math.max(1, o.repeat);
  for (let pass = 0; pass < passes && !o.signal?.aborted; pass++) {
    // a cell that failed or was skipped is not run again: its first answer stands
    const todo = cells.filter((c) => {
      if (pass < (o.firstPass?.(c) ?? 0)) return false;
      const r = records.get(c);
      return r === undefined || r.status === "ok";
    });
    let i = 0;
    for (const c of todo) {
      if (o.signal?.aborted) break;
      const base = kernelCellRecord(c, "failed");
      let rec: KernelRunRecord;
      try {
        const g = generateCell({ ...c, strategy: "linux" });
        base.measuredOps = g.measured;
        const r = await run(g.scenario, { repeat: 1, clock: o.clock ?? "cpu" });
        const got = [...(results.get(c) ?? []), r];
        results.set(c, got);
        rec = kernelRecord(c, g.measured, mergeKernelResults(got));
        rec.warnings.push(...(lost.get(c) ?? []));
      } catch (e) {
        const why = `${(e as Error)?.name ?? "Error"}: ${(e as Error)?.message ?? String(e)}`;
        const had = records.get(c);
        // a later pass that throws leaves the samples taken so far, and says so
        const note = `pass ${pass + 1} failed: ${why}`;
        lost.set(c, [...(lost.get(c) ?? []), note]);
        rec = had ? { ...had, warnings: [...had.warnings, note] } : { ...base, reason: why };
      }
      records.set(c, rec);
      o.onDone?.(rec, ++i, todo.length, pass);
    }
  }
  for (const c of cells) {
    const r = records.get(c);
    if (r) section.runs.push(r);
  }
  return section;
}
