/**
 * Golden files of every report format. Their input, src/__golden__/results.json, is a small
 * deterministic matrix (8M; per-page and a file-loaded copy of it) run in this thread, with wall
 * times, dates and the machine replaced by fixed values; everything else (cost events, modelled
 * time, counters) is the model's exact output. The test runs that matrix again: its structure
 * must match, and a drift of the numbers (core changed its accounting) is reported as a warning,
 * so the format tests only fail when a format changes.
 *
 * After an intended change (to a report format, or to refresh the numbers):
 *   UPDATE_GOLDEN=1 npx vitest run --project bench
 */

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type MatrixOptions, planMatrix, runMatrix } from "./matrix.js";
import { defaultProfile } from "./profile.js";
import { compareResults } from "./report/compare.js";
import { renderText } from "./report/text.js";
import { renderAll } from "./report/write.js";
import type { ResultsFile } from "./results.js";
import { buildResults } from "./results.js";
import { FIXTURES, GOLDEN, PKG_DIR } from "./test-helpers.js";

const UPDATE = process.env.UPDATE_GOLDEN === "1";
const missing: string[] = [];

/** Replace everything that depends on the machine or the clock. */
export function scrub(res: ResultsFile): ResultsFile {
  const r = structuredClone(res);
  r.metadata.startedAt = "2026-01-01T00:00:00.000Z";
  r.metadata.finishedAt = "2026-01-01T00:00:01.000Z";
  r.metadata.version = "0.0.0-golden";
  r.metadata.profile.origin = r.metadata.profile.origin === "default" ? "default" : "<profile>";
  r.environment = {
    node: "v20.0.0",
    v8: "0",
    platform: "linux",
    arch: "x64",
    osRelease: "0",
    cpuModel: "golden cpu",
    cpus: 2,
    totalMemoryBytes: 0,
    corePackageVersion: "0.0.0",
  };
  for (const s of r.strategies) {
    if (s.source === "path") s.spec = s.spec.replace(/^.*__fixtures__\//, "__fixtures__/");
  }
  for (const run of r.runs) {
    delete run.elapsedMs;
    const w = run.metrics?.wall;
    // biome-ignore lint/suspicious/noApproximativeNumericConstant: a made-up spread, fixed for the golden files
    if (w?.phase) w.phase = { unit: "ms", samples: [1, 2], median: 1.5, min: 1, max: 2, mean: 1.5, sd: 0.7071, rme: 10 };
    // biome-ignore lint/suspicious/noApproximativeNumericConstant: a made-up spread, fixed for the golden files
    if (w?.total) w.total = { unit: "ms", samples: [3, 4], median: 3.5, min: 3, max: 4, mean: 3.5, sd: 0.7071, rme: 10 };
  }
  return r;
}

function checkGolden(rel: string, actual: string): void {
  const path = join(GOLDEN, rel);
  if (UPDATE || !existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    if (!UPDATE) missing.push(rel);
    return;
  }
  expect(actual, `${rel} differs from its golden file (UPDATE_GOLDEN=1 to accept)`).toBe(readFileSync(path, "utf8"));
}

describe("report formats (golden files)", () => {
  /** The small matrix as it runs today (scrubbed). */
  let live: ResultsFile;
  /** The checked-in results.json every golden report is rendered from. */
  let res: ResultsFile;

  beforeAll(async () => {
    const o: MatrixOptions = {
      strategies: ["per-page", join(FIXTURES, "per-page-copy.mjs")],
      workloads: ["pmfb/munmap", "partial/unmap-1-per-folio", "file/shared-dirty-munmap"],
      folios: ["4K", "64K", "2M-PTE", "2M-PMD"],
      size: 8 << 20,
      seed: 1,
      samples: 2,
      checkSize: 4 << 20,
      profile: defaultProfile(),
      jobs: 1,
      cwd: PKG_DIR,
    };
    const plan = await planMatrix(o);
    const run = await runMatrix(plan, o);
    live = scrub(
      buildResults({
        command: ["foliolab", "bench", "--golden"],
        startedAt: new Date(0),
        plan,
        o,
        records: run.records,
        interrupted: run.interrupted,
      }),
    );
    const input = join(GOLDEN, "results.json");
    if (UPDATE || !existsSync(input)) {
      mkdirSync(GOLDEN, { recursive: true });
      writeFileSync(input, `${JSON.stringify(live, null, 2)}\n`);
    }
    res = JSON.parse(readFileSync(input, "utf8")) as ResultsFile;
  });

  it("ran the whole small matrix", () => {
    // 2 strategies x (pmfb/munmap and partial/unmap-1-per-folio on 4 folios + file/shared-dirty-munmap on its 4)
    expect(live.summary).toEqual({ planned: 24, ok: 24, failed: 0, skipped: 0 });
    // the two columns are the same strategy under two names: identical exact metrics
    for (const r of live.runs.filter((x) => x.strategy === "per-page")) {
      const twin = live.runs.find((x) => x.strategy === "per-page-copy" && x.workload === r.workload && x.folio === r.folio);
      expect(twin?.metrics?.costEvents).toEqual(r.metrics?.costEvents);
    }
    // Core's cost accounting moves on: say so, without failing the format tests.
    const drift = compareResults(res, live, { all: false });
    if (drift.changedExact > 0 || drift.onlyBase.length > 0 || drift.onlyNew.length > 0) {
      console.warn(
        `golden results.json is older than the model: ${drift.changedExact} exact metrics differ today ` +
          "(core or per-page changed its accounting); refresh with UPDATE_GOLDEN=1 npx vitest run --project bench",
      );
    }
    expect(live.runs.map((r) => r.id)).toEqual(res.runs.map((r) => r.id));
  });

  it("matches the golden files", () => {
    const files = renderAll(res);
    expect([...files.keys()].sort()).toEqual(
      [
        "results.json",
        "report.md",
        "report.html",
        "benchmark-action.json",
        "bmf.json",
        "charts/pmfb-munmap.modelled.svg",
        "charts/pmfb-munmap.events.svg",
        "charts/partial-unmap-1-per-folio.modelled.svg",
        "charts/partial-unmap-1-per-folio.events.svg",
        "charts/file-shared-dirty-munmap.modelled.svg",
        "charts/file-shared-dirty-munmap.events.svg",
      ].sort(),
    );
    for (const [rel, text] of files) checkGolden(rel, text);
    checkGolden("terminal.txt", renderText(res, { metric: "modelled", color: false }));
    expect(missing, "golden files were missing and have been written; check them in").toEqual([]);
  });

  it("benchmark-action.json and bmf.json have the trackers' shapes", () => {
    const files = renderAll(res);
    const ga = JSON.parse(files.get("benchmark-action.json") as string) as Array<Record<string, unknown>>;
    expect(Array.isArray(ga)).toBe(true);
    for (const e of ga) {
      expect(typeof e.name).toBe("string");
      expect(typeof e.unit).toBe("string");
      expect(typeof e.value).toBe("number");
    }
    const b = JSON.parse(files.get("bmf.json") as string) as Record<string, Record<string, { value: number }>>;
    for (const measures of Object.values(b)) for (const m of Object.values(measures)) expect(typeof m.value).toBe("number");
  });

  it("compare prints LKP-style lines and finds exact changes", () => {
    const next = structuredClone(res);
    const run = next.runs.find((r) => r.id === "pmfb/munmap/64K/per-page");
    if (!run?.metrics) throw new Error("missing run");
    run.metrics.costEventsTotal += 100;
    run.metrics.modelledNsPerPage *= 0.5;
    const same = compareResults(res, res, { all: false });
    expect(same.changedExact).toBe(0);
    const diff = compareResults(res, next, { all: false });
    expect(diff.changedExact).toBe(2);
    expect(diff.text).toContain("%stddev     %change         %stddev");
    expect(diff.text).toMatch(/-50\.0%\s+\S+\s+pmfb\/munmap\/64K\/per-page \(8M\)\.modelled_ns_per_page/);
    checkGolden("compare.txt", diff.text);
    expect(missing).toEqual([]);
  });
});
