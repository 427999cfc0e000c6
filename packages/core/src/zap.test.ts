import { describe, expect, it } from "vitest";
import { observe } from "./observe.js";
import { runScenario, runScenarioDetailed } from "./run-scenario.js";
import { reference } from "./testing/per-pte.js";

const run = (spec: object) => runScenario({ name: "t", ...spec }, { strategy: reference });
const m64 = { mthp: { "64K": "always" } };

describe("munmap", () => {
  it("unmapping whole 64K folios page by page queues each once (spuriously) and frees everything", () => {
    const r = run({
      config: m64,
      ops: [
        { op: "mmap", id: "a", size: "8M", kind: "anon" },
        { op: "write", id: "a" },
        { op: "munmap", id: "a" },
      ],
    });
    const folios = (8 << 20) / (64 << 10);
    const s = r.mthp["hugepages-64kB"];
    expect(s?.split_deferred).toBe(folios);
    expect(s?.nr_anon_partially_mapped).toBe(0);
    expect(s?.nr_anon).toBe(0);
    expect(r.costs.split_queue_lock).toBe(2 * folios);
    expect(r.costs.pages_freed).toBe((8 << 20) / 4096);
    expect(r.meminfo.AnonPages).toBe(0);
    expect(r.procs.main?.RssAnon).toBe(0);
  });

  it("the issue's partial unmap: one 4K page per 64K folio of 64M", () => {
    const r = run({
      config: m64,
      ops: [
        { op: "mmap", id: "a", size: "64M", kind: "anon" },
        { op: "write", id: "a", value: 1 },
        { op: "munmap", id: "a", offset: "4K", length: "4K", stride: "64K" },
        { op: "expect", counters: { mthp: { "hugepages-64kB": { split_deferred: 1024, nr_anon_partially_mapped: 1024 } } } },
        { op: "munmap", id: "a" },
        {
          op: "expect",
          counters: { mthp: { "hugepages-64kB": { nr_anon_partially_mapped: 0, nr_anon: 0 } }, meminfo: { AnonPages: 0 } },
        },
      ],
    });
    expect(r.expects.map((e) => e.message)).toEqual(["ok", "ok"]);
    expect(r.costs.pages_freed).toBe(16384);
    expect(r.costs.folios_freed).toBe(1024);
    // 4K folios are never queued.
    const small = run({
      ops: [
        { op: "mmap", id: "a", size: "1M", kind: "anon" },
        { op: "write", id: "a" },
        { op: "munmap", id: "a", offset: "4K", length: "4K", stride: "64K" },
      ],
    });
    expect(small.costs.split_queue_lock).toBe(0);
  });

  it("a munmap over many pages fills the gather and flushes mid-table", () => {
    const r = run({
      ops: [
        { op: "mmap", id: "a", size: "64M", kind: "anon" },
        { op: "write", id: "a" },
        { op: "munmap", id: "a" },
      ],
    });
    const pages = (64 << 20) / 4096;
    // 8 local + 19 * 510 entries per cycle: the gather holds 9698 pages before a forced flush.
    expect(r.costs.gather_flush).toBe(Math.ceil(pages / 9698));
    expect(r.costs.gather_batch_alloc).toBe(19);
    expect(r.costs.pages_freed).toBe(pages);
    // Range flushes above 33 pages become full flushes on x86.
    expect(r.costs.tlb_flush_full).toBeGreaterThanOrEqual(Math.ceil(pages / 9698));
  });

  it("unmapping part of a PMD-mapped THP splits the PMD, not the folio", () => {
    const { result: r, kernel } = runScenarioDetailed(
      {
        name: "t",
        ops: [
          { op: "mmap", id: "a", size: "2M", kind: "anon" },
          { op: "madvise", id: "a", advice: "hugepage" },
          { op: "write", id: "a", value: 2 },
          { op: "munmap", id: "a", offset: "4K", length: "4K" },
        ],
      },
      { strategy: reference },
    );
    expect(r.vmstat.thp_split_pmd).toBe(1);
    expect(r.mthp["hugepages-2048kB"]?.split_deferred).toBe(1);
    expect(r.vmstat.thp_deferred_split_page).toBe(1);
    expect(r.mthp["hugepages-2048kB"]?.nr_anon_partially_mapped).toBe(1);
    expect(r.meminfo.AnonHugePages).toBe(0);
    expect(r.meminfo.AnonPages).toBe(2044);
    const pages = observe(kernel).procs.main?.mappings.a ?? [];
    expect(pages[0]).toMatchObject({ map: "pte", order: 9, value: 2 });
    expect(pages[1]?.map).toBe("unmapped");
  });
});

describe("exit and MADV_DONTNEED", () => {
  it("exit frees everything, sends no TLB flush (no CPU has the mm loaded) and keeps the proc's last status", () => {
    const r = run({
      config: m64,
      ops: [{ op: "mmap", id: "a", size: "4M", kind: "anon" }, { op: "write", id: "a" }, { op: "exit" }],
    });
    expect(r.procs.main?.RssAnon).toBe(4096);
    expect(r.meminfo.AnonPages).toBe(0);
    expect(r.costs.pages_freed).toBe(1024);
    expect(r.costs.tlb_flush_range).toBe(0);
    expect(r.costs.tlb_flush_full).toBe(0);
  });

  it("munmap flushes once more after freeing the page tables (freed_tables)", () => {
    const pte = run({
      config: m64,
      ops: [
        { op: "mmap", id: "a", size: "4M", kind: "anon" },
        { op: "write", id: "a" },
        { op: "munmap", id: "a" },
      ],
    });
    // One flush at the VMA end (tlb_end_vma) and one in tlb_finish_mmu for the freed tables.
    expect(pte.costs.tlb_flush_full).toBe(2);
    const pmd = run({
      ops: [
        { op: "mmap", id: "a", size: "4M", kind: "anon" },
        { op: "madvise", id: "a", advice: "hugepage" },
        { op: "write", id: "a" },
        { op: "munmap", id: "a" },
      ],
    });
    expect(pmd.costs.tlb_flush_full).toBe(1);
  });

  it("DONTNEED of a range covering whole folios queues nothing but the two boundary folios", () => {
    const r = run({
      config: m64,
      ops: [
        { op: "mmap", id: "a", size: "4M", kind: "anon" },
        { op: "write", id: "a" },
        { op: "madvise", id: "a", advice: "dontneed", offset: "32K", length: "1M" },
        { op: "expect", id: "a", offset: "64K", value: 0 },
      ],
    });
    // Under per-page every folio touched is queued once; 16 whole folios + 2 partial ones.
    expect(r.mthp["hugepages-64kB"]?.split_deferred).toBe(17);
    expect(r.mthp["hugepages-64kB"]?.nr_anon_partially_mapped).toBe(2);
    expect(r.procs.main?.RssAnon).toBe(4096 - 1024);
    expect(r.expects[0]?.ok).toBe(true);
  });
});

describe("dirty shared file pages", () => {
  it("are marked dirty and flushed before their rmap goes (delayed rmap, forced flush)", () => {
    const r = run({
      ops: [
        { op: "mmap", id: "f", size: "64K", kind: "file-shared" },
        { op: "write", id: "f" },
        { op: "munmap", id: "f" },
      ],
    });
    expect(r.costs.folio_mark_dirty).toBe(16 + 16);
    // The forced flush under the PT lock comes on top of the VMA-end flush.
    expect(r.costs.tlb_flush_range).toBe(1);
    expect(r.costs.pages_freed).toBe(0);
    expect(r.procs.main?.RssFile).toBe(0);
  });
});

describe("s390 (MMU_GATHER_NO_GATHER)", () => {
  it("frees at gather time and still keeps every invariant", () => {
    const r = run({
      config: { arch: "s390", ...m64 },
      ops: [
        { op: "mmap", id: "a", size: "1M", kind: "anon" },
        { op: "write", id: "a" },
        { op: "munmap", id: "a" },
      ],
    });
    expect(r.arch).toBe("s390");
    expect(r.costs.gather_entries).toBe(0);
    expect(r.costs.pages_freed).toBe(256);
  });
});

describe("determinism", () => {
  it("the same scenario gives identical results twice", () => {
    const spec = {
      config: { mthp: { "16K": "always", "64K": "always" } },
      ops: [
        { op: "mmap", id: "a", size: "3M", kind: "anon" },
        { op: "write", id: "a", stride: "12K", length: "4K" },
        { op: "mmap", id: "f", size: "128K", kind: "file-shared" },
        { op: "write", id: "f" },
        { op: "munmap", id: "a", offset: "64K", length: "8K", stride: "128K" },
        { op: "exit" },
      ],
    };
    expect(JSON.stringify(run(spec))).toBe(JSON.stringify(run(spec)));
  });
});
