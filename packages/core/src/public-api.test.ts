// The package's entries as an outside author sees them (through its own exports map), and a
// strategy written against @foliolab/core/strategy alone.
import * as core from "@foliolab/core";
import { runScenario, type ZapStrategy } from "@foliolab/core";
import * as internals from "@foliolab/core/internals";
import * as strategyApi from "@foliolab/core/strategy";
import {
  folioRemoveRmapPtes,
  foliosPutRefs,
  folioTestAnon,
  type MmuGather,
  mmCounter,
  pageFolio,
  ptepGetAndClearFull,
  tlbDelayRmap,
  tlbRemoveFolioPages,
  tlbRemoveTlbEntry,
  vmNormalPage,
  type ZapContext,
} from "@foliolab/core/strategy";
import { describe, expect, it } from "vitest";

/** One PTE at a time, rmap at once, one folios_put_refs per batch; file pages dirty-tracked. */
const tiny: ZapStrategy = {
  name: "tiny",
  gather: { reserveOne: true },
  zapPresentPtes(z: ZapContext): number {
    const pfn = vmNormalPage(z, z.ptent);
    const pte = ptepGetAndClearFull(z, z.index);
    tlbRemoveTlbEntry(z.tlb, z.vpn(z.index));
    if (pfn < 0) return 1;
    const folio = pageFolio(z.k, pfn);
    let delay = false;
    if (!folioTestAnon(z.k, folio) && (pte & 4) !== 0 && tlbDelayRmap(z.tlb)) {
      delay = true;
      z.forceFlush = true;
    }
    z.addRss(mmCounter(z.k, folio), -1);
    if (!delay) folioRemoveRmapPtes(z.k, folio, pfn, 1, z.vma);
    if (tlbRemoveFolioPages(z.tlb, pfn, 1, delay)) z.forceFlush = z.forceBreak = true;
    return 1;
  },
  flushRmaps(z: ZapContext): void {
    if (!z.tlb.delayedRmap) return;
    for (let i = 0; i < z.tlb.count; i++) {
      if ((z.tlb.itemFlags[i] ?? 0) & 1) {
        const pfn = z.tlb.itemPfn[i] ?? 0;
        folioRemoveRmapPtes(z.k, pageFolio(z.k, pfn), pfn, 1, z.vma);
        z.tlb.itemFlags[i] = 0;
      }
    }
    z.tlb.delayedRmap = false;
  },
  releaseGathered(tlb: MmuGather, from: number, to: number): void {
    const folios: number[] = [];
    const refs: number[] = [];
    for (let i = from; i < to; i++) {
      folios.push(pageFolio(tlb.k, tlb.itemPfn[i] ?? 0));
      refs.push(1);
    }
    foliosPutRefs(tlb.k, folios, refs, folios.length);
  },
};

describe("a strategy written against the public API only", () => {
  it("runs scenarios with every invariant checked", () => {
    const r = runScenario(
      {
        name: "public",
        config: { mthp: { "16K": "always" } },
        ops: [
          { op: "mmap", id: "a", size: "1M", kind: "anon" },
          { op: "mmap", id: "f", size: "64K", kind: "file-shared" },
          { op: "write", id: "a", value: 5 },
          { op: "write", id: "f", value: 6 },
          { op: "munmap", id: "a", offset: "4K", length: "4K", stride: "16K" },
          {
            op: "expect",
            id: "a",
            offset: "8K",
            value: 5,
            counters: { mthp: { "hugepages-16kB": { nr_anon_partially_mapped: 64 } } },
          },
          { op: "exit" },
          { op: "expect", counters: { meminfo: { AnonPages: 0 } } },
        ],
      },
      { strategy: tiny },
    );
    expect(r.strategy).toBe("tiny");
    expect(r.expects.map((e) => e.message)).toEqual(["ok", "ok"]);
    // The anon pages. At exit the file's 16 leave its page cache (its last holder went, so its
    // inode is evicted), but this CPU's lru_add batch, which took them at their faults and has
    // not moved (16 < 31 folios), still holds a reference on each: as the kernel, they are freed
    // when it moves.
    expect(r.costs.pages_freed).toBe(256);
    expect(r.costs.page_cache_delete).toBe(16);
  });
});

/** The runtime names of the two stable entries: a change here is a change of the promise. */
const CORE_SURFACE = [
  "COST_EVENT_KEYS",
  "COST_EVENT_NAMES",
  "INVARIANTS",
  "InternalError",
  "InvariantViolation",
  "MEMINFO_NAMES",
  "MODEL_LIMITS",
  "PROC_STATUS_NAMES",
  "MTHP_STAT_NAMES",
  "OP_NAMES",
  "ScenarioError",
  "StrategyError",
  "StrategyTimeout",
  "VMSTAT_NAMES",
  "costsToRecord",
  "createKernel",
  "formatBytes",
  "observe",
  "observeDigest",
  "observedFreePages",
  "parseScenario",
  "parseSize",
  "planScenario",
  "runScenario",
  "runScenarioDetailed",
  "scenarioSchema",
  "snapshotCounters",
  "traceHooks",
  "validateScenario",
];
const STRATEGY_SURFACE = [
  "CostEvent",
  "DEFAULT_GATHER_GEOMETRY",
  "FolioBatch",
  "GATHER",
  "HPAGE_PMD_NR",
  "MM_ANONPAGES",
  "MM_FILEPAGES",
  "MM_SHMEMPAGES",
  "MM_SWAPENTS",
  "MmuGather",
  "PAGEVEC_SIZE",
  "PAGE_SIZE",
  "PG",
  "PTE",
  "PTRS_PER_PTE",
  "RECLAIM_BATCHING",
  "ZAP_FOLIO_STEPS_V69",
  "ZAP_PTE_STEPS_V65",
  "ZapContext",
  "clearFullPtes",
  "deferredSplitFolio",
  "folioEntireMapcount",
  "folioGet",
  "folioMapcount",
  "folioMapped",
  "folioMarkAccessed",
  "folioMarkDirty",
  "folioNrPages",
  "folioNrPagesMapped",
  "folioOrder",
  "folioPteBatch",
  "folioPteBatchAt",
  "folioPteBatchFlags",
  "folioPut",
  "folioPutRefs",
  "folioRefAdd",
  "folioRefCount",
  "folioRemoveRmapPtes",
  "folioRemoveRmapRange",
  "folioTestAnon",
  "folioTestFlag",
  "folioTestLarge",
  "folioTestLazyfree",
  "folioUnqueueDeferredSplit",
  "foliosPutRefs",
  "freePagesAndSwapCacheV65",
  "freePagesAndSwapCacheV69",
  "freePagesAndSwapCacheV618",
  "freeSwapCache",
  "getAndClearFullPtes",
  "isSwapPte",
  "lruAddDrain",
  "mmCounter",
  "pageFolio",
  "pageMapcount",
  "pageRemoveRmap",
  "pteDirty",
  "ptePfn",
  "ptePresent",
  "pteWrite",
  "pteYoung",
  "ptepGet",
  "ptepGetAndClearFull",
  "reclaimUnmapBatchOf",
  "releasePages",
  "tlbDelayRmap",
  "tlbFlushRmapBatchV65",
  "tlbFlushRmapBatchV69",
  "tlbRemoveFolioPages",
  "tlbRemovePage",
  "tlbRemoveTlbEntries",
  "tlbRemoveTlbEntry",
  "vmNormalPage",
  "zapPresentFolioPtesV69",
  "zapPresentFolioPtesV69With",
  "zapPresentPteV65",
  "zapPresentPteV65With",
  "zapPresentPtesV69",
  "zapPresentPtesV69With",
];

describe("the package's entries", () => {
  it('"." is what a tool needs to run, check and read scenarios, and nothing of the model', () => {
    expect(Object.keys(core).sort()).toEqual([...CORE_SURFACE].sort());
  });

  it('"./strategy" is what a strategy is built with: the surface the peer range promises', () => {
    expect(Object.keys(strategyApi).sort()).toEqual([...STRATEGY_SURFACE].sort());
  });

  it('"./internals" holds both, as the same objects (one class identity for errors and the gather)', () => {
    const all = internals as Record<string, unknown>;
    for (const [name, value] of [...Object.entries(core), ...Object.entries(strategyApi)]) {
      expect(all[name], name).toBe(value);
    }
    expect(Object.keys(internals).length).toBeGreaterThan(CORE_SURFACE.length + STRATEGY_SURFACE.length);
  });
});
