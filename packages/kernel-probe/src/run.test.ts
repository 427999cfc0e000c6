import { describe, expect, it } from "vitest";
import { KernelProbeError } from "./errors.js";
import { type KernelResult, mergeKernelResults } from "./run.js";

/** A result of one run: op 3 timed at `ns`, with the given split counter and warnings. */
function once(ns: number, split: number, warnings: string[] = []): KernelResult {
  return {
    scenario: "s",
    strategy: "linux",
    repeat: 1,
    clock: "cpu",
    mthp: { "hugepages-64kB": { split } },
    procs: {},
    timings: [
      {
        op: 3,
        name: "munmap",
        proc: "main",
        samples: [ns],
        clock: "cpu",
        median: ns,
        min: ns,
        max: ns,
        spread: 0,
        syscalls: 1,
        pages: 100,
        nsPerPage: ns / 100,
      },
    ],
    warnings,
    missing: [],
    errors: [],
  } as unknown as KernelResult;
}

describe("mergeKernelResults", () => {
  it("keeps every run's samples in order, with the median and spread over all of them", () => {
    const m = mergeKernelResults([once(300, 1), once(100, 1, ["w"]), once(200, 1, ["w"])]);
    expect(m.repeat).toBe(3);
    const t = m.timings[0];
    expect(t?.samples).toEqual([300, 100, 200]);
    expect(t?.median).toBe(200);
    expect(t?.min).toBe(100);
    expect(t?.max).toBe(300);
    expect(t?.spread).toBeCloseTo(1);
    expect(t?.nsPerPage).toBe(2);
    expect(m.warnings).toEqual(["w"]);
    expect(m.repeatsDiffer).toEqual([]);
  });

  it("names the counters that differed between runs, and an op one run had to time on the wall clock", () => {
    const b = once(100, 2);
    (b.timings[0] as KernelResult["timings"][number]).clock = "wall";
    const m = mergeKernelResults([once(300, 1), b]);
    expect(m.repeatsDiffer).toEqual(["mthp.hugepages-64kB.split"]);
    expect(m.timings[0]?.clock).toBe("wall");
  });

  it("refuses nothing to merge and runs of different scenarios", () => {
    expect(() => mergeKernelResults([])).toThrow(KernelProbeError);
    expect(() => mergeKernelResults([once(1, 1), { ...once(1, 1), scenario: "t" }])).toThrow(/t is not s/);
  });
});
