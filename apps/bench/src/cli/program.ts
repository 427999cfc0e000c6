/**
 * The foliolab command line's wiring: one commander program, one file per command in
 * ../commands/, one exit-code scheme (./errors.ts). Everything goes through an Io (./io.ts), so
 * tests drive the real program in-process.
 */

import { ScenarioError } from "@foliolab/core";
import { Command, CommanderError } from "commander";
import * as bench from "../commands/bench.js";
import * as calibrate from "../commands/calibrate.js";
import * as compare from "../commands/compare.js";
import * as fuzz from "../commands/fuzz.js";
import * as kernel from "../commands/kernel.js";
import * as list from "../commands/list.js";
import * as merge from "../commands/merge.js";
import * as run from "../commands/run.js";
import * as view from "../commands/view.js";
import { benchVersion } from "../results.js";
import { EXIT, EXIT_CODES_HELP, UsageError } from "./errors.js";
import { type CommandContext, type Io, printError } from "./io.js";

/** Every command, in the order `foliolab --help` lists them. */
const COMMANDS: ReadonlyArray<{ register: (program: Command, ctx: CommandContext) => void }> = [
  bench,
  run,
  kernel,
  compare,
  list,
  merge,
  view,
  calibrate,
  fuzz,
];

/** Build the program. `setCode` receives each command's exit code. */
export function buildProgram(io: Io, argv: string[], setCode: (c: number) => void): Command {
  const program = new Command();
  program
    .name("foliolab")
    .description("Benchmark zap strategies of the foliolab Linux mm teardown model, and run scenarios.")
    .version(benchVersion())
    .showHelpAfterError()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .addHelpText("after", `\n${EXIT_CODES_HELP}`);
  const ctx: CommandContext = { io, argv, setCode };
  for (const c of COMMANDS) c.register(program, ctx);
  for (const c of program.commands) c.addHelpText("after", `\n${EXIT_CODES_HELP}`);
  return program;
}

/** Run the CLI with argv (without node and script). Returns the exit code (see EXIT). */
export async function main(argv: string[], io: Io): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, argv, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return EXIT.ok;
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (e instanceof UsageError || e instanceof ScenarioError) {
      printError(io, e.message);
      return EXIT.usage;
    }
    const err = e as Error;
    printError(io, `internal error (a bug in foliolab; please report it with this stack): ${err?.stack ?? String(e)}`);
    return EXIT.failed;
  }
  return code;
}
