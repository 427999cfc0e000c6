/**
 * Runs under a time limit that also stops a strategy stuck in an endless loop. A synchronous
 * `while (true) {}` in a hook cannot be interrupted from JavaScript in the same thread, and a
 * test runner's timeout never fires while it spins; node:vm's `timeout` can stop it: V8
 * terminates whatever runs inside the script, the strategy's hooks included. The strategy is
 * traced (core's traceHooks), so the error names the hook that did not return.
 */

import { createContext, Script } from "node:vm";
import { StrategyTimeout, traceHooks, type ZapStrategy } from "@foliolab/core";

/** A limit never shorter than this (ms): loading, first-call compilation and a busy machine fit in it. */
export const DEADLINE_FLOOR_MS = 3000;
/** The limit is this many times the per-page reference's time for the same scenario, when longer. */
export const DEADLINE_FACTOR = 10;

/** The kit's default limit for a run whose per-page reference took `referenceMs`. */
export function defaultDeadline(referenceMs: number | undefined): number {
  return Math.max(DEADLINE_FLOOR_MS, Math.ceil(DEADLINE_FACTOR * (referenceMs ?? 0)));
}

export const DEADLINE_NOTE = `the kit's limit: ${DEADLINE_FACTOR} x per-page's time on the same scenario, at least ${DEADLINE_FLOOR_MS / 1000} s`;

const context = createContext({ run: () => {} });
const script = new Script("run()", { filename: "foliolab-deadline.js" });

/**
 * Call `fn` with the traced strategy; when it takes longer than `ms`, stop it and throw a
 * StrategyTimeout naming the hook that was running. Any other throw passes through unchanged.
 */
export function withDeadline<T>(strategy: ZapStrategy, ms: number, fn: (s: ZapStrategy) => T, note = DEADLINE_NOTE): T {
  const { strategy: traced, trace } = traceHooks(strategy);
  let out: T | undefined;
  (context as { run: () => void }).run = () => {
    out = fn(traced);
  };
  try {
    script.runInContext(context, { timeout: ms });
  } catch (e) {
    if ((e as NodeJS.ErrnoException)?.code === "ERR_SCRIPT_EXECUTION_TIMEOUT")
      throw new StrategyTimeout(strategy.name, ms, trace, note);
    throw e;
  } finally {
    (context as { run: () => void }).run = () => {};
  }
  return out as T;
}
