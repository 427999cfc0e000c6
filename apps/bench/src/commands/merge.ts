/**
 * `foliolab merge <results.json...>`: combine the shards of a matrix run (`foliolab bench --shard i/n`
 * on several machines) into one results.json and the same reports as an unsharded run.
 *
 * Shards must come from the same configuration: the same matrix (strategies, workloads, folio
 * sizes, region size), seed, samples, check size, cost profile and foliolab version, each a
 * different slice i of the same n. Anything else is refused by name (exit 2).
 */

import { resolve } from "node:path";
import type { Command } from "commander";
import { EXIT } from "../cli/errors.js";
import { type CommandContext, type Io, printError } from "../cli/io.js";
import { sortRecords } from "../matrix.js";
import type { RunRecord } from "../measure.js";
import { renderSummary } from "../report/text.js";
import { writeOutputs } from "../report/write.js";
import { type KernelSection, type ResultsFile, readResults, summarize } from "../results.js";
import { DEFAULT_OUT } from "./bench.js";

/** A problem with the shards given: bad input, exit code 2. */
export class MergeError extends Error {}

interface Shard {
  file: string;
  res: ResultsFile;
  index: number;
  count: number;
}

/** The configuration fields two shards must agree on, by name. */
function configuration(r: ResultsFile): Array<[string, unknown]> {
  const m = r.metadata;
  return [
    ["foliolab version", m.version],
    ["seed", m.seed],
    ["samples", m.samples],
    ["check size", m.checkSize],
    ["matrix strategies", m.matrix.strategies],
    ["matrix workloads", m.matrix.workloads],
    ["matrix folio sizes", m.matrix.folios],
    ["matrix region size", m.matrix.size],
    ["cost profile", m.profile.ns],
    ["strategy sources", r.strategies.map((s) => `${s.name}=${s.package ?? s.spec}@${s.version ?? ""}`)],
    ["kernel column", r.kernel ? "measured" : "not measured"],
  ];
}

function show(v: unknown): string {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

function parseShardField(file: string, shard: string | null): { index: number; count: number } {
  if (shard === null) throw new MergeError(`${file}: not a shard (it was run without --shard i/n)`);
  const m = /^(\d+)\/(\d+)$/.exec(shard);
  if (!m) throw new MergeError(`${file}: metadata.shard "${shard}" is not i/n`);
  return { index: Number(m[1]), count: Number(m[2]) };
}

/** The bench command line of a shard without its --shard and --out (the unsharded run's command). */
function unshardedCommand(cmd: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < cmd.length; i++) {
    const a = cmd[i] as string;
    if (a === "--shard") {
      i++;
      continue;
    }
    if (a.startsWith("--shard=")) continue;
    out.push(a);
  }
  return out;
}

/** Merge shard results (already read) into one results file. Throws MergeError on bad input. */
export function mergeResults(inputs: Array<{ file: string; res: ResultsFile }>): ResultsFile {
  if (inputs.length === 0) throw new MergeError("no results files given");
  const shards: Shard[] = inputs.map(({ file, res }) => ({ file, res, ...parseShardField(file, res.metadata.shard) }));
  const first = shards[0] as Shard;
  const base = configuration(first.res);
  for (const s of shards.slice(1)) {
    if (s.count !== first.count)
      throw new MergeError(
        `shards of different runs: ${first.file} is shard ${first.index}/${first.count}, ${s.file} is ${s.index}/${s.count}`,
      );
    const cfg = configuration(s.res);
    base.forEach(([name, v], i) => {
      const w = (cfg[i] as [string, unknown])[1];
      if (JSON.stringify(v) !== JSON.stringify(w))
        throw new MergeError(
          `shards of different configurations: ${name} differs: ${first.file} has ${show(v)}, ${s.file} has ${show(w)}`,
        );
    });
  }
  const seen = new Map<number, string>();
  for (const s of shards) {
    const prev = seen.get(s.index);
    if (prev) throw new MergeError(`shard ${s.index}/${s.count} given twice: ${prev} and ${s.file}`);
    seen.set(s.index, s.file);
  }
  const missing: string[] = [];
  for (let i = 1; i <= first.count; i++) if (!seen.has(i)) missing.push(`${i}/${first.count}`);
  if (missing.length > 0)
    throw new MergeError(
      `missing shard${missing.length > 1 ? "s" : ""} ${missing.join(", ")} (have ${shards.length} of ${first.count})`,
    );
  shards.sort((a, b) => a.index - b.index);

  const byId = new Map<string, { rec: RunRecord; file: string }>();
  for (const s of shards) {
    for (const r of s.res.runs) {
      const prev = byId.get(r.id);
      if (prev) throw new MergeError(`run ${r.id} is in two shards: ${prev.file} and ${s.file}`);
      byId.set(r.id, { rec: r, file: s.file });
    }
  }
  const m = first.res.metadata;
  const runs = sortRecords(
    [...byId.values()].map((v) => v.rec),
    m.matrix.strategies,
    m.matrix.workloads,
  );
  const planned = shards.reduce((n, s) => n + s.res.summary.planned, 0);
  const uniq = <T>(xs: T[], key: (x: T) => string): T[] => {
    const keys = new Set<string>();
    return xs.filter((x) => {
      const k = key(x);
      if (keys.has(k)) return false;
      keys.add(k);
      return true;
    });
  };
  const all = shards.map((s) => s.res);
  const startedAt = all.map((r) => r.metadata.startedAt).sort()[0] as string;
  const finishedAt = all.map((r) => r.metadata.finishedAt).sort()[all.length - 1] as string;
  const interrupted = all.some((r) => r.metadata.interrupted);
  let kernel: KernelSection | undefined;
  if (first.res.kernel) {
    const k0 = first.res.kernel;
    const kruns = uniq(
      all.flatMap((r) => r.kernel?.runs ?? []),
      (r) => r.id,
    );
    const order = (w: string) => m.matrix.workloads.indexOf(w);
    const folioOrder = (f: string) => m.matrix.folios.indexOf(f);
    kruns.sort((a, b) => order(a.workload) - order(b.workload) || folioOrder(a.folio) - folioOrder(b.folio));
    kernel = {
      ...k0,
      available: all.every((r) => r.kernel?.available),
      limits: uniq(
        all.flatMap((r) => r.kernel?.limits ?? []),
        (x) => x,
      ),
      runs: kruns,
    };
  }
  return {
    ...first.res,
    metadata: {
      ...m,
      command: unshardedCommand(m.command),
      startedAt,
      finishedAt,
      complete: !interrupted && all.every((r) => r.metadata.complete) && runs.length === planned,
      interrupted,
      shard: null,
      jobs: Math.max(...all.map((r) => r.metadata.jobs)),
    },
    strategyFailures: uniq(
      all.flatMap((r) => r.strategyFailures),
      (f) => f.name,
    ),
    problems: uniq(
      all.flatMap((r) => r.problems),
      (p) => p,
    ),
    runs,
    summary: summarize(runs, planned),
    ...(kernel ? { kernel } : {}),
  };
}

interface MergeFlags {
  out: string | false;
  json?: boolean;
  baseline?: string;
}

async function mergeCommand(files: string[], flags: MergeFlags, io: Io): Promise<number> {
  const inputs: Array<{ file: string; res: ResultsFile }> = [];
  try {
    for (const f of files) inputs.push({ file: f, res: readResults(resolve(io.cwd, f)) });
    const res = mergeResults(inputs);
    if (flags.baseline !== undefined) {
      if (!res.metadata.matrix.strategies.includes(flags.baseline))
        throw new MergeError(
          `--baseline: "${flags.baseline}" is not a strategy of these results (${res.metadata.matrix.strategies.join(", ")})`,
        );
      res.metadata.baseline = flags.baseline;
    }
    if (flags.json) io.out(`${JSON.stringify(res, null, 2)}\n`);
    if (flags.out !== false) {
      const dir = resolve(io.cwd, flags.out);
      const written = writeOutputs(dir, res);
      io.err(`merged ${files.length} shards (${res.runs.length} runs) into ${dir}: ${written.length} files`);
    }
    io.err(renderSummary(res, io.color));
    return EXIT.ok;
  } catch (e) {
    printError(io, (e as Error).message);
    return EXIT.usage;
  }
}

/** Register `foliolab merge`. */
export function register(program: Command, { io, setCode }: CommandContext): void {
  program
    .command("merge")
    .description(
      "Merge the results.json of the shards of one matrix run (foliolab bench --shard i/n on several machines) into one results.json and the reports. Refuses shards of different configurations, by name (exit 2).",
    )
    .argument("<results...>", "results.json of every shard")
    .option("-o, --out <dir>", "directory for the merged results.json and the reports", DEFAULT_OUT)
    .option("--no-out", "write no files")
    .option("--json", "print the merged results.json to stdout")
    .option("--baseline <strategy>", "strategy the reports' ratios are taken against (default: the shards' baseline)")
    .action(async (files: string[], flags: MergeFlags) => setCode(await mergeCommand(files, flags, io)));
}
