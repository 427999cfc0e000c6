/**
 * Time limits of a cell's runs, and the worker-side guard that enforces them. A strategy stuck
 * in an endless loop (`while (true) {}` in zapPresentPtes) blocks its worker's only thread;
 * node:vm's `timeout` stops it in place (V8 terminates whatever runs inside the script), so
 * the cell comes back FAILED with the hook named (core's traceHooks) instead of the main
 * process killing the worker after a long --timeout. The main process still kills a worker
 * that overruns the whole cell's limit (a loop at import, in async code): the backstop.
 */

import { createContext, Script } from "node:vm";
import { StrategyTimeout, traceHooks, type ZapStrategy } from "@foliolab/core";

/** Default limit of a run: this many times per-page's time for the same cell ... */
export const LIMIT_FACTOR = 20;
/** ... and never less than this (ms): a cold worker, JIT warm-up and a busy machine fit in it. */
export const LIMIT_FLOOR_MS = 5000;
/** How long the main process waits past a cell's limit before it kills the worker. */
export const BACKSTOP_GRACE_MS = 1000;

/** The limits a worker enforces on one cell's runs (ms), and where they come from (for the message). */
export interface CellLimits {
  /** The invariant-checked pass (its hooks are traced, so a timeout names the hook). */
  checkMs: number;
  /** Each measured run: the count run and every timed sample. */
  runMs: number;
  note: string;
}

export const DEFAULT_LIMIT_NOTE = `the default limit: ${LIMIT_FACTOR} x per-page's time for this cell, at least ${LIMIT_FLOOR_MS / 1000} s; --timeout sets another`;

/** Default limits from per-page's times for the same cell: its check pass and one measured run (ms). */
export function defaultLimits(reference: { checkMs: number; runMs: number }): CellLimits {
  const limit = (ms: number) => Math.max(LIMIT_FLOOR_MS, Math.ceil(LIMIT_FACTOR * ms));
  return { checkMs: limit(reference.checkMs), runMs: limit(reference.runMs), note: DEFAULT_LIMIT_NOTE };
}

/** The limits when the user set --timeout: every run gets it. */
export function explicitLimits(timeoutMs: number): CellLimits {
  return { checkMs: timeoutMs, runMs: timeoutMs, note: "--timeout" };
}

/** How long a whole cell may take before the main process kills its worker. */
export function cellBackstopMs(l: CellLimits, samples: number): number {
  return l.checkMs + l.runMs * Math.max(1, samples) + BACKSTOP_GRACE_MS;
}

const context = createContext({ run: () => {} });
const script = new Script("run()", { filename: "foliolab-cell-limit.js" });

/**
 * Run `fn(strategy)` within `ms`; a run that overruns is stopped and becomes a StrategyTimeout
 * (a StrategyError) that names the hook still running when `traced`.
 */
export function withinLimit<T>(strategy: ZapStrategy, ms: number, note: string, traced: boolean, fn: (s: ZapStrategy) => T): T {
  const t = traced ? traceHooks(strategy) : undefined;
  let out: T | undefined;
  (context as { run: () => void }).run = () => {
    out = fn(t ? t.strategy : strategy);
  };
  try {
    script.runInContext(context, { timeout: ms });
  } catch (e) {
    if ((e as NodeJS.ErrnoException)?.code === "ERR_SCRIPT_EXECUTION_TIMEOUT")
      throw new StrategyTimeout(strategy.name, ms, t?.trace, note);
    throw e;
  } finally {
    (context as { run: () => void }).run = () => {};
  }
  return out as T;
}
