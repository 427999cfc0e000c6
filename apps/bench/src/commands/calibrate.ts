/**
 * `foliolab calibrate`: fit the cost profile to this machine's kernel.
 *
 * 1. The calibration set: workloads x folio sizes (default: every default workload and folio
 *    size of `foliolab bench`), each generated exactly as the bench generates it.
 * 2. The model runs every cell with folio-batch (what Linux 6.18 runs): cost events per 4K page.
 * 3. The kernel runs every cell (@foliolab/kernel-probe, --samples repetitions, the median):
 *    measured ns per 4K page of the measured ops. Progress is printed per cell, and every
 *    measurement is written to the journal (<out>.measurements.json) as soon as it is taken,
 *    so an interrupted run keeps what it measured and `--resume` goes on from there.
 * 4. Every --holdout-th cell is held out; the per-event costs are fitted on the others
 *    (fit.ts: non-negative least squares on relative errors, ml-fcnnls) and checked on all.
 * 5. The profile is written to --out, named after the machine (CPU model, kernel release,
 *    page size), with each cell's measured and predicted time.
 */

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { basename, dirname, resolve } from "node:path";
import type { ZapStrategy } from "@foliolab/core";
import { COST_EVENT_KEYS } from "@foliolab/core";
import { kernelAvailable } from "@foliolab/kernel-probe";
import type { Command } from "commander";
import { folioListArg, intArg, listArg, profileFlag, sizeArg } from "../cli/args.js";
import { EXIT, UsageError } from "../cli/errors.js";
import type { CommandContext, Io } from "../cli/io.js";
import { fitProfile, predict, relativeError } from "../fit.js";
import { runKernelColumn } from "../kernel-bench.js";
import { KERNEL_STRATEGY, unusableMessage } from "../kernel-compare.js";
import { type Machine, machineInfo } from "../machine.js";
import { generateCell, measureOnce } from "../measure.js";
import { type CostProfile, machineProfilePath } from "../profile.js";
import { fmtNum, knownToModel } from "../report/model.js";
import type { KernelRunRecord } from "../results.js";
import { DEFAULT_FOLIOS, PAGE } from "../sizes.js";
import { loadStrategies } from "../strategies.js";
import { defaultWorkloads, effectiveSize, foliosFor, WORKLOADS, type Workload } from "../workloads.js";

/** Off by more than this (relative): the cell is marked in every report. */
export const CALIBRATION_TOLERANCE = 0.2;

export interface CalibrateFlags {
  workload?: string[];
  folio?: string[];
  size?: number;
  samples: number;
  out?: string;
  install?: boolean;
  holdout: number;
  resume?: boolean;
  refit?: string;
  fitWall?: boolean;
  profile?: string;
  priorWeight: string;
  minShare: string;
  hold?: string[];
}

export { type Machine, machineInfo };

export interface CalCell {
  workload: string;
  folio: string;
  size: number;
  seed: number;
}

/** The calibration set: workload x folio size, in bench order. */
export function calibrationCells(workloads: readonly Workload[], folios: readonly string[], size?: number): CalCell[] {
  const out: CalCell[] = [];
  for (const w of workloads)
    for (const f of foliosFor(w, folios)) out.push({ workload: w.id, folio: f, size: effectiveSize(w, size, f), seed: 1 });
  return out;
}

/** Every n-th cell (1-based: the n-th, 2n-th, ...) is held out; n = 0 holds out none. */
export function isHeldOut(index: number, every: number): boolean {
  return every > 0 && (index + 1) % every === 0;
}

export interface Measurement {
  workload: string;
  folio: string;
  size: number;
  status: KernelRunRecord["status"];
  reason?: string;
  nsPerPage?: number;
  samples?: number[];
  spread?: number;
  /** Some sample had a measured exit the runner timed on the wall clock (its CPU time was unreadable). */
  wallTimed?: boolean;
  /** Taken from a profile's calibration table (--refit): its samples are gone, their count and range kept. */
  recorded?: { samples: number; min: number; max: number };
}

export interface Journal {
  schema: "foliolab-calibration-measurements";
  machine: Machine;
  samples: number;
  measurements: Measurement[];
}

function cellKey(c: { workload: string; folio: string; size: number }): string {
  return `${c.workload} ${c.folio} ${c.size}`;
}

export function journalPath(out: string): string {
  return `${out.replace(/\.json$/, "")}.measurements.json`;
}

function readJournal(path: string, machine: Machine): Measurement[] {
  if (!existsSync(path)) return [];
  let j: Journal;
  try {
    j = JSON.parse(readFileSync(path, "utf8")) as Journal;
  } catch (e) {
    throw new UsageError(`--resume: ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (j.schema !== "foliolab-calibration-measurements") throw new UsageError(`--resume: ${path} is not a calibration journal`);
  if (j.machine?.name !== machine.name) {
    throw new UsageError(`--resume: ${path} was measured on ${j.machine?.name ?? "another machine"}, this is ${machine.name}`);
  }
  return j.measurements.filter((m) => m.status === "ok" && (m.samples?.length ?? 0) > 0);
}

/**
 * The kernel medians a profile's calibration table recorded, as measurements (--refit): a model change
 * is refitted on the kernel times it was fitted on before, without measuring the kernel again. Only a
 * profile measured on this machine is taken (its numbers are this machine's kernel).
 */
export function recordedMeasurements(
  path: string,
  machine: Machine,
): { name: string; samples: number; measurements: Measurement[] } {
  let p: {
    name?: string;
    machine?: Machine;
    calibration?: {
      workload: string;
      folio: string;
      size?: number;
      targetNsPerPage: number | null;
      samples?: number;
      minNsPerPage?: number;
      maxNsPerPage?: number;
    }[];
  };
  try {
    p = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UsageError(`--refit: cannot read ${path}: ${(e as Error).message}`);
  }
  if (!Array.isArray(p.calibration))
    throw new UsageError(`--refit: ${path} has no calibration table (a profile foliolab calibrate wrote has one)`);
  if (p.machine?.name !== machine.name)
    throw new UsageError(`--refit: ${path} was measured on ${p.machine?.name ?? "an unnamed machine"}, this is ${machine.name}`);
  const measurements: Measurement[] = [];
  let samples = 0;
  for (const c of p.calibration) {
    if (c.targetNsPerPage === null || c.size === undefined || !(c.targetNsPerPage >= 0)) continue;
    const n = c.samples ?? 1;
    samples = Math.max(samples, n);
    const min = c.minNsPerPage ?? c.targetNsPerPage;
    const max = c.maxNsPerPage ?? c.targetNsPerPage;
    measurements.push({
      workload: c.workload,
      folio: c.folio,
      size: c.size,
      status: "ok",
      nsPerPage: c.targetNsPerPage,
      spread: c.targetNsPerPage > 0 ? (max - min) / c.targetNsPerPage : 0,
      recorded: { samples: n, min, max },
    });
  }
  return { name: p.name ?? basename(path), samples, measurements };
}

/**
 * fit: the costs were fitted on it; held-out: checked only; wall: checked only, an exit of it was
 * timed on the wall clock (the runner could not read its CPU time); known: checked only, the model is known to leave out what the kernel does
 * there (MODEL_LEAVES_OUT, printed in every report).
 */
export type CellSet = "fit" | "held-out" | "wall" | "known";

/** Which set a cell is in. */
export function cellSet(index: number, holdout: number, wallTimed: boolean, fitWall: boolean, known = false): CellSet {
  if (isHeldOut(index, holdout)) return "held-out";
  if (wallTimed && !fitWall) return "wall";
  return known ? "known" : "fit";
}

export interface CellResult {
  workload: string;
  folio: string;
  set: CellSet;
  measured: number | undefined;
  predicted: number;
  error: number | undefined;
  reason?: string;
}

/** The per-cell table: measured, predicted, error; cells off by more than the tolerance marked. */
export function renderCalibration(rows: readonly CellResult[]): string {
  const head = ["cell", "set", "kernel ns/page", "model ns/page", "model/kernel", "error"];
  const body = rows.map((r) => [
    `${r.workload} ${r.folio}`,
    r.set,
    r.measured === undefined ? (r.reason ?? "not measured") : fmtNum(r.measured),
    fmtNum(r.predicted),
    r.measured === undefined ? "" : `${(r.predicted / r.measured).toFixed(2)}x`,
    r.error === undefined
      ? ""
      : `${r.error >= 0 ? "+" : ""}${(r.error * 100).toFixed(1)}%${Math.abs(r.error) > CALIBRATION_TOLERANCE ? " !" : ""}`,
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cols: string[]) => cols.map((c, i) => (i < 2 ? c.padEnd(w[i] as number) : c.padStart(w[i] as number))).join("  ");
  return [line(head), ...body.map(line)].join("\n");
}

/** Summary lines: worst error per set and the cells off by more than the tolerance. */
export function summarizeCalibration(rows: readonly CellResult[]): string[] {
  const out: string[] = [];
  for (const set of ["fit", "held-out", "wall", "known"] as const) {
    const rs = rows.filter((r) => r.set === set && r.error !== undefined);
    if (rs.length === 0) continue;
    const worst = Math.max(...rs.map((r) => Math.abs(r.error as number)));
    const off = rs.filter((r) => Math.abs(r.error as number) > CALIBRATION_TOLERANCE);
    const med = [...rs.map((r) => Math.abs(r.error as number))].sort((a, b) => a - b)[rs.length >> 1] as number;
    out.push(
      `${set}: ${rs.length} cells, median |error| ${(med * 100).toFixed(1)}%, worst ${(worst * 100).toFixed(1)}%; ${off.length === 0 ? "all within 20%" : `${off.length} off by more than 20%: ${off.map((r) => `${r.workload} ${r.folio} (${((r.error as number) * 100).toFixed(0)}%)`).join(", ")}`}`,
    );
  }
  return out;
}

function median(sorted: readonly number[]): number {
  const m = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[m] as number) : ((sorted[m - 1] as number) + (sorted[m] as number)) / 2;
}

function loadAverage(): string {
  return os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(", ");
}

export async function calibrateCommand(flags: CalibrateFlags, io: Io): Promise<number> {
  const machine = machineInfo();
  const installPath = flags.install ? machineProfilePath(machine.name) : undefined;
  const out = flags.out !== undefined ? resolve(io.cwd, flags.out) : (installPath ?? resolve(io.cwd, `${machine.name}.json`));
  mkdirSync(dirname(out), { recursive: true });
  if (installPath) mkdirSync(dirname(installPath), { recursive: true });
  const journal = journalPath(out);
  const priorWeight = Number(flags.priorWeight);
  const minShare = Number(flags.minShare);
  if (!Number.isFinite(minShare) || minShare < 0 || minShare >= 1)
    throw new UsageError(`--min-share: "${flags.minShare}" is not a fraction in [0, 1)`);
  if (!Number.isFinite(priorWeight) || priorWeight < 0)
    throw new Error(`--prior-weight: "${flags.priorWeight}" is not a non-negative number`);
  const hold = (flags.hold ?? [])
    .flatMap((h) => h.split(","))
    .map((h) => h.trim())
    .filter((h) => h !== "");
  for (const h of hold) {
    if (!(COST_EVENT_KEYS as readonly string[]).includes(h))
      throw new UsageError(`--hold: unknown cost event "${h}" (the events are the keys of a profile's "events")`);
  }
  let workloads: Workload[];
  if (flags.workload && flags.workload.length > 0) {
    workloads = flags.workload.map((id) => {
      const w = WORKLOADS.find((x) => x.id === id);
      if (!w) throw new UsageError(`--workload: unknown workload "${id}" (foliolab list shows them)`);
      return w;
    });
  } else workloads = await defaultWorkloads();
  const folios = flags.folio ?? [...DEFAULT_FOLIOS];
  const cells = calibrationCells(workloads, folios, flags.size);
  const prior: CostProfile = profileFlag(io.cwd, flags.profile);

  const { loaded, failures } = await loadStrategies([KERNEL_STRATEGY], io.cwd);
  const strategy = loaded[0]?.strategy as ZapStrategy | undefined;
  if (!strategy) throw new Error(`cannot load ${KERNEL_STRATEGY}: ${failures.map((f) => f.message).join("; ")}`);

  if (flags.refit !== undefined && flags.resume)
    throw new UsageError("--refit and --resume: one source of kernel times, not both");
  const recorded = flags.refit !== undefined ? recordedMeasurements(resolve(io.cwd, flags.refit), machine) : undefined;
  const kept = recorded?.measurements ?? (flags.resume ? readJournal(journal, machine) : []);
  const measured = new Map<string, Measurement>(kept.map((m) => [cellKey(m), m]));
  const have = (c: CalCell) => {
    const m = measured.get(cellKey(c));
    return m?.recorded?.samples ?? m?.samples?.length ?? 0;
  };
  // A refit measures nothing: a cell the table does not hold stays unmeasured.
  const todo = recorded ? [] : cells.filter((c) => have(c) < flags.samples);
  const samples = recorded?.samples ?? flags.samples;
  if (recorded) {
    const missing = cells.filter((c) => !measured.has(cellKey(c)));
    for (const c of missing)
      measured.set(cellKey(c), {
        workload: c.workload,
        folio: c.folio,
        size: c.size,
        status: "skipped",
        reason: `not in ${recorded.name}'s calibration table`,
      });
    io.err(
      `refitting ${machine.name} (${machine.cpu}, Linux ${machine.kernel}, ${machine.pageSize / 1024}K pages) on the kernel medians ${recorded.name} recorded: ${cells.length} cells, ${cells.length - missing.length} of them in its table; no kernel run`,
    );
  } else
    io.err(
      `calibrating ${machine.name} (${machine.cpu}, Linux ${machine.kernel}, ${machine.pageSize / 1024}K pages): ${cells.length} cells, every ${flags.holdout > 0 ? `${flags.holdout}th held out` : "one fitted (none held out)"}; ${kept.length > 0 ? `${kept.length} measured before (${journal}), ` : ""}${todo.length} to measure on the kernel, ${flags.samples} passes over them (one sample per cell a pass, so a burst of load on the machine does not hit every sample of a cell); load average ${loadAverage()}`,
    );

  // The model's side first: cost events per page of every cell.
  const events = new Map<string, Record<string, number>>();
  // Cells whose measured exits the runner timed on the wall clock (it could not read their CPU time).
  const wallTimed = (c: CalCell) => measured.get(cellKey(c))?.wallTimed === true;
  for (const c of cells) {
    const g = generateCell({ ...c, strategy: KERNEL_STRATEGY });
    const m = measureOnce(g, strategy, false);
    const pages = c.size / PAGE;
    const rec: Record<string, number> = {};
    COST_EVENT_KEYS.forEach((k, j) => {
      const v = (m.costs[j] as number) / pages;
      if (v !== 0) rec[k] = v;
    });
    events.set(cellKey(c), rec);
  }

  const writeJournal = () => {
    const j: Journal = {
      schema: "foliolab-calibration-measurements",
      machine,
      samples: flags.samples,
      measurements: cells.map((c) => measured.get(cellKey(c))).filter((m): m is Measurement => m !== undefined),
    };
    writeFileSync(journal, `${JSON.stringify(j, null, 2)}\n`);
  };

  let interrupted = false;
  if (todo.length > 0) {
    const avail = kernelAvailable();
    if (!avail.ok) {
      io.err(`the kernel cannot be used here: ${unusableMessage(avail)}`);
      if (measured.size === 0) return EXIT.kernelUnusable;
    } else {
      const controller = new AbortController();
      const remove =
        io.onInterrupt?.(() => {
          interrupted = true;
          controller.abort();
        }) ?? (() => {});
      try {
        // One run of each cell a pass (runKernelColumn's passes); a cell measured before (--resume)
        // joins at the pass its samples reach.
        const from = new Map(todo.map((c) => [cellKey(c), have(c)]));
        const seen = new Map<string, number>();
        await runKernelColumn(todo, avail, {
          repeat: flags.samples,
          firstPass: (c) => from.get(cellKey(c)) ?? 0,
          signal: controller.signal,
          onDone: (r, i, n, pass) => {
            const key = cellKey(r);
            const got = r.measuredNs?.samples ?? [];
            // the record spans this run's passes: a new sample is one more than it had
            const sample = r.status === "ok" && got.length > (seen.get(key) ?? 0) ? (got.at(-1) as number) / r.pages : undefined;
            seen.set(key, got.length);
            const before = measured.get(key);
            const m: Measurement = { ...(before ?? { workload: r.workload, folio: r.folio, size: r.size, status: r.status }) };
            if (sample !== undefined) {
              m.samples = [...(m.samples ?? []), sample];
              m.status = "ok";
              if ((r.wallTimedOps?.length ?? 0) > 0) m.wallTimed = true;
              delete m.reason;
            } else if (!interrupted && !m.samples?.length) {
              m.status = r.status;
              if (r.reason) m.reason = r.reason;
            }
            if (m.samples?.length) {
              const sorted = [...m.samples].sort((a, b) => a - b);
              m.nsPerPage = median(sorted);
              m.spread = m.nsPerPage > 0 ? ((sorted.at(-1) as number) - (sorted[0] as number)) / m.nsPerPage : 0;
            }
            if (m.samples?.length || !interrupted) measured.set(key, m);
            writeJournal();
            const what =
              sample !== undefined
                ? `${fmtNum(sample)} ns/page; median of ${m.samples?.length ?? 0}: ${fmtNum(m.nsPerPage as number)}`
                : r.status === "ok"
                  ? `no sample this pass: ${r.warnings.at(-1) ?? ""}`
                  : `${r.status}: ${r.reason ?? ""}`;
            io.err(
              `[pass ${pass + 1}/${flags.samples} ${String(i).padStart(String(n).length)}/${n}] ${r.workload} ${r.folio}: ${what}`,
            );
          },
        });
      } finally {
        remove();
      }
    }
  }
  if (interrupted)
    io.err(`interrupted: ${measured.size} of ${cells.length} cells measured, kept in ${journal} (--resume goes on)`);

  const fitCells = cells
    .map((c, i) => ({ c, i }))
    .filter(
      ({ c, i }) =>
        cellSet(i, flags.holdout, wallTimed(c), flags.fitWall === true, knownToModel(c.workload, c.folio)) === "fit" &&
        measured.get(cellKey(c))?.status === "ok",
    )
    .map(({ c }) => ({
      id: cellKey(c),
      events: events.get(cellKey(c)) as Record<string, number>,
      measured: (measured.get(cellKey(c)) as Measurement).nsPerPage as number,
    }));
  if (fitCells.length === 0) {
    io.err("no cell was measured on the kernel: nothing to fit");
    return EXIT.failed;
  }
  const fit = fitProfile(fitCells, {
    keys: COST_EVENT_KEYS,
    prior: prior.ns,
    priorWeight,
    tolerance: CALIBRATION_TOLERANCE,
    minShare,
    hold,
  });

  const rows: CellResult[] = cells.map((c, i) => {
    const m = measured.get(cellKey(c));
    const predicted = predict(events.get(cellKey(c)) as Record<string, number>, fit.ns);
    const r: CellResult = {
      workload: c.workload,
      folio: c.folio,
      set: cellSet(i, flags.holdout, wallTimed(c), flags.fitWall === true, knownToModel(c.workload, c.folio)),
      measured: m?.nsPerPage,
      predicted,
      error: m?.nsPerPage === undefined ? undefined : relativeError(predicted, m.nsPerPage),
    };
    if (m?.reason) r.reason = m.reason;
    return r;
  });
  io.out(`${renderCalibration(rows)}\n\n${summarizeCalibration(rows).join("\n")}\n`);

  const profile = {
    name: machine.name,
    version: 1,
    unit: "ns",
    description: `Nanoseconds per cost event, fitted by foliolab calibrate on ${machine.cpu}, Linux ${machine.kernel}, ${machine.pageSize / 1024}K pages (${new Date().toISOString().slice(0, 10)}, ${recorded ? `refitted on the kernel medians recorded in ${recorded.name}` : todo.length > 0 ? `load average ${loadAverage()}` : `refitted on the measurements of an earlier run (${basename(journal)})`}): ${fitCells.length} cells fitted, ${rows.filter((r) => r.set === "held-out" && r.measured !== undefined).length} held out; kernel times are medians of ${samples} runs per cell, taken in ${samples} passes over the set (CPU time of the measured ops, exits included). Non-negative least squares on relative errors (ml-fcnnls) with a weak pull (weight ${priorWeight}) towards ${prior.name}.`,
    machine,
    calibration: rows.map((r, i) => {
      const m = measured.get(cellKey(cells[i] as CalCell));
      return {
        workload: r.workload,
        folio: r.folio,
        strategy: KERNEL_STRATEGY,
        set: r.set,
        targetNsPerPage: r.measured ?? null,
        predictedNsPerPage: Number(r.predicted.toPrecision(6)),
        error: r.error === undefined ? null : Number(r.error.toFixed(4)),
        ...kernelSampleRange(m),
        source:
          r.measured === undefined
            ? `not measured: ${r.reason ?? "interrupted"}`
            : `foliolab calibrate: kernel median of ${m?.recorded?.samples ?? m?.samples?.length ?? 0}`,
      };
    }),
    events: Object.fromEntries(
      COST_EVENT_KEYS.map((k) => [
        k,
        {
          ns: Number((fit.ns[k] ?? 0).toPrecision(4)),
          source: fit.unseen.includes(k)
            ? `${prior.name}: no calibration cell has this event (${priorOrigin(prior.sources[k])})`
            : fit.held.includes(k)
              ? `${prior.name}, held: under ${minShare * 100}% of every calibration cell (${priorOrigin(prior.sources[k])})`
              : fit.pinned.includes(k)
                ? `${prior.name}, held (--hold: not fitted) (${priorOrigin(prior.sources[k])})`
                : `fitted (prior ${fmtNum(prior.ns[k] ?? 0)} from ${prior.name})`,
        },
      ]),
    ),
  };
  const text = `${JSON.stringify(profile, null, 2)}\n`;
  const where = recorded ? `kernel times from ${flags.refit}` : `measurements in ${journal}`;
  // An interrupted fit is never installed: the commands would model time with a partial profile.
  const written = interrupted && installPath === out ? resolve(io.cwd, `${machine.name}.json`) : out;
  writeFileSync(written, text);
  if (installPath === undefined) io.err(`wrote ${written} (use it with --profile, or install it with --install; ${where})`);
  else if (interrupted)
    io.err(`wrote ${written}; not installed as this machine's profile: the run was interrupted (--resume finishes it)`);
  else {
    if (installPath !== written) writeFileSync(installPath, text);
    io.err(
      `wrote ${written}${installPath !== written ? ` and installed it as this machine's profile (${installPath})` : ", this machine's profile"}: foliolab's commands use it instead of the default from now on (remove the file to go back); ${where}`,
    );
  }
  return interrupted ? EXIT.interrupted : EXIT.ok;
}

/** The range of a cell's kernel samples, kept in the profile so reports can tell a cell the kernel itself does not reproduce. */
function kernelSampleRange(m: Measurement | undefined): {
  size?: number;
  samples?: number;
  minNsPerPage?: number;
  maxNsPerPage?: number;
} {
  if (m?.recorded)
    return { size: m.size, samples: m.recorded.samples, minNsPerPage: m.recorded.min, maxNsPerPage: m.recorded.max };
  const s = m?.samples ?? [];
  if (s.length === 0 || m === undefined) return {};
  return {
    size: m.size,
    samples: s.length,
    minNsPerPage: Number(Math.min(...s).toPrecision(6)),
    maxNsPerPage: Number(Math.max(...s).toPrecision(6)),
  };
}

const KEPT = [
  /^[^()]*, held: under [^()]*\((.*)\)$/,
  /^[^()]*, held \(--hold: not fitted\) \((.*)\)$/,
  /^[^()]*: no calibration cell has this event \((.*)\)$/,
];

/**
 * Where a kept prior value came from: the source without the "held" / "no cell" wrappers of the
 * calibrations that kept it before (each refit would otherwise nest one more).
 */
export function priorOrigin(source: string | undefined): string {
  let s = source ?? "";
  for (;;) {
    const inner = KEPT.map((re) => re.exec(s)?.[1]).find((m) => m !== undefined);
    if (inner === undefined) return s;
    s = inner;
  }
}

/** Add `foliolab calibrate` to the program. */
export function register(program: Command, { io, setCode }: CommandContext): void {
  program
    .command("calibrate")
    .description(
      "Measure this machine's kernel on a calibration set (workloads x folio sizes), fit the cost profile's per-event costs (non-negative least squares), check the fit on held-out cells and write a profile named after the machine. Prints measured vs predicted per cell. Needs root for the mTHP knobs and swap. Interrupted (130): what was measured is kept, fitted and resumable with --resume.",
    )
    .option(
      "-w, --workload <id>",
      "workload to calibrate on (repeat or comma-separate; default: every default workload of foliolab bench)",
      listArg("workload"),
    )
    .option("-f, --folio <sizes>", `folio sizes (repeat or comma-separate; default: ${DEFAULT_FOLIOS.join(",")})`, folioListArg)
    .option("--size <size>", "region size for every workload (default: each workload's own, as foliolab bench)", sizeArg())
    .option("--samples <n>", "kernel runs per cell, one per pass over the set (the median is used)", intArg(1), 5)
    .option("-o, --out <file>", "profile to write (default: <machine name>.json, or with --install the installed profile itself)")
    .option(
      "--install",
      "install the fitted profile as this machine's ($FOLIOLAB_PROFILE_DIR or ~/.config/foliolab/profiles/<machine name>.json): every command then models time with it instead of the default",
    )
    .option("--holdout <n>", "hold every n-th cell out of the fit and check it (0: fit on all)", intArg(0), 4)
    .option("--resume", "reuse the measurements of an earlier (interrupted) run from <out>.measurements.json")
    .option(
      "--refit <profile>",
      "no kernel run: refit on the kernel medians a profile of this machine recorded in its calibration table (after a model change)",
    )
    .option(
      "--fit-wall",
      "also fit on cells with an exit the runner had to time on the wall clock (its CPU time was unreadable, so it carries the machine's load)",
    )
    .option("--profile <file>", "prior profile the fit is pulled towards (default: the default profile)")
    .option("--prior-weight <w>", "weight of the pull towards the prior (0: none)", "0.02")
    .option(
      "--min-share <f>",
      "hold an event at its prior when its prior time is under this fraction of every fitted cell",
      "0.01",
    )
    .option(
      "--hold <events...>",
      "cost events kept at the prior profile's cost, not fitted (repeat or comma-separate): one the cells cannot tell apart from others",
    )
    .action(async (flags: CalibrateFlags) => setCode(await calibrateCommand(flags, io)));
}
