/**
 * `foliolab view <scenario.json | workload>`: one self-contained HTML page that steps through
 * the scenario's ops under one or more strategies, side by side (see ../view/).
 */

import { resolve } from "node:path";
import { parseSize } from "@foliolab/core";
import type { Command } from "commander";
import { folioArg, intArg, listArg, sizeArg } from "../cli/args.js";
import { EXIT, UsageError } from "../cli/errors.js";
import { type CommandContext, type Io, printError } from "../cli/io.js";
import { resolveTarget } from "../cli/target.js";
import { writeFileAtomic } from "../report/write.js";
import { loadStrategies } from "../strategies.js";
import { renderView } from "../view/page.js";
import { buildTrace } from "../view/trace.js";

/** Strategies drawn side by side when --strategy is not given: the v6.5 reference and what Linux runs. */
export const VIEW_DEFAULT_STRATEGIES = ["per-page", "folio-batch"];
export const VIEW_DEFAULT_OUT = "foliolab-view.html";

interface ViewFlags {
  strategy?: string[];
  folio?: string;
  size?: number;
  seed: number;
  out: string;
  range?: string;
}

/** "0x10000000000-0x10000200000" or "0x10000000000+2M": a virtual page range [start, end). */
export function parseRange(text: string): [number, number] | string {
  const m = /^(0x[0-9a-fA-F]+|\d+)(?:([-+])(0x[0-9a-fA-F]+|\d+[KMGkmg]?))$/.exec(text.trim());
  if (!m) return `--range: "${text}" is not start-end or start+length (e.g. 0x10000000000+2M)`;
  const start = Number(m[1]);
  let end: number;
  if (m[2] === "-") end = Number(m[3]);
  else {
    const len = parseSize(m[3] as string);
    if (len === null) return `--range: "${m[3]}" is not a length like 2M`;
    end = start + len;
  }
  if (start % 4096 !== 0 || end % 4096 !== 0 || end <= start) return `--range: "${text}" must be page-aligned with end > start`;
  return [start / 4096, end / 4096];
}

async function viewCommand(target: string, flags: ViewFlags, io: Io): Promise<number> {
  const t = resolveTarget(target, flags, io.cwd, "min");
  const source = t.measured ? `${t.source.slice(0, -1)}; * = measured ops)` : target;
  const { input: scenario, measured } = t;
  let range: [number, number] | undefined;
  if (flags.range) {
    const r = parseRange(flags.range);
    if (typeof r === "string") throw new UsageError(r);
    range = r;
  }
  const { loaded, failures } = await loadStrategies(flags.strategy ?? VIEW_DEFAULT_STRATEGIES, io.cwd);
  if (failures.length > 0) {
    for (const f of failures) printError(io, `strategy "${f.name}" failed to load: ${f.message}`);
    return EXIT.failed;
  }
  const trace = buildTrace({
    scenario,
    source,
    strategies: loaded.map((s) => s.strategy),
    ...(measured ? { measured } : {}),
    ...(range ? { range } : {}),
  });
  const out = resolve(io.cwd, flags.out);
  writeFileAtomic(out, renderView(trace));
  let code: number = EXIT.ok;
  for (const s of trace.strategies) {
    if (s.error) {
      printError(io, `strategy "${s.name}" FAILED at step ${s.error.step}: ${s.error.kind}: ${s.error.message}`);
      code = EXIT.failed;
    }
  }
  const diff =
    trace.strategies.length < 2
      ? ""
      : trace.firstDifference === null
        ? "; the strategies never differ"
        : `; first difference at step ${trace.firstDifference} (${trace.ops[trace.firstDifference]?.text}: ${trace.differences[trace.firstDifference]?.join(", ")})`;
  const steps = trace.ops.length === trace.opCount ? `${trace.opCount} ops` : `${trace.opCount} ops in ${trace.ops.length} steps`;
  io.err(`wrote ${out}: ${steps} x ${trace.strategies.map((s) => s.name).join(", ")}${diff}`);
  return code;
}

/** Register `foliolab view`. */
export function register(program: Command, { io, setCode }: CommandContext): void {
  program
    .command("view")
    .description(
      "Write one self-contained HTML page that steps through a scenario op by op: page tables as runs of PTEs coloured by folio, each folio's mapcount, refcount, _nr_pages_mapped, partially-mapped and deferred-split state, the mmu_gather's batches and flushes, the counters that changed; strategies side by side, the first step where they differ marked.",
    )
    .argument("<scenario>", "scenario.json, or a workload id such as pmfb/munmap")
    .option(
      "-s, --strategy <spec>",
      `strategies side by side, name, file path or package (repeat or comma-separate; default: ${VIEW_DEFAULT_STRATEGIES.join(",")})`,
      listArg("strategy"),
    )
    .option("-f, --folio <size>", "folio size when generating from a workload (default 64K)", folioArg)
    .option("--size <size>", "region size when generating from a workload (default: the workload's smallest)", sizeArg())
    .option("--seed <n>", "seed when generating from a workload", intArg(0), 1)
    .option(
      "--range <start-end|start+len>",
      "draw only this virtual address range, e.g. 0x10000000000+2M (page tables at full resolution, folios inside it)",
    )
    .option("-o, --out <file>", "the HTML file to write", VIEW_DEFAULT_OUT)
    .action(async (target: string, flags: ViewFlags) => setCode(await viewCommand(target, flags, io)));
}
