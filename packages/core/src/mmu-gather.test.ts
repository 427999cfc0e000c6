import { describe, expect, it } from "vitest";
import { InvariantViolation } from "./errors.js";
import { runScenario } from "./run-scenario.js";
import type { ZapStrategy } from "./strategy.js";
import { reference } from "./testing/per-pte.js";

const fill4k = {
  name: "fill-4k",
  ops: [
    { op: "mmap", id: "a", size: "48M", kind: "anon" },
    { op: "write", id: "a" },
    { op: "munmap", id: "a" },
  ],
};

describe("__tlb_remove_folio_pages_size(): nothing is gathered into a full mmu_gather", () => {
  it("a strategy that does not stop when the gather says full breaks strategy-contract, checker on or off", () => {
    expect(() => runScenario(fill4k, { strategy: reference })).not.toThrow();
    const noBreak: ZapStrategy = {
      ...reference,
      name: "no-break-on-full-gather",
      zapPresentPtes(z, max) {
        const n = reference.zapPresentPtes(z, max);
        z.forceBreak = false;
        return n;
      },
    };
    for (const invariants of [true, false]) {
      let caught: unknown;
      try {
        runScenario(fill4k, { strategy: noBreak, invariants });
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(InvariantViolation);
      expect((caught as InvariantViolation).violation.invariant).toBe("strategy-contract");
      expect((caught as Error).message).toContain("a page was gathered into a full mmu_gather");
    }
  });
});
