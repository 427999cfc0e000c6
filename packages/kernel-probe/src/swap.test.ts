import { describe, expect, it } from "vitest";
import { acquireProbeSwap, activeSwapBytes, probeSwapFiles } from "./swap.js";

const MIB = 1 << 20;

describe("activeSwapBytes", () => {
  it("sums the sizes (KiB) of /proc/swaps", () => {
    const text = `Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority
/var/tmp/a                  file		65532		0		-2
/dev/vdb                    partition	1024		0		-3
`;
    expect(activeSwapBytes(text)).toBe((65532 + 1024) * 1024);
    expect(activeSwapBytes("Filename\tType\tSize\tUsed\tPriority\n")).toBe(0);
  });
});

describe("acquireProbeSwap", () => {
  it("uses swap that is already active and changes nothing", () => {
    const calls: string[] = [];
    const s = acquireProbeSwap(64 * MIB, { exec: (c) => calls.push(c), active: () => 128 * MIB, root: true });
    expect(s.kind).toBe("existing");
    expect(s.release()).toBeUndefined();
    expect(calls).toEqual([]);
  });

  it("without root it creates nothing and says why", () => {
    const calls: string[] = [];
    const s = acquireProbeSwap(64 * MIB, { exec: (c) => calls.push(c), active: () => 0, root: false });
    expect(s.kind).toBe("none");
    expect(s.warning).toMatch(/no swap.*needs root/);
    expect(calls).toEqual([]);
  });

  it("as root creates a swap file of the size asked plus a margin, and release removes it", () => {
    const calls: string[][] = [];
    const s = acquireProbeSwap(64 * MIB, {
      exec: (c, a) => calls.push([c, ...a]),
      active: () => 0,
      root: true,
      dir: "/nonexistent-dir",
    });
    expect(s.kind).toBe("created");
    expect(s.bytes).toBe(80 * MIB);
    expect(calls.map((c) => c[0])).toEqual(["fallocate", "chmod", "mkswap", "swapon"]);
    expect(calls[0]).toEqual(["fallocate", "-l", String(80 * MIB), s.path]);
    expect(probeSwapFiles()).toContain(s.path);
    s.release();
    expect(calls.at(-1)).toEqual(["swapoff", s.path]);
    expect(probeSwapFiles()).not.toContain(s.path);
  });

  it("a failing swapon leaves no file behind and turns into a warning", () => {
    const calls: string[] = [];
    const s = acquireProbeSwap(8 * MIB, {
      exec: (c) => {
        calls.push(c);
        if (c === "swapon") throw new Error("swapon: Invalid argument");
      },
      active: () => 0,
      root: true,
      dir: "/nonexistent-dir",
    });
    expect(s.kind).toBe("none");
    expect(s.warning).toMatch(/could not be set up: swapon: Invalid argument/);
    expect(calls).toContain("swapoff");
    expect(probeSwapFiles()).toEqual([]);
  });
});
