/**
 * `foliolab compare <base> <new>`: two results.json files, one metric per line (LKP style).
 */

import { resolve } from "node:path";
import type { Command } from "commander";
import { EXIT, UsageError } from "../cli/errors.js";
import type { CommandContext, Io } from "../cli/io.js";
import { compareResults } from "../report/compare.js";
import { type ResultsFile, readResults } from "../results.js";

function read(cwd: string, file: string): ResultsFile {
  try {
    return readResults(resolve(cwd, file));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

async function compareCommand(a: string, b: string, flags: { all?: boolean; failOnChange?: boolean }, io: Io): Promise<number> {
  const base = read(io.cwd, a);
  const next = read(io.cwd, b);
  const r = compareResults(base, next, { all: flags.all ?? false }, [a, b]);
  io.out(`${r.text}\n`);
  return flags.failOnChange && (r.changedExact > 0 || r.onlyBase.length > 0) ? EXIT.failed : EXIT.ok;
}

export function register(program: Command, { io, setCode }: CommandContext): void {
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
}
