// Every broken strategy of the conformance kit (@foliolab/testkit/lib MUTANTS), one named export each.
import { mutant } from "@foliolab/testkit/lib";

export const freesBeforeFlush = mutant("mutant-frees-before-flush").strategy;
export const dropsReferenceEarly = mutant("mutant-drops-reference-early").strategy;
export const forgetsRmap = mutant("mutant-forgets-rmap").strategy;
export const dropsExtraReference = mutant("mutant-drops-extra-reference").strategy;
export const rmapBeforeFlush = mutant("mutant-rmap-before-flush").strategy;
export const ignoresFolioEnd = mutant("mutant-ignores-folio-end").strategy;
export const batchPastRangeEnd = mutant("mutant-batch-past-range-end").strategy;
export const staleNrPages = mutant("mutant-stale-nr-pages").strategy;
export const rmapAfterGatherSeed000V3 = mutant("mutant-rmap-after-gather-seed000-v3").strategy;
export const leaksReference = mutant("mutant-leaks-reference").strategy;
export const recountsDeferredSplit = mutant("mutant-recounts-deferred-split").strategy;
export const forgetsFreeSwapCache = mutant("mutant-forgets-free-swap-cache").strategy;
export const reclaimBatchPastVmaEnd = mutant("mutant-reclaim-batch-past-vma-end").strategy;
export const reclaimBatchPastPteHole = mutant("mutant-reclaim-batch-past-pte-hole").strategy;
export const zeroPageNoTlbEntry = mutant("mutant-zero-page-no-tlb-entry").strategy;
export const ignoresFullGather = mutant("mutant-ignores-full-gather").strategy;
export const noBreakOnFullGather = mutant("mutant-no-break-on-full-gather").strategy;
export const dropsLastOfFullBatch = mutant("mutant-drops-last-of-full-batch").strategy;
export const dropsPageCacheRef = mutant("mutant-drops-page-cache-ref").strategy;
