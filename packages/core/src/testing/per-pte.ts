/**
 * The v6.5 reference for core's own tests (core may not depend on strategy packages): core's
 * v6.5 building blocks, with options that break one rule on purpose.
 */

import { folioPutRefs, folioTestAnon, pageFolio } from "../folio.js";
import { tlbDelayRmap, tlbRemovePage, tlbRemoveTlbEntry } from "../mmu-gather.js";
import { PTE } from "../page-table.js";
import { pageRemoveRmap } from "../rmap.js";
import type { ReclaimUnmapContext, ZapStrategy } from "../strategy.js";
import {
  folioMarkAccessed,
  folioMarkDirty,
  folioPteBatchAt,
  mmCounter,
  ptepGetAndClearFull,
  vmNormalPage,
  type ZapContext,
} from "../zap.js";
import { freePagesAndSwapCacheV65, tlbFlushRmapBatchV65, zapPresentPteV65 } from "../zap-v65.js";

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

/** v6.5's present-PTE body with the rules `broken` names left out (zapPresentPteV65 otherwise). */
function brokenZapPresentPte(broken: Breakage): (z: ZapContext) => number {
  return (z: ZapContext): number => {
    if (broken.badReturn) return 0;
    const k = z.k;
    const i = z.index;
    const pfn = vmNormalPage(z, z.ptent);
    const pte = ptepGetAndClearFull(z, i);
    if (!broken.skipTlbEntry) tlbRemoveTlbEntry(z.tlb, z.vpn(i));
    if (pfn < 0) return 1;
    const folio = pageFolio(k, pfn);
    let delay = false;
    if (!folioTestAnon(k, folio)) {
      if ((pte & PTE.dirty) !== 0) {
        if (!broken.skipMarkDirty) folioMarkDirty(k, folio);
        if (!broken.noDelayRmap && tlbDelayRmap(z.tlb)) {
          delay = true;
          z.forceFlush = true;
        }
      }
      if ((pte & PTE.young) !== 0) folioMarkAccessed(k, folio);
    }
    if (!broken.skipRss) z.addRss(mmCounter(k, folio), -1);
    if (broken.forgetRmapAndRef) return 1;
    if (broken.extraPut && folio === pfn && (k.mem.order[folio] as number) > 0) folioPutRefs(k, folio, 1);
    if (!delay) pageRemoveRmap(k, pfn, z.vma);
    if (broken.freeBeforeFlush) {
      folioPutRefs(k, folio, 1);
      return 1;
    }
    if (tlbRemovePage(z.tlb, pfn, delay)) {
      z.forceFlush = true;
      z.forceBreak = true;
    }
    return 1;
  };
}

export const reference: TestStrategy = perPteStrategy();
