import { describe, expect, it } from "vitest";
import { InvariantViolation } from "./errors.js";
import { pageFolio } from "./folio.js";
import { runScenario } from "./run-scenario.js";
import type { ZapStrategy } from "./strategy.js";
import { vmNormalPage, type ZapContext } from "./zap.js";
import {
  freePagesAndSwapCacheV618,
  tlbFlushRmapBatchV69,
  ZAP_FOLIO_STEPS_V69,
  type ZapFolioStepsV69,
  type ZapPresentFolioPtes,
  zapPresentFolioPtesV69,
  zapPresentFolioPtesV69With,
  zapPresentPtesV69,
  zapPresentPtesV69With,
} from "./zap-v69.js";

/** 6.18's zap (folio-batch's hooks) with zap_present_ptes() given. */
const v618 = (zapPresentPtes: (z: ZapContext, max: number) => number, name = "v618"): ZapStrategy => ({
  name,
  gather: { reserveOne: true },
  zapPresentPtes,
  flushRmaps: tlbFlushRmapBatchV69,
  releaseGathered: freePagesAndSwapCacheV618,
});

/** Anon 64K folios and a dirty shared shmem 64K mapping, partly and then wholly unmapped. */
const spec = {
  name: "v69-steps",
  config: { mthp: { "64K": "always" }, shmem: { "64K": "always" } },
  ops: [
    { op: "mmap", id: "a", size: "2M", kind: "anon" },
    { op: "write", id: "a" },
    { op: "mmap", id: "s", size: "1M", kind: "shmem" },
    { op: "write", id: "s", length: "512K" },
    { op: "read", id: "s", offset: "512K" },
    { op: "munmap", id: "a", offset: "4K", length: "4K", stride: "64K" },
    { op: "munmap", id: "a" },
    { op: "munmap", id: "s" },
  ],
};

/** The invariant a strategy breaks on `spec`, or undefined. */
function brokenInvariant(strategy: ZapStrategy): string | undefined {
  try {
    runScenario(spec, { strategy });
  } catch (e) {
    if (e instanceof InvariantViolation) return e.violation.invariant;
    throw e;
  }
  return undefined;
}

describe("6.9's zap_present_folio_ptes() as its steps", () => {
  it("with no step replaced is zapPresentPtesV69: the same counters", () => {
    const kernel = runScenario(spec, { strategy: v618(zapPresentPtesV69) });
    const rebuilt = runScenario(spec, { strategy: v618(zapPresentPtesV69With({})) });
    expect(rebuilt).toEqual(kernel);
  });

  it("runs a replaced step in place of the kernel's and keeps the others", () => {
    const seen = new Set<string>();
    const counting: Partial<ZapFolioStepsV69> = {};
    for (const name of Object.keys(ZAP_FOLIO_STEPS_V69) as Array<keyof ZapFolioStepsV69>) {
      const step = ZAP_FOLIO_STEPS_V69[name] as (...a: unknown[]) => unknown;
      (counting as Record<string, unknown>)[name] = (...a: unknown[]) => {
        seen.add(name);
        return step(...a);
      };
    }
    const kernel = runScenario(spec, { strategy: v618(zapPresentPtesV69) });
    expect(runScenario(spec, { strategy: v618(zapPresentPtesV69With(counting)) })).toEqual(kernel);
    // Every step ran: anon (clearFullPtes) and dirty file (getAndClearFullPtes, folioMarkDirty, delayRmap) folios.
    expect([...seen].sort()).toEqual(Object.keys(ZAP_FOLIO_STEPS_V69).sort());
  });

  it("without the delayed rmap of a dirty shared folio breaks no-lost-write", () => {
    const eager = v618(zapPresentPtesV69With({ delayRmap: () => false }), "eager-rmap");
    expect(brokenInvariant(eager)).toBe("no-lost-write");
  });

  it("zapPresentFolioPtesV69With() forgetting the rmap breaks refcount>=mapcount (freed while still mapped)", () => {
    // One PTE at a time through zap_present_folio_ptes(), with the kernel's body or a broken one.
    const perPte = (zapFolio: ZapPresentFolioPtes, name: string): ZapStrategy =>
      v618((z, max) => {
        const pfn = vmNormalPage(z, z.ptent);
        if (pfn < 0) return zapPresentPtesV69(z, max);
        zapFolio(z, pageFolio(z.k, pfn), pfn, 1);
        return 1;
      }, name);
    expect(brokenInvariant(perPte(zapPresentFolioPtesV69, "per-pte"))).toBeUndefined();
    const forgets = perPte(zapPresentFolioPtesV69With({ removeRmap() {} }), "forgets-rmap");
    expect(brokenInvariant(forgets)).toBe("refcount>=mapcount");
  });

  it("the kernel's steps cannot be changed in place", () => {
    expect(Object.isFrozen(ZAP_FOLIO_STEPS_V69)).toBe(true);
  });
});
