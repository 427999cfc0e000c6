/**
 * Which of a strategy's hooks is running, for a run stopped at a deadline. A hook stuck in an
 * endless loop (`while (true) {}` in zapPresentPtes) cannot be interrupted from JavaScript in
 * the same thread; a runner that can stop it (node:vm's `timeout`, a worker it kills) wraps the
 * strategy with traceHooks() first, and names the hook from the trace when it stops the run:
 * StrategyTimeout's message. Nothing here is a kernel function: it is the lab's harness.
 */

import { StrategyError } from "./errors.js";
import type { ZapStrategy } from "./strategy.js";

/** The hooks of one traced strategy: which one is running, which ran last, how many calls. */
export interface HookTrace {
  /** The hook entered and not yet returned (innermost), or undefined between hooks. */
  current: string | undefined;
  /** The last hook entered. */
  last: string | undefined;
  /** Hook calls so far. */
  calls: number;
}

/**
 * The strategy with every function-valued property traced: same name, same fields, each
 * hook called with the original strategy as `this` (class strategies with private fields
 * work), its return value and throws unchanged. Costs and results are the same as the
 * untraced strategy's; only calls take a little longer.
 */
export function traceHooks(strategy: ZapStrategy): { strategy: ZapStrategy; trace: HookTrace } {
  const trace: HookTrace = { current: undefined, last: undefined, calls: 0 };
  const wrapped = new Map<PropertyKey, unknown>();
  const proxy: ZapStrategy = new Proxy(strategy, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function" || prop === "constructor") return v;
      let w = wrapped.get(prop);
      if (w === undefined || (w as { original?: unknown }).original !== v) {
        const name = String(prop);
        const fn = v as (...args: unknown[]) => unknown;
        const hook = function (this: unknown, ...args: unknown[]): unknown {
          trace.calls++;
          trace.last = name;
          const outer = trace.current;
          trace.current = name;
          try {
            return fn.apply(this === proxy ? target : this, args);
          } finally {
            // Not reached when the runner terminates the run: `current` then names the stuck hook.
            trace.current = outer;
          }
        };
        (hook as { original?: unknown }).original = v;
        w = hook;
        wrapped.set(prop, w);
      }
      return w;
    },
  });
  return { strategy: proxy, trace };
}

/**
 * A run stopped because it did not finish within its time limit; the message names the hook
 * that did not return (an endless loop in the strategy), or, when no hook was running, the
 * last one and the number of calls (the model looping on what the strategy returns).
 */
export class StrategyTimeout extends StrategyError {
  override name = "StrategyTimeout";
  constructor(
    strategy: string,
    readonly limitMs: number,
    readonly trace: HookTrace | undefined,
    /** Where the limit comes from, e.g. "the default: 20 x per-page's time, at least 5 s; --timeout sets it". */
    limitNote?: string,
  ) {
    const within = `within ${formatSeconds(limitMs)}${limitNote ? ` (${limitNote})` : ""}`;
    super(
      strategy,
      trace?.current !== undefined
        ? `did not return from ${trace.current} ${within}: an endless loop in ${trace.current}?`
        : trace?.last !== undefined
          ? `the run did not finish ${within}; no hook was running, the last was ${trace.last} (${trace.calls} hook calls): does the model loop on what the strategy returns?`
          : `the run did not finish ${within}`,
    );
  }
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}
