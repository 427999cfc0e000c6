/**
 * The foliolab command line: bench, run, compare, list. Everything it prints or writes goes
 * through an Io object, so tests drive the real program in-process.
 */

import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { COST_EVENT_KEYS, runScenario } from "@foliolab/core";
import { kernelAvailable } from "@foliolab/kernel-probe";
import cliProgress from "cli-progress";
import { Command, CommanderError, Option } from "commander";
import pc from "picocolors";
import { registerCalibrate } from "./commands/calibrate.js";
import { registerMerge } from "./commands/merge.js";
import { registerView } from "./commands/view.js";
import { DEFAULT_TOLERANCE_PERCENT, type KernelFlags, kernelCommand, unusableMessage } from "./kernel.js";
import { kernelCells, LINUX_COLUMN, runKernelColumn, unavailableSection } from "./kernel-bench.js";
import { refusedCell } from "./limits.js";
import { type MatrixOptions, parseShard, planMatrix, runMatrix, sortRecords } from "./matrix.js";
import { type CellSpec, measureOnce, type RunRecord } from "./measure.js";
import { CellPool } from "./pool.js";
import { type CostProfile, describeProfile, loadProfile, modelledNs } from "./profile.js";
import { compareResults } from "./report/compare.js";
import { fmtNum, kernelHeadline, type Metric } from "./report/model.js";
import { renderSummary, renderText } from "./report/text.js";
import { writeOutputs } from "./report/write.js";
import {
  benchVersion,
  environment,
  type KernelSection,
  profileMeta,
  RESULTS_SCHEMA,
  RESULTS_SCHEMA_VERSION,
  type ResultsFile,
  readResults,
  summarize,
} from "./results.js";
import { DEFAULT_FOLIOS, FOLIO_IDS, formatBytes, PAGE, parseBytes, parseFolioList } from "./sizes.js";
import { BASELINE, discoverBuiltins, loadStrategies } from "./strategies.js";
import { effectiveSize, findWorkload, parseRegionSize, WORKLOADS, workloadNeeds } from "./workloads.js";

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  /** stderr is a terminal: progress bar instead of plain lines. */
  isTTY: boolean;
  color: boolean;
  cwd: string;
  /** Install a Ctrl-C handler; returns a function that removes it. */
  onInterrupt?: (fn: () => void) => () => void;
  /** Default worker count. */
  jobs: number;
}

export const DEFAULT_SAMPLES = 3;
export const DEFAULT_CHECK_SIZE = "8M";
export const DEFAULT_OUT = "foliolab-results";

function list(v: string, prev: string[] | undefined): string[] {
  return [
    ...(prev ?? []),
    ...v
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== ""),
  ];
}

function intArg(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${name}: "${v}" must be an integer >= ${min}`);
    return n;
  };
}

class UsageError extends Error {}

function sizeArg(name: string, allowZero = false) {
  return (v: string): number => {
    const n = parseBytes(v);
    if (n === null || (!allowZero && n === 0) || n % PAGE !== 0)
      throw new UsageError(`${name}: "${v}" is not a size like 8M or 1G`);
    return n;
  };
}

interface BenchFlags {
  strategy?: string[];
  workload?: string[];
  size?: string;
  folio?: string[];
  seed: number;
  shard?: string;
  out: string | false;
  samples: number;
  checkSize: string;
  profile?: string;
  jobs?: number;
  metric: Metric;
  json?: boolean;
  timeout: number;
  kernel?: boolean;
  baseline?: string;
}

/**
 * Check --out before anything runs: an existing directory we can write in, or a path whose
 * missing directories can be created (they are, now). Throws a UsageError naming the problem.
 */
export function prepareOutDir(dir: string): void {
  const probe = (d: string) => {
    const f = join(d, `.foliolab-write-test-${process.pid}`);
    try {
      accessSync(d, constants.W_OK);
      writeFileSync(f, "");
      rmSync(f, { force: true });
    } catch (e) {
      throw new UsageError(`--out: cannot write in ${d} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  };
  const missing: string[] = [];
  let d = dir;
  for (;;) {
    let st: ReturnType<typeof statSync> | undefined;
    try {
      st = statSync(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR")
        throw new UsageError(`--out: cannot use ${d} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    if (st) {
      if (!st.isDirectory())
        throw new UsageError(
          d === dir ? `--out: ${dir} is a file, not a directory` : `--out: cannot create ${dir}: ${d} is a file, not a directory`,
        );
      break;
    }
    missing.unshift(d);
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  if (missing.length > 0) probe(d);
  for (const m of missing) {
    try {
      mkdirSync(m);
    } catch (e) {
      throw new UsageError(`--out: cannot create ${m} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  probe(dir);
}

/** Charts of an earlier run in a reused --out directory; the new run writes its own. */
function removeStaleCharts(dir: string): void {
  const charts = join(dir, "charts");
  if (!existsSync(charts)) return;
  for (const f of readdirSync(charts)) if (f.endsWith(".svg")) rmSync(join(charts, f), { force: true });
}

/** The first lines of an author's stack: the message and their own frames. */
export function stackExcerpt(stack: string, frames = 4): string[] {
  const lines = stack.split("\n");
  const head = lines.findIndex((l) => /^\s+at /.test(l));
  if (head < 0) return lines.slice(0, frames);
  return lines.slice(head, head + frames).map((l) => l.trim());
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

/** Exit code of a bench run: 0 only when every planned run ran and passed. */
export function benchExitCode(res: ResultsFile): number {
  if (res.metadata.interrupted) return 130;
  const explicitSkips = res.runs.some((r) => r.status === "skipped");
  const missing = res.runs.length < res.summary.planned;
  if (res.summary.failed > 0 || res.strategyFailures.length > 0 || res.problems.length > 0 || explicitSkips || missing) return 1;
  return 0;
}

async function benchCommand(flags: BenchFlags, io: Io, argv: string[]): Promise<number> {
  const startedAt = new Date();
  const profile = loadProfile(flags.profile ? resolve(io.cwd, flags.profile) : undefined);
  const o: MatrixOptions = {
    seed: flags.seed,
    samples: flags.samples,
    checkSize: sizeArg("--check-size", true)(flags.checkSize),
    profile,
    jobs: flags.jobs ?? io.jobs,
    cwd: io.cwd,
    cellTimeoutMs: flags.timeout * 1000,
  };
  if (flags.strategy) o.strategies = flags.strategy;
  if (flags.workload) o.workloads = flags.workload;
  if (flags.size) o.size = parseRegionSize(flags.size);
  if (flags.folio) o.folios = parseFolioList(flags.folio);
  if (flags.shard) o.shard = parseShard(flags.shard);
  const outDir = flags.out === false ? undefined : resolve(io.cwd, flags.out);
  if (outDir) prepareOutDir(outDir);
  const controller = new AbortController();
  const remove = io.onInterrupt?.(() => controller.abort()) ?? (() => {});
  const pool = new CellPool(o.jobs);
  o.pool = pool;
  try {
    return await benchInPool(flags, io, argv, o, profile, outDir, controller, startedAt);
  } finally {
    remove();
    await pool.destroy();
  }
}

async function benchInPool(
  flags: BenchFlags,
  io: Io,
  argv: string[],
  o: MatrixOptions,
  profile: CostProfile,
  outDir: string | undefined,
  controller: AbortController,
  startedAt: Date,
): Promise<number> {
  const plan = await planMatrix(o, controller.signal);
  const refused = refusedCell(plan.cells, flags.size);
  if (refused) {
    io.err(`error: ${refused}`);
    return 2;
  }
  if (flags.baseline !== undefined && !plan.strategies.some((s) => s.name === flags.baseline))
    throw new UsageError(
      `--baseline: "${flags.baseline}" is not a strategy of this matrix (${plan.strategies.map((s) => s.name).join(", ") || "none"})`,
    );
  for (const f of plan.strategyFailures) {
    io.err(`${io.color ? pc.red("error") : "error"}: strategy "${f.name}" failed to load: ${f.message}`);
    if (f.stack) for (const l of stackExcerpt(f.stack)) io.err(`    ${l}`);
  }
  for (const p of plan.problems) io.err(`error: ${p}`);
  io.err(describeProfile(profile));
  io.err(
    `matrix: ${plan.strategies.map((s) => s.name).join(", ") || "(no strategy)"} x ${plan.workloads.length} workloads x ${plan.folios.join(", ")}: ${plan.cells.length} runs on ${Math.min(o.jobs, Math.max(1, plan.cells.length))} worker process${Math.min(o.jobs, Math.max(1, plan.cells.length)) === 1 ? "" : "es"}${o.checkSize === 0 ? " (--check-size 0: no invariant-checked pass, every run is marked unchecked)" : ""}${o.shard ? ` (shard ${o.shard.index}/${o.shard.count})` : ""}`,
  );
  let kernelAvail: ReturnType<typeof kernelAvailable> | undefined;
  if (flags.kernel) {
    kernelAvail = kernelAvailable();
    if (!kernelAvail.ok) io.err(`${LINUX_COLUMN}: not measured: ${unusableMessage(kernelAvail)}; carrying on without the column`);
    else {
      const n = kernelCells([...plan.cells, ...plan.unrunnable], []).length;
      io.err(
        `${LINUX_COLUMN}: Linux ${kernelAvail.kernel}, ${n} workload x folio runs on the kernel after the model's matrix, ${Math.max(1, o.samples)} repetition(s) each`,
      );
      for (const l of kernelAvail.limits) io.err(`${LINUX_COLUMN}: limit: ${l}`);
    }
  }
  const total = plan.cells.length + plan.unrunnable.length;
  let done = 0;
  let bar: cliProgress.SingleBar | undefined;
  if (io.isTTY && total > 0) {
    bar = new cliProgress.SingleBar(
      {
        format: "{bar} {value}/{total} | {eta_formatted} left | {last}",
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { last: "" });
  }
  const t0 = performance.now();
  const run = await runMatrix(plan, o, {
    signal: controller.signal,
    onDone: (r) => {
      done++;
      const m = r.metrics;
      const what =
        r.status === "ok" && m
          ? `${fmtNum(m.modelledNsPerPage)} ns/page, ${m.costEventsTotal} events`
          : `${r.status.toUpperCase()}: ${r.error?.kind ?? ""}`;
      if (bar) bar.update(done, { last: `${r.workload} ${r.folio} ${r.strategy}` });
      else
        io.err(
          `[${String(done).padStart(String(total).length)}/${total}] ${r.status === "ok" ? "ok  " : "FAIL"} ${r.workload} ${r.folio} ${r.strategy}: ${what}`,
        );
    },
  });
  bar?.stop();
  let kernel: KernelSection | undefined;
  if (kernelAvail && !kernelAvail.ok) kernel = unavailableSection(kernelAvail, Math.max(1, o.samples));
  else if (kernelAvail && !run.interrupted) {
    const cells = kernelCells(
      [...plan.cells, ...plan.unrunnable].map((c) => ({ workload: c.workload, folio: c.folio, size: c.size, seed: c.seed })),
      plan.workloads.map((w) => w.workload.id),
    );
    kernel = await runKernelColumn(cells, kernelAvail, {
      repeat: Math.max(1, o.samples),
      signal: controller.signal,
      onDone: (r, i, n) => {
        const what =
          r.status === "ok" && r.nsPerPage !== undefined
            ? `${fmtNum(r.nsPerPage)} ns/page measured`
            : `${r.status.toUpperCase()}: ${r.reason ?? ""}`;
        io.err(`[${LINUX_COLUMN} ${String(i).padStart(String(n).length)}/${n}] ${r.workload} ${r.folio}: ${what}`);
      },
    });
  }
  const interrupted = run.interrupted || controller.signal.aborted;
  const res = buildResults({
    command: ["foliolab", ...argv],
    startedAt,
    plan,
    o,
    records: run.records,
    interrupted,
    ...(kernel ? { kernel } : {}),
    ...(flags.baseline ? { baseline: flags.baseline } : {}),
  });
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  if (flags.json) io.out(`${JSON.stringify(res, null, 2)}\n`);
  else io.out(`${renderText(res, { metric: flags.metric, color: io.color })}\n`);
  if (outDir) {
    removeStaleCharts(outDir);
    const files = writeOutputs(outDir, res);
    io.err(
      `wrote ${files.length} files to ${outDir} (results.json, report.md, report.html, benchmark-action.json, bmf.json, charts/)`,
    );
  }
  io.err(`${renderSummary(res, io.color)} in ${secs} s`);
  const shown = new Set<string>();
  for (const r of res.runs) {
    const e = r.error;
    if (r.status !== "failed" || !e?.stack || shown.has(`${r.strategy} ${e.kind}`)) continue;
    shown.add(`${r.strategy} ${e.kind}`);
    io.err(`strategy "${r.strategy}" threw (${r.workload} ${r.folio}): ${e.message}`);
    for (const l of stackExcerpt(e.stack)) io.err(`    ${l}`);
  }
  const kh = kernelHeadline(res);
  if (kh) io.err(kh);
  io.err(describeProfile(profile));
  return benchExitCode(res);
}

interface RunFlags {
  strategy?: string[];
  json?: boolean;
  folio?: string;
  size?: string;
  seed: number;
  printScenario?: boolean;
  invariants: boolean;
  profile?: string;
}

function nonZero(rec: Record<string, number>): Array<[string, number]> {
  return Object.entries(rec).filter(([, v]) => v !== 0);
}

async function runCommand(target: string, flags: RunFlags, io: Io): Promise<number> {
  let scenario: unknown;
  let measured: number[] | undefined;
  let source: string;
  const path = resolve(io.cwd, target);
  const w = findWorkload(target);
  if (existsSync(path)) {
    scenario = readFileSync(path, "utf8");
    source = path;
  } else if (w) {
    const folio = flags.folio ? (parseFolioList([flags.folio])[0] as string) : (w.fixedFolios?.[0] ?? "64K");
    const size = effectiveSize(w, flags.size ? parseRegionSize(flags.size) : undefined, folio);
    const g = w.generate({ size, folio, seed: flags.seed });
    scenario = g.scenario;
    measured = g.measured;
    source = `workload ${w.id} (folio ${folio}, size ${formatBytes(size)}, seed ${flags.seed})`;
    if (flags.printScenario) {
      io.out(`${JSON.stringify(g.scenario, null, 2)}\n`);
      io.err(
        `measured ops: ${g.measured.length === 1 ? g.measured[0] : `${g.measured.length} ops from ${g.measured[0]} to ${g.measured[g.measured.length - 1]}`}`,
      );
      return 0;
    }
  } else {
    io.err(`error: "${target}" is neither a scenario file nor a workload id (see foliolab list)`);
    return 2;
  }
  if (flags.printScenario) {
    io.out(typeof scenario === "string" ? scenario : `${JSON.stringify(scenario, null, 2)}\n`);
    return 0;
  }
  const profile = loadProfile(flags.profile ? resolve(io.cwd, flags.profile) : undefined);
  const { loaded, failures } = await loadStrategies(
    flags.strategy && flags.strategy.length > 0 ? flags.strategy : [BASELINE],
    io.cwd,
  );
  let code = 0;
  for (const f of failures) {
    io.err(`error: strategy "${f.name}" failed to load: ${f.message}`);
    code = 1;
  }
  const results: unknown[] = [];
  for (const s of loaded) {
    try {
      const opts = flags.invariants ? { strategy: s.strategy } : { strategy: s.strategy, invariants: false };
      const result = runScenario(scenario, opts);
      const phase = measureOnce({ scenario, ...(measured ? { measured } : {}) }, s.strategy, false);
      const phaseCosts: Record<string, number> = {};
      COST_EVENT_KEYS.forEach((k, i) => {
        phaseCosts[k] = phase.costs[i] as number;
      });
      const bad = result.expects.filter((e) => !e.ok);
      if (bad.length > 0) code = 1;
      if (flags.json) {
        results.push(result);
        continue;
      }
      printRun(io, source, s.name, result, phaseCosts, measured !== undefined, profile, phase.vmstat, phase.mthp);
    } catch (e) {
      code = 1;
      const err = e as Error;
      io.err(
        `${io.color ? pc.red("error") : "error"}: strategy "${s.name}": ${err?.name ?? "Error"}: ${err?.message ?? String(e)}`,
      );
    }
  }
  if (flags.json) io.out(`${JSON.stringify(results.length === 1 ? results[0] : results, null, 2)}\n`);
  return code;
}

function printRun(
  io: Io,
  source: string,
  strategy: string,
  result: ReturnType<typeof runScenario>,
  phaseCosts: Record<string, number>,
  hasPhase: boolean,
  profile: CostProfile,
  vmstat: Record<string, number>,
  mthp: Record<string, Record<string, number>>,
): void {
  const lines: string[] = [];
  lines.push(`${result.scenario}  [${source}]  strategy ${strategy}, arch ${result.arch}`);
  const bad = result.expects.filter((e) => !e.ok);
  lines.push(
    `expects: ${result.expects.length === 0 ? "none" : bad.length === 0 ? `${result.expects.length} ok` : `${bad.length} of ${result.expects.length} FAILED`}`,
  );
  for (const e of bad) lines.push(`  ops[${e.op}]: ${e.message}`);
  const costs = hasPhase ? phaseCosts : result.costs;
  const model = modelledNs(costs, profile);
  lines.push(`cost events (${hasPhase ? "measured phase" : "whole scenario"}):`);
  for (const [k, v] of nonZero(costs))
    lines.push(`  ${k.padEnd(24)} ${String(v).padStart(12)}   ${fmtNum(v * (profile.ns[k] ?? 0)).padStart(10)} ns`);
  lines.push(`modelled time: ${fmtNum(model.total)} ns (${describeProfile(profile)})`);
  if (hasPhase) {
    const vm = nonZero(vmstat);
    if (vm.length > 0) lines.push(`vmstat deltas (measured phase): ${vm.map(([k, v]) => `${k} ${v}`).join(", ")}`);
    for (const [dir, row] of Object.entries(mthp))
      lines.push(
        `${dir} deltas (measured phase): ${Object.entries(row)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}`,
      );
  }
  const vmAll = nonZero(result.vmstat);
  if (vmAll.length > 0) lines.push(`vmstat (end): ${vmAll.map(([k, v]) => `${k} ${v}`).join(", ")}`);
  for (const [dir, row] of Object.entries(result.mthp)) {
    const nz = nonZero(row);
    if (nz.length > 0) lines.push(`${dir} (end): ${nz.map(([k, v]) => `${k} ${v}`).join(", ")}`);
  }
  lines.push(
    `meminfo (end): ${Object.entries(result.meminfo)
      .map(([k, v]) => `${k} ${v} kB`)
      .join(", ")}`,
  );
  for (const [p, st] of Object.entries(result.procs))
    lines.push(
      `proc ${p}: ${Object.entries(st)
        .map(([k, v]) => `${k} ${v} kB`)
        .join(", ")}`,
    );
  io.out(`${lines.join("\n")}\n\n`);
}

async function listCommand(flags: { json?: boolean }, io: Io): Promise<number> {
  const builtins = discoverBuiltins(io.cwd);
  const { loaded, failures } = await loadStrategies(
    builtins.map((b) => b.name),
    io.cwd,
  );
  const workloads = [];
  for (const w of WORKLOADS) workloads.push({ w, needs: await workloadNeeds(w) });
  if (flags.json) {
    io.out(
      `${JSON.stringify(
        {
          strategies: [
            ...loaded.map((s) => ({
              name: s.name,
              package: s.ref.packageName,
              version: s.ref.version,
              description: s.description,
            })),
            ...failures.map((f) => ({ name: f.name, error: f.message })),
          ],
          workloads: workloads.map(({ w, needs }) => ({
            id: w.id,
            title: w.title,
            origin: w.origin,
            defaultSize: formatBytes(w.defaultSize),
            needs,
            inDefaultMatrix: needs.length === 0,
            fixedFolios: w.fixedFolios ?? null,
          })),
          folios: FOLIO_IDS,
          defaultFolios: DEFAULT_FOLIOS,
        },
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  const lines: string[] = [];
  lines.push("strategies (the repo's @foliolab/strategy-* packages; --strategy also takes a file path or a package name):");
  const nw = Math.max(12, ...loaded.map((s) => s.name.length), ...failures.map((f) => f.name.length));
  for (const s of loaded) lines.push(`  ${s.name.padEnd(nw)}  ${s.description || s.ref.packageName || ""}`);
  for (const f of failures) lines.push(`  ${f.name.padEnd(nw)}  failed to load: ${f.message}`);
  lines.push("");
  lines.push("workloads (* = in the default matrix; the others join it when core supports what they need):");
  const iw = Math.max(...WORKLOADS.map((w) => w.id.length));
  for (const { w, needs } of workloads) {
    const mark = needs.length === 0 ? "*" : " ";
    const note =
      needs.length > 0
        ? `  needs: ${needs.join(", ")}`
        : w.fixedFolios
          ? `  folio axis: ${w.fixedFolios.join(", ")} (${w.fixedFoliosReason})`
          : "";
    lines.push(`${mark} ${w.id.padEnd(iw)}  ${formatBytes(w.defaultSize).padStart(4)}  ${w.title}${note}`);
  }
  lines.push("");
  lines.push(`folio sizes: ${FOLIO_IDS.join(" ")} (default: ${DEFAULT_FOLIOS.join(" ")}; 2M means both 2M-PTE and 2M-PMD)`);
  lines.push(describeProfile(loadProfile(undefined)));
  io.out(`${lines.join("\n")}\n`);
  return 0;
}

async function compareCommand(a: string, b: string, flags: { all?: boolean; failOnChange?: boolean }, io: Io): Promise<number> {
  const base = readResults(resolve(io.cwd, a));
  const next = readResults(resolve(io.cwd, b));
  const r = compareResults(base, next, { all: flags.all ?? false }, [a, b]);
  io.out(`${r.text}\n`);
  return flags.failOnChange && (r.changedExact > 0 || r.onlyBase.length > 0) ? 1 : 0;
}

/** Build the program. `setCode` receives each command's exit code. */
export function buildProgram(io: Io, argv: string[], setCode: (c: number) => void): Command {
  const program = new Command();
  program
    .name("foliolab")
    .description("Benchmark zap strategies of the foliolab Linux mm teardown model, and run scenarios.")
    .version(benchVersion())
    .showHelpAfterError()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();

  program
    .command("bench")
    .description(
      "Run the benchmark matrix: strategies x workloads x folio sizes. Prints a table per workload and writes results and reports to --out.",
    )
    .option(
      "-s, --strategy <spec...>",
      "strategy name, file path or package name (repeat or comma-separate; default: every strategy in the repo)",
      list,
    )
    .option("-w, --workload <id...>", "workload id, or a prefix like pmfb/* (default: every workload core supports)", list)
    .option("--size <size>", "region size for every workload, e.g. 8M or 1G (default: each workload's own, mostly 1G)")
    .option("-f, --folio <sizes...>", `folio sizes, e.g. 64K,2M (default: ${DEFAULT_FOLIOS.join(",")})`, list)
    .option("--seed <n>", "seed for workloads that draw random shapes", intArg("--seed", 0), 1)
    .option("--shard <i/n>", "run only the i-th of n interleaved slices of the matrix")
    .option("-o, --out <dir>", "directory for results.json and the reports", DEFAULT_OUT)
    .option("--no-out", "write no files")
    .option("--samples <n>", "timed samples per run (tinybench; wall time is advisory)", intArg("--samples", 0), DEFAULT_SAMPLES)
    .option(
      "--check-size <size>",
      "size of the invariant-checked pass per run; 0 turns it off (the reports then mark every run unchecked)",
      DEFAULT_CHECK_SIZE,
    )
    .option("--profile <file>", "cost profile JSON (ns per event kind) over the default one")
    .option("-j, --jobs <n>", "worker processes every run is isolated in (default: one per core)", intArg("--jobs", 1))
    .addOption(
      new Option("--metric <metric>", "metric of the terminal tables")
        .choices(["modelled", "events", "wall"])
        .default("modelled"),
    )
    .option("--json", "print results.json to stdout instead of tables")
    .option(
      "--baseline <strategy>",
      `strategy the ratios are taken against, e.g. folio-batch (what Linux runs) (default: ${BASELINE})`,
    )
    .option(
      "--timeout <seconds>",
      "stop a run that takes longer, any -j (a strategy module gets at most 10 s, or this if shorter, to import)",
      intArg("--timeout", 1),
      300,
    )
    .option(
      "--kernel",
      `add a "${LINUX_COLUMN}" column: each workload x folio size run on this machine's Linux kernel (root for the mTHP knobs), measured time per page of the measured ops, --samples repetitions`,
    )
    .action(async (flags: BenchFlags) => setCode(await benchCommand(flags, io, argv)));

  program
    .command("run")
    .description("Run one scenario (a JSON file, or a workload id to generate one) and print the result contract.")
    .argument("<scenario>", "scenario.json, or a workload id such as pmfb/munmap")
    .option("-s, --strategy <spec...>", `strategy name, file path or package name (default: ${BASELINE})`, list)
    .option("--json", "print the result contract as JSON (an array when several strategies run)")
    .option("-f, --folio <size>", "folio size when generating from a workload (default 64K)")
    .option("--size <size>", "region size when generating from a workload")
    .option("--seed <n>", "seed when generating from a workload", intArg("--seed", 0), 1)
    .option("--print-scenario", "print the scenario JSON (and which ops are measured) instead of running it")
    .option("--no-invariants", "run without the invariant checker (default: as the scenario's config says, on)")
    .option("--profile <file>", "cost profile JSON for the modelled time")
    .action(async (target: string, flags: RunFlags) => setCode(await runCommand(target, flags, io)));

  program
    .command("kernel")
    .description(
      "Run one scenario on this machine's Linux kernel (needs root for the mTHP knobs) and on the model with the folio-batch strategy (what Linux 6.18 runs); print every field of the result contract side by side, mismatches marked. Exit 0: no mismatch; 1: mismatches (or a run failed); 2: bad input; 3: the kernel cannot be used here.",
    )
    .argument("<scenario>", "scenario.json, or a workload id such as pmfb/munmap")
    .option(
      "--repeat <n>",
      "run the scenario n times on the kernel (median and spread of the op times)",
      intArg("--repeat", 1),
      1,
    )
    .option("--json", "print kernel result, model result and the comparison as JSON")
    .option("--layout", "also print the folio layout of every live mapping at the end (pagemap + kpageflags, needs root)")
    .option("--only-diff", "print only the fields that are not exact matches")
    .option(
      "--tolerance <percent>",
      "allowed difference on system-wide fields that include other activity (vmstat.pgfault, meminfo)",
      intArg("--tolerance", 0),
      DEFAULT_TOLERANCE_PERCENT,
    )
    .option("-f, --folio <size>", "folio size when generating from a workload (default 64K)")
    .option("--size <size>", "region size when generating from a workload")
    .option("--seed <n>", "seed when generating from a workload", intArg("--seed", 0), 1)
    .option("--profile <file>", "cost profile JSON for the model's modelled time per op")
    .action(async (target: string, flags: KernelFlags) => setCode(await kernelCommand(target, flags, io)));

  program
    .command("compare")
    .description("Compare two results.json files, one metric per line: base ±stddev, %change, new ±stddev (LKP style).")
    .argument("<base>", "results.json of the baseline run")
    .argument("<new>", "results.json of the new run")
    .option("--all", "also list event kinds and counters that did not change")
    .option("--fail-on-change", "exit 1 when an exact metric (cost events, modelled time, counters) changed or a run disappeared")
    .action(async (a: string, b: string, flags: { all?: boolean; failOnChange?: boolean }) =>
      setCode(await compareCommand(a, b, flags, io)),
    );

  program
    .command("list")
    .description("List strategies, workloads (with what each still needs from core) and folio sizes.")
    .option("--json", "as JSON")
    .action(async (flags: { json?: boolean }) => setCode(await listCommand(flags, io)));

  registerMerge(program, io, setCode, DEFAULT_OUT);
  registerView(program, io, setCode);
  registerCalibrate(program, io, setCode);

  return program;
}

/** Run the CLI with argv (without node and script). Returns the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  let code = 0;
  const program = buildProgram(io, argv, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return 0;
      return e.exitCode === 0 ? 0 : 2;
    }
    io.err(`${io.color ? pc.red("error") : "error"}: ${(e as Error)?.message ?? String(e)}`);
    return e instanceof UsageError ? 2 : 1;
  }
  return code;
}

export type { CellSpec };
