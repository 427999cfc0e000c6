// Swap behaviours of Linux 6.18 pinned with the numbers `foliolab kernel` measured on this
// project's machine (Linux 6.18.44, a 64M swap file the kernel probe enabled for the run on a
// rotational virtio disk, zswap off). The scenario files in testing/measured/ hold those numbers
// in their `expect` ops; kernel-probe's kernel.test.ts runs the same files on the kernel.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runScenario } from "./run-scenario.js";
import type { Scenario } from "./scenario.js";
import { reference } from "./testing/per-pte.js";

const measured = (name: string): Scenario =>
  JSON.parse(readFileSync(new URL(`./testing/measured/${name}.json`, import.meta.url), "utf8")) as Scenario;

describe("swap, as Linux 6.18 does it (numbers measured by foliolab kernel)", () => {
  it("a read fault keeps the swap cache: reclaim drops the clean folio without writing it again", () => {
    // do_swap_page() frees the swap cache only when should_try_to_free_swap() says so (a write
    // fault that will own the page); the 128 pages read back stay in the swap cache, clean, and
    // the next MADV_PAGEOUT drops them with no pswpout: 256 + 64 (the rewritten pages) = 320.
    const r = runScenario(measured("swap-read-keeps-cache"), { strategy: reference });
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
    expect(r.vmstat.pswpout).toBe(320);
    // One fault per page read or written back, one per checked load.
    expect(r.vmstat.pgfault).toBe(256 + 128 + 64 + 2);
  });

  it("a write fault on a swap PTE is one fault, also when do_wp_page() has to copy", () => {
    // The child's write finds the swap entry shared with main (count 2): do_swap_page() maps it
    // read-only and finishes with do_wp_page() (a copy) in the same fault. Main's write then owns
    // the swap-cache folio and reuses it. 4096 pages x 3 writes = 12288 faults (the kernel
    // measured 12379 machine-wide on a quiet machine); the model used to count 16384. The loads at the end hit present pages.
    const r = runScenario(measured("swap-write-fault"), { strategy: reference });
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
    expect(r.vmstat.pgfault).toBe(12288);
  });

  it("writes nothing to swap for zero-filled pages (the swap zeromap, 6.12+)", () => {
    // "a" is 256 pages written with 0: they take swap entries (VmSwap 1024 kB) but no IO. "b"'s
    // 16 64K folios fall back to order 0 (swpout_fallback 16); their 15 zero-filled pages each
    // are mapped to the zero page by the split, the 16 written ones go to swap (pswpout 16).
    const r = runScenario(measured("swap-zeromap"), { strategy: reference });
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
    expect(r.vmstat.pswpout).toBe(16);
    expect(r.mthp["hugepages-64kB"]?.swpout_fallback).toBe(16);
    expect(r.procs.main).toMatchObject({ VmSwap: 1080, RssAnon: 8 });
  });
});
