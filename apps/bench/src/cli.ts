#!/usr/bin/env node
/**
 * Entry of the `foliolab` bin (bin/foliolab.js imports dist/cli.js). The benchmark's cells
 * run in worker processes (dist/worker.js).
 */

import { availableParallelism } from "node:os";
import pc from "picocolors";
import { main } from "./program.js";

// `foliolab ... | head` closes the pipe early: stop quietly.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw e;
});
const code = await main(process.argv.slice(2), {
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
      } else process.exit(130);
    };
    process.on("SIGINT", handler);
    process.on("SIGTERM", handler);
    return () => {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    };
  },
});
process.exitCode = code;
