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

async function bench(strategy: string, extra: string[] = [], folios = "4K,64K") {
  const out = tempDir();
  const io = captureIo();
  const args = ["-w", "pmfb/munmap", "--size", "8M", "-f", folios, "--samples", "1"];
  const code = await main(["bench", "-s", "per-page", "-s", join(FIXTURES, strategy), ...args, "-o", out, ...extra], io);
  const res = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as ResultsFile;
  return { code, res, io, out };
}

describe("broken strategies are FAILED by foliolab bench", () => {
  it("a strategy that never drops its gather references: the leak is named", async () => {
    const { code, res, io } = await bench("leaks-gather-refs.mjs");
    expect(code).toBe(1);
    const mine = res.runs.filter((r) => r.strategy === "leaks-gather-refs");
    expect(mine).toHaveLength(2);
    for (const r of mine) {
      expect(r.status).toBe("failed");
      expect(r.error?.kind).toBe("StateMismatch");
      expect(r.error?.phase).toBe("verify");
      expect(r.error?.message).toMatch(
        /freePages: per-page ends with \d+ free pages, leaks-gather-refs with \d+ \(\d+ pages not freed\)/,
      );
    }
    expect(res.runs.filter((r) => r.strategy === "per-page").every((r) => r.verification?.state === "reference")).toBe(true);
    expect(io.text()).toContain("pages not freed");
  });

  it("the same check runs without per-page in the matrix, against a reference run", async () => {
    const out = tempDir();
    const code = await main(["bench", "-s", join(FIXTURES, "leaks-gather-refs.mjs"), ...small, "-o", out], captureIo());
    expect(code).toBe(1);
    const res = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as ResultsFile;
    expect(res.runs.map((r) => r.error?.kind)).toEqual(["StateMismatch", "StateMismatch"]);
    const good = tempDir();
    expect(await main(["bench", "-s", join(FIXTURES, "per-page-copy.mjs"), ...small, "-o", good], captureIo())).toBe(0);
    const ok = JSON.parse(readFileSync(join(good, "results.json"), "utf8")) as ResultsFile;
    expect(ok.runs.map((r) => r.verification?.state)).toEqual(["equal", "equal"]);
  });

  it("an early-free strategy fails the checked pass; with --check-size 0 every report marks it unchecked", async () => {
    const { code, res } = await bench("early-free.mjs");
    expect(code).toBe(1);
    for (const r of res.runs.filter((x) => x.strategy === "early-free")) {
      expect(r.status).toBe("failed");
      expect(r.error?.invariant).toBe("tlb-flush-before-free");
    }
    const off = await bench("early-free.mjs", ["--check-size", "0"]);
    expect(off.res.runs.every((r) => r.verification?.invariants === "unchecked")).toBe(true);
    expect(off.io.text()).toMatch(/unchecked \d/);
    expect(off.io.text()).toContain("--check-size 0");
    for (const f of ["report.md", "report.html"]) expect(readFileSync(join(off.out, f), "utf8")).toMatch(/unchecked \d/);
  });

  it("a strategy that calls process.exit() is a FAILED cell with the reason, and the others still run", async () => {
    const { code, res } = await bench("process-exit.mjs", ["-j", "1"]);
    expect(code).toBe(1);
    expect(res.runs).toHaveLength(4);
    const mine = res.runs.filter((r) => r.strategy === "calls-process-exit");
    expect(mine.map((r) => r.error?.kind)).toEqual(["WorkerExit", "WorkerExit"]);
    expect(mine[0]?.error?.message).toContain("exited without a result");
    expect(res.runs.filter((r) => r.strategy === "per-page").map((r) => r.status)).toEqual(["ok", "ok"]);
    expect(res.summary).toMatchObject({ ok: 2, failed: 2, planned: 4 });
  });

  it("an infinite loop in zapPresentPtes() with -j 1 is stopped by --timeout", async () => {
    const { code, res } = await bench("loops.mjs", ["-j", "1", "--timeout", "1"], "4K");
    expect(code).toBe(1);
    const mine = res.runs.filter((r) => r.strategy === "loops-forever");
    expect(mine.map((r) => r.error?.kind)).toEqual(["Timeout"]);
    expect(mine[0]?.error?.message).toContain("timed out after 1 s");
    expect(res.runs.filter((r) => r.strategy === "per-page").map((r) => r.status)).toEqual(["ok"]);
  });

  it("a module that loops at import, or throws at import, fails to load by name", async () => {
    const { code, res } = await bench("loops-at-import.mjs", ["--timeout", "1"], "4K");
    expect(code).toBe(1);
    expect(res.strategyFailures[0]?.message).toContain("importing the module did not finish within 1 s");
    const thrown = await bench("crash-on-load.mjs");
    expect(thrown.code).toBe(1);
    expect(thrown.res.strategyFailures[0]?.message).toContain("broken on purpose");
    expect(thrown.res.strategyFailures[0]?.stack).toContain("crash-on-load.mjs:2");
  });

  it("a strategy that throws: results.json and the terminal show the author's file and line", async () => {
    const { code, res, io } = await bench("throws.mjs");
    expect(code).toBe(1);
    const r = res.runs.find((x) => x.strategy === "throws-midway");
    expect(r?.error?.kind).toBe("StrategyError");
    expect(r?.error?.stack).toMatch(/throws\.mjs:11:\d+/);
    expect(io.text()).toMatch(/at Object\.zapPresentPtes \(.*throws\.mjs:11:\d+\)/);
  });
});

describe("the same broken strategies are rejected by the conformance kit", () => {
  // (process.exit() and endless loops are the bench's to contain: the kit runs in the test process.)
  const cases: Array<[string, RegExp]> = [
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
