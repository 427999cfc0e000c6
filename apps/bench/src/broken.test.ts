/**
 * A broken strategy never passes. Each fixture is written as a strategy author outside the
 * repo would (public exports of @foliolab/core and the per-page strategy only); the bench must
 * FAIL every one of its cells with exit 1 and a message naming what broke.
 */

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ZapStrategy } from "@foliolab/core";
import { firstRejection } from "@foliolab/testkit";
import { describe, expect, it } from "vitest";
import { main } from "./cli/program.js";
import type { ResultsFile } from "./results.js";
import { captureIo, FIXTURES, PKG_DIR, tempDir } from "./test-helpers.js";

const small = ["-w", "pmfb/munmap", "--size", "8M", "-f", "4K,64K", "--samples", "1"];

/** One bench run of several strategies, its results and output; shared by the tests below. */
async function bench(strategies: string[], extra: string[] = [], folios = "4K,64K") {
  const out = tempDir();
  const io = captureIo();
  const specs = strategies.map((f) => (f.endsWith(".mjs") ? join(FIXTURES, f) : f)).join(",");
  const args = ["-w", "pmfb/munmap", "--size", "8M", "-f", folios, "--samples", "1"];
  const code = await main(["bench", "-s", specs, ...args, "-o", out, ...extra], io);
  const res = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as ResultsFile;
  return { code, res, io, out, runs: (name: string) => res.runs.filter((r) => r.strategy === name) };
}

type Bench = Awaited<ReturnType<typeof bench>>;
/** Memoised: the first test that needs a run starts it, the others reuse it. */
function shared(run: () => Promise<Bench>): () => Promise<Bench> {
  let p: Promise<Bench> | undefined;
  return () => {
    p ??= run();
    return p;
  };
}

// Every broken fixture with per-page, at default settings (no --timeout), on one worker process.
const withPerPage = shared(() =>
  bench(
    [
      "per-page",
      "leaks-gather-refs.mjs",
      "early-free.mjs",
      "process-exit.mjs",
      "loops.mjs",
      "throws.mjs",
      "crash-on-load.mjs",
      "loops-at-import.mjs",
    ],
    ["-j", "1"],
  ),
);
// Without per-page in the matrix (reference runs stand in), the checked pass off.
const withoutPerPage = shared(() =>
  bench(["per-page-copy.mjs", "leaks-gather-refs.mjs", "early-free.mjs"], ["--check-size", "0"]),
);

describe("broken strategies are FAILED by foliolab bench (default settings)", () => {
  it("exit 1; per-page's cells are the reference and pass", async () => {
    const { code, runs } = await withPerPage();
    expect(code).toBe(1);
    expect(runs("per-page").map((r) => `${r.status} ${r.verification?.state}`)).toEqual(["ok reference", "ok reference"]);
  });

  it("a strategy that never drops its gather references: the leak is named", async () => {
    const { runs, io } = await withPerPage();
    const mine = runs("leaks-gather-refs");
    expect(mine).toHaveLength(2);
    for (const r of mine) {
      expect(r.status).toBe("failed");
      expect(r.error?.kind).toBe("StateMismatch");
      expect(r.error?.phase).toBe("verify");
      expect(r.error?.message).toMatch(
        /freePages: per-page ends with \d+ free pages, leaks-gather-refs with \d+ \(\d+ pages not freed\)/,
      );
    }
    expect(io.text()).toContain("pages not freed");
  });

  it("the same check runs without per-page in the matrix, against a reference run", async () => {
    const { code, runs } = await withoutPerPage();
    expect(code).toBe(1);
    expect(runs("leaks-gather-refs").map((r) => r.error?.kind)).toEqual(["StateMismatch", "StateMismatch"]);
    expect(runs("per-page-copy").map((r) => `${r.status} ${r.verification?.state}`)).toEqual(["ok equal", "ok equal"]);
  });

  it("an early-free strategy fails the checked pass; with --check-size 0 every report marks it unchecked", async () => {
    for (const r of (await withPerPage()).runs("early-free")) {
      expect(r.status).toBe("failed");
      expect(r.error?.invariant).toBe("tlb-flush-before-free");
    }
    const off = await withoutPerPage();
    expect(off.res.runs.every((r) => r.verification?.invariants === "unchecked")).toBe(true);
    expect(off.io.text()).toMatch(/unchecked \d/);
    expect(off.io.text()).toContain("--check-size 0");
    for (const f of ["report.md", "report.html"]) expect(readFileSync(join(off.out, f), "utf8")).toMatch(/unchecked \d/);
  });

  it("a strategy that calls process.exit() is a FAILED cell with the reason, and the others still run", async () => {
    const { res, runs } = await withPerPage();
    const mine = runs("calls-process-exit");
    expect(mine.map((r) => r.error?.kind)).toEqual(["WorkerExit", "WorkerExit"]);
    expect(mine[0]?.error?.message).toContain("exited without a result");
    // 8 strategies (2 of them failed to load) x 2 folios, every cell there; only per-page's pass.
    expect(res.summary).toMatchObject({ ok: 2, planned: 16 });
    expect(res.runs).toHaveLength(16);
  });

  it("an endless loop in zapPresentPtes() with -j 1 is FAILED within the default limit, the hook named; its other cells at once", async () => {
    const { runs } = await withPerPage();
    const [first, second] = runs("loops-forever");
    expect(first?.error?.kind).toBe("Timeout");
    expect(first?.error?.message).toMatch(
      /strategy "loops-forever": did not return from zapPresentPtes within (\d+(\.\d+)?) s \(the default limit: 20 x per-page's time for this cell, at least 5 s; --timeout sets another\)/,
    );
    // 5 s on a quiet machine; more when per-page's own run was slow (a loaded machine).
    expect(Number(/within ([\d.]+) s/.exec(first?.error?.message ?? "")?.[1])).toBeGreaterThanOrEqual(5);
    expect(second?.error?.kind).toBe("Timeout");
    expect(second?.error?.message).toMatch(
      /not run: strategy "loops-forever" overran a time limit in pmfb\/munmap\/\w+\/loops-forever/,
    );
  });

  it("a nondeterministic strategy is FAILED with one sample too: the check pass runs twice and must count the same", async () => {
    const one = await bench(["nondeterministic.mjs"], ["-j", "1"]);
    expect(one.code).toBe(1);
    for (const r of one.runs("nondeterministic")) {
      expect(r.status).toBe("failed");
      expect(r.error?.kind).toBe("Nondeterministic");
      expect(r.error?.phase).toBe("check");
      expect(r.error?.message).toContain("the strategy is not deterministic");
    }
    // With the check pass off, more samples at full size catch it instead.
    const three = await bench(["nondeterministic.mjs"], ["-j", "1", "--check-size", "0", "--samples", "3"]);
    expect(three.runs("nondeterministic").map((r) => `${r.error?.kind} ${r.error?.phase}`)).toEqual([
      "Nondeterministic timed",
      "Nondeterministic timed",
    ]);
  });

  it("a module that loops at import, or throws at import, fails to load by name", async () => {
    const { res } = await withPerPage();
    const failure = (name: string) => res.strategyFailures.find((f) => f.spec.includes(name));
    expect(failure("loops-at-import")?.message).toContain("importing the module did not finish within 5 s");
    expect(failure("crash-on-load")?.message).toContain("broken on purpose");
    expect(failure("crash-on-load")?.stack).toContain("crash-on-load.mjs:2");
  });

  it("a strategy that throws: results.json and the terminal show the author's file and line", async () => {
    const { runs, io } = await withPerPage();
    const r = runs("throws-midway")[0];
    expect(r?.error?.kind).toBe("StrategyError");
    expect(r?.error?.stack).toMatch(/throws\.mjs:12:\d+/);
    expect(io.text()).toMatch(/at Object\.zapPresentPtes \(.*throws\.mjs:12:\d+\)/);
  });

  it("--timeout overrides the default limits, the import's too", async () => {
    const { code, res, runs } = await bench(["loops.mjs", "loops-at-import.mjs"], ["--timeout", "1"], "4K");
    expect(code).toBe(1);
    expect(runs("loops-forever")[0]?.error?.message).toMatch(/did not return from zapPresentPtes within 1 s \(--timeout\)/);
    expect(res.strategyFailures[0]?.message).toContain("importing the module did not finish within 1 s");
  });
});

describe("the same broken strategies are rejected by the conformance kit", () => {
  const cases: Array<[string, RegExp]> = [
    ["loops.mjs", /strategy "loops-forever": did not return from zapPresentPtes within 3 s/],
    ["process-exit.mjs", /strategy "calls-process-exit" on scenario .*process\.exit/],
    [
      "leaks-gather-refs.mjs",
      /strategy "leaks-gather-refs" differs from per-page on scenario .*observe\.(freePages|foliosByOrder)/s,
    ],
    ["early-free.mjs", /strategy "early-free" on scenario .*invariant "tlb-flush-before-free" violated/],
    ["throws.mjs", /strategy "throws-midway" on scenario .*boom at PTE 100/],
  ];
  for (const [file, message] of cases) {
    it(`${file}: rejected with a message naming what broke`, async () => {
      const mod = (await import(join(FIXTURES, file))) as Record<string, ZapStrategy>;
      const strategy = (mod.default ?? Object.values(mod)[0]) as ZapStrategy;
      const rejected = firstRejection(strategy, { numRuns: 100, seed: 1 });
      expect(rejected).toBeDefined();
      expect(rejected?.message).toMatch(message);
    });
  }
});

describe("the conformance kit's mutants", () => {
  it("are FAILED by the bench on the workloads that reach their bug, each by name", async () => {
    const out = tempDir();
    const io = captureIo();
    const code = await main(
      [
        "bench",
        "-s",
        `per-page,${join(FIXTURES, "kit-mutants.mjs")}`,
        "-w",
        "pmfb/munmap,file/shared-dirty-munmap,exit/mixed-orders,sharing/disjoint-halves",
        "--size",
        "64M",
        "-f",
        "4K,64K",
        "--samples",
        "1",
        "-o",
        out,
      ],
      io,
    );
    expect(code).toBe(1);
    const res = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as ResultsFile;
    const passed = new Set(res.runs.map((r) => r.strategy));
    for (const r of res.runs) if (r.status !== "ok") passed.delete(r.strategy);
    // What these workloads never do: swap a page back in, run on s390, zap the zero page, or
    // reclaim lazyfree memory across a VMA boundary or PTE hole. The kit catches those.
    expect([...passed].sort()).toEqual([
      "mutant-forgets-free-swap-cache",
      "mutant-reclaim-batch-past-pte-hole",
      "mutant-reclaim-batch-past-vma-end",
      "mutant-rmap-after-gather-seed000-v3",
      "mutant-zero-page-no-tlb-entry",
      "per-page",
    ]);
    const first = (name: string) => res.runs.find((r) => r.strategy === name && r.status === "failed")?.error;
    expect(first("mutant-recounts-deferred-split")?.message).toMatch(/split_deferred over the measured phase/);
    expect(first("mutant-no-break-on-full-gather")?.message).toContain("gathered into a full mmu_gather");
    expect(first("mutant-leaks-reference")?.message).toContain("pages not freed");
  });
});

describe("--out is checked before anything runs", () => {
  it("a file, or a place that cannot be written, is bad usage named at once", async () => {
    const dir = tempDir();
    const file = join(dir, "a-file");
    writeFileSync(file, "x");
    const io = captureIo();
    expect(await main(["bench", ...small, "-o", file], io)).toBe(2);
    expect(io.text()).toContain(`--out: ${file} is a file, not a directory`);
    expect(io.text()).not.toContain("matrix:");
    const under = captureIo();
    expect(await main(["bench", ...small, "-o", join(file, "sub")], under)).toBe(2);
    expect(under.text()).toContain("is a file, not a directory");
    const proc = captureIo();
    expect(await main(["bench", ...small, "-o", "/proc/foliolab-x"], proc)).toBe(2);
    expect(proc.text()).toMatch(/--out: cannot (write in|create) \/proc/);
  });

  it("stale charts of a reused --out are removed", async () => {
    const out = tempDir();
    mkdirSync(join(out, "charts"));
    writeFileSync(join(out, "charts", "old-workload.modelled.svg"), "<svg/>");
    expect(await main(["bench", "-s", "per-page", ...small, "-o", out], captureIo())).toBe(0);
    expect(existsSync(join(out, "charts", "old-workload.modelled.svg"))).toBe(false);
    expect(existsSync(join(out, "charts", "pmfb-munmap.modelled.svg"))).toBe(true);
  });
});

describe("the built bin", () => {
  it("SIGTERM stops a run stuck in a strategy's loop with -j 1 and keeps the finished runs", async () => {
    const out = tempDir();
    const child = spawn(
      process.execPath,
      [
        join(PKG_DIR, "bin", "foliolab.js"),
        "bench",
        "-s",
        `per-page,${join(FIXTURES, "loops.mjs")}`,
        "-w",
        "pmfb/munmap",
        "--size",
        "8M",
        "-f",
        "4K",
        "--samples",
        "1",
        "-j",
        "1",
        "-o",
        out,
      ],
      { cwd: PKG_DIR, stdio: ["ignore", "pipe", "pipe"] },
    );
    let err = "";
    let sent = false;
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
      // per-page's cell is done; the looping one is running now
      if (!sent && /\[1\/2\] ok/.test(err)) {
        sent = true;
        child.kill("SIGTERM");
      }
    });
    const code = await new Promise<number | null>((res) => child.on("exit", (c) => res(c)));
    expect(sent).toBe(true);
    expect(code).toBe(130);
    const res = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as ResultsFile;
    expect(res.metadata.interrupted).toBe(true);
    expect(res.runs.map((r) => `${r.strategy} ${r.status}`)).toEqual(["per-page ok"]);
  });
});
