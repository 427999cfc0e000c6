/**
 * `foliolab view <scenario.json | workload>`: one self-contained HTML page that steps through
 * the scenario's ops under one or more strategies, side by side (see ../view/).
 */

import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ScenarioError } from "@foliolab/core";
import { type Command, InvalidArgumentError } from "commander";
import type { Io } from "../program.js";
import { writeFileAtomic } from "../report/write.js";
import { formatBytes, parseBytes, parseFolioList } from "../sizes.js";
import { loadStrategies } from "../strategies.js";
import { renderView } from "../view/page.js";
import { buildTrace } from "../view/trace.js";
import { effectiveSize, findWorkload } from "../workloads.js";

/** Strategies drawn side by side when --strategy is not given: the v6.5 reference and what Linux runs. */
export const VIEW_DEFAULT_STRATEGIES = ["per-page", "folio-batch"];
export const VIEW_DEFAULT_OUT = "foliolab-view.html";

interface ViewFlags {
  strategy?: string[];
  folio?: string;
  size?: string;
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
    const len = parseBytes(m[3] as string);
    if (len === null) return `--range: "${m[3]}" is not a length like 2M`;
    end = start + len;
  }
  if (start % 4096 !== 0 || end % 4096 !== 0 || end <= start) return `--range: "${text}" must be page-aligned with end > start`;
  return [start / 4096, end / 4096];
}

function list(v: string, prev: string[] | undefined): string[] {
  return [
    ...(prev ?? []),
    ...v
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== ""),
  ];
}

async function viewCommand(target: string, flags: ViewFlags, io: Io): Promise<number> {
  const fail = (msg: string) => {
    io.err(`error: ${msg}`);
    return 2;
  };
  let scenario: unknown;
  let measured: number[] | undefined;
  let source: string;
  const path = resolve(io.cwd, target);
  const w = findWorkload(target);
  if (existsSync(path)) {
    try {
      scenario = JSON.parse(readFileSync(path, "utf8"));
    } catch (e) {
      return fail(`${target}: not a JSON scenario: ${(e as Error).message}`);
    }
    source = target;
  } else if (w) {
    let folio: string;
    try {
      folio = flags.folio ? (parseFolioList([flags.folio])[0] as string) : (w.fixedFolios?.[0] ?? "64K");
    } catch (e) {
      return fail((e as Error).message);
    }
    let requested = w.minSize;
    if (flags.size) {
      const n = parseBytes(flags.size);
      if (n === null || n === 0 || n % 4096 !== 0) return fail(`--size: "${flags.size}" is not a size like 8M or 1G`);
      requested = n;
    }
    const size = effectiveSize(w, requested, folio);
    const g = w.generate({ size, folio, seed: flags.seed });
    scenario = g.scenario;
    measured = g.measured;
    source = `workload ${w.id} (folio ${folio}, size ${formatBytes(size)}, seed ${flags.seed}; * = measured ops)`;
  } else {
    return fail(`"${target}" is neither a scenario file nor a workload id (see foliolab list)`);
  }
  let range: [number, number] | undefined;
  if (flags.range) {
    const r = parseRange(flags.range);
    if (typeof r === "string") return fail(r);
    range = r;
  }
  const specs = flags.strategy && flags.strategy.length > 0 ? flags.strategy : VIEW_DEFAULT_STRATEGIES;
  const { loaded, failures } = await loadStrategies(specs, io.cwd);
  if (failures.length > 0) {
    for (const f of failures) io.err(`error: strategy "${f.name}": ${f.message}`);
    return 2;
  }
  let trace: ReturnType<typeof buildTrace>;
  try {
    trace = buildTrace({
      scenario,
      source,
      strategies: loaded.map((s) => s.strategy),
      ...(measured ? { measured } : {}),
      ...(range ? { range } : {}),
    });
  } catch (e) {
    if (e instanceof ScenarioError) return fail(`${target}: ${e.message}`);
    throw e;
  }
  const out = resolve(io.cwd, flags.out);
  writeFileAtomic(out, renderView(trace));
  let code = 0;
  for (const s of trace.strategies) {
    if (s.error) {
      io.err(`error: strategy "${s.name}" FAILED at step ${s.error.step}: ${s.error.kind}: ${s.error.message}`);
      code = 1;
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
export function registerView(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("view")
    .description(
      "Write one self-contained HTML page that steps through a scenario op by op: page tables as runs of PTEs coloured by folio, each folio's mapcount, refcount, _nr_pages_mapped, partially-mapped and deferred-split state, the mmu_gather's batches and flushes, the counters that changed; strategies side by side, the first step where they differ marked.",
    )
    .argument("<scenario>", "scenario.json, or a workload id such as pmfb/munmap")
    .option(
      "-s, --strategy <spec...>",
      `strategies side by side, name, file path or package (default: ${VIEW_DEFAULT_STRATEGIES.join(",")})`,
      list,
    )
    .option("-f, --folio <size>", "folio size when generating from a workload (default 64K)")
    .option("--size <size>", "region size when generating from a workload (default: the workload's smallest)")
    .option(
      "--seed <n>",
      "seed when generating from a workload",
      (v: string) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`"${v}" must be an integer >= 0`);
        return n;
      },
      1,
    )
    .option(
      "--range <start-end|start+len>",
      "draw only this virtual address range, e.g. 0x10000000000+2M (page tables at full resolution, folios inside it)",
    )
    .option("-o, --out <file>", "the HTML file to write", VIEW_DEFAULT_OUT)
    .action(async (target: string, flags: ViewFlags) => setCode(await viewCommand(target, flags, io)));
}
