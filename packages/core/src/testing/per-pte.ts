/**
 * The v6.5 reference for core's own tests (core may not depend on strategy packages): core's
 * v6.5 building blocks, with options that break one rule on purpose (by replacing one step of
 * the v6.5 present-PTE body).
 */

import { folioPutRefs, pageFolio } from "../folio.js";
import type { ReclaimUnmapContext, ZapStrategy } from "../strategy.js";
import { folioPteBatchAt, ptepGetAndClearFull, type ZapContext } from "../zap.js";
import {
  freePagesAndSwapCacheV65,
  tlbFlushRmapBatchV65,
  ZAP_PTE_STEPS_V65,
  type ZapPteStepsV65,
  zapPresentPteV65,
  zapPresentPteV65With,
} from "../zap-v65.js";

export interface Breakage {
  /** Drop the reference inside the PTE loop instead of gathering it (frees before the flush). */
  freeBeforeFlush?: boolean;
  /** Never remove the rmap, and leak the reference. */
  forgetRmapAndRef?: boolean;
  /** Drop one extra reference on the first page of each large folio, before its rmap goes. */
  extraPut?: boolean;
  /** Remove the rmap of dirty file pages at once instead of after the flush. */
  noDelayRmap?: boolean;
  /** Do not mark dirty file folios dirty. */
  skipMarkDirty?: boolean;
  /** Forget the RSS update. */
  skipRss?: boolean;
  /** Return 0 from zapPresentPtes. */
  badReturn?: boolean;
  /** Leave the tlb_remove_tlb_entry() out, so no flush covers the cleared PTE. */
  skipTlbEntry?: boolean;
  /** Reclaim batching of lazyfree folios: per PTE (default), whole folio only, or any range. */
  reclaimBatch?: "pte" | "folio-only" | "range" | "overrun";
}

/** A test strategy: every hook given, so tests can call them. */
export type TestStrategy = ZapStrategy & Required<Pick<ZapStrategy, "zapPresentPtes" | "flushRmaps" | "releaseGathered">>;

/** Breakages that change the present-PTE body (the others keep v6.5's, core's building block). */
const BODY_BREAKAGES = [
  "freeBeforeFlush",
  "forgetRmapAndRef",
  "extraPut",
  "noDelayRmap",
  "skipMarkDirty",
  "skipRss",
  "badReturn",
  "skipTlbEntry",
] as const;

export function perPteStrategy(name = "test-per-pte", broken: Breakage = {}): TestStrategy {
  const intact = BODY_BREAKAGES.every((b) => !broken[b]);
  return {
    name,
    zapPresentPtes: intact ? zapPresentPteV65 : brokenZapPresentPte(broken),
    flushRmaps: tlbFlushRmapBatchV65,
    releaseGathered: freePagesAndSwapCacheV65,
    ...(broken.reclaimBatch && broken.reclaimBatch !== "pte"
      ? {
          reclaimUnmapBatch(r: ReclaimUnmapContext, max: number): number {
            if (!r.lazyfree) return 1;
            if (broken.reclaimBatch === "overrun") return max + 1;
            const n = folioPteBatchAt(r.k, r.ptes, r.folio, r.index, max);
            if (broken.reclaimBatch === "folio-only")
              return r.pfn === r.folio && n === 1 << (r.k.mem.order[r.folio] as number) ? n : 1;
            return n;
          },
        }
      : {}),
  };
}

/** v6.5's present-PTE body with the steps `broken` names replaced (zapPresentPteV65 otherwise). */
function brokenZapPresentPte(broken: Breakage): (z: ZapContext) => number {
  if (broken.badReturn) return () => 0;
  const steps: Partial<ZapPteStepsV65> = {};
  if (broken.skipTlbEntry) steps.getAndClear = (z) => ptepGetAndClearFull(z, z.index);
  if (broken.skipMarkDirty) steps.setPageDirty = () => {};
  if (broken.noDelayRmap) steps.delayRmap = () => false;
  if (broken.skipRss) steps.rss = () => {};
  if (broken.forgetRmapAndRef) {
    steps.removeRmap = () => {};
    steps.removePage = () => {};
  }
  if (broken.extraPut) {
    steps.removeRmap = (z, folio, pfn) => {
      if (folio === pfn && (z.k.mem.order[folio] as number) > 0) folioPutRefs(z.k, folio, 1);
      ZAP_PTE_STEPS_V65.removeRmap(z, folio, pfn);
    };
  }
  if (broken.freeBeforeFlush) steps.removePage = (z, pfn) => folioPutRefs(z.k, pageFolio(z.k, pfn), 1);
  return zapPresentPteV65With(steps);
}

export const reference: TestStrategy = perPteStrategy();
