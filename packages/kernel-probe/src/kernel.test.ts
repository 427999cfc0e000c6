/**
 * These tests run scenarios on this machine's kernel. They need Linux, root (to set the mTHP
 * knobs and read /proc/kpageflags) and a kernel with mTHP (hugepages-<size>kB/enabled); without
 * them they are skipped with the reason in the suite's name.
 */

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kernelAvailable } from "./available.js";
import { KernelProbeError } from "./errors.js";
import { type FolioLayout, folioLayout } from "./layout.js";
import { runOnKernel } from "./run.js";
import { knobDirs, readPolicy, snapshotCounters, writePolicy } from "./sysfs.js";

const avail = kernelAvailable();
const skipReason = !avail.ok
  ? avail.reason
  : !avail.root
    ? "not root: cannot set hugepages-<size>kB/enabled or read /proc/kpageflags"
    : !avail.mthp
      ? "no /sys/kernel/mm/transparent_hugepage/hugepages-<size>kB/enabled (kernel without mTHP)"
      : undefined;

const M4 = 4 << 20;
/**
 * Only the given size for MADV_HUGEPAGE regions. "madvise", not "always": "always" would hand large
 * folios to every process on the machine (node included) and the system-wide counters would count them.
 */
const only = (size: string) => ({ mthp: { [size]: "madvise", ...(size === "2M" ? {} : { "2M": "never" }) } });
const HUGE = { op: "madvise", id: "a", advice: "hugepage" } as const;

describe.skipIf(skipReason !== undefined)(`on the real kernel${skipReason ? ` (skipped: ${skipReason})` : ""}`, () => {
  const original = new Map<string, string | null>();
  beforeAll(() => {
    for (const d of knobDirs()) {
      original.set(d, readPolicy(d));
      original.set(`${d}/shmem_enabled`, readPolicy(`${d}/shmem_enabled`));
    }
  });
  afterAll(() => {
    // Safety net: whatever happened above, put every knob back.
    for (const [d, v] of original) if (v !== null && readPolicy(d) !== v) writePolicy(d, v);
  });

  it.each([
    ["16K", 16],
    ["64K", 64],
    ["256K", 256],
  ])("gives %s folios when %s mTHP is the only size allowed", async (size, kb) => {
    const dir = `hugepages-${kb}kB`;
    let layout: FolioLayout | undefined;
    const r = await runOnKernel(
      {
        name: `fault-${size}`,
        config: only(size),
        ops: [{ op: "mmap", id: "a", size: "4M", kind: "anon" }, HUGE, { op: "write", id: "a" }],
      },
      {
        onOp: ({ index, pids, mappings }) => {
          const m = mappings.main?.a;
          if (index === 2 && m && pids.main) layout = folioLayout(pids.main, m.address, m.address + m.size);
        },
      },
    );
    const folios = M4 / (kb * 1024);
    expect(r.strategy).toBe("linux");
    // System-wide counters: other processes' MADV_HUGEPAGE regions may add to them, never take away.
    expect(r.mthp[dir]?.anon_fault_alloc).toBeGreaterThanOrEqual(folios);
    expect(r.mthp[dir]?.nr_anon).toBeGreaterThanOrEqual(folios);
    for (const [d, row] of Object.entries(r.mthp)) if (d !== dir) expect(row.anon_fault_alloc, d).toBe(0);
    expect(r.procs.main?.RssAnon).toBe(4096);
    expect(r.procs.main?.AnonHugePages).toBe(0);
    expect(layout?.histogram).toEqual({ [size]: folios });
    expect(layout?.folios.every((f) => f.pmd === false && f.mappedPages === f.size / 4096 && f.flags.includes("anon"))).toBe(
      true,
    );
    expect(r.missing).toEqual(["costs"]);
  });

  it("gives shmem 64K folios with hugepages-64kB/shmem_enabled always, one fault each, and puts the knob back", async () => {
    const before = readPolicy("hugepages-64kB/shmem_enabled");
    let layout: FolioLayout | undefined;
    const r = await runOnKernel(
      {
        name: "shmem-64K",
        config: { shmem: { "64K": "always" } },
        ops: [
          { op: "mmap", id: "s", size: "4M", kind: "shmem" },
          { op: "write", id: "s" },
          { op: "expect", id: "s", offset: "1M", value: 2 },
        ],
      },
      {
        onOp: ({ index, pids, mappings }) => {
          const m = mappings.main?.s;
          if (index === 1 && m && pids.main) layout = folioLayout(pids.main, m.address, m.address + m.size);
        },
      },
    );
    expect(r.mthp["hugepages-64kB"]?.shmem_alloc).toBeGreaterThanOrEqual(64);
    expect(r.procs.main?.RssShmem).toBe(4096);
    expect(r.procs.main?.RssAnon).toBe(0);
    expect(layout?.pageCache).toEqual({ "64K": 64 });
    expect(layout?.folios.every((f) => f.flags.includes("swapbacked") && !f.flags.includes("anon"))).toBe(true);
    expect(r.expects.every((e) => e.ok)).toBe(true);
    expect(readPolicy("hugepages-64kB/shmem_enabled")).toBe(before);
  });

  it("gives PMD-mapped 2M THPs with the model's default (2M madvise) and MADV_HUGEPAGE", async () => {
    const r = await runOnKernel(
      {
        name: "pmd",
        ops: [
          { op: "mmap", id: "a", size: "4M", kind: "anon" },
          { op: "madvise", id: "a", advice: "hugepage" },
          { op: "write", id: "a" },
        ],
      },
      { layout: true },
    );
    expect(r.mthp["hugepages-2048kB"]?.anon_fault_alloc).toBe(2);
    expect(r.vmstat.thp_fault_alloc).toBeGreaterThanOrEqual(2);
    expect(r.procs.main?.AnonHugePages).toBe(4096);
    const l = r.layouts?.main?.a;
    expect(l?.histogram).toEqual({ "2M": 2 });
    expect(l?.pmdMappedBytes).toBe(M4);
    expect(l?.folios.every((f) => f.pmd === true)).toBe(true);
  });

  it("gives 4K pages only with every size never", async () => {
    const r = await runOnKernel(
      {
        name: "small",
        config: { mthp: { "2M": "never" } },
        ops: [
          { op: "mmap", id: "a", size: "1M", kind: "anon" },
          { op: "madvise", id: "a", advice: "hugepage" },
          { op: "write", id: "a" },
        ],
      },
      { layout: true },
    );
    for (const row of Object.values(r.mthp)) expect(row.anon_fault_alloc).toBe(0);
    expect(r.layouts?.main?.a?.histogram).toEqual({ "4K": 256 });
    expect(r.procs.main?.RssAnon).toBe(1024);
  });

  it("counts one deferred split per 64K folio when one page of each is unmapped, and dequeues them at the final unmap", async () => {
    let layout: FolioLayout | undefined;
    const partial: number[] = [];
    const r = await runOnKernel(
      {
        name: "unmap1",
        config: only("64K"),
        ops: [
          { op: "mmap", id: "a", size: "4M", kind: "anon" },
          HUGE,
          { op: "write", id: "a" },
          { op: "munmap", id: "a", offset: "4K", length: "4K", stride: "64K" },
          {
            op: "expect",
            counters: { procs: { main: { RssAnon: 3840 } } },
          },
          { op: "munmap", id: "a" },
        ],
      },
      {
        onOp: ({ index, pids, mappings }) => {
          const m = mappings.main?.a;
          if (index === 3 && m && pids.main) layout = folioLayout(pids.main, m.address, m.address + m.size);
          if (index === 0 || index === 3 || index === 5) {
            partial.push(snapshotCounters().mthp["hugepages-64kB"]?.nr_anon_partially_mapped ?? Number.NaN);
          }
        },
      },
    );
    expect(r.expects).toEqual([{ op: 4, ok: true, message: "ok" }]);
    const row = r.mthp["hugepages-64kB"]!;
    expect(row.split_deferred).toBeGreaterThanOrEqual(64);
    const [start, mid, end] = partial as [number, number, number];
    expect(mid - start).toBeGreaterThanOrEqual(64); // queued by the partial unmap
    expect(mid - end).toBeGreaterThanOrEqual(64); // dequeued by the final unmap
    expect(r.procs.main?.RssAnon).toBe(0);
    expect(layout?.partiallyMapped).toBe(64);
    expect(layout?.folios.every((f) => f.size === 65536 && f.mappedPages === 15)).toBe(true);
    expect(r.timings.find((t) => t.op === 3)?.syscalls).toBe(64);
  });

  it("enqueues only the two boundary folios for one MADV_DONTNEED over a range", async () => {
    const r = await runOnKernel({
      name: "dnrange",
      config: only("64K"),
      ops: [
        { op: "mmap", id: "a", size: "4M", kind: "anon" },
        HUGE,
        { op: "write", id: "a" },
        { op: "madvise", id: "a", offset: "32K", length: `${M4 / 1024 - 64}K`, advice: "dontneed" },
      ],
    });
    expect(r.mthp["hugepages-64kB"]?.split_deferred).toBeGreaterThanOrEqual(2);
    expect(r.mthp["hugepages-64kB"]?.split_deferred).toBeLessThan(64); // not one per folio: the range frees whole folios
    expect(r.procs.main?.RssAnon).toBe(64);
  });

  it("keeps contents apart after fork (COW) and keeps an exited proc's last values", async () => {
    const r = await runOnKernel({
      name: "cow",
      config: only("64K"),
      ops: [
        { op: "mmap", id: "a", size: "4M", kind: "anon" },
        HUGE,
        { op: "write", id: "a", value: 1 },
        { op: "fork", as: "child" },
        { op: "write", proc: "child", id: "a", length: "4K", stride: "64K", value: 2 },
        { op: "expect", proc: "child", id: "a", offset: 0, value: 2 },
        { op: "expect", proc: "child", id: "a", offset: "4K", value: 1 },
        { op: "expect", id: "a", offset: 0, value: 1 },
        { op: "expect", id: "a", offset: "64K", value: 2 },
        { op: "exit", proc: "child" },
        { op: "expect", id: "a", offset: 0, value: 1 },
      ],
    });
    expect(r.errors).toEqual([]);
    expect(r.expects.map((e) => e.ok)).toEqual([true, true, true, false, true]);
    expect(r.mthp["hugepages-64kB"]?.anon_fault_alloc).toBeGreaterThanOrEqual(64);
    expect(r.expects[3]?.message).toBe("main reads 1 at a+64K, expected 2");
    // The child mapped all 4M (shared or copied) when it exited; main still maps all of it.
    expect(r.procs.child).toEqual({ RssAnon: 4096, RssFile: 0, RssShmem: 0, VmSwap: 0, AnonHugePages: 0 });
    expect(r.procs.main?.RssAnon).toBe(4096);
    expect(r.timings.map((t) => t.name)).toContain("exit");
  });

  it("maps files of the mapping's size in its own temp dir and removes them", async () => {
    const parent = mkdtempSync(path.join(os.tmpdir(), "kprobe-test-"));
    try {
      const r = await runOnKernel(
        {
          name: "files",
          ops: [
            { op: "mmap", id: "s", size: "1M", kind: "file-shared" },
            { op: "mmap", id: "p", size: "1M", kind: "file-private" },
            { op: "write", id: "s", value: 7 },
            { op: "write", id: "p", value: 9 },
            { op: "expect", id: "s", offset: "512K", value: 7 },
            { op: "expect", id: "p", offset: "512K", value: 9 },
          ],
        },
        { tmpDir: parent },
      );
      expect(r.expects.every((e) => e.ok)).toBe(true);
      expect(r.procs.main?.RssFile).toBe(1024);
      expect(r.procs.main?.RssAnon).toBe(1024);
      expect(readdirSync(parent)).toEqual([]);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it("moves a range with mremap and reports ops the kernel refuses without stopping", async () => {
    const r = await runOnKernel({
      name: "mremap",
      config: { mthp: { "2M": "never" } },
      ops: [
        { op: "mmap", id: "a", size: "4M", kind: "anon" },
        { op: "write", id: "a", value: 5 },
        { op: "mremap", id: "a", offset: "2M", length: "2M", to: "b" },
        { op: "expect", id: "b", offset: "4K", value: 5 },
        { op: "expect", id: "a", offset: "2M", value: 5 },
        { op: "mprotect", id: "b", prot: "r" },
        { op: "write", id: "b", length: "4K" },
        { op: "expect", id: "b", offset: 0, value: 5 },
      ],
    });
    expect(r.expects.map((e) => e.ok)).toEqual([true, false, true]);
    expect(r.expects[1]?.message).toMatch(/not mapped/);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]?.op).toBe(6);
    expect(r.errors[0]?.message).toMatch(/SIGSEGV/);
    expect(r.mappings.main?.b?.size).toBe(2 << 20);
    expect((r.mappings.main?.b?.address ?? 1) % (2 << 20)).toBe(0);
  });

  it("releases a process's pins at its exit, so the folios only they kept are gone when counters are read", async () => {
    // Found by the fuzzer (seed 1318000269): io_uring's exit work unpinned them only later.
    const r = await runOnKernel({
      name: "pin exit",
      config: only("16K"),
      ops: [
        { op: "mmap", id: "a", size: "128K", kind: "anon" },
        HUGE,
        { op: "write", id: "a", offset: "64K", length: "64K" },
        { op: "fork", as: "c" },
        { op: "pin", proc: "c", id: "a", length: "64K" },
        { op: "expect", counters: { mthp: { "hugepages-16kB": { nr_anon: 8 } } } },
        { op: "exit", proc: "c" },
        { op: "expect", counters: { mthp: { "hugepages-16kB": { nr_anon: 4 } } } },
      ],
    });
    expect(r.errors).toEqual([]);
    expect(r.expects.map((e) => e.ok)).toEqual([true, true]);
  });

  it("keeps a moved range's offset inside its PMD, as the model places it (mremapPlacement)", async () => {
    const r = await runOnKernel({
      name: "mremap offset",
      config: { mthp: { "2M": "never" } },
      ops: [
        { op: "mmap", id: "a", size: "4M", kind: "anon" },
        { op: "mremap", id: "a", offset: "2880K", length: "512K", to: "b" },
      ],
    });
    expect(r.errors).toEqual([]);
    expect((r.mappings.main?.b?.address ?? 0) % (2 << 20)).toBe((2880 - 2048) << 10);
  });

  it("discards fully lazyfree'd 64K folios on MADV_PAGEOUT without splitting, and splits dirty ones when there is no swap", async () => {
    const swaps = readFileSync("/proc/swaps", "utf8").trim().split("\n").length - 1;
    const r = await runOnKernel({
      name: "free-pageout",
      config: only("64K"),
      ops: [
        { op: "mmap", id: "a", size: "1M", kind: "anon" },
        { op: "mmap", id: "d", size: "1M", kind: "anon" },
        HUGE,
        { op: "madvise", id: "d", advice: "hugepage" },
        { op: "write", id: "a" },
        { op: "write", id: "d" },
        { op: "madvise", id: "a", advice: "free" },
        { op: "madvise", id: "a", advice: "pageout" },
        { op: "expect", counters: { procs: { main: { RssAnon: 1024 } } } },
        { op: "madvise", id: "d", advice: "pageout" },
      ],
    });
    expect(r.errors).toEqual([]);
    expect(r.expects[0]?.ok).toBe(true);
    expect(r.vmstat.pglazyfree).toBeGreaterThanOrEqual(256);
    if (swaps === 0) {
      // "a" is gone, "d" stays resident but every one of its 16 folios was split on the way.
      expect(r.procs.main?.RssAnon).toBe(1024);
      expect(r.mthp["hugepages-64kB"]?.split).toBeGreaterThanOrEqual(16);
      expect(r.mthp["hugepages-64kB"]?.swpout_fallback).toBeGreaterThanOrEqual(16);
    }
  });

  const lazyfreeShared = {
    name: "reclaim of shared lazyfree folios",
    config: { mthp: { "64K": "madvise", "2M": "never" } },
    ops: [
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
      { op: "reclaim" },
    ],
  } as const;
  // Groups left behind: one named after a runner that has gone (another test file's run may hold one meanwhile).
  const probeGroups = () =>
    readdirSync("/sys/fs/cgroup/memory").filter((d) => d.startsWith("foliolab-probe-") && !existsSync(`/proc/${d.slice(15)}`));

  it.skipIf(!existsSync("/sys/fs/cgroup/memory/memory.force_empty"))(
    "reclaims in the scenario's own memory cgroup: lazyfree folios two processes map are discarded too, and the group goes after",
    async () => {
      const r = await runOnKernel(lazyfreeShared as never);
      expect(r.errors).toEqual([]);
      expect(r.vmstat.pglazyfree).toBe(2048);
      expect(r.vmstat.pglazyfreed).toBe(2048);
      expect(r.procs.main?.RssAnon).toBe(0);
      expect(r.procs.child?.RssAnon).toBe(0);
      expect(probeGroups()).toEqual([]);
    },
  );

  it("runs every proc on one CPU, the last the runner may use unless FOLIOLAB_PROBE_CPU names one", async () => {
    const cpusOf = (pid: number) => /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    const mine = cpusOf(process.pid) ?? "";
    const last = mine.split(",").at(-1)?.split("-").at(-1);
    const seen = async () => {
      const out: Record<string, string | undefined> = {};
      await runOnKernel(
        {
          name: "cpu",
          config: only("64K"),
          ops: [
            { op: "mmap", id: "a", size: "64K", kind: "anon" },
            { op: "fork", as: "child" },
            { op: "write", id: "a", proc: "child" },
          ],
        },
        {
          onOp: ({ index, pids }) => {
            if (index !== 2) return;
            for (const [name, pid] of Object.entries(pids)) out[name] = cpusOf(pid);
          },
        },
      );
      return out;
    };
    expect(await seen()).toEqual({ main: last, child: last });
    process.env.FOLIOLAB_PROBE_CPU = "0";
    try {
      expect(await seen()).toEqual({ main: "0", child: "0" });
    } finally {
      delete process.env.FOLIOLAB_PROBE_CPU;
    }
  });

  // 48 order-0 folios marked lazyfree: the lru_lazyfree batch moves (and counts) when it holds 31,
  // and 17 stay in it. A fork does not move them (the runner's child must not either: it used to
  // populate its own file mappings with MADV_POPULATE_READ, which drains this CPU's batches), and
  // the next run does not count them.
  const lazyfree48 = (fork: boolean) => ({
    name: "48 lazyfree pages",
    config: only("64K"),
    ops: [
      { op: "mmap", id: "a", size: "192K", kind: "anon" },
      { op: "write", id: "a" },
      { op: "madvise", id: "a", advice: "free" },
      ...(fork ? [{ op: "fork", as: "child" }] : []),
    ],
  });
  it("counts pglazyfree as the lru_lazyfree batch moves: a fork does not move it, and a run does not count what an earlier one left", async () => {
    const forked = await runOnKernel(lazyfree48(true) as never);
    expect(forked.errors).toEqual([]);
    expect(forked.vmstat.pglazyfree).toBe(31);
    const next = await runOnKernel(lazyfree48(false) as never);
    expect(next.vmstat.pglazyfree).toBe(31);
  });

  it("names the problem when the machine has no v1 memory cgroup to reclaim in", async () => {
    process.env.FOLIOLAB_PROBE_MEMCG_ROOT = "/nonexistent-memcg";
    try {
      const r = await runOnKernel(lazyfreeShared as never);
      expect(r.errors.map((e) => e.message)).toEqual([expect.stringMatching(/reclaim needs a v1 memory cgroup/)]);
    } finally {
      delete process.env.FOLIOLAB_PROBE_MEMCG_ROOT;
    }
  });

  it("pins a range with a long-term pin and unpins it", async () => {
    const r = await runOnKernel({
      name: "pin",
      config: only("64K"),
      ops: [
        { op: "mmap", id: "a", size: "256K", kind: "anon" },
        HUGE,
        { op: "write", id: "a", value: 3 },
        { op: "pin", id: "a", length: "64K" },
        { op: "fork", as: "child" },
        { op: "write", proc: "child", id: "a", length: "4K", value: 4 },
        { op: "expect", id: "a", offset: 0, value: 3 },
        { op: "expect", proc: "child", id: "a", offset: 0, value: 4 },
        { op: "unpin", id: "a", length: "64K" },
      ],
    });
    if (r.errors.some((e) => /io_uring/.test(e.message))) return; // io_uring disabled here: nothing to check
    expect(r.errors).toEqual([]);
    expect(r.expects.every((e) => e.ok)).toBe(true);
  });

  it("repeats a scenario and gives every op's median and spread", async () => {
    const r = await runOnKernel(
      {
        name: "repeat",
        config: only("64K"),
        ops: [{ op: "mmap", id: "a", size: "1M", kind: "anon" }, HUGE, { op: "write", id: "a" }, { op: "munmap", id: "a" }],
      },
      { repeat: 3 },
    );
    expect(r.repeat).toBe(3);
    expect(r.timings.map((t) => t.name)).toEqual(["mmap", "madvise", "write", "munmap"]);
    for (const t of r.timings) {
      expect(t.samples).toHaveLength(3);
      expect(t.median).toBeGreaterThanOrEqual(t.min);
      expect(t.median).toBeLessThanOrEqual(t.max);
    }
    expect(r.timings[3]?.pages).toBe(256);
    expect(r.repeatsDiffer).toEqual([]);
  });

  it("restores the mTHP knobs when the runner is killed mid-run", async () => {
    const before = readPolicy("hugepages-32kB");
    let during: string | null = null;
    const run = runOnKernel(
      {
        name: "killed",
        config: { mthp: { "32K": before === "madvise" ? "never" : "madvise" } },
        ops: [
          { op: "mmap", id: "a", size: "64K", kind: "anon" },
          { op: "write", id: "a" },
        ],
      },
      {
        onOp: ({ index, pids }) => {
          if (index !== 0 || !pids.main) return;
          during = readPolicy("hugepages-32kB");
          // The controller is main's parent.
          const ppid = Number(readFileSync(`/proc/${pids.main}/stat`, "utf8").split(") ")[1]?.split(" ")[1]);
          process.kill(ppid, "SIGTERM");
        },
      },
    );
    await expect(run).rejects.toThrow(KernelProbeError);
    expect(during).not.toBe(before);
    expect(readPolicy("hugepages-32kB")).toBe(before);
  });

  it("times ops on the proc's CPU clock when asked: a sleep-free op never takes longer than on the wall clock's order", async () => {
    const s = {
      name: "cpu clock",
      ops: [
        { op: "mmap", id: "a", size: "4M", kind: "anon" },
        { op: "write", id: "a" },
        { op: "munmap", id: "a" },
      ],
    };
    const cpu = await runOnKernel(s, { clock: "cpu" });
    expect(cpu.clock).toBe("cpu");
    const wall = await runOnKernel(s);
    expect(wall.clock).toBe("wall");
    const t = (r: typeof cpu) => r.timings.find((x) => x.name === "write")?.median ?? 0;
    // CPU time of 1024 faults: non-zero, and not orders of magnitude off the wall time
    expect(t(cpu)).toBeGreaterThan(0);
    expect(t(cpu)).toBeLessThan(t(wall) * 10);
  });

  it("times an exit on the CPU clock too: the teardown's CPU time, read from the exited proc's schedstat", async () => {
    // Two children exit: one that mapped nothing of its own, one that wrote 64M of its own.
    const r = await runOnKernel(
      {
        name: "cpu exit",
        config: only("64K"),
        ops: [
          { op: "fork", as: "small" },
          { op: "fork", as: "big" },
          { op: "mmap", proc: "big", id: "b", size: "64M", kind: "anon" },
          { op: "madvise", proc: "big", id: "b", advice: "nohugepage" },
          { op: "write", proc: "big", id: "b" },
          { op: "exit", proc: "small" },
          { op: "exit", proc: "big" },
        ],
      },
      { clock: "cpu", repeat: 3 },
    );
    expect(r.errors).toEqual([]);
    expect(r.warnings.filter((w) => w.includes("wall clock"))).toEqual([]);
    const exits = r.timings.filter((t) => t.name === "exit");
    expect(exits.map((t) => t.clock)).toEqual(["cpu", "cpu"]);
    const [small, big] = exits.map((t) => t.median);
    expect(small).toBeGreaterThan(0);
    // Freeing 16384 pages costs the exit far more CPU than a proc with nothing of its own.
    expect(big).toBeGreaterThan(2 * (small as number));
  });

  it("takes what its own clock reads cost off every op time, and says how much", async () => {
    // A 4K MADV_DONTNEED of a page never touched does next to nothing but enter and leave the
    // kernel; the two CPU-clock reads around it are syscalls themselves (no vDSO for
    // CLOCK_THREAD_CPUTIME_ID) and would otherwise count in it.
    const spec = {
      name: "clock cost",
      ops: [
        { op: "mmap", id: "a", size: "2M", kind: "anon" },
        ...Array.from({ length: 64 }, (_, i) => ({ op: "madvise", id: "a", offset: i * 4096, length: 4096, advice: "dontneed" })),
      ],
    };
    const seen: Record<string, { cost: number; med: number }> = {};
    for (const clock of ["cpu", "wall"] as const) {
      const r = await runOnKernel(spec, { clock, repeat: 3 });
      expect(r.errors).toEqual([]);
      const cost = r.clockCostNs as number;
      expect(cost, clock).toBeGreaterThan(0);
      const calls = r.timings.filter((t) => t.name.startsWith("madvise")).map((t) => t.median);
      seen[clock] = { cost, med: [...calls].sort((a, b) => a - b)[calls.length >> 1] as number };
    }
    const cpu = seen.cpu as { cost: number; med: number };
    const wall = seen.wall as { cost: number; med: number };
    // The CPU clock's reads are dear where they are syscalls; with their cost off, a call's CPU
    // time is less than its wall time plus a pair's cost (with it, it would be at least that: the
    // CPU clock's own accounting leaves some excess in a loop, 0.2-0.4 us here, so not less).
    if (cpu.cost > 4 * wall.cost) expect(cpu.med).toBeLessThan(wall.med + 0.9 * cpu.cost);
  });

  it("with swap: true, sets up a swap file in node for a scenario with config.swap and removes it after", async () => {
    const r = await runOnKernel(
      {
        name: "probe swap",
        config: { swap: "8M" },
        ops: [
          { op: "mmap", id: "a", size: "4M", kind: "anon" },
          { op: "madvise", id: "a", advice: "nohugepage" },
          { op: "write", id: "a" },
          { op: "madvise", id: "a", advice: "pageout" },
        ],
      },
      { swap: true },
    );
    if (r.swap?.kind === "created") {
      expect(readFileSync("/proc/swaps", "utf8")).not.toContain(r.swap.path);
      // pages went to swap: the proc's VmSwap grew
      expect(r.procs.main?.VmSwap ?? 0).toBeGreaterThan(0);
      expect(r.warnings.some((w) => /asks for swap/.test(w))).toBe(false);
    } else {
      expect(r.swap?.kind).toBe("existing");
    }
  });

  it("leaves every hugepages-<size>kB/enabled as it found it", () => {
    for (const [d, v] of original) expect(readPolicy(d), d).toBe(v);
  });
});
