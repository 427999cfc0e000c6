#!/usr/bin/env node
/**
 * Entry of the `foliolab` bin (bin/foliolab.js imports dist/cli.js); the program is in cli/,
 * its commands in commands/. The benchmark's cells run in worker processes (dist/worker.js).
 */

import { EXIT } from "./cli/errors.js";
import { nodeIo } from "./cli/io.js";
import { main } from "./cli/program.js";

// `foliolab ... | head` closes the pipe early: stop quietly.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? EXIT.ok);
  throw e;
});
process.exitCode = await main(process.argv.slice(2), nodeIo());
