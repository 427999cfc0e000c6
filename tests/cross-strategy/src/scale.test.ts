/**
 * A 64 GiB process, as the model was silently wrong about before its PTEs held more than 24
 * bits of pfn: every page written, read back at both ends and the middle, counters exact after
 * the write and after the munmap, every page freed. Under folio-batch (what Linux runs), with
 * the checker off for time; core's limits.test.ts covers the pfns either side of 2^24 with it on.
 */

import { runScenarioDetailed, validateScenario } from "@foliolab/core";
import folioBatch from "@foliolab/strategy-folio-batch";
import { describe, expect, it } from "vitest";

const G = 1024 ** 3;
const PAGE = 4096;

describe("a 64 GiB process (64K folios)", () => {
  it("reads back what it wrote; RssAnon, AnonPages, nr_anon and pgfault are exact; munmap frees it all", () => {
    const size = 64 * G;
    const kb = size / 1024;
    const folios = size / (64 * 1024);
    const spec = validateScenario({
      name: "64G populate + munmap",
      config: { mthp: { "64K": "always" }, invariants: false },
      ops: [
        { op: "mmap", id: "a", size: "64G", kind: "anon" },
        { op: "write", id: "a", value: 7 },
        { op: "write", id: "a", offset: size - PAGE, length: "4K", value: 9 },
        { op: "expect", id: "a", offset: 0, value: 7 },
        { op: "expect", id: "a", offset: size / 2 + PAGE, value: 7 },
        { op: "expect", id: "a", offset: size - PAGE, value: 9 },
        {
          op: "expect",
          counters: {
            meminfo: { AnonPages: kb },
            procs: { main: { RssAnon: kb } },
            mthp: { "hugepages-64kB": { anon_fault_alloc: folios, nr_anon: folios } },
            vmstat: { pgfault: folios },
          },
        },
        { op: "munmap", id: "a" },
        {
          op: "expect",
          counters: {
            meminfo: { AnonPages: 0 },
            procs: { main: { RssAnon: 0 } },
            mthp: { "hugepages-64kB": { nr_anon: 0 } },
          },
        },
      ],
    });
    const { result, kernel } = runScenarioDetailed(spec, { strategy: folioBatch });
    expect(kernel.widePtes).toBe(true);
    expect(result.expects.filter((e) => !e.ok)).toEqual([]);
    expect(result.meminfo.MemFree).toBe(kernel.config.memoryPages * 4 - 4096);
    expect(result.costs.pages_freed).toBe(size / PAGE);
  }, 120_000);
});
