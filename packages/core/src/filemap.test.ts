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

describe("named files (mmap `file`): later mmaps, from any process, map the same file", () => {
  // Measured with `foliolab kernel` on this project's machine (Linux 6.18.44, ext4): every
  // value and RssFile below agreed with the kernel.
  const ops = [
    { op: "mmap", id: "a", size: "1M", kind: "file-shared", file: "db" },
    { op: "write", id: "a", offset: 0, length: "64K", value: 5 },
    { op: "munmap", id: "a" },
    { op: "expect", counters: { procs: { main: { RssFile: 0 } } } },
    // Remapped privately: the read finds the cached pages (the write's 64K, fault-around maps 16).
    { op: "mmap", id: "b", size: "1M", kind: "file-private", file: "db" },
    { op: "read", id: "b", offset: 0, length: "4K" },
    { op: "expect", id: "b", offset: 0, value: 5 },
    { op: "expect", counters: { procs: { main: { RssFile: 64 } } } },
    { op: "fork", as: "c" },
    // A child maps a part of it shared and writes: the parent's private mapping sees the write.
    { op: "mmap", proc: "c", id: "c", size: "256K", kind: "file-shared", file: "db" },
    { op: "write", proc: "c", id: "c", offset: "4K", length: "4K", value: 9 },
    { op: "expect", id: "b", offset: "4K", value: 9 },
    { op: "expect", proc: "c", id: "c", offset: 0, value: 5 },
    { op: "expect", counters: { procs: { main: { RssFile: 64 }, c: { RssFile: 64 } } } },
    { op: "exit", proc: "c" },
    { op: "exit" },
  ];

  it("measured: munmap, remap and read find the page cache; a shared write is seen through another mapping", () => {
    const r = runScenario({ name: "named", ops }, { strategy: reference });
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
  });

  it("without the name each mmap is a new file: the remapped read sees zeroes", () => {
    const unnamed = ops.map((o) => {
      const { file: _file, ...rest } = o as Record<string, unknown>;
      return rest;
    });
    const r = runScenario({ name: "unnamed", ops: unnamed }, { strategy: reference });
    const failed = r.expects.filter((e) => !e.ok).map((e) => e.op);
    expect(failed).toEqual([6, 11, 12]);
  });
});
