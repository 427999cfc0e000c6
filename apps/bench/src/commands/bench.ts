/**
 * `foliolab bench`: the benchmark matrix, strategies x workloads x folio sizes. Every cell runs
 * in a worker process and is verified against per-page's final state; the results and reports
 * go to --out.
 */

import { accessSync, constants, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { kernelAvailable } from "@foliolab/kernel-probe";
import cliProgress from "cli-progress";
import { type Command, InvalidArgumentError, Option } from "commander";
import { folioListArg, intArg, listArg, profileFlag, sizeArg } from "../cli/args.js";
import { EXIT, UsageError } from "../cli/errors.js";
import { type CommandContext, type Io, printError } from "../cli/io.js";
import { LIMIT_FACTOR, LIMIT_FLOOR_MS } from "../deadline.js";
import { kernelCells, LINUX_COLUMN, runKernelColumn, unavailableSection } from "../kernel-bench.js";
import { unusableMessage } from "../kernel-compare.js";
import { refusedCell } from "../limits.js";
import { machineInfo } from "../machine.js";
import {
  DEFAULT_CELL_TIMEOUT_MS,
  DEFAULT_LOAD_TIMEOUT_MS,
  type MatrixOptions,
  parseShard,
  planMatrix,
  runMatrix,
} from "../matrix.js";
import { CellPool } from "../pool.js";
import { type CostProfile, describeProfile } from "../profile.js";
import { fmtNum, kernelHeadline, type Metric } from "../report/model.js";
import { renderSummary, renderText } from "../report/text.js";
import { writeOutputs } from "../report/write.js";
import { buildResults, type KernelRunRecord, type KernelSection, type ResultsFile } from "../results.js";
import { DEFAULT_FOLIOS, formatBytes } from "../sizes.js";
import { BASELINE } from "../strategies.js";

/**
 * Timed samples per run: modelled time and cost events are exact from one run (a second run of
 * the check scenario proves the strategy deterministic), so more only sharpen the advisory wall time.
 */
export const DEFAULT_SAMPLES = 1;
/** Repetitions of each kernel-column run when --samples is not given: the kernel's time varies. */
export const DEFAULT_KERNEL_REPEAT = 3;
export const DEFAULT_CHECK_SIZE = 8 << 20;
export const DEFAULT_OUT = "foliolab-results";

function shardArg(v: string): { index: number; count: number } {
  try {
    return parseShard(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message.replace(/^--shard: /, ""));
  }
}

interface BenchFlags {
  strategy?: string[];
  workload?: string[];
  size?: number;
  folio?: string[];
  seed: number;
  shard?: { index: number; count: number };
  out: string | false;
  samples?: number;
  checkSize: number;
  profile?: string;
  jobs?: number;
  metric: Metric;
  json?: boolean;
  timeout?: number;
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

/** Exit code of a bench run: 0 only when every planned run ran and passed. */
export function benchExitCode(res: ResultsFile): number {
  if (res.metadata.interrupted) return EXIT.interrupted;
  const explicitSkips = res.runs.some((r) => r.status === "skipped");
  const missing = res.runs.length < res.summary.planned;
  if (res.summary.failed > 0 || res.strategyFailures.length > 0 || res.problems.length > 0 || explicitSkips || missing)
    return EXIT.failed;
  return EXIT.ok;
}

async function benchCommand(flags: BenchFlags, io: Io, argv: string[]): Promise<number> {
  const startedAt = new Date();
  const profile = profileFlag(io.cwd, flags.profile);
  const o: MatrixOptions = {
    seed: flags.seed,
    samples: flags.samples ?? DEFAULT_SAMPLES,
    checkSize: flags.checkSize,
    profile,
    jobs: flags.jobs ?? io.jobs,
    cwd: io.cwd,
  };
  if (flags.timeout !== undefined) o.cellTimeoutMs = flags.timeout * 1000;
  if (flags.strategy) o.strategies = flags.strategy;
  if (flags.workload) o.workloads = flags.workload;
  if (flags.size !== undefined) o.size = flags.size;
  if (flags.folio) o.folios = flags.folio;
  if (flags.shard) o.shard = flags.shard;
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
  const kernelRepeat = Math.max(1, flags.samples ?? DEFAULT_KERNEL_REPEAT);
  const refused = refusedCell(plan.cells, flags.size === undefined ? undefined : formatBytes(flags.size));
  if (refused) {
    printError(io, refused);
    return EXIT.usage;
  }
  if (flags.baseline !== undefined && !plan.strategies.some((s) => s.name === flags.baseline))
    throw new UsageError(
      `--baseline: "${flags.baseline}" is not a strategy of this matrix (${plan.strategies.map((s) => s.name).join(", ") || "none"})`,
    );
  for (const f of plan.strategyFailures) {
    printError(io, `strategy "${f.name}" failed to load: ${f.message}`);
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
        `${LINUX_COLUMN}: Linux ${kernelAvail.kernel}, ${n} workload x folio runs on the kernel after the model's matrix, ${kernelRepeat} pass(es) over them (one run of each a pass)`,
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
  if (kernelAvail && !kernelAvail.ok) kernel = unavailableSection(kernelAvail, kernelRepeat);
  else if (kernelAvail && !run.interrupted) {
    const cells = kernelCells(
      [...plan.cells, ...plan.unrunnable].map((c) => ({ workload: c.workload, folio: c.folio, size: c.size, seed: c.seed })),
      plan.workloads.map((w) => w.workload.id),
    );
    kernel = await runKernelColumn(cells, kernelAvail, {
      repeat: kernelRepeat,
      signal: controller.signal,
      onDone: (r, i, n, pass) => {
        const what =
          r.status === "ok" && r.nsPerPage !== undefined
            ? `${fmtNum(r.nsPerPage)} ns/page measured${pass > 0 ? ` (median of ${r.measuredNs?.samples.length ?? 0})` : ""}`
            : `${r.status.toUpperCase()}: ${r.reason ?? ""}`;
        io.err(
          `[${LINUX_COLUMN}${kernelRepeat > 1 ? ` pass ${pass + 1}/${kernelRepeat}` : ""} ${String(i).padStart(String(n).length)}/${n}] ${r.workload} ${r.folio}: ${what}`,
        );
      },
    });
  }
  if (kernel) attachCalibration(kernel.runs, profile);
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
    io.err(
      e.kind === "InternalError"
        ? `${e.message} (${r.workload} ${r.folio}, under strategy "${r.strategy}")`
        : `strategy "${r.strategy}" threw (${r.workload} ${r.folio}): ${e.message}`,
    );
    for (const l of stackExcerpt(e.stack)) io.err(`    ${l}`);
  }
  const kh = kernelHeadline(res);
  if (kh) io.err(kh);
  io.err(describeProfile(profile));
  return benchExitCode(res);
}

/**
 * Each kernel cell gets the range of the samples the profile was fitted on for it, where the profile
 * has them and was fitted on this machine (a profile names the machine it was calibrated on): another
 * machine's samples say nothing of this kernel's run-to-run variation or speed.
 */
export function attachCalibration(runs: KernelRunRecord[], profile: CostProfile, machine = machineInfo().name): void {
  if ((profile.machine ?? profile.name) !== machine) return;
  for (const r of runs) {
    const c = profile.calibration.find((x) => x.workload === r.workload && x.folio === r.folio && x.size === r.size);
    if (!c || c.samples === undefined || c.minNsPerPage === undefined || c.maxNsPerPage === undefined || !(c.targetNsPerPage > 0))
      continue;
    r.calibration = {
      profile: profile.name,
      samples: c.samples,
      minNsPerPage: c.minNsPerPage,
      medianNsPerPage: c.targetNsPerPage,
      maxNsPerPage: c.maxNsPerPage,
    };
  }
}

export function register(program: Command, { io, argv, setCode }: CommandContext): void {
  program
    .command("bench")
    .description(
      "Run the benchmark matrix: strategies x workloads x folio sizes. Prints a table per workload and writes results and reports to --out.",
    )
    .option(
      "-s, --strategy <spec>",
      "strategy name, file path or package name (repeat or comma-separate; default: every strategy in the repo)",
      listArg("strategy"),
    )
    .option(
      "-w, --workload <id>",
      "workload id, or a prefix like pmfb/* (repeat or comma-separate; default: every workload core supports)",
      listArg("workload"),
    )
    .option("--size <size>", "region size for every workload, e.g. 8M or 1G (default: each workload's own, mostly 1G)", sizeArg())
    .option("-f, --folio <sizes>", `folio sizes, e.g. 64K,2M (default: ${DEFAULT_FOLIOS.join(",")})`, folioListArg)
    .option("--seed <n>", "seed for workloads that draw random shapes", intArg(0), 1)
    .option("--shard <i/n>", "run only the i-th of n interleaved slices of the matrix", shardArg)
    .option("-o, --out <dir>", "directory for results.json and the reports", DEFAULT_OUT)
    .option("--no-out", "write no files")
    .option(
      "--samples <n>",
      `timed samples per run (tinybench) for the advisory wall time; modelled time and events are exact from one, and a second check-size run proves them deterministic (default: ${DEFAULT_SAMPLES}; with --kernel also the kernel's repetitions, default ${DEFAULT_KERNEL_REPEAT})`,
      intArg(0),
    )
    .addOption(
      new Option(
        "--check-size <size>",
        "size of the invariant-checked pass per run; 0 turns it off (the reports then mark every run unchecked)",
      )
        .argParser(sizeArg({ allowZero: true }))
        .default(DEFAULT_CHECK_SIZE, "8M"),
    )
    .option("--profile <file>", "cost profile JSON (ns per event kind) over the default one")
    .option("-j, --jobs <n>", "worker processes every run is isolated in (default: one per core)", intArg(1))
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
      `time limit of every run, any -j; a run that overruns is FAILED, naming the hook that did not return (default: ${LIMIT_FACTOR} x per-page's time for the same cell, at least ${LIMIT_FLOOR_MS / 1000} s; per-page's own cells ${DEFAULT_CELL_TIMEOUT_MS / 1000} s; a strategy module gets at most ${DEFAULT_LOAD_TIMEOUT_MS / 1000} s, or this if shorter, to import)`,
      intArg(1),
    )
    .option(
      "--kernel",
      `add a "${LINUX_COLUMN}" column: each workload x folio size run on this machine's Linux kernel (root for the mTHP knobs), measured time per page of the measured ops, --samples repetitions`,
    )
    .action(async (flags: BenchFlags) => setCode(await benchCommand(flags, io, argv)));
}
