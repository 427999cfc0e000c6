/**
 * Everything a command prints or writes goes through an Io object, so tests drive the real
 * program in-process; `nodeIo()` is the one the `foliolab` bin uses.
 */

import { availableParallelism } from "node:os";
import pc from "picocolors";
import { EXIT } from "./errors.js";

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

/** "error: ..." on stderr, red on a colour terminal. */
export function printError(io: Io, message: string): void {
  io.err(`${io.color ? pc.red("error") : "error"}: ${message}`);
}

/** The process's own Io: stdout, stderr, SIGINT/SIGTERM (a second one quits at once, exit 130). */
export function nodeIo(): Io {
  return {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s.endsWith("\n") ? s : `${s}\n`),
    isTTY: process.stderr.isTTY === true,
    color: pc.isColorSupported && process.stdout.isTTY === true,
    cwd: process.cwd(),
    jobs: availableParallelism(),
    onInterrupt: (fn) => {
      let count = 0;
      const handler = () => {
        count++;
        if (count === 1) {
          process.stderr.write("\ninterrupted: stopping; finished runs are kept (Ctrl-C again to quit at once)\n");
          fn();
        } else process.exit(EXIT.interrupted);
      };
      process.on("SIGINT", handler);
      process.on("SIGTERM", handler);
      return () => {
        process.off("SIGINT", handler);
        process.off("SIGTERM", handler);
      };
    },
  };
}

/** What a command's register() gets: the Io, the whole argv (recorded in results.json), and where its exit code goes. */
export interface CommandContext {
  io: Io;
  argv: string[];
  setCode: (code: number) => void;
}
