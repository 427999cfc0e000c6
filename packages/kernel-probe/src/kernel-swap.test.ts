/**
 * Swap on the real kernel: the runner enables a swap file of config.swap for the run (this
 * machine has no swap of its own), and the scenarios whose numbers core's
 * kernel-measured-swap.test.ts pins run here with every expect passing. Needs Linux, root and
 * mTHP, and a machine without swap (elsewhere the machine's swap is used and these numbers need
 * not hold); skipped with the reason otherwise.
 */

import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { kernelAvailable } from "./available.js";
import { folioLayout } from "./layout.js";
import { runOnKernel } from "./run.js";

const avail = kernelAvailable();
const swaps = () => readFileSync("/proc/swaps", "utf8").trim().split("\n").length - 1;
const skipReason = !avail.ok
  ? avail.reason
  : !avail.root
    ? "not root: cannot swapon a swap file or set the mTHP knobs"
    : !avail.mthp
      ? "kernel without mTHP"
      : swaps() > 0
        ? "this machine has swap configured: the probe uses it as it is"
        : undefined;

const measured = (name: string): unknown =>
  JSON.parse(readFileSync(fileURLToPath(new URL(`../../core/src/testing/measured/${name}.json`, import.meta.url)), "utf8"));

describe.skipIf(skipReason !== undefined)(`swap on the real kernel${skipReason ? ` (skipped: ${skipReason})` : ""}`, () => {
  it("enables a swap file of config.swap for the run and removes it after", async () => {
    let during = "";
    const r = await runOnKernel(
      {
        name: "swapfile",
        config: { swap: "32M" },
        ops: [
          { op: "mmap", id: "a", size: "256K", kind: "anon" },
          { op: "write", id: "a" },
          { op: "madvise", id: "a", advice: "pageout" },
          { op: "expect", counters: { vmstat: { pswpout: 64 }, procs: { main: { VmSwap: 256, RssAnon: 0 } } } },
        ],
      },
      {
        onOp: ({ index }) => {
          if (index === 0) during = readFileSync("/proc/swaps", "utf8");
        },
      },
    );
    expect(during).toMatch(/foliolab-probe-[^\n]*\/swapfile\s+file\s+32764\s/);
    expect(r.swapFileKb).toBe(32768);
    expect(r.warnings.filter((w) => /swap/.test(w))).toEqual([]);
    expect(r.expects).toEqual([{ op: 3, ok: true, message: "ok" }]);
    expect(swaps()).toBe(0);
  });

  // pswpout is machine-wide: while the run's swap file is on, another process's swap-out counts
  // too (seen once in a few runs on this busy machine), so a failed run is tried again.
  it.each(["swap-read-keeps-cache", "swap-write-fault", "swap-zeromap"])(
    "%s: every expect holds on the kernel (the numbers core pins)",
    { retry: 2 },
    async (name) => {
      const r = await runOnKernel(measured(name));
      expect(r.errors).toEqual([]);
      expect(r.expects.filter((e) => !e.ok)).toEqual([]);
    },
  );

  it("gives a split 16K folio's pages their swap slots last page first (the order core models)", { retry: 2 }, async () => {
    const offsets: number[] = [];
    const r = await runOnKernel(measured("swap-split-slot-order"), {
      onOp: ({ index, pids, mappings }) => {
        const m = mappings.main?.a;
        if (index !== 3 || !m || !pids.main) return;
        // /proc/PID/pagemap: bit 62 swapped, bits 5-54 the swap offset.
        const fd = openSync(`/proc/${pids.main}/pagemap`, "r");
        const buf = Buffer.alloc((m.size / 4096) * 8);
        readSync(fd, buf, 0, buf.length, (m.address / 4096) * 8);
        closeSync(fd);
        for (let p = 0; p < m.size / 4096; p++) {
          const v = buf.readBigUInt64LE(p * 8);
          offsets.push((v >> 62n) & 1n ? Number((v >> 5n) & ((1n << 50n) - 1n)) : -1);
        }
      },
    });
    expect(r.errors).toEqual([]);
    expect(r.expects.filter((e) => !e.ok)).toEqual([]);
    expect(offsets).toHaveLength(256);
    const rel = offsets.map((o, p) => o - (offsets[p - (p % 4)] as number));
    expect(rel.slice(0, 8)).toEqual([0, 3, 2, 1, 0, 3, 2, 1]);
    expect(new Set(offsets).size).toBe(256);
  });

  it("keeps the runner's own memory out of the measurement under always", async () => {
    // Before the knobs change, the runner faults in everything it maps: under "always" its own
    // procs hold no 64K folio (the probe's runner used to hold about 5 of its own).
    let own = -1;
    await runOnKernel(
      {
        name: "always",
        config: { mthp: { "64K": "always", "2M": "never" } },
        ops: [
          { op: "mmap", id: "a", size: "2M", kind: "anon" },
          { op: "write", id: "a", length: "64K" },
          { op: "fork", as: "child" },
          { op: "write", proc: "child", id: "a", length: "4K" },
        ],
      },
      {
        onOp: ({ index, pids, mappings }) => {
          if (index !== 3) return;
          own = 0;
          for (const [proc, pid] of Object.entries(pids)) {
            const scenario = Object.values(mappings[proc] ?? {});
            for (const line of readFileSync(`/proc/${pid}/maps`, "utf8").trim().split("\n")) {
              const [a, b] = (line.split(" ")[0] ?? "").split("-").map((x) => Number.parseInt(x, 16)) as [number, number];
              if (line.includes("[vsyscall]") || scenario.some((m) => a >= m.address && a < m.address + m.size)) continue;
              own += folioLayout(pid, a, b).folios.filter((f) => f.order > 0 && f.flags.includes("anon")).length;
            }
          }
        },
      },
    );
    expect(own).toBe(0);
  });
});
