/**
 * Custom strategies that fail to load, throw, or break an invariant are reported by name;
 * the rest of the matrix still runs and its results are intact; the exit code says so.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "./cli/program.js";
import type { ResultsFile } from "./results.js";
import { captureIo, FIXTURES, tempDir } from "./test-helpers.js";

describe("broken custom strategies", () => {
  it("are reported by name while the others' results stay intact", async () => {
    const out = tempDir();
    const io = captureIo();
    const args = [
      "bench",
      "--strategy",
      "per-page",
      "--strategy",
      join(FIXTURES, "crash-on-load.mjs"),
      "--strategy",
      join(FIXTURES, "throws.mjs"),
      "--strategy",
      join(FIXTURES, "breaks-invariant.mjs"),
      "--strategy",
      join(FIXTURES, "not-a-strategy.mjs"),
      "--strategy",
      "./no/such/strategy.mjs",
      "--workload",
      "pmfb/munmap",
      "--size",
      "8M",
      "--folio",
      "4K,64K",
      "--samples",
      "1",
      "--jobs",
      "1",
      "--out",
      out,
    ];
    const code = await main(args, io);
    expect(code).toBe(1);
    const res = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as ResultsFile;

    // the good strategy ran everything
    const good = res.runs.filter((r) => r.strategy === "per-page");
    expect(good.map((r) => r.status)).toEqual(["ok", "ok"]);
    expect(good[0]?.metrics?.costEventsTotal).toBeGreaterThan(0);

    // the same good runs, alone, count exactly the same events
    const alone = tempDir();
    const code2 = await main(
      ["bench", "-s", "per-page", "-w", "pmfb/munmap", "--size", "8M", "-f", "4K,64K", "--samples", "1", "-j", "1", "-o", alone],
      captureIo(),
    );
    expect(code2).toBe(0);
    const resAlone = JSON.parse(readFileSync(join(alone, "results.json"), "utf8")) as ResultsFile;
    expect(resAlone.runs.map((r) => r.metrics?.costEvents)).toEqual(good.map((r) => r.metrics?.costEvents));

    // each broken one is named
    const byName = (n: string) => res.runs.filter((r) => r.strategy === n);
    expect(byName("throws-midway").every((r) => r.status === "failed" && r.error?.kind === "StrategyError")).toBe(true);
    expect(byName("throws-midway")[0]?.error?.message).toContain("boom at PTE 100");
    const inv = byName("forgets-rmap");
    expect(inv.every((r) => r.status === "failed" && r.error?.kind === "InvariantViolation")).toBe(true);
    expect(inv[0]?.error?.invariant).toBeTruthy();
    expect(inv[0]?.error?.phase).toBe("check");
    const loadFailures = res.strategyFailures.map((f) => f.name).sort();
    expect(loadFailures).toEqual(
      [join(FIXTURES, "crash-on-load.mjs"), join(FIXTURES, "not-a-strategy.mjs"), "./no/such/strategy.mjs"].sort(),
    );
    expect(res.strategyFailures.find((f) => f.name.endsWith("crash-on-load.mjs"))?.message).toContain("broken on purpose");
    expect(res.strategyFailures.find((f) => f.name.endsWith("not-a-strategy.mjs"))?.message).toContain("no ZapStrategy");

    // the terminal output and the reports name them too
    const text = io.text();
    expect(text).toContain("throws-midway");
    expect(text).toContain("forgets-rmap");
    expect(text).toContain("crash-on-load.mjs");
    const md = readFileSync(join(out, "report.md"), "utf8");
    expect(md).toContain("## Failures");
    expect(md).toContain("forgets-rmap");
    expect(res.summary.ok).toBe(2);
  });

  it("a bug of the model inside a strategy's hook is an internal error, not the strategy's failure (exit 1)", async () => {
    const out = tempDir();
    const io = captureIo();
    const args = ["bench", "-s", `per-page,${join(FIXTURES, "core-bug.mjs")}`, "-w", "pmfb/munmap", "--size", "8M", "-f", "4K"];
    const code = await main([...args, "--samples", "1", "-j", "1", "-o", out], io);
    expect(code).toBe(1);
    const res = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as ResultsFile;
    const run = res.runs.find((r) => r.strategy === "core-bug-victim");
    expect(run?.status).toBe("failed");
    expect(run?.error?.kind).toBe("InternalError");
    expect(run?.error?.message).toMatch(/^internal error in @foliolab\/core during ops\[\d+\] \(munmap\).*TypeError/);
    expect(run?.error?.stack).toMatch(/packages\/core\/(src|dist)\//);
    const text = io.text();
    expect(text).toMatch(
      /internal error in the model \(a bug of @foliolab\/core, not the strategy's\): 1 run, under "core-bug-victim"/,
    );
    expect(text).not.toMatch(/strategy "core-bug-victim": .*failed with/);
    expect(text).not.toMatch(/strategy "core-bug-victim" threw/);
    expect(text).toContain("INTERNAL ERROR");
    expect(readFileSync(join(out, "report.md"), "utf8")).toContain("INTERNAL ERROR");

    const one = captureIo();
    expect(await main(["run", "pmfb/munmap", "--size", "4M", "-s", join(FIXTURES, "core-bug.mjs")], one)).toBe(1);
    expect(one.text()).toMatch(/internal error in @foliolab\/core during ops\[\d+\] \(munmap\)/);
    expect(one.text()).not.toMatch(/strategy "core-bug-victim": InternalError/);
    expect(one.text()).toMatch(/\n {4}at .*packages\/core\/(src|dist)\//);
  });

  it("a run of one scenario names the strategy that broke it and exits 1", async () => {
    const io = captureIo();
    const code = await main(["run", "pmfb/munmap", "--size", "4M", "-s", join(FIXTURES, "breaks-invariant.mjs")], io);
    expect(code).toBe(1);
    expect(io.text()).toMatch(/strategy "forgets-rmap": InvariantViolation: invariant "[^"]+" violated/);
  });
});
