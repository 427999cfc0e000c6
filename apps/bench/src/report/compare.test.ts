import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ResultsFile } from "../results.js";
import { GOLDEN } from "../test-helpers.js";
import { compareResults } from "./compare.js";

const res = JSON.parse(readFileSync(join(GOLDEN, "results.json"), "utf8")) as ResultsFile;

describe("compare", () => {
  it("prints the two names whole, however long", () => {
    const a = "runs/2026-01-01-baseline-on-the-build-machine/results.json";
    const b = "runs/2026-01-02-with-the-batching-patch/results.json";
    const text = compareResults(res, res, { all: false }, [a, b]).text;
    const lines = text.split("\n");
    expect(lines[0]).toMatch(new RegExp(`^base: ${a.replace(/[.]/g, "\\.")}  `));
    // The column header names both runs in full, left column first.
    const columns = lines.find((l) => l.includes(a) && l.includes(b));
    expect(columns?.indexOf(a)).toBeLessThan(columns?.indexOf(b) ?? -1);
  });

  it("shows counts exactly and fractions to 4 significant digits", () => {
    const next = structuredClone(res);
    const run = next.runs.find((r) => r.id === "pmfb/munmap/64K/per-page");
    if (!run?.metrics) throw new Error("missing run");
    run.metrics.costEvents.pt_lock = (run.metrics.costEvents.pt_lock ?? 0) + 3;
    run.metrics.modelledNsPerPage = 65.2123456;
    const text = compareResults(res, next, { all: false }).text;
    const lock = text.split("\n").find((l) => l.endsWith("pmfb/munmap/64K/per-page (8M).cost_events.pt_lock"));
    const before = res.runs.find((r) => r.id === "pmfb/munmap/64K/per-page")?.metrics?.costEvents.pt_lock ?? 0;
    expect(lock).toMatch(new RegExp(`^\\s+${before}\\s+\\S+\\s+${before + 3}\\s`));
    expect(text).toMatch(/\s65\.21\s+pmfb\/munmap\/64K\/per-page \(8M\)\.modelled_ns_per_page/);
    expect(text).not.toMatch(/\s\d+\.000\s/);
  });
});
