/**
 * `foliolab run <scenario | workload>`: one scenario under one or more strategies, the result
 * contract printed (or as JSON).
 */

import { COST_EVENT_KEYS, InternalError, runScenario, ScenarioError } from "@foliolab/core";
import type { Command } from "commander";
import { folioArg, intArg, listArg, profileFlag, sizeArg } from "../cli/args.js";
import { EXIT } from "../cli/errors.js";
import { type CommandContext, type Io, printError } from "../cli/io.js";
import { resolveTarget } from "../cli/target.js";
import { measureOnce } from "../measure.js";
import { type CostProfile, describeProfile, modelledNs } from "../profile.js";
import { fmtNum } from "../report/model.js";
import { BASELINE, loadStrategies } from "../strategies.js";
import { stackExcerpt } from "./bench.js";

interface RunFlags {
  strategy?: string[];
  json?: boolean;
  folio?: string;
  size?: number;
  seed: number;
  printScenario?: boolean;
  invariants: boolean;
  profile?: string;
}

function nonZero(rec: Record<string, number>): Array<[string, number]> {
  return Object.entries(rec).filter(([, v]) => v !== 0);
}

async function runCommand(target: string, flags: RunFlags, io: Io): Promise<number> {
  const t = resolveTarget(target, flags, io.cwd);
  const { input: scenario, measured, source } = t;
  if (flags.printScenario) {
    io.out(typeof t.input === "string" ? t.input : `${JSON.stringify(t.input, null, 2)}\n`);
    if (measured)
      io.err(
        `measured ops: ${measured.length === 1 ? measured[0] : `${measured.length} ops from ${measured[0]} to ${measured[measured.length - 1]}`}`,
      );
    return EXIT.ok;
  }
  const profile = profileFlag(io.cwd, flags.profile);
  const { loaded, failures } = await loadStrategies(flags.strategy ?? [BASELINE], io.cwd);
  let code: number = EXIT.ok;
  for (const f of failures) {
    printError(io, `strategy "${f.name}" failed to load: ${f.message}`);
    code = EXIT.failed;
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
      if (bad.length > 0) code = EXIT.failed;
      if (flags.json) {
        results.push(result);
        continue;
      }
      printRun(io, source, s.name, result, phaseCosts, measured !== undefined, profile, phase.vmstat, phase.mthp);
    } catch (e) {
      code = EXIT.failed;
      const err = e as Error;
      // A scenario's own mistake is nobody's strategy's: no strategy name on it; nor is a bug of
      // the model (core's InternalError), which says so and shows core's stack.
      if (e instanceof ScenarioError) printError(io, `${err.name}: ${err.message}`);
      else if (e instanceof InternalError) {
        printError(io, `${err.message} (under strategy "${s.name}")`);
        for (const l of stackExcerpt(err.stack ?? "", 8)) io.err(`    ${l}`);
      } else printError(io, `strategy "${s.name}": ${err?.name ?? "Error"}: ${err?.message ?? String(e)}`);
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

export function register(program: Command, { io, setCode }: CommandContext): void {
  program
    .command("run")
    .description("Run one scenario (a JSON file, or a workload id to generate one) and print the result contract.")
    .argument("<scenario>", "scenario.json, or a workload id such as pmfb/munmap")
    .option(
      "-s, --strategy <spec>",
      `strategy name, file path or package name (repeat or comma-separate; default: ${BASELINE})`,
      listArg("strategy"),
    )
    .option("--json", "print the result contract as JSON (an array when several strategies run)")
    .option("-f, --folio <size>", "folio size when generating from a workload (default 64K)", folioArg)
    .option("--size <size>", "region size when generating from a workload", sizeArg())
    .option("--seed <n>", "seed when generating from a workload", intArg(0), 1)
    .option("--print-scenario", "print the scenario JSON (and which ops are measured) instead of running it")
    .option("--no-invariants", "run without the invariant checker (default: as the scenario's config says, on)")
    .option("--profile <file>", "cost profile JSON for the modelled time")
    .action(async (target: string, flags: RunFlags) => setCode(await runCommand(target, flags, io)));
}
