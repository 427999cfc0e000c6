import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../cli/program.js";
import type { RunRecord } from "../measure.js";
import type { ResultsFile } from "../results.js";
import { captureIo, tempDir } from "../test-helpers.js";

const MATRIX = [
  "-w",
  "pmfb/munmap,partial/unmap-1-per-folio",
  "-f",
  "4K,64K",
  "--size",
  "2M",
  "--samples",
  "0",
  "--check-size",
  "0",
  "-s",
  "per-page,folio-batch",
];

async function bench(dir: string, extra: string[] = []): Promise<ResultsFile> {
  const io = captureIo();
  const code = await main(["bench", ...MATRIX, ...extra, "--out", dir], io);
  expect(code, io.text()).toBe(0);
  return JSON.parse(readFileSync(join(dir, "results.json"), "utf8")) as ResultsFile;
}

/** A run without what depends on the machine and the moment: wall time and elapsed time. */
function deterministic(r: RunRecord): unknown {
  const { elapsedMs: _e, metrics, ...rest } = r;
  if (!metrics) return rest;
  const { wall: _w, ...m } = metrics;
  return { ...rest, metrics: m };
}

describe("foliolab merge", () => {
  it("merged shards equal the unsharded run cell for cell, and the reports are written", async () => {
    const root = tempDir("foliolab-merge-");
    const whole = await bench(join(root, "whole"));
    const s1 = await bench(join(root, "s1"), ["--shard", "1/3"]);
    const s2 = await bench(join(root, "s2"), ["--shard", "2/3"]);
    const s3 = await bench(join(root, "s3"), ["--shard", "3/3"]);
    expect(s1.runs.length + s2.runs.length + s3.runs.length).toBe(whole.runs.length);
    expect(s1.runs.length).toBeLessThan(whole.runs.length);
    const io = captureIo();
    const out = join(root, "merged");
    // shards in any order
    const code = await main(
      [
        "merge",
        join(root, "s3", "results.json"),
        join(root, "s1", "results.json"),
        join(root, "s2", "results.json"),
        "--out",
        out,
      ],
      io,
    );
    expect(code, io.text()).toBe(0);
    const merged = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as ResultsFile;
    expect(merged.runs.map((r) => r.id)).toEqual(whole.runs.map((r) => r.id));
    expect(merged.runs.map(deterministic)).toEqual(whole.runs.map(deterministic));
    expect(merged.summary).toEqual(whole.summary);
    expect(merged.metadata.matrix).toEqual(whole.metadata.matrix);
    expect(merged.metadata.shard).toBeNull();
    expect(merged.metadata.complete).toBe(true);
    expect(merged.metadata.command).not.toContain("--shard");
    expect(readFileSync(join(out, "report.md"), "utf8")).toContain("pmfb/munmap");
    expect(readFileSync(join(out, "report.html"), "utf8")).toContain("<html");

    // Refusals, by name, exit 2.
    const refuse = async (files: string[], pattern: RegExp) => {
      const e = captureIo();
      expect(await main(["merge", ...files, "--no-out"], e)).toBe(2);
      expect(e.stderr.join("\n")).toMatch(pattern);
      expect(e.stderr.join("\n")).not.toMatch(/\n\s+at /);
    };
    const f = (n: string) => join(root, n, "results.json");
    await refuse([f("s1"), f("s2")], /missing shard 3\/3/);
    await refuse([f("s1"), f("s1"), f("s2")], /shard 1\/3 given twice/);
    await refuse([f("whole"), f("s1")], /not a shard/);
    const other = { ...s2, metadata: { ...s2.metadata, seed: 7 } };
    writeFileSync(join(root, "other.json"), JSON.stringify(other));
    await refuse([f("s1"), join(root, "other.json"), f("s3")], /different configurations: seed differs: .* has 1, .* has 7/);
    const folios = { ...s2, metadata: { ...s2.metadata, matrix: { ...s2.metadata.matrix, folios: ["4K"] } } };
    writeFileSync(join(root, "folios.json"), JSON.stringify(folios));
    await refuse([f("s1"), join(root, "folios.json"), f("s3")], /matrix folio sizes differs/);
    writeFileSync(join(root, "bad.json"), "{ not json");
    await refuse([f("s1"), join(root, "bad.json")], /bad\.json/);
  });
});

describe("--baseline", () => {
  it("bench --baseline folio-batch takes every ratio against folio-batch; merge --baseline re-renders; unknown names exit 2", async () => {
    const root = tempDir("foliolab-baseline-");
    const res = await bench(join(root, "b"), ["--baseline", "folio-batch"]);
    expect(res.metadata.baseline).toBe("folio-batch");
    const md = readFileSync(join(root, "b", "report.md"), "utf8");
    expect(md).toContain("(ratio to folio-batch)");
    expect(md).toMatch(/folio-batch: the baseline \(1\.00x\)/);
    // per-page against folio-batch at 64K: slower, so a ratio above 1
    // --check-size 0: every cell says it is unchecked.
    expect(md).toMatch(/\| 64K \| unchecked [\d.]+ \((?:[1-9]\d*\.\d+)x\) \| unchecked [\d.]+ \(1\.00x\) \|/);
    const bad = captureIo();
    expect(await main(["bench", ...MATRIX, "--baseline", "nope", "--no-out"], bad)).toBe(2);
    expect(bad.stderr.join("\n")).toMatch(/--baseline: "nope" is not a strategy of this matrix \(per-page, folio-batch\)/);

    const s1 = await bench(join(root, "s1"), ["--shard", "1/2"]);
    const s2 = await bench(join(root, "s2"), ["--shard", "2/2"]);
    expect(s1.metadata.baseline).toBe("per-page");
    const io = captureIo();
    const out = join(root, "m");
    const files = [join(root, "s1", "results.json"), join(root, "s2", "results.json")];
    expect(await main(["merge", ...files, "--baseline", "folio-batch", "--out", out], io), io.text()).toBe(0);
    expect(readFileSync(join(out, "report.md"), "utf8")).toContain("(ratio to folio-batch)");
    expect(s2.runs.length).toBeGreaterThan(0);
    const e = captureIo();
    expect(await main(["merge", ...files, "--baseline", "nope", "--no-out"], e)).toBe(2);
    expect(e.stderr.join("\n")).toMatch(/--baseline: "nope" is not a strategy/);
  });
});
