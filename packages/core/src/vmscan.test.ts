import { describe, expect, it } from "vitest";
import { InvariantViolation } from "./errors.js";
import { folioLikelyMappedShared, folioMappers, folioMaybeMappedShared, sharingCensus } from "./rmap-walk.js";
import { runScenario, runScenarioDetailed } from "./run-scenario.js";
import { perPteStrategy, reference } from "./testing/per-pte.js";
import { memCgroupForceEmptyRounds } from "./vmscan.js";

const perPte = reference;
const range = perPteStrategy("range-batch", { reclaimBatch: "range" });
const folioOnly = perPteStrategy("folio-only-batch", { reclaimBatch: "folio-only" });
const m64 = { mthp: { "64K": "always" } };
const SIZE = 4 << 20;
const FOLIOS = SIZE / (64 << 10);
const PAGES = SIZE / 4096;

const write = [
  { op: "mmap", id: "a", size: SIZE, kind: "anon" },
  { op: "write", id: "a", value: 7 },
];

describe("lazyfree reclaim (MADV_FREE then MADV_PAGEOUT, no swap)", () => {
  const spec = {
    name: "lazyfree",
    config: m64,
    ops: [...write, { op: "madvise", id: "a", advice: "free" }, { op: "madvise", id: "a", advice: "pageout" }],
  };

  it("discards whole clean exclusive folios: nothing left mapped, no split", () => {
    for (const strategy of [perPte, range, folioOnly]) {
      const r = runScenario(spec, { strategy });
      expect(r.vmstat.pglazyfree).toBe(PAGES);
      expect(r.vmstat.pglazyfreed).toBe(PAGES);
      expect(r.procs.main?.RssAnon).toBe(0);
      expect(r.mthp["hugepages-64kB"]?.split).toBe(0);
      expect(r.mthp["hugepages-64kB"]?.nr_anon).toBe(0);
    }
  });

  it("per-PTE unmap (<= 6.14) queues every folio for deferred split; a batch (6.15+) none", () => {
    expect(runScenario(spec, { strategy: perPte }).mthp["hugepages-64kB"]?.split_deferred).toBe(FOLIOS);
    expect(runScenario(spec, { strategy: range }).mthp["hugepages-64kB"]?.split_deferred).toBe(0);
    expect(runScenario(spec, { strategy: folioOnly }).mthp["hugepages-64kB"]?.split_deferred).toBe(0);
    const per = runScenario(spec, { strategy: perPte }).costs;
    const batched = runScenario(spec, { strategy: range }).costs;
    expect(batched.nr_pages_mapped_atomic).toBeLessThan(per.nr_pages_mapped_atomic as number);
  });

  it("one redirtied page keeps its whole batch (and the folio becomes swap-backed again)", () => {
    const redirty = {
      name: "redirty",
      config: m64,
      ops: [
        ...write,
        { op: "madvise", id: "a", advice: "free" },
        { op: "write", id: "a", offset: "8K", length: "4K", value: 9 },
        { op: "reclaim" },
        { op: "expect", id: "a", offset: "0", value: 7 },
      ],
    };
    const r = runScenario(redirty, { strategy: range });
    expect(r.procs.main?.RssAnon).toBe(64);
    expect(r.vmstat.pglazyfreed).toBe(PAGES - 16);
    expect(r.mthp["hugepages-64kB"]?.split_deferred).toBe(0);
    expect(r.expects[0]?.ok).toBe(true);
    // One PTE at a time, the clean pages before the dirty one were already gone (<= 6.14).
    const old = runScenario(redirty, { strategy: perPte });
    expect(old.procs.main?.RssAnon).toBe(64 - 8);
    expect(old.mthp["hugepages-64kB"]?.nr_anon_partially_mapped).toBe(1);
    expect(old.expects[0]?.message).toMatch(/reads 0 at a\+0/);
  });

  it("a batch is bounded by the VMA: a folio cut by mprotect goes in two batches", () => {
    const cut = {
      name: "cut",
      config: m64,
      ops: [
        { op: "mmap", id: "a", size: "64K", kind: "anon" },
        { op: "write", id: "a" },
        { op: "mprotect", id: "a", offset: "32K", length: "32K", prot: "r" },
        { op: "madvise", id: "a", advice: "free" },
        { op: "reclaim" },
      ],
    };
    const r = runScenario(cut, { strategy: range });
    expect(r.vmstat.pglazyfreed).toBe(16);
    expect(r.mthp["hugepages-64kB"]?.split_deferred).toBe(1);
  });

  it("a strategy batching past its bound is caught", () => {
    const overrun = perPteStrategy("overrun", { reclaimBatch: "overrun" });
    expect(() => runScenario(spec, { strategy: overrun })).toThrow(InvariantViolation);
    expect(() => runScenario(spec, { strategy: overrun })).toThrow(/strategy-contract.*reclaimUnmapBatch returned 17/);
  });
});

describe("MADV_PAGEOUT and MADV_FREE on large folios", () => {
  const pageout = (cfg: object, extra: object[] = []) =>
    runScenario({ name: "po", config: { ...m64, ...cfg }, ops: [...write, ...extra] }, { strategy: perPte });

  it("without swap, dirty anon is not freed but every large folio is split (swap-out fallback)", () => {
    const r = pageout({}, [{ op: "madvise", id: "a", advice: "pageout" }]);
    const s = r.mthp["hugepages-64kB"];
    expect(s?.split).toBe(FOLIOS);
    expect(s?.swpout_fallback).toBe(FOLIOS);
    expect(s?.split_deferred).toBe(FOLIOS);
    expect(r.procs.main?.RssAnon).toBe(SIZE / 1024);
    expect(r.vmstat.pswpout).toBe(0);
  });

  it("with a swap file, folios are split and swapped as order-0 pages, and come back on access", () => {
    const r = pageout({ swap: "8M" }, [
      { op: "madvise", id: "a", advice: "pageout" },
      { op: "expect", counters: { procs: { main: { RssAnon: 0, VmSwap: SIZE / 1024 } }, vmstat: { pswpout: PAGES } } },
      { op: "expect", id: "a", offset: "12K", value: 7 },
      { op: "read", id: "a", offset: "12K", length: "4K" },
      { op: "expect", id: "a", offset: "12K", value: 7, counters: { procs: { main: { RssAnon: 4, VmSwap: SIZE / 1024 - 4 } } } },
      { op: "munmap", id: "a" },
      { op: "expect", counters: { procs: { main: { RssAnon: 0, VmSwap: 0 } } } },
    ]);
    expect(r.expects.map((e) => e.message)).toEqual(["ok", "ok", "ok", "ok"]);
    expect(r.mthp["hugepages-64kB"]?.swpout_fallback).toBe(FOLIOS);
  });

  it("a range covering half of each folio splits every folio (split_deferred counted by the split)", () => {
    const r = pageout({}, [
      { op: "madvise", id: "a", advice: "free", offset: "32K", length: "32K", stride: "64K" },
      { op: "madvise", id: "a", advice: "pageout" },
    ]);
    expect(r.mthp["hugepages-64kB"]?.split).toBe(FOLIOS);
    expect(r.mthp["hugepages-64kB"]?.split_deferred).toBe(FOLIOS);
    expect(r.vmstat.pglazyfreed).toBe(PAGES / 2);
    expect(r.procs.main?.RssAnon).toBe(SIZE / 1024 / 2);
  });

  it("PMD-mapped THP: whole lazyfree THPs are discarded after a PMD split only; half ones are split", () => {
    const pmd = { mthp: { "2M": "always" } };
    const whole = runScenario(
      {
        name: "pmd",
        config: pmd,
        ops: [...write, { op: "madvise", id: "a", advice: "free" }, { op: "madvise", id: "a", advice: "pageout" }],
      },
      { strategy: range },
    );
    expect(whole.vmstat.thp_split_pmd).toBe(2);
    expect(whole.mthp["hugepages-2048kB"]?.split).toBe(0);
    expect(whole.vmstat.pglazyfreed).toBe(PAGES);
    const half = runScenario(
      {
        name: "pmd",
        config: pmd,
        ops: [...write, { op: "madvise", id: "a", advice: "free", offset: "1M", length: "1M", stride: "2M" }],
      },
      { strategy: perPte },
    );
    expect(half.mthp["hugepages-2048kB"]?.split).toBe(2);
    expect(half.vmstat.thp_split_page).toBe(2);
    expect(half.vmstat.thp_split_pmd).toBe(2);
    expect(half.mthp["hugepages-2048kB"]?.split_deferred).toBe(0);
  });

  it("folios shared with a child are skipped by partial FREE and by PAGEOUT", () => {
    const r = pageout({}, [
      { op: "fork", as: "child" },
      { op: "madvise", id: "a", advice: "free", offset: "0", length: "32K" },
      { op: "madvise", id: "a", advice: "pageout" },
    ]);
    expect(r.mthp["hugepages-64kB"]?.split).toBe(0);
    expect(r.vmstat.pglazyfree).toBe(0);
    expect(r.procs.main?.RssAnon).toBe(SIZE / 1024);
  });
});

describe("the deferred split shrinker", () => {
  it("splits partially mapped folios and frees their unmapped pages", () => {
    const r = runScenario(
      {
        name: "shrink",
        config: m64,
        ops: [
          ...write,
          { op: "munmap", id: "a", offset: "4K", length: "4K", stride: "64K" },
          { op: "expect", counters: { mthp: { "hugepages-64kB": { nr_anon_partially_mapped: FOLIOS, split: 0 } } } },
          { op: "reclaim" },
          { op: "expect", id: "a", offset: "0", value: 7 },
        ],
      },
      { strategy: perPte },
    );
    const s = r.mthp["hugepages-64kB"];
    expect(s?.split).toBe(FOLIOS);
    expect(s?.nr_anon_partially_mapped).toBe(0);
    expect(s?.nr_anon).toBe(0);
    expect(r.procs.main?.RssAnon).toBe((PAGES - FOLIOS) * 4);
    expect(r.meminfo.AnonPages).toBe((PAGES - FOLIOS) * 4);
    expect(r.expects.every((e) => e.ok)).toBe(true);
  });

  it("drops PMD THPs that were queued only as underused candidates, splitting nothing", () => {
    const r = runScenario(
      { name: "u", config: { mthp: { "2M": "always" } }, ops: [...write, { op: "reclaim" }] },
      { strategy: perPte },
    );
    expect(r.mthp["hugepages-2048kB"]?.split).toBe(0);
    expect(r.costs.deferred_split_dequeue).toBe(2);
    expect(r.meminfo.AnonHugePages).toBe(SIZE / 1024);
  });
});

// The `reclaim` op is reclaim of the scenario's memory cgroup (the kernel probe writes its v1
// memory.force_empty with memory.swappiness 0). `foliolab kernel` measured this scenario on Linux
// 6.18.44 (this project's machine, 2026-12-02): pglazyfree 2048, pglazyfreed 2048, both processes'
// RssAnon 0 and split_deferred 64 at 64K: reclaim discards a lazyfree folio through every process
// that maps it (try_to_unmap() walks the rmap), 4K and 64K alike. MADV_PAGEOUT, by contrast, leaves
// such folios alone (folio_maybe_mapped_shared()): the probe's earlier reclaim, which was
// MADV_PAGEOUT over every mapping, measured pglazyfreed 256 here.
describe("reclaim of lazyfree folios two processes map", () => {
  const ops = (last: object[]) => [
    { op: "mmap", id: "a", size: "4M", kind: "anon" },
    { op: "madvise", id: "a", advice: "nohugepage" },
    { op: "mmap", id: "b", size: "4M", kind: "anon" },
    { op: "madvise", id: "b", advice: "hugepage" },
    { op: "write", id: "a", value: 5 },
    { op: "write", id: "b", value: 6 },
    { op: "madvise", id: "a", advice: "free" },
    { op: "madvise", id: "b", advice: "free" },
    { op: "fork", as: "child" },
    { op: "munmap", proc: "child", id: "a", offset: 0, length: 4096, stride: 16384 },
    { op: "munmap", proc: "child", id: "b", offset: 0, length: 4096, stride: 65536 },
    ...last,
  ];
  const config = { mthp: { "64K": "madvise", "2M": "never" } };

  it("discards them from both processes on reclaim, as Linux 6.18 measured", () => {
    const r = runScenario({ name: "lazyfree shared", config, ops: ops([{ op: "reclaim" }]) } as never, { strategy: reference });
    expect(r.vmstat.pglazyfree).toBe(2048);
    expect(r.vmstat.pglazyfreed).toBe(2048);
    expect(r.procs.main?.RssAnon).toBe(0);
    expect(r.procs.child?.RssAnon).toBe(0);
    expect(r.mthp["hugepages-64kB"]?.split_deferred).toBe(64);
  });

  it("leaves them to both processes on MADV_PAGEOUT, which skips folios another process may map", () => {
    const pageout = [
      { op: "madvise", id: "a", advice: "pageout" },
      { op: "madvise", id: "b", advice: "pageout" },
      { op: "madvise", proc: "child", id: "a", advice: "pageout" },
      { op: "madvise", proc: "child", id: "b", advice: "pageout" },
    ];
    const r = runScenario({ name: "lazyfree shared pageout", config, ops: ops(pageout) } as never, { strategy: reference });
    expect(r.vmstat.pglazyfreed).toBe(256);
    expect(r.procs.main?.RssAnon).toBe(7168);
    expect(r.procs.child?.RssAnon).toBe(6912);
  });
});

// Reclaim goes on until nothing more comes free, so the dirty file folios it unmapped are written
// back by the flusher threads it woke and dropped by a later round. `foliolab kernel` measured this
// scenario on Linux 6.18.44 (2026-12-02): RssFile 0 after the reclaim, the value written read back
// from disk, pgmajfault 2 (the first write's read-in and the load's), RssFile 128 kB at the end.
describe("reclaim of a shared file mapping's dirty folios", () => {
  it("writes them back and drops them: the next load reads the value from disk with a major fault", () => {
    const r = runScenario(
      {
        name: "file reclaim",
        config: { mthp: { "2M": "never" } },
        ops: [
          { op: "mmap", id: "f", size: "1M", kind: "file-shared" },
          { op: "write", id: "f", offset: "768K", length: "256K", value: 9 },
          { op: "reclaim" },
          { op: "expect", counters: { procs: { main: { RssFile: 0 } } } },
          { op: "expect", id: "f", offset: "800K", value: 9 },
          { op: "write", id: "f", offset: "896K", length: "64K", value: 10 },
        ],
      },
      { strategy: reference },
    );
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
    expect(r.vmstat.pgmajfault).toBe(2);
    expect(r.procs.main?.RssFile).toBe(128);
  });
});

describe("fork, COW and the sharing oracles", () => {
  it("a PTE-mapped large folio is reused after the child exits (6.15+), copied while it lives", () => {
    const base = [
      { op: "mmap", id: "a", size: "64K", kind: "anon" },
      { op: "write", id: "a", value: 1 },
      { op: "fork", as: "c" },
    ];
    const reuse = runScenario(
      { name: "reuse", config: m64, ops: [...base, { op: "exit", proc: "c" }, { op: "write", id: "a", value: 2 }] },
      { strategy: perPte },
    );
    expect(reuse.costs.folios_allocated).toBe(1);
    expect(reuse.mthp["hugepages-64kB"]?.nr_anon).toBe(1);
    const copy = runScenario(
      {
        name: "copy",
        config: m64,
        ops: [...base, { op: "write", id: "a", value: 2 }, { op: "expect", proc: "c", id: "a", value: 1 }],
      },
      { strategy: perPte },
    );
    expect(copy.costs.folios_allocated).toBe(1 + 16);
    expect(copy.expects[0]?.ok).toBe(true);
  });

  it("MM_ID keeps a false positive after three processes mapped a folio", () => {
    const { kernel } = runScenarioDetailed(
      {
        name: "three",
        config: m64,
        ops: [
          { op: "mmap", id: "a", size: "64K", kind: "anon" },
          { op: "write", id: "a" },
          { op: "fork", as: "c1" },
          { op: "fork", as: "c2" },
          { op: "exit" },
          { op: "exit", proc: "c1" },
        ],
      },
      { strategy: perPte },
    );
    const c2 = kernel.procs.get("c2")!;
    const folio = kernel.mem.pageFolio(c2.pgtables.readPte(c2.vmas[0]!.start) >>> 8);
    expect(folioMappers(kernel, folio)).toEqual(["c2"]);
    expect(folioMaybeMappedShared(kernel, folio)).toBe(true);
    expect(folioLikelyMappedShared(kernel, folio)).toBe(false);
  });

  it("MM_ID is exact for two processes once the child has gone", () => {
    const { kernel } = runScenarioDetailed(
      {
        name: "two",
        config: m64,
        ops: [
          { op: "mmap", id: "a", size: "64K", kind: "anon" },
          { op: "write", id: "a" },
          { op: "fork", as: "c" },
          { op: "exit", proc: "c" },
        ],
      },
      { strategy: perPte },
    );
    const main = kernel.procs.get("main")!;
    const folio = kernel.mem.pageFolio(main.pgtables.readPte(main.vmas[0]!.start) >>> 8);
    expect(folioMaybeMappedShared(kernel, folio)).toBe(false);
  });
});

describe("mremap", () => {
  it("moves pages with their content, a whole PMD as a PMD, and keeps the rmap working", () => {
    const r = runScenario(
      {
        name: "mremap",
        config: { mthp: { "2M": "always" } },
        ops: [
          { op: "mmap", id: "a", size: "4M", kind: "anon" },
          { op: "write", id: "a", value: 4 },
          { op: "mremap", id: "a", offset: "2M", length: "2M", to: "b" },
          { op: "mremap", id: "a", offset: "1M", length: "4K", to: "c" },
          {
            op: "expect",
            id: "b",
            offset: "4K",
            value: 4,
            counters: { procs: { main: { AnonHugePages: 2048 } }, vmstat: { thp_split_pmd: 1 } },
          },
          { op: "expect", id: "c", value: 4 },
          { op: "munmap", id: "a", offset: "0", length: "2M" },
          { op: "expect", counters: { mthp: { "hugepages-2048kB": { nr_anon_partially_mapped: 1 } } } },
          { op: "reclaim" },
          { op: "expect", id: "c", value: 4 },
          { op: "munmap", id: "b" },
          { op: "munmap", id: "c" },
          { op: "expect", counters: { meminfo: { AnonPages: 0 } } },
        ],
      },
      { strategy: perPte },
    );
    expect(r.expects.map((e) => e.message)).toEqual(["ok", "ok", "ok", "ok", "ok"]);
  });
});

describe("sharing oracles against the ground truth (mapcount-cow-reclaim.md 1.4)", () => {
  const thp = (ops: object[]) =>
    runScenarioDetailed(
      {
        name: "oracles",
        ops: [
          { op: "mmap", id: "a", size: "2M", kind: "anon" },
          { op: "madvise", id: "a", advice: "hugepage" },
          { op: "write", id: "a" },
          ...ops,
        ],
      },
      { strategy: perPte },
    ).kernel;
  const pteMap = [
    { op: "mprotect", id: "a", offset: "4K", length: "4K", prot: "r" },
    { op: "mprotect", id: "a", offset: "4K", length: "4K", prot: "rw" },
  ];

  it("E1: parent unmaps pages 0-127, child 384-511: only folio_estimated_sharers misses it", () => {
    const c = sharingCensus(
      thp([
        ...pteMap,
        { op: "fork", as: "c" },
        { op: "munmap", id: "a", offset: "0", length: "512K" },
        { op: "munmap", proc: "c", id: "a", offset: "1536K", length: "512K" },
      ]),
    );
    expect(c).toMatchObject({ folios: 1, shared: 1 });
    expect(c.estimatedSharers.falseNegatives).toBe(1);
    expect(c.likelyMappedShared.falseNegatives).toBe(0);
    expect(c.maybeMappedShared.falseNegatives).toBe(0);
  });

  it("E2: disjoint halves: folio_likely_mapped_shared misses it too, MM_ID does not", () => {
    const c = sharingCensus(
      thp([
        ...pteMap,
        { op: "fork", as: "c" },
        { op: "munmap", id: "a", offset: "1M", length: "1M" },
        { op: "munmap", proc: "c", id: "a", offset: "0", length: "1M" },
      ]),
    );
    expect(c).toMatchObject({ folios: 1, shared: 1 });
    expect(c.likelyMappedShared.falseNegatives).toBe(1);
    expect(c.estimatedSharers.falseNegatives).toBe(1);
    expect(c.maybeMappedShared.falseNegatives).toBe(0);
  });

  it("three processes at once leave MM_ID a false positive once only the third remains", () => {
    const c = sharingCensus(
      thp([...pteMap, { op: "fork", as: "c1" }, { op: "fork", as: "c2" }, { op: "exit" }, { op: "exit", proc: "c1" }]),
    );
    expect(c).toMatchObject({ folios: 1, shared: 0 });
    expect(c.maybeMappedShared.falsePositives).toBe(1);
    expect(c.likelyMappedShared.falsePositives).toBe(0);
  });
});

describe("reclaim's cost events: isolation and rmap walks", () => {
  const ops = (fork: boolean, how: "pageout" | "reclaim") => ({
    name: "walks",
    config: m64,
    ops: [
      ...write,
      { op: "madvise", id: "a", advice: "free" },
      ...(fork ? [{ op: "fork", as: "child" }] : []),
      how === "pageout" ? { op: "madvise", id: "a", advice: "pageout" } : { op: "reclaim" },
    ],
  });
  const costs = (fork: boolean, how: "pageout" | "reclaim") => runScenario(ops(fork, how), { strategy: range }).costs;

  it("MADV_PAGEOUT isolates each folio and walks its rmap once, to unmap it (reclaim_pages() ignores references)", () => {
    const c = costs(false, "pageout");
    expect([c.lru_isolate, c.rmap_walk, c.rmap_walk_vma]).toEqual([FOLIOS, FOLIOS, FOLIOS]);
  });

  it("the reclaim op walks each mapped folio twice (folio_referenced(), then try_to_unmap()), every VMA of every process", () => {
    expect(costs(false, "reclaim")).toMatchObject({ lru_isolate: FOLIOS, rmap_walk: 2 * FOLIOS, rmap_walk_vma: 2 * FOLIOS });
    // MADV_PAGEOUT leaves a folio another process maps; the reclaim op unmaps it from both.
    expect(costs(true, "reclaim")).toMatchObject({ lru_isolate: FOLIOS, rmap_walk: 2 * FOLIOS, rmap_walk_vma: 4 * FOLIOS });
  });

  it("the reclaim op's reference check steps over every page table entry of a folio in each mapping; MADV_PAGEOUT has none", () => {
    // folio_referenced_one() walks page_vma_mapped_walk() PTE by PTE: 16 a 64K folio a mapping
    expect(costs(false, "reclaim").rmap_walk_ptes).toBe(PAGES);
    expect(costs(true, "reclaim").rmap_walk_ptes).toBe(2 * PAGES);
    expect(costs(true, "pageout").rmap_walk_ptes).toBe(0);
    // a child without the first page of each folio: its mapping holds 15 entries of each
    const cut = ops(true, "reclaim");
    cut.ops.splice(-1, 0, { op: "munmap", proc: "child", id: "a", offset: 0, length: 4096, stride: 65536 } as never);
    expect(runScenario(cut, { strategy: range }).costs.rmap_walk_ptes).toBe(PAGES + (PAGES / 16) * 15);
    // a PMD mapping is one entry
    const pmd = {
      name: "pmd",
      config: { mthp: { "2M": "always" } },
      ops: [
        { op: "mmap", id: "a", size: "4M", kind: "anon" },
        { op: "write", id: "a" },
        { op: "madvise", id: "a", advice: "free" },
        { op: "reclaim" },
      ],
    };
    expect(runScenario(pmd as never, { strategy: range }).costs.rmap_walk_ptes).toBe(2);
  });

  it("the reclaim op's force_empty goes in the kernel's rounds and shrink_inactive_list() calls; MADV_PAGEOUT has none", () => {
    // 64 folios of 16 pages: two a round (16 < 32), then MAX_RECLAIM_RETRIES that free nothing
    expect(costs(false, "reclaim")).toMatchObject({ memcg_reclaim_round: FOLIOS / 2 + 16, shrink_inactive_list: FOLIOS });
    expect(costs(false, "pageout")).toMatchObject({ memcg_reclaim_round: 0, shrink_node: 0, shrink_inactive_list: 0 });
    // nothing to reclaim: 16 rounds of 13 priority levels, no list to shrink
    expect(runScenario({ name: "empty", ops: [{ op: "reclaim" }] }, { strategy: range }).costs).toMatchObject({
      memcg_reclaim_round: 16,
      shrink_node: 16 * 13,
      shrink_inactive_list: 0,
      lru_add_drain_all: 1,
    });
  });

  it("MADV_PAGEOUT flushes the caller's TLB once a folio, from try_to_unmap_one() (should_defer_flush(): no other CPU)", () => {
    // tlb:tlb_flush here: MADV_PAGEOUT of 128M of lazyfree 64K folios, 2048 local flushes from
    // try_to_unmap_one(), none remote (foliolab kernel reclaim/lazyfree-pageout -f 64K --size 128M)
    const before = costs(false, "pageout");
    const spec = ops(false, "pageout");
    const without = runScenario({ ...spec, ops: spec.ops.slice(0, -1) }, { strategy: range }).costs;
    expect(before.tlb_flush_range - without.tlb_flush_range).toBe(FOLIOS);
    expect(before.tlb_flush_pages - without.tlb_flush_pages).toBe(PAGES);
    expect(before.tlb_shootdown).toBe(0);
  });

  it("counts what Linux 6.18's tracepoints counted here for a 64M lazyfree force_empty", () => {
    // perf stat -e vmscan:mm_vmscan_memcg_reclaim_begin,vmscan:mm_vmscan_lru_shrink_inactive around
    // `foliolab kernel reclaim/lazyfree-shared -f <size> --size 64M` (6.18.44-fc-v1098, 2026-12-03),
    // and around a reclaim with nothing to take: 16 and 0
    const pages = (folio: number) => new Array<number>(16384 / folio).fill(folio);
    expect(memCgroupForceEmptyRounds(pages(1))).toMatchObject({ rounds: 382, shrinkInactive: 1678 });
    expect(memCgroupForceEmptyRounds(pages(16))).toMatchObject({ rounds: 528, shrinkInactive: 1024 });
    expect(memCgroupForceEmptyRounds(pages(512))).toMatchObject({ rounds: 48, shrinkInactive: 32 });
    expect(memCgroupForceEmptyRounds([])).toMatchObject({ rounds: 16, shrinkInactive: 0 });
  });

  it("a split walks the rmap to freeze the folio and once per new folio to map it back (remap_page())", () => {
    const spec = {
      name: "split",
      config: { ...m64, swap: "8M" },
      ops: [...write, { op: "madvise", id: "a", advice: "pageout" }],
    };
    const c = runScenario(spec, { strategy: range }).costs;
    // Each 64K folio: isolated, split (1 + 16 walks), then its 16 pages unmapped one walk each;
    // the 15 tail pages are isolated as they join the list.
    expect(c.lru_isolate).toBe(PAGES);
    expect(c.rmap_walk).toBe(FOLIOS * (1 + 16) + PAGES);
  });
});
