import { describe, expect, it } from "vitest";
import { StrategyTimeout, traceHooks } from "./hook-trace.js";
import { runScenario } from "./run-scenario.js";
import type { ZapStrategy } from "./strategy.js";
import { reference as perPage } from "./testing/per-pte.js";

const scenario = {
  name: "trace",
  ops: [
    { op: "mmap", id: "a", size: "256K", kind: "anon" },
    { op: "write", id: "a" },
    { op: "munmap", id: "a" },
  ],
};

describe("traceHooks", () => {
  it("counts the same events as the untraced strategy, and records the hooks it calls", () => {
    const { strategy, trace } = traceHooks(perPage);
    expect(runScenario(scenario, { strategy })).toEqual(runScenario(scenario, { strategy: perPage }));
    expect(trace.calls).toBeGreaterThan(0);
    expect(trace.last).toBeDefined();
    expect(trace.current).toBeUndefined();
  });

  it("calls a class strategy's hooks with the instance as this (private fields work)", () => {
    class Counting {
      readonly name = "counting";
      readonly description = "per-page, counting its calls";
      #calls = 0;
      constructor() {
        // The other hooks are per-page's own; this one is a method on the prototype.
        const { zapPresentPtes: _, name: __, description: ___, ...rest } = perPage as unknown as Record<string, unknown>;
        Object.assign(this, rest);
      }
      zapPresentPtes(...args: unknown[]): unknown {
        this.#calls++;
        return (perPage.zapPresentPtes as (...a: unknown[]) => unknown)(...args);
      }
      get calls(): number {
        return this.#calls;
      }
    }
    const c = new Counting();
    const { strategy, trace } = traceHooks(c as unknown as ZapStrategy);
    const plain = runScenario(scenario, { strategy: new Counting() as unknown as ZapStrategy });
    expect(runScenario(scenario, { strategy })).toEqual(plain);
    expect(c.calls).toBeGreaterThan(0);
    expect(trace.calls).toBeGreaterThan(c.calls);
  });

  it("names the hook that did not return in the timeout's message, or the last one when none was running", () => {
    expect(new StrategyTimeout("x", 3000, { current: "zapPresentPtes", last: "zapPresentPtes", calls: 9 }).message).toBe(
      'strategy "x": did not return from zapPresentPtes within 3 s: an endless loop in zapPresentPtes?',
    );
    expect(new StrategyTimeout("x", 4500, { current: undefined, last: "flushRmaps", calls: 7 }, "a note").message).toMatch(
      /the run did not finish within 4\.5 s \(a note\); no hook was running, the last was flushRmaps \(7 hook calls\)/,
    );
  });
});
