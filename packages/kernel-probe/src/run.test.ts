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

describe("pipelineRun", () => {
  it("sends a proc's consecutive small commands at once, and nothing past another proc, a big op or an exit", async () => {
    const { buildProgram } = await import("./program.js");
    const { parseScenario } = await import("@foliolab/core");
    const { pipelineRun, PIPELINE_MAX_OPS } = await import("./run.js");
    const ops = [
      { op: "mmap", id: "a", size: "4M", kind: "anon" },
      { op: "write", id: "a" },
      ...Array.from({ length: 8 }, (_, i) => ({ op: "madvise", id: "a", offset: i * 4096, length: 4096, advice: "dontneed" })),
      { op: "fork", as: "child" },
      { op: "madvise", proc: "child", id: "a", offset: 0, length: 4096, advice: "dontneed" },
      { op: "madvise", id: "a", offset: 0, length: 4096, advice: "dontneed" },
      { op: "exit", proc: "child" },
    ];
    const steps = buildProgram(parseScenario({ name: "p", ops })).steps;
    // the 4M write is one op over more than 2M: alone
    expect(pipelineRun(steps, 1)).toBe(1);
    // the eight 4K madvise calls of main go together, up to the fork
    expect(pipelineRun(steps, 2)).toBe(8);
    expect(pipelineRun(steps, 5)).toBe(5);
    // the child's call is alone: the next is main's
    expect(pipelineRun(steps, 11)).toBe(1);
    expect(pipelineRun(steps, 0)).toBe(1);
    const many = buildProgram(
      parseScenario({
        name: "q",
        ops: [
          { op: "mmap", id: "a", size: "4M", kind: "anon" },
          ...Array.from({ length: 1000 }, () => ({ op: "madvise", id: "a", offset: 0, length: 4096, advice: "dontneed" })),
        ],
      }),
    ).steps;
    expect(pipelineRun(many, 1)).toBe(PIPELINE_MAX_OPS);
  });
});
