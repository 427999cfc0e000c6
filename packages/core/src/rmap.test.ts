import { describe, expect, it } from "vitest";
import { InvariantViolation } from "./errors.js";
import { pageFolio } from "./folio.js";
import { folioRemoveRmapPtes } from "./rmap.js";
import { runScenario } from "./run-scenario.js";
import type { ZapStrategy } from "./strategy.js";
import { reference } from "./testing/per-pte.js";
import { ptepGetAndClearFull, vmNormalPage } from "./zap.js";

function violation(spec: object, strategy: ZapStrategy): InvariantViolation {
  try {
    runScenario(spec, { strategy });
  } catch (e) {
    if (e instanceof InvariantViolation) return e;
    throw e;
  }
  throw new Error("expected an invariant violation, the scenario ran clean");
}

const anon64 = {
  name: "anon-64k",
  config: { mthp: { "64K": "always" } },
  ops: [
    { op: "mmap", id: "a", size: "1M", kind: "anon" },
    { op: "write", id: "a" },
    { op: "munmap", id: "a" },
  ],
};

describe("folio_remove_rmap_ptes() rejects pages outside the folio", () => {
  it("names the folio's end (checked with the invariant checker off too)", () => {
    const pastEnd: ZapStrategy = {
      ...reference,
      name: "rmap-past-folio-end",
      zapPresentPtes(z, max) {
        const pfn = vmNormalPage(z, z.ptent);
        if (pfn >= 0 && pfn === pageFolio(z.k, pfn)) {
          // removes the rmap of 17 pages of a 16-page folio
          folioRemoveRmapPtes(z.k, pfn, pfn, 17, z.vma);
        }
        return reference.zapPresentPtes(z, max);
      },
    };
    for (const invariants of [true, false]) {
      let caught: unknown;
      try {
        runScenario(anon64, { strategy: pastEnd, invariants });
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(InvariantViolation);
      const v = (caught as InvariantViolation).violation;
      expect(v.invariant).toBe("strategy-contract");
      expect(v.detail).toMatch(
        /folio_remove_rmap_ptes\(\): pages (\d+)\.\.\d+ are not all in folio \1, which ends at pfn \d+ \(nr 17\)/,
      );
    }
  });
});

describe("the checker records zero-page TLB entries", () => {
  it("a zero-page PTE cleared without tlb_remove_tlb_entry() breaks tlb-flush-before-free", () => {
    const zeroRead = {
      name: "zero-page-read",
      ops: [
        { op: "mmap", id: "a", size: "256K", kind: "anon" },
        { op: "read", id: "a" },
        { op: "madvise", id: "a", advice: "dontneed" },
      ],
    };
    expect(() => runScenario(zeroRead, { strategy: reference })).not.toThrow();
    const noTlbEntry: ZapStrategy = {
      ...reference,
      name: "zero-page-no-tlb-entry",
      zapPresentPtes(z, max) {
        if (vmNormalPage(z, z.ptent) < 0) {
          ptepGetAndClearFull(z, z.index); // BUG: no tlb_remove_tlb_entry()
          return 1;
        }
        return reference.zapPresentPtes(z, max);
      },
    };
    const v = violation(zeroRead, noTlbEntry);
    expect(v.violation.invariant).toBe("tlb-flush-before-free");
    expect(v.message).toMatch(/cleared PTEs were never covered by a TLB flush/);
  });
});
