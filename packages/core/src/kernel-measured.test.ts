// Behaviours of Linux 6.18 pinned with the numbers `foliolab kernel` measured on this project's machine.

// mprotect() and madvise() that change no vm_flags change nothing (mprotect_fixup() and
// madvise_update_vma() return early, 6.18): no VMA split, no PMD split, no flush. The numbers
// are what `foliolab kernel` measured for this scenario on this project's machine (Linux
// 6.18.44, THP 2M on madvise): one thp_split_pmd (the real r -> rw change at 5M), three of the
// four 2M PMDs still mapped (AnonHugePages 6144 kB).
import { describe, expect, it } from "vitest";
import { runScenario } from "./run-scenario.js";
import { reference } from "./testing/per-pte.js";

describe("flag changes that change nothing", () => {
  it("split no VMA and no PMD; a real change splits one PMD, as on Linux 6.18", () => {
    const r = runScenario(
      {
        name: "noop flags",
        ops: [
          { op: "mmap", id: "a", size: "8M", kind: "anon" },
          { op: "madvise", id: "a", advice: "hugepage" },
          { op: "write", id: "a", value: 3 },
          { op: "mprotect", id: "a", offset: "1M", length: "4K", prot: "rw" },
          { op: "madvise", id: "a", offset: "3M", length: "8K", advice: "hugepage" },
          { op: "expect", counters: { vmstat: { thp_split_pmd: 0 }, procs: { main: { AnonHugePages: 8192 } } } },
          { op: "mprotect", id: "a", offset: "5M", length: "4K", prot: "r" },
          { op: "mprotect", id: "a", offset: "5M", length: "4K", prot: "rw" },
          { op: "write", id: "a", offset: "5M", length: "4K", value: 4 },
          {
            op: "expect",
            counters: {
              vmstat: { thp_split_pmd: 1, thp_fault_alloc: 4 },
              meminfo: { AnonHugePages: 6144 },
              procs: { main: { AnonHugePages: 6144, RssAnon: 8192 } },
            },
          },
          { op: "expect", id: "a", offset: "5M", value: 4 },
          { op: "expect", id: "a", offset: "1M", value: 3 },
        ],
      },
      { strategy: reference },
    );
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
  });
});

// CONFIG_PT_RECLAIM (on in this machine's 6.18): MADV_DONTNEED that empties a whole PTE table
// frees it, so the next fault there finds pmd_none and gets a PMD THP. `foliolab kernel` measured
// this scenario here: thp_fault_alloc 2 (the two tables the 5M range covered whole), the third
// 2M keeps its table and faults 4K pages; the process ends with AnonHugePages 4096 kB.
describe("page-table reclaim on MADV_DONTNEED", () => {
  it("frees the PTE tables the range covered whole: the next faults there map PMD THPs", () => {
    const r = runScenario(
      {
        name: "pt reclaim",
        ops: [
          { op: "mmap", id: "a", size: "6M", kind: "anon" },
          { op: "madvise", id: "a", advice: "nohugepage" },
          { op: "write", id: "a", value: 3 },
          { op: "madvise", id: "a", offset: "0", length: "5M", advice: "dontneed" },
          { op: "madvise", id: "a", advice: "hugepage" },
          { op: "write", id: "a", value: 4 },
          {
            op: "expect",
            counters: {
              vmstat: { thp_fault_alloc: 2, pgfault: 1536 + 2 + 256 },
              mthp: { "hugepages-2048kB": { anon_fault_alloc: 2, nr_anon: 2 } },
              procs: { main: { RssAnon: 6144, AnonHugePages: 4096 } },
            },
          },
          { op: "expect", id: "a", offset: "4M", value: 4 },
          { op: "expect", id: "a", offset: "5M", value: 4 },
        ],
      },
      { strategy: reference },
    );
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
  });
});
