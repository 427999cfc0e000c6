// File mappings with MADV_HUGEPAGE: the 2M page cache folios ext4 reads in for a VM_HUGEPAGE
// VMA. The numbers are what `foliolab kernel` measured for this scenario on this project's
// machine (Linux 6.18.44, /tmp on ext4): every expect agreed with the model, field for field.
import { describe, expect, it } from "vitest";
import { runScenario } from "./run-scenario.js";
import { reference } from "./testing/per-pte.js";

describe("file THPs on a VM_HUGEPAGE mapping (do_sync_mmap_readahead, do_set_pmd)", () => {
  it("measured: PMD-mapped reads, a COW drops the whole PMD, fault-around maps a large folio whole but not one ending at EOF", () => {
    const r = runScenario(
      {
        name: "file thp",
        ops: [
          { op: "mmap", id: "p", size: "4M", kind: "file-private" },
          { op: "madvise", id: "p", advice: "hugepage" },
          { op: "read", id: "p" },
          {
            op: "expect",
            counters: {
              procs: { main: { RssFile: 4096, RssAnon: 0 } },
              // one major fault reads both 2M folios in
              vmstat: { thp_file_mapped: 2, pgmajfault: 1, pgfault: 2 },
              meminfo: { FilePmdMapped: 4096, FileHugePages: 4096 },
            },
          },
          // A private write inside the PMD: the PMD goes (no PTEs put back), one anon copy.
          { op: "write", id: "p", offset: "1M", length: "4K", value: 7 },
          {
            op: "expect",
            counters: {
              procs: { main: { RssFile: 2048, RssAnon: 4 } },
              vmstat: { thp_split_pmd: 1 },
              meminfo: { FilePmdMapped: 2048, AnonPages: 4 },
            },
          },
          { op: "expect", id: "p", offset: "1M", value: 7 },
          // Fault-around maps the rest of that 2M folio by PTEs, whole (it lies in the VMA and PMD).
          { op: "read", id: "p", offset: "1028K", length: "4K" },
          { op: "expect", counters: { procs: { main: { RssFile: 4092 } } } },
          { op: "mmap", id: "s", size: "4M", kind: "file-shared" },
          { op: "madvise", id: "s", advice: "hugepage" },
          // A shared write miss reads the last 2M (EOF ends the window) and maps it writable by PMD.
          { op: "write", id: "s", offset: "2M", length: "4K", value: 8 },
          { op: "madvise", id: "s", advice: "dontneed" },
          { op: "read", id: "s", offset: "2M", length: "4K" },
          { op: "expect", id: "s", offset: "2M", value: 8 },
          {
            op: "expect",
            counters: { procs: { main: { RssFile: 6140 } }, meminfo: { FileHugePages: 6144 }, vmstat: { pgmajfault: 2 } },
          },
          { op: "exit" },
        ],
      },
      { strategy: reference },
    );
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
    // The files are unlinked: the last holder's exit evicts them and frees their cache.
    expect(r.meminfo.FileHugePages).toBe(0);
  });

  it("measured: a shared read and a shared write each get a PMD-mapped 2M folio; each miss is a major fault", () => {
    const r = runScenario(
      {
        name: "file thp shared",
        ops: [
          { op: "mmap", id: "f", size: "8M", kind: "file-shared" },
          { op: "madvise", id: "f", advice: "hugepage" },
          { op: "read", id: "f", offset: "0", length: "4K" },
          { op: "expect", counters: { vmstat: { pgmajfault: 1 }, procs: { main: { RssFile: 2048 } } } },
          { op: "write", id: "f", offset: "4M", length: "4K" },
          {
            op: "expect",
            counters: {
              vmstat: { pgmajfault: 2, thp_file_mapped: 2 },
              procs: { main: { RssFile: 4096 } },
              meminfo: { FileHugePages: 8192, FilePmdMapped: 4096 },
            },
          },
        ],
      },
      { strategy: reference },
    );
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
  });

  it("measured: a sequential read of 8M takes one major fault: the marked second folio reads the next window ahead", () => {
    const r = runScenario(
      {
        name: "file thp readahead",
        ops: [
          { op: "mmap", id: "f", size: "8M", kind: "file-private" },
          { op: "madvise", id: "f", advice: "hugepage" },
          { op: "read", id: "f" },
          {
            op: "expect",
            counters: {
              vmstat: { pgmajfault: 1, thp_file_mapped: 4, pgfault: 4 },
              meminfo: { FileHugePages: 8192, FilePmdMapped: 8192 },
              procs: { main: { RssFile: 8192 } },
            },
          },
        ],
      },
      { strategy: reference },
    );
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
  });
});
