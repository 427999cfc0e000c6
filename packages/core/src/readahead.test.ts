// Readahead of regular files on mmap faults (readahead.ts). The counters pinned here are what
// `foliolab kernel` measured for each scenario on this project's machine (Linux 6.18.44, /tmp on
// ext4, read_ahead_kb 8192), field for field; the folio sizes are the probe's page-cache census
// (pagemap + kpageflags, `foliolab kernel --layout`). pgfault is the model's own count (the
// kernel's is machine-wide and the shared machine adds hundreds to thousands during a run).
import { describe, expect, it } from "vitest";
import type { Kernel } from "./kernel.js";
import { runScenario } from "./run-scenario.js";
import { reference } from "./testing/per-pte.js";

/** The page cache of every file: folio size in kB -> count. */
function pageCacheSizes(k: Kernel): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of k.files) {
    for (const folio of f.folios()) {
      const kb = `${4 << (k.mem.order[folio] as number)}K`;
      out[kb] = (out[kb] ?? 0) + 1;
    }
  }
  return out;
}

describe("mmap readahead of a regular file (do_sync/async_mmap_readahead, page_cache_ra_order)", () => {
  it("measured: a sequential read of 64M ramps the folio order by two per window up to PMD order, the 2M ones PMD-mapped, after one major fault", () => {
    let cache: Record<string, number> = {};
    const r = runScenario(
      {
        name: "seq read 64M",
        ops: [
          { op: "mmap", id: "f", size: "64M", kind: "file-private" },
          { op: "read", id: "f" },
          {
            op: "expect",
            counters: {
              procs: { main: { RssFile: 65536 } },
              vmstat: { pgmajfault: 1, thp_file_mapped: 12 },
              meminfo: { FileHugePages: 24576, FilePmdMapped: 24576 },
            },
          },
        ],
      },
      {
        strategy: reference,
        onOp: (k, _op, i) => {
          if (i === 1) cache = pageCacheSizes(k);
        },
      },
    );
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
    // 8M each of 4K (the read-around), 16K, 64K, 256K and 1M, then 2M up to EOF.
    expect(cache).toEqual({ "4K": 2048, "16K": 512, "64K": 128, "256K": 32, "1024K": 8, "2048K": 12 });
    // One fault per 16 pages on 4K, 16K and 64K folios (fault-around), one per 256K and 1M
    // folio (mapped whole), one per PMD.
    expect(r.vmstat.pgfault).toBe(128 * 3 + 32 + 8 + 12);
  });

  it("measured: the first fault is a major fault whose read-around caches read_ahead_kb around it; only a fault outside it is major again", () => {
    const r = runScenario(
      {
        name: "read-around",
        ops: [
          { op: "mmap", id: "s", size: "64M", kind: "file-shared" },
          { op: "write", id: "s", offset: "32M", length: "4K", value: 1 },
          { op: "expect", counters: { vmstat: { pgmajfault: 1 }, procs: { main: { RssFile: 4 } } } },
          // [28M, 36M) is cached: both ends are minor faults, fault-around maps 16 pages each.
          { op: "read", id: "s", offset: "28M", length: "4K" },
          { op: "read", id: "s", offset: "36860K", length: "4K" },
          { op: "expect", counters: { vmstat: { pgmajfault: 1 }, procs: { main: { RssFile: 132 } } } },
          { op: "read", id: "s", offset: "28668K", length: "4K" },
          { op: "expect", counters: { vmstat: { pgmajfault: 2 }, procs: { main: { RssFile: 196 } } } },
        ],
      },
      { strategy: reference },
    );
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
  });

  it("measured: shared writes map one page per fault on 4K folios and the whole folio when large; a private write copies one page into an order-0 anon folio", () => {
    let cache: Record<string, number> = {};
    const r = runScenario(
      {
        name: "file writes on large folios",
        ops: [
          { op: "mmap", id: "s", size: "32M", kind: "file-shared", file: "big" },
          { op: "write", id: "s" },
          {
            op: "expect",
            counters: { vmstat: { pgmajfault: 1 }, procs: { main: { RssFile: 32768 } }, meminfo: { FileHugePages: 0 } },
          },
          { op: "mmap", id: "p", size: "32M", kind: "file-private", file: "big" },
          // 20M is in a 64K folio: fault-around maps it whole; the COW then copies one 4K page.
          { op: "read", id: "p", offset: "20M", length: "4K" },
          { op: "write", id: "p", offset: "20M", length: "4K", value: 3 },
          // do_cow_fault() in a 256K folio: two order-0 copies, the file pages are not mapped.
          { op: "write", id: "p", offset: "24M", length: "8K", value: 4 },
          { op: "expect", id: "p", offset: "24M", value: 4 },
          { op: "expect", id: "s", offset: "24M", value: 2 },
          {
            op: "expect",
            counters: {
              vmstat: { pgmajfault: 1 },
              procs: { main: { RssFile: 32768 + 60, RssAnon: 12 } },
              mthp: { "hugepages-16kB": { anon_fault_alloc: 0 }, "hugepages-64kB": { anon_fault_alloc: 0 } },
            },
          },
        ],
      },
      {
        strategy: reference,
        onOp: (k, _op, i) => {
          if (i === 1) cache = pageCacheSizes(k);
        },
      },
    );
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
    // The write stream ramps like a read: 8M each of 4K, 16K, 64K and 256K.
    expect(cache).toEqual({ "4K": 2048, "16K": 512, "64K": 128, "256K": 32 });
    // One write fault per 4K page, then one per folio; then the read and three COW faults.
    expect(r.vmstat.pgfault).toBe(2048 + 512 + 128 + 32 + 4);
  });

  it("measured: after more than MMAP_LOTSAMISS misses without hits, a miss reads only its page", () => {
    const M = 16 << 20;
    // 120 writes 16M apart: each misses the previous read-around, each a major fault.
    const ops: unknown[] = [
      { op: "mmap", id: "s", size: "1920M", kind: "file-shared" },
      { op: "write", id: "s", length: "4K", stride: "16M" },
      { op: "expect", counters: { vmstat: { pgmajfault: 120 } } },
      // The 100th miss still read around (a minor fault here), the 101st did not.
      { op: "read", id: "s", offset: 99 * M + 8192, length: "4K" },
      { op: "expect", counters: { vmstat: { pgmajfault: 120 } } },
      { op: "read", id: "s", offset: 100 * M + 8192, length: "4K" },
      { op: "expect", counters: { vmstat: { pgmajfault: 121 }, procs: { main: { RssFile: 544 } } } },
    ];
    let cached = 0;
    const r = runScenario(
      { name: "lots of misses", config: { memory: "2G" }, ops },
      {
        strategy: reference,
        invariants: false,
        onOp: (k, _op, i) => {
          if (i === 1) cached = [...(k.files[0]?.folios() ?? [])].length;
        },
      },
    );
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
    // The first 100 misses read ra_pages around them (4M either side; [0, 8M) at offset 0), the
    // other 20 only their page.
    expect(cached).toBe(100 * 2048 + 20);
  });

  it("measured: MADV_RANDOM reads nothing ahead: every page is its own major fault and 4K folio", () => {
    // The ops of `foliolab kernel file/shared-dirty-munmap -f 4K --size 8M` before its munmap.
    let cache: Record<string, number> = {};
    const r = runScenario(
      {
        name: "random",
        ops: [
          { op: "mmap", id: "f", size: "8M", kind: "file-shared" },
          { op: "madvise", id: "f", advice: "random" },
          { op: "write", id: "f", value: 5 },
          { op: "expect", counters: { vmstat: { pgmajfault: 2048, pgfault: 2048 }, procs: { main: { RssFile: 8192 } } } },
        ],
      },
      {
        strategy: reference,
        onOp: (k, _op, i) => {
          if (i === 2) cache = pageCacheSizes(k);
        },
      },
    );
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
    expect(cache).toEqual({ "4K": 2048 });
  });
});
