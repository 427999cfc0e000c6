import { describe, expect, it } from "vitest";
import { observe } from "./observe.js";
import { runScenario, runScenarioDetailed } from "./run-scenario.js";
import { reference } from "./testing/per-pte.js";

const run = (spec: object) => runScenario({ name: "t", ...spec }, { strategy: reference });

function orders(spec: object, id = "a"): number[] {
  const { kernel } = runScenarioDetailed({ name: "t", ...spec }, { strategy: reference });
  const pages = observe(kernel).procs.main?.mappings[id] ?? [];
  return pages.map((p) => p.order);
}

describe("anonymous write faults pick the folio size", () => {
  it("allocates 64K folios when 64K is always enabled", () => {
    const r = run({
      config: { mthp: { "64K": "always" } },
      ops: [
        { op: "mmap", id: "a", size: "1M", kind: "anon" },
        { op: "write", id: "a" },
      ],
    });
    expect(r.mthp["hugepages-64kB"]?.anon_fault_alloc).toBe(16);
    expect(r.mthp["hugepages-64kB"]?.nr_anon).toBe(16);
    expect(r.vmstat.pgfault).toBe(16);
    expect(r.procs.main?.RssAnon).toBe(1024);
    expect(r.meminfo.AnonPages).toBe(1024);
  });

  it("needs MADV_HUGEPAGE when the size is set to madvise", () => {
    const base = { config: { mthp: { "64K": "madvise" } } };
    const plain = run({
      ...base,
      ops: [
        { op: "mmap", id: "a", size: "1M", kind: "anon" },
        { op: "write", id: "a" },
      ],
    });
    expect(plain.mthp["hugepages-64kB"]?.anon_fault_alloc).toBe(0);
    expect(plain.vmstat.pgfault).toBe(256);
    const advised = run({
      ...base,
      ops: [
        { op: "mmap", id: "a", size: "1M", kind: "anon" },
        { op: "madvise", id: "a", advice: "hugepage" },
        { op: "write", id: "a" },
      ],
    });
    expect(advised.mthp["hugepages-64kB"]?.anon_fault_alloc).toBe(16);
  });

  it("MADV_NOHUGEPAGE wins over an always policy", () => {
    const r = run({
      config: { mthp: { "64K": "always" } },
      ops: [
        { op: "mmap", id: "a", size: "256K", kind: "anon" },
        { op: "madvise", id: "a", advice: "nohugepage" },
        { op: "write", id: "a" },
      ],
    });
    expect(r.mthp["hugepages-64kB"]?.anon_fault_alloc).toBe(0);
    expect(r.vmstat.pgfault).toBe(64);
  });

  it("falls back to the largest size whose aligned range fits the VMA and is unpopulated", () => {
    const cfg = { mthp: { "16K": "always", "64K": "always" } };
    // 64K + 48K: the tail 48K cannot hold an aligned 64K folio, so it gets three 16K folios.
    expect(
      new Set(
        orders({
          config: cfg,
          ops: [
            { op: "mmap", id: "a", size: "112K", kind: "anon" },
            { op: "write", id: "a" },
          ],
        }),
      ),
    ).toEqual(new Set([4, 2]));
    // A page already populated inside a 64K range forces 16K for the rest of that range's quarters.
    const o = orders({
      config: cfg,
      ops: [
        { op: "mmap", id: "a", size: "64K", kind: "anon" },
        { op: "madvise", id: "a", advice: "nohugepage", offset: "0", length: "64K" },
        { op: "write", id: "a", offset: "0", length: "4K" },
        { op: "madvise", id: "a", advice: "hugepage", offset: "0", length: "64K" },
        { op: "write", id: "a" },
      ],
    });
    expect(o.slice(0, 4)).toEqual([0, 0, 0, 0]);
    expect(o.slice(4)).toEqual(new Array(12).fill(2));
  });

  it("a read maps the shared zero page, and a later write copies it into an order-0 folio", () => {
    const r = run({
      ops: [
        { op: "mmap", id: "a", size: "64K", kind: "anon" },
        { op: "read", id: "a" },
        {
          op: "expect",
          id: "a",
          offset: "4K",
          value: 0,
          counters: { procs: { main: { RssAnon: 0 } }, meminfo: { AnonPages: 0 } },
        },
        { op: "write", id: "a", offset: "4K", length: "4K", value: 9 },
        { op: "expect", id: "a", offset: "4K", value: 9, counters: { procs: { main: { RssAnon: 4 } } } },
      ],
    });
    expect(r.expects.every((e) => e.ok)).toBe(true);
    expect(r.vmstat.pgfault).toBe(17);
  });
});

describe("PMD-sized THP", () => {
  const thp = [
    { op: "mmap", id: "a", size: "4M", kind: "anon" },
    { op: "madvise", id: "a", advice: "hugepage" },
  ];

  it("a write fault maps a whole PMD THP", () => {
    const r = run({ ops: [...thp, { op: "write", id: "a", value: 3 }, { op: "expect", id: "a", offset: "2M", value: 3 }] });
    expect(r.vmstat.thp_fault_alloc).toBe(2);
    expect(r.mthp["hugepages-2048kB"]?.anon_fault_alloc).toBe(2);
    expect(r.meminfo.AnonHugePages).toBe(4096);
    expect(r.procs.main?.AnonHugePages).toBe(4096);
    expect(r.vmstat.pgfault).toBe(2);
    expect(r.expects[0]?.ok).toBe(true);
  });

  it("a read maps the huge zero page; a write then allocates a THP in its place", () => {
    const r = run({
      ops: [
        ...thp,
        { op: "read", id: "a", length: "2M" },
        { op: "expect", counters: { meminfo: { AnonPages: 0 }, vmstat: { thp_fault_alloc: 0 } } },
        { op: "write", id: "a", offset: "8K", length: "4K", value: 5 },
        { op: "expect", id: "a", offset: "8K", value: 5 },
        { op: "expect", id: "a", offset: "12K", value: 0 },
      ],
    });
    expect(r.expects.map((e) => e.ok)).toEqual([true, true, true]);
    expect(r.vmstat.thp_fault_alloc).toBe(1);
  });

  it("stays 4K when the PMD size is not enabled for the VMA", () => {
    const r = run({
      ops: [
        { op: "mmap", id: "a", size: "2M", kind: "anon" },
        { op: "write", id: "a" },
      ],
    });
    expect(r.vmstat.thp_fault_alloc).toBe(0);
    expect(r.vmstat.pgfault).toBe(512);
  });
});

describe("file faults go through the page cache", () => {
  it("a shared write dirties the page cache; another mapping's private copy is its own", () => {
    const r = run({
      ops: [
        { op: "mmap", id: "f", size: "16K", kind: "file-shared" },
        { op: "write", id: "f", value: 4 },
        { op: "expect", id: "f", offset: "4K", value: 4, counters: { procs: { main: { RssFile: 16, RssAnon: 0 } } } },
        { op: "mmap", id: "p", size: "16K", kind: "file-private" },
        { op: "read", id: "p" },
        { op: "write", id: "p", offset: "0", length: "4K", value: 8 },
        { op: "expect", id: "p", offset: "0", value: 8, counters: { procs: { main: { RssFile: 28, RssAnon: 4 } } } },
        { op: "expect", id: "p", offset: "4K", value: 0 },
      ],
    });
    expect(r.expects.map((e) => e.message)).toEqual(["ok", "ok", "ok"]);
  });
});
