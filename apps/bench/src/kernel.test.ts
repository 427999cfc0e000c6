/**
 * `foliolab kernel` and `foliolab bench --kernel`. The comparison, the column's records and the
 * reports are tested on canned results (no kernel needed); the real runs are skipped, with the
 * reason in the suite name, unless this is Linux, root, with the mTHP sysfs knobs.
 */

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runScenario, type ScenarioResult } from "@foliolab/core";
import { type KernelAvailability, type KernelResult, kernelAvailable } from "@foliolab/kernel-probe";
import folioBatch from "@foliolab/strategy-folio-batch";
import { describe, expect, it } from "vitest";
import { main } from "./cli/program.js";
import { kernelCells, kernelRecord, runKernelColumn } from "./kernel-bench.js";
import { compareKernelModel, type FieldRow, modelRun, renderComparison, renderTimings } from "./kernel-compare.js";
import { defaultProfile } from "./profile.js";
import { renderHtml } from "./report/html.js";
import { renderMarkdown } from "./report/markdown.js";
import { renderText } from "./report/text.js";
import type { ResultsFile } from "./results.js";
import { captureIo, FIXTURES, GOLDEN, tempDir } from "./test-helpers.js";

const SCENARIO = join(FIXTURES, "kernel-64k-partial.json");
const strategy = (folioBatch as unknown as { default?: typeof folioBatch }).default ?? folioBatch;

/** A kernel result as the probe would return it, built from the model's (same numbers), then edited. */
function cannedKernel(model: ScenarioResult, over: Partial<KernelResult> = {}): KernelResult {
  const m = structuredClone(model);
  return {
    ...m,
    strategy: "linux",
    costs: {},
    meminfo: { ...m.meminfo, MemFree: -8192 },
    kernel: "6.18.0-test",
    repeat: 1,
    timings: [
      {
        op: 0,
        name: "mmap",
        proc: "main",
        samples: [5000],
        clock: "wall",
        median: 5000,
        min: 5000,
        max: 5000,
        spread: 0,
        syscalls: 1,
        pages: 0,
        nsPerPage: undefined,
      },
      {
        op: 3,
        name: "munmap",
        proc: "main",
        samples: [640000, 700000, 660000],
        clock: "wall",
        median: 660000,
        min: 640000,
        max: 700000,
        spread: 0.09,
        syscalls: 128,
        pages: 128,
        nsPerPage: 5156.25,
      },
    ],
    missing: ["costs"],
    warnings: [],
    errors: [],
    knobs: [],
    pids: { main: 1 },
    mappings: {},
    procsRaw: m.procs,
    baseline: { RssAnon: 0, RssFile: 0, VmSwap: 0, AnonHugePages: 0 },
    ...over,
  } as KernelResult;
}

function row(rows: FieldRow[], field: string): FieldRow {
  const r = rows.find((x) => x.field === field);
  if (!r) throw new Error(`no row ${field}`);
  return r;
}

describe("kernel vs model comparison (canned results)", () => {
  const scenario = readFileSync(SCENARIO, "utf8");
  const model = modelRun(scenario, strategy, defaultProfile());

  it("the model side: absolute MemFree turned into a delta, modelled ns per op", () => {
    expect(model.result.mthp["hugepages-64kB"]?.split_deferred).toBe(128);
    expect(model.result.meminfo.MemFree - model.memFreeStart).toBeLessThan(0);
    expect(model.nsByOp.get(3)).toBeGreaterThan(0);
    expect(model.result).toEqual(runScenario(scenario, { strategy }));
  });

  it("identical numbers match everywhere; costs are not obtainable", () => {
    const k = cannedKernel(model.result, {
      meminfo: { ...model.result.meminfo, MemFree: model.result.meminfo.MemFree - model.memFreeStart },
    });
    const c = compareKernelModel(k, model.result, { modelMemFreeStart: model.memFreeStart });
    expect(c.summary.mismatch).toBe(0);
    expect(c.summary.missing).toBe(1);
    expect(row(c.rows, "costs").status).toBe("missing");
    expect(c.summary.match).toBe(c.summary.fields - 1);
    // every field of the contract is there: 8 sizes x 12 stats, the vmstat names, meminfo, procs, expects
    expect(c.rows.filter((r) => r.group === "mthp")).toHaveLength(8 * 12);
    expect(c.rows.filter((r) => r.group === "meminfo").map((r) => r.field)).toEqual([
      "meminfo.AnonPages",
      "meminfo.AnonHugePages",
      "meminfo.MemFree",
      "meminfo.Shmem",
      "meminfo.ShmemHugePages",
      "meminfo.ShmemPmdMapped",
      "meminfo.FileHugePages",
      "meminfo.FilePmdMapped",
    ]);
    expect(row(c.rows, "mthp.hugepages-64kB.shmem_alloc").status).toBe("match");
    expect(row(c.rows, "vmstat.nr_shmem").status).toBe("match");
    expect(row(c.rows, "procs.main.RssShmem").status).toBe("match");
    expect(row(c.rows, "expects.ops[4]").status).toBe("match");
  });

  it("marks mismatches, tolerates system-wide noise, names what the kernel could not obtain", () => {
    const m = model.result;
    const k = cannedKernel(m, {
      mthp: {
        ...structuredClone(m.mthp),
        "hugepages-64kB": { ...(m.mthp["hugepages-64kB"] as Record<string, number>), split_deferred: 127 },
      },
      vmstat: { ...m.vmstat, pgfault: (m.vmstat.pgfault as number) + 80 },
      meminfo: { ...m.meminfo, AnonPages: m.meminfo.AnonPages + 300, AnonHugePages: 0, MemFree: -9208, Shmem: 200 },
      procs: { main: { ...(m.procs.main as ScenarioResult["procs"][string]), RssAnon: -1 } },
      expects: [{ op: 4, ok: false, message: "main reads 0 at a+4K, expected 3" }],
      errors: [{ op: 2, message: "EFAULT" }],
      missing: ["costs", "mthp.hugepages-64kB.swpout_fallback"],
      warnings: ["1 other process(es) have MADV_HUGEPAGE regions"],
    });
    const c = compareKernelModel(k, m, { modelMemFreeStart: model.memFreeStart });
    expect(row(c.rows, "mthp.hugepages-64kB.split_deferred")).toMatchObject({ status: "mismatch", kernel: 127, model: 128 });
    expect(row(c.rows, "mthp.hugepages-64kB.swpout_fallback").status).toBe("missing");
    expect(row(c.rows, "vmstat.pgfault").status).toBe("approx");
    expect(row(c.rows, "meminfo.AnonPages").status).toBe("approx");
    expect(row(c.rows, "meminfo.MemFree")).toMatchObject({ status: "approx", kernel: -9208 });
    // per-cpu vmstat drift on the shmem gauge is within its floor
    expect(row(c.rows, "meminfo.Shmem").status).toBe("approx");
    expect(row(c.rows, "procs.main.RssAnon").status).toBe("missing");
    expect(row(c.rows, "expects.ops[4]").status).toBe("mismatch");
    expect(row(c.rows, "errors.ops[2]").status).toBe("mismatch");
    expect(c.summary).toMatchObject({ mismatch: 3, approx: 4, missing: 3 });
    // a big difference on a system-wide field is a mismatch too
    const far = compareKernelModel(cannedKernel(m, { vmstat: { ...m.vmstat, pgfault: 100_000 } }), m, {
      modelMemFreeStart: model.memFreeStart,
    });
    expect(row(far.rows, "vmstat.pgfault").status).toBe("mismatch");
    // ... but the probe's own noise grows with the ops (about one fault per op)
    const manyOps = compareKernelModel(cannedKernel(m, { vmstat: { ...m.vmstat, pgfault: 100_000 } }), m, {
      modelMemFreeStart: model.memFreeStart,
      opCount: 50_000,
    });
    expect(row(manyOps.rows, "vmstat.pgfault").status).toBe("approx");
    // MemFree far off is not comparable (per-cpu free lists), not a mismatch
    const memFar = compareKernelModel(cannedKernel(m, { meminfo: { ...m.meminfo, MemFree: 30_000 } }), m, {
      modelMemFreeStart: model.memFreeStart,
    });
    expect(row(memFar.rows, "meminfo.MemFree").status).toBe("n/c");
    expect(row(memFar.rows, "meminfo.MemFree").note).toContain("per-cpu free lists");
    // without the model's start, MemFree is not comparable (absolute vs delta)
    expect(row(compareKernelModel(k, m).rows, "meminfo.MemFree").status).toBe("n/c");

    const text = renderComparison(c, { color: false });
    expect(text).toMatch(/mthp\.hugepages-64kB\.split_deferred\s+127\s+128 {2}!= MISMATCH/);
    expect(text).toMatch(/vmstat\.pgfault\s+\d+\s+\d+ {2}~ within tolerance/);
    expect(text).toContain("not obtainable");
    expect(text).toContain(`${c.summary.fields} fields: `);
    expect(text).toContain("3 mismatches, 3 not obtainable");
    const brief = renderComparison(c, { color: false, onlyDiff: true });
    expect(brief).not.toContain("hugepages-16kB");
    expect(brief).toContain("matching fields not shown");
    const t = renderTimings(k, model.nsByOp, [3]);
    expect(t).toMatch(new RegExp(`3\\*\\s+munmap\\s+${k.timings.find((x) => x.op === 3)?.clock}\\s+660000\\s+9% n=3\\s+5156`));
    // each op names its clock: an exit the runner fell back to the wall clock for says so
    const mixed = {
      ...k,
      clock: "cpu" as const,
      timings: k.timings.map((x) => ({ ...x, clock: x.op === 3 ? ("wall" as const) : ("cpu" as const) })),
    };
    const tm = renderTimings(mixed, model.nsByOp, [3]);
    expect(tm).toMatch(/^op\s+clock\s+kernel median ns/);
    expect(tm).toMatch(/3\*\s+munmap\s+wall\s+660000/);
    expect(tm).toMatch(/\n0\s+mmap\s+cpu\s/);
  });

  it("renders the timings of a program of 500k ops (wis/tlb_flush2 at 256M) without overflowing the stack", () => {
    const k = cannedKernel(model.result);
    const one = k.timings[0] as KernelResult["timings"][number];
    const many = { ...k, timings: Array.from({ length: 500_000 }, (_, op) => ({ ...one, op })) };
    const t = renderTimings(many, model.nsByOp, [3]);
    expect(t.split("\n").length).toBeGreaterThan(500_000);
  });
});

/** A usable kernel, as kernelAvailable() reports one, for the column's runner stubs. */
function testAvailability(): KernelAvailability {
  return {
    ok: true,
    platform: "linux",
    kernel: "6.18.0-test",
    root: true,
    mthp: true,
    canSetMthp: true,
    canReadLayout: true,
    compiler: "cc",
    limits: [],
  };
}

describe("bench --kernel column (canned results)", () => {
  const goldenResults = JSON.parse(readFileSync(join(GOLDEN, "results.json"), "utf8")) as ResultsFile;

  it("turns the probe's per-op timings of the measured ops into ns per page", async () => {
    const model = runScenario(readFileSync(SCENARIO, "utf8"), { strategy });
    const k = cannedKernel(model);
    const cell = { workload: "pmfb/munmap", folio: "64K", size: 8 << 20, seed: 1 };
    const rec = kernelRecord(cell, [3], k);
    expect(rec.status).toBe("ok");
    expect(rec.measuredNs).toMatchObject({ samples: [640000, 700000, 660000], median: 660000 });
    expect(rec.nsPerPage).toBeCloseTo(660000 / 2048);
    expect(rec.wallTimedOps).toBeUndefined();
    // on the CPU clock, an op the runner had to time on the wall clock (an exit) is named
    const cpu = { ...k, clock: "cpu" as const, timings: k.timings.map((t) => ({ ...t, clock: "cpu" as const })) };
    expect(kernelRecord(cell, [3], cpu).wallTimedOps).toBeUndefined();
    const fellBack = { ...cpu, timings: cpu.timings.map((t) => (t.op === 3 ? { ...t, clock: "wall" as const } : t)) };
    expect(kernelRecord(cell, [3], fellBack).wallTimedOps).toEqual([3]);
    expect(kernelRecord(cell, [3], { ...k, errors: [{ op: 3, message: "EINVAL" }] }).status).toBe("failed");
    const noKnob = kernelRecord(cell, [3], {
      ...k,
      missing: ["config.mthp.hugepages-64kB"],
      warnings: ["needs write access to /sys/kernel/mm/transparent_hugepage/hugepages-64kB/enabled"],
    });
    expect(noKnob.status).toBe("skipped");
    expect(noKnob.reason).toContain("hugepages-64kB");
    // a runner that throws is a failed cell, and the column goes on
    const cells = kernelCells(
      [
        { ...cell, folio: "4K" },
        { ...cell, folio: "64K" },
        { ...cell, folio: "64K" },
      ],
      ["pmfb/munmap"],
    );
    expect(cells.map((c) => c.folio)).toEqual(["4K", "64K"]);
    let calls = 0;
    const section = await runKernelColumn(cells, testAvailability(), {
      repeat: 3,
      run: async () => {
        calls++;
        if (calls === 1) throw new Error("runner died");
        return k;
      },
    });
    expect(section.runs.map((r) => r.status)).toEqual(["failed", "ok"]);
    expect(section.runs[0]?.reason).toContain("runner died");
  });

  it("takes a cell's samples in passes over the column, one run of each cell a pass, and merges them", async () => {
    const model = runScenario(readFileSync(SCENARIO, "utf8"), { strategy });
    const k = cannedKernel(model);
    const one = (ns: number): KernelResult => ({
      ...k,
      repeat: 1,
      timings: k.timings.map((t) => ({ ...t, samples: [ns], median: ns, min: ns, max: ns, spread: 0 })),
    });
    const cells = kernelCells(
      ["4K", "64K", "2M-PMD"].map((folio) => ({ workload: "pmfb/munmap", folio, size: 8 << 20, seed: 1 })),
      ["pmfb/munmap"],
    );
    let n = 0;
    const passes: number[] = [];
    const section = await runKernelColumn(cells, testAvailability(), {
      repeat: 3,
      onDone: (_r, _i, _total, pass) => passes.push(pass),
      run: async (_sc, opts) => {
        expect(opts?.repeat).toBe(1);
        n++;
        // the 64K cell fails in the second pass: its first sample stands, with a warning
        if (n === 5) throw new Error("runner died");
        return one(1000 * n);
      },
    });
    expect(n).toBe(9);
    expect(passes).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2]);
    const [a, b, c] = section.runs;
    expect(section.runs.map((r) => r.folio)).toEqual(["4K", "64K", "2M-PMD"]);
    // cell i got runs i+1, i+4, i+7: interleaved, not back to back
    expect(a?.measuredNs?.samples).toEqual([1000, 4000, 7000]);
    expect(b?.measuredNs?.samples).toEqual([2000, 8000]);
    expect(b?.warnings.some((w) => w.includes("pass 2 failed: Error: runner died"))).toBe(true);
    expect(c?.measuredNs?.samples).toEqual([3000, 6000, 9000]);
    expect(c?.measuredNs?.median).toBe(6000);
    expect(section.machine).toMatch(/^linux-/);
    // a cell with samples from before (calibrate --resume) joins at the pass they reach
    const late = await runKernelColumn(cells, testAvailability(), {
      repeat: 3,
      firstPass: (c) => (c.folio === "4K" ? 2 : 0),
      run: async () => one(1),
    });
    expect(late.runs.map((r) => r.measuredNs?.samples.length)).toEqual([1, 3, 3]);
  });

  it("reports show the column only when the kernel was used, and say why not otherwise", () => {
    const withKernel: ResultsFile = structuredClone(goldenResults);
    const folios = [...new Set(withKernel.runs.map((r) => r.folio))];
    const wl = withKernel.runs[0]?.workload as string;
    withKernel.kernel = {
      column: "linux (this machine)",
      available: true,
      kernel: "6.18.0-test",
      root: true,
      limits: [],
      repeat: 3,
      runs: folios.map((f, i) => ({
        id: `${wl}/${f}/linux`,
        workload: wl,
        folio: f,
        size: 8 << 20,
        sizeLabel: "8M",
        pages: 2048,
        status: i === 0 ? "skipped" : "ok",
        ...(i === 0 ? { reason: "folio size not obtainable" } : {}),
        measuredOps: [3],
        ...(i === 0
          ? {}
          : {
              nsPerPage: 123.4,
              measuredNs: { samples: [1, 2, 3], median: 252723, min: 250000, max: 260000, spread: 0.04 },
              ops: [{ op: 3, name: "munmap", median: 252723, nsPerPage: 123.4 }],
              counters: { mthp: {}, vmstat: { pgfault: 7 } },
            }),
        warnings: [],
        missing: [],
        errors: [],
      })),
    };
    const text = renderText(withKernel, { metric: "modelled", color: false });
    expect(text).toContain("linux (this machine)");
    expect(text).toContain("123.4 measured");
    expect(text).toContain("folio size not obtainable");
    expect(renderText(withKernel, { metric: "events", color: false })).not.toContain("linux (this machine)");
    const md = renderMarkdown(withKernel);
    expect(md).toContain("| linux (this machine) |");
    expect(md).toContain("### linux (this machine): measured on the kernel");
    expect(md).toContain("- linux (this machine): Linux 6.18.0-test");
    const html = renderHtml(withKernel);
    expect(html).toContain('<th class="linux">linux (this machine)</th>');
    expect(html).toContain("123.4 measured");

    const unavailable: ResultsFile = structuredClone(goldenResults);
    unavailable.kernel = {
      column: "linux (this machine)",
      available: false,
      reason: "not Linux (darwin)",
      kernel: "23.0",
      root: false,
      limits: [],
      repeat: 3,
      runs: [],
    };
    expect(renderText(unavailable, { metric: "modelled", color: false })).toBe(
      renderText(goldenResults, { metric: "modelled", color: false }),
    );
    expect(renderMarkdown(unavailable)).toContain("linux (this machine): not measured: not Linux (darwin)");
    expect(renderHtml(unavailable)).not.toContain('<th class="linux">');
  });

  it("kernel --help, and bad input is exit code 2", async () => {
    const io = captureIo();
    expect(await main(["kernel", "--help"], io)).toBe(0);
    expect(io.stdout.join("")).toContain("Usage: foliolab kernel");
    expect(io.stdout.join("")).toContain("--repeat");
    const bad = captureIo();
    expect(await main(["kernel", "no/such-workload"], bad)).toBe(2);
    expect(bad.text()).toContain("neither a scenario file nor a workload id");
    const invalid = captureIo();
    expect(await main(["kernel", join(FIXTURES, "..", "..", "package.json")], invalid)).toBe(2);
    const benchHelp = captureIo();
    await main(["bench", "--help"], benchHelp);
    expect(benchHelp.stdout.join("")).toContain("--kernel");
  });
});

function kernelSkipReason(): string | undefined {
  if (process.platform !== "linux") return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return "not root: the mTHP knobs cannot be set";
  if (!existsSync("/sys/kernel/mm/transparent_hugepage/hugepages-64kB/enabled"))
    return "no /sys/kernel/mm/transparent_hugepage/hugepages-64kB (kernel without mTHP)";
  const a = kernelAvailable();
  if (!a.ok) return a.reason;
  if (!a.canSetMthp) return "the mTHP knobs are not writable";
  return undefined;
}

const skip = kernelSkipReason();

describe.skipIf(skip !== undefined)(`on this machine's kernel${skip ? ` (skipped: ${skip})` : ""}`, () => {
  it("foliolab kernel: 8M of 64K mTHP, one page unmapped per folio: kernel and model agree", {
    timeout: 300_000,
    retry: 2,
  }, async () => {
    const io = captureIo();
    const code = await main(["kernel", SCENARIO, "--json"], io);
    const out = JSON.parse(io.stdout.join("")) as {
      kernel: KernelResult;
      comparison: { rows: FieldRow[]; summary: { mismatch: number } };
    };
    expect(code).toBe(out.comparison.summary.mismatch > 0 ? 1 : 0);
    const rows = out.comparison.rows;
    for (const f of [
      "mthp.hugepages-64kB.anon_fault_alloc",
      "mthp.hugepages-64kB.split_deferred",
      "mthp.hugepages-64kB.nr_anon_partially_mapped",
      "procs.main.RssAnon",
      "procs.main.AnonHugePages",
      "expects.ops[4]",
    ])
      expect(row(rows, f), f).toMatchObject({ status: "match" });
    expect(row(rows, "mthp.hugepages-64kB.split_deferred").kernel).toBe(128);
    expect(row(rows, "procs.main.RssAnon").kernel).toBe(8192 - 512);
    expect(out.kernel.timings.find((t) => t.op === 3)?.name).toBe("munmap");

    const human = captureIo();
    const hc = await main(["kernel", SCENARIO, "--layout"], human);
    const text = human.stdout.join("");
    expect(hc === 0 || hc === 1).toBe(true);
    expect(text).toMatch(/mthp\.hugepages-64kB\.split_deferred\s+128\s+128/);
    expect(text).toMatch(/\d+ fields: \d+ match/);
    expect(text).toMatch(/x folio\s+64K\s+mapped 15\/16\s+PTE/);
    expect(text).toContain("timings (kernel");
  });

  it("foliolab bench --kernel adds the linux column (pmfb/munmap, 16M, 4K and 64K)", { timeout: 300_000 }, async () => {
    const dir = tempDir();
    const io = captureIo();
    const code = await main(
      [
        "bench",
        "--kernel",
        "-w",
        "pmfb/munmap",
        "--size",
        "16M",
        "-f",
        "4K,64K",
        "-s",
        "folio-batch",
        "--samples",
        "2",
        "-o",
        dir,
      ],
      io,
    );
    expect(code, io.text()).toBe(0);
    const res = JSON.parse(readFileSync(join(dir, "results.json"), "utf8")) as ResultsFile;
    expect(res.schemaVersion).toBe(1);
    expect(res.kernel?.available).toBe(true);
    expect(res.kernel?.runs.map((r) => [r.folio, r.status])).toEqual([
      ["4K", "ok"],
      ["64K", "ok"],
    ]);
    for (const r of res.kernel?.runs ?? []) {
      expect(r.nsPerPage).toBeGreaterThan(0);
      expect(r.measuredNs?.samples).toHaveLength(2);
    }
    expect(res.kernel?.runs[1]?.counters?.mthp["hugepages-64kB"]?.anon_fault_alloc).toBeGreaterThanOrEqual(256);
    expect(io.stdout.join("")).toContain("linux (this machine)");
    expect(readFileSync(join(dir, "report.md"), "utf8")).toContain("| linux (this machine) |");
    expect(readFileSync(join(dir, "report.html"), "utf8")).toContain('<th class="linux">linux (this machine)</th>');
  });
});
