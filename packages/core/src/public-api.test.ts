// A strategy written against the package's public entry alone, as an outside author would.
import {
  folioRemoveRmapPtes,
  foliosPutRefs,
  folioTestAnon,
  type MmuGather,
  mmCounter,
  pageFolio,
  ptepGetAndClearFull,
  runScenario,
  tlbDelayRmap,
  tlbRemoveFolioPages,
  tlbRemoveTlbEntry,
  vmNormalPage,
  type ZapContext,
  type ZapStrategy,
} from "@foliolab/core";
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
    // The anon pages, and at exit the file's 16 (its last holder went, so its inode is evicted).
    expect(r.costs.pages_freed).toBe(256 + 16);
  });
});
